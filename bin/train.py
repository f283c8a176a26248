#!/usr/bin/env python3
"""Finetune Enformer with one output track per stage on targets.h5.

Multi-GPU (or multi-process CPU) data parallel: torchrun --standalone --nproc_per_node N train.py ...
(NCCL on GPUs; --ddp-backend gloo for CPU processes).
Exit status 75: CUDA out of memory (rerun with --memory-retry 1, as the Nextflow process does). torchrun
reports a failed process as status 1, so with --oom-marker FILE the process that ran out of memory also
creates FILE: the Nextflow process then exits 75 itself.
"""

import argparse
import sys
from pathlib import Path

import torch

from stagevep.cli import run_cli
from stagevep.model.finetune import FINETUNE_MODES
from stagevep.model.sizes import MODEL_SIZES
from stagevep.train.config import EXIT_OUT_OF_MEMORY, LOSSES, PRECISIONS, TrainConfig
from stagevep.train.distributed import DDP_BACKENDS
from stagevep.train.loop import train
from stagevep.train.schedule import SCHEDULES


def build_parser() -> argparse.ArgumentParser:
    d = TrainConfig(targets="", fasta="", out_dir="")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--targets", required=True)
    p.add_argument("--fasta", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--pretrained", default="none",
                   help="'none' (random init) or a local directory/state-dict file with the official Enformer weights")
    p.add_argument("--model-size", default=d.model_size, choices=sorted(MODEL_SIZES))
    p.add_argument("--finetune", default=d.finetune, choices=FINETUNE_MODES)
    p.add_argument("--unfreeze-last-n", type=int, default=d.unfreeze_last_n)
    p.add_argument("--no-dropout", dest="dropout", action="store_false",
                   help="set every dropout rate of the trunk to 0")
    p.add_argument("--loss", default=d.loss, choices=LOSSES)
    p.add_argument("--stage-weight", type=float, default=d.stage_weight,
                   help="weight of the loss term on each bin's stage deviations (0: off)")
    p.add_argument("--lr", type=float, default=d.lr, help="peak AdamW learning rate (head)")
    p.add_argument("--trunk-lr", type=float, default=d.trunk_lr, help="learning rate of the trunk (default: --lr)")
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--schedule", default=d.schedule, choices=SCHEDULES,
                   help="after linear warmup: cosine decay to 0, or halve on a validation-loss plateau")
    p.add_argument("--warmup-steps", type=int, default=d.warmup_steps, help="default: 5%% of the steps")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="windows per micro-batch per process")
    p.add_argument("--accumulate", type=int, default=d.accumulate, help="micro-batches per optimizer step")
    p.add_argument("--max-steps", type=int, default=d.max_steps, help="optimizer steps (0: no step limit)")
    p.add_argument("--epochs", type=int, default=d.epochs, help="passes over the training windows")
    p.add_argument("--val-every", type=int, default=d.val_every, help="validate and write last.pt every N steps")
    p.add_argument("--patience", type=int, default=d.patience,
                   help="stop after this many validations without a lower validation loss")
    p.add_argument("--clip-grad", type=float, default=d.clip_grad)
    p.add_argument("--no-rc-augment", dest="rc_augment", action="store_false",
                   help="turn off reverse-complement augmentation")
    p.add_argument("--max-shift", type=int, default=d.max_shift, help="random shifts of up to this many bp")
    p.add_argument("--max-bin-shift", type=int, default=d.max_bin_shift,
                   help="random whole-bin shifts of context and targets together, up to this many bins "
                        "(default: a quarter of the targets' bins)")
    p.add_argument("--precision", default=d.precision, choices=PRECISIONS)
    p.add_argument("--gradient-checkpointing", action="store_true",
                   help="recompute activations in the backward pass (convolution tower and transformer)")
    p.add_argument("--deterministic", action="store_true", help="deterministic torch algorithms (slower)")
    p.add_argument("--resume", action="store_true", help="continue from OUT_DIR/last.pt")
    p.add_argument("--memory-retry", type=int, default=d.memory_retry,
                   help="out-of-memory retries so far: halve the batch and double --accumulate this many times")
    p.add_argument("--device", default=d.device, help="auto, cpu, cuda or cuda:N")
    p.add_argument("--ddp-backend", default=d.ddp_backend, choices=DDP_BACKENDS,
                   help="process group backend under torchrun: nccl (GPUs; the default), gloo (CPU processes) or auto "
                        "(NCCL on CUDA, gloo on the CPU)")
    p.add_argument("--oom-marker", type=Path,
                   help="on CUDA out of memory also create this file (for launchers that hide exit status 75)")
    p.add_argument("--num-workers", type=int, default=d.num_workers)
    p.add_argument("--seed", type=int, default=d.seed)
    return p


def main(args: argparse.Namespace) -> None:
    opts = {k: v for k, v in vars(args).items() if k not in ("log_level", "oom_marker")}
    opts["pretrained"] = None if opts["pretrained"] == "none" else opts["pretrained"]
    opts["max_steps"] = opts["max_steps"] or None
    try:
        train(TrainConfig(**opts))
    except torch.OutOfMemoryError as err:
        print(f"ERROR: CUDA out of memory ({err}). Rerun with --memory-retry 1 (half the batch, twice the "
              "accumulation), --gradient-checkpointing or --precision bf16.", file=sys.stderr)
        if args.oom_marker is not None:
            args.oom_marker.touch()
        raise SystemExit(EXIT_OUT_OF_MEMORY) from None


if __name__ == "__main__":
    sys.exit(run_cli(build_parser, main))
