#!/usr/bin/env python3
"""Score variants: reference and alternate predictions, per-stage effect summaries."""

import argparse
import sys

from stagevep.cli import run_cli
from stagevep.variants.score_file import score_variant_file


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--checkpoint", required=True, help="best.pt from training (model, tracks and geometry)")
    p.add_argument("--fasta", required=True)
    p.add_argument("--variants", required=True, help="VCF (.vcf/.vcf.gz) or TSV: chrom pos ref alt [id] [group]")
    p.add_argument("--groups", help="optional TSV 'id group' assigning groups to variants")
    p.add_argument("--out", required=True, help="scores.tsv to write (scores.parquet is written beside it)")
    p.add_argument("--central-bins", type=int, default=None,
                   help="bins around the centre summarised in the scores (default: round(n_bins * 96 / 896) "
                        "of the checkpoint, the original study's 96 of 896)")
    p.add_argument("--batch-size", type=int, default=8,
                   help="variants per forward pass (each contributes its ref and alt sequence)")
    p.add_argument("--pseudocount", type=float, default=1e-3, help="added to ref and alt before log2")
    p.add_argument("--rc-ensemble", action="store_true",
                   help="average forward and reverse-complement predictions (twice the compute)")
    p.add_argument("--strict-ref", action="store_true",
                   help="stop with an error when a REF allele disagrees with the FASTA (default: status ref_mismatch)")
    p.add_argument("--save-tracks", help="HDF5 file for per-bin ref/alt predictions (for plotting)")
    p.add_argument("--track-ids", default="",
                   help="comma-separated variant IDs whose tracks to save (with --track-top-n; default: all)")
    p.add_argument("--track-top-n", type=int, default=0, help="also save the tracks of the N highest scores")
    p.add_argument("--max-indel-length", type=int, default=50,
                   help="score indels that add or remove up to this many bases (longer: status indel_too_long)")
    p.add_argument("--indel-alignment", default="shift", choices=["shift", "shift_mask", "none"],
                   help="how alternate predictions of indels are put back on reference bins (docs/usage.md)")
    p.add_argument("--share-reference", action="store_true",
                   help="SNVs in one genome tile share a reference pass, each summarised on its own bins")
    p.add_argument("--shard", action="store_true",
                   help="the variants are one shard of a larger table: --track-ids absent from it are fine")
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp16", "fp32"])
    return p


def main(args: argparse.Namespace) -> None:
    score_variant_file(args.checkpoint, args.fasta, args.variants, args.out, groups=args.groups,
                       central_bins=args.central_bins, batch_size=args.batch_size, pseudocount=args.pseudocount,
                       device=args.device, precision=args.precision, rc_ensemble=args.rc_ensemble,
                       strict_ref=args.strict_ref, save_tracks=args.save_tracks,
                       track_ids=[i for i in args.track_ids.split(",") if i], track_top_n=args.track_top_n,
                       shard=args.shard, max_indel_length=args.max_indel_length,
                       indel_alignment=args.indel_alignment, share_reference=args.share_reference)


if __name__ == "__main__":
    sys.exit(run_cli(build_parser, main))
