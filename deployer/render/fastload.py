"""Parse many similar manifests fast by parsing their shared YAML skeleton once.

Why: checking 1,000 rendered manifests with PyYAML costs 2 ms each on the reference machine,
about 2 s in all, most of it building Python objects node by node. Manifests rendered from one
template differ almost only in their double-quoted values (every value goes through
``yaml_str``). :class:`PodLoader` replaces each single-line double-quoted scalar with a
placeholder, parses that *skeleton* once with PyYAML, and then only decodes the quoted values
of each manifest into a copy of the skeleton's structure.

Why it is exact: a placeholder stands where PyYAML's scanner itself started a double-quoted
scalar (checked against the skeleton's node positions), and replacing one double-quoted scalar
by another never changes how the rest of the text is tokenized. Each value is decoded with
YAML's escape rules and rejected when PyYAML would reject or fold it. Anything else (no match,
a skeleton with aliases, tags, several documents, an odd escape) falls back to
:func:`deployer.render.parse.load_pod`, so results and errors are those of PyYAML.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from itertools import accumulate

import yaml

from deployer.render.parse import load_pod

__all__ = ["PodLoader"]

#: One-line double-quoted scalars as ``yaml_str`` writes them (no raw line break of any kind).
_QUOTED = re.compile('"[^"\\\\\n\r\x85\u2028\u2029]*(?:\\\\.[^"\\\\\n\r\x85\u2028\u2029]*)*"')
_QUOTED_SPLIT = re.compile(f"({_QUOTED.pattern})")
_SENTINEL = "\ue000"
_PLACEHOLDER = '"\\ue000"'
#: Characters PyYAML refuses anywhere in a stream (its Reader.NON_PRINTABLE).
_NON_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", re.DOTALL)
_SIMPLE_ESCAPES = {
    "0": "\0",
    "a": "\x07",
    "b": "\x08",
    "t": "\t",
    "\t": "\t",
    "n": "\n",
    "v": "\x0b",
    "f": "\x0c",
    "r": "\r",
    "e": "\x1b",
    " ": " ",
    '"': '"',
    "/": "/",
    "\\": "\\",
    "N": "\x85",
    "_": "\xa0",
    "L": "\u2028",
    "P": "\u2029",
}
_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"

#: Rebuilds one value of the pod from the manifest's decoded quoted values.
_Builder = Callable[[list[str]], object]


class _NotExact(Exception):
    """The fast path cannot promise PyYAML's result; use PyYAML."""


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    if len(code) > 1:
        return chr(int(code[1:], 16))
    if code not in _SIMPLE_ESCAPES:
        raise _NotExact(code)
    return _SIMPLE_ESCAPES[code]


def _decode(quoted: str) -> str:
    inner = quoted[1:-1]
    if inner.isascii() and inner.isprintable() and "\\" not in inner:
        return inner
    if _NON_PRINTABLE.search(inner):
        raise _NotExact("non-printable")
    if "\\" not in inner:
        return inner
    return _ESCAPE.sub(_unescape, inner)


class _SkeletonCompiler:
    """Turns the skeleton's node tree into one Python expression, refusing anything not exact.

    The expression is a nested dict/list display in which a quoted value is ``v[i]`` and any
    other scalar is ``c[i]``: only indexes come from the manifest, never its text. Evaluating a
    display runs at C speed, many times faster than walking a tree of nodes per manifest.
    """

    def __init__(self, slots: dict[int, int]) -> None:
        #: Skeleton offset of each placeholder -> index of the quoted value it stands for.
        self.slots = slots
        self.used: set[int] = set()
        self.seen: set[int] = set()
        self.constants: list[object] = []
        self.scalars = yaml.SafeLoader("")

    def compile(self, node: yaml.Node) -> str:
        if id(node) in self.seen:  # an alias: the same node twice
            raise _NotExact("alias")
        self.seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ_TAG:
            return "[" + "".join(self.compile(child) + "," for child in node.value) + "]"
        if isinstance(node, yaml.MappingNode) and node.tag == _MAP_TAG:
            pairs: list[str] = []
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                    raise _NotExact("complex or merge key")
                pairs.append(f"{self.compile(key)}:{self.compile(value)},")
            return "{" + "".join(pairs) + "}"
        raise _NotExact(f"node {node.tag}")

    def _scalar(self, node: yaml.ScalarNode) -> str:
        if node.value == _SENTINEL:
            index = self.slots.get(node.start_mark.index)
            if index is None or node.style != '"' or node.tag != _STR_TAG:
                raise _NotExact("placeholder lookalike")
            self.used.add(index)
            return f"v[{index}]"
        value = self.scalars.construct_object(node, deep=True)
        if isinstance(value, list | dict | set):
            raise _NotExact("mutable scalar")
        self.constants.append(value)
        return f"c[{len(self.constants) - 1}]"

    def builder(self, expression: str) -> _Builder:
        """Compile ``expression`` into a function of the manifest's decoded quoted values."""
        code = compile(f"lambda v, c: {expression}", "<manifest skeleton>", "eval")
        function = eval(code, {"__builtins__": {}})  # noqa: S307  (indexes only, see class doc)
        constants = tuple(self.constants)
        return lambda values: function(values, constants)


class PodLoader:
    r"""Parses manifests like :func:`~deployer.render.parse.load_pod`, faster for similar ones.

    Keeps one compiled skeleton per distinct manifest shape (bounded); create one per run or
    per batch, never share it at module level.

    >>> loader = PodLoader()
    >>> loader.load(b'kind: "Pod"\nspec: {}\n')
    {'kind': 'Pod', 'spec': {}}
    """

    def __init__(self, max_skeletons: int = 256) -> None:
        self._max_skeletons = max_skeletons
        self._skeletons: dict[tuple[str, tuple[int, ...]], _Builder | None] = {}

    @property
    def cached_shapes(self) -> int:
        """How many manifest shapes this loader can now read without PyYAML."""
        return sum(1 for builder in self._skeletons.values() if builder is not None)

    def load(self, content: bytes | str) -> dict[str, object]:
        """Return the pod mapping of ``content``.

        Raises:
            ManifestError: exactly as :func:`~deployer.render.parse.load_pod`.
        """
        try:
            pod = self._fast(content)
        except _NotExact:
            pod = None
        return pod if pod is not None else load_pod(content)

    def _fast(self, content: bytes | str) -> dict[str, object] | None:
        if isinstance(content, bytes):
            if content.startswith(b"\xef\xbb\xbf"):
                return None
            try:
                text = content.decode("utf-8")
            except UnicodeDecodeError:
                return None
        else:
            text = content
        # [plain, quoted, plain, quoted, ..., plain]: one C call splits the whole manifest.
        parts = _QUOTED_SPLIT.split(text)
        plain, quoted = parts[0::2], parts[1::2]
        skeleton = _PLACEHOLDER.join(plain)
        # Where each placeholder lands in the skeleton: part of the cache key, so that a
        # skeleton is only ever reused with the placeholder positions it was verified with.
        step = len(_PLACEHOLDER)
        offsets = tuple(
            map(operator.add, accumulate(map(len, plain[:-1])), range(0, step * len(quoted), step))
        )
        builder = self._skeleton(skeleton, offsets)
        if builder is None:
            return None
        joined = "".join(quoted)
        if joined.isascii() and joined.isprintable() and "\\" not in joined:
            values = [q[1:-1] for q in quoted]  # the common case: nothing to unescape
        else:
            try:
                values = [_decode(q) for q in quoted]
            except ValueError as exc:  # chr() of an escape beyond U+10FFFF
                raise _NotExact(str(exc)) from exc
        pod = builder(values)
        return pod if isinstance(pod, dict) else None

    def _skeleton(self, skeleton: str, offsets: tuple[int, ...]) -> _Builder | None:
        key = (skeleton, offsets)
        if key in self._skeletons:
            return self._skeletons[key]
        builder = self._compile(skeleton, offsets)
        if len(self._skeletons) < self._max_skeletons:
            self._skeletons[key] = builder
        return builder

    @staticmethod
    def _compile(skeleton: str, offsets: tuple[int, ...]) -> _Builder | None:
        try:
            # Pure-Python loader on purpose: its marks count characters, like the offsets.
            nodes = list(yaml.compose_all(skeleton, Loader=yaml.SafeLoader))
        except yaml.YAMLError:
            return None
        if len(nodes) != 1 or not isinstance(nodes[0], yaml.MappingNode):
            return None
        compiler = _SkeletonCompiler({offset: i for i, offset in enumerate(offsets)})
        try:
            expression = compiler.compile(nodes[0])
        except (_NotExact, yaml.YAMLError, ValueError):
            return None
        # Every placeholder must have become exactly one value of the pod.
        if compiler.used != set(range(len(offsets))):
            return None
        return compiler.builder(expression)
