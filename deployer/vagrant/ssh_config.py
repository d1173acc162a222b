"""Parse what ``vagrant ssh-config`` prints: OpenSSH client configuration, one Host block per VM.

Why a parser of our own (STYLE.md otherwise lets Fabric read ``~/.ssh/config``): the output
never touches ``~/.ssh/config``, and we need its values as data (host, port, user, keys) to
write an Ansible-compatible inventory. The rules are OpenSSH's ``ssh_config(5)`` as far as
Vagrant's template can produce them: keywords are case-insensitive, a keyword and its
arguments are separated by whitespace or one ``=``, arguments may be double- or single-quoted
with backslash escapes (OpenSSH's ``argv_split``), ``#`` starts a comment line, and keywords
such as ``IdentityFile`` may repeat (every value is kept, in order).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from deployer.errors import InputError, InputProblem

__all__ = ["SshConfigEntry", "parse_ssh_config", "split_config_line"]

#: Keywords whose every occurrence counts; for the others, the first value wins (as in ssh).
_REPEATABLE = frozenset({"identityfile", "certificatefile", "localforward", "remoteforward"})
#: Keywords whose value is the rest of the line as Vagrant wrote it (see :func:`_literal_value`).
_LITERAL_KEYWORDS = frozenset({"identityfile", "proxycommand"})
#: The keyword, then whitespace or one "=" with optional whitespace around it.
_KEYWORD_RE = re.compile(r"(?P<keyword>[^\s=]+)(?:\s*=\s*|\s+)(?P<rest>.*)$")


def _empty_options() -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class SshConfigEntry:
    """One ``Host`` block: how to reach one VM."""

    #: The Host pattern, which Vagrant sets to the machine name (``cp1``).
    name: str
    #: ``HostName``: the address ssh connects to (``127.0.0.1`` for a forwarded port).
    hostname: str
    port: int
    user: str
    #: ``IdentityFile`` values in the order printed (ssh tries them in that order).
    identity_files: tuple[str, ...]
    #: Every keyword seen (lower-case) -> its values joined per occurrence, for the rest
    #: (``proxycommand``, ``stricthostkeychecking`` ...).
    options: Mapping[str, tuple[str, ...]] = field(default_factory=_empty_options)

    def option(self, keyword: str) -> str | None:
        """Return the first value of ``keyword`` (any case), or None when it was not set."""
        values = self.options.get(keyword.lower())
        return values[0] if values else None


def split_config_line(line: str) -> list[str]:
    """Split one configuration line into its keyword and argument words.

    Mirrors OpenSSH: the keyword ends at whitespace or at one ``=`` (``Port=2222``,
    ``Port = 2222``); the arguments follow ``argv_split``: ``"..."`` and ``'...'`` group words,
    a backslash escapes a quote or a backslash (and a space outside quotes), any other backslash
    is kept as written.

    >>> split_config_line('IdentityFile "/home/op/my lab/key"')
    ['IdentityFile', '/home/op/my lab/key']
    >>> split_config_line("Port=2222")
    ['Port', '2222']

    Raises:
        ValueError: an unterminated quote.
    """
    match = _KEYWORD_RE.match(line.strip())
    if match is None:
        return [line.strip()] if line.strip() else []
    words = [match["keyword"]]
    rest = match["rest"]
    current: list[str] = []
    has_word = False
    quote: str | None = None
    i = 0
    while i < len(rest):
        char = rest[i]
        if char == "\\" and i + 1 < len(rest):
            following = rest[i + 1]
            if following in "\\\"'" or (quote is None and following == " "):
                current.append(following)
                has_word = True
                i += 2
                continue
        if quote:
            if char == quote:
                quote = None
            else:
                current.append(char)
        elif char in "\"'":
            quote = char
            has_word = True
        elif char.isspace():
            if has_word:
                words.append("".join(current))
                current, has_word = [], False
        else:
            current.append(char)
            has_word = True
        i += 1
    if quote:
        raise ValueError(f"unterminated {quote} quote")
    if has_word:
        words.append("".join(current))
    return words


def _literal_value(line: str) -> str:
    """Return a literal keyword's value the way Vagrant's template wrote it.

    Why not OpenSSH's quoting rules: Vagrant writes ``IdentityFile "<path>"`` when the path has
    a space and ``IdentityFile <path>`` otherwise, and never escapes anything. Undoing exactly
    that keeps a path with quotes or backslashes intact, where ``argv_split`` would mangle it
    (and ssh itself would not find the key). ``ProxyCommand`` is a command line for a shell:
    it stays one string.
    """
    match = _KEYWORD_RE.match(line)
    rest = match["rest"].strip() if match else ""
    if len(rest) >= 2 and rest.startswith('"') and rest.endswith('"'):
        return rest[1:-1]
    return rest


@dataclass(slots=True)
class _Block:
    name: str
    line: int
    options: dict[str, list[str]] = field(default_factory=dict)


def _problem(message: str, source: str, line: int | None, hint: str | None = None) -> InputProblem:
    return InputProblem(message, file=source, line=line, hint=hint)


def _entry(block: _Block, source: str, problems: list[InputProblem]) -> SshConfigEntry | None:
    def first(keyword: str) -> str | None:
        values = block.options.get(keyword)
        return values[0] if values else None

    missing = [k for k in ("hostname", "port", "user") if first(k) is None]
    if "identityfile" not in block.options:
        missing.append("identityfile")
    if missing:
        problems.append(
            _problem(
                f"Host {block.name}: no {', '.join(missing)} in its block",
                source,
                block.line,
                hint="is the VM running? `vagrant ssh-config` prints these for every running VM",
            )
        )
        return None
    port_text = first("port") or ""
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        problems.append(_problem(f"Host {block.name}: bad Port {port_text!r}", source, block.line))
        return None
    return SshConfigEntry(
        name=block.name,
        hostname=first("hostname") or "",
        port=int(port_text),
        user=first("user") or "",
        identity_files=tuple(block.options["identityfile"]),
        options=MappingProxyType({k: tuple(v) for k, v in block.options.items()}),
    )


def parse_ssh_config(
    text: str, *, source: str = "vagrant ssh-config"
) -> tuple[SshConfigEntry, ...]:
    """Parse ``vagrant ssh-config`` output into one entry per Host block, in printed order.

    Args:
        text: the command's standard output.
        source: how to name the text in messages (the command, or a recorded file).

    Raises:
        InputError: no Host block, a line outside any block, a malformed line, a block without
            HostName/Port/User/IdentityFile, or the same Host twice; every problem at once.
    """
    problems: list[InputProblem] = []
    blocks: list[_Block] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _KEYWORD_RE.match(stripped)
        keyword = (match["keyword"] if match else stripped).lower()
        if not blocks and keyword != "host":
            problems.append(
                _problem(
                    f"{stripped!r} comes before any Host line",
                    source,
                    number,
                    hint="this does not look like `vagrant ssh-config` output",
                )
            )
            continue
        if keyword in _LITERAL_KEYWORDS:
            literal = _literal_value(stripped)
            args = [literal] if literal else []
        else:
            try:
                args = split_config_line(stripped)[1:]
            except ValueError as err:
                problems.append(_problem(f"cannot parse {stripped!r}: {err}", source, number))
                continue
        if not args:
            problems.append(_problem(f"{stripped} has no value", source, number))
            continue
        if keyword == "host":
            if len(args) != 1:
                problems.append(
                    _problem(f"Host with {len(args)} patterns; Vagrant prints one", source, number)
                )
                continue
            if any(b.name == args[0] for b in blocks):
                problems.append(_problem(f"Host {args[0]} appears twice", source, number))
                continue
            blocks.append(_Block(args[0], number))
            continue
        if keyword == "match":
            problems.append(_problem("Match blocks are not supported", source, number))
            continue
        values = blocks[-1].options.setdefault(keyword, [])
        if not values or keyword in _REPEATABLE:
            values.append(" ".join(args))
    if not blocks and not problems:
        problems.append(
            _problem(
                "no Host block: no VM to put in the inventory",
                source,
                None,
                hint="bring the lab up first: vagrant up",
            )
        )
    entries = [e for b in blocks if (e := _entry(b, source, problems)) is not None]
    if problems:
        raise InputError(problems)
    return tuple(entries)
