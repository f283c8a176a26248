#!/usr/bin/env python3
"""In-silico mutagenesis throughput: one shared reference pass and batched mutants, against a reference
pass per mutant (each mutant scored as its own ref/alt pair, batch 1, as a per-variant scorer would).

Both rows compute the same ISM array (checked) for the same variants with the same weights, in one run.

CPU (here):  .venv/bin/python benchmarks/bench_ism.py --model-size tiny --context-length 6144 --n-bins 32
GPU (lent):  python benchmarks/bench_ism.py --model-size full --device cuda --n-variants 4 --batch-size 32
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from stagevep.cli import keep_freed_memory
from stagevep.core.sequence import one_hot
from stagevep.geometry import Geometry
from stagevep.io.genome import open_fasta
from stagevep.model.enformer import build_model, set_pair_attention_pool
from stagevep.model.predict import resolve_device
from stagevep.model.sizes import model_config
from stagevep.variants.attribution import ism
from stagevep.variants.summary import central_slice


def mutants(x: np.ndarray, positions: np.ndarray):
    """One-hot ``(1, L, 4)`` of every single-base mutant of ``x`` ``(L, 4)`` at ``positions``, in the order of
    :func:`~stagevep.variants.attribution.ism` (per position the bases other than the reference, A, C, G, T)."""
    for p in positions:
        for b in range(4):
            if not x[p, b]:
                out = x[None].copy()
                out[0, p] = 0.0
                out[0, p, b] = 1.0
                yield torch.from_numpy(out)


def per_mutant(model, x: np.ndarray, flank: int, central: slice, device) -> np.ndarray:
    """The baseline: for every mutant, a reference pass and a mutant pass (batch 1)."""
    centre = x.shape[0] // 2
    positions = np.arange(centre - flank, centre + flank + 1)
    rows = []
    with torch.no_grad():
        for batch in mutants(x, positions):
            ref = model(torch.from_numpy(x[None]).to(device))[0, central].double().sum(0)
            mut = model(batch.to(device))[0, central].double().sum(0)
            rows.append((mut - ref).cpu().numpy())
    return np.stack(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model-size", default="tiny", choices=["tiny", "full"])
    p.add_argument("--context-length", type=int, default=None)
    p.add_argument("--n-bins", type=int, default=None)
    p.add_argument("--flank", type=int, default=20)
    p.add_argument("--n-variants", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    keep_freed_memory()
    full = Geometry(n_bins=896, bin_size=128, context_length=196_608)
    geometry = Geometry(n_bins=args.n_bins or full.n_bins, bin_size=128,
                        context_length=args.context_length or full.context_length)
    device = resolve_device(args.device)
    torch.manual_seed(0)
    model = build_model(model_config(args.model_size, geometry), 5)
    set_pair_attention_pool(model)
    model.to(device).eval()
    fa = open_fasta("assets/test_data/genome.fa")
    central = central_slice(geometry.n_bins, max(1, geometry.n_bins * 96 // 896))
    xs = [one_hot(str(fa["chr2"][s:s + geometry.context_length])) for s in (10_000, 60_000, 110_000)]
    xs = (xs * args.n_variants)[:args.n_variants]
    n_mut = 3 * (2 * args.flank + 1) * len(xs)
    t0 = time.perf_counter()
    shared = [ism(model, x, args.flank, central, args.batch_size, device) for x in xs]
    t_shared = time.perf_counter() - t0
    t0 = time.perf_counter()
    single = [per_mutant(model, x, args.flank, central, device) for x in xs]
    t_single = time.perf_counter() - t0
    largest = max(float(np.abs(s).max()) for s in shared)
    diff = max(float(np.abs(s[(s != 0).any(axis=-1)] - b).max()) for s, b in zip(shared, single, strict=True))
    print(f"{args.model_size} model, context {geometry.context_length}, {geometry.n_bins} bins, {device}, "
          f"{len(xs)} variants x {n_mut // len(xs)} mutants, batch {args.batch_size}")
    print("| method | mutants/s | vs per-mutant |\n|---|---:|---:|")
    print(f"| reference pass per mutant (batch 1) | {n_mut / t_single:.1f} | 1.0x |")
    print(f"| shared reference, batched mutants | {n_mut / t_shared:.1f} | {t_single / t_shared:.1f}x |")
    print(f"max |difference| of the two ISM arrays: {diff:.2e} (of values up to {largest:.2e})")


if __name__ == "__main__":
    main()
