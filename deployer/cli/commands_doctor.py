"""``doctor``: read-only troubleshooting of every selected host (a thin shell over the library)."""

from __future__ import annotations

import time

import click

from deployer.cli.commands_rollout import _connected, _json_option, _ssh_options
from deployer.cli.doctor_output import print_diagnosis
from deployer.cli.options import common_inventory_options, limit_option, output_options
from deployer.cli.output import ConsoleReporter, make_console
from deployer.doctor import Diagnosis, DoctorOptions, diagnose
from deployer.errors import DeployerError
from deployer.model.events import SystemClock
from deployer.model.report import HostReport, Outcome, RunReport
from deployer.offline import prepare
from deployer.report.json_report import write_json_report
from deployer.rollout.observe import build_plan, new_run_id
from deployer.rollout.outcome import exit_code_for_run
from deployer.transport.pool import default_forks

__all__ = ["register"]


def _report(diagnosis: Diagnosis) -> HostReport:
    details = (("doctor", [c.as_dict() for c in diagnosis.checks]),)
    if diagnosis.unreachable is not None:
        return HostReport(
            diagnosis.host, Outcome.UNREACHABLE, error=DeployerError(diagnosis.unreachable)
        )
    if diagnosis.failed:
        failed = "; ".join(f"{c.group}/{c.name}: {c.detail}" for c in diagnosis.failed)
        first = diagnosis.failed[0]
        error = DeployerError(f"{len(diagnosis.failed)} checks failed: {failed}", hint=first.hint)
        return HostReport(diagnosis.host, Outcome.FAILED, error=error, details=details)
    return HostReport(diagnosis.host, Outcome.UNCHANGED, details=details)


@click.command()
@common_inventory_options
@limit_option
@_ssh_options
@click.option(
    "--metrics-samples",
    type=click.IntRange(min=2, max=60),
    default=4,
    show_default=True,
    help="/metrics scrapes per host, half a second apart (the request rate needs two).",
)
@_json_option
@output_options
def doctor(
    inventories: tuple[str, ...],
    extra_vars: tuple[str, ...],
    limit: str | None,
    forks: int | None,
    accept_new_host_keys: bool,
    metrics_samples: int,
    json_path: str | None,
    verbose: int,
    no_color: bool,
) -> int:
    """Troubleshoot every selected host, changing nothing; one screen per host.

    \b
    apiserver     container, /livez, /readyz?verbose (failed checks named), /version
                  against the image, componentstatuses, discovery (/api, /apis)
    etcd          every --etcd-servers member from the host, with --etcd-cafile,
                  --etcd-certfile, --etcd-keyfile: cannot reach / wrong certificate /
                  wrong address
    certificates  the flags' pairs: readable, key matches, chains to its CA, days to
                  expiry (warning under 30), serving SANs cover the advertise address
    logs          crictl logs tail, the audit log (and a pre-1.26 --log-file), klog
                  severities, the current --v
    metrics       /metrics: request rate and 5xx share, etcd latency, inflight
    manifest      what plan says, stray files, kubelet
    Exit 0 healthy (warnings allowed), 3 a check failed, 5 a host unreachable.
    """
    console = make_console(no_color=no_color, stderr=json_path == "-")
    reporter = ConsoleReporter(console, verbose=verbose)
    run_id = new_run_id()
    started = time.time()
    prepared = prepare(inventories, extra_vars=extra_vars, limit=limit)
    with _connected(prepared, forks=forks, accept_new=accept_new_host_keys) as transports:
        plan = build_plan(
            prepared.states,
            prepared.manifests,
            transports,
            forks=default_forks(len(prepared.states), forks),
            run_id=run_id,
            rerender=lambda state, digests: prepared.renderer.render(state, file_digests=digests),
        )
        diagnoses = diagnose(
            plan,
            transports,
            clock=SystemClock(),
            reporter=reporter,
            run_id=run_id,
            options=DoctorOptions(metrics_samples=metrics_samples, forks=forks),
        )
    for diagnosis in diagnoses:
        print_diagnosis(console, diagnosis)
    reports = tuple(_report(d) for d in diagnoses)
    code = exit_code_for_run(reports)
    if json_path:
        write_json_report(
            RunReport(
                run_id=run_id,
                command="doctor",
                started_at=started,
                finished_at=time.time(),
                hosts=reports,
                exit_code=int(code),
            ),
            json_path,
        )
    return int(code)


def register(group: click.Group) -> None:
    """Attach ``doctor`` to the top-level group."""
    group.add_command(doctor)
