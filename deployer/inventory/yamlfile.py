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

__all__ = ["LineMap", "YamlResult", "load_yaml_file", "load_yaml_text"]

_STR = "tag:yaml.org,2002:str"
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LineMap(dict[str, object]):
    """A mapping read from YAML that also knows the 1-based line of each key.

    Keys are always ``str`` (inventory names and variable names are text; a YAML ``1:`` key
    becomes ``"1"``), so lookups never depend on how a key happened to be typed.
    """

    __slots__ = ("line", "lines")

    def __init__(self, line: int | None = None) -> None:
        super().__init__()
        #: Line of the mapping itself (its first key), when known.
        self.line = line
        #: Key -> 1-based line of that key.
        self.lines: dict[str, int] = {}


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


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineMap:
    loader.flatten_mapping(node)  # honour YAML merge keys (<<: *defaults)
    result = LineMap(node.start_mark.line + 1)
    for key_node, value_node in node.value:
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
        line = key_node.start_mark.line + 1
        if text in result:
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
        result.lines[text] = line
    return result


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


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
    loader = _LineLoader(text, file)
    try:
        data = loader.get_single_data()
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
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return YamlResult(None, [InputProblem(f"not UTF-8 text: {exc.reason}", file=name)])
    except OSError as exc:
        return YamlResult(None, [InputProblem(f"cannot read: {exc.strerror or exc}", file=name)])
    return load_yaml_text(text, name)
