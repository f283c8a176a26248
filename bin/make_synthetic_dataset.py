#!/usr/bin/env python3
"""Write the deterministic synthetic test dataset (genome, bigWigs, peaks, variants, samplesheet)."""

import argparse
import sys

from stagevep.cli import run_cli
from stagevep.synthetic import make_synthetic_dataset
from stagevep.synthetic.config import PRESETS


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out-dir", required=True, help="directory to write the dataset into")
    p.add_argument("--preset", default="default", choices=sorted(PRESETS),
                   help="the grammar: default (the bundled dataset) or second (other motifs and stage patterns)")
    p.add_argument("--seed", type=int, default=None,
                   help="random seed (default: the preset's own, 1 for the bundled dataset, 2 for second)")
    return p


def main(args: argparse.Namespace) -> None:
    config, seed = PRESETS[args.preset]
    make_synthetic_dataset(args.out_dir, seed=seed if args.seed is None else args.seed, config=config)


if __name__ == "__main__":
    sys.exit(run_cli(build_parser, main))
