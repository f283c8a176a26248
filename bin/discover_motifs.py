#!/usr/bin/env python3
"""Motifs behind each stage: attribution over held-out windows, TF-MoDISco, TOMTOM matches, stage contributions."""

import argparse
import sys

from stagevep.cli import run_cli
from stagevep.evaluate.motifs import discover_motifs_file


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--checkpoint", required=True, help="best.pt (it records its windows and their split)")
    p.add_argument("--fasta", required=True)
    p.add_argument("--out-dir", required=True, help="writes motifs.tsv, motifs.meme, stage_contributions.png/.pdf")
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("--half-width", type=int, default=512, help="bases each side of the window centre attributed")
    p.add_argument("--database", help="motifs to match against: a MEME file, or jaspar / JASPAR<year> "
                   "(JASPAR CORE vertebrates, bundled with pyjaspar)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--device", default="auto")
    return p


def main(args: argparse.Namespace) -> None:
    discover_motifs_file(args.checkpoint, args.fasta, args.out_dir, split=args.split, half_width=args.half_width,
                         database=args.database, batch_size=args.batch_size, device=args.device)


if __name__ == "__main__":
    sys.exit(run_cli(build_parser, main))
