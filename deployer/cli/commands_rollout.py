"""``plan``, ``apply``, ``verify`` and ``converge``: the commands that talk to hosts."""

from __future__ import annotations

import getpass
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import click
from rich.console import Console

from deployer.cli.masked_output import mask_logging
from deployer.cli.options import common_inventory_options, limit_option, output_options
from deployer.cli.output import ConsoleReporter, make_console, print_plan, print_recap
from deployer.cli.signals import Interrupts, handle_interrupts
from deployer.engine.kubeadm_sync import (
    sync_enabled,
    sync_kubeadm_config,
)
from deployer.errors import DeployerError, ExitCode, InputError
from deployer.model.plan import Plan
from deployer.model.report import HostReport, Outcome, RunReport
from deployer.offline import Prepared, prepare
from deployer.report.secret_values import ValueMasker, mask_report, secret_values
from deployer.rollout.observe import new_run_id
from deployer.rollout.outcome import (
    Ending,
    aborted_reports,
    interrupted_reports,
    plan_reports,
    run_exit_code,
)
from deployer.rollout.planning import plan_run
from deployer.transport.base import Transport
from deployer.transport.options import BECOME_PASSWORD_ENV, SshOptions
from deployer.transport.pool import default_forks, open_transports, unopened_transports

# Why some imports sit in the functions below: plan is what every run starts with, and the
# applier, the locks, verify's checks and the report writers (prometheus_client, http.server)
# cost it a tenth of a second of start-up for nothing; each command imports what it uses.

__all__ = ["register"]


def _ssh_options(func: Callable[..., object]) -> Callable[..., object]:
    func = click.option(
        "-f",
        "--forks",
        type=click.IntRange(min=1),
        default=None,
        help="Parallel connections for read-only work (default: every host, at most 32).",
    )(func)
    func = click.option(
        "--accept-new-host-keys",
        is_flag=True,
        default=False,
        help="Trust and record UNKNOWN host keys (never a changed one). Off by default.",
    )(func)
    return func


def _lock_option(func: Callable[..., object]) -> Callable[..., object]:
    return click.option(
        "--lock",
        "lock_path",
        metavar="FILE",
        default=None,
        help="Local run lock file (default: $XDG_RUNTIME_DIR/deployer.lock).",
    )(func)


def _json_option(func: Callable[..., object]) -> Callable[..., object]:
    return click.option(
        "--json",
        "json_path",
        metavar="FILE",
        default=None,
        help="Write the JSON report (schema in deployer/report/report.schema.json); - = stdout.",
    )(func)


@dataclass
class _Run:
    """One command's run: what it needs to report at the end."""

    command: str
    run_id: str
    started_at: float
    console: Console
    reporter: ConsoleReporter
    #: Masks the inventory's secret values in everything printed, logged and reported.
    masker: ValueMasker

    def learn_secrets(self, prepared: Prepared) -> Prepared:
        """Add the secret values of every selected host to the masker; return ``prepared``."""
        for state in prepared.states:
            self.masker.add(
                secret_values(flags=state.flags, env=state.extra_env, host_vars=state.host.vars)
            )
        return prepared


@contextmanager
def _connected(
    prepared: Prepared, *, forks: int | None, accept_new: bool, lazy: bool = True
) -> Iterator[dict[str, Transport | DeployerError]]:
    """Transports to the selected hosts, closed on exit.

    ``lazy``: not connected yet, for a command that starts with
    :func:`~deployer.rollout.observe.build_plan` (which connects each host in the worker that
    observes it); otherwise every host is connected, in parallel, before this returns.
    """
    options = SshOptions(accept_new_host_keys=accept_new)
    if lazy:
        with unopened_transports(prepared.inventory.hosts, options) as built:
            yield dict(built)
        return
    with open_transports(
        prepared.inventory.hosts, options, forks=default_forks(len(prepared.states), forks)
    ) as connections:
        merged: dict[str, Transport | DeployerError] = dict(connections.transports)
        merged.update(connections.unreachable)
        yield merged


def _finish(
    run: _Run,
    reports: tuple[HostReport, ...],
    code: ExitCode,
    *,
    json_path: str | None,
    metrics_path: str | None = None,
    inventories: Sequence[str] = (),
) -> int:
    report = mask_report(
        RunReport(
            run_id=run.run_id,
            command=run.command,
            started_at=run.started_at,
            finished_at=time.time(),
            hosts=reports,
            exit_code=int(code),
        ),
        run.masker,
    )
    # Best effort, each on its own: a report that cannot be written must neither hide the
    # run's real exit code nor stop the history line and metrics the alerts are built on.
    outputs: list[tuple[str, Callable[[], object]]] = []

    def write_json_report(report: RunReport, path: str) -> None:
        from deployer.report.json_report import write_json_report as write

        write(report, path)

    def write_metrics(report: RunReport, path: Path) -> None:
        from deployer.report.metrics import write_metrics as write

        write(report, path)

    def append_history(report: RunReport) -> None:
        from deployer.report.history import append_history as append
        from deployer.report.history import entry_from_report

        append(entry_from_report(report, inventories=inventories))

    if json_path:
        outputs.append(("JSON report", lambda: write_json_report(report, json_path)))
    if metrics_path:
        outputs.append(("metrics", lambda: write_metrics(report, Path(metrics_path))))
    if run.command in ("apply", "converge"):
        outputs.append(
            (
                "run history",
                lambda: append_history(report),
            )
        )
    for what, write in outputs:
        try:
            write()
        except Exception as exc:  # any failure: the run's outcome stands
            run.console.print(f"[yellow]warning:[/] {what} not written: {exc}")
    return int(code)


def _start(command: str, no_color: bool, verbose: int, *, to_stderr: bool = False) -> _Run:
    masker = ValueMasker()
    password = os.environ.get(BECOME_PASSWORD_ENV)
    if password:
        masker.add([password])
    mask_logging(masker)
    console = make_console(no_color=no_color, stderr=to_stderr, mask=masker)
    return _Run(
        command=command,
        run_id=new_run_id(),
        started_at=time.time(),
        console=console,
        reporter=ConsoleReporter(console, verbose=verbose),
        masker=masker,
    )


def _observe(
    run: _Run,
    prepared: Prepared,
    transports: dict[str, Transport | DeployerError],
    forks: int | None,
) -> Plan:
    return plan_run(prepared, transports, forks=forks, run_id=run.run_id)


def _sync(
    run: _Run, the_plan: Plan, transports: Mapping[str, Transport | DeployerError]
) -> ExitCode:
    """kubeadm_config_sync: update kube-system/kubeadm-config; exit 3 when it fails."""
    synced = sync_kubeadm_config(the_plan, transports, run_id=run.run_id)
    run.console.print(f"[{'green' if synced.ok else 'red'}]{synced.detail}[/]")
    if synced.ok:
        return ExitCode.OK
    kept = f" (the old data is in {synced.backup})" if synced.backup else ""
    run.console.print(
        f"  hint: update it by hand: kubectl -n kube-system edit configmap kubeadm-config{kept}"
    )
    return ExitCode.ROLLED_BACK


@click.command()
@common_inventory_options
@limit_option
@_ssh_options
@click.option("--diff", "show_diff", is_flag=True, help="Show the unified diff of each manifest.")
@_json_option
@output_options
def plan(
    inventories: tuple[str, ...],
    extra_vars: tuple[str, ...],
    limit: str | None,
    forks: int | None,
    accept_new_host_keys: bool,
    show_diff: bool,
    json_path: str | None,
    verbose: int,
    no_color: bool,
) -> int:
    """Show what apply would change on each host; change nothing.

    Reads, in parallel, each host's live manifest, the running kube-apiserver container
    (crictl), stray files in the manifests folder and /readyz. Exit 0 in sync, 2 changes
    pending, 5 a host unreachable, 6 invalid input.
    """
    run = _start("plan", no_color, verbose, to_stderr=json_path == "-")
    prepared: Prepared | None = None
    with handle_interrupts() as interrupts:
        try:
            prepared = run.learn_secrets(prepare(inventories, extra_vars=extra_vars, limit=limit))
            with _connected(prepared, forks=forks, accept_new=accept_new_host_keys) as transports:
                the_plan = _observe(run, prepared, transports, forks)
        except KeyboardInterrupt:
            reports = _interrupted_reports(run, prepared, interrupts.first)
            return _finish(
                run, reports, run_exit_code(reports, Ending.INTERRUPTED), json_path=json_path
            )
    print_plan(run.console, the_plan, show_diff=show_diff)
    reports = plan_reports(the_plan)
    return _finish(run, reports, run_exit_code(reports), json_path=json_path)


def _aborted_reports(
    run: _Run, plan: Plan, done: dict[str, HostReport], *, by: str = "Ctrl-C"
) -> tuple[HostReport, ...]:
    """Reports after a second Ctrl-C; each host left mid-change is named on the console."""
    reports = aborted_reports(plan, done, run.reporter.last, by=by)
    for report in reports:
        if report.host not in done and report.host in run.reporter.last:
            phase, kind = run.reporter.last[report.host]
            run.console.print(f"[bold red]aborted[/]: {report.host} was left in {phase} ({kind})")
    return reports


def _interrupted_reports(
    run: _Run, prepared: Prepared | None, signum: int | None
) -> tuple[HostReport, ...]:
    """Reports for a command stopped before any host was changed (every host untouched)."""
    name = signal.Signals(signum).name if signum else "an interrupt"
    run.console.print(f"[yellow]interrupted ({name}) before any host was changed[/]")
    if prepared is None:
        return ()
    return interrupted_reports([s.host.name for s in prepared.states], name)


def _announce_stop(console: Console) -> Callable[[int], None]:
    def announce(signum: int) -> None:
        how = "SIGTERM: up to 60 s" if signum == signal.SIGTERM else "press Ctrl-C again to"
        console.print(
            f"[yellow]stopping after the current host (it is finished or rolled back); "
            f"{how} abort at once[/]"
        )

    return announce


@dataclass(frozen=True, slots=True)
class _Request:
    """What apply/converge were asked to do: the parsed command line, nothing decided yet."""

    inventories: tuple[str, ...]
    extra_vars: tuple[str, ...]
    limit: str | None
    forks: int | None
    accept_new: bool
    serial: int | None
    check: bool
    show_diff: bool
    yes: bool
    force: bool
    json_path: str | None
    metrics_path: str | None
    lock_path: str | None
    max_hosts: int | None = None
    repair: bool = False

    def finish(self, run: _Run, reports: tuple[HostReport, ...], code: ExitCode) -> int:
        """Write the run's outputs (JSON report, metrics, history) and return its exit code."""
        return _finish(
            run,
            reports,
            code,
            json_path=self.json_path,
            metrics_path=self.metrics_path,
            inventories=self.inventories,
        )


def _rollout(run: _Run, req: _Request) -> int:
    """Run apply/converge with SIGINT and SIGTERM handled (see :mod:`deployer.cli.signals`)."""
    from deployer.locks import LocalRunLock, default_local_lock_path

    with handle_interrupts(on_first_stop=_announce_stop(run.console)) as interrupts:
        prepared: Prepared | None = None
        try:
            prepared = run.learn_secrets(
                prepare(req.inventories, extra_vars=req.extra_vars, limit=req.limit)
            )
            lock = LocalRunLock.acquire(
                Path(req.lock_path) if req.lock_path else default_local_lock_path(),
                run_id=run.run_id,
                command=run.command,
            )
        except KeyboardInterrupt:
            reports = _interrupted_reports(run, prepared, interrupts.first)
            return req.finish(run, reports, run_exit_code(reports, Ending.INTERRUPTED))
        with lock, ExitStack() as stack:
            try:
                transports = stack.enter_context(
                    _connected(prepared, forks=req.forks, accept_new=req.accept_new)
                )
                the_plan = _observe(run, prepared, transports, req.forks)
            except KeyboardInterrupt:
                reports = _interrupted_reports(run, prepared, interrupts.first)
                return req.finish(run, reports, run_exit_code(reports, Ending.INTERRUPTED))
            return _apply_planned(run, req, interrupts, prepared, the_plan, transports)


def _self_heal(
    run: _Run, req: _Request, the_plan: Plan, ready: Mapping[str, Transport]
) -> int | None:
    """Name (and with ``--repair`` restore) a killed run's unverified push on degraded hosts.

    Returns the exit code when hosts were repaired (the run ends there: run again to apply),
    None to go on as usual.
    """
    from deployer.engine.selfheal import find_unverified_pushes, repair_hosts
    from deployer.model.events import SystemClock
    from deployer.rollout.run import ApplyOptions, degraded_hosts

    degraded = degraded_hosts(the_plan)
    if not degraded:
        return None
    clock = SystemClock()
    found = find_unverified_pushes(the_plan, degraded, ready, clock=clock, reporter=run.reporter)
    if not found:
        return None
    for hit in found.values():
        run.console.print(f"[yellow]{hit.host}: {hit.describe()}[/]")
    if not req.repair:
        run.console.print(
            f"  hint: `deployer {run.command} --repair` restores that backup, waits for the "
            "previous kube-apiserver and verifies it (or restore it by hand)"
        )
        return None
    repaired = repair_hosts(
        the_plan,
        ready,
        found,
        clock=clock,
        reporter=run.reporter,
        lock_lease_s=ApplyOptions().lock_lease_s,
        command=run.command,
    )
    from deployer.rollout.run import skip_pending

    reports = tuple(repaired.get(r.host) or r for r in skip_pending(plan_reports(the_plan)))
    print_recap(run.console, reports)
    return req.finish(run, reports, run_exit_code(reports, Ending.REPAIRED))


def _checked_reports(
    run: _Run, req: _Request, the_plan: Plan, ready: Mapping[str, Transport]
) -> tuple[HostReport, ...]:
    """``--check``: the plan's reports, with the hosts preflight would refuse marked failed."""
    from deployer.model.events import SystemClock
    from deployer.rollout.run import check_hosts

    refused = check_hosts(
        the_plan, ready, clock=SystemClock(), reporter=run.reporter, force=req.force
    )
    for name, error in refused.items():
        run.console.print(f"[red]{name}: apply would stop here: {error.message}[/]")
    return tuple(
        HostReport(r.host, Outcome.FAILED, diff=r.diff, error=refused[r.host], details=r.details)
        if r.host in refused
        else r
        for r in plan_reports(the_plan)
    )


def _apply_planned(
    run: _Run,
    req: _Request,
    interrupts: Interrupts,
    prepared: Prepared,
    the_plan: Plan,
    transports: dict[str, Transport | DeployerError],
) -> int:
    from deployer.model.events import SystemClock
    from deployer.rollout.run import ApplyOptions, apply_plan, check_max_hosts, refuse_degraded

    print_plan(run.console, the_plan, show_diff=req.show_diff)
    ready = {n: t for n, t in transports.items() if not isinstance(t, DeployerError)}
    repaired = _self_heal(run, req, the_plan, ready)
    if repaired is not None:
        return repaired
    if req.check:
        reports = _checked_reports(run, req, the_plan, ready)
        return req.finish(run, reports, run_exit_code(reports))
    if not the_plan.pending:
        reports = plan_reports(the_plan)
        run.console.print("nothing to change")
        code = run_exit_code(reports)
        if code is ExitCode.OK and sync_enabled(the_plan):
            code = _sync(run, the_plan, transports)
        return req.finish(run, reports, code)
    check_max_hosts(the_plan, req.max_hosts)
    refusal = refuse_degraded(the_plan, plan_reports(the_plan), force=req.force)
    if refusal is not None:
        run.console.print(f"[red]{refusal.message}[/]\n  hint: {refusal.hint}")
        return req.finish(run, refusal.reports, run_exit_code(refusal.reports, Ending.REFUSED))
    if not req.yes:
        if not sys.stdin.isatty():
            raise InputError(
                "apply needs a confirmation and standard input is not a terminal",
                hint="pass --yes to apply without asking (converge never asks)",
            )
        click.confirm(f"apply to {len(the_plan.pending)} host(s), one at a time?", abort=True)
    stop = interrupts.stop
    done: dict[str, HostReport] = {}
    interrupts.rollout_started()
    try:
        reports = apply_plan(
            the_plan,
            ready,
            clock=SystemClock(),
            reporter=run.reporter,
            options=ApplyOptions(
                serial=req.serial or min(s.serial for s in prepared.states),
                force=req.force,
                command=run.command,
                record={
                    "user": getpass.getuser(),
                    "workstation": socket.gethostname(),
                    "inventories": list(req.inventories),
                },
            ),
            stop=stop,
            reports=done,
        )
    except KeyboardInterrupt:
        by = "Ctrl-C" if interrupts.first == signal.SIGINT else "SIGTERM (or its grace ended)"
        reports = _aborted_reports(run, the_plan, done, by=by)
        print_recap(run.console, reports)
        return req.finish(run, reports, run_exit_code(reports, Ending.ABORTED))
    finally:
        interrupts.cancel_grace()
    code = run_exit_code(reports, Ending.STOPPED if stop.requested else Ending.COMPLETED)
    if code is ExitCode.OK and not stop.requested and sync_enabled(the_plan):
        # Only after the last host was verified; never on a failed or stopped rollout.
        code = _sync(run, the_plan, transports)
    print_recap(run.console, reports)
    return req.finish(run, reports, code)


@click.command()
@common_inventory_options
@limit_option
@_ssh_options
@click.option(
    "--serial",
    type=click.IntRange(min=1),
    default=None,
    help="Hosts changed at once (default 1, or the inventory's `serial`).",
)
@click.option("--check", is_flag=True, help="Plan only, with apply's output; exit 2 if changes.")
@click.option("--diff", "show_diff", is_flag=True, help="Show the unified diff of each manifest.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--force", is_flag=True, help="Start although some hosts are not ready or have stray files."
)
@click.option(
    "--repair",
    is_flag=True,
    help="Restore a host that runs the unverified push of a killed run from that run's backup.",
)
@_lock_option
@_json_option
@output_options
def apply(
    inventories: tuple[str, ...],
    extra_vars: tuple[str, ...],
    limit: str | None,
    forks: int | None,
    accept_new_host_keys: bool,
    serial: int | None,
    check: bool,
    show_diff: bool,
    yes: bool,
    force: bool,
    repair: bool,
    lock_path: str | None,
    json_path: str | None,
    verbose: int,
    no_color: bool,
) -> int:
    """Roll the rendered manifests out, one control-plane host at a time.

    \b
    Per host: preflight (plan still current, referenced files exist, kubelet runs, lock),
    backup (outside the manifests folder), atomic push, wait for kubelet to restart the pod,
    verify (/readyz, /metrics, /livez, /healthz, /version, componentstatuses, args, soak).
    On failure the host is rolled back and verified, the rest skipped: exit 3
    (4 if the rollback failed, with the commands to recover by hand).
    """
    run = _start("apply", no_color, verbose, to_stderr=json_path == "-")
    request = _Request(
        inventories=inventories,
        extra_vars=extra_vars,
        limit=limit,
        forks=forks,
        accept_new=accept_new_host_keys,
        serial=serial,
        check=check,
        show_diff=show_diff,
        yes=yes,
        force=force,
        json_path=json_path,
        metrics_path=None,
        lock_path=lock_path,
        repair=repair,
    )
    return _rollout(run, request)


@click.command()
@common_inventory_options
@limit_option
@_ssh_options
@click.option("--check", is_flag=True, help="Report drift only (exit 2 when any), change nothing.")
@click.option(
    "--metrics",
    "metrics_path",
    metavar="FILE",
    default=None,
    help="Write Prometheus text format for node_exporter's textfile collector.",
)
@_lock_option
@click.option(
    "--max-hosts",
    type=click.IntRange(min=1),
    default=None,
    help="Refuse to change more hosts than this in one run (a safety valve).",
)
@click.option(
    "--repair",
    is_flag=True,
    help="Opt-in: restore a host running a killed run's unverified push from its backup.",
)
@click.option("--diff", "show_diff", is_flag=True, help="Show the unified diff of each manifest.")
@_json_option
@output_options
def converge(
    inventories: tuple[str, ...],
    extra_vars: tuple[str, ...],
    limit: str | None,
    forks: int | None,
    accept_new_host_keys: bool,
    check: bool,
    metrics_path: str | None,
    lock_path: str | None,
    max_hosts: int | None,
    repair: bool,
    show_diff: bool,
    json_path: str | None,
    verbose: int,
    no_color: bool,
) -> int:
    """Unattended apply for schedules (systemd timer, cron): never asks, never forces.

    Same safety rules as apply. One run at a time on this workstation (local lock, exit 7)
    and per host (remote lock). Writes the JSON report, the metrics file and the run history.
    """
    run = _start("converge", no_color, verbose, to_stderr=json_path == "-")
    request = _Request(
        inventories=inventories,
        extra_vars=extra_vars,
        limit=limit,
        forks=forks,
        accept_new=accept_new_host_keys,
        serial=None,
        check=check,
        show_diff=show_diff,
        yes=True,
        force=False,
        json_path=json_path,
        metrics_path=metrics_path,
        lock_path=lock_path,
        max_hosts=max_hosts,
        repair=repair,
    )
    return _rollout(run, request)


@click.command()
@common_inventory_options
@limit_option
@_ssh_options
@click.option(
    "--soak",
    "soak_s",
    type=float,
    default=0.0,
    show_default=True,
    help="Seconds to watch each container for restarts.",
)
@_json_option
@output_options
def verify(
    inventories: tuple[str, ...],
    extra_vars: tuple[str, ...],
    limit: str | None,
    forks: int | None,
    accept_new_host_keys: bool,
    soak_s: float,
    json_path: str | None,
    verbose: int,
    no_color: bool,
) -> int:
    """Verify every selected host's running apiserver, changing nothing.

    /readyz, /metrics (parses, counts requests), /livez, /healthz, /version (matches the
    image tag), componentstatuses read from that host, and the running container's args
    equal to the rendered manifest.
    """
    run = _start("verify", no_color, verbose, to_stderr=json_path == "-")
    prepared: Prepared | None = None
    with handle_interrupts() as interrupts:
        try:
            prepared = run.learn_secrets(prepare(inventories, extra_vars=extra_vars, limit=limit))
            return _verify_hosts(run, prepared, forks, accept_new_host_keys, soak_s, json_path)
        except KeyboardInterrupt:
            reports = _interrupted_reports(run, prepared, interrupts.first)
            return _finish(
                run, reports, run_exit_code(reports, Ending.INTERRUPTED), json_path=json_path
            )


def _verify_hosts(
    run: _Run,
    prepared: Prepared,
    forks: int | None,
    accept_new_host_keys: bool,
    soak_s: float,
    json_path: str | None,
) -> int:
    from deployer.model.events import SystemClock
    from deployer.rollout.verify import verify_hosts

    # Connected first: verify's checks run on open connections, and a host that cannot be
    # reached is reported unreachable (exit 5), not failed.
    with _connected(
        prepared, forks=forks, accept_new=accept_new_host_keys, lazy=False
    ) as transports:
        final = verify_hosts(
            prepared.states,
            prepared.manifests,
            transports,
            clock=SystemClock(),
            reporter=run.reporter,
            run_id=run.run_id,
            soak_s=soak_s,
            forks=forks,
        )
    print_recap(run.console, final)
    return _finish(run, final, run_exit_code(final), json_path=json_path)


def register(group: click.Group) -> None:
    """Attach the host commands to the top-level group."""
    for command in (plan, apply, verify, converge):
        group.add_command(command)
