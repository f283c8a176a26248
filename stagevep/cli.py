"""Shared plumbing for the thin ``bin/`` scripts: logging set-up and error exit."""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import sys
from collections.abc import Callable, Sequence

from stagevep import __version__
from stagevep.errors import InputError

EXIT_INPUT_ERROR = 2
#: glibc's mallopt parameters and the values :func:`keep_freed_memory` sets
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 << 20  # glibc's largest allowed value on 64-bit
TRIM_THRESHOLD = 1 << 30

log = logging.getLogger(__name__)


def keep_freed_memory() -> bool:
    """Let glibc reuse freed tensor memory instead of returning it to the OS and faulting it in again.

    PyTorch on the CPU allocates every intermediate tensor with malloc. By default glibc
    serves large blocks (above a threshold that starts at 128 kB) with fresh ``mmap`` calls
    and gives freed memory back to the OS, so each new activation pays page faults and
    zeroing: that made enformer-pytorch's GELU 5x slower than its arithmetic
    (docs/benchmarks.md). This sets the mmap threshold to 32 MB (glibc's maximum) and the
    trim threshold to 1 GiB for this process. The peak memory use is unchanged; memory
    freed below the peak stays with the process until it exits.

    Does nothing when ``GLIBC_TUNABLES`` already sets malloc options (the user's choice
    wins) and returns False where the C library has no ``mallopt`` (musl, macOS).
    """
    if "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        log.debug("no glibc: malloc thresholds left as they are")
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def run_cli(
    build_parser: Callable[[], argparse.ArgumentParser],
    main: Callable[[argparse.Namespace], None],
    argv: Sequence[str] | None = None,
) -> int:
    """Parse ``argv``, configure logging, call ``main`` and map errors to exit codes.

    An :class:`InputError` is printed as ``ERROR: <message>`` and gives exit
    status 2; other exceptions propagate with their traceback.
    """
    parser = build_parser()
    parser.add_argument("--version", action="version", version=f"stagevep {__version__}")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    keep_freed_memory()
    try:
        main(args)
    except InputError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    return 0
