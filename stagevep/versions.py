"""Software versions of a task, for ``versions.yml`` and ``pipeline_info/``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version

PACKAGES = ("stagevep", "numpy", "pandas", "scipy", "scikit-learn", "h5py", "pyBigWig", "pybedtools", "pyfaidx",
            "torch", "enformer-pytorch", "matplotlib")


def software_versions(process: str) -> str:
    """YAML text ``process: {tool: version}`` for Python, the key packages and bedtools."""
    lines = [f'"{process}":', f"  python: {sys.version.split()[0]}"]
    for pkg in PACKAGES:
        try:
            lines.append(f"  {pkg}: {version(pkg)}")
        except PackageNotFoundError:
            lines.append(f"  {pkg}: not installed")
    bedtools = shutil.which("bedtools")
    if bedtools:
        out = subprocess.run([bedtools, "--version"], capture_output=True, text=True, check=False).stdout
        lines.append(f"  bedtools: {out.strip().removeprefix('bedtools v') or 'unknown'}")
    return "\n".join(lines) + "\n"
