#!/usr/bin/env python3
"""Exact base-resolution mean of replicate bigWigs (missing data counts as 0)."""

import argparse
import sys

from stagevep.cli import run_cli
from stagevep.data.average import average_bigwigs


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--inputs", nargs="+", required=True, help="replicate bigWigs of one stage")
    p.add_argument("--fasta", required=True,
                   help="genome FASTA: the output has its chromosomes, in its order (.fai built if missing)")
    p.add_argument("--output", required=True, help="averaged bigWig to write")
    return p


def main(args: argparse.Namespace) -> None:
    average_bigwigs(args.inputs, args.output, args.fasta)


if __name__ == "__main__":
    sys.exit(run_cli(build_parser, main))
