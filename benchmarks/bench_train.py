#!/usr/bin/env python3
"""Training throughput (samples/s), peak memory and model FLOP utilisation per precision / checkpointing setting.

Runs :func:`stagevep.train.loop.train_step` (the loop's own optimizer step) on
random one-hot windows, so data loading is not measured. The baseline, fp32
without gradient checkpointing or accumulation, is measured in the same run
and every other setting is printed as a ratio against it.

Model FLOP utilisation (MFU) = samples/s x model FLOPs per sample / the chip's
dense bf16 peak. The FLOPs per sample are counted from the model itself:
:class:`torch.utils.flop_counter.FlopCounterMode` records every matrix
multiplication and convolution (2 FLOPs per multiply-add) of one forward and
backward pass of one window on the meta device (shapes only; full size: 3.25
TFLOP forward, 9.74 TFLOP forward + backward), with every weight trained and without
gradient checkpointing (recomputed activations are not model FLOPs, so
checkpointing lowers MFU). Element-wise work (GELU, softmax, normalisation) is
not counted. The peak comes from :data:`BF16_PEAK_TFLOPS` by device name
(NVIDIA datasheets, dense, no sparsity) or ``--peak-tflops``; every setting,
fp32 included, is measured against the bf16 peak.

CPU (development machine, tiny model):
    .venv/bin/python benchmarks/bench_train.py --model-size tiny --context-length 16384 --n-bins 64 --batch-size 4
GPU (full Enformer, batch 4, as in the issue; benchmarks/gpu_check.sh runs fp32, bf16, bf16 + checkpointing):
    python benchmarks/bench_train.py --model-size full --batch-size 4 --device cuda --compile
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import resource
import time

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from stagevep.geometry import Geometry
from stagevep.model.enformer import build_model
from stagevep.model.finetune import optimizer_param_groups, set_gradient_checkpointing
from stagevep.model.predict import autocast_dtype, resolve_device
from stagevep.model.sizes import model_config
from stagevep.train.loop import train_step

# (label, precision, gradient checkpointing, accumulate)
SETTINGS = [
    ("fp32", "fp32", False, 1),
    ("fp32 + accumulate 2 (half batch)", "fp32", False, 2),
    ("fp32 + checkpointing", "fp32", True, 1),
    ("bf16", "bf16", False, 1),
    ("bf16 + checkpointing", "bf16", True, 1),
    ("fp16 + GradScaler", "fp16", False, 1),
]

# dense bf16 tensor-core peak in TFLOP/s by a substring of torch.cuda.get_device_name(), first match wins
# (NVIDIA datasheets; the figures with sparsity are twice these)
BF16_PEAK_TFLOPS = [
    ("GH200", 989.0), ("H200 NVL", 835.0), ("H200", 989.0), ("H100 NVL", 835.0), ("H100 PCIe", 756.0),
    ("H100", 989.0), ("A100", 312.0), ("L40S", 362.0), ("L4", 121.0), ("A10", 125.0),
]


def peak_bf16_tflops(device_name: str) -> float | None:
    """The dense bf16 peak of the chip called ``device_name`` (TFLOP/s), or None when it is not in the table."""
    for key, peak in BF16_PEAK_TFLOPS:
        if key in device_name:
            return peak
    return None


def step_flops(model: nn.Module, x: torch.Tensor) -> tuple[float, float]:
    """``(forward FLOPs, forward + backward FLOPs)`` of ``model`` on ``x`` ``(B, context_length, 4)``, counted.

    Counts matrix multiplications and convolutions (2 per multiply-add) with
    :class:`~torch.utils.flop_counter.FlopCounterMode`; gradients are left on the parameters.
    """
    counter = FlopCounterMode(display=False)
    with counter:
        out = model(x)
    forward = counter.get_total_flops()
    with counter:
        out.float().sum().backward()
    return float(forward), float(forward + counter.get_total_flops())


def flops_per_sample(args: argparse.Namespace) -> tuple[float, float]:
    """``(forward, forward + backward)`` model FLOPs of one window at ``args``' size (every weight trained).

    Counted on the meta device: the shapes of every operation without computing it (seconds, no memory).
    """
    geometry = Geometry(n_bins=args.n_bins, bin_size=128, context_length=args.context_length)
    with torch.device("meta"):
        model = build_model(model_config(args.model_size, geometry), n_tracks=5).train()
        x = torch.zeros(1, args.context_length, 4)
    return step_flops(model, x)


def mfu(samples_per_s: float, flops_sample: float, peak_tflops: float | None) -> float:
    """Model FLOP utilisation: achieved model FLOP/s over the peak (NaN without a peak)."""
    if peak_tflops is None or not math.isfinite(samples_per_s):
        return float("nan")
    return samples_per_s * flops_sample / (peak_tflops * 1e12)


def measure(args: argparse.Namespace, precision: str, checkpointing: bool, accumulate: int,
            compiled: bool = False) -> tuple[float, float]:
    """``(samples per second, peak memory in GiB)`` of ``args.steps`` optimizer steps after ``args.warmup``.

    NaN for both when the setting runs out of GPU memory.
    """
    try:
        return _measure(args, precision, checkpointing, accumulate, compiled)
    except torch.OutOfMemoryError:
        return float("nan"), float("nan")


def _measure(args: argparse.Namespace, precision: str, checkpointing: bool, accumulate: int,
             compiled: bool) -> tuple[float, float]:
    device = resolve_device(args.device)
    geometry = Geometry(n_bins=args.n_bins, bin_size=128, context_length=args.context_length)
    torch.manual_seed(0)
    model = build_model(model_config(args.model_size, geometry), n_tracks=5).to(device)
    set_gradient_checkpointing(model, checkpointing)
    groups = optimizer_param_groups(model, 1e-4, weight_decay=0.01)
    params = [p for g in groups for p in g["params"]]
    opt = torch.optim.AdamW(groups, lr=1e-4)
    dtype = autocast_dtype(precision, device)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    runner = torch.compile(model) if compiled else model
    micro = args.batch_size // accumulate
    gen = torch.Generator().manual_seed(0)

    def batch() -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.randint(0, 4, (micro, args.context_length), generator=gen)
        x = torch.nn.functional.one_hot(idx, 4).float()
        y = torch.rand(micro, args.n_bins, 5, generator=gen) * 3
        return x.to(device), y.to(device)

    batches = [[batch() for _ in range(accumulate)] for _ in range(2)]
    for i in range(args.warmup):
        train_step(runner, batches[i % 2], opt=opt, scaler=scaler, sched=None, loss_name="poisson", dtype=dtype,
                   device=device, clip_grad=0.5, params=params)
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for i in range(args.steps):
        train_step(runner, batches[i % 2], opt=opt, scaler=scaler, sched=None, loss_name="poisson", dtype=dtype,
                   device=device, clip_grad=0.5, params=params)
    if device.type == "cuda":
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() / 2**30
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # process peak RSS (KiB -> GiB)
    return args.steps * args.batch_size / (time.perf_counter() - t0), peak


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model-size", default="tiny", choices=["tiny", "full"])
    p.add_argument("--context-length", type=int, default=196_608)
    p.add_argument("--n-bins", type=int, default=896)
    p.add_argument("--batch-size", type=int, default=4, help="global batch per optimizer step")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--device", default="auto")
    p.add_argument("--compile", action="store_true", help="also measure bf16 with torch.compile")
    p.add_argument("--only", nargs="*", help="labels of settings to run (default: all)")
    p.add_argument("--peak-tflops", type=float,
                   help="the chip's dense bf16 peak for MFU (default: by device name from BF16_PEAK_TFLOPS)")
    args = p.parse_args()
    device = resolve_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    peak = args.peak_tflops or (peak_bf16_tflops(name) if device.type == "cuda" else None)
    settings = [s for s in SETTINGS if not args.only or s[0] in args.only]
    if device.type == "cpu":
        settings = [s for s in settings if s[1] != "fp16"] + [s for s in settings if s[1] == "fp16"]
    print(f"device {device} ({name}), "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads; model {args.model_size}, context "
          f"{args.context_length} bp, {args.n_bins} bins, batch {args.batch_size}, {args.steps} timed steps")
    rows, base = [], None
    ctx = multiprocessing.get_context("spawn")
    fwd, fwd_bwd = flops_per_sample(args)
    print(f"model FLOPs per window (matmul + convolution, counted): forward {fwd / 1e12:.4g} TFLOP, forward + "
          f"backward {fwd_bwd / 1e12:.4g} TFLOP; MFU against a bf16 peak of "
          f"{f'{peak:g} TFLOP/s' if peak else 'n/a (unknown chip: pass --peak-tflops)'}")
    for label, precision, ckpt, acc in settings + ([("bf16 + torch.compile", "bf16", False, 1)]
                                                    if args.compile else []):
        # each setting in a fresh process: its own peak memory, no allocator or compile cache carried over
        with ctx.Pool(1) as pool:
            sps, mem = pool.apply(measure, (args, precision, ckpt, acc, "compile" in label))
        base = base or sps
        util = mfu(sps, fwd_bwd, peak)
        rows.append((label, sps, mem, util))
        ratio = f"x{sps / base:5.2f}" if math.isfinite(sps) else "     -"
        print(f"{label:36s} {sps:8.2f} samples/s  {ratio} vs fp32   peak {mem:6.2f} GiB   MFU {util:.1%}", flush=True)
    peak_name = "peak GPU memory allocated (GiB)" if device.type == "cuda" else "peak RSS of the process (GiB)"
    print(f"\n| setting | samples/s | ratio vs fp32 | {peak_name} | MFU (bf16 peak) |\n|---|---|---|---|---|")
    for label, sps, mem, util in rows:
        print(f"| {label} | {sps:.2f} | {sps / base:.2f} | {mem:.2f} | "
              f"{f'{util:.1%}' if math.isfinite(util) else 'n/a'} |")


if __name__ == "__main__":
    main()
