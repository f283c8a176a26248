"""TRAIN_MODEL through real Nextflow: several processes (``--gpus 2 --ddp_backend gloo``) and the out-of-memory retry.

Both runs share one launch directory and stop after evaluation (no ``--variants``), with a few optimizer steps:

1. ``--gpus 2 --ddp_backend gloo --batch_size 4``: two CPU processes under torchrun, global batch 8. Its weights and
   loss curve are compared with one process at batch 8 trained here, in pytest, on the targets.h5 the run
   published, with the configuration the run wrote (config.json): as ``test_two_process_gloo_ddp_matches_one_process``
   in tests/test_train_loop.py does outside Nextflow.
2. ``-resume`` with ``--gpus 1 --batch_size 8`` and the test hook ``STAGEVEP_TEST_OOM_ATTEMPTS=1``: the first
   TRAIN_MODEL attempt exits 75 (as train.py does on CUDA out of memory), the retry trains with batch 4 and
   accumulation 2 (the same global batch 8) and the run succeeds; data preparation comes from the cache.

BatchNorm is frozen (``--finetune layernorm``): with gloo each process keeps its own BatchNorm statistics, so only
then are two processes the same computation as one.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from test_pipeline import MAIN_NF, TEST_DATA, describe, nextflow_bin, nextflow_env, read_trace, short_name, trace_files

from stagevep.geometry import Geometry
from stagevep.model.checkpoint import read_checkpoint
from stagevep.model.enformer import build_model
from stagevep.model.sizes import model_config
from stagevep.train.config import EXIT_OUT_OF_MEMORY, TrainConfig
from stagevep.train.loop import train

pytestmark = pytest.mark.pipeline

RUN_TIMEOUT = 900
GLOBAL_BATCH = 8
# a few steps of the -profile test recipe with frozen BatchNorm; validation at steps 2 and 4
TRAINING = ["--max_steps", "4", "--val_every", "2", "--finetune", "layernorm"]
PREPARE = {"PREFLIGHT", "AVERAGE_BIGWIGS", "UNION_PEAKS", "MAKE_WINDOWS", "MAKE_TARGETS", "PREPARE_QC"}


def run_pipeline(launch: Path, outdir: str, *args: str, env: dict[str, str] | None = None):
    """``nextflow run main.nf -profile test`` without variants (scoring is not under test), in ``launch``."""
    launch.mkdir(parents=True, exist_ok=True)
    params = launch / "no_variants.json"
    params.write_text(json.dumps({"variants": None}))
    cmd = [nextflow_bin(), "run", str(MAIN_NF), "-profile", "test", "-ansi-log", "false", "-params-file",
           str(params), "--outdir", str(launch / outdir), *TRAINING, *args]
    return subprocess.run(cmd, cwd=launch, env={**nextflow_env(), **(env or {})}, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=RUN_TIMEOUT, check=False)


def train_tasks(launch: Path, outdir: Path) -> pd.DataFrame:
    """The TRAIN_MODEL rows of the run's trace, oldest first, with each attempt's work directory in ``workdir``."""
    traces = trace_files(outdir)
    assert len(traces) == 1, f"expected one execution trace in {outdir / 'pipeline_info'}, found {traces}"
    trace = read_trace(traces[0])
    rows = trace[trace["process"].map(short_name) == "TRAIN_MODEL"].copy()
    rows["workdir"] = [work_dir(launch, h) for h in rows["hash"]]
    return rows.sort_values("task_id", key=lambda s: s.astype(int)).reset_index(drop=True)


def work_dir(launch: Path, task_hash: str) -> Path:
    prefix, rest = task_hash.split("/")
    found = sorted((launch / "work" / prefix).glob(f"{rest}*"))
    assert len(found) == 1, f"no single work directory for task {task_hash}: {found}"
    return found[0]


def state(path: Path) -> dict[str, torch.Tensor]:
    return read_checkpoint(path)["state_dict"]


@pytest.fixture(scope="module")
def launch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("nf_training")


@pytest.fixture(scope="module")
def ddp_run(launch) -> Path:
    """Results of ``--gpus 2 --ddp_backend gloo --batch_size 4``: two processes, global batch 8."""
    proc = run_pipeline(launch, "results_ddp", "--gpus", "2", "--ddp_backend", "gloo",
                        "--batch_size", str(GLOBAL_BATCH // 2))
    assert proc.returncode == 0, "the two-process run failed\n" + describe(proc, launch)
    return launch / "results_ddp"


@pytest.fixture(scope="module")
def reference(ddp_run, tmp_path_factory) -> Path:
    """One process at batch 8 with the two-process run's resolved configuration and targets, trained in pytest."""
    resolved = json.loads((ddp_run / "train" / "config.json").read_text())
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    out = tmp_path_factory.mktemp("one_process")
    cfg = TrainConfig(**{
        **{k: v for k, v in resolved.items() if k in names},
        "targets": str(ddp_run / "prepare" / "targets" / "targets.h5"), "fasta": str(TEST_DATA / "genome.fa"),
        "out_dir": str(out), "batch_size": resolved["global_batch"], "accumulate": 1, "device": "cpu",
        "ddp_backend": "auto", "memory_retry": 0, "resume": False,
    })
    train(cfg)
    return out


@pytest.fixture(scope="module")
def oom_run(launch, ddp_run) -> Path:
    """``-resume`` of the launch directory with one process at batch 8 whose first attempt 'runs out of memory'."""
    proc = run_pipeline(launch, "results_oom", "-resume", "--gpus", "1", "--batch_size", str(GLOBAL_BATCH),
                        env={"STAGEVEP_TEST_OOM_ATTEMPTS": "1"})
    assert proc.returncode == 0, "the run with an out-of-memory first attempt failed\n" + describe(proc, launch)
    return launch / "results_oom"


def test_gpus_2_runs_two_torchrun_processes(launch, ddp_run):
    tasks = train_tasks(launch, ddp_run)
    assert tasks["status"].tolist() == ["COMPLETED"], tasks.to_string()
    workdir = tasks["workdir"][0]
    script = (workdir / ".command.sh").read_text()
    assert "torchrun --standalone --nnodes 1 --nproc_per_node 2" in script and "--ddp-backend gloo" in script, script
    log = (workdir / ".command.log").read_text()
    for rank in range(2):
        assert f"training process {rank} of 2 (local rank {rank}) on cpu, gloo backend" in log, log[-3000:]
    config = json.loads((ddp_run / "train" / "config.json").read_text())
    assert (config["world_size"], config["batch_size"], config["accumulate"], config["global_batch"],
            config["ddp_backend"]) == (2, GLOBAL_BATCH // 2, 1, GLOBAL_BATCH, "gloo")
    last = read_checkpoint(ddp_run / "train" / "last.pt")
    assert len(last["rng"]) == 2, "last.pt should hold the random state of both processes"
    assert (ddp_run / "evaluate" / "metrics.tsv").is_file()


def test_two_processes_match_one_process(ddp_run, reference):
    ddp, single = state(ddp_run / "train" / "last.pt"), state(reference / "last.pt")
    assert ddp.keys() == single.keys()
    # gloo sums the ranks' gradients in another order than one process does (see test_train_loop.py)
    for name in ddp:
        torch.testing.assert_close(ddp[name], single[name], atol=1e-4, rtol=0, msg=name)
    floats = [k for k in ddp if ddp[k].is_floating_point()]
    differ = sum(int(((ddp[k] - single[k]).abs() > 1e-6).sum()) for k in floats)
    assert differ <= 1e-3 * sum(ddp[k].numel() for k in floats), f"{differ} weights differ by more than 1e-6"
    ours, theirs = pd.read_csv(ddp_run / "train" / "metrics.csv"), pd.read_csv(reference / "metrics.csv")
    assert ours["step"].tolist() == theirs["step"].tolist() == [1, 2, 3, 4]
    np.testing.assert_allclose(ours["train_loss"], theirs["train_loss"], rtol=1e-5)
    np.testing.assert_allclose(ours["val_loss"].dropna(), theirs["val_loss"].dropna(), rtol=1e-5)
    # the comparison is of trained weights: the trainable LayerNorms moved away from their initialisation
    config = json.loads((ddp_run / "train" / "config.json").read_text())
    torch.manual_seed(config["seed"])
    initial = build_model(model_config("tiny", Geometry(**config["geometry"])), len(config["tracks"])).state_dict()
    # (head and the transformer's feed-forward LayerNorm; enformer-pytorch zero-initialises the attention output, so
    # the attention LayerNorms get no gradient at random init)
    for name in ("head.0.weight", "trunk.transformer.0.1.fn.0.weight"):
        assert float((ddp[name] - initial[name]).abs().max()) > 1e-3, f"{name} did not train"


def test_out_of_memory_retry_halves_the_batch_and_succeeds(launch, oom_run, reference):
    trace = read_trace(trace_files(oom_run)[0])
    prepare = trace[trace["process"].map(short_name).isin(PREPARE)]
    assert len(prepare) and (prepare["status"] == "CACHED").all(), prepare[["name", "status"]].to_string()
    tasks = train_tasks(launch, oom_run)
    assert tasks["status"].tolist() == ["FAILED", "COMPLETED"], tasks[["name", "status", "exit"]].to_string()
    assert tasks["exit"].tolist() == [str(EXIT_OUT_OF_MEMORY), "0"]
    first, retry = tasks["workdir"]
    assert "test hook: out of memory on attempt 1" in (first / ".command.err").read_text()
    script = (retry / ".command.sh").read_text()
    assert "torchrun" not in script and f"--batch-size {GLOBAL_BATCH} --accumulate 1" in script, script
    assert "--memory-retry 1" in script, script
    log = (retry / ".command.log").read_text()
    assert f"global batch {GLOBAL_BATCH} ({GLOBAL_BATCH // 2} x 2 accumulation x 1)" in log, log[-3000:]
    config = json.loads((oom_run / "train" / "config.json").read_text())
    assert (config["batch_size"], config["accumulate"], config["world_size"], config["global_batch"]) == (
        GLOBAL_BATCH // 2, 2, 1, GLOBAL_BATCH)
    assert (oom_run / "evaluate" / "metrics.tsv").is_file()
    # half the batch twice: the same optimizer steps as the one batch of 8 (test_accumulation_matches_the_larger_batch)
    retried, single = state(oom_run / "train" / "last.pt"), state(reference / "last.pt")
    for name in retried:
        torch.testing.assert_close(retried[name], single[name], atol=1e-5, rtol=0, msg=name)


def test_oom_marker_under_torchrun_makes_the_task_exit_75(tmp_path):
    """The module maps torchrun's status 1 to 75 when train.py left the marker (the real launcher hides 75)."""
    script = (MAIN_NF.parent / "modules" / "local" / "train_model" / "main.nf").read_text()
    line = next(s for s in script.splitlines() if "--oom-marker .out_of_memory ||" in s)
    mapping = line[line.index("|| ") + 3:].replace("\\$", "$")
    for marker, launcher_status, expected in ((True, 1, 75), (False, 1, 1), (False, 0, 0)):
        cmd = f"rm -f .out_of_memory; {'touch .out_of_memory;' if marker else ''} (exit {launcher_status}) || {mapping}"
        status = subprocess.run(["bash", "-c", cmd], cwd=tmp_path, check=False).returncode
        assert status == expected, (cmd, status)
