"""The import-linter layers contract in pyproject.toml catches upward imports and imports between siblings.

``make lint`` runs ``lint-imports`` on the real tree; these tests run it on a copy of the package with one
forbidden import added, so a contract that checked nothing would fail here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def lint_imports() -> str:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(exe).exists():
        pytest.fail("lint-imports is not installed: run `make venv` (import-linter from PyPI)", pytrace=False)
    return exe


def lint_copy(tmp_path: Path, module: str, line: str) -> subprocess.CompletedProcess:
    """``lint-imports`` with the project's contract on a copy of ``stagevep`` whose ``module`` gains ``line``."""
    shutil.copytree(REPO / "stagevep", tmp_path / "stagevep", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    path = tmp_path / "stagevep" / module
    path.write_text(path.read_text() + f"\n{line}\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([lint_imports(), "--config", str(tmp_path / "pyproject.toml"), "--no-cache"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, check=False)


@pytest.mark.parametrize(("module", "line", "expected"), [
    ("core/metrics.py", "import stagevep.evaluate.run", "stagevep.core is not allowed to import stagevep.evaluate"),
    ("errors.py", "from stagevep.io import files", "stagevep.errors is not allowed to import stagevep.io"),
    ("plots/evaluate.py", "from stagevep.data import qc", "stagevep.plots is not allowed to import stagevep.data"),
    ("train/loop.py", "import stagevep.evaluate.run", "stagevep.train is not allowed to import stagevep.evaluate"),
])
def test_the_layers_contract_fails_on_a_forbidden_import(tmp_path, module, line, expected):
    result = lint_copy(tmp_path, module, line)
    assert result.returncode != 0, result.stdout
    assert expected in result.stdout, result.stdout


def test_architecture_md_draws_the_layers_of_the_contract():
    """docs/architecture.md's diagram lists the contract's layers, top to bottom, and README links it."""
    import tomllib

    layers = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"][0]["layers"]
    expected = [[name.strip().removeprefix("stagevep.") for name in layer.split("|")] for layer in layers]
    doc = (REPO / "docs" / "architecture.md").read_text()
    diagram = doc.split("```")[1]
    drawn = [[name.strip() for name in line.split("  ")[0].strip().split("|")]
             for line in diagram.splitlines() if line.strip() and not line.strip().startswith("─")
             and not line.startswith(" " * 10)]
    assert drawn == expected
    assert "docs/architecture.md" in (REPO / "README.md").read_text()
