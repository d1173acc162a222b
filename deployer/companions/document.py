"""A decoded companion document as the validators read it, and the version context they run in.

Why a wrapper: after decoding, every field is either absent, null or of the right JSON type, so
validators can read it the way Go code reads a struct (``rule.Level``, zero value when absent)
instead of repeating ``isinstance`` checks. Secret values (:class:`~deployer.model.host.Secret`)
stay wrapped in :meth:`Node.raw` so an error that quotes a value prints the mask; only
:meth:`Node.text` unwraps them, for checks that need the text (a key's base64 length).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from deployer.companions.facts import gate_default, message, minor_key, since
from deployer.companions.fielderrors import FieldPath
from deployer.model.host import Secret

__all__ = ["Context", "Node", "line_of"]


@dataclass(frozen=True, slots=True)
class Node:
    """One JSON object of a decoded document."""

    data: Mapping[str, object]

    @classmethod
    def of(cls, value: object) -> Node:
        """Wrap ``value`` when it is a mapping, else an empty node (Go's zero struct)."""
        return cls(value if isinstance(value, Mapping) else {})

    def has(self, key: str) -> bool:
        """Return True when ``key`` is present and not null (a non-nil Go pointer)."""
        return self.data.get(key) is not None

    def raw(self, key: str) -> object:
        """Return the value as written (secrets stay :class:`Secret`)."""
        return self.data.get(key)

    def text(self, key: str) -> str:
        """Return the string value, ``""`` when absent; secrets are unwrapped."""
        value = self.data.get(key)
        if isinstance(value, Secret):
            return value.value
        return "" if value is None else str(value)

    def flag(self, key: str) -> bool:
        """Return the boolean value, False when absent."""
        return self.data.get(key) is True

    def node(self, key: str) -> Node:
        """Return the child object (empty when absent)."""
        return Node.of(self.data.get(key))

    def nodes(self, key: str) -> list[Node]:
        """Return the list of child objects (empty when absent)."""
        value = self.data.get(key)
        return [Node.of(v) for v in value] if isinstance(value, list | tuple) else []

    def strs(self, key: str) -> list[str]:
        """Return the list of strings (empty when absent)."""
        value = self.data.get(key)
        if not isinstance(value, list | tuple):
            return []
        return [v.value if isinstance(v, Secret) else str(v) for v in value]

    def count(self, key: str) -> int:
        """Return the length of a list field (0 when absent)."""
        value = self.data.get(key)
        return len(value) if isinstance(value, list | tuple) else 0


@dataclass(frozen=True, slots=True)
class Context:
    """The kube-apiserver version a document is checked for, and its feature gates."""

    minor: str
    #: Gate values set with ``--feature-gates``; others take the minor's default.
    gates: Mapping[str, bool] = field(default_factory=lambda: MappingProxyType({}))

    def gate(self, name: str) -> bool:
        """Return the effective value of gate ``name``."""
        if name in self.gates:
            return self.gates[name]
        return gate_default(name, self.minor)

    def at_least(self, minor: str) -> bool:
        """Return True when the context's minor is ``minor`` or later."""
        return minor_key(self.minor) >= minor_key(minor)

    def since(self, change: str) -> bool:
        """Return True when the versioned check ``change`` exists in this minor."""
        return since(change, self.minor)

    def message(self, key: str) -> str:
        """Return the minor's text for a message that changed between minors."""
        return message(key, self.minor)

    @property
    def json_values(self) -> bool:
        """Whether bad values print as JSON (1.34+) or as Go's ``%#v``."""
        return since("field_value_json", self.minor)


def line_of(document: object, path: FieldPath) -> int | None:
    """Return the 1-based line of the field at ``path``, when the document knows its lines.

    Documents parsed by :func:`deployer.inventory.yamlfile.load_yaml_text` are made of mappings
    that carry ``lines`` (key -> line) and ``line`` (their first key); a plain ``dict`` has
    neither and gives None. The deepest known line on the way is returned, so a missing field
    points at its parent.
    """
    found: int | None = None
    value = document
    for part in path.parts:
        if isinstance(part, int):
            value = value[part] if isinstance(value, list | tuple) and part < len(value) else None
            line = getattr(value, "line", None)
        elif isinstance(value, Mapping):
            line = getattr(value, "lines", {}).get(part)
            value = value.get(part)
        else:
            break
        if isinstance(line, int):
            found = line
    return found
