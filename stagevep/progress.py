"""Progress bars that stay readable in batch logs (Nextflow ``.command.err``, SLURM output)."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


def progress(*args: Any, **kwargs: Any) -> tqdm:
    """``tqdm`` that refreshes at most every 30 s when stderr is not a terminal (2 s when it is)."""
    kwargs.setdefault("mininterval", 2 if sys.stderr.isatty() else 30)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(*args, **kwargs)
