#!/usr/bin/env python3
"""Per-variant panels: observed signal, ref and alt predictions per stage, alt - ref."""

import argparse
import sys

from stagevep.cli import run_cli
from stagevep.variants.figures import plot_variant_files


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--scores", required=True, help="scores.tsv from score_variants.py")
    p.add_argument("--tracks", required=True, help="HDF5 from score_variants.py --save-tracks")
    p.add_argument("--out-dir", required=True, help="folder for variant_<id>.png/.pdf")
    p.add_argument("--ids", default="", help="comma-separated variant IDs to draw")
    p.add_argument("--top-n", type=int, default=3, help="also draw the N highest-scoring variants")
    p.add_argument("--bigwigs", nargs="*", default=[],
                   help="observed signal row: STAGE=FILE items, or files named <stage>.mean.bw")
    return p


def main(args: argparse.Namespace) -> None:
    plot_variant_files(args.scores, args.tracks, args.out_dir, [i for i in args.ids.split(",") if i], args.top_n,
                       args.bigwigs)


if __name__ == "__main__":
    sys.exit(run_cli(build_parser, main))
