#!/usr/bin/env python3
"""Score variants: reference and alternate predictions, per-stage effect summaries."""

import argparse
import sys

from stagevep.cli import run_cli
from stagevep.variants.score import score_variant_file


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--fasta", required=True)
    p.add_argument("--variants", required=True, help="VCF (.vcf/.vcf.gz) or TSV: chrom pos ref alt [id] [group]")
    p.add_argument("--groups", help="optional TSV 'id group' assigning groups to variants")
    p.add_argument("--out", required=True, help="scores.tsv to write (scores.parquet is written beside it)")
    p.add_argument("--central-bins", type=int, default=96)
    p.add_argument("--batch-size", type=int, default=4, help="variants per forward pass (ref and alt together)")
    p.add_argument("--pseudocount", type=float, default=1e-3, help="added to ref and alt before log2")
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp16", "fp32"])
    return p


def main(args: argparse.Namespace) -> None:
    score_variant_file(args.checkpoint, args.fasta, args.variants, args.out, args.groups, args.central_bins,
                       args.batch_size, args.pseudocount, args.device, args.precision)


if __name__ == "__main__":
    sys.exit(run_cli(build_parser, main))
