"""The pipeline's own handling of its inputs and of the publish layout.

* The samplesheet is read as CSV (the pipeline's readSamplesheet): quoted fields, a UTF-8 byte order mark and
  CRLF line ends give the same rows as the plain file.
* conf/modules.config alone decides where a file is published: a custom config that moves one process's
  publishDir moves its files, and the report still files them in their section (each report file carries its
  section beside it, not its published path); a custom `ext.prefix` renames a module's output.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from test_pipeline import REPO, TEST_DATA, describe, nextflow_env, run_nextflow

HARNESS = """
include { readSamplesheet } from '{utils}'
workflow {
    params.sheets.tokenize(',').each { sheet ->
        def rows = readSamplesheet(sheet, '{sheet_schema}')
        def plain = rows.collect { meta, bigwig, peaks -> [meta, bigwig.toString(), peaks.toString()] }
        println "SHEET\\t${sheet}\\t${groovy.json.JsonOutput.toJson(plain)}"
    }
}
"""


def read_sheets(sheets: list[Path], root: Path) -> dict[str, list]:
    """``{sheet path: rows}``: readSamplesheet's ``[meta, bigwig, peaks]`` rows of each sheet, in one JVM."""
    exe = shutil.which("nextflow")
    if exe is None:
        pytest.skip("nextflow is not on PATH (make setup installs it)")
    script = root / "read_sheets.nf"
    script.write_text(HARNESS.replace("{utils}", str(REPO / "subworkflows/local/utils_stagevep/main.nf"))
                      .replace("{sheet_schema}", str(REPO / "assets/schema_input.json")))
    proc = subprocess.run([exe, "-q", "run", str(script), "--sheets", ",".join(map(str, sheets))], cwd=root,
                          env={**nextflow_env(), "NXF_OPTS": "-XX:+TieredCompilation -XX:TieredStopAtLevel=1"},
                          capture_output=True, text=True, timeout=300, check=False)
    rows = {}
    for line in proc.stdout.splitlines():
        if line.startswith("SHEET\t"):
            _, sheet, text = line.split("\t", 2)
            rows[sheet] = json.loads(text)
    assert len(rows) == len(sheets), f"readSamplesheet failed\n{proc.stdout}\n{proc.stderr}"
    return rows


def test_quoted_bom_crlf_samplesheet_reads_like_the_plain_one(tmp_path):
    with open(TEST_DATA / "samplesheet.csv", newline="") as fh:
        records = list(csv.reader(fh))
    header, body = records[0], records[1:]
    # the plain sheet, copied beside the data so that both resolve the same relative paths
    plain = TEST_DATA / "samplesheet.csv"
    lines = ['\ufeff"' + '","'.join(header) + '"', "", "# a comment line, then a blank one", ""]
    for stage, replicate, bigwig, peaks in body:
        # every field but the last quoted, spaces around the quotes of one
        lines.append(f'"{stage}", "{replicate}" ,"{bigwig}",{peaks}')
    fancy = tmp_path / "fancy.csv"
    fancy.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    # relative paths resolve against the sheet's own folder: point them at the test data
    for name in ("bigwig", "peaks"):
        (tmp_path / name).symlink_to(TEST_DATA / name)
    got = read_sheets([plain, fancy], tmp_path)
    plain_rows, fancy_rows = got[str(plain)], got[str(fancy)]
    assert len(plain_rows) == len(body)
    assert [r[0] for r in fancy_rows] == [r[0] for r in plain_rows]
    resolve = lambda rows: [[str(Path(p).resolve()) for p in r[1:]] for r in rows]  # noqa: E731
    assert resolve(fancy_rows) == resolve(plain_rows)


def test_a_quoted_field_keeps_its_commas_and_quotes(tmp_path):
    (tmp_path / "a,b.bw").symlink_to(TEST_DATA / "bigwig" / "CS13_rep1.bw")
    (tmp_path / 'say "x".bed').symlink_to(TEST_DATA / "peaks" / "CS13_rep2.bed")
    sheet = tmp_path / "sheet.csv"
    sheet.write_text('stage,replicate,bigwig,peaks\nCS13,rep1,"a,b.bw","say ""x"".bed"\n')
    rows = read_sheets([sheet], tmp_path)[str(sheet)]
    assert [Path(p).name for p in rows[0][1:]] == ["a,b.bw", 'say "x".bed']
    assert rows[0][0] == {"id": "CS13_rep1", "stage": "CS13", "replicate": "rep1"}


@pytest.mark.pipeline
def test_a_moved_publish_dir_moves_the_file_and_keeps_its_report_section(tmp_path):
    custom = tmp_path / "moved.config"
    custom.write_text(
        "process {\n"
        "    withName: 'COMPARE_GROUPS' {\n"
        "        publishDir = [path: { \"${params.outdir}/elsewhere/groups\" }, mode: 'copy',\n"
        "                      saveAs: { fn -> fn.equals('versions.yml') ? null : fn }]\n"
        "    }\n"
        "}\n")
    launch = tmp_path / "launch"
    proc = run_nextflow(launch, "-stub", "-c", str(custom))
    assert proc.returncode == 0, describe(proc, launch)
    out = launch / "results"
    assert (out / "elsewhere" / "groups" / "group_stats.tsv").is_file()
    assert (out / "elsewhere" / "groups" / "plots" / "score_by_group.png").is_file()
    assert not (out / "variants" / "group_stats.tsv").exists()
    # the other processes publish as before
    assert (out / "variants" / "scores.tsv").is_file() and (out / "report" / "report.html").is_file()
    text = (out / "report" / "report.html").read_text()
    variants = text[text.index('<section id="variants">'):text.index('<section id="versions">')]
    assert "<h3>variants/group_stats.tsv</h3>" in variants, variants
    assert "group comparison not run" not in variants, variants
    assert "elsewhere" not in text


@pytest.mark.pipeline
def test_ext_prefix_names_a_module_output(tmp_path):
    """A custom config's ``ext.prefix`` renames the file the module writes, and the run goes on with it."""
    custom = tmp_path / "prefix.config"
    custom.write_text("process {\n    withName: 'UNION_PEAKS' { ext.prefix = 'all_stage_peaks' }\n}\n")
    launch = tmp_path / "launch"
    proc = run_nextflow(launch, "-stub", "-c", str(custom))
    assert proc.returncode == 0, describe(proc, launch)
    out = launch / "results"
    assert (out / "prepare" / "peaks" / "all_stage_peaks.bed").is_file()
    assert not (out / "prepare" / "peaks" / "union_peaks.bed").exists()
    assert (out / "prepare" / "windows" / "windows.bed").is_file()
    assert (out / "report" / "report.html").is_file()
