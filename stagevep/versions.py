"""Software versions of a task, for ``versions.yml`` and ``pipeline_info/``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version

PACKAGES = ("stagevep", "numpy", "pandas", "scipy", "scikit-learn", "h5py", "pyBigWig", "pybedtools", "pyfaidx",
            "torch", "enformer-pytorch", "matplotlib")


def torch_runtime() -> list[str]:
    """YAML lines for the CUDA and cuDNN that torch was built with, and the GPU it sees (if any)."""
    try:
        import torch  # imported here: the versions of the other packages must not wait for it
    except ImportError:
        return []
    lines = [f"  torch_cuda: {torch.version.cuda or 'none (CPU build)'}"]
    if torch.backends.cudnn.is_available():
        lines.append(f"  cudnn: {torch.backends.cudnn.version()}")
    if torch.cuda.is_available():
        lines.append(f"  gpu: \"{torch.cuda.get_device_name(0)}\"")
    return lines


def software_versions(process: str) -> str:
    """YAML text ``process: {tool: version}`` for Python, the key packages, torch's CUDA and bedtools."""
    lines = [f'"{process}":', f"  python: {sys.version.split()[0]}"]
    for pkg in PACKAGES:
        try:
            lines.append(f"  {pkg}: {version(pkg)}")
        except PackageNotFoundError:
            lines.append(f"  {pkg}: not installed")
    lines += torch_runtime()
    bedtools = shutil.which("bedtools")
    if bedtools:
        out = subprocess.run([bedtools, "--version"], capture_output=True, text=True, check=False).stdout
        lines.append(f"  bedtools: {out.strip().removeprefix('bedtools v') or 'unknown'}")
    return "\n".join(lines) + "\n"
