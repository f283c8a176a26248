"""``KEY=VALUE`` command-line assignments (``--bigwig STAGE=FILE``, ``--file REL=PATH``) as an ordered dict."""

from __future__ import annotations

from collections.abc import Sequence

from stagevep.errors import InputError


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
