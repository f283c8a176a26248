#!/usr/bin/env python3
"""Score a model's calibration background: random SNVs around its training windows' peak centres."""

import argparse
import sys

from stagevep.cli import run_cli
from stagevep.variants.background import score_background_file


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--checkpoint", required=True, help="best.pt from training (it records its windows)")
    p.add_argument("--fasta", required=True, help="the FASTA the model was trained on")
    p.add_argument("--out", required=True, help="background.parquet to write (background.json beside it)")
    p.add_argument("--n", type=int, default=10000, help="background SNVs to draw")
    p.add_argument("--seed", type=int, default=0, help="random seed of the draw")
    p.add_argument("--central-bins", type=int, default=None,
                   help="as for score_variants.py (default: derived from the checkpoint's n_bins likewise)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--pseudocount", type=float, default=1e-3)
    p.add_argument("--rc-ensemble", action="store_true")
    p.add_argument("--share-reference", action="store_true", help="as for score_variants.py")
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp16", "fp32"])
    return p


def main(args: argparse.Namespace) -> None:
    score_background_file(args.checkpoint, args.fasta, args.out, n=args.n, seed=args.seed,
                          central_bins=args.central_bins, batch_size=args.batch_size, pseudocount=args.pseudocount,
                          device=args.device, precision=args.precision, rc_ensemble=args.rc_ensemble,
                          share_reference=args.share_reference)


if __name__ == "__main__":
    sys.exit(run_cli(build_parser, main))
