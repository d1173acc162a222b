"""The lab's crictl command line: ``crictl [global flags] COMMAND ...`` over the kubelet state.

Errors end like crictl's: one logrus line on stderr (``time="…" level=fatal msg="…"``) and
exit status 1. A missing state file reads as containerd being down, with crictl's own text.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from deployer.lab.crictl.views import (
    container_json,
    containers_table,
    go_json,
    inspect_json,
    sandbox_json,
    sandboxes_table,
)
from deployer.lab.kubelet.records import ContainerRecord, KubeletState, load_state

# ``typing`` for the type checker only (annotations are not evaluated): this module runs in
# every kubelet stand-in (deployer.lab.crictl.server), where ``typing`` would be 0.45 MB.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn, TextIO

    from _typeshed import SupportsWrite

_ENDPOINT = "unix:///run/containerd/containerd.sock"
_STATES = {"created", "running", "exited", "unknown"}


class _Fatal(Exception):
    pass


def _fatal(message: str) -> NoReturn:
    raise _Fatal(message)


def _logrus(level: str, message: str) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return f'time="{stamp}" level={level} msg={json.dumps(message, ensure_ascii=False)}'


@dataclass(frozen=True, slots=True)
class Streams:
    """Where one crictl call writes: text streams whose ``buffer`` takes raw log bytes."""

    out: TextIO
    err: TextIO


#: The streams of the call running in this thread (argparse's help text goes there too).
_STREAMS: ContextVar[Streams | None] = ContextVar("crictl_streams", default=None)


class _Parser(argparse.ArgumentParser):
    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        std = _STREAMS.get()
        if message and std is not None:
            (std.err if file is sys.stderr else std.out).write(message)
        elif message:
            super()._print_message(message, file)

    def error(self, message: str) -> NoReturn:
        if message.startswith("unrecognized arguments: "):
            flag = message.split(": ", 1)[1].split()[0].lstrip("-").split("=")[0]
            _fatal(f"flag provided but not defined: -{flag}")
        _fatal(message)


_TEMPLATE_ACTION = re.compile(r"\{\{\s*(json\s+)?((?:\.[A-Za-z0-9_]+)+|\.)\s*\}\}")


def _go_template(template: str, value: object) -> str:
    """The subset of Go templates tools use with crictl: ``{{.a.b}}`` and ``{{json .a.b}}``."""

    def action(match: re.Match[str]) -> str:
        current = value
        for key in [k for k in match.group(2).split(".") if k]:
            if not isinstance(current, dict) or key not in current:
                _fatal(f'template: tmplExecuteRawJSON:1: map has no entry for key "{key}"')
            current = current[key]
        if match.group(1):
            return json.dumps(current, separators=(",", ":"))
        return current if isinstance(current, str) else json.dumps(current)

    return _TEMPLATE_ACTION.sub(action, template)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="crictl", add_help=True)
    parser.add_argument("--state", required=True, type=Path, help=argparse.SUPPRESS)
    for flags in (("-r", "--runtime-endpoint"), ("-i", "--image-endpoint"), ("-c", "--config")):
        parser.add_argument(*flags)
    parser.add_argument("-t", "--timeout", default="2s")
    parser.add_argument("-D", "--debug", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    ps = sub.add_parser("ps", help="List containers")
    ps.add_argument("-a", "--all", action="store_true")
    ps.add_argument("--name", default="")
    ps.add_argument("-s", "--state", dest="filter_state", default="")
    ps.add_argument("--label", action="append", default=[])
    ps.add_argument("--id", default="")
    ps.add_argument("-p", "--pod", default="")
    ps.add_argument("-l", "--latest", action="store_true")
    ps.add_argument("-n", "--last", type=int, default=0)
    ps.add_argument("-q", "--quiet", action="store_true")
    ps.add_argument("-o", "--output", default="table")
    ps.add_argument("--no-trunc", action="store_true")
    ps.add_argument("--image", default="")
    ps.add_argument("-v", "--verbose", action="store_true")

    inspect = sub.add_parser("inspect", help="Display the status of one or more containers")
    inspect.add_argument("ids", nargs="*")
    inspect.add_argument("-o", "--output", default="json")
    inspect.add_argument("--template", default="")
    inspect.add_argument("-q", "--quiet", action="store_true")
    inspect.add_argument("--name", default="")
    inspect.add_argument("-s", "--state", dest="filter_state", default="")
    inspect.add_argument("-l", "--latest", action="store_true")

    logs = sub.add_parser("logs", help="Fetch the logs of a container")
    logs.add_argument("id")
    logs.add_argument("--tail", type=int, default=-1)
    logs.add_argument("-t", "--timestamps", action="store_true")
    logs.add_argument("-p", "--previous", action="store_true")

    pods = sub.add_parser("pods", help="List pods")
    pods.add_argument("--name", default="")
    pods.add_argument("--namespace", default="")
    pods.add_argument("-s", "--state", dest="filter_state", default="")
    pods.add_argument("--label", action="append", default=[])
    pods.add_argument("--id", default="")
    pods.add_argument("-l", "--latest", action="store_true")
    pods.add_argument("-n", "--last", type=int, default=0)
    pods.add_argument("-q", "--quiet", action="store_true")
    pods.add_argument("-o", "--output", default="table")
    pods.add_argument("--no-trunc", action="store_true")

    sub.add_parser("version", help="Display runtime version information")
    return parser


_PARSER: list[argparse.ArgumentParser] = []
_PARSER_LOCK = threading.Lock()


def _shared_parser() -> argparse.ArgumentParser:
    """One parser per process: building it is most of a call's cost in the CRI server.

    Parsing never changes the parser (every call gets its own namespace), so the server's
    threads share it.
    """
    with _PARSER_LOCK:
        if not _PARSER:
            _PARSER.append(_parser())
        return _PARSER[0]


def _matches(pattern: str, text: str) -> bool:
    """Go's ``regexp.MatchString``: unanchored; an invalid pattern matches nothing."""
    if not pattern:
        return True
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return False


def _labels(pairs: Sequence[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for pair in pairs:
        parts = pair.split("=")
        if len(parts) != 2:
            _fatal(f"incorrectly specified label: {pair}")
        labels[parts[0]] = parts[1]
    return labels


def _not_found(cid: str) -> str:
    return (
        "rpc error: code = NotFound desc = an error occurred when try to find container "
        f'"{cid}": not found'
    )


def _resolve(state: KubeletState, cid: str) -> ContainerRecord:
    """Containerd's truncindex: the full id or a unique prefix."""
    matches = [c for c in state.containers if c.id.startswith(cid)] if cid else []
    exact = [c for c in matches if c.id == cid]
    if exact:
        return exact[0]
    if len(matches) != 1:
        raise LookupError(cid)
    return matches[0]


def _select_containers(
    state: KubeletState, args: argparse.Namespace, std: Streams
) -> list[ContainerRecord]:
    records = list(state.containers)
    wanted_state = args.filter_state.lower()
    if wanted_state and wanted_state not in _STATES:
        std.err.write(
            time.strftime("%Y/%m/%d %H:%M:%S ")
            + "--state should be one of created, running, exited or unknown\n"
        )
        raise SystemExit(1)
    latest = getattr(args, "latest", False)
    last = getattr(args, "last", 0)
    if wanted_state:
        records = [r for r in records if r.state == f"CONTAINER_{wanted_state.upper()}"]
    elif not (getattr(args, "all", False) or latest or last):
        records = [r for r in records if r.state == "CONTAINER_RUNNING"]
    labels = _labels(getattr(args, "label", []))
    records = [r for r in records if all(r.labels.get(k) == v for k, v in labels.items())]
    if getattr(args, "id", ""):
        records = [r for r in records if r.id.startswith(args.id)]
    if getattr(args, "pod", ""):
        records = [r for r in records if r.sandbox_id.startswith(args.pod)]
    records = [r for r in records if _matches(args.name, r.name)]
    records.sort(key=lambda r: r.created_at_ns, reverse=True)
    if latest:
        records = records[:1]
    elif last:
        records = records[:last]
    return records


def _ps(state: KubeletState, args: argparse.Namespace, std: Streams) -> None:
    records = _select_containers(state, args, std)
    if args.output == "json":
        entries = [container_json(r) for r in records]
        std.out.write(go_json({"containers": entries}, sort_keys=False) + "\n")
    elif args.output == "yaml":
        _fatal('unsupported output format "yaml" in the lab')
    elif args.output == "table":
        if args.image:
            records = [r for r in records if args.image in r.image]
        if args.quiet:
            std.out.write("".join(f"{r.id}\n" for r in records))
        else:
            std.out.write(containers_table(records, now_ns=time.time_ns(), no_trunc=args.no_trunc))
    else:
        _fatal(f'unsupported output format "{args.output}"')


def _inspect(state: KubeletState, args: argparse.Namespace, std: Streams) -> None:
    ids: list[str] = list(args.ids)
    if not ids:
        args.all = True
        ids = [r.id for r in _select_containers(state, args, std)]
        if not ids:
            std.err.write(_logrus("error", "No IDs provided or nothing found per filter") + "\n")
            return
    if args.output not in ("json", "", "go-template"):
        _fatal(f'unsupported output format "{args.output}"')
    documents = []
    for cid in ids:
        try:
            record = _resolve(state, cid)
        except LookupError:
            _fatal(f"get the status of containers: get container status: {_not_found(cid)}")
        documents.append(
            inspect_json(record, state.sandbox(record.sandbox_id), is_quiet=args.quiet)
        )
    if args.output == "go-template":
        for document in documents:
            std.out.write(_go_template(args.template, document) + "\n")
        return
    value: object = documents[0] if len(documents) == 1 else documents
    std.out.write(go_json(value, sort_keys=True) + "\n")


def _fixed(stamp: str) -> str:
    """Re-format an RFC3339Nano log time with nine fraction digits (``--timestamps``)."""
    head, _, frac = stamp.rstrip("Z").partition(".")
    return f"{head}.{frac.ljust(9, '0')}Z"


def _logs(state: KubeletState, args: argparse.Namespace, std: Streams) -> None:
    try:
        record = _resolve(state, args.id)
    except LookupError:
        _fatal(_not_found(args.id))
    log_path = record.log_path
    if args.previous:
        if record.attempt == 0:
            _fatal(f"previous terminated container {record.name} not found")
        log_path = log_path.rsplit("/", 1)[0] + f"/{record.attempt - 1}.log"
    node_root = args.state.resolve().parents[3]
    try:
        lines = (node_root / log_path.lstrip("/")).read_bytes().split(b"\n")
    except FileNotFoundError:
        _fatal(
            f'failed to try resolving symlinks in path "{log_path}": lstat {log_path}: '
            "no such file or directory"
        )
    entries = [line for line in lines if line]
    if args.tail >= 0:
        entries = entries[len(entries) - args.tail :] if args.tail else []
    at_line_start = {"stdout": True, "stderr": True}
    for entry in entries:
        parts = entry.split(b" ", 3)
        if len(parts) < 3:
            continue
        stamp, stream, tag = (p.decode() for p in parts[:3])
        text = parts[3] if len(parts) == 4 else b""
        out = std.out.buffer if stream == "stdout" else std.err.buffer
        if args.timestamps and at_line_start.get(stream, True):
            out.write(_fixed(stamp).encode() + b" ")
        out.write(text + (b"\n" if tag == "F" else b""))
        at_line_start[stream] = tag == "F"
        out.flush()


def _pods(state: KubeletState, args: argparse.Namespace, std: Streams) -> None:
    records = list(state.sandboxes)
    wanted = args.filter_state.lower()
    if wanted and wanted not in ("ready", "notready"):
        std.err.write(time.strftime("%Y/%m/%d %H:%M:%S ") + "--state should be ready or notready\n")
        raise SystemExit(1)
    if wanted:
        records = [r for r in records if r.state == f"SANDBOX_{wanted.upper()}"]
    labels = _labels(args.label)
    records = [r for r in records if all(r.labels.get(k) == v for k, v in labels.items())]
    if args.id:
        records = [r for r in records if r.id.startswith(args.id)]
    records = [
        r for r in records if _matches(args.name, r.name) and _matches(args.namespace, r.namespace)
    ]
    records.sort(key=lambda r: r.created_at_ns, reverse=True)
    if args.latest:
        records = records[:1]
    elif args.last:
        records = records[: args.last]
    if args.output == "json":
        std.out.write(
            go_json({"items": [sandbox_json(r) for r in records]}, sort_keys=False) + "\n"
        )
    elif args.output == "table":
        if args.quiet:
            std.out.write("".join(f"{r.id}\n" for r in records))
        else:
            std.out.write(sandboxes_table(records, now_ns=time.time_ns(), no_trunc=args.no_trunc))
    else:
        _fatal(f'unsupported output format "{args.output}"')


#: The last state read per file and the file's identity then (the CRI server answers many
#: calls between two kubelet writes; each write renames a new file into place).
_READ_STATES: dict[Path, tuple[tuple[int, int, int], KubeletState]] = {}


def _load(path: Path) -> KubeletState:
    """The kubelet's state; the last one read is reused while the file is the same."""
    try:
        status = path.stat()
    except FileNotFoundError:
        _fatal(
            f'validate service connection: validate CRI v1 runtime API for endpoint "{_ENDPOINT}": '
            'rpc error: code = Unavailable desc = connection error: desc = "transport: Error '
            "while dialing: dial unix /run/containerd/containerd.sock: connect: no such file or "
            'directory"'
        )
    version = (status.st_ino, status.st_size, status.st_mtime_ns)
    with _PARSER_LOCK:
        cached = _READ_STATES.get(path)
    if cached is not None and cached[0] == version:
        return cached[1]
    state = load_state(path)  # a file renamed in since stat() is simply read again next time
    with _PARSER_LOCK:
        _READ_STATES[path] = (version, state)
    return state


def main(argv: Sequence[str] | None = None, std: Streams | None = None) -> int:
    """Run one crictl command; return its exit status.

    ``std`` is where the answer goes: the process's own stdout and stderr by default, or the
    descriptors a client passed over the node's CRI socket (:mod:`deployer.lab.crictl.server`).
    """
    std = std or Streams(out=sys.stdout, err=sys.stderr)
    token = _STREAMS.set(std)
    try:
        args = _shared_parser().parse_args(sys.argv[1:] if argv is None else argv)
        state = _load(args.state)
        if args.command == "version":
            std.out.write(
                "Version:  0.1.0\nRuntimeName:  containerd\nRuntimeVersion:  v1.7.22\n"
                "RuntimeApiVersion:  v1\n"
            )
        else:
            {"ps": _ps, "inspect": _inspect, "logs": _logs, "pods": _pods}[args.command](
                state, args, std
            )
    except _Fatal as exc:
        std.err.write(_logrus("fatal", str(exc)) + "\n")
        return 1
    except BrokenPipeError:
        return 1
    except SystemExit as exc:  # --help, or a --state value crictl refuses
        return exc.code if isinstance(exc.code, int) else 1
    finally:
        _STREAMS.reset(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
