#!/usr/bin/env python3
"""Data-preparation QC: replicate concordance, signal distributions before/after transform, windows per split."""

import argparse
import sys

from stagevep.cli import run_cli
from stagevep.data.qc import write_prepare_qc


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--replicate", nargs=3, action="append", required=True, metavar=("STAGE", "REPLICATE", "BIGWIG"),
                   help="one replicate bigWig (repeat for every replicate)")
    p.add_argument("--peaks", required=True, help="union peaks BED")
    p.add_argument("--targets", required=True, help="targets.h5 (raw_sums and targets)")
    p.add_argument("--windows", required=True, help="windows BED")
    p.add_argument("--out-dir", required=True, help="folder for the QC tables and figures")
    p.add_argument("--bin-size", type=int, default=128, help="bin width for replicate concordance")
    return p


def main(args: argparse.Namespace) -> None:
    write_prepare_qc(args.replicate, args.peaks, args.targets, args.windows, args.out_dir, args.bin_size)


if __name__ == "__main__":
    sys.exit(run_cli(build_parser, main))
