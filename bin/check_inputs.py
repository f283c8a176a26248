#!/usr/bin/env python3
"""Preflight: check that bigWigs, peak files and the blacklist use the FASTA's contig names and lengths."""

import argparse
import sys

from stagevep.cli import run_cli
from stagevep.preflight import check_inputs


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--fasta", required=True)
    p.add_argument("--bigwigs", nargs="+", required=True)
    p.add_argument("--peaks", nargs="+", required=True)
    p.add_argument("--blacklist", default=None, help="optional blacklist BED: every contig must be in the FASTA")
    return p


def main(args: argparse.Namespace) -> None:
    check_inputs(args.fasta, args.bigwigs, args.peaks, args.blacklist)


if __name__ == "__main__":
    sys.exit(run_cli(build_parser, main))
