"""Prometheus metrics of the last run, for node_exporter's textfile collector.

Why a file and not an endpoint: ``converge`` runs from a timer and exits; node_exporter's
textfile collector exports whatever ``*.prom`` files sit in its folder, so the last run's
numbers stay visible (and ``deployer_last_run_timestamp_seconds`` going stale is itself an
alert: the timer stopped running). The file is replaced atomically by
``prometheus_client.write_to_textfile`` (temp file in the same folder, then rename), so the
collector never reads half a file.

Metric meanings (labels: ``command`` on every metric):

* ``deployer_last_run_timestamp_seconds``: when the run finished (Unix time).
* ``deployer_last_run_success``: 1 when the run did its job: exit code 0, or 2 (a read-only run
  found changes pending, which is its normal answer to drift). Drift has its own gauge.
* ``deployer_last_run_exit_code``: the exit code, for alerts that tell failures apart.
* ``deployer_hosts{outcome}``: hosts per outcome, every outcome present (zeros included), so
  ``deployer_hosts{outcome="rolled_back"} > 0`` works without ``absent()``.
* ``deployer_drift_hosts``: hosts whose live manifest differed from the desired one.
* ``deployer_run_duration_seconds``: wall-clock duration of the run.
* ``deployer_phase_duration_seconds{host,phase}``: seconds spent per phase and host (a phase run
  twice on one host, such as ``restart`` during a rollback, adds up).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, generate_latest, write_to_textfile

from deployer.model.report import HostReport, Outcome, RunReport

__all__ = ["SUCCESS_EXIT_CODES", "count_drift_hosts", "render_metrics", "write_metrics"]

#: Exit codes for which ``deployer_last_run_success`` is 1 (0 ok, 2 changes pending).
SUCCESS_EXIT_CODES = frozenset({0, 2})

#: Outcomes that imply the live manifest differed from the desired one when planned.
_DRIFT_OUTCOMES = frozenset(
    {Outcome.CHANGED, Outcome.PENDING, Outcome.ROLLED_BACK, Outcome.ROLLBACK_FAILED}
)


def _has_drift(host: HostReport) -> bool:
    """Return True when the host's live manifest differed from the desired one.

    An explicit ``drift`` detail wins (a bool, or a mapping with ``detected``, or any non-empty
    description); without one, the outcome tells: only a host that differed gets changed,
    stays pending or is rolled back.
    """
    details = dict(host.details)
    if "drift" in details:
        drift = details["drift"]
        if isinstance(drift, Mapping) and "detected" in drift:
            return bool(drift["detected"])
        return bool(drift)
    return host.outcome in _DRIFT_OUTCOMES


def count_drift_hosts(report: RunReport) -> int:
    """Return how many hosts of the run had drifted from the desired manifest."""
    return sum(1 for host in report.hosts if _has_drift(host))


def _registry(report: RunReport) -> CollectorRegistry:
    """Build a fresh registry for one report (never the global default registry)."""
    registry = CollectorRegistry()
    cmd = ("command",)
    command = report.command

    def gauge(name: str, doc: str, labels: tuple[str, ...] = cmd) -> Gauge:
        return Gauge(name, doc, labels, registry=registry)

    gauge(
        "deployer_last_run_timestamp_seconds", "Unix time the last deployer run finished."
    ).labels(command).set(report.finished_at)
    gauge(
        "deployer_last_run_success",
        "1 when the last run succeeded (exit code 0, or 2: changes pending), else 0.",
    ).labels(command).set(1 if report.exit_code in SUCCESS_EXIT_CODES else 0)
    gauge("deployer_last_run_exit_code", "Exit code of the last deployer run.").labels(command).set(
        report.exit_code
    )

    hosts = gauge("deployer_hosts", "Hosts per outcome in the last run.", ("command", "outcome"))
    counts = dict.fromkeys(Outcome, 0)
    for host in report.hosts:
        counts[host.outcome] += 1
    for outcome, count in counts.items():
        hosts.labels(command, outcome.value).set(count)

    gauge(
        "deployer_drift_hosts",
        "Hosts whose live kube-apiserver manifest differed from the desired one.",
    ).labels(command).set(count_drift_hosts(report))
    gauge("deployer_run_duration_seconds", "Wall-clock duration of the last run.").labels(
        command
    ).set(max(report.finished_at - report.started_at, 0.0))

    phases = gauge(
        "deployer_phase_duration_seconds",
        "Seconds spent in each phase on each host in the last run.",
        ("command", "host", "phase"),
    )
    totals: dict[tuple[str, str], float] = {}
    for host in report.hosts:
        for phase in host.phases:
            key = (host.host, phase.phase)
            totals[key] = totals.get(key, 0.0) + phase.duration_s
    for (host_name, phase_name), seconds in totals.items():
        phases.labels(command, host_name, phase_name).set(seconds)
    return registry


def render_metrics(report: RunReport) -> str:
    """Return the report's metrics in the Prometheus text exposition format."""
    return generate_latest(_registry(report)).decode("utf-8")


def write_metrics(report: RunReport, path: str | Path) -> None:
    """Write the report's metrics to ``path`` atomically (node_exporter reads ``*.prom``).

    Raises:
        OSError: the folder is missing or not writable (the caller reports it; a metrics file
            that cannot be written must not hide the run's own result).
    """
    write_to_textfile(str(path), _registry(report))
