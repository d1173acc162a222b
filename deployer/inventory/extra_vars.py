"""Turn ``-e`` arguments into the highest-precedence variable layers.

Accepted forms, one per ``-e`` (later ones win):

* ``KEY=VALUE``: the value is read as a YAML scalar (``60`` is a number, ``true`` a boolean,
  ``null`` removes a flag); an empty value is the empty string;
* ``apiserver_flags.FLAG=VALUE`` (and ``apiserver_extra_env.NAME=VALUE``): one single flag;
* ``@FILE``: a YAML or JSON file holding a mapping of variables;
* ``{...}``: an inline YAML/JSON mapping, as Ansible accepts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from deployer.errors import InputProblem
from deployer.inventory.draft import MERGED_BY_KEY, Layer, layer_from
from deployer.inventory.yamlfile import LineMap, load_yaml_file, load_yaml_text

__all__ = ["COMMAND_LINE", "extra_var_layers"]

#: The ``file`` of origins that come from the command line.
COMMAND_LINE = "<command line>"
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HINT = "use -e KEY=VALUE, -e apiserver_flags.FLAG=VALUE, -e @vars.yml or -e '{\"KEY\": VALUE}'"


def _scalar(text: str) -> object:
    if text == "":
        return ""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _mapping_layer(data: object, file: str, problems: list[InputProblem]) -> Layer | None:
    if data is None:
        return None
    if not isinstance(data, Mapping):
        problems.append(
            InputProblem(
                f"extra vars must be a mapping of variable: value, got {type(data).__name__}",
                file=file,
                hint=_HINT,
            )
        )
        return None
    return layer_from(data, level="extra", file=file, problems=problems)


def _one(arg: str, problems: list[InputProblem]) -> Layer | None:
    text = arg.strip()
    if text.startswith("@"):
        path = Path(text[1:]).expanduser()
        if not path.is_file():
            problems.append(
                InputProblem(f"extra vars file not found: {text[1:]}", file=COMMAND_LINE)
            )
            return None
        result = load_yaml_file(path, text[1:])
        problems.extend(result.problems)
        return _mapping_layer(result.data, text[1:], problems)
    if text.startswith("{"):
        result = load_yaml_text(text, COMMAND_LINE)
        problems.extend(result.problems)
        return _mapping_layer(result.data, COMMAND_LINE, problems) if not result.problems else None
    key, sep, raw = text.partition("=")
    key = key.strip()
    var, dot, sub = key.partition(".")
    if not sep or not _KEY.match(var) or (dot and (var not in MERGED_BY_KEY or not sub)):
        problems.append(
            InputProblem(f"cannot read extra vars {arg!r}", file=COMMAND_LINE, hint=_HINT)
        )
        return None
    value = _scalar(raw)
    data = LineMap()
    data[var] = {sub: value} if dot else value
    return layer_from(data, level="extra", file=COMMAND_LINE, problems=problems)


def extra_var_layers(args: Sequence[str]) -> tuple[list[Layer], list[InputProblem]]:
    """Read every ``-e`` argument; return the layers (in order) and every problem found."""
    layers: list[Layer] = []
    problems: list[InputProblem] = []
    for arg in args:
        layer = _one(arg, problems)
        if layer is not None:
            layers.append(layer)
    return layers, problems
