#!/usr/bin/env python3
"""Write the deterministic synthetic test dataset (genome, bigWigs, peaks, variants, samplesheet)."""

import argparse
import sys

from stagevep.cli import run_cli
from stagevep.synthetic import make_synthetic_dataset


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out-dir", required=True, help="directory to write the dataset into")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1, the bundled dataset)")
    return p


def main(args: argparse.Namespace) -> None:
    make_synthetic_dataset(args.out_dir, seed=args.seed)


if __name__ == "__main__":
    sys.exit(run_cli(build_parser, main))
