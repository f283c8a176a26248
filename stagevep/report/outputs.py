"""The report's view of one run output: a figure, a table, training curves or the top-variants heatmap."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from stagevep.errors import InputError
from stagevep.plots.training import plot_training_curves
from stagevep.report.html import IMAGE_TYPES, TABLE_SUFFIXES, cell, heat, image_html, read_table, table_html

#: opens the variants section, before the group statistics
TOP_VARIANTS = "variants/top_variants.tsv"


def file_parts(rel: str, path: Path, workdir: Path) -> list[str]:
    """HTML for one output: a figure, a table, or a note for an empty file."""
    suffix = path.suffix.lower()
    if suffix not in IMAGE_TYPES and suffix not in TABLE_SUFFIXES:
        return []
    if not path.is_file():
        raise InputError(f"report input {path} (for {rel}) does not exist")
    if path.stat().st_size == 0:
        return [f'<h3>{html.escape(rel)}</h3><p class="note">empty file (a -stub run?)</p>']
    if suffix in IMAGE_TYPES:
        return [image_html(path, rel)]
    frame = read_table(path)
    if rel == "train/metrics.csv":
        return training_parts(rel, frame, workdir)
    if rel == "evaluate/metrics.tsv" and {"metric", "track", "value"} <= set(frame.columns):
        split = ", ".join(sorted(map(str, frame["split"].unique()))) if "split" in frame.columns else "?"
        if "space" in frame.columns:
            frame = frame[frame["space"] == "transformed"]
        index = [c for c in ("prediction", "metric") if c in frame.columns]
        wide = frame.pivot_table(index=index, columns="track", values="value", aggfunc="first", sort=False)
        return [f"<h3>{html.escape(rel)}</h3><p class='note'>split: {html.escape(split)}; target space (raw space "
                "and every figure in the file)</p>", table_html(wide.reset_index())]
    if rel == TOP_VARIANTS:
        return top_variants_parts(rel, frame)
    return [f"<h3>{html.escape(rel)}</h3>", table_html(frame)]


def top_variants_parts(rel: str, frame: pd.DataFrame) -> list[str]:
    """The top variants with their per-stage signed effects drawn as a heatmap (shared colour scale)."""
    effects = [c for c in frame.columns if c.endswith("_delta_signal")]
    scale = float(frame[effects].abs().max().max()) if effects and len(frame) else 0.0
    head = "".join(f"<th>{html.escape(c.removesuffix('_delta_signal'))}</th>" if c in effects
                   else f"<th>{html.escape(c)}</th>" for c in frame.columns)
    rows = []
    for row in frame.itertuples(index=False):
        cells = []
        for c, v in zip(frame.columns, row, strict=True):
            if c in effects:
                text = "NA" if pd.isna(v) else f"{v:.3g}"
                cells.append(f'<td class="num" style="background:{heat(v, scale)}">{text}</td>')
            else:
                cells.append(cell(v))
        rows.append("<tr>" + "".join(cells) + "</tr>")
    note = ("<p class='note'>the highest-scoring variants; stage columns: signed change of predicted signal "
            "(alt - ref over the central bins; blue a loss, red a gain, one colour scale for the table); "
            "score_pct and pvalue place the score in the model's background of random SNVs</p>")
    return [f"<h3>{html.escape(rel)}: top variants</h3>", note,
            f'<div class="table"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>']


def training_parts(rel: str, metrics: pd.DataFrame, workdir: Path) -> list[str]:
    if metrics.empty or "step" not in metrics.columns:
        return [f'<h3>{html.escape(rel)}</h3><p class="note">no training steps recorded</p>']
    png = plot_training_curves(metrics, workdir / "training_curves.png")
    last = metrics.iloc[[-1]]
    validated = metrics[metrics["val_loss"].notna()] if "val_loss" in metrics.columns else metrics.iloc[0:0]
    parts = [image_html(png, f"training curves from {rel}"), "<h3>last step</h3>", table_html(last)]
    if not validated.empty:
        best = validated.loc[[validated["val_loss"].idxmin()]]
        parts += ["<h3>lowest validation loss (best.pt)</h3>", table_html(best)]
    return parts
