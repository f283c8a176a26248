"""One self-contained HTML page summarising a run (``report/report.html``).

The report knows the run's outputs only by their path below ``--outdir``
(``train/metrics.csv``, ``evaluate/plots/x.png``, ...): every file handed to it
lands in the section its path names, so figures and tables added by new
processes appear without changes here. Images are embedded as base64 data
URIs; there is no external CSS or JavaScript. A section without outputs says
"not run" (``-stub`` and partial runs exist).
"""

from __future__ import annotations

import html
import json
import logging
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from stagevep import __version__
from stagevep.errors import InputError
from stagevep.io.files import atomic_path
from stagevep.report.html import CSS, IMAGE_TYPES, NOT_RUN, Section
from stagevep.report.inputs import read_versions
from stagevep.report.outputs import TOP_VARIANTS, file_parts
from stagevep.report.summary import inputs_parts, summary_parts, versions_parts

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
    sections["summary"].parts += summary_parts(files)
    sections["inputs"].parts += inputs_parts(samplesheet, params)
    sections["versions"].parts += versions_parts(versions or {})
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)  # the training-curves PNG, embedded and then discarded
        for rel in sorted(files, key=lambda r: (r != TOP_VARIANTS, PurePosixPath(r).suffix.lower() in IMAGE_TYPES, r)):
            sid = section_of(rel)
            if sid is None:
                log.warning("left out of the report: %s (not below prepare/, train/, evaluate/ or variants/)", rel)
                continue
            sections[sid].parts += file_parts(rel, files[rel], scratch)
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
