#!/usr/bin/env python3
"""Scoring preflight and split: check checkpoint, FASTA and variants against each other; write shards."""

import argparse
import sys

from stagevep.cli import run_cli
from stagevep.variants.shards import prepare_variants


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--checkpoint", required=True, help="best.pt from training")
    p.add_argument("--fasta", required=True)
    p.add_argument("--variants", required=True, help="VCF (.vcf/.vcf.gz/.bcf) or TSV: chrom pos ref alt [id] [group]")
    p.add_argument("--groups", help="optional TSV 'id group' assigning groups to variants")
    p.add_argument("--out-dir", required=True, help="folder for shard_NNNNN.tsv and manifest.json")
    p.add_argument("--shard-size", type=int, default=20000, help="variants per shard (one scoring task each)")
    p.add_argument("--track-ids", default="", help="comma-separated variant IDs to plot: each must be in the file")
    return p


def main(args: argparse.Namespace) -> None:
    prepare_variants(args.checkpoint, args.fasta, args.variants, args.out_dir, args.groups, args.shard_size,
                     [i for i in args.track_ids.split(",") if i])


if __name__ == "__main__":
    sys.exit(run_cli(build_parser, main))
