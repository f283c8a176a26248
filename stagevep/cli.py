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


def parse_assignments(items: Sequence[str], option: str, form: str) -> dict[str, str]:
    """``['A=x', 'B=y']`` -> ``{'A': 'x', 'B': 'y'}`` in the given order.

    ``option`` (e.g. ``--bigwig``) and ``form`` (e.g. ``STAGE=FILE``) name the
    command-line option in the :class:`InputError` raised for a malformed item
    or a key given twice.
    """
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise InputError(f"{option} expects {form}, got {item!r}")
        if key in out:
            raise InputError(f"{key} is given twice in {option}")
        out[key] = value
    return out
