"""Serve ``/livez``, ``/readyz`` and ``/healthz`` exactly as ``k8s.io/apiserver``'s healthz does.

Why exact: the tool decides a rollout on ``/readyz`` and shows operators its verbose lines, so the
lab must produce the real lines, status codes and headers (``handleRootHealth`` in
``staging/src/k8s.io/apiserver/pkg/server/healthz/healthz.go``): ``[+]name ok``, ``[-]name failed:
reason withheld``, ``[+]name excluded: ok``, the ``warn: some health checks cannot be excluded``
line, ``<endpoint> check passed|failed``, a bare ``ok`` without ``?verbose``, and always the verbose
text on failure (``http.Error``: status 500 and a trailing newline).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from deployer.lab.apiserver.klog import go_quote

__all__ = [
    "HealthCheck",
    "HealthReply",
    "check_names",
    "evaluate_root",
    "evaluate_single",
]

#: A check returns ``None`` when healthy, else the reason (logged, never served).
CheckFn = Callable[[], "str | None"]

_HOOKS_BEFORE_AUTOREGISTER = (
    "poststarthook/start-apiserver-admission-initializer",
    "poststarthook/generic-apiserver-start-informers",
    "poststarthook/priority-and-fairness-config-consumer",
    "poststarthook/priority-and-fairness-filter",
    "poststarthook/storage-object-count-tracker-hook",
    "poststarthook/start-apiextensions-informers",
    "poststarthook/start-apiextensions-controllers",
    "poststarthook/crd-informer-synced",
    "poststarthook/start-system-namespaces-controller",
    "poststarthook/start-cluster-authentication-info-controller",
    "poststarthook/start-kube-apiserver-identity-lease-controller",
    "poststarthook/start-kube-apiserver-identity-lease-garbage-collector",
    "poststarthook/start-legacy-token-tracking-controller",
    "poststarthook/start-service-ip-repair-controllers",
    "poststarthook/rbac/bootstrap-roles",
    "poststarthook/scheduling/bootstrap-system-priority-classes",
    "poststarthook/priority-and-fairness-config-producer",
    "poststarthook/bootstrap-controller",
    "poststarthook/aggregator-reload-proxy-client-cert",
    "poststarthook/start-kube-aggregator-informers",
    "poststarthook/apiservice-status-local-available-controller",
    "poststarthook/apiservice-status-remote-available-controller",
    "poststarthook/apiservice-registration-controller",
    "poststarthook/apiservice-wait-for-first-sync",
    "poststarthook/apiservice-discovery-controller",
    "poststarthook/kube-apiserver-autoregistration",
)
_HOOKS_AFTER_AUTOREGISTER = (
    "poststarthook/apiservice-openapi-controller",
    "poststarthook/apiservice-openapiv3-controller",
)
#: The hooks that take a moment in a real start (the ones real logs show as "not finished").
SLOW_HOOKS = frozenset(
    {
        "poststarthook/start-apiextensions-controllers",
        "poststarthook/crd-informer-synced",
        "poststarthook/start-service-ip-repair-controllers",
        "poststarthook/rbac/bootstrap-roles",
        "poststarthook/scheduling/bootstrap-system-priority-classes",
        "poststarthook/apiservice-registration-controller",
        "poststarthook/apiservice-discovery-controller",
    }
)


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """A named check (``etcd``, ``poststarthook/rbac/bootstrap-roles``)."""

    name: str
    run: CheckFn


@dataclass(frozen=True, slots=True)
class HealthReply:
    """What the handler answers, and the detail the real server logs at ``-v=2``."""

    status: int
    body: str
    #: The names of the failed checks, in order.
    failed: tuple[str, ...] = ()
    #: ``[-]name failed: <reason>`` lines with the real reasons, for the log only.
    failed_detail: str = ""
    #: Names given in ``?exclude=`` that match no check (logged as a warning).
    unmatched_excludes: tuple[str, ...] = ()


def check_names(endpoint: str, minor: int) -> tuple[str, ...]:
    """Return kube-apiserver's checks for ``endpoint`` (livez, readyz, healthz), in served order.

    Args:
        endpoint: ``livez``, ``readyz`` or ``healthz``.
        minor: the Kubernetes minor version (``apiservice-wait-for-first-sync`` is 1.31+).
    """
    hooks = tuple(
        hook
        for hook in _HOOKS_BEFORE_AUTOREGISTER
        if minor >= 31 or hook != "poststarthook/apiservice-wait-for-first-sync"
    )
    tail = (*hooks, "autoregister-completion", *_HOOKS_AFTER_AUTOREGISTER)
    if endpoint == "readyz":
        return ("ping", "log", "etcd", "etcd-readiness", "informer-sync", *tail, "shutdown")
    return ("ping", "log", "etcd", *tail)


def evaluate_root(
    endpoint: str, checks: Sequence[HealthCheck], query: Mapping[str, Sequence[str]]
) -> HealthReply:
    """Run ``checks`` for ``/<endpoint>`` with the request's query, as ``handleRootHealth`` does.

    Excluded checks are not run. Only the ``verbose`` key's presence matters (``?verbose``,
    ``?verbose=`` and ``?verbose=false`` all turn it on, as in Go).
    """
    excluded = set(query.get("exclude", ()))
    lines: list[str] = []
    detail: list[str] = []
    failed: list[str] = []
    for check in checks:
        if check.name in excluded:
            excluded.discard(check.name)
            lines.append(f"[+]{check.name} excluded: ok\n")
            continue
        reason = check.run()
        if reason is None:
            lines.append(f"[+]{check.name} ok\n")
        else:
            lines.append(f"[-]{check.name} failed: reason withheld\n")
            detail.append(f"[-]{check.name} failed: {reason}\n")
            failed.append(check.name)
    unmatched = tuple(sorted(excluded))
    if unmatched:
        names = ",".join(go_quote(name) for name in unmatched)
        lines.append(f"warn: some health checks cannot be excluded: no matches for {names}\n")
    text = "".join(lines)
    if failed:
        # http.Error appends the newline.
        return HealthReply(
            500, f"{text}{endpoint} check failed\n", tuple(failed), "".join(detail), unmatched
        )
    if "verbose" not in query:
        return HealthReply(200, "ok", unmatched_excludes=unmatched)
    return HealthReply(200, f"{text}{endpoint} check passed\n", unmatched_excludes=unmatched)


def evaluate_single(check: HealthCheck) -> HealthReply:
    """Answer ``/<endpoint>/<check>`` (``adaptCheckToHandler``): ``ok`` or the real reason."""
    reason = check.run()
    if reason is None:
        return HealthReply(200, "ok")
    return HealthReply(
        500,
        f"internal server error: {reason}\n",
        (check.name,),
        f"[-]{check.name} failed: {reason}\n",
    )
