#!/usr/bin/env python3
"""Exact per-bin sums of each stage's bigWig over every window, log1p, clip; written to targets.h5."""

import argparse
import sys

from stagevep.cli import run_cli
from stagevep.data.targets import make_targets_from_files


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--windows", required=True, help="windows BED from make_windows.py")
    p.add_argument("--bigwig", action="append", required=True, metavar="STAGE=FILE",
                   help="averaged bigWig of a stage; repeat in track order")
    p.add_argument("--output", required=True, help="targets.h5 to write")
    p.add_argument("--bin-size", type=int, default=128)
    p.add_argument("--context-length", type=int, default=196_608)
    p.add_argument("--clip-percentile", type=float, default=99.9,
                   help="clip log1p targets at this percentile (100: no clipping)")
    p.add_argument("--clip-scope", choices=["window", "track"], default="window",
                   help="window: one cap per window and track (the original study); track: one cap per track from the "
                        "training windows only, applied to all splits")
    p.add_argument("--fasta", help="genome FASTA, recorded in the file's attributes")
    return p


def main(args: argparse.Namespace) -> None:
    make_targets_from_files(args.windows, args.bigwig, args.output, args.bin_size, args.context_length,
                            args.clip_percentile, args.fasta, args.clip_scope)


if __name__ == "__main__":
    sys.exit(run_cli(build_parser, main))
