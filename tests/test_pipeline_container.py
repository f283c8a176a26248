"""The pipeline inside the container image: ``-profile podman,test`` end to end, and the image itself.

The image ``stagevep:<version>`` is built (or brought up to date) with ``make container`` (podman/buildah).
One full run inside it is checked with the same content tests as the bare run (imported from test_pipeline, so the
two cannot drift apart), plus that every task ran in the image. The image tests check its labels and installed
versions against pyproject.toml / containers/constraints.txt, that it works as the calling user, and that nothing
of the build host (CA bundle, its environment) is left in it.

Needs podman, buildah and mmdebstrap (``make container-tools``); on hosts like the CI machines podman needs the
settings in containers/ (used here when CONTAINERS_CONF / CONTAINERS_STORAGE_CONF are unset and we are root).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import test_containers as containers_checks
import test_pipeline
from packaging.utils import canonicalize_name
from packaging.version import Version
from test_pipeline import (  # noqa: F401  (the bare run's content tests, run here on the in-container run)
    test_averaged_bigwigs_are_replicate_means,
    test_checkpoint,
    test_evaluation_metrics,
    test_fasta_index_is_staged_not_rebuilt,
    test_full_run_completed_every_process,
    test_group_stats_and_plots,
    test_pipeline_info,
    test_prepare_qc_outputs,
    test_report_embeds_every_published_figure,
    test_targets_h5,
    test_union_peaks_equal_bedtools_merge,
    test_variant_scores,
    test_windows_geometry_and_split,
)

pytestmark = [pytest.mark.pipeline, pytest.mark.container]

REPO = Path(__file__).resolve().parents[1]
VERSION = containers_checks.project_version()
IMAGE = f"stagevep:{VERSION}"
BUILD_TIMEOUT = 3600
# twice the bare run's limit: on a host shared with other work (cgroup v1) a container's tasks form one
# scheduling group and get a smaller CPU share than bare processes competing with them
FULL_RUN_TIMEOUT = 2 * test_pipeline.FULL_RUN_TIMEOUT


def podman_env() -> dict[str, str]:
    """The environment for podman and for Nextflow's podman tasks: containers/*.conf unless already set (root)."""
    env = test_pipeline.nextflow_env()
    if os.geteuid() == 0:
        env.setdefault("CONTAINERS_CONF", str(REPO / "containers" / "containers.conf"))
        env.setdefault("CONTAINERS_STORAGE_CONF", str(REPO / "containers" / "storage.conf"))
    return env


def podman(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], env=podman_env(), capture_output=True, text=True, timeout=timeout,
                          check=False)


def in_image(*command: str, user: str | None = None) -> subprocess.CompletedProcess:
    """``podman run --rm [-u user] IMAGE command...``."""
    return podman("run", "--rm", *(["-u", user] if user else []), IMAGE, *command)


@pytest.fixture(scope="module")
def image() -> str:
    """``stagevep:<version>`` built from this tree by ``make container`` with podman: built when absent, and
    brought up to date when present (cached layers: seconds when nothing changed, the last layer only after a code
    change; the first build pip-installs torch, several minutes). A stale image would test old code: the tasks
    run the image's package and bin/ (its /opt/stagevep/bin precedes the repository's bin/ that Nextflow appends
    to the PATH)."""
    for tool in ("podman", "buildah"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed: run `make container-tools`", pytrace=False)
    env = dict(podman_env(), CONTAINER_ENGINE="podman")
    proc = subprocess.run(["make", "container"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=BUILD_TIMEOUT, check=False)
    assert proc.returncode == 0, f"make container failed (exit {proc.returncode}):\n{proc.stdout[-6000:]}"
    assert podman("image", "exists", IMAGE).returncode == 0, f"{IMAGE} is not in podman's storage after the build"
    return IMAGE


@pytest.fixture(scope="module")
def full_run(image, tmp_path_factory) -> Path:
    """Launch directory of one complete ``-profile podman,test`` run (results in ``<dir>/results``)."""
    launch = tmp_path_factory.mktemp("nf_podman")
    proc = test_pipeline.run_nextflow(launch, profile="podman,test", env=podman_env(),
                                      timeout=FULL_RUN_TIMEOUT)
    assert proc.returncode == 0, "the -profile podman,test run failed\n" + test_pipeline.describe(proc, launch)
    return launch


@pytest.fixture(scope="module")
def outdir(full_run: Path) -> Path:
    return full_run / "results"


def test_every_task_ran_in_the_image(full_run, outdir):
    trace = test_pipeline.read_trace(test_pipeline.trace_files(outdir)[0])
    assert len(trace) > 0
    assert (trace["container"] == IMAGE).all(), trace[["name", "container"]].to_string()
    dirs = test_pipeline.task_dirs(full_run)
    task_dirs = {d for top in dirs for d in top.iterdir() if (d / ".command.run").exists()}
    assert len(task_dirs) == len(trace), f"{len(task_dirs)} task directories for {len(trace)} trace rows"
    for task in task_dirs:
        run = (task / ".command.run").read_text()
        launch = [line for line in run.splitlines() if "podman run" in line]
        assert launch and IMAGE in launch[0], f"{task}/.command.run does not launch the task with podman in {IMAGE}"


def test_bin_tools_run_in_the_image(image):
    proc = in_image("score_variants.py", "--help")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "usage:" in proc.stdout and "--variants" in proc.stdout, proc.stdout
    proc = in_image("bedtools", "--version")
    assert proc.returncode == 0 and proc.stdout.startswith("bedtools v"), proc.stdout + proc.stderr


def test_image_labels_and_installed_versions_agree_with_pyproject(image):
    proc = podman("image", "inspect", image)
    assert proc.returncode == 0, proc.stderr
    labels = json.loads(proc.stdout)[0]["Labels"]
    assert labels["org.opencontainers.image.version"] == VERSION
    assert labels["org.opencontainers.image.licenses"] == containers_checks.pyproject()["project"]["license"]["text"]
    assert labels["org.opencontainers.image.title"] == "stagevep"
    assert labels.get("org.opencontainers.image.source"), labels
    # every pin of containers/constraints.txt is what the image's venv holds, and the package is this version
    proc = in_image("python", "-c", "import importlib.metadata as m, json; "
                                    "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))")
    assert proc.returncode == 0, proc.stderr
    installed = {canonicalize_name(k): v for k, v in json.loads(proc.stdout).items()}
    assert installed.get("stagevep") == VERSION
    for name, version in containers_checks.pins().items():
        assert name in installed, f"{name} (constraints.txt) is not installed in {image}"
        assert Version(installed[name]) == version, f"{name}: {installed[name]} in the image"


def test_image_works_as_the_calling_user_and_as_root(image):
    # nf-core's docker profile runs tasks as -u $(id -u):$(id -g): an id with no passwd entry must be able to
    # write HOME, the matplotlib config and the caches
    script = (
        "import os, pathlib, tempfile; import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt; "
        "import stagevep, torch; "
        "home = pathlib.Path.home(); (home / '.cache' / 'probe').mkdir(parents=True, exist_ok=True); "
        "plt.figure(); plt.savefig(os.path.join(tempfile.gettempdir(), 'probe.png')); "
        "print(os.getuid(), home, matplotlib.get_configdir())"
    )
    for user, uid in (("4321:4321", "4321"), (None, "0")):
        proc = in_image("python", "-c", script, user=user)
        assert proc.returncode == 0, f"user {user or 'root'}:\n{proc.stdout}{proc.stderr}"
        assert proc.stdout.split()[0] == uid, proc.stdout


def test_no_build_host_secrets_or_environment_in_the_image(image):
    proc = in_image("bash", "-c", "env")
    assert proc.returncode == 0, proc.stderr
    env = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    leaked = {k for k in env if k in {"REQUESTS_CA_BUNDLE", "PIP_CERT", "SSL_CERT_FILE", "CURL_CA_BUNDLE",
                                      "PIP_FIND_LINKS", "NODE_EXTRA_CA_CERTS"}}
    assert not leaked, f"build-host variables in {image}: {sorted(leaked)}"
    # the CA bundle was a build secret, the pip cache a cache mount: neither may be in a layer
    for folder in ("/run/secrets", "/usr/local/share/ca-certificates", "/root/.cache", f"{env['HOME']}/.cache"):
        proc = in_image("bash", "-c", f"find {folder} -mindepth 1 2>/dev/null | head -5")
        assert proc.stdout.strip() == "", f"{folder} in {image} holds files:\n{proc.stdout}"
    # nor this host's own CA certificates (the ones an intercepting proxy needs), in any certificate file
    local_cas = sorted(Path("/usr/local/share/ca-certificates").glob("**/*.crt"))
    needles = [line for ca in local_cas for line in ca.read_text().splitlines()[1:3] if len(line) >= 60]
    if needles:
        grep = "grep -rlF --include=*.crt --include=*.pem " + " ".join(f"-e '{n}'" for n in needles)
        proc = in_image("bash", "-c", f"{grep} /etc /usr /opt /root /home 2>/dev/null | head -5")
        assert proc.stdout.strip() == "", f"this host's CA certificates are in {image}:\n{proc.stdout}"
