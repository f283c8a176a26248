#!/usr/bin/env python3
"""Centre union peaks, extend them to the target window and assign the chromosome split."""

import argparse
import sys

from stagevep.cli import run_cli
from stagevep.data.windows import write_windows_from_peaks


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--peaks", required=True, help="union peaks BED")
    p.add_argument("--fasta", required=True, help="genome FASTA (contig lengths)")
    p.add_argument("--output", required=True, help="windows BED to write: chrom start end name split")
    p.add_argument("--n-bins", type=int, default=896)
    p.add_argument("--bin-size", type=int, default=128)
    p.add_argument("--context-length", type=int, default=196_608)
    p.add_argument("--val-chroms", default="chr8", help="comma-separated validation chromosomes")
    p.add_argument("--test-chroms", default="chr2,chr10", help="comma-separated test chromosomes")
    p.add_argument("--exclude-chroms", default="chrY", help="comma-separated chromosomes to drop ('' for none)")
    p.add_argument("--keep-chroms", default="primary",
                   help="'primary' (chr1-22, chrX; or 1-22, X), 'all', or comma-separated chromosomes to use")
    p.add_argument("--blacklist", default=None, help="BED of regions; windows overlapping it are dropped")
    p.add_argument("--summary", default=None, help="TSV to write: windows per chromosome and split, dropped and why")
    return p


def main(args: argparse.Namespace) -> None:
    write_windows_from_peaks(
        args.peaks, args.fasta, args.output, args.n_bins, args.bin_size, args.context_length,
        args.val_chroms, args.test_chroms, args.exclude_chroms, args.keep_chroms, args.blacklist, args.summary,
    )


if __name__ == "__main__":
    sys.exit(run_cli(build_parser, main))
