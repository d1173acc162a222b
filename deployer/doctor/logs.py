"""The apiserver's logs: the container's tail, the files its flags write, klog severities, --v.

Why count severities: klog's header (``E1201 20:01:02.123456 ...``) starts with the severity
letter, so a tail with errors or fatals is told from a healthy one at a glance; the lines shown
are the last warnings and errors, which is where an exit at start says what it did not like.
Everything shown is masked (``report.masking``), because log lines can quote flag values.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence

from deployer.doctor.model import Check, Verdict
from deployer.doctor.subject import Subject
from deployer.report.masking import mask_secrets

__all__ = ["audit_summary", "check_logs", "klog_severities"]

_GROUP = "logs"
_TAIL_LINES = 40
_SHOWN_LINES = 6
#: klog's header: severity letter, mmdd, time (``I1201 20:01:02.123456``).
_KLOG = re.compile(r"^([IWEF])\d{4} \d{2}:\d{2}:\d{2}\.\d+")
_NAMES = {"I": "info", "W": "warning", "E": "error", "F": "fatal"}


def klog_severities(lines: Sequence[str]) -> Counter[str]:
    """Count klog lines by severity (``info``, ``warning``, ``error``, ``fatal``)."""
    counts: Counter[str] = Counter()
    for line in lines:
        match = _KLOG.match(line)
        if match:
            counts[_NAMES[match.group(1)]] += 1
    return counts


def _shown(lines: Sequence[str]) -> tuple[str, ...]:
    serious = [line for line in lines if _KLOG.match(line) and line[0] in "WEF"]
    picked = (serious or list(lines))[-_SHOWN_LINES:]
    return tuple(mask_secrets(line)[:300] for line in picked)


def _verdict(counts: Counter[str]) -> Verdict:
    if counts["fatal"] or counts["error"]:
        return Verdict.WARN
    return Verdict.OK


def _summary(counts: Counter[str], total: int) -> str:
    parts = [f"{counts[n]} {n}" for n in ("fatal", "error", "warning", "info") if counts[n]]
    return f"last {total} lines: " + (", ".join(parts) or "no klog lines")


def _container_log(subject: Subject) -> Check:
    observed = subject.plan.observed
    containers = observed.containers if observed is not None else None
    if not containers:
        return Check(_GROUP, "container-log", Verdict.SKIP, "no kube-apiserver container")
    container = observed.running if observed and observed.running else containers[0]
    result = subject.ctx.run(
        [subject.ctx.state.crictl, "logs", "--tail", str(_TAIL_LINES), container.id],
        ok_exit_codes=range(256),
    )
    if not result.ok:
        return Check(
            _GROUP,
            "container-log",
            Verdict.WARN,
            f"crictl logs {container.id[:13]} failed: {result.stderr.strip()[:200]}",
        )
    lines = (result.stdout + result.stderr).splitlines()
    counts = klog_severities(lines)
    verdict = _verdict(counts)
    # The guide's /var/log/kube-apiserver.log predates 1.26, which dropped klog's file flags:
    # a static pod's log is its stderr, which kubelet keeps under /var/log/pods.
    where = (
        f"the whole log: crictl logs {container.id[:13]}, or kubelet's copy under /var/log/pods/"
        f"kube-system_{container.pod_name}_{container.pod_uid}/kube-apiserver/"
    )
    return Check(
        _GROUP,
        "container-log",
        verdict,
        f"crictl logs {container.id[:13]}: {_summary(counts, len(lines))}",
        f"the lines below are the last warnings and errors; {where}"
        if verdict is Verdict.WARN
        else where,
        lines=_shown(lines),
        figures={n: float(counts[n]) for n in ("fatal", "error", "warning", "info")},
    )


def _file_tail(subject: Subject, flag: str, name: str) -> Check | None:
    path = subject.flag(flag)
    if not path or path == "-":
        return None
    result = subject.ctx.run(
        ["tail", "-n", str(_TAIL_LINES), str(subject.ctx.path(path))], ok_exit_codes=range(256)
    )
    if not result.ok:
        return Check(
            _GROUP,
            name,
            Verdict.WARN,
            f"--{flag}={path} cannot be read: {result.stderr.strip()[:200]}",
            f"the apiserver writes it once it starts; check --{flag} and its hostPath mount",
        )
    lines = result.stdout.splitlines()
    if name == "audit-log":
        return Check(
            _GROUP,
            name,
            Verdict.OK,
            f"--{flag}={path}: {len(lines)} recent events",
            lines=tuple(audit_summary(line) for line in lines[-3:]),
        )
    counts = klog_severities(lines)
    return Check(
        _GROUP,
        name,
        _verdict(counts),
        f"--{flag}={path}: {_summary(counts, len(lines))}",
        lines=_shown(lines),
    )


def audit_summary(line: str) -> str:
    """One audit event as verb, URI, code and user: never its request or response objects.

    Why not the line itself: at the ``Request``/``RequestResponse`` levels an event carries the
    objects sent and returned, Secrets included, which a masking filter cannot know.
    """
    try:
        event = json.loads(line)
    except ValueError:
        return "(not a JSON audit event)"
    if not isinstance(event, dict):
        return "(not a JSON audit event)"
    status = event.get("responseStatus")
    user = event.get("user")
    code = status.get("code", "?") if isinstance(status, dict) else "?"
    name = user.get("username", "?") if isinstance(user, dict) else "?"
    uri = str(event.get("requestURI", "?")).split("?", 1)[0]
    return f"{event.get('stageTimestamp', '')} {event.get('verb', '?')} {uri} {code} by {name}"


def _verbosity(subject: Subject) -> Check:
    level = subject.flag("v", "0")
    hint = (
        "raise --v (for example --v=4) in the inventory's apiserver_flags for more detail "
        "while troubleshooting; 0 is the default, 10 the most"
        if level in ("", "0")
        else ""
    )
    return Check(_GROUP, "verbosity", Verdict.OK, f"--v={level or '0'}", hint)


def check_logs(subject: Subject) -> tuple[Check, ...]:
    """Tail the container log and the log files; count severities; show the current --v."""
    checks = [_container_log(subject)]
    for flag, name in (("log-file", "log-file"), ("audit-log-path", "audit-log")):
        found = _file_tail(subject, flag, name)
        if found is not None:
            checks.append(found)
    checks.append(_verbosity(subject))
    return tuple(checks)
