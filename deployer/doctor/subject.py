"""The host being examined: its connection, its plan, and the flags its live manifest runs.

Why the live manifest's flags and not the inventory's: doctor explains what the host runs now
(an apiserver that drifted, or a change that is not applied yet), so the etcd endpoints, the
certificate files and the address it probes are the ones the running pod was given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from deployer.errors import DeployerError, RolloutError
from deployer.facts.kubeconfig import KubeconfigCredentials
from deployer.model.plan import HostPlan
from deployer.phases.context import HostContext
from deployer.phases.verify import read_credentials
from deployer.render.parse import ManifestError, manifest_argv, parse_flags
from deployer.transport.base import HttpResponse

__all__ = ["Subject", "make_subject"]

_UNSPECIFIED = ("0.0.0.0", "::")  # noqa: S104 - flag values, not a bind


@dataclass(frozen=True, slots=True)
class Subject:
    """Everything a check group needs about one host."""

    ctx: HostContext
    plan: HostPlan
    #: The live manifest's flags (last occurrence wins, as pflag does for scalars).
    flags: Mapping[str, str]
    #: The admin credentials of the host's kubeconfig (None: unreadable, see ``creds_error``).
    creds: KubeconfigCredentials | None
    creds_error: str = ""

    def flag(self, name: str, default: str = "") -> str:
        """One flag of the running manifest."""
        return self.flags.get(name, default)

    @property
    def address(self) -> str:
        """Where the live apiserver listens (advertise, then bind address, then the host)."""
        for name in ("advertise-address", "bind-address"):
            value = self.flag(name)
            if value and value not in _UNSPECIFIED:
                return value
        return self.ctx.state.probe_address

    @property
    def port(self) -> int:
        """The live ``--secure-port``."""
        try:
            return int(self.flag("secure-port", "6443"), 0)
        except ValueError:
            return 6443

    @property
    def ca_pem(self) -> bytes | None:
        """The CA clients verify the serving certificate with (kubeconfig, else the CA file)."""
        if self.creds is not None:
            return self.creds.ca_pem
        observed = self.plan.observed
        return observed.ca_pem if observed is not None else None

    def get(self, path: str, *, authenticated: bool = True, timeout_s: float = 5.0) -> HttpResponse:
        """GET ``path`` from this host's apiserver, through its SSH connection.

        Raises:
            DeployerError: no CA to verify with, or the request failed.
        """
        ca = self.ca_pem
        if ca is None:
            raise DeployerError(f"no CA to verify TLS ({self.ctx.state.cluster_ca_file} absent)")
        creds = self.creds if authenticated else None
        key = creds.client_key_pem.value.encode() if creds and creds.client_key_pem else None
        return self.ctx.transport.https_get(
            self.address,
            self.port,
            path,
            ca_pem=ca,
            client_cert_pem=creds.client_cert_pem if creds else None,
            client_key_pem=key,
            timeout_s=timeout_s,
        )

    def read(self, path: str) -> bytes | None:
        """Read a host file (under ``host_root``), as root when the inventory says become."""
        return self.ctx.transport.read(self.ctx.path(path), sudo=self.ctx.state.become)


def live_flags(plan: HostPlan) -> dict[str, str]:
    """The flags of the live manifest (the desired ones when the host has none yet)."""
    observed = plan.observed
    manifest = observed.manifest if observed is not None else None
    source = manifest if manifest is not None else plan.desired.content
    try:
        argv = manifest_argv(source)
    except ManifestError:
        return dict(plan.state.flags)
    return {name: values[-1] for name, values in parse_flags(argv).items()}


def make_subject(ctx: HostContext, plan: HostPlan) -> Subject:
    """Gather the flags and credentials once for every group."""
    try:
        creds: KubeconfigCredentials | None = read_credentials(ctx)
        error = ""
    except (RolloutError, DeployerError) as exc:
        creds, error = None, str(exc)
    return Subject(ctx, plan, live_flags(plan), creds, error)
