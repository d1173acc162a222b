"""Read and (opt-in) update ``kube-system/kubeadm-config`` through a host's apiserver.

Why here and not per host: the ConfigMap is the cluster's, so it is read once per run through
the first reachable selected host (its own apiserver, the admin credentials of its
``kubeconfig``), compared with every selected host's flags, and the result is attached to each
host's plan (a note and the ``kubeadm_config`` drift field). With ``kubeadm_config_sync: true``
it is updated in one PUT carrying the ``resourceVersion`` that was read, only after the last
host of the rollout was verified (a failed or stopped rollout leaves it untouched); a 409
conflict is read again and retried once. The data as it was is kept in ``backup_dir`` on that
host first.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from deployer.desired import DesiredState
from deployer.errors import DeployerError
from deployer.facts.kubeadm_config import (
    KubeadmConfig,
    KubeadmConfigError,
    compare,
    parse_config_map,
    updated_config_map,
)
from deployer.facts.kubeconfig import KubeconfigCredentials, KubeconfigError, parse_kubeconfig
from deployer.model.plan import HostPlan, Plan
from deployer.transport.base import Transport

__all__ = [
    "KubeadmRead",
    "KubeadmSync",
    "attach_kubeadm_config",
    "read_kubeadm_config",
    "sync_enabled",
    "sync_kubeadm_config",
]

_PATH = "/api/v1/namespaces/kube-system/configmaps/kubeadm-config"


@dataclass(frozen=True, slots=True)
class KubeadmSync:
    """The outcome of a sync: ok, what was done, and where the old data was kept."""

    ok: bool
    detail: str
    backup: str | None = None


def _credentials(state: DesiredState, transport: Transport) -> KubeconfigCredentials:
    content = transport.read(state.on_host(state.kubeconfig), sudo=state.become)
    if content is None:
        raise KubeconfigError(f"{state.kubeconfig} does not exist on {state.host.name}")
    return parse_kubeconfig(content)


def _request(
    state: DesiredState,
    transport: Transport,
    creds: KubeconfigCredentials,
    *,
    method: str = "GET",
    body: bytes | None = None,
) -> tuple[int, bytes]:
    key = creds.client_key_pem.value.encode() if creds.client_key_pem else None
    response = transport.https_get(
        state.probe_address,
        state.probe_port,
        _PATH,
        ca_pem=creds.ca_pem,
        client_cert_pem=creds.client_cert_pem,
        client_key_pem=key,
        timeout_s=10.0,
        method=method,
        body=body,
    )
    return response.status, response.body


def read_kubeadm_config(
    state: DesiredState, transport: Transport
) -> tuple[KubeadmConfig | None, str | None]:
    """Read kubeadm-config through ``state``'s host.

    Returns ``(config, None)``; ``(None, None)`` when there is no such ConfigMap (not a
    kubeadm cluster); ``(None, why)`` when it could not be read.
    """
    try:
        creds = _credentials(state, transport)
        status, body = _request(state, transport, creds)
    except (DeployerError, KubeconfigError, OSError) as exc:
        return None, f"kubeadm-config not read through {state.host.name}: {exc}"
    if status == 404:
        return None, None
    if status != 200:
        return None, f"kubeadm-config not read through {state.host.name}: HTTP {status}"
    try:
        return parse_config_map(json.loads(body)), None
    except (ValueError, KubeadmConfigError) as exc:
        return None, f"kubeadm-config unreadable: {exc}"


def _inputs(plan: Plan) -> tuple[list[Mapping[str, str]], list[Mapping[str, Any]]]:
    states = [p.state for p in plan.hosts]
    flags = [s.flags for s in states]
    volumes = list(states[0].extra_volumes) if states else []
    return flags, volumes


def _reader(
    plan: Plan, transports: Mapping[str, Transport | DeployerError]
) -> tuple[HostPlan, Transport] | None:
    for host_plan in plan.hosts:
        transport = transports.get(host_plan.name)
        if transport is not None and not isinstance(transport, DeployerError):
            return host_plan, transport
    return None


#: What :func:`read_kubeadm_config` returned, read ahead through the host named first.
KubeadmRead = tuple[str, tuple[KubeadmConfig | None, str | None]]


def attach_kubeadm_config(
    plan: Plan,
    transports: Mapping[str, Transport | DeployerError],
    *,
    read_ahead: KubeadmRead | None = None,
) -> Plan:
    """Read kubeadm-config once and attach what ``kubeadm upgrade`` would revert to each host.

    ``read_ahead`` is that read already done (while the hosts were being observed); it is used
    when it went through the host this would read through.
    """
    found = _reader(plan, transports)
    if found is None:
        return plan
    reader, transport = found
    if read_ahead is not None and read_ahead[0] == reader.name:
        config, problem = read_ahead[1]
    else:
        config, problem = read_kubeadm_config(reader.state, transport)
    if config is None and problem is None:
        return plan  # not a kubeadm cluster
    flags, volumes = _inputs(plan)
    lines = tuple(compare(config, flags, volumes)) if config else (str(problem),)
    hosts = tuple(
        dataclasses.replace(p, kubeadm_config=lines, notes=(*p.notes, *lines))
        if p.unreachable is None
        else p
        for p in plan.hosts
    )
    return dataclasses.replace(plan, hosts=hosts)


def sync_enabled(plan: Plan) -> bool:
    """True when every selected host's inventory says ``kubeadm_config_sync: true``."""
    return bool(plan.hosts) and all(
        p.state.host.vars.get("kubeadm_config_sync") is True for p in plan.hosts
    )


def sync_kubeadm_config(
    plan: Plan, transports: Mapping[str, Transport | DeployerError], *, run_id: str
) -> KubeadmSync:
    """Update kubeadm-config to the inventory (one PUT with the read ``resourceVersion``)."""
    found = _reader(plan, transports)
    if found is None:
        return KubeadmSync(False, "no host to reach kubeadm-config through")
    state, transport = found[0].state, found[1]
    flags, volumes = _inputs(plan)
    backup: str | None = None
    for attempt in (1, 2):
        config, problem = read_kubeadm_config(state, transport)
        if config is None:
            return KubeadmSync(problem is None, problem or "no kubeadm-config: nothing to sync")
        if not compare(config, flags, volumes):
            return KubeadmSync(True, "kubeadm-config already matches the inventory", backup)
        if backup is None:
            path = state.backup_dir / f"deployer-kubeadm-config-{run_id}.json"
            old = json.dumps(config.config_map, indent=1, sort_keys=True).encode()
            try:
                transport.put_atomic(old, state.on_host(path), mode=0o600, sudo=state.become)
            except (DeployerError, OSError) as exc:
                return KubeadmSync(False, f"kubeadm-config not changed: backup failed: {exc}")
            backup = str(path)
        body = json.dumps(updated_config_map(config, flags, volumes)).encode()
        try:
            creds = _credentials(state, transport)
            status, answer = _request(state, transport, creds, method="PUT", body=body)
        except (DeployerError, KubeconfigError, OSError) as exc:
            return KubeadmSync(False, f"kubeadm-config update failed: {exc}", backup)
        if status == 200:
            version = json.loads(answer).get("metadata", {}).get("resourceVersion")
            return KubeadmSync(True, f"kubeadm-config updated (resourceVersion {version})", backup)
        if status != 409 or attempt == 2:
            return KubeadmSync(
                False,
                f"kubeadm-config update refused: HTTP {status} (changed by someone else twice?)",
                backup,
            )
    return KubeadmSync(False, "unreachable", backup)  # pragma: no cover - loop returns
