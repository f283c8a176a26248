#!/usr/bin/env python3
"""Attribution at variants: in-silico mutagenesis and gradient x input per stage, with logos."""

import argparse
import sys

from stagevep.cli import run_cli
from stagevep.variants.attribution import attribute_variant_file


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--checkpoint", required=True, help="best.pt from training")
    p.add_argument("--fasta", required=True)
    p.add_argument("--scores", required=True, help="scores.tsv (merged) to pick the variants from")
    p.add_argument("--out-dir", required=True, help="writes <id>.h5 and <id>.png/.pdf")
    p.add_argument("--ids", default="", help="comma-separated variant IDs to attribute")
    p.add_argument("--top-n", type=int, default=0, help="also attribute the N highest-scoring SNVs")
    p.add_argument("--ism-flank", type=int, default=20, help="mutate every base within this many bp of the variant")
    p.add_argument("--central-bins", type=int, default=None,
                   help="bins whose prediction is explained (default: as for score_variants.py)")
    p.add_argument("--batch-size", type=int, default=16, help="mutant windows per forward pass")
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp16", "fp32"])
    return p


def main(args: argparse.Namespace) -> None:
    attribute_variant_file(args.checkpoint, args.fasta, args.scores, args.out_dir,
                           ids=[i for i in args.ids.split(",") if i], top_n=args.top_n, flank=args.ism_flank,
                           central_bins=args.central_bins, batch_size=args.batch_size, device=args.device,
                           precision=args.precision)


if __name__ == "__main__":
    sys.exit(run_cli(build_parser, main))
