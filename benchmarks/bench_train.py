#!/usr/bin/env python3
"""Training throughput (samples/s) and peak memory per precision / checkpointing / accumulation setting.

Runs :func:`stagevep.train.loop.train_step` (the loop's own optimizer step) on
random one-hot windows, so data loading is not measured. The baseline, fp32
without gradient checkpointing or accumulation, is measured in the same run
and every other setting is printed as a ratio against it.

CPU (development machine, tiny model):
    .venv/bin/python benchmarks/bench_train.py --model-size tiny --context-length 16384 --n-bins 64 --batch-size 4
GPU (full Enformer, batch 4, as in the issue):
    python benchmarks/bench_train.py --model-size full --batch-size 4 --device cuda --compile
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import resource
import time

import torch

from stagevep.geometry import Geometry
from stagevep.model.enformer import build_model, model_config, optimizer_param_groups, set_gradient_checkpointing
from stagevep.model.predict import autocast_dtype, resolve_device
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
        train_step(runner, batches[i % 2], opt, scaler, None, "poisson", dtype, device, 0.5, params)
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for i in range(args.steps):
        train_step(runner, batches[i % 2], opt, scaler, None, "poisson", dtype, device, 0.5, params)
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
    args = p.parse_args()
    device = resolve_device(args.device)
    settings = [s for s in SETTINGS if not args.only or s[0] in args.only]
    if device.type == "cpu":
        settings = [s for s in settings if s[1] != "fp16"] + [s for s in settings if s[1] == "fp16"]
    print(f"device {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}), "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads; model {args.model_size}, context "
          f"{args.context_length} bp, {args.n_bins} bins, batch {args.batch_size}, {args.steps} timed steps")
    rows, base = [], None
    ctx = multiprocessing.get_context("spawn")
    for label, precision, ckpt, acc in settings + ([("bf16 + torch.compile", "bf16", False, 1)]
                                                    if args.compile else []):
        # each setting in a fresh process: its own peak memory, no allocator or compile cache carried over
        with ctx.Pool(1) as pool:
            sps, peak = pool.apply(measure, (args, precision, ckpt, acc, "compile" in label))
        base = base or sps
        rows.append((label, sps, peak))
        ratio = f"x{sps / base:5.2f}" if math.isfinite(sps) else "     -"
        print(f"{label:36s} {sps:8.2f} samples/s  {ratio} vs fp32   peak {peak:6.2f} GiB", flush=True)
    peak_name = "peak GPU memory allocated (GiB)" if device.type == "cuda" else "peak RSS of the process (GiB)"
    print(f"\n| setting | samples/s | ratio vs fp32 | {peak_name} |\n|---|---|---|---|")
    for label, sps, peak in rows:
        print(f"| {label} | {sps:.2f} | {sps / base:.2f} | {peak:.2f} |")


if __name__ == "__main__":
    main()
