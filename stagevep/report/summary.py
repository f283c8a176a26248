"""The report's summary, inputs and versions sections, built from the run's headline files."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from stagevep.report.html import read_table, table_html

#: (metric in evaluate/metrics.tsv, what the report calls it)
SUMMARY_METRICS = (
    ("pearson_window_totals", "Pearson of window totals (enhancer activity, across windows)"),
    ("r2_stage_deviation", "R² of stage deviations (which stages of each enhancer are high)"),
    ("stage_specificity", "Pearson of stage deviations"),
    ("mean_window_pearson", "the original study's mean per-window Pearson (profile shape)"),
)
SUMMARY_NOTE = (
    "Pooled over stages, in the target space, on the held-out windows. <b>no sequence</b>: the mean training "
    "window predicted for every window (it reads no sequence; a correlation with its constant totals is undefined, "
    "NA). <b>shuffled</b>: the model's own predictions given to other windows (the pairing of sequence and signal "
    "broken). A figure the model shares with either reference is not evidence that it reads the sequence: windows "
    "are centred on peaks, so the profile shape alone is reached without it."
)


def summary_parts(files: Mapping[str, Path]) -> list[str]:
    """The headline figures beside their references (evaluate/metrics.tsv) and the signed variant comparison."""
    parts = []
    metrics_path = files.get("evaluate/metrics.tsv")
    if metrics_path is not None and metrics_path.is_file() and metrics_path.stat().st_size:
        frame = read_table(metrics_path)
        if {"prediction", "space", "metric", "track", "value"} <= set(frame.columns):
            pooled = frame[(frame["track"] == "all") & (frame["space"] == "transformed")]
            value = pooled.set_index(["prediction", "metric"])["value"]
            model = "rc_average" if "rc_average" in set(pooled["prediction"]) else "forward"
            rows = [(label, *(value.get((pred, metric), float("nan")) for pred in (model, "mean_profile", "shuffled")))
                    for metric, label in SUMMARY_METRICS]
            table = pd.DataFrame(rows, columns=["figure", f"model ({model})", "no sequence", "shuffled"])
            parts += [table_html(table), f'<p class="note">{SUMMARY_NOTE}</p>']
    stats_path = files.get("variants/group_stats.tsv")
    if stats_path is not None and stats_path.is_file() and stats_path.stat().st_size:
        stats = read_table(stats_path).set_index("metric")
        if {"effect", "score"} <= set(stats.index):
            eff, score = stats.loc["effect"], stats.loc["score"]
            rows = [("signed effect at the stage of largest change (AUC < 0.5: losses)", eff["auc"], eff["median_pos"],
                     eff["median_neg"]),
                    ("|log2FC| score (the original study's)", score["auc"], score["median_pos"], score["median_neg"])]
            table = pd.DataFrame(rows, columns=["score", "ROC AUC", f"median {eff['positive_group']}",
                                                f"median {eff['negative_group']}"])
            groups = f"{html.escape(str(eff['positive_group']))} vs {html.escape(str(eff['negative_group']))}"
            parts += [f"<h3>variants: {groups} (n = {int(eff['n_pos'])} vs {int(eff['n_neg'])})</h3>",
                      table_html(table)]
    return parts


def inputs_parts(samplesheet: Path | None, params: Mapping[str, Any] | None) -> list[str]:
    parts = []
    if samplesheet is not None:
        parts += [f"<h3>samplesheet: {html.escape(samplesheet.name)}</h3>", table_html(read_table(samplesheet), 500)]
    if params:
        rows = [(k, json.dumps(v) if not isinstance(v, str) else v) for k, v in sorted(params.items())]
        parts += ["<h3>parameters</h3>", table_html(pd.DataFrame(rows, columns=["parameter", "value"]), 500)]
    return parts


def versions_parts(versions: Mapping[str, Mapping[str, str]]) -> list[str]:
    if not versions:
        return []
    by_tool: dict[tuple[str, str], list[str]] = {}
    for process, tools in versions.items():
        for tool, ver in tools.items():
            by_tool.setdefault((tool, ver), []).append(process.split(":")[-1])
    rows = [(tool, ver, ", ".join(sorted(set(procs)))) for (tool, ver), procs in sorted(by_tool.items())]
    return [table_html(pd.DataFrame(rows, columns=["tool", "version", "processes"]), 500)]
