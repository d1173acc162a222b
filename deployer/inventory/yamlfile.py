"""Read YAML (and JSON) files while remembering the line of every mapping key.

Why a loader of our own: ``inventory show --explain`` and every error message must name the
file *and line* a variable came from, and PyYAML's plain loaders throw the node marks away. We
keep PyYAML's C parser (libyaml, when available) and only replace the mapping constructor, so
a 1,000-host inventory still loads in a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path

import yaml

from deployer.errors import InputProblem
from deployer.inventory.vault import UnsafeText, VaultValue
from deployer.inventory.yamllimits import (
    YamlLimitError,
    check_expanded_size,
    check_text_size,
    limit_problem,
)

__all__ = ["LineMap", "YamlResult", "load_yaml_file", "load_yaml_text"]

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LineMap(dict[str, object]):
    """A mapping read from YAML that also knows the 1-based line of each key.

    Keys are always ``str`` (inventory names and variable names are text; a YAML ``1:`` key
    becomes ``"1"``), so lookups never depend on how a key happened to be typed.
    """

    __slots__ = ("line", "lines", "typed_keys")

    def __init__(self, line: int | None = None) -> None:
        super().__init__()
        #: Line of the mapping itself (its first key), when known.
        self.line = line
        #: Key -> 1-based line of that key.
        self.lines: dict[str, int] = {}
        #: Keys that YAML read as something else than text (``1:`` a number), -> what it was.
        #: Ansible refuses such a key as a host name (its yaml plugin's ``_parse_host``).
        self.typed_keys: dict[str, str] = {}


class YamlResult:
    """A parsed document plus the problems found while reading it."""

    __slots__ = ("data", "problems")

    def __init__(self, data: object, problems: list[InputProblem]) -> None:
        #: The document (``LineMap`` for mappings), or None when empty or unreadable.
        self.data = data
        #: Syntax errors (fatal) and duplicate keys (warnings).
        self.problems = problems


class _LineLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """Safe loader whose mappings are :class:`LineMap` and which reports duplicate keys."""

    def __init__(self, stream: str, file: str) -> None:
        super().__init__(stream)
        self.file = file
        self.duplicates: list[InputProblem] = []


def _key_kind(key: object) -> str | None:
    if isinstance(key, bool):
        return "boolean"
    if isinstance(key, int | float):
        return "number"
    if key is None:
        return "null"
    return None if isinstance(key, str) else type(key).__name__


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineMap:
    explicit = sum(1 for key_node, _ in node.value if key_node.tag != _MERGE)
    loader.flatten_mapping(node)  # honour YAML merge keys (<<: *defaults)
    # flatten_mapping puts the merged pairs first: an explicit key after them overrides one
    # of them, as YAML's merge key is meant to; only two explicit keys are a duplicate.
    first_explicit = len(node.value) - explicit
    result = LineMap(node.start_mark.line + 1)
    explicit_keys: set[str] = set()
    for index, (key_node, value_node) in enumerate(node.value):
        # Fast path for plain strings (most keys and values): the same result as
        # construct_object without its per-node bookkeeping, which dominates big inventories.
        is_text = key_node.tag == _STR and isinstance(key_node, yaml.ScalarNode)
        key = key_node.value if is_text else loader.construct_object(key_node, deep=True)
        if not isinstance(key, Hashable) or isinstance(key, list | dict):
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                "found an unhashable key (a list or mapping used as a key)",
                key_node.start_mark,
            )
        text = "null" if key is None else str(key)
        kind = _key_kind(key)
        if kind is not None:
            result.typed_keys[text] = kind
        line = key_node.start_mark.line + 1
        is_explicit = index >= first_explicit
        if is_explicit and text in explicit_keys:
            loader.duplicates.append(
                InputProblem(
                    f"duplicate key {text!r} (first at line {result.lines[text]}); "
                    "the last one wins",
                    file=loader.file,
                    line=line,
                    column=key_node.start_mark.column + 1,
                    hint="remove one of them",
                    is_warning=True,
                )
            )
        result[text] = (
            value_node.value
            if value_node.tag == _STR and isinstance(value_node, yaml.ScalarNode)
            else loader.construct_object(value_node, deep=True)
        )
        if is_explicit:
            explicit_keys.add(text)
            result.lines[text] = line
        else:
            result.lines.setdefault(text, line)
    return result


def _construct_vault(loader: _LineLoader, node: yaml.Node) -> VaultValue:
    """``!vault |`` (Ansible Vault): kept encrypted, with its file and line, until needed."""
    if not isinstance(node, yaml.ScalarNode):
        raise yaml.constructor.ConstructorError(
            None, None, "!vault must be a string (the $ANSIBLE_VAULT envelope)", node.start_mark
        )
    return VaultValue(str(node.value), loader.file, node.start_mark.line + 1)


def _construct_unsafe(loader: _LineLoader, node: yaml.Node) -> object:
    """``!unsafe``: the plain string, never templated (lists and mappings as they are)."""
    if isinstance(node, yaml.ScalarNode):
        return UnsafeText(node.value)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return _construct_mapping(loader, node)  # type: ignore[arg-type]


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_LineLoader.add_constructor("!vault", _construct_vault)
_LineLoader.add_constructor("!unsafe", _construct_unsafe)


def _hint_for(problem: str, line_text: str) -> str:
    """Turn PyYAML's wording into advice an operator can act on."""
    lowered = problem.lower()
    if "\t" in line_text or "'\\t'" in lowered:
        return "YAML indentation must use spaces, not tabs"
    if "mapping values are not allowed" in lowered:
        return "a value containing ': ' needs quotes, or a key is indented wrongly"
    if "expected <block end>" in lowered or "did not find expected key" in lowered:
        return "check the indentation of this line against the lines above"
    if "found undefined alias" in lowered:
        return "define the anchor (&name) before using the alias (*name)"
    if "could not find expected ':'" in lowered:
        return "a key is missing its ':' or a multi-line value needs quotes"
    return "check the YAML syntax near this position (indentation, quotes, ':' after keys)"


def _line_at(text: str, mark: yaml.Mark | None) -> str:
    if mark is None:
        return ""
    lines = text.splitlines()
    return lines[mark.line] if 0 <= mark.line < len(lines) else ""


def load_yaml_text(text: str, file: str) -> YamlResult:
    """Parse ``text`` (the content of ``file``) into Python values with key lines.

    Returns a result whose ``problems`` hold a syntax error (with line and column) instead of
    raising, so the caller can collect problems of every file before reporting.
    """
    try:
        check_text_size(len(text))
    except YamlLimitError as exc:
        return YamlResult(None, [limit_problem(exc, file)])
    loader = _LineLoader(text, file)
    try:
        data = loader.get_single_data()
        check_expanded_size(data)
    except YamlLimitError as exc:
        return YamlResult(None, [limit_problem(exc, file)])
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        return YamlResult(
            None,
            [
                InputProblem(
                    f"YAML syntax error: {message}",
                    file=file,
                    line=mark.line + 1 if mark else None,
                    column=mark.column + 1 if mark else None,
                    hint=_hint_for(exc.problem or "", _line_at(text, mark)),
                )
            ],
        )
    except yaml.YAMLError as exc:  # reader errors (bad characters) carry no mark
        return YamlResult(None, [InputProblem(f"YAML error: {exc}", file=file)])
    except RecursionError:
        return YamlResult(
            None, [InputProblem("YAML nesting too deep (recursive alias?)", file=file)]
        )
    finally:
        loader.dispose()
    return YamlResult(data, loader.duplicates)


def load_yaml_file(path: Path, shown: str | None = None) -> YamlResult:
    """Read and parse the YAML or JSON file at ``path`` (named ``shown`` in messages)."""
    name = shown or str(path)
    try:
        check_text_size(path.stat().st_size)  # refused before reading it into memory
        text = path.read_text(encoding="utf-8")
    except YamlLimitError as exc:
        return YamlResult(None, [limit_problem(exc, name)])
    except UnicodeDecodeError as exc:
        return YamlResult(None, [InputProblem(f"not UTF-8 text: {exc.reason}", file=name)])
    except OSError as exc:
        return YamlResult(None, [InputProblem(f"cannot read: {exc.strerror or exc}", file=name)])
    return load_yaml_text(text, name)
