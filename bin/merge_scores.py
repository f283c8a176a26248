#!/usr/bin/env python3
"""Merge shard scores in input order, calibrate them against the background, write TSV/parquet/VCF."""

import argparse
import sys

from stagevep.cli import run_cli
from stagevep.variants.merge import merge_scores_files


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--scores", nargs="+", required=True, help="scores_NNNNN.parquet of every shard")
    p.add_argument("--manifest", required=True, help="manifest.json from prepare_variants.py")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--variants", required=True, help="the variant file the shards came from (for the VCF)")
    p.add_argument("--out-dir", required=True, help="writes scores.tsv, scores.parquet, scores.vcf.gz, tracks.h5")
    p.add_argument("--background", help="background.parquet from score_background.py (adds percentiles, p-values)")
    p.add_argument("--tracks", nargs="*", default=[], help="tracks_NNNNN.h5 of every shard (merged into tracks.h5)")
    p.add_argument("--track-ids", default="", help="comma-separated variant IDs whose tracks to keep")
    p.add_argument("--track-top-n", type=int, default=0, help="also keep the tracks of the N highest scores")
    p.add_argument("--central-bins", type=int, default=None,
                   help="as given to score_variants.py (default: derived from the checkpoint's n_bins likewise)")
    p.add_argument("--pseudocount", type=float, default=1e-3)
    p.add_argument("--rc-ensemble", action="store_true")
    p.add_argument("--share-reference", action="store_true", help="as given to score_variants.py")
    p.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp16", "fp32"])
    return p


def main(args: argparse.Namespace) -> None:
    merge_scores_files(args.scores, args.manifest, args.checkpoint, args.variants, args.out_dir,
                       central_bins=args.central_bins, pseudocount=args.pseudocount, rc_ensemble=args.rc_ensemble,
                       precision=args.precision, share_reference=args.share_reference, background=args.background,
                       shard_tracks=args.tracks,
                       track_ids=[i for i in args.track_ids.split(",") if i], track_top_n=args.track_top_n)


if __name__ == "__main__":
    sys.exit(run_cli(build_parser, main))
