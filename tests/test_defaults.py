"""One source for every default: nextflow_schema.json, nextflow.config's params block and the bin/ scripts agree.

The schema is the source. Every parameter's default in nextflow.config equals the schema's (a parameter without a
schema default is ``null`` in the config). Every parameter that conf/modules.config passes to a bin/ option
(``task.ext.args``) has that same default as the option's argparse default, so a script run by hand behaves as the
pipeline does: ``"--opt ${params.name}"`` compares values; ``params.name ? '--flag' : ''`` needs a ``store_true``
flag and a false default; ``params.name ? '' : '--no-flag'`` a ``store_false`` flag and a true default. An option
passed only when its parameter is set (``params.name != null ? ...``) has no default in the schema, and the
script's own default (None) is what the pipeline gets. An option passed only when *another* parameter says so
(``params.save_tracks ? '' : "--track-top-n ${params.plot_top_n}"``) keeps its own default: when the guard is off
the pipeline runs the script with that default, which is then not the parameter's.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((REPO / "nextflow_schema.json").read_text())
NEXTFLOW_CONFIG = (REPO / "nextflow.config").read_text()
MODULES_CONFIG = (REPO / "conf" / "modules.config").read_text()

NO_DEFAULT = object()  # a schema property without "default"


def schema_defaults() -> dict[str, object]:
    """``{param: default}`` from nextflow_schema.json; NO_DEFAULT where the schema gives none."""
    return {name: spec.get("default", NO_DEFAULT)
            for group in SCHEMA["$defs"].values() for name, spec in group["properties"].items()}


def groovy_value(text: str) -> object:
    """The Python value of a Groovy literal in the params block: null, true/false, a number or a quoted string."""
    text = re.sub(r"\s*//.*$", "", text).strip()
    if text == "null":
        return None
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?(\d+\.\d*|\.\d+|\d+)([eE]-?\d+)?", text):
        return float(text)
    quoted = re.fullmatch(r"'([^']*)'|\"([^\"]*)\"", text)
    if quoted is None:
        raise ValueError(f"not a literal in nextflow.config's params block: {text}")
    return quoted.group(1) if quoted.group(1) is not None else quoted.group(2)


def config_defaults() -> dict[str, object]:
    """``{param: default}`` from the ``params { ... }`` block of nextflow.config."""
    block = NEXTFLOW_CONFIG[NEXTFLOW_CONFIG.index("params {"):]
    block = block[:block.index("\n}")]
    return {name: groovy_value(value) for name, value in re.findall(r"^\s+(\w+)\s*=\s*(.+)$", block, re.MULTILINE)}


def process_scripts() -> dict[str, str]:
    """``{PROCESS: bin script}`` from modules/local/*/main.nf (the one bin/*.py each module runs for its work)."""
    scripts: dict[str, str] = {}
    bin_names = {path.name for path in (REPO / "bin").glob("*.py")}
    for module in sorted((REPO / "modules" / "local").glob("*/main.nf")):
        text = module.read_text()
        name = re.search(r"^process\s+(\w+)", text, re.MULTILINE).group(1)
        # software_versions.py beside the module's own script writes versions.yml
        used = sorted(set(re.findall(r"\b(\w+\.py)\b", text)) & bin_names - {"software_versions.py"})
        if len(used) > 1:
            raise ValueError(f"{module} runs several bin/ scripts: {used}")
        if used:
            scripts[name] = used[0]
    return scripts


@dataclass(frozen=True)
class Passing:
    """How conf/modules.config passes one parameter to one option of a process's script."""

    process: str
    param: str
    option: str
    kind: str  # "value", "value_if_set", "value_if_other", "store_true" or "store_false"


def ext_args_blocks() -> dict[str, str]:
    """``{PROCESS: text of its ext.args closure}`` from conf/modules.config."""
    blocks: dict[str, str] = {}
    for match in re.finditer(r"withName:\s*'(\w+)'\s*\{", MODULES_CONFIG):
        body = MODULES_CONFIG[match.end():]
        args = re.match(r"(?:(?!withName:).)*?\bext\.args\s*=\s*\{", body, re.DOTALL)
        if args is None:
            continue
        rest, depth = body[args.end():], 1
        for i, char in enumerate(rest):
            depth += {"{": 1, "}": -1}.get(char, 0)
            if depth == 0:
                blocks[match.group(1)] = rest[:i]
                break
    return blocks


def passings() -> list[Passing]:
    """Every (process, param, option) that conf/modules.config's ext.args pass, with how they are passed."""
    found: list[Passing] = []
    for process, block in ext_args_blocks().items():
        for name, flag in re.findall(r"params\.(\w+)\s*\?\s*'(--[\w-]+)'\s*:\s*''", block):
            found.append(Passing(process, name, flag, "store_true"))
        for name, flag in re.findall(r"params\.(\w+)\s*\?\s*''\s*:\s*'(--[\w-]+)'", block):
            found.append(Passing(process, name, flag, "store_false"))
        for match in re.finditer(r"(--[\w-]+)\s+'?\$\{params\.(\w+)(?:\s*\?:\s*'')?\}", block):
            option, name = match.groups()
            # the text before the double-quoted string the option is in: "cond ? " guards the whole string
            before = block[:block.rfind('"', 0, match.start())]
            guard = re.search(r"params\.(\w+)(\s*!=\s*null|\.toString\(\)[^\"']*)?\s*\?\s*(''\s*:\s*)?$", before)
            kind = "value" if guard is None else "value_if_set" if guard.group(1) == name else "value_if_other"
            found.append(Passing(process, name, option, kind))
    # passed through a module input rather than ext.args (workflows/stagevep.nf hands 'none' on as it is)
    found.append(Passing("TRAIN_MODEL", "pretrained_weights", "--pretrained", "value"))
    return found


@cache
def script_options(script: str) -> dict[str, argparse.Action]:
    """``{option string: argparse action}`` of bin/``script``'s parser, built without running the script."""
    spec = importlib.util.spec_from_file_location(f"bin_{Path(script).stem}", REPO / "bin" / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    parser: argparse.ArgumentParser = module.build_parser()
    return {option: action for action in parser._actions for option in action.option_strings}


def same(a: object, b: object) -> bool:
    """Equal values of equal kind (booleans are not numbers here; 8 and 8.0 are the same number)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


SCHEMA_DEFAULTS = schema_defaults()
CONFIG_DEFAULTS = config_defaults()
PASSINGS = passings()
SCRIPTS = process_scripts()

# Disagreements kept on purpose, each with its reason (none today: add one only with the reason it must stay).
UNRESOLVED: dict[tuple[str, str], str] = {}


def test_the_extraction_finds_known_passings():
    # the parsing itself works: a few passings that are known to exist are found, with the right kind
    assert Passing("SCORE_VARIANTS", "central_bins", "--central-bins", "value_if_set") in PASSINGS
    assert Passing("TRAIN_MODEL", "dropout", "--no-dropout", "store_false") in PASSINGS
    assert Passing("EVALUATE_MODEL", "rc_average", "--rc-average", "store_true") in PASSINGS
    assert Passing("MAKE_WINDOWS", "n_bins", "--n-bins", "value") in PASSINGS
    assert Passing("TRAIN_MODEL", "seed", "--seed", "value") in PASSINGS
    assert Passing("SCORE_BACKGROUND", "seed", "--seed", "value") in PASSINGS
    assert Passing("DISCOVER_MOTIFS", "motif_database", "--database", "value_if_set") in PASSINGS
    assert Passing("SCORE_VARIANTS", "plot_top_n", "--track-top-n", "value_if_other") in PASSINGS
    assert Passing("PLOT_VARIANTS", "plot_top_n", "--top-n", "value") in PASSINGS
    assert SCRIPTS["TRAIN_MODEL"] == "train.py" and SCRIPTS["SCORE_VARIANTS"] == "score_variants.py"
    assert len(PASSINGS) >= 50


def test_groovy_value():
    assert groovy_value("null     // comment") is None
    assert groovy_value("true") is True and groovy_value("0.0001") == 0.0001 and groovy_value("896") == 896
    assert groovy_value("'chr2,chr10'") == "chr2,chr10" and groovy_value("''") == ""


def test_config_and_schema_declare_the_same_parameters():
    assert set(CONFIG_DEFAULTS) == set(SCHEMA_DEFAULTS)


@pytest.mark.parametrize("name", sorted(SCHEMA_DEFAULTS))
def test_config_default_is_the_schema_default(name):
    schema, config = SCHEMA_DEFAULTS[name], CONFIG_DEFAULTS[name]
    if schema is NO_DEFAULT:
        assert config is None, f"--{name}: no default in nextflow_schema.json, {config!r} in nextflow.config"
    else:
        assert same(config, schema), f"--{name}: {schema!r} in nextflow_schema.json, {config!r} in nextflow.config"


def test_every_passed_parameter_is_a_pipeline_parameter():
    assert {p.param for p in PASSINGS} <= set(SCHEMA_DEFAULTS)
    assert {p.process for p in PASSINGS} <= set(SCRIPTS), "every process with ext.args runs a bin/ script"


@pytest.mark.parametrize("passing", PASSINGS, ids=lambda p: f"{p.process}:{p.param}:{p.option}")
def test_script_default_is_the_schema_default(passing, request):
    if (passing.process, passing.param) in UNRESOLVED:
        request.applymarker(pytest.mark.xfail(reason=UNRESOLVED[passing.process, passing.param], strict=True))
    script = SCRIPTS[passing.process]
    options = script_options(script)
    assert passing.option in options, f"{script} has no option {passing.option} (conf/modules.config passes it)"
    action = options[passing.option]
    schema = SCHEMA_DEFAULTS[passing.param]
    where = f"--{passing.param} → {script} {passing.option}"
    if passing.kind == "store_true":
        assert isinstance(action, argparse._StoreTrueAction), f"{where}: not a store_true flag"
        assert schema is False, f"{where}: a flag that turns something on needs the default false"
    elif passing.kind == "store_false":
        assert isinstance(action, argparse._StoreFalseAction), f"{where}: not a store_false flag"
        assert schema is True, f"{where}: a flag that turns something off needs the default true"
    elif passing.kind == "value_if_other":
        assert passing.option in options  # the script's own default applies when the guard is off
    elif passing.kind == "value_if_set":
        assert schema is NO_DEFAULT, f"{where}: passed only when set, so the schema gives no default"
        assert action.default is None, f"{where}: unset, the script's default {action.default!r} applies"
    else:
        assert schema is not NO_DEFAULT, f"{where}: always passed, so the schema needs a default"
        assert same(action.default, schema), f"{where}: {schema!r} in the schema, {action.default!r} in {script}"
