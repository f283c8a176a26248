#!/usr/bin/env python3
"""Compare variant scores between groups: Mann-Whitney U, Welch t, Cohen's d, ROC AUC, with plots."""

import argparse
import sys

from stagevep.cli import run_cli
from stagevep.variants.compare import compare_groups_files


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--scores", required=True, help="scores.tsv from score_variants.py")
    p.add_argument("--out-dir", required=True, help="writes group_stats.tsv and plots/")
    p.add_argument("--positive-group", default="functional")
    p.add_argument("--negative-group", default="",
                   help="group(s) to compare against, comma-separated (default: every other group)")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples for the AUC interval")
    p.add_argument("--seed", type=int, default=0)
    return p


def main(args: argparse.Namespace) -> None:
    compare_groups_files(args.scores, args.out_dir, args.positive_group, args.n_boot, args.seed,
                         negative_group=args.negative_group or None)


if __name__ == "__main__":
    sys.exit(run_cli(build_parser, main))
