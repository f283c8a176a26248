"""docs/usage.md names every parameter; docs/output.md names every published file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
USAGE = (REPO / "docs" / "usage.md").read_text()
OUTPUT = (REPO / "docs" / "output.md").read_text()
SCHEMA = json.loads((REPO / "nextflow_schema.json").read_text())
MODULES_CONFIG = (REPO / "conf" / "modules.config").read_text()
NEXTFLOW_CONFIG = (REPO / "nextflow.config").read_text()


def schema_parameters() -> list[str]:
    return [name for group in SCHEMA["$defs"].values() for name in group["properties"]]


def config_parameters() -> set[str]:
    block = NEXTFLOW_CONFIG[NEXTFLOW_CONFIG.index("params {"):]
    block = block[:block.index("\n}")]
    return set(re.findall(r"^\s+(\w+)\s*=", block, re.MULTILINE))


def module_outputs() -> dict[str, list[str]]:
    """``{PROCESS: [output path patterns]}`` from the ``output:`` blocks of modules/local/*/main.nf."""
    outputs: dict[str, list[str]] = {}
    for module in sorted((REPO / "modules" / "local").glob("*/main.nf")):
        text = module.read_text()
        name = re.search(r"^process\s+(\w+)", text, re.MULTILINE).group(1)
        block = re.search(r"^\s*output:\s*\n(.*?)^\s*(?:when|script|shell|exec|stub):", text, re.MULTILINE | re.DOTALL)
        paths = re.findall(r"""\bpath\s*\(?\s*(['"])(.+?)\1""", block.group(1)) if block else []
        outputs[name] = [p for _, p in paths if p != "versions.yml"]
    return outputs


def publish_dirs() -> dict[str, str | None]:
    """``{PROCESS: folder below --outdir}`` from conf/modules.config; None = not published; '' = the default."""
    dirs: dict[str, str | None] = {}
    for match in re.finditer(r"withName:\s*'(\w+)'\s*\{(.*?)\n    \}", MODULES_CONFIG, re.DOTALL):
        name, body = match.groups()
        if "publishDir" not in body:
            continue
        if re.search(r"publishDir\s*=\s*\[\s*enabled:\s*false", body):
            dirs[name] = None
            continue
        folder = re.search(r'path:\s*\{\s*"\$\{params\.outdir\}/?([^"]*)"', body)
        dirs[name] = folder.group(1).strip("/") if folder else ""
    return dirs


def published_patterns() -> list[str]:
    """Path patterns below --outdir of every published file (module outputs and pipeline_info)."""
    dirs = publish_dirs()
    patterns = []
    for process, paths in module_outputs().items():
        folder = dirs.get(process, "")
        if folder is None:
            continue
        patterns += [f"{folder}/{p}" if folder else p for p in paths]
    for kind in ("timeline", "report", "trace", "dag"):
        block = NEXTFLOW_CONFIG[NEXTFLOW_CONFIG.index(f"\n{kind} {{"):]
        file_name = re.search(r'file\s*=\s*"\$\{pipeline_info\}/([^"]+)"', block).group(1)
        patterns.append(f"pipeline_info/{file_name}")
    return patterns + ["pipeline_info/params_*.json", "pipeline_info/software_versions.yml"]


PLACEHOLDER = re.compile(r"\$\{[^}]*\}|\*|<[^>]*>|\{[^}]*\}")


def documented(pattern: str, doc: str) -> bool:
    """Whether ``doc`` names ``pattern``: in full, or below a ``## <first folder>/`` heading.

    Placeholders on both sides (``${prefix}``, ``*``, ``<stage>``, ``{png,pdf}``) match any name.
    """
    def regex(text: str) -> str:
        pieces = PLACEHOLDER.split(text)
        return r"[^\s`|]*".join(re.escape(p) for p in pieces)

    def normalise(text: str) -> str:
        return PLACEHOLDER.sub("*", text)

    text = normalise(doc)
    target = normalise(pattern)
    if re.search(regex(target), text):
        return True
    first, _, rest = target.partition("/")
    sections = re.split(r"^## ", text, flags=re.MULTILINE)
    return any(sec.startswith(f"{first}/") and re.search(regex(rest), sec) for sec in sections if rest)


def test_published_patterns_are_found():
    patterns = published_patterns()
    # the extraction itself works: known outputs are there, unpublished ones are not
    assert "train/best.pt" in patterns and "report/report.html" in patterns
    assert any(p.startswith("prepare/averaged/") for p in patterns)
    assert "preflight.ok" not in patterns and not any(p.endswith("versions.yml") and "pipeline_info" not in p
                                                      for p in patterns)


@pytest.mark.parametrize("pattern", published_patterns())
def test_every_published_file_is_in_output_md(pattern):
    assert documented(pattern, OUTPUT), f"docs/output.md does not describe the published file {pattern}"


def test_documented_helper_rejects_an_undocumented_file():
    assert not documented("train/secret_weights.pt", OUTPUT)
    assert documented("prepare/averaged/${prefix}.mean.bw", "## prepare/\n| `averaged/<stage>.mean.bw` | mean |")


@pytest.mark.parametrize("name", schema_parameters())
def test_every_parameter_is_in_usage_md(name):
    assert re.search(rf"`--{name}`", USAGE), f"docs/usage.md does not describe --{name}"


def test_schema_and_config_declare_the_same_parameters():
    assert set(schema_parameters()) == config_parameters()


@pytest.mark.parametrize("name", schema_parameters())
def test_every_parameter_has_help(name):
    spec = next(g["properties"][name] for g in SCHEMA["$defs"].values() if name in g["properties"])
    assert spec.get("description"), f"--{name} has no description in nextflow_schema.json"
    assert spec.get("help_text"), f"--{name} has no help_text in nextflow_schema.json"
    assert spec.get("type") in {"string", "integer", "number", "boolean"}, f"--{name}: type {spec.get('type')}"


def test_usage_md_describes_every_samplesheet_column():
    schema = json.loads((REPO / "assets" / "schema_input.json").read_text())
    columns = schema["items"]["required"]
    assert columns == ["stage", "replicate", "bigwig", "peaks"], "the DESIGN.md contract: stage,replicate,bigwig,peaks"
    for column in schema["items"]["properties"]:
        assert f"| `{column}` |" in USAGE, f"docs/usage.md's samplesheet table lacks {column}"


def parameter_rows(doc: str) -> list[str]:
    """Names of the parameters of every ``| `--name` | ... |`` table row of ``doc``, in order (repeats kept)."""
    return re.findall(r"^\|\s*`--(\w+)`\s*\|", doc, re.MULTILINE)


def test_usage_md_lists_each_parameter_once():
    rows = parameter_rows(USAGE)
    assert set(schema_parameters()) <= set(rows), "every parameter has a row in the parameter tables"
    repeated = sorted({name for name in rows if rows.count(name) > 1})
    assert not repeated, f"docs/usage.md lists these parameters more than once: {repeated}"


def test_parameter_rows_counts_repeats():
    doc = "| `--a` | 1 | x |\n| `--b` | 2 | y |\n| `--a` | 3 | z |\ntext `--a` here\n"
    assert parameter_rows(doc) == ["a", "b", "a"]


def test_troubleshooting_md_is_linked():
    readme = (REPO / "README.md").read_text()
    assert "docs/troubleshooting.md" in readme and "troubleshooting.md" in USAGE
