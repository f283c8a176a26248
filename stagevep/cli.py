"""Shared plumbing for the thin ``bin/`` scripts: logging set-up and error exit."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from stagevep import __version__
from stagevep.errors import InputError

EXIT_INPUT_ERROR = 2


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
    try:
        main(args)
    except InputError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    return 0
