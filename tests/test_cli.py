"""The bin/ scripts: input errors exit with status 2 and a message, without a traceback."""

import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(__file__).resolve().parents[1] / "bin"


def run(script, *args):
    return subprocess.run([sys.executable, str(BIN / script), *map(str, args)], capture_output=True, text=True)


@pytest.mark.parametrize(
    ("script", "args", "message"),
    [
        ("average_bigwigs.py", ["--inputs", "missing.bw", "--fasta", "g.fa", "--output", "o.bw"],
         "bigWig file not found: missing.bw"),
        ("union_peaks.py", ["--inputs", "missing.bed", "--output", "o.bed"], "peak file not found: missing.bed"),
        ("make_targets.py", ["--windows", "none.bed", "--bigwig", "A=a.bw", "--output", "t.h5"],
         "windows file not found: none.bed"),
        ("evaluate.py", ["--checkpoint", "none.pt", "--targets", "t.h5", "--fasta", "g.fa", "--out-dir", "o"],
         "checkpoint not found: none.pt"),
        ("score_variants.py", ["--checkpoint", "c.pt", "--fasta", "g.fa", "--variants", "none.tsv", "--out", "s.tsv"],
         "variant file not found: none.tsv"),
    ],
)
def test_input_errors_exit_2_with_message(tmp_path, script, args, message):
    res = subprocess.run([sys.executable, str(BIN / script), *args], capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert f"ERROR: {message}" in res.stderr
    assert "Traceback" not in res.stderr


def test_help_and_version():
    res = run("train.py", "--help")
    assert res.returncode == 0 and "--pretrained" in res.stdout
    res = run("make_windows.py", "--version")
    assert res.returncode == 0 and res.stdout.startswith("stagevep ")


def test_software_versions_lists_packages():
    res = run("software_versions.py", "--process", "STAGEVEP:TRAIN_MODEL")
    assert res.returncode == 0
    lines = res.stdout.splitlines()
    assert lines[0] == '"STAGEVEP:TRAIN_MODEL":'
    import torch
    assert f"  torch: {torch.__version__.split('+')[0]}" in [line.split("+")[0] for line in lines]
