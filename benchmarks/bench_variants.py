#!/usr/bin/env python3
"""Variant scoring throughput: stagevep's batched scoring vs the original study's one pair at a time.

All rows score the same random SNVs with the same weights, in the same run:
  * ``study loop``: the original study's method: enformer-pytorch as published (softmax attention
    pooling); per variant, fetch the window, encode ref and alt, one forward pass for
    each (batch 1). The baseline (1.0x).
  * ``study loop, pair pooling``: the same loop with stagevep's model
    (:class:`~stagevep.model.enformer.PairAttentionPool`): the gain of the pooling alone.
  * ``one pair per pass``: :func:`stagevep.variants.score.score_with_model` with
    ``--batch-size 1``: pair pooling plus the alt reusing the ref's convolution features
    (:class:`~stagevep.model.receptive.SNVPairs`), no batching.
  * ``batched``: the same with ``--batch-size B`` (optionally ``--rc-ensemble``).
Prints variants/s and the ratio of each to the study loop.

``--dense``: every SNV of a ``--dense-length`` region (3 per base; 2 kb: 6,000 variants), scored with
per-variant centring (the default, the baseline here) and with ``--share_reference``
(:mod:`stagevep.variants.shared`); prints variants/s of both, the ratio, and the agreement of the two scores
(Pearson r and the largest difference, per stage). ``--checkpoint`` scores with a trained model instead of
random weights (agreement is only meaningful for a model that has learned something).

CPU (here):  .venv/bin/python benchmarks/bench_variants.py --model-size tiny --context-length 16384 --n-bins 64 \
                 --n-variants 128 --n-baseline 32 --batch-size 8
GPU (lent):  python benchmarks/bench_variants.py --model-size full --device cuda --n-variants 256 --n-baseline 32 \
                 --batch-size 8 [--rc-ensemble]
Dense set:   .venv/bin/python benchmarks/bench_variants.py --dense --checkpoint results/demo/train/best.pt
             python benchmarks/bench_variants.py --dense --model-size full --device cuda --batch-size 16
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from stagevep.cli import keep_freed_memory
from stagevep.core.sequence import one_hot
from stagevep.geometry import Geometry
from stagevep.io.genome import open_fasta
from stagevep.model.checkpoint import checkpoint_geometry, load_checkpoint
from stagevep.model.enformer import build_model, set_pair_attention_pool
from stagevep.model.predict import resolve_device
from stagevep.model.sizes import model_config
from stagevep.variants.score import score_with_model
from stagevep.variants.sequences import variant_sequences

REPO = Path(__file__).resolve().parents[1]


def random_variants(fa, n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` SNVs at random positions of the FASTA with the genome's REF base and a different ALT."""
    rng = np.random.default_rng(seed)
    names = list(fa.keys())
    rows = []
    while len(rows) < n:
        chrom = names[rng.integers(len(names))]
        pos = int(rng.integers(1, len(fa[chrom]) + 1))
        ref = str(fa[chrom][pos - 1]).upper()
        if ref in "ACGT":
            alt = rng.choice([b for b in "ACGT" if b != ref])
            rows.append((f"v{len(rows)}", chrom, pos, ref, alt, ""))
    return pd.DataFrame(rows, columns=["id", "chrom", "pos", "ref", "alt", "group"])


@torch.no_grad()
def seed_loop(model, fa, variants: pd.DataFrame, context: int, device: torch.device) -> np.ndarray:
    """The study's scoring loop: two batch-1 forward passes per variant. Returns ``(N, n_bins, n_tracks)`` alt - ref.

    The passes go through enformer-pytorch's own ``Enformer.forward`` (as the study's did), then the stage head.
    """
    def forward(seq: str) -> np.ndarray:
        x = torch.from_numpy(one_hot(seq))[None].to(device)
        return model.head(model.trunk(x, return_only_embeddings=True)).float().cpu().numpy()

    out = []
    for v in variants.itertuples(index=False):
        ref, alt = variant_sequences(fa, v.chrom, int(v.pos), v.alt, context)
        out.append((forward(alt) - forward(ref))[0])
    return np.stack(out)


def every_snv(fa, chrom: str, start: int, length: int) -> pd.DataFrame:
    """The three SNVs at each base of 1-based ``[start, start + length)`` (N bases skipped)."""
    seq = str(fa[chrom][start - 1:start - 1 + length]).upper()
    rows = [(f"s{start + k}{alt}", chrom, start + k, ref, alt, "")
            for k, ref in enumerate(seq) if ref in "ACGT" for alt in "ACGT" if alt != ref]
    return pd.DataFrame(rows, columns=["id", "chrom", "pos", "ref", "alt", "group"])


def dense(model, geom: Geometry, tracks: list[str], fa, central: int, args, device: torch.device) -> None:
    """Every SNV of one region: per-variant centring vs shared reference passes, speed and agreement."""
    chrom = max(fa.keys(), key=lambda c: len(fa[c]))
    start = len(fa[chrom]) // 2
    variants = every_snv(fa, chrom, start, args.dense_length)
    kw = dict(device=device, precision=args.precision, rc_ensemble=args.rc_ensemble)
    score_with_model(model, geom, tracks, fa, variants.head(4), central, args.batch_size, **kw)  # warm-up
    centred, t_centred = timed(lambda: score_with_model(model, geom, tracks, fa, variants, central,
                                                        args.batch_size, **kw), device)
    shared, t_shared = timed(lambda: score_with_model(model, geom, tracks, fa, variants, central, args.batch_size,
                                                      share_reference=True, **kw), device)
    n = len(variants)
    print(f"dense set: every SNV of {chrom}:{start}-{start + args.dense_length - 1} ({n} variants), "
          f"batch {args.batch_size}, central bins {central}")
    print(f"{'method':40s} {'variants/s':>11s} {'vs centred':>10s}")
    print(f"{'per-variant centring (default)':40s} {n / t_centred:11.2f} {1.0:9.1f}x")
    print(f"{'shared reference (--share_reference)':40s} {n / t_shared:11.2f} {t_centred / t_shared:9.1f}x")
    print(f"{'agreement':40s} {'pearson r':>11s} {'max |diff|':>10s} {'max |score|':>11s}")
    for col in ["score"] + [f"{t}_delta_sum" for t in tracks]:
        a, b = centred[col].to_numpy(float), shared[col].to_numpy(float)
        print(f"{col:40s} {np.corrcoef(a, b)[0, 1]:11.4f} {np.abs(a - b).max():10.2e} {np.abs(a).max():11.2e}")


def timed(fn, device: torch.device):
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    res = fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return res, time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model-size", default="tiny", choices=["tiny", "full"])
    p.add_argument("--context-length", type=int, default=196_608)
    p.add_argument("--n-bins", type=int, default=896)
    p.add_argument("--bin-size", type=int, default=128)
    p.add_argument("--n-variants", type=int, default=64)
    p.add_argument("--n-baseline", type=int, default=0, help="variants for the baselines (default: all)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--rc-ensemble", action="store_true")
    p.add_argument("--precision", default="auto")
    p.add_argument("--device", default="auto")
    p.add_argument("--fasta", default=str(REPO / "assets" / "test_data" / "genome.fa"))
    p.add_argument("--dense", action="store_true", help="the dense-set comparison (every SNV of one region)")
    p.add_argument("--dense-length", type=int, default=2000, help="bases of the dense region")
    p.add_argument("--central-bins", type=int, help="bins summarised in the scores (default: 96, at most n_bins)")
    p.add_argument("--checkpoint", help="a trained best.pt (its model and geometry) instead of random weights")
    args = p.parse_args()

    malloc_tuned = keep_freed_memory()  # as every bin/ script does; applies to all methods below alike
    device = resolve_device(args.device)
    if args.checkpoint:
        model, ckpt = load_checkpoint(args.checkpoint, device)
        geom, tracks = checkpoint_geometry(ckpt), list(ckpt["tracks"])
    else:
        geom = Geometry(n_bins=args.n_bins, bin_size=args.bin_size, context_length=args.context_length)
        torch.manual_seed(0)
        model = build_model(model_config(args.model_size, geom), 5).to(device).eval()
        tracks = [f"S{i}" for i in range(5)]
    fa = open_fasta(args.fasta)
    central = args.central_bins or min(96, geom.n_bins)
    if args.dense:
        print(f"device {device}, torch threads {torch.get_num_threads()}, "
              f"model {args.checkpoint or args.model_size}, context {geom.context_length}, {geom.n_bins} bins")
        dense(model, geom, tracks, fa, central, args, device)
        return
    variants = random_variants(fa, args.n_variants)
    base = variants.head(args.n_baseline or args.n_variants)
    print(f"device {device} ({torch.cuda.get_device_name() if device.type == 'cuda' else 'CPU'}), "
          f"torch threads {torch.get_num_threads()}, model {args.model_size}, context {args.context_length}, "
          f"{args.n_bins} bins, precision {args.precision}, rc_ensemble {args.rc_ensemble}, "
          f"malloc thresholds raised {malloc_tuned}")

    score_with_model(model, geom, tracks, fa, base.head(2), central, 2, device=device)  # warm-up
    runs = {}
    set_pair_attention_pool(model, False)  # enformer-pytorch's own pooling, as the original study ran it
    seed_delta, t = timed(lambda: seed_loop(model, fa, base, args.context_length, device), device)
    runs["study loop (ref, alt: 2 passes of 1)"] = len(base) / t
    set_pair_attention_pool(model, True)
    pair_delta, t = timed(lambda: seed_loop(model, fa, base, args.context_length, device), device)
    runs["study loop, pair pooling"] = len(base) / t
    print(f"max |alt - ref| difference, pair vs softmax pooling: {np.abs(pair_delta - seed_delta).max():.2e} "
          f"(largest |alt - ref| {np.abs(seed_delta).max():.2e})")
    _, t = timed(lambda: score_with_model(model, geom, tracks, fa, base, central, 1, device=device,
                                          precision=args.precision, rc_ensemble=args.rc_ensemble), device)
    runs["one pair per pass (--batch-size 1)"] = len(base) / t
    _, t = timed(lambda: score_with_model(model, geom, tracks, fa, variants, central, args.batch_size,
                                          device=device, precision=args.precision, rc_ensemble=args.rc_ensemble),
                 device)
    runs[f"batched (--batch-size {args.batch_size})"] = len(variants) / t
    ref_rate = runs["study loop (ref, alt: 2 passes of 1)"]
    print(f"{'method':40s} {'variants/s':>11s} {'vs study':>8s}")
    for name, rate in runs.items():
        print(f"{name:40s} {rate:11.2f} {rate / ref_rate:7.1f}x")


if __name__ == "__main__":
    main()
