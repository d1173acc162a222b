"""The version-skew rule of a rollout (DESIGN.md rule 11), checked before any host is touched.

Upstream's skew policy for an HA control plane: the newest and the oldest kube-apiserver must be
within one minor. A rollout changes hosts one at a time, so while it runs the cluster holds both
the versions hosts run now and the versions they are moving to. Hence three refusals, all
before apply writes anything (and in ``plan``, so an operator sees them first):

* the hosts already differ by more than one minor (repair that by hand first);
* a host would jump more than one minor (upgrade through each minor, one rollout each);
* the versions before and after, together, span more than one minor.

What a host runs now is read from its live manifest's image tag (``...:v1.35.7``); a host with
no manifest or an image without a version tag is left out (nothing to compare).
"""

from __future__ import annotations

from collections.abc import Sequence

from deployer.errors import InputError, InputProblem
from deployer.model.plan import HostPlan
from deployer.podspec import compare
from deployer.render.parse import APISERVER_CONTAINER
from deployer.versions import minor_key, parse_version

__all__ = ["check_skew", "running_minor", "skew_problems"]


def _image_minor(image: object) -> str | None:
    if not isinstance(image, str):
        return None
    tail = image.rsplit("/", 1)[-1].split("@", 1)[0]
    if ":" not in tail:
        return None
    parsed = parse_version(tail.split(":", 1)[1])
    return parsed[0] if parsed else None


def running_minor(plan: HostPlan) -> str | None:
    """The minor the host's live manifest runs (its image tag), None when unknown."""
    if plan.observed is None or plan.observed.manifest is None:
        return None
    # The planner's parse of the same bytes, remembered (a manifest is parsed once per host).
    pod = compare.load_pod(plan.observed.manifest)
    if not isinstance(pod, dict):
        return None
    spec = pod.get("spec")
    containers = spec.get("containers") if isinstance(spec, dict) else None
    for container in containers if isinstance(containers, list) else []:
        if isinstance(container, dict) and container.get("name") == APISERVER_CONTAINER:
            return _image_minor(container.get("image"))
    return None


def _number(minor: str) -> int:
    return minor_key(minor)[1]


def _span(versions: dict[str, str]) -> tuple[tuple[str, str], tuple[str, str]]:
    """((oldest host, minor), (newest host, minor)) of ``host -> minor``."""
    ordered = sorted(versions.items(), key=lambda item: (minor_key(item[1]), item[0]))
    return ordered[0], ordered[-1]


def skew_problems(hosts: Sequence[HostPlan]) -> list[InputProblem]:
    """Every way the planned rollout would break the skew rule (empty: it may go ahead)."""
    now = {p.name: m for p in hosts if (m := running_minor(p)) is not None}
    problems: list[InputProblem] = []
    if now:
        (old_host, oldest), (new_host, newest) = _span(now)
        if _number(newest) - _number(oldest) > 1:
            problems.append(
                InputProblem(
                    f"the control plane already spans {oldest} ({old_host}) to {newest} "
                    f"({new_host}): more than one minor apart, against the upstream skew policy",
                    host=old_host,
                    hint=f"bring {old_host} within one minor of {newest} by hand (or with "
                    "--limit and one minor at a time) before any other change",
                )
            )
            return problems
    for plan in hosts:
        current = now.get(plan.name)
        target = plan.state.kubernetes_minor
        if current is not None and abs(_number(target) - _number(current)) > 1:
            way = "an upgrade" if _number(target) > _number(current) else "a downgrade"
            step = f"1.{_number(current) + (1 if way == 'an upgrade' else -1)}"
            origin = plan.state.host.origins.get("kubernetes_version")
            problems.append(
                InputProblem(
                    f"{plan.name} runs {current}; kubernetes_version {target} is {way} of more "
                    "than one minor in one rollout",
                    file=origin.file if origin else None,
                    line=origin.line if origin else None,
                    host=plan.name,
                    hint=f"roll out {step} to every host first, then the next minor",
                )
            )
    if problems or not now:
        return problems
    during = dict(now)
    for plan in hosts:
        during[f"{plan.name}, after this rollout"] = plan.state.kubernetes_minor
    (old_host, oldest), (new_host, newest) = _span(during)
    if _number(newest) - _number(oldest) > 1:
        problems.append(
            InputProblem(
                f"during this rollout the control plane would span {oldest} ({old_host}) to "
                f"{newest} ({new_host}): more than one minor apart",
                host=old_host.split(",", 1)[0],
                hint="move every host to the same minor first, then upgrade one minor",
            )
        )
    return problems


def check_skew(hosts: Sequence[HostPlan]) -> None:
    """Refuse a plan that breaks the skew rule; nothing has been touched when this raises.

    Raises:
        InputError: the rollout would break the upstream version-skew policy (exit 6).
    """
    problems = skew_problems(hosts)
    if problems:
        raise InputError(problems)
