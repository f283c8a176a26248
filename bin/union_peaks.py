#!/usr/bin/env python3
"""Union of peak files (BED, narrowPeak, gappedPeak, optionally .gz, or bigBed) with bedtools merge."""

import argparse
import sys

from stagevep.cli import run_cli
from stagevep.data.peaks import union_peaks, write_bed


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--inputs", nargs="+", required=True, help="peak files of all replicates and stages")
    p.add_argument("--output", required=True, help="union BED to write")
    p.add_argument("--merge-distance", type=int, default=0, help="merge peaks at most this many bp apart")
    return p


def main(args: argparse.Namespace) -> None:
    write_bed(union_peaks(args.inputs, args.merge_distance), args.output)


if __name__ == "__main__":
    sys.exit(run_cli(build_parser, main))
