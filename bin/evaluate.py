#!/usr/bin/env python3
"""Evaluate a checkpoint against observed targets on one split: metrics, predictions.h5, bigWigs, plots."""

import argparse
import sys

from stagevep.cli import run_cli
from stagevep.evaluate.run import evaluate


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--targets", required=True)
    p.add_argument("--fasta", required=True)
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("--out-dir", required=True)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp16", "fp32"])
    p.add_argument("--rc-average", action="store_true",
                   help="also report reverse-complement averaged predictions (twice the compute); bigWigs and "
                        "plots then use them")
    return p


def main(args: argparse.Namespace) -> None:
    evaluate(args.checkpoint, args.targets, args.fasta, args.out_dir, args.split, args.batch_size,
             args.device, args.precision, args.rc_average)


if __name__ == "__main__":
    sys.exit(run_cli(build_parser, main))
