#!/usr/bin/env python3
"""Functional vs non-functional AUC on the bundled synthetic data after a longer training run.

Runs ``nextflow run main.nf -profile test --max_steps N`` (everything else as in the
test profile, so only the training budget differs) in its own launch directory and
prints the group statistics of ``score`` and of each stage from ``variants/group_stats.tsv``.

    PATH=$PWD/.venv/bin:$PATH .venv/bin/python benchmarks/variant_auc.py --max-steps 1200 --workdir /tmp/auc1200
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--max-steps", type=int, default=1200)
    p.add_argument("--workdir", type=Path, required=True, help="launch directory (work/ and results/ go here)")
    args = p.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    out = args.workdir / "results"
    cmd = ["nextflow", "run", str(REPO / "main.nf"), "-profile", "test", "--outdir", str(out),
           "--max_steps", str(args.max_steps), "--val_every", str(max(100, args.max_steps // 6))]
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=args.workdir, check=True, env={**os.environ, "NXF_OFFLINE": "true"})
    minutes = (time.perf_counter() - t0) / 60
    gs = pd.read_csv(out / "variants" / "group_stats.tsv", sep="\t", keep_default_na=False, na_values=["NA"])
    metrics = pd.read_csv(out / "evaluate" / "metrics.tsv", sep="\t")
    pearson = metrics.query("metric == 'mean_window_pearson' and track == 'all'")["value"].iloc[0]
    print(f"max_steps {args.max_steps}: {minutes:.1f} min; test mean per-window Pearson {pearson:.3f}")
    print(gs[["metric", "n_pos", "n_neg", "auc", "auc_ci_low", "auc_ci_high", "mannwhitney_p", "cohens_d"]]
          .to_string(index=False, float_format=lambda x: f"{x:.3g}"))


if __name__ == "__main__":
    main()
