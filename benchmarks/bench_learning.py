#!/usr/bin/env python3
"""Learning benchmark: does the test-profile model learn the planted grammar of the bundled synthetic data?

Prepares targets from ``assets/test_data`` exactly as ``-profile test`` does
(per-stage replicate average, union peaks, 64 bins of 128 bp in a 16,384-bp
context, val chr8, test chr2 + chr10, chrY excluded), then for each step
budget in ``--steps`` trains the tiny model with the test profile's settings
(``conf/test.config``: lr, batch size, val_every) and evaluates the best
checkpoint on the test split. Prints the held-out mean per-window Pearson (the
seed's metric) for each budget, with the CPU and wall time of the training,
and the ratio of each figure to the one at the first budget (the test
profile's own, measured in the same run). The issue asks for >= 0.5.

For reference it also prints the figure of a prediction that ignores the
sequence: the mean training profile, the same for every test window. Windows
are centred on peaks, so this position prior alone scores high on the
per-window Pearson; a model has learned the sequence grammar only where it
gets there from the sequence.

Run from the repository root (figures in docs/benchmarks.md):

    PATH=$PWD/.venv/bin:$PATH .venv/bin/python benchmarks/bench_learning.py --steps 300 1200
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from stagevep.data.average import average_bigwigs
from stagevep.data.peaks import union_peaks, write_bed
from stagevep.data.targets import make_targets_from_files
from stagevep.data.windows import write_windows_from_peaks
from stagevep.evaluate.metrics import seed_metric
from stagevep.evaluate.run import evaluate
from stagevep.io.hdf5 import read_targets
from stagevep.train.loop import TrainConfig, train

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = REPO / "assets" / "test_data"


def prepare(out: Path, n_bins: int, context_length: int) -> Path:
    """targets.h5 of the bundled data with the test profile's geometry and splits."""
    sheet = pd.read_csv(TEST_DATA / "samplesheet.csv")
    specs = []
    for stage, rows in sheet.groupby("stage", sort=False):
        mean_bw = out / f"{stage}.mean.bw"
        average_bigwigs([TEST_DATA / p for p in rows["bigwig"]], mean_bw)
        specs.append(f"{stage}={mean_bw}")
    peaks = out / "union_peaks.bed"
    write_bed(union_peaks([TEST_DATA / p for p in sheet["peaks"]]), peaks)
    windows = out / "windows.bed"
    write_windows_from_peaks(peaks, TEST_DATA / "genome.fa", windows, n_bins=n_bins, context_length=context_length)
    targets = out / "targets.h5"
    make_targets_from_files(windows, specs, targets, context_length=context_length, fasta=TEST_DATA / "genome.fa")
    return targets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, nargs="+", default=[300, 1200], help="step budgets; the first is the baseline")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--val-every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory(prefix="stagevep-bench-learning-") as tmp:
        tmp = Path(tmp)
        targets = prepare(tmp, n_bins=64, context_length=16_384)
        data = read_targets(targets)
        train_profile = data.targets[data.split_index("train")].mean(axis=0, keepdims=True)
        test_obs = data.targets[data.split_index("test")]
        prior = seed_metric(np.repeat(train_profile, len(test_obs), axis=0), test_obs)
        rows = []
        for steps in args.steps:
            run = tmp / f"steps{steps}"
            cfg = TrainConfig(targets=str(targets), fasta=str(TEST_DATA / "genome.fa"), out_dir=str(run / "train"),
                              model_size="tiny", lr=args.lr, batch_size=args.batch_size, max_steps=steps,
                              val_every=args.val_every, device="cpu", seed=args.seed)
            w0, c0 = time.perf_counter(), time.process_time()
            best = train(cfg)
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            metrics = evaluate(best, targets, TEST_DATA / "genome.fa", run / "evaluate", split="test",
                               batch_size=args.batch_size, device="cpu")
            pick = (metrics["metric"] == "mean_window_pearson") & (metrics["track"] == "all")
            rows.append((steps, float(metrics.loc[pick, "value"].iloc[0]), wall, cpu))

    base = rows[0][1]
    print(f"tiny model, lr {args.lr}, batch {args.batch_size}, {args.threads} threads; "
          "held-out (chr2 + chr10) mean per-window Pearson of best.pt")
    print(f"mean training profile for every window (no sequence): {prior:.3f}")
    print(f"{'steps':>6} {'pearson':>8} {'vs first':>9} {'train wall s':>13} {'train CPU s':>12}")
    for steps, r, wall, cpu in rows:
        print(f"{steps:>6} {r:>8.3f} {r / base if base else float('nan'):>8.2f}x {wall:>13.0f} {cpu:>12.0f}")


if __name__ == "__main__":
    main()
