"""The training loop: data order, schedules, resume, atomic checkpoints, DDP, accumulation, logging, OOM exit."""

import csv
import importlib.util
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from test_train import GEOM, targets_h5  # noqa: F401  (module-scoped fixture shared with test_train.py)

from stagevep.core.metrics import mean_window_pearson
from stagevep.errors import InputError
from stagevep.io.hdf5 import read_targets, write_targets
from stagevep.model import checkpoint
from stagevep.model.checkpoint import read_checkpoint
from stagevep.model.enformer import build_model, set_pair_attention_pool
from stagevep.model.finetune import init_head_bias
from stagevep.model.sizes import model_config
from stagevep.train import loop
from stagevep.train.config import EXIT_OUT_OF_MEMORY, TrainConfig, apply_memory_retry
from stagevep.train.distributed import init_distributed
from stagevep.train.loop import train
from stagevep.train.sampler import StepBatchSampler, epoch_order, step_indices
from stagevep.train.schedule import WarmupSchedule

REPO = Path(__file__).resolve().parents[1]


def config(tmp_path, targets, test_data, **kw) -> TrainConfig:
    base = dict(targets=str(targets), fasta=str(test_data / "genome.fa"), out_dir=str(tmp_path), model_size="tiny",
                batch_size=2, lr=1e-3, device="cpu", val_every=5, max_steps=10)
    return TrainConfig(**{**base, **kw})


def weights(path) -> dict[str, torch.Tensor]:
    return read_checkpoint(path)["state_dict"]


def assert_same_weights(a: dict, b: dict, atol: float = 0.0) -> None:
    assert a.keys() == b.keys()
    for name in a:
        if atol == 0:
            assert torch.equal(a[name], b[name]), name
        else:
            torch.testing.assert_close(a[name], b[name], atol=atol, rtol=0, msg=name)


def metric_rows(out_dir) -> list[dict[str, str]]:
    with open(Path(out_dir) / "metrics.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def small_h5(tmp_path_factory, targets_h5):  # noqa: F811
    """12 train and 4 val windows of the bundled data: 3 optimizer steps per epoch at global batch 4."""
    data = read_targets(targets_h5)
    keep = np.concatenate([data.split_index("train")[:12], data.split_index("val")[:4]])
    out = tmp_path_factory.mktemp("small") / "targets.h5"
    write_targets(out, data.targets[keep], data.windows.iloc[keep], data.tracks, data.geometry, data.attrs)
    return out


# ---------------------------------------------------------------- data order and schedules (pure functions)

def test_data_order_is_seeded_and_shards_the_global_batch():
    order = epoch_order(58, seed=3, epoch=1)
    assert sorted(order) == list(range(58))
    assert np.array_equal(order, epoch_order(58, 3, 1)) and not np.array_equal(order, epoch_order(58, 3, 2))
    # 2 ranks x 2 accumulation x 2 items cover exactly the items of one 8-item micro-batch of 1 process
    for step in range(7):
        single = step_indices(order, step, micro_batch=8, accumulate=1)[0]
        sharded = [i for r in range(2) for idx in step_indices(order, step, 2, 2, rank=r, world_size=2) for i in idx]
        assert sorted(sharded) == sorted(single) and len(sharded) == 8
    # resuming at step 3 of the epoch yields exactly the tail of the full epoch
    full = list(StepBatchSampler(58, 3, 1, 0, 7, 2, 2, rank=1, world_size=2))
    tail = list(StepBatchSampler(58, 3, 1, 3, 7, 2, 2, rank=1, world_size=2))
    assert tail == full[3 * 2:] and len(full) == 14


def test_warmup_then_cosine_or_plateau():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([{"params": [p], "lr": 0.1}])
    sched = WarmupSchedule(opt, "cosine", warmup_steps=4, total_steps=20)
    lrs = []
    for _ in range(20):
        lrs.append(opt.param_groups[0]["lr"])
        sched.step()
    expected = [0.1 * (s + 1) / 4 for s in range(4)] + [
        0.1 * 0.5 * (1 + math.cos(math.pi * (s - 4) / 16)) for s in range(4, 20)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)

    opt = torch.optim.SGD([{"params": [p], "lr": 0.1}])
    sched = WarmupSchedule(opt, "plateau", warmup_steps=2, total_steps=100, plateau_factor=0.5, plateau_patience=2)
    for _ in range(3):
        sched.step()
    for val_loss in (1.0, 0.9, 0.95, 0.97):  # two validations without improvement -> halve
        sched.observe(val_loss)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)
    state = sched.state_dict()
    opt2 = torch.optim.SGD([{"params": [p], "lr": 0.1}])
    restored = WarmupSchedule(opt2, "plateau", warmup_steps=2, total_steps=100)
    restored.load_state_dict(state)
    assert opt2.param_groups[0]["lr"] == pytest.approx(0.05)


def test_memory_retry_halves_batch_then_checkpoints():
    cfg = TrainConfig(targets="", fasta="", out_dir="", batch_size=4, accumulate=1)
    got = [(c.batch_size, c.accumulate, c.gradient_checkpointing)
           for c in (apply_memory_retry(TrainConfig(**{**cfg.__dict__, "memory_retry": r})) for r in range(4))]
    assert got == [(4, 1, False), (2, 2, False), (1, 4, False), (1, 4, True)]
    assert all(b * a == 4 for b, a, _ in got)  # the global batch is kept
    with pytest.raises(InputError, match="out of memory again"):
        apply_memory_retry(TrainConfig(**{**cfg.__dict__, "memory_retry": 4}))


def test_out_of_memory_exits_with_retry_code(monkeypatch, capsys, tmp_path):
    spec = importlib.util.spec_from_file_location("train_cli", REPO / "bin" / "train.py")
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)

    def oom(cfg):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(cli, "train", oom)
    with pytest.raises(SystemExit) as exc:
        cli.run_cli(cli.build_parser, cli.main, ["--targets", "t.h5", "--fasta", "g.fa", "--out-dir", "o"])
    assert exc.value.code == EXIT_OUT_OF_MEMORY == 75
    assert "--memory-retry 1" in capsys.readouterr().err
    # under torchrun (which reports a failed process as 1) the marker file tells the Nextflow process
    marker = tmp_path / ".out_of_memory"
    with pytest.raises(SystemExit):
        cli.run_cli(cli.build_parser, cli.main, ["--targets", "t.h5", "--fasta", "g.fa", "--out-dir", "o",
                                                 "--oom-marker", str(marker)])
    assert marker.exists()


def torchrun_env(monkeypatch, world_size: int = 2, rank: int = 0) -> None:
    for name, value in (("WORLD_SIZE", world_size), ("RANK", rank), ("LOCAL_RANK", rank),
                        ("LOCAL_WORLD_SIZE", world_size)):
        monkeypatch.setenv(name, str(value))


def test_nccl_without_a_gpu_fails_naming_the_cpu_backend(monkeypatch):
    torchrun_env(monkeypatch)
    with pytest.raises(InputError, match="--ddp_backend nccl.*needs CUDA GPUs.*--ddp_backend gloo"):
        init_distributed("cpu", "nccl")
    with pytest.raises(InputError, match="--ddp-backend must be one of"):
        init_distributed("cpu", "mpi")


def test_more_processes_than_visible_gpus_fails_naming_gpus(monkeypatch):
    torchrun_env(monkeypatch)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    with pytest.raises(InputError, match=r"--gpus 2.*only 1 GPU\(s\) are visible.*lower --gpus to 1"):
        init_distributed("cuda", "auto")


def test_single_process_ignores_the_backend(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    ctx = init_distributed("cpu", "nccl")
    assert not ctx.distributed and ctx.backend is None


# ---------------------------------------------------------------- real (tiny) training runs

def test_training_reduces_the_loss_and_logs(tmp_path, small_h5, test_data):
    cfg = config(tmp_path, small_h5, test_data, max_steps=12, val_every=6, lr=5e-4)
    train(cfg)
    # validation loss of the untrained model (same seeded initialisation), computed independently
    data = read_targets(small_h5)
    val = data.split_index("val")
    torch.manual_seed(cfg.seed)
    model = build_model(model_config("tiny", GEOM), len(data.tracks))
    set_pair_attention_pool(model)
    init_head_bias(model, data.targets[data.split_index("train")].mean(axis=(0, 1)))
    model.eval()
    from stagevep.data.dataset import WindowDataset

    ds = WindowDataset(test_data / "genome.fa", data.windows.iloc[val], data.targets[val], GEOM)
    with torch.no_grad():
        pred0 = torch.cat([model(x) for x in ds.onehot_batches(8)])
    obs = torch.from_numpy(data.targets[val])
    initial = float(loop.loss_fn(cfg.loss, pred0, obs, cfg.stage_weight))
    rows = metric_rows(tmp_path)
    val_losses = [float(r["val_loss"]) for r in rows if r["val_loss"]]
    # the head starts at the training mean, so the first validation loss is that of the flat prediction;
    # 12 steps need not improve on it, but must stay close (a broken step would diverge)
    assert len(val_losses) == 2 and all(v < 1.5 * initial for v in val_losses)
    train_losses = [float(r["train_loss"]) for r in rows]
    assert len(train_losses) == 12 and all(math.isfinite(v) for v in train_losses)
    best = read_checkpoint(tmp_path / "best.pt")
    assert best["val_loss"] == pytest.approx(min(val_losses))
    # the logged metric is the original study's metric of best.pt's predictions
    model.load_state_dict(best["state_dict"])
    with torch.no_grad():
        pred = torch.cat([model(x) for x in ds.onehot_batches(8)]).numpy()
    logged = [float(r["val_pearson"]) for r in rows if r["val_loss"] and float(r["val_loss"]) == best["val_loss"]]
    assert logged[0] == pytest.approx(mean_window_pearson(pred, data.targets[val]), abs=1e-5)
    # TensorBoard holds the same training losses as metrics.csv
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    tb = events.Scalars("train/loss")
    assert [e.step for e in tb] == list(range(1, 13))
    np.testing.assert_allclose([e.value for e in tb], train_losses, rtol=1e-6)
    assert [e.step for e in events.Scalars("val/loss")] == [6, 12]
    resolved = __import__("json").loads((tmp_path / "config.json").read_text())
    assert resolved["global_batch"] == 2 and resolved["precision"] == "fp32" and resolved["steps_per_epoch"] == 6


RESUME = dict(batch_size=2, accumulate=2, max_steps=8, val_every=3, deterministic=True, max_shift=3)


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory, small_h5, test_data):
    """8 uninterrupted steps (global batch 4, 3 steps per epoch: crosses two epoch boundaries)."""
    out = tmp_path_factory.mktemp("reference")
    train(config(out, small_h5, test_data, **RESUME))
    return out


class Interrupt(BaseException):
    """Stands in for SIGTERM/SIGKILL of the training job."""


def test_resume_gives_identical_weights(tmp_path, small_h5, test_data, reference_run, monkeypatch):
    real_step = loop.train_step

    def stop_at_step_5(*args, **kw):
        if args[-1] == 5:
            raise Interrupt
        return real_step(*args, **kw)

    monkeypatch.setattr(loop, "train_step", stop_at_step_5)
    with pytest.raises(Interrupt):
        train(config(tmp_path, small_h5, test_data, **RESUME))
    monkeypatch.setattr(loop, "train_step", real_step)
    assert read_checkpoint(tmp_path / "last.pt")["step"] == 3
    assert len(metric_rows(tmp_path)) == 4  # step 4 was logged after the last checkpoint
    train(config(tmp_path, small_h5, test_data, resume=True, **RESUME))
    assert_same_weights(weights(tmp_path / "last.pt"), weights(reference_run / "last.pt"))
    assert_same_weights(weights(tmp_path / "best.pt"), weights(reference_run / "best.pt"))
    assert metric_rows(tmp_path) == [{**r, "samples_per_s": r2["samples_per_s"]}
                                     for r, r2 in zip(metric_rows(reference_run), metric_rows(tmp_path), strict=True)]


def test_killed_checkpoint_write_resumes_from_previous(tmp_path, small_h5, test_data, reference_run,
                                                       monkeypatch):
    real_save = torch.save
    writes = {"last": 0}

    def dies_in_second_last_write(obj, fh, *args, **kw):
        if Path(fh.name).name == ".last.pt.tmp":
            writes["last"] += 1
            if writes["last"] == 2:
                fh.write(b"PK\x03\x04 half a checkpoint")
                raise Interrupt
        return real_save(obj, fh, *args, **kw)

    monkeypatch.setattr(checkpoint.torch, "save", dies_in_second_last_write)
    with pytest.raises(Interrupt):
        train(config(tmp_path, small_h5, test_data, **RESUME))
    monkeypatch.setattr(checkpoint.torch, "save", real_save)
    assert read_checkpoint(tmp_path / "last.pt")["step"] == 3  # the previous checkpoint is intact
    assert not (tmp_path / ".last.pt.tmp").exists()
    (tmp_path / ".last.pt.tmp").write_bytes(b"left behind by kill -9")  # what SIGKILL would leave
    train(config(tmp_path, small_h5, test_data, resume=True, **RESUME))
    assert_same_weights(weights(tmp_path / "last.pt"), weights(reference_run / "last.pt"))


def test_resume_errors(tmp_path, small_h5, test_data, reference_run):
    with pytest.raises(InputError, match="--resume needs .*last.pt.*does not exist"):
        train(config(tmp_path, small_h5, test_data, resume=True, **RESUME))
    for name in ("last.pt", "config.json"):
        (tmp_path / name).write_bytes((reference_run / name).read_bytes())
    with pytest.raises(InputError, match=r"other options \(lr: saved 0.001, now 0.002"):
        train(config(tmp_path, small_h5, test_data, resume=True, **{**RESUME, "lr": 2e-3}))
    (tmp_path / "last.pt").write_bytes(b"truncated")
    with pytest.raises(InputError, match="cannot read checkpoint"):
        train(config(tmp_path, small_h5, test_data, resume=True, **RESUME))


def test_early_stopping(tmp_path, small_h5, test_data, monkeypatch):
    losses = iter([1.0, 0.8, 0.9, 0.85, 0.7, 0.6])
    monkeypatch.setattr(loop, "_validate", lambda *a: (next(losses), 0.1))
    train(config(tmp_path, small_h5, test_data, max_steps=12, val_every=2, patience=2))
    rows = metric_rows(tmp_path)
    assert len(rows) == 8  # validations at 2, 4 (best), 6, 8: two without improvement -> stop at step 8
    assert read_checkpoint(tmp_path / "best.pt")["step"] == 4
    assert read_checkpoint(tmp_path / "last.pt")["step"] == 8


EQUIV = dict(max_steps=3, val_every=3, dropout=False, finetune="layernorm", rc_augment=False, max_shift=0, lr=1e-2)


@pytest.fixture(scope="module")
def batch4_run(tmp_path_factory, small_h5, test_data):
    out = tmp_path_factory.mktemp("batch4")
    train(config(out, small_h5, test_data, batch_size=4, **EQUIV))
    return out


def test_accumulation_matches_the_larger_batch(tmp_path, small_h5, test_data, batch4_run):
    train(config(tmp_path, small_h5, test_data, batch_size=2, accumulate=2, **EQUIV))
    assert_same_weights(weights(tmp_path / "last.pt"), weights(batch4_run / "last.pt"), atol=1e-6)
    assert_trained(weights(batch4_run / "last.pt"))


def assert_trained(state: dict[str, torch.Tensor]) -> None:
    """The comparison is of trained weights: head and trunk LayerNorms moved away from the initialisation."""
    torch.manual_seed(0)
    initial = build_model(model_config("tiny", GEOM), 5).state_dict()
    # (the attention LayerNorms get no gradient at random init: enformer-pytorch zero-initialises to_out)
    for name in ("head.0.weight", "trunk.transformer.0.1.fn.0.weight"):
        assert (state[name] - initial[name]).abs().max() > 1e-4, name


def test_two_process_gloo_ddp_matches_one_process(tmp_path, small_h5, test_data, batch4_run):
    args = ["--targets", small_h5, "--fasta", test_data / "genome.fa", "--out-dir", tmp_path,
            "--model-size", "tiny", "--device", "cpu", "--batch-size", "2", "--lr", "1e-2", "--max-steps", "3",
            "--val-every", "3", "--no-dropout", "--finetune", "layernorm", "--no-rc-augment", "--max-shift", "0",
            "--ddp-backend", "gloo"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           str(REPO / "bin" / "train.py"), *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpt = read_checkpoint(tmp_path / "last.pt")
    assert ckpt["train_config"]["world_size"] == 2 and ckpt["train_config"]["global_batch"] == 4
    assert len(ckpt["rng"]) == 2
    # gloo sums the two ranks' gradients in another order than one process does; Adam divides each update by the
    # gradient's own magnitude, so a weight whose gradient is near 0 can move by a few 1e-5 on that rounding alone
    ddp, single = ckpt["state_dict"], weights(batch4_run / "last.pt")
    assert_same_weights(ddp, single, atol=1e-4)
    differ = sum(int(((ddp[k] - single[k]).abs() > 1e-6).sum()) for k in ddp if ddp[k].is_floating_point())
    assert differ <= 1e-3 * sum(v.numel() for v in ddp.values()), f"{differ} weights differ by more than 1e-6"
    assert_trained(ddp)


def test_fp16_with_grad_scaler_on_cpu(tmp_path, small_h5, test_data):
    train(config(tmp_path, small_h5, test_data, precision="fp16", max_steps=2, val_every=2))
    last = read_checkpoint(tmp_path / "last.pt")
    assert last["train_config"]["precision"] == "fp16" and last["scaler"]["scale"] > 0
    assert all(math.isfinite(float(r["train_loss"])) for r in metric_rows(tmp_path))


# ---------------------------------------------------------------- loss and head start

def test_train_step_fits_a_fixed_batch(small_h5, test_data):
    """Repeated optimizer steps on one batch lower its loss: gradients reach the weights and the step applies them."""
    from stagevep.data.dataset import WindowDataset

    data = read_targets(small_h5)
    idx = data.split_index("train")[:4]
    ds = WindowDataset(test_data / "genome.fa", data.windows.iloc[idx], data.targets[idx], GEOM)
    batch = (torch.stack([ds[i][0] for i in range(4)]), torch.stack([ds[i][1] for i in range(4)]))
    torch.manual_seed(0)
    model = build_model(model_config("tiny", GEOM), len(data.tracks))
    init_head_bias(model, data.targets[idx].mean(axis=(0, 1)))
    params = list(model.parameters())
    opt = torch.optim.AdamW(params, lr=3e-3)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    losses = [loop.train_step(model, [batch], opt=opt, scaler=scaler, sched=None,
                              loss_name="mse", dtype=None, device=torch.device("cpu"),
                              clip_grad=1.0, params=params,
                              stage_weight=8.0)[0] for _ in range(40)]
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])


def test_loss_leaves_out_unknown_bins_and_weights_stage_deviations():
    rng = np.random.default_rng(0)
    pred = torch.from_numpy(rng.uniform(0.5, 3, size=(2, 6, 3)))
    target = torch.from_numpy(rng.uniform(0.5, 3, size=(2, 6, 3)))
    target[0, :2] = float("nan")  # bins a whole-bin shift moved out of the window
    known = np.ones((2, 6), dtype=bool)
    known[0, :2] = False
    p, t = pred.numpy()[known], target.numpy()[known]  # (10, 3)
    mse = ((p - t) ** 2).mean()
    dev = ((p - p.mean(1, keepdims=True)) - (t - t.mean(1, keepdims=True))) ** 2
    assert float(loop.loss_fn("mse", pred, target)) == pytest.approx(mse)
    assert float(loop.loss_fn("mse", pred, target, stage_weight=8)) == pytest.approx(mse + 8 * dev.mean())
    poisson = (p - t * np.log(p + 1e-8)).mean()
    assert float(loop.loss_fn("poisson", pred, target)) == pytest.approx(poisson)
    assert math.isfinite(float(loop.loss_fn("mse", pred, target, 8)))
    with pytest.raises(InputError, match="--loss"):
        loop.loss_fn("huber", pred, target)


def test_head_starts_at_the_track_means():
    model = build_model(model_config("tiny", GEOM), 3)
    init_head_bias(model, np.array([0.3, 2.0, 25.0]))
    features = torch.zeros(1, 1, model.head[0].in_features)
    out = model.head[1](model.head[0].bias + model.head[0](features) * 0)
    torch.testing.assert_close(out[0, 0], torch.tensor([0.3, 2.0, 25.0]), rtol=1e-5, atol=1e-5)
