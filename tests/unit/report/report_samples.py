"""Run reports built by hand: a good run, a drift-only run, a rolled-back run and more."""

from __future__ import annotations

from pathlib import PurePosixPath

from deployer.errors import ApplyStopped, RolloutError, UnreachableError
from deployer.model.report import HostReport, Outcome, PhaseRecord, RunReport

T0 = 1_795_000_000.0  # 2026-11-18T11:06:40Z

KEY_PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "-----END RSA PRIVATE KEY-----\n"
)


def phases(t: float, *spec: tuple[str, bool, float]) -> tuple[PhaseRecord, ...]:
    records = []
    for name, ok, seconds in spec:
        records.append(
            PhaseRecord(
                phase=name,
                ok=ok,
                duration_s=seconds,
                detail=f"{name} done" if ok else f"{name} failed",
                started_at=t,
                finished_at=t + seconds,
            )
        )
        t += seconds
    return tuple(records)


def good_run() -> RunReport:
    """converge: cp1 changed and verified, cp2 and cp3 already in sync."""
    steps: tuple[tuple[str, bool, float], ...] = (
        ("preflight", True, 0.5),
        ("backup", True, 0.25),
        ("push", True, 0.25),
    )
    steps += (("restart", True, 12.0), ("verify", True, 3.0))
    return RunReport(
        run_id="20261117-001",
        command="converge",
        started_at=T0,
        finished_at=T0 + 20.0,
        exit_code=0,
        hosts=(
            HostReport(
                host="cp1",
                outcome=Outcome.CHANGED,
                phases=phases(T0 + 1, *steps),
                diff="-    - --v=2\n+    - --v=4\n",
                backup_path=PurePosixPath(
                    "/etc/kubernetes/tmp/deployer-backup-2026-11-17-20-26-40/kube-apiserver.yaml"
                ),
                details=(
                    ("restart", {"old_container": "aaa111", "new_container": "bbb222", "s": 12.0}),
                    ("verify", {"readyz": {"ok": True, "detail": "ok"}}),
                    ("drift", {"detected": True, "flags": ["v"]}),
                ),
            ),
            HostReport(
                host="cp2", outcome=Outcome.UNCHANGED, phases=phases(T0 + 2, ("plan", True, 0.5))
            ),
            HostReport(host="cp3", outcome=Outcome.UNCHANGED),
        ),
    )


def drift_only_run() -> RunReport:
    """plan: two hosts differ from the inventory, nothing changed (exit 2)."""
    return RunReport(
        run_id="20261117-002",
        command="plan",
        started_at=T0,
        finished_at=T0 + 4.0,
        exit_code=2,
        hosts=(
            HostReport(host="cp1", outcome=Outcome.PENDING, diff="+    - --audit-log-maxage=30\n"),
            HostReport(host="cp2", outcome=Outcome.PENDING, diff="+    - --audit-log-maxage=30\n"),
            HostReport(host="cp3", outcome=Outcome.UNCHANGED),
        ),
    )


def rolled_back_run() -> RunReport:
    """apply: cp1 failed verification and was rolled back; cp2, cp3 skipped (exit 3)."""
    steps: tuple[tuple[str, bool, float], ...] = (
        ("preflight", True, 0.5),
        ("backup", True, 0.25),
        ("push", True, 0.25),
    )
    steps += (("restart", True, 10.0), ("verify", False, 30.0), ("rollback", True, 1.0))
    steps += (("restart", True, 9.0), ("verify", True, 2.0))
    error = RolloutError(
        "/readyz stayed 500 for 30 s; token=abcdef0123456789 in the log",
        host="cp1",
        phase="verify",
        hint="look at the container's log with crictl logs",
    )
    return RunReport(
        run_id="20261117-003",
        command="apply",
        started_at=T0,
        finished_at=T0 + 60.0,
        exit_code=3,
        hosts=(
            HostReport(
                host="cp1",
                outcome=Outcome.ROLLED_BACK,
                phases=phases(T0 + 1, *steps),
                diff="+    - --oidc-issuer-url=https://bad\n",
                backup_path=PurePosixPath(
                    "/etc/kubernetes/tmp/deployer-backup-x/kube-apiserver.yaml"
                ),
                error=error,
                details=(
                    ("verify", [{"probe": "readyz", "ok": False, "detail": "etcd failed"}]),
                    ("attempts", 2),
                ),
            ),
            HostReport(host="cp2", outcome=Outcome.SKIPPED, error=ApplyStopped("cp1 failed")),
            HostReport(host="cp3", outcome=Outcome.SKIPPED),
        ),
    )


def secret_laden_run() -> RunReport:
    """A report whose diff, details and error quote credentials that must never appear."""
    diff = (
        "+    - --token-auth-file=/etc/kubernetes/tokens.csv\n"
        "+    - --oidc-client-secret=hunter2hunter2\n"
        "+  client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQo=\n"
        + "".join(f"+{line}\n" for line in KEY_PEM.splitlines())
    )
    return RunReport(
        run_id="20261117-004",
        command="plan",
        started_at=T0,
        finished_at=T0 + 1.0,
        exit_code=5,
        hosts=(
            HostReport(
                host="cp1",
                outcome=Outcome.UNREACHABLE,
                diff=diff,
                error=UnreachableError(
                    "ssh said: Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.payload.sig",
                    host="cp1",
                    hint="check ssh://deployer:pa55w0rd@cp1",
                ),
                phases=phases(T0, ("connect", False, 0.5)),
                details=(("drift", {"token": "s3cr3t-t0ken", "note": KEY_PEM}),),
            ),
        ),
    )


ALL = {
    "good": good_run,
    "drift_only": drift_only_run,
    "rolled_back": rolled_back_run,
    "secret_laden": secret_laden_run,
}
