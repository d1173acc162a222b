"""The manifest side: what ``plan`` says for the host, stray files, kubelet.

Why here too: an apiserver that runs an old pod because kubelet is stopped, or a second pod
from an editor's backup file in the manifests folder (DESIGN.md rule 1), looks healthy from the
network and wrong from the node.
"""

from __future__ import annotations

from deployer.doctor.model import Check, Verdict
from deployer.doctor.subject import Subject
from deployer.model.plan import ChangeKind

__all__ = ["check_manifest"]

_GROUP = "manifest"


def _plan(subject: Subject) -> Check:
    plan = subject.plan
    path = subject.ctx.state.manifest_path
    if plan.kind is ChangeKind.NONE and plan.pod_drift is None and not plan.file_drift:
        return Check(_GROUP, "plan", Verdict.OK, f"{path} in sync with the inventory")
    parts: list[str] = []
    if plan.kind is ChangeKind.CREATE:
        parts.append(f"{path} does not exist on the host")
    elif plan.kind is not ChangeKind.NONE:
        changes = ", ".join(str(c).lstrip("~+- ") for c in plan.flag_changes[:3])
        parts.append(
            f"{path} differs from the inventory ({plan.kind.value})"
            + (f": {changes}" if changes else "")
        )
    if plan.pod_drift:
        parts.append(f"the running pod differs from the file: {plan.pod_drift}")
    if plan.file_drift:
        parts.append("files changed after the apiserver started: " + ", ".join(plan.file_drift))
    return Check(
        _GROUP,
        "plan",
        Verdict.WARN,
        "; ".join(parts),
        f"deployer plan --diff --limit {subject.ctx.name} shows it; deployer apply converges it",
    )


def _strays(subject: Subject) -> Check:
    observed = subject.plan.observed
    folder = subject.ctx.state.manifest_dir
    if observed is None or observed.listing is None:
        return Check(
            _GROUP, "strays", Verdict.FAIL, f"the manifests folder {folder} does not exist"
        )
    strays = observed.stray_files(subject.ctx.state.manifest_path.name)
    if strays:
        return Check(
            _GROUP,
            "strays",
            Verdict.FAIL,
            f"kubelet runs these as extra pods: {', '.join(strays)}",
            f"move them out of {folder} (kubelet reads every file there whose name does not "
            "start with a dot)",
        )
    return Check(_GROUP, "strays", Verdict.OK, f"nothing but the manifest in {folder}")


def _kubelet(subject: Subject) -> Check:
    observed = subject.plan.observed
    rc = observed.kubelet_rc if observed is not None else None
    check = " ".join(subject.ctx.state.kubelet_check)
    if rc is None:
        return Check(_GROUP, "kubelet", Verdict.SKIP, "no kubelet check configured")
    if rc != 0:
        return Check(
            _GROUP,
            "kubelet",
            Verdict.FAIL,
            f"kubelet is not running ({check} exited {rc})",
            "start kubelet (systemctl start kubelet): without it no manifest change takes effect",
        )
    return Check(_GROUP, "kubelet", Verdict.OK, f"running ({check})")


def check_manifest(subject: Subject) -> tuple[Check, ...]:
    """Plan verdict, strays, kubelet."""
    return (_plan(subject), _strays(subject), _kubelet(subject))
