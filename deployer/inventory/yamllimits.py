"""Bounds on one YAML/JSON inventory file: its size, and its size once aliases are expanded.

Why: PyYAML builds an aliased node once and shares it, but everything after the parse (the
merge, ``inventory show``, reports) walks values as trees, so a 456-byte "billion laughs"
file (nine anchors, each listing the previous one nine times) stands for 10^9 strings:
gigabytes and minutes before any error. The expanded size is counted here once per distinct
node (linear in the file), and a file over a bound is refused at once, naming the file.

The bounds are far above any control-plane inventory (the 1,000-host benchmark is ~100 KB and
~10,000 values) and far below what hurts.
"""

from __future__ import annotations

from deployer.errors import InputProblem

__all__ = [
    "LIMITS_HINT",
    "MAX_BYTES",
    "MAX_VALUES",
    "YamlLimitError",
    "check_expanded_size",
    "check_text_size",
    "limit_problem",
]

#: Largest inventory or vars file read (bytes).
MAX_BYTES = 4 * 1024 * 1024
#: Most values (keys, list items and scalars, aliases expanded) one file may stand for.
MAX_VALUES = 200_000
LIMITS_HINT = (
    "a control-plane inventory is far smaller: split it into group_vars/ and host_vars/ "
    "files, or remove the YAML aliases that repeat large blocks"
)


class YamlLimitError(ValueError):
    """A file is over a bound; the message says which and by how much."""


def check_text_size(size: int) -> None:
    """Refuse a file of ``size`` bytes (or characters) over :data:`MAX_BYTES` before parsing.

    Raises:
        YamlLimitError: the file is too large.
    """
    if size > MAX_BYTES:
        raise YamlLimitError(
            f"file too large for an inventory: {size:,} bytes (at most {MAX_BYTES:,})"
        )


def check_expanded_size(data: object) -> None:
    """Refuse a document that stands for more than :data:`MAX_VALUES` values or holds a loop.

    Shared (aliased) lists and mappings are counted once per use, as a tree walk would meet
    them, but each distinct one is visited once, so the check itself stays linear.

    Raises:
        YamlLimitError: too many values once aliases are expanded, or a recursive alias.
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(value: object) -> int:
        if not isinstance(value, dict | list):
            return 1
        key = id(value)
        known = sizes.get(key)
        if known is not None:
            return known
        if key in active:
            raise YamlLimitError("a YAML alias refers to its own anchor (a recursive value)")
        active.add(key)
        items = value.values() if isinstance(value, dict) else value
        total = 1 + len(value) if isinstance(value, dict) else 1
        for item in items:
            total += size(item)
            if total > MAX_VALUES:
                raise YamlLimitError(
                    f"the file stands for more than {MAX_VALUES:,} values once its YAML "
                    'aliases are expanded (a "billion laughs" file?)'
                )
        active.discard(key)
        sizes[key] = total
        return total

    size(data)


def limit_problem(exc: YamlLimitError, file: str) -> InputProblem:
    """The one-screen problem for a file over a bound."""
    return InputProblem(str(exc), file=file, hint=LIMITS_HINT)
