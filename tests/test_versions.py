"""versions.yml of a task: Python packages, torch's CUDA build and bedtools."""

import shutil
import subprocess
from importlib.metadata import version

import torch
import yaml

from stagevep.versions import software_versions


def test_versions_yml_parses_and_names_torch_cuda_and_bedtools():
    data = yaml.safe_load(software_versions("STAGEVEP:TRAIN_MODEL"))
    tools = data["STAGEVEP:TRAIN_MODEL"]
    assert str(tools["torch"]) == version("torch")
    assert str(tools["torch_cuda"]) == (torch.version.cuda or "none (CPU build)")
    assert ("gpu" in tools) == torch.cuda.is_available()
    bedtools = shutil.which("bedtools")
    assert bedtools, "bedtools is not on PATH: run `make setup`"
    out = subprocess.run([bedtools, "--version"], capture_output=True, text=True, check=True).stdout
    assert str(tools["bedtools"]) in out
