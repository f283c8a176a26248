"""CUDA code paths: mixed-precision forward and training, CUDA scoring against CPU scoring, a real out-of-memory retry.

Marked ``gpu`` and skipped without CUDA; run them with ``pytest -m gpu`` (benchmarks/gpu_check.sh does). The tiny
model on short contexts keeps each test to seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from test_train import GEOM, targets_h5  # noqa: F401  (module-scoped fixture shared with test_train.py)

from conftest import mixing_model
from stagevep.core.sequence import one_hot
from stagevep.data.dataset import WindowDataset
from stagevep.io.genome import open_fasta
from stagevep.io.hdf5 import read_targets
from stagevep.io.variants import read_variants
from stagevep.model.enformer import build_model
from stagevep.model.finetune import init_head_bias
from stagevep.model.predict import autocast_dtype, predict_batches
from stagevep.model.sizes import model_config
from stagevep.train import loop
from stagevep.train.config import EXIT_OUT_OF_MEMORY
from stagevep.variants.score import score_with_model

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]

REPO = Path(__file__).resolve().parents[1]
CUDA = torch.device("cuda")


@pytest.fixture
def exact_fp32():
    """fp32 on CUDA without TF32 (convolutions and matmuls), restored afterwards."""
    before = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = before


def tiny_model(n_tracks: int = 5, seed: int = 0):
    torch.manual_seed(seed)
    return build_model(model_config("tiny", GEOM), n_tracks).eval()


def window_batch(test_data: Path, n: int = 4) -> torch.Tensor:
    """``(n, context_length, 4)`` one-hot windows of the bundled genome, centred on its enhancers."""
    fa = open_fasta(test_data / "genome.fa")
    enh = pd.read_csv(test_data / "enhancers.tsv", sep="\t").head(n)
    half = GEOM.context_length // 2
    starts = [max(0, int(c) - half) for c in enh["centre"]]
    seqs = [str(fa[chrom][start:start + GEOM.context_length]) for chrom, start in zip(enh["chrom"], starts,
                                                                                      strict=True)]
    return torch.from_numpy(np.stack([one_hot(s.ljust(GEOM.context_length, "N")) for s in seqs]))


def test_auto_precision_is_bf16_on_cuda():
    assert autocast_dtype("auto", CUDA) == torch.bfloat16
    assert autocast_dtype("fp16", CUDA) == torch.float16


@pytest.mark.parametrize("precision, tol", [("bf16", 0.05), ("fp16", 0.01)])
def test_autocast_forward_is_close_to_fp32(test_data, exact_fp32, precision, tol):
    model = tiny_model().to(CUDA)
    x = window_batch(test_data)
    ref = predict_batches(model, [x], CUDA, "fp32")
    low = predict_batches(model, [x], CUDA, precision)
    assert low.dtype == np.float32 and np.isfinite(low).all()
    assert not np.array_equal(low, ref), f"{precision} gave bit-identical output: autocast did not engage"
    scale = float(np.abs(ref).max())
    assert float(np.abs(low - ref).max()) <= tol * scale, (precision, float(np.abs(low - ref).max()), scale)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_training_steps_lower_the_loss(targets_h5, test_data, precision):  # noqa: F811
    """Repeated steps on one batch lower its loss under autocast; fp16 goes through a live GradScaler."""
    data = read_targets(targets_h5)
    idx = data.split_index("train")[:4]
    ds = WindowDataset(test_data / "genome.fa", data.windows.iloc[idx], data.targets[idx], GEOM)
    batch = (torch.stack([ds[i][0] for i in range(4)]), torch.stack([ds[i][1] for i in range(4)]))
    torch.manual_seed(0)
    model = build_model(model_config("tiny", GEOM), len(data.tracks))
    init_head_bias(model, data.targets[idx].mean(axis=(0, 1)))
    model.to(CUDA)
    params = list(model.parameters())
    opt = torch.optim.AdamW(params, lr=3e-3)
    dtype = autocast_dtype(precision, CUDA)
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    losses = [loop.train_step(model, [batch], opt=opt, scaler=scaler, sched=None,
                              loss_name="mse", dtype=dtype, device=CUDA,
                              clip_grad=1.0, params=params,
                              stage_weight=8.0)[0] for _ in range(40)]
    assert all(np.isfinite(losses)), losses
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5]), losses
    if dtype == torch.float16:
        assert scaler.get_scale() > 0


def test_cuda_scoring_equals_cpu_scoring(test_data, exact_fp32):
    """The same model scores the bundled variants on CUDA as on the CPU (fp32, no TF32): to 1% of the largest effect.

    The model is :func:`conftest.mixing_model` (every weight random, so one base moves the predictions well above
    fp32 rounding). bf16 scoring only has to run and give finite scores here: this model's effects (|log2 fold
    change| up to ~3e-4) are below bf16's resolution, and on the CPU its bf16 and fp32 scores do not correlate.
    """
    fa = open_fasta(test_data / "genome.fa")
    variants = read_variants(test_data / "variants.tsv").head(48)
    tracks = [f"S{i}" for i in range(5)]
    central = 8
    cpu = score_with_model(mixing_model(GEOM, 5), GEOM, tracks, fa, variants, central, 8,
                           device=torch.device("cpu"), precision="fp32")
    gpu = score_with_model(mixing_model(GEOM, 5).to(CUDA), GEOM, tracks, fa, variants, central, 8, device=CUDA,
                           precision="fp32")
    bf16 = score_with_model(mixing_model(GEOM, 5).to(CUDA), GEOM, tracks, fa, variants, central, 8, device=CUDA,
                            precision="bf16")
    assert gpu["status"].tolist() == cpu["status"].tolist() == bf16["status"].tolist()
    ok = cpu["status"] == "ok"
    assert ok.sum() >= 40
    columns = ["score"] + [c for c in cpu.columns if c.endswith(("_delta_sum", "_abs_log2fc"))]
    for col in columns:
        a, b = cpu.loc[ok, col].to_numpy(float), gpu.loc[ok, col].to_numpy(float)
        assert np.abs(a).max() > 1e-5, f"{col}: effects at rounding level, nothing to compare"
        np.testing.assert_allclose(b, a, rtol=1e-2, atol=1e-2 * float(np.abs(a).max()), err_msg=col)
    assert np.isfinite(bf16.loc[ok, columns].to_numpy(float)).all()


# a subprocess that caps this process's CUDA memory, runs bin/train.py and reports the peak it reserved
CAPPED_TRAIN = """
import importlib.util, json, sys, torch
fraction, script, argv = float(sys.argv[1]), sys.argv[2], sys.argv[3:]
torch.cuda.set_per_process_memory_fraction(fraction)
spec = importlib.util.spec_from_file_location("train_cli", script)
cli = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cli)
try:
    status = cli.run_cli(cli.build_parser, cli.main, argv)
except SystemExit as exc:
    status = exc.code
print("RESULT " + json.dumps({"status": status, "peak": torch.cuda.max_memory_reserved()}))
sys.exit(0)
"""


def capped_train(out: Path, h5: Path, test_data: Path, fraction: float, batch: int, memory_retry: int = 0) -> dict:
    args = ["--targets", str(h5), "--fasta", str(test_data / "genome.fa"), "--out-dir", str(out), "--model-size",
            "tiny", "--device", "cuda", "--precision", "fp32", "--batch-size", str(batch), "--max-steps", "2",
            "--val-every", "2", "--memory-retry", str(memory_retry), "--oom-marker", str(out / "oom")]
    proc = subprocess.run([sys.executable, "-c", CAPPED_TRAIN, str(fraction), str(REPO / "bin" / "train.py"), *args],
                          capture_output=True, text=True, timeout=300)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    return {**json.loads(lines[-1][len("RESULT "):]), "stderr": proc.stderr}


def test_real_cuda_out_of_memory_exits_75_and_the_retry_fits(tmp_path, targets_h5, test_data):  # noqa: F811
    """A memory cap between the peaks of batch 64 and batch 32: batch 64 exits 75, --memory-retry 1 then fits."""
    total = torch.cuda.get_device_properties(0).total_memory
    big = capped_train(tmp_path / "big", targets_h5, test_data, 1.0, 64)
    small = capped_train(tmp_path / "small", targets_h5, test_data, 1.0, 32)
    assert big["status"] == small["status"] == 0, big["stderr"][-2000:]
    if big["peak"] < 1.3 * small["peak"]:
        pytest.skip(f"batch 64 reserves {big['peak']} bytes, batch 32 {small['peak']}: too close for a cap between")
    fraction = (small["peak"] + 0.6 * (big["peak"] - small["peak"])) / total
    oom = capped_train(tmp_path / "oom", targets_h5, test_data, fraction, 64)
    assert oom["status"] == EXIT_OUT_OF_MEMORY, oom["stderr"][-2000:]
    assert "--memory-retry 1" in oom["stderr"] and (tmp_path / "oom" / "oom").exists()
    retry = capped_train(tmp_path / "retry", targets_h5, test_data, fraction, 64, memory_retry=1)
    assert retry["status"] == 0, retry["stderr"][-2000:]
    config = json.loads((tmp_path / "retry" / "config.json").read_text())
    assert (config["batch_size"], config["accumulate"], config["global_batch"]) == (32, 2, 64)
