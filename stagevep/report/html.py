"""HTML pieces of the report: its style sheet, sections, tables, embedded images and heatmap colours."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

NOT_RUN = "not run"
IMAGE_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
TABLE_SUFFIXES = (".tsv", ".csv")
MAX_TABLE_ROWS = 50

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


def cell(value: Any) -> str:
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
    rows = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in shown.itertuples(index=False))
    note = f'<p class="note">first {max_rows} of {len(frame)} rows</p>' if len(frame) > max_rows else ""
    return f'<div class="table"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>{note}'


def image_html(path: Path, caption: str) -> str:
    """A ``<figure>`` with the image embedded as a base64 data URI."""
    mime = IMAGE_TYPES[path.suffix.lower()]
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img src="data:{mime};base64,{data}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def heat(value: float, scale: float) -> str:
    """Background colour of a signed effect: blue for a loss, red for a gain, white for none."""
    if pd.isna(value) or scale <= 0:
        return "#ffffff"
    t = min(1.0, abs(float(value)) / scale)
    fade = round(255 * (1 - 0.75 * t))
    return f"rgb({fade},{fade},255)" if value < 0 else f"rgb(255,{fade},{fade})"


def read_table(path: Path) -> pd.DataFrame:
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    return pd.read_csv(path, sep=sep, keep_default_na=False, na_values=["NA", "nan", "NaN", ""])
