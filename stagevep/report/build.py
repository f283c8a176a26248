"""One self-contained HTML page summarising a run (``report/report.html``).

The report knows the run's outputs only by their path below ``--outdir``
(``train/metrics.csv``, ``evaluate/plots/x.png``, ...): every file handed to it
lands in the section its path names, so figures and tables added by new
processes appear without changes here. Images are embedded as base64 data
URIs; there is no external CSS or JavaScript. A section without outputs says
"not run" (``-stub`` and partial runs exist).
"""

from __future__ import annotations

import base64
import html
import json
import logging
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
import yaml

from stagevep import __version__
from stagevep.cli import parse_assignments
from stagevep.errors import InputError
from stagevep.io.files import atomic_path
from stagevep.plots.training import plot_training_curves

log = logging.getLogger(__name__)

# (id, title): the ids are stable; tests and links rely on them
SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Does the model read the sequence?"),
    ("inputs", "Inputs"),
    ("qc", "Quality control"),
    ("training", "Training"),
    ("evaluation", "Evaluation"),
    ("variants", "Variants"),
    ("versions", "Software versions"),
)
NOT_RUN = "not run"
IMAGE_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
TABLE_SUFFIXES = (".tsv", ".csv")
MAX_TABLE_ROWS = 50
#: opens the variants section, before the group statistics
TOP_VARIANTS = "variants/top_variants.tsv"

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1f2328;background:#fff}
header{background:#24292f;color:#fff;padding:16px 32px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#c9d1d9;font-size:13px}
nav{padding:8px 32px;border-bottom:1px solid #d0d7de;position:sticky;top:0;background:#f6f8fa}
nav a{margin-right:16px;color:#0969da;text-decoration:none;font-size:14px}
main{padding:0 32px 32px}section{border-bottom:1px solid #d0d7de;padding:8px 0 16px}
h2{font-size:19px;margin:16px 0 8px}h3{font-size:15px;margin:14px 0 6px;font-family:monospace}
div.table{overflow-x:auto;max-width:100%}table{border-collapse:collapse;font-size:12.5px;margin:4px 0 8px}
th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{display:inline-block;margin:6px 12px 6px 0;vertical-align:top}
figure img{max-width:760px;border:1px solid #d0d7de}figcaption{font-size:12px;font-family:monospace;color:#57606a}
.not-run{color:#9a6700;background:#fff8c5;padding:6px 10px;display:inline-block;border-radius:4px}
.note{color:#57606a;font-size:12.5px}
"""


@dataclass
class Section:
    """HTML fragments of one report section."""

    id: str
    title: str
    parts: list[str] = field(default_factory=list)

    def render(self) -> str:
        body = "\n".join(self.parts) if self.parts else f'<p class="not-run">{NOT_RUN}</p>'
        return f'<section id="{self.id}">\n<h2>{html.escape(self.title)}</h2>\n{body}\n</section>'


def section_of(relpath: str) -> str | None:
    """Report section of an output by its path below ``--outdir``; ``None`` if it belongs to none.

    ``prepare/...`` and any path with a ``qc`` folder -> ``qc``; ``train/`` ->
    ``training``; ``evaluate/`` -> ``evaluation``; ``variants/`` -> ``variants``.
    """
    parts = PurePosixPath(relpath).parts
    if not parts:
        return None
    if parts[0] == "prepare" or "qc" in parts[:-1]:
        return "qc"
    return {"train": "training", "evaluate": "evaluation", "variants": "variants"}.get(parts[0])


def parse_file_args(items: Iterable[str]) -> dict[str, Path]:
    """``REL=PATH`` strings (``--file``) -> ``{REL: Path(PATH)}``."""
    pairs = parse_assignments(list(items), "--file", "RELATIVE_PATH=LOCAL_PATH")
    return {rel: Path(local) for rel, local in pairs.items()}


def read_versions(paths: Sequence[Path]) -> dict[str, dict[str, str]]:
    """Merge ``versions.yml`` files into ``{process: {tool: version}}``."""
    merged: dict[str, dict[str, str]] = {}
    for path in paths:
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except yaml.YAMLError as err:
            raise InputError(f"{path} is not valid YAML ({err}); it should be a task's versions.yml") from err
        if not isinstance(data, dict):
            raise InputError(f"{path}: expected a mapping 'process: {{tool: version}}'")
        for process, tools in data.items():
            merged.setdefault(str(process), {}).update({str(k): str(v) for k, v in (tools or {}).items()})
    return merged


# ---------------------------------------------------------------------------
# HTML helpers
# ---------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if isinstance(value, float):
        text = "NA" if pd.isna(value) else f"{value:.4g}"
        return f'<td class="num">{text}</td>'
    if isinstance(value, int | bool):
        return f'<td class="num">{value}</td>'
    return f"<td>{html.escape(str(value))}</td>"


def table_html(frame: pd.DataFrame, max_rows: int = MAX_TABLE_ROWS) -> str:
    """An HTML table of the first ``max_rows`` rows of ``frame``, with a note when rows were left out."""
    shown = frame.head(max_rows)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    rows = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in shown.itertuples(index=False))
    note = f'<p class="note">first {max_rows} of {len(frame)} rows</p>' if len(frame) > max_rows else ""
    return f'<div class="table"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>{note}'


def image_html(path: Path, caption: str) -> str:
    """A ``<figure>`` with the image embedded as a base64 data URI."""
    mime = IMAGE_TYPES[path.suffix.lower()]
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img src="data:{mime};base64,{data}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _read_table(path: Path) -> pd.DataFrame:
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    return pd.read_csv(path, sep=sep, keep_default_na=False, na_values=["NA", "nan", "NaN", ""])


def _file_parts(rel: str, path: Path, workdir: Path) -> list[str]:
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
    frame = _read_table(path)
    if rel == "train/metrics.csv":
        return _training_parts(rel, frame, workdir)
    if rel == "evaluate/metrics.tsv" and {"metric", "track", "value"} <= set(frame.columns):
        split = ", ".join(sorted(map(str, frame["split"].unique()))) if "split" in frame.columns else "?"
        if "space" in frame.columns:
            frame = frame[frame["space"] == "transformed"]
        index = [c for c in ("prediction", "metric") if c in frame.columns]
        wide = frame.pivot_table(index=index, columns="track", values="value", aggfunc="first", sort=False)
        return [f"<h3>{html.escape(rel)}</h3><p class='note'>split: {html.escape(split)}; target space (raw space "
                "and every figure in the file)</p>", table_html(wide.reset_index())]
    if rel == TOP_VARIANTS:
        return _top_variants_parts(rel, frame)
    return [f"<h3>{html.escape(rel)}</h3>", table_html(frame)]


def _heat(value: float, scale: float) -> str:
    """Background colour of a signed effect: blue for a loss, red for a gain, white for none."""
    if pd.isna(value) or scale <= 0:
        return "#ffffff"
    t = min(1.0, abs(float(value)) / scale)
    fade = round(255 * (1 - 0.75 * t))
    return f"rgb({fade},{fade},255)" if value < 0 else f"rgb(255,{fade},{fade})"


def _top_variants_parts(rel: str, frame: pd.DataFrame) -> list[str]:
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
                cells.append(f'<td class="num" style="background:{_heat(v, scale)}">{text}</td>')
            else:
                cells.append(_cell(v))
        rows.append("<tr>" + "".join(cells) + "</tr>")
    note = ("<p class='note'>the highest-scoring variants; stage columns: signed change of predicted signal "
            "(alt - ref over the central bins; blue a loss, red a gain, one colour scale for the table); "
            "score_pct and pvalue place the score in the model's background of random SNVs</p>")
    return [f"<h3>{html.escape(rel)}: top variants</h3>", note,
            f'<div class="table"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>']


def _training_parts(rel: str, metrics: pd.DataFrame, workdir: Path) -> list[str]:
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


#: (metric in evaluate/metrics.tsv, what the report calls it)
SUMMARY_METRICS = (
    ("pearson_window_totals", "Pearson of window totals (enhancer activity, across windows)"),
    ("r2_stage_deviation", "R² of stage deviations (which stages of each enhancer are high)"),
    ("stage_specificity", "Pearson of stage deviations"),
    ("mean_window_pearson", "the seed's mean per-window Pearson (profile shape)"),
)
SUMMARY_NOTE = (
    "Pooled over stages, in the target space, on the held-out windows. <b>no sequence</b>: the mean training "
    "window predicted for every window (it reads no sequence; a correlation with its constant totals is undefined, "
    "NA). <b>shuffled</b>: the model's own predictions given to other windows (the pairing of sequence and signal "
    "broken). A figure the model shares with either reference is not evidence that it reads the sequence: windows "
    "are centred on peaks, so the profile shape alone is reached without it."
)


def _summary_parts(files: Mapping[str, Path]) -> list[str]:
    """The headline figures beside their references (evaluate/metrics.tsv) and the signed variant comparison."""
    parts = []
    metrics_path = files.get("evaluate/metrics.tsv")
    if metrics_path is not None and metrics_path.is_file() and metrics_path.stat().st_size:
        frame = _read_table(metrics_path)
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
        stats = _read_table(stats_path).set_index("metric")
        if {"effect", "score"} <= set(stats.index):
            eff, score = stats.loc["effect"], stats.loc["score"]
            rows = [("signed effect at the stage of largest change (AUC < 0.5: losses)", eff["auc"], eff["median_pos"],
                     eff["median_neg"]),
                    ("|log2FC| score (the seed's)", score["auc"], score["median_pos"], score["median_neg"])]
            table = pd.DataFrame(rows, columns=["score", "ROC AUC", f"median {eff['positive_group']}",
                                                f"median {eff['negative_group']}"])
            groups = f"{html.escape(str(eff['positive_group']))} vs {html.escape(str(eff['negative_group']))}"
            parts += [f"<h3>variants: {groups} (n = {int(eff['n_pos'])} vs {int(eff['n_neg'])})</h3>",
                      table_html(table)]
    return parts


def _inputs_parts(samplesheet: Path | None, params: Mapping[str, Any] | None) -> list[str]:
    parts = []
    if samplesheet is not None:
        parts += [f"<h3>samplesheet: {html.escape(samplesheet.name)}</h3>", table_html(_read_table(samplesheet), 500)]
    if params:
        rows = [(k, json.dumps(v) if not isinstance(v, str) else v) for k, v in sorted(params.items())]
        parts += ["<h3>parameters</h3>", table_html(pd.DataFrame(rows, columns=["parameter", "value"]), 500)]
    return parts


def _versions_parts(versions: Mapping[str, Mapping[str, str]]) -> list[str]:
    if not versions:
        return []
    by_tool: dict[tuple[str, str], list[str]] = {}
    for process, tools in versions.items():
        for tool, ver in tools.items():
            by_tool.setdefault((tool, ver), []).append(process.split(":")[-1])
    rows = [(tool, ver, ", ".join(sorted(set(procs)))) for (tool, ver), procs in sorted(by_tool.items())]
    return [table_html(pd.DataFrame(rows, columns=["tool", "version", "processes"]), 500)]


# ---------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------


def render_report(
    files: Mapping[str, Path],
    samplesheet: Path | None = None,
    params: Mapping[str, Any] | None = None,
    versions: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """The report's HTML text.

    ``files`` maps each output's path below ``--outdir`` (e.g.
    ``evaluate/plots/scatter.png``) to a local copy. PNG/SVG/JPEG images are
    embedded, TSV/CSV files become tables (``train/metrics.csv`` becomes
    training curves), other files are ignored. Files outside the known
    sections are logged and left out.
    """
    sections = {sid: Section(sid, title) for sid, title in SECTIONS}
    sections["summary"].parts += _summary_parts(files)
    sections["inputs"].parts += _inputs_parts(samplesheet, params)
    sections["versions"].parts += _versions_parts(versions or {})
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)  # the training-curves PNG, embedded and then discarded
        for rel in sorted(files, key=lambda r: (r != TOP_VARIANTS, PurePosixPath(r).suffix.lower() in IMAGE_TYPES, r)):
            sid = section_of(rel)
            if sid is None:
                log.warning("left out of the report: %s (not below prepare/, train/, evaluate/ or variants/)", rel)
                continue
            sections[sid].parts += _file_parts(rel, files[rel], scratch)
    if sections["variants"].parts and "variants/group_stats.tsv" not in files:
        note = f'<p class="not-run">group comparison {NOT_RUN} (no variants/group_stats.tsv)</p>'
        sections["variants"].parts.insert(3 if TOP_VARIANTS in files else 0, note)
    nav = "".join(f'<a href="#{sid}">{html.escape(title)}</a>' for sid, title in SECTIONS)
    body = "\n".join(sections[sid].render() for sid, _ in SECTIONS)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>stagevep report</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<header><h1>stagevep report</h1><p>stagevep {html.escape(__version__)}</p></header>\n"
        f"<nav>{nav}</nav>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def write_report(
    output: str | Path,
    files: Mapping[str, Path],
    samplesheet: str | Path | None = None,
    params_json: str | Path | None = None,
    versions_files: Sequence[str | Path] = (),
    nextflow_version: str | None = None,
) -> Path:
    """Write ``report.html`` (atomically: a temporary file renamed into place). Returns its path.

    ``params_json`` is the resolved parameters as a JSON object;
    ``versions_files`` are the tasks' ``versions.yml``; ``nextflow_version``
    is listed with them (process ``Workflow``).
    """
    for label, path in (("samplesheet", samplesheet), ("parameters file", params_json)):
        if path is not None and not Path(path).is_file():
            raise InputError(f"{label} not found: {path}")
    params = json.loads(Path(params_json).read_text()) if params_json is not None else None
    versions = read_versions([Path(p) for p in versions_files])
    if nextflow_version:
        versions["Workflow"] = {"Nextflow": nextflow_version, "stagevep": __version__}
    text = render_report(
        files,
        samplesheet=Path(samplesheet) if samplesheet is not None else None,
        params=params,
        versions=versions,
    )
    out = Path(output)
    with atomic_path(out) as tmp:  # created with the umask's permissions, unlike mkstemp's 0600
        tmp.write_text(text, encoding="utf-8")
    log.info("wrote %s (%d KiB)", out, out.stat().st_size // 1024)
    return out
