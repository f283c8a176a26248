#!/usr/bin/env python3
"""Learning benchmark: does the test-profile recipe learn the planted grammar, whatever the original study?

For each run (the bundled dataset with training seeds 0-4 and the ``second``
generator configuration, another grammar, with seeds 0-2 by default) it
prepares the targets as ``-profile test`` does (per-stage replicate mean, union
peaks, the test profile's geometry, val chr8, test chr2 + chr10, chrY excluded),
trains with the test profile's recipe (every training option is read from
``conf/test.config``), evaluates ``best.pt`` on the test split with
:func:`stagevep.evaluate.run.evaluate` and scores the dataset's variants with
:func:`stagevep.variants.score_file.score_variant_file`. Per run it prints, on the
held-out chromosomes:

- Pearson of window totals and R² of stage deviations of the model, beside the
  same figures of a 5-mer ridge regression (``kmer_baseline.py``), of the
  model's predictions shuffled across windows and of the mean training profile
  (no sequence), all measured in the same run;
- for the variants (``variants_truth.tsv``): signed AUC functional vs flank
  (losses first), sign accuracy, stage-of-largest-effect accuracy and the Pearson
  of predicted vs true per-stage effects;

then whether the run reaches every bar. Exit status 1 when any run misses one.
``--ablation`` instead trains seed 0 of the bundled data once per change of the
recipe (each lever set back), to measure what each part of the recipe buys.

Run from the repository root (figures in docs/benchmarks.md):

    PATH=$PWD/.venv/bin:$PATH .venv/bin/python benchmarks/bench_learning.py --jobs 2
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kmer_baseline import kmer_baseline  # noqa: E402

from stagevep.cli import keep_freed_memory  # noqa: E402
from stagevep.data.average import average_bigwigs  # noqa: E402
from stagevep.data.peaks import union_peaks, write_bed  # noqa: E402
from stagevep.data.targets import make_targets_from_files  # noqa: E402
from stagevep.data.windows import write_windows_from_peaks  # noqa: E402
from stagevep.evaluate.run import evaluate  # noqa: E402
from stagevep.io.hdf5 import read_targets  # noqa: E402
from stagevep.synthetic.config import PRESETS  # noqa: E402
from stagevep.synthetic.generate import make_synthetic_dataset  # noqa: E402
from stagevep.synthetic.truth import effect_agreement, read_truth  # noqa: E402
from stagevep.train.config import TrainConfig  # noqa: E402
from stagevep.train.loop import train  # noqa: E402
from stagevep.variants.score_file import score_variant_file  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = REPO / "assets" / "test_data"
TEST_CONFIG = REPO / "conf" / "test.config"

#: bars every run must reach (the shuffled control must stay at or below its bar)
BARS = {"totals": 0.8, "r2": 0.5, "shuffled": 0.1, "signed_auc": 0.9, "sign_accuracy": 0.9, "stage_accuracy": 0.7}
#: pipeline parameter -> TrainConfig field, for the training options of the test profile
TRAIN_PARAMS = {"model_size": "model_size", "lr": "lr", "batch_size": "batch_size", "max_steps": "max_steps",
                "val_every": "val_every", "loss": "loss", "stage_weight": "stage_weight",
                "max_bin_shift": "max_bin_shift", "dropout": "dropout", "schedule": "schedule",
                "max_shift": "max_shift", "warmup_steps": "warmup_steps"}
#: each lever of the recipe set back, one run each (``--ablation``)
ABLATIONS: dict[str, dict[str, Any]] = {
    "recipe": {},
    "poisson loss": {"loss": "poisson"},
    "no stage term": {"stage_weight": 0.0},
    "no bin shifts": {"max_bin_shift": 0},
    "dropout on": {"dropout": True},
    "lr 2e-3": {"lr": 2e-3},
    "half the steps": {"max_steps": "half"},
}


def test_profile() -> dict[str, Any]:
    """The ``params { }`` of ``conf/test.config`` as Python values (numbers, booleans, strings)."""
    text = TEST_CONFIG.read_text()
    block = re.search(r"params\s*\{(.*?)\n\}", text, re.S)
    if block is None:
        raise SystemExit(f"no params block in {TEST_CONFIG}")
    out: dict[str, Any] = {}
    for name, raw in re.findall(r"^\s*(\w+)\s*=\s*(.+?)\s*(?://.*)?$", block.group(1), re.M):
        out[name] = parse_value(raw)
    return out


def parse_value(raw: str) -> Any:
    """A config value as Python: true/false, an int, a float, else the unquoted string."""
    raw = raw.strip()
    if raw in ("true", "false"):
        return raw == "true"
    if re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if re.fullmatch(r"-?[\d.]+(e-?\d+)?", raw):
        return float(raw)
    return raw.strip("'\"")


def prepare(data: Path, out: Path, n_bins: int, context_length: int) -> Path:
    """targets.h5 of a synthetic dataset with the given geometry and the pipeline's default splits."""
    sheet = pd.read_csv(data / "samplesheet.csv")
    specs = []
    for stage, rows in sheet.groupby("stage", sort=False):
        mean_bw = out / f"{stage}.mean.bw"
        average_bigwigs([data / p for p in rows["bigwig"]], mean_bw)
        specs.append(f"{stage}={mean_bw}")
    peaks = out / "union_peaks.bed"
    write_bed(union_peaks([data / p for p in sheet["peaks"]]), peaks)
    windows = out / "windows.bed"
    write_windows_from_peaks(peaks, data / "genome.fa", windows, n_bins=n_bins, context_length=context_length)
    targets = out / "targets.h5"
    make_targets_from_files(windows, specs, targets, context_length=context_length, fasta=data / "genome.fa")
    return targets


def run_one(name: str, data: Path, seed: int, work: Path, profile: dict[str, Any], threads: int) -> dict[str, Any]:
    """Train, evaluate and score one run; returns its figures."""
    keep_freed_memory()
    torch.set_num_threads(threads)
    logging.basicConfig(level=logging.WARNING)
    work.mkdir(parents=True, exist_ok=True)
    targets = prepare(data, work, profile["n_bins"], profile["context_length"])
    options = {field: profile[p] for p, field in TRAIN_PARAMS.items() if p in profile}
    cfg = TrainConfig(targets=str(targets), fasta=str(data / "genome.fa"), out_dir=str(work / "train"),
                      device="cpu", seed=seed, **options)
    t0 = time.perf_counter()
    best = train(cfg)
    train_s = time.perf_counter() - t0
    metrics = evaluate(best, targets, data / "genome.fa", work / "evaluate", batch_size=8, device="cpu",
                       rc_average=bool(profile.get("rc_average")))
    primary = "rc_average" if profile.get("rc_average") else "forward"
    pooled = metrics[(metrics["track"] == "all") & (metrics["space"] == "transformed")]
    value = pooled.set_index(["prediction", "metric"])["value"]
    kmer = kmer_baseline(targets, data / "genome.fa")
    scores = score_variant_file(best, data / "genome.fa", data / "variants.tsv", work / "scores.tsv",
                                central_bins=profile["central_bins"], batch_size=8, device="cpu",
                                rc_ensemble=bool(profile.get("rc_ensemble")))
    agreement = effect_agreement(scores, read_truth(data / "variants_truth.tsv"), read_targets(targets).tracks)
    row: dict[str, Any] = {"run": name, "seed": seed, "train_s": round(train_s)}
    for metric, short in (("pearson_window_totals", "totals"), ("r2_stage_deviation", "r2")):
        row[short] = value[(primary, metric)]
        row[f"{short}_kmer"] = kmer[metric]
        row[f"{short}_shuffled"] = value[("shuffled", metric)]
        row[f"{short}_mean_profile"] = value[("mean_profile", metric)]
    row["window_pearson"] = value[(primary, "mean_window_pearson")]
    row["window_pearson_mean_profile"] = value[("mean_profile", "mean_window_pearson")]
    row.update(agreement)
    row["failed"] = failed_bars(row)
    return row


def failed_bars(row: dict[str, Any]) -> list[str]:
    """Names of the bars a run misses."""
    failed = []
    for short in ("totals", "r2"):
        if not row[short] >= BARS[short]:
            failed.append(f"{short} < {BARS[short]}")
        if not row[short] > row[f"{short}_kmer"]:
            failed.append(f"{short} not above the k-mer baseline")
        if not row[f"{short}_shuffled"] <= BARS["shuffled"]:
            failed.append(f"shuffled {short} > {BARS['shuffled']}")
    for key in ("signed_auc", "sign_accuracy", "stage_accuracy"):
        if not row[key] >= BARS[key]:
            failed.append(f"{key} < {BARS[key]}")
    return failed


def print_table(rows: list[dict[str, Any]]) -> None:
    cols = [("run", "{:<14}"), ("seed", "{:>4}"), ("train_s", "{:>7}"), ("totals", "{:>7.3f}"),
            ("totals_kmer", "{:>7.3f}"), ("totals_shuffled", "{:>7.3f}"), ("r2", "{:>7.3f}"), ("r2_kmer", "{:>7.3f}"),
            ("r2_shuffled", "{:>7.3f}"), ("r2_mean_profile", "{:>7.3f}"), ("window_pearson", "{:>7.3f}"),
            ("window_pearson_mean_profile", "{:>7.3f}"), ("signed_auc", "{:>7.3f}"), ("sign_accuracy", "{:>7.3f}"),
            ("stage_accuracy", "{:>7.3f}"), ("effect_pearson", "{:>7.3f}")]
    heads = ["run", "seed", "train s", "totals", "kmer", "shuf", "R2 dev", "kmer", "shuf", "no-seq", "win r",
             "no-seq", "sAUC", "sign", "stage", "eff r"]
    print(" ".join(f"{h:>{len(fmt.format(0) if k not in ('run',) else fmt.format(''))}}" if k != "run"
                   else f"{h:<14}" for h, (k, fmt) in zip(heads, cols, strict=True)) + "  bars")
    for r in rows:
        cells = [fmt.format(r[k]) for k, fmt in cols]
        print(" ".join(cells) + "  " + ("all met" if not r["failed"] else "MISSED: " + "; ".join(r["failed"])))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4], help="training seeds, bundled data")
    ap.add_argument("--second-seeds", type=int, nargs="*", default=[0, 1, 2],
                    help="training seeds on the second generator configuration")
    ap.add_argument("--ablation", action="store_true", help="one run per lever of the recipe set back (seed 0)")
    ap.add_argument("--jobs", type=int, default=2, help="runs in parallel (each with --threads threads)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    ap.add_argument("--max-steps", type=int, help="override the profile's steps (a quick check of the script only)")
    ap.add_argument("--set", nargs="+", default=[], metavar="PARAM=VALUE",
                    help="override test-profile parameters for an experiment, e.g. --set lr=0.001 max_steps=2400")
    args = ap.parse_args()
    profile = test_profile()
    if args.max_steps:
        profile["max_steps"] = args.max_steps
    for item in args.set:
        name, sep, raw = item.partition("=")
        if not sep or name not in profile and name not in TRAIN_PARAMS:
            raise SystemExit(f"--set {item!r}: expected PARAM=VALUE with a parameter of {TEST_CONFIG.name}")
        profile[name] = parse_value(raw)
    print(f"test-profile recipe ({TEST_CONFIG.relative_to(REPO)}): "
          + ", ".join(f"{k}={profile[k]}" for k in ("model_size", "n_bins", "context_length", *TRAIN_PARAMS)
                      if k in profile and k != "model_size") + f", model_size={profile['model_size']}")
    with tempfile.TemporaryDirectory(prefix="stagevep-bench-learning-") as tmp:
        tmp = Path(tmp)
        jobs = []
        if args.ablation:
            for name, change in ABLATIONS.items():
                changed = {**profile, **change}
                if change.get("max_steps") == "half":
                    changed["max_steps"] = profile["max_steps"] // 2
                jobs.append((name, TEST_DATA, 0, tmp / name.replace(" ", "_"), changed))
        else:
            jobs += [("bundled", TEST_DATA, s, tmp / f"bundled{s}", profile) for s in args.seeds]
            if args.second_seeds:
                config, data_seed = PRESETS["second"]
                second = tmp / "second_data"
                make_synthetic_dataset(second, seed=data_seed, config=config)
                jobs += [("second", second, s, tmp / f"second{s}", profile) for s in args.second_seeds]
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(run_one, name, data, seed, work, prof, args.threads)
                       for name, data, seed, work, prof in jobs]
            rows = [f.result() for f in futures]
    print(f"held-out chromosomes (chr2 + chr10); {args.jobs} run(s) in parallel, {args.threads} thread(s) each")
    print("totals: Pearson of window totals; R2 dev: R² of stage deviations; kmer: 5-mer ridge; shuf: the model's"
          " predictions shuffled across windows; no-seq: the mean training profile; win r: the study's per-window"
          " Pearson; sAUC: functional vs flank, losses first")
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str) + "\n")
    if not args.ablation and any(r["failed"] for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
