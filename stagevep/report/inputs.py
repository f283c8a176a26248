"""The report's inputs from the command line: ``REL=PATH`` file arguments and the tasks' ``versions.yml``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml

from stagevep.core.assignments import parse_assignments
from stagevep.errors import InputError


def parse_file_args(items: Iterable[str]) -> dict[str, Path]:
    """``REL=PATH`` strings (``--file``) -> ``{REL: Path(PATH)}``."""
    pairs = parse_assignments(list(items), "--file", "RELATIVE_PATH=LOCAL_PATH")
    return {rel: Path(local) for rel, local in pairs.items()}


def read_versions(paths: Sequence[Path]) -> dict[str, dict[str, str]]:
    """Merge ``versions.yml`` files into ``{process: {tool: version}}``."""
    merged: dict[str, dict[str, str]] = {}
    for path in paths:
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except yaml.YAMLError as err:
            raise InputError(f"{path} is not valid YAML ({err}); it should be a task's versions.yml") from err
        if not isinstance(data, dict):
            raise InputError(f"{path}: expected a mapping 'process: {{tool: version}}'")
        for process, tools in data.items():
            merged.setdefault(str(process), {}).update({str(k): str(v) for k, v in (tools or {}).items()})
    return merged
