#!/usr/bin/env python3
"""Finetune Enformer with one output track per stage on targets.h5."""

import argparse
import sys

from stagevep.cli import run_cli
from stagevep.model.enformer import FINETUNE_MODES, MODEL_SIZES
from stagevep.train.loop import LOSSES, TrainConfig, train


def build_parser() -> argparse.ArgumentParser:
    d = TrainConfig(targets="", fasta="", out_dir="")
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--targets", required=True)
    p.add_argument("--fasta", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--pretrained", default="none",
                   help="'none' (random init) or a local directory/state-dict file with the official Enformer weights")
    p.add_argument("--model-size", default=d.model_size, choices=sorted(MODEL_SIZES))
    p.add_argument("--finetune", default=d.finetune, choices=FINETUNE_MODES)
    p.add_argument("--unfreeze-last-n", type=int, default=d.unfreeze_last_n)
    p.add_argument("--loss", default=d.loss, choices=LOSSES)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--max-steps", type=int, default=d.max_steps)
    p.add_argument("--val-every", type=int, default=d.val_every)
    p.add_argument("--clip-grad", type=float, default=d.clip_grad)
    p.add_argument("--no-rc-augment", dest="rc_augment", action="store_false",
                   help="turn off reverse-complement augmentation")
    p.add_argument("--precision", default=d.precision, choices=["auto", "bf16", "fp16", "fp32"])
    p.add_argument("--device", default=d.device, help="auto, cpu, cuda or cuda:N")
    p.add_argument("--num-workers", type=int, default=d.num_workers)
    p.add_argument("--seed", type=int, default=d.seed)
    return p


def main(args: argparse.Namespace) -> None:
    opts = {k: v for k, v in vars(args).items() if k not in ("log_level",)}
    opts["pretrained"] = None if opts["pretrained"] == "none" else opts["pretrained"]
    train(TrainConfig(**opts))


if __name__ == "__main__":
    sys.exit(run_cli(build_parser, main))
