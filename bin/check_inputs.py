#!/usr/bin/env python3
"""Preflight: check that bigWigs and peak files use the FASTA's contig names and lengths."""

import argparse
import sys

from stagevep.cli import run_cli
from stagevep.preflight import check_inputs


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--fasta", required=True)
    p.add_argument("--bigwigs", nargs="+", required=True)
    p.add_argument("--peaks", nargs="+", required=True)
    return p


def main(args: argparse.Namespace) -> None:
    check_inputs(args.fasta, args.bigwigs, args.peaks)


if __name__ == "__main__":
    sys.exit(run_cli(build_parser, main))
