"""One round trip that observes everything the planner needs from a host.

Why one command: every SSH exec costs a channel, a session process and a shell start, and a
plan over 30 hosts must stay within twice the cost of merely reading each manifest. The script
is fixed text; the host-specific values travel as positional arguments (never interpolated).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from pathlib import PurePosixPath

from deployer.facts.crictl import (
    ParseError,
    parse_inspect_args,
    parse_inspect_by_id,
    parse_ps,
)
from deployer.model.observation import ContainerInfo, DirEntry, FileFact, HostObservation

__all__ = [
    "DirEntry",
    "FileFact",
    "HostObservation",
    "early_ca",
    "observe_argv",
    "parse_observation",
]

_MARK = "@@deployer:"
_SECTIONS = frozenset(
    {"files", "ca", "manifest", "listing", "ps", "inspect", "inspect-by-id", "kubelet", "end"}
)

# $1 manifest folder, $2 manifest file name, $3 crictl, $4 cluster CA file, $5 the sha256 the
# caller expects of the manifest ("-" for none), $6 the number N of referenced files that
# follow, $7..$(6+N) those files, then the kubelet health check argv.
# Processes: one sha256sum for the manifest and the watched files, stat for the watched files,
# crictl twice, the kubelet check, and base64 of the manifest only when its digest is not the
# expected one (a plan with nothing to change receives no manifest at all); the CA (PEM text)
# is printed by the shell itself, each line behind a ":" (";" for a last line without its
# newline), so no line of it can pass for a marker. The CA comes first, in a write of its own,
# so a reader of the stream can start the /readyz probe while the rest runs; the rest is
# gathered (command substitutions start no more processes than the commands themselves) and
# printed at once: each separate write would be an SSH packet of its own for both ends.
_SCRIPT = r"""
dir=$1; name=$2; crictl=$3; ca=$4; want=$5; nf=$6; shift 6
m=@@deployer
nl='
'
text=$m:ca$nl
if [ ! -f "$ca" ]; then text=$text$m:absent$nl
elif [ ! -r "$ca" ]; then text=$text$m:unreadable$nl
else
  l=; while IFS= read -r l; do text="$text:$l$nl"; done < "$ca"
  [ -z "$l" ] || text="$text;$l$nl"
fi
printf '%s%s:files\n' "$text" "$m"
# POSIX sh has no arrays: "for" walks the original arguments while "set --" appends the kept
# ones after them, and "shift" then drops the originals. The manifest's digest comes first.
mf=; [ -f "$dir/$name" ] && mf=$dir/$name
digest=; out=
watched() {
  n=$1; shift; total=$#; i=0
  for a; do i=$((i + 1)); if [ "$i" -le "$n" ] && [ -f "$a" ]; then set -- "$@" "$a"; fi; done
  shift "$total"
  [ $# -gt 0 ] || [ -n "$mf" ] || return 0
  sums=$(sha256sum -- ${mf:+"$mf"} "$@" 2>/dev/null)
  [ -z "$sums" ] || out=$sums$nl
  # The manifest's digest only if the first line is the manifest's (sha256sum skips what it
  # cannot read, and escapes odd names with a backslash: then no digest, and base64 below).
  first=${sums%%"$nl"*}; d=${first%%  *}
  [ -z "$mf" ] || [ "$first" != "$d  $mf" ] || digest=$d
  [ $# -gt 0 ] || return 0
  times=$(stat -c '%Y %n' -- "$@" 2>/dev/null)
  [ -z "$times" ] || out=$out$times$nl
}
watched "$nf" "$@"
shift "$nf"
out=$out$m:manifest$nl
if [ -z "$mf" ]; then
  out=$out$m:absent$nl
elif [ "$want" != - ] && [ "$digest" = "$want" ]; then
  out=$out"$m:same $digest$nl"
elif b=$(base64 < "$mf"); then
  out=$out$b$nl
else
  out=$out$m:unreadable$nl
fi
out=$out$m:listing$nl
if [ -d "$dir" ]; then
  for f in "$dir"/* "$dir"/.[!.]* "$dir"/..?*; do
    if [ -L "$f" ]; then t=l; elif [ -d "$f" ]; then t=d; elif [ -f "$f" ]; then t=f
    elif [ -p "$f" ]; then t=p; elif [ -S "$f" ]; then t=s; elif [ -c "$f" ]; then t=c
    elif [ -b "$f" ]; then t=b; else continue; fi
    out="$out$t	${f##*/}$nl"
  done
else
  out=$out$m:nodir$nl
fi
ps=$("$crictl" ps -a -o json --name '^kube-apiserver$' 2>&1); rc=$?
out="$out$m:ps$nl${ps:+$ps$nl}$m:rc $rc$nl"
# crictl 1.31+ inspects what its filters select: one call (exit 0 and crictl's help, not JSON,
# when nothing matches). Older ones refuse the filters: then the running container's id, and
# inspect that.
out=$out$m:inspect$nl
if got=$("$crictl" inspect --state running --name '^kube-apiserver$' 2>/dev/null); then
  out="$out${got:+$got$nl}$m:rc 0$nl"
else
  out=$out$m:inspect-by-id$nl
  id=$("$crictl" ps -q --state running --name '^kube-apiserver$' 2>/dev/null | head -n 1)
  if [ -n "$id" ]; then
    got=$("$crictl" inspect "$id" 2>&1); rc=$?
    out="$out${got:+$got$nl}$m:rc $rc$nl"
  else
    out=$out"$m:rc none$nl"
  fi
fi
out=$out$m:kubelet$nl
if [ $# -gt 0 ]; then "$@" >/dev/null 2>&1; out=$out"$m:rc $?$nl"; else out=$out"$m:rc none$nl"; fi
printf '%s' "$out$m:end$nl"
"""


def observe_argv(
    manifest_path: PurePosixPath,
    crictl: str,
    ca_path: PurePosixPath,
    kubelet_check: Sequence[str],
    files: Sequence[PurePosixPath] = (),
    expected: bytes | None = None,
) -> list[str]:
    """Return the argv of the observation command for one host.

    ``expected`` is the manifest the caller would write: when the live one has its digest, the
    script says so instead of sending the bytes (pass the same to :func:`parse_observation`).
    """
    return [
        "sh",
        "-c",
        _SCRIPT,
        "deployer-observe",
        str(manifest_path.parent),
        manifest_path.name,
        crictl,
        str(ca_path),
        hashlib.sha256(expected).hexdigest() if expected is not None else "-",
        str(len(files)),
        *(str(f) for f in files),
        *kubelet_check,
    ]


_DIGEST_LINE = re.compile(r"^(?P<digest>[0-9a-f]{64})  (?P<path>.+)$")
_MTIME_LINE = re.compile(r"^(?P<mtime>[0-9]+) (?P<path>.+)$")


def _files_section(lines: list[str], asked: Sequence[str]) -> tuple[FileFact, ...]:
    """Pair ``sha256sum`` and ``stat`` lines by path; a file they did not list is absent."""
    digests: dict[str, str] = {}
    mtimes: dict[str, int] = {}
    for line in lines:
        if match := _DIGEST_LINE.match(line):
            digests[match["path"]] = match["digest"]
        elif match := _MTIME_LINE.match(line):
            mtimes[match["path"]] = int(match["mtime"])
    return tuple(FileFact(path=p, mtime=mtimes.get(p), sha256=digests.get(p)) for p in asked)


def _manifest_section(lines: list[str], expected: bytes | None) -> bytes | None:
    """The live manifest: absent, the expected bytes (same digest), or its base64."""
    if lines == [_MARK + "absent"]:
        return None
    if _MARK + "unreadable" in lines:
        raise ParseError("the live manifest exists but could not be read")
    if len(lines) == 1 and lines[0].startswith(_MARK + "same "):
        digest = lines[0][len(_MARK) + 5 :]
        if expected is None or hashlib.sha256(expected).hexdigest() != digest:
            raise ParseError("the live manifest's digest was not the one asked about")
        return expected
    try:
        return base64.b64decode("".join(lines), validate=True)
    except binascii.Error as exc:
        raise ParseError(f"the live manifest's base64 is damaged: {exc}") from exc


def _ca_section(lines: list[str]) -> bytes | None:
    """The CA's text: every line behind ``:``, a last line without newline behind ``;``.

    PEM is ASCII, so text is enough; a byte that is not UTF-8 comes back replaced, as in any
    command's output (such a file fails TLS verification either way).
    """
    if lines == [_MARK + "absent"]:
        return None
    if lines == [_MARK + "unreadable"]:
        raise ParseError("the cluster CA exists but could not be read")
    text = []
    for i, line in enumerate(lines):
        if line.startswith(":"):
            text.append(line[1:] + "\n")
        elif line.startswith(";") and i == len(lines) - 1:
            text.append(line[1:])
        else:
            raise ParseError(f"the cluster CA's lines are damaged: {line[:80]!r}")
    return "".join(text).encode()


def _sections(text: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    # Split at "\n" only: a CA line may end in "\r", and str.splitlines() splits at that too.
    lines = text.split("\n")
    if lines and not lines[-1]:
        lines.pop()
    for line in lines:
        if line.startswith(_MARK) and line[len(_MARK) :] in _SECTIONS:
            current = sections.setdefault(line[len(_MARK) :], [])
            continue
        if current is not None:
            current.append(line)
    return sections


_CA_END = ("\n" + _MARK + "files\n").encode()


def early_ca(stdout_so_far: bytes) -> tuple[bool, bytes | None]:
    """Read the CA from the start of the output, before the observation has finished.

    Returns ``(False, None)`` while the CA section is still arriving, then ``(True, pem)``
    (``pem`` None when the CA is absent or unreadable: :func:`parse_observation` reports it).
    """
    end = stdout_so_far.find(_CA_END)
    if end < 0:
        return False, None
    sections = _sections(stdout_so_far[: end + 1].decode("utf-8", "replace"))
    try:
        return True, _ca_section(sections.get("ca", []))
    except ParseError:
        return True, None


def _rc(lines: list[str]) -> tuple[str | None, list[str]]:
    """Split a section into its trailing ``rc`` marker value and the lines before it."""
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith(_MARK + "rc "):
            return lines[i][len(_MARK) + 3 :].strip(), lines[:i]
    return None, lines


def _running_args(
    sections: dict[str, list[str]], containers: tuple[ContainerInfo, ...] | None
) -> tuple[tuple[str, ...] | None, str | None]:
    """The newest running container's command line, from whichever inspect answered."""
    rc, lines = _rc(sections.get("inspect", []))
    if rc != "0":
        rc, lines = _rc(sections.get("inspect-by-id", []))
        if rc == "0":
            try:
                return parse_inspect_args("\n".join(lines)), None
            except ParseError as exc:
                return None, str(exc)
        if rc in (None, "none"):
            return None, None
        return None, f"crictl inspect failed (exit {rc}): {' '.join(lines)[:300]}"
    text = "\n".join(lines)
    if not text.lstrip().startswith(("{", "[")):
        return None, None  # crictl found nothing running (it prints its help then)
    try:
        by_id = parse_inspect_by_id(text)
    except ParseError as exc:
        return None, str(exc)
    running = next((c for c in containers or () if c.is_running), None)
    if running is not None and running.id in by_id:
        return by_id[running.id], None
    return next(iter(by_id.values()), None), None


def parse_observation(
    stdout: str, files: Sequence[str] = (), expected: bytes | None = None
) -> HostObservation:
    """Parse the observation command's output (pure: tested from recorded outputs).

    ``files`` and ``expected`` are what :func:`observe_argv` was given: a manifest reported
    with ``expected``'s digest is ``expected``.

    Raises:
        ParseError: the output was cut short or is not this script's.
    """
    sections = _sections(stdout)
    if "end" not in sections:
        raise ParseError("observation output is incomplete (no end marker)")
    errors: list[str] = []

    manifest = _manifest_section(sections.get("manifest", []), expected)
    ca_pem = _ca_section(sections.get("ca", []))

    listing_lines = sections.get("listing", [])
    listing: tuple[DirEntry, ...] | None
    if listing_lines == [_MARK + "nodir"]:
        listing = None
    else:
        entries = []
        for line in listing_lines:
            kind, _, name = line.partition("\t")
            if name:
                entries.append(DirEntry(name=name, kind=kind))
        listing = tuple(sorted(entries, key=lambda e: e.name))

    rc, ps_lines = _rc(sections.get("ps", []))
    containers: tuple[ContainerInfo, ...] | None = None
    if rc == "0":
        try:
            containers = parse_ps("\n".join(ps_lines))
        except ParseError as exc:
            errors.append(str(exc))
    else:
        errors.append(f"crictl ps failed (exit {rc}): {' '.join(ps_lines).strip()[:300]}")

    running_args, inspect_error = _running_args(sections, containers)
    if inspect_error:
        errors.append(inspect_error)

    rc, _ = _rc(sections.get("kubelet", []))
    kubelet_rc = int(rc) if rc not in (None, "none") and rc.isdigit() else None

    return HostObservation(
        manifest=manifest,
        listing=listing,
        containers=containers,
        running_args=running_args,
        kubelet_rc=kubelet_rc,
        ca_pem=ca_pem,
        files=_files_section(sections.get("files", []), files),
        errors=tuple(errors),
    )
