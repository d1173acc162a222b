"""A host's desired state: the inventory's variables turned into typed, checked values.

Why one place: the renderer, the validator, the planner and the lab all need the same answers
to "which version, which image, which flags, which folders" for a host, and every coercion
problem must be reported the same way (host, variable, source file).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from types import MappingProxyType

from deployer.errors import InputProblem, InventoryError
from deployer.model.desired_state import DesiredState, host_path
from deployer.model.host import Host, VarOrigin
from deployer.versions import parse_version, version_table

__all__ = [
    "DEFAULT_KUBERNETES_VERSION",
    "DesiredState",
    "desired_state",
    "desired_states",
    "flag_value_text",
    "host_path",
    "normalize_flag_name",
]

#: The version when the inventory names none: the newest minor whose facts are complete.
DEFAULT_KUBERNETES_VERSION = version_table().default.minor

#: Upper bounds of every timeout (one day) and count variable: beyond them a value is a typo,
#: and an unbounded wait would hold a host's lease (and a control-plane node) for ever.
MAX_SECONDS = 86_400.0
MAX_COUNT = 1_000.0
_KNOWN_VARS = frozenset(
    {
        "kubernetes_version",
        "kubernetes_version_fallback",
        "apiserver_image",
        "apiserver_flags",
        "apiserver_extra_volumes",
        "apiserver_extra_env",
        "apiserver_resources_cpu",
        "apiserver_checksum_files",
        "apiserver_files",  # companion files (deployer/render/companions.py)
        # adoption (deployer/render/adoption.py, written by `deployer import`)
        "apiserver_default_volumes",
        "apiserver_volume_order",
        "apiserver_flag_order",
        "apiserver_bare_flags",
        "apiserver_pod_fields",
        "apiserver_container_fields",
        "apiserver_pod_labels",
        "apiserver_pod_annotations",
        "kubeadm_config_sync",
        "manifest_dir",
        "manifest_template",
        "backup_dir",
        "backup_keep",
        "host_root",
        "crictl",
        "kubeconfig",
        "cluster_ca_file",
        "kubelet_check",
        "restart_timeout",
        "ready_timeout",
        "soak_seconds",
        "serial",
    }
)


def normalize_flag_name(name: str) -> str:
    """Return the flag name as kube-apiserver sees it: no dashes in front, ``_`` read as ``-``.

    The real binary installs component-base's ``WordSepNormalizeFunc``, so ``--etcd_servers``
    and ``--etcd-servers`` are the same flag; we store the ``-`` form.
    """
    return name.lstrip("-").replace("_", "-")


def flag_value_text(value: object) -> str:
    """Turn an inventory value into the text that follows ``--flag=`` on the command line.

    Lists render comma-joined (stringSlice semantics), booleans as ``true``/``false`` (YAML's
    ``True`` would not parse as Go's bool in every form), numbers as written.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(flag_value_text(v) for v in value)
    if isinstance(value, Mapping):
        return ",".join(f"{k}={flag_value_text(v)}" for k, v in value.items())
    return str(value)


class _Collector:
    """Gathers problems for one host so that every problem is reported, not only the first."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.problems: list[InputProblem] = []

    def bad(
        self, var: str, message: str, hint: str | None = None, *, is_warning: bool = False
    ) -> None:
        origin = self.host.origins.get(var)
        self.problems.append(
            InputProblem(
                f"variable {var}: {message}",
                file=origin.file if origin else None,
                line=origin.line if origin else None,
                host=self.host.name,
                hint=hint,
                is_warning=is_warning,
            )
        )

    def text(self, var: str, default: str) -> str:
        value = self.host.vars.get(var, default)
        if value is None:
            return default
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            self.bad(var, f"expected a string, got {type(value).__name__}")
            return default
        return str(value)

    def number(
        self,
        var: str,
        default: float,
        *,
        minimum: float = 0,
        maximum: float = MAX_SECONDS,
        whole: bool = False,
    ) -> float:
        """A finite number in ``[minimum, maximum]`` (NaN, inf and 1e400 are input errors)."""
        value = self.host.vars.get(var, default)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.bad(var, f"expected a number of seconds, got {value!r}")
            return default
        try:
            number = float(value)
        except (ValueError, OverflowError):
            self.bad(var, f"expected a number, got {str(value)[:40]!r}")
            return default
        if not math.isfinite(number):
            self.bad(var, f"must be a finite number, got {str(value)[:40]!r}")
            return default
        if not minimum <= number <= maximum:
            self.bad(var, f"must be between {minimum:g} and {maximum:g}, got {number:g}")
            return default
        if whole and not number.is_integer():
            self.bad(var, f"must be a whole number, got {number:g}")
            return default
        return number

    def absolute_path(self, var: str, default: str) -> PurePosixPath:
        text = self.text(var, default)
        if not text.startswith("/"):
            self.bad(var, f"must be an absolute path, got {text!r}")
            return PurePosixPath(default)
        return PurePosixPath(text)


def _version(c: _Collector) -> tuple[str, str, str]:
    """Return (minor, full version, schema minor) from ``kubernetes_version``.

    A minor newer than the versions table is refused unless ``kubernetes_version_fallback`` is
    true: then the newest known schema and kubeadm shape are used, with a warning on every run
    (flags added since that minor are unknown to deployer).
    """
    table = version_table()
    default = table.default
    raw = c.text("kubernetes_version", default.minor)
    parsed = parse_version(raw)
    supported = ", ".join(table.minors)
    if parsed is None:
        c.bad(
            "kubernetes_version",
            f"unsupported version {raw!r}",
            hint=f"supported: {supported} (optionally with a patch: {default.patch})",
        )
        return default.minor, default.patch, default.minor
    minor, patch = parsed
    row = table.get(minor)
    if row is not None:
        return minor, f"{minor}.{patch}" if patch else row.patch, minor
    newest = table.newest.minor
    if not table.is_newer_than_known(minor):
        c.bad(
            "kubernetes_version",
            f"unsupported version {raw!r}",
            hint=f"supported: {supported} (optionally with a patch: {default.patch})",
        )
        return default.minor, default.patch, default.minor
    full = f"{minor}.{patch or 0}"
    if _truthy(c.host.vars.get("kubernetes_version_fallback", False)):
        c.bad(
            "kubernetes_version",
            f"{minor} is newer than {newest}, the newest minor deployer knows: validating "
            f"against the {newest} flag schema and rendering {newest}'s kubeadm shape; flags "
            f"added after {newest} are unknown to deployer",
            hint=f"image tag v{full}; upgrade deployer for {minor}'s data to drop this warning",
            is_warning=True,
        )
        return minor, full, newest
    c.bad(
        "kubernetes_version",
        f"{minor} is newer than {newest}, the newest minor deployer knows",
        hint=f"set kubernetes_version_fallback: true to validate against {newest}'s schema "
        f"(flags added after {newest} stay unknown), or use a deployer that knows {minor}",
    )
    return default.minor, default.patch, default.minor


def _flags(c: _Collector) -> tuple[dict[str, str], dict[str, VarOrigin], frozenset[str]]:
    raw = c.host.vars.get("apiserver_flags", {})
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        c.bad("apiserver_flags", f"expected a mapping of flag: value, got {type(raw).__name__}")
        return {}, {}, frozenset()
    flags: dict[str, str] = {}
    origins: dict[str, VarOrigin] = {}
    lists: set[str] = set()
    for key, value in raw.items():
        name = normalize_flag_name(str(key))
        origin = c.host.origins.get(f"apiserver_flags.{key}") or c.host.origins.get(
            "apiserver_flags"
        )
        if value is None:  # null removes a flag set at a lower level; the loader already did
            continue
        if isinstance(value, Mapping | list | tuple) and not value:
            c.bad(f"apiserver_flags.{key}", "an empty list or mapping renders an empty value")
            continue
        if name in flags:
            c.bad(
                f"apiserver_flags.{key}",
                f"--{name} is set twice (as {key!r} and another spelling)",
                hint="'_' and '-' name the same flag; keep one spelling",
            )
        flags[name] = flag_value_text(value)
        if isinstance(value, list | tuple):
            lists.add(name)
        if origin is not None:
            origins[name] = origin
    return flags, origins, frozenset(lists)


def _extra_volumes(c: _Collector) -> tuple[Mapping[str, object], ...]:
    raw = c.host.vars.get("apiserver_extra_volumes", [])
    if raw is None:
        return ()
    if not isinstance(raw, list):
        c.bad("apiserver_extra_volumes", "expected a list of {name, hostPath, mountPath}")
        return ()
    volumes: list[Mapping[str, object]] = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping) or not {"name", "hostPath", "mountPath"} <= set(item):
            c.bad(
                "apiserver_extra_volumes",
                f"item {i} needs name, hostPath and mountPath (readOnly, pathType optional)",
            )
            continue
        volumes.append(MappingProxyType(dict(item)))
    return tuple(volumes)


def _extra_env(c: _Collector) -> Mapping[str, str]:
    raw = c.host.vars.get("apiserver_extra_env", {})
    if raw is None:
        return MappingProxyType({})
    if not isinstance(raw, Mapping):
        c.bad("apiserver_extra_env", "expected a mapping of NAME: value")
        return MappingProxyType({})
    return MappingProxyType({str(k): flag_value_text(v) for k, v in raw.items()})


def _checksum_files(c: _Collector) -> tuple[str, ...]:
    raw = c.host.vars.get("apiserver_checksum_files", [])
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(p, str) and p.startswith("/") for p in raw):
        c.bad("apiserver_checksum_files", "expected a list of absolute host paths")
        return ()
    return tuple(raw)


def _truthy(value: object) -> bool:
    """Ansible's truthiness for booleans written as strings in INI inventories."""
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on", "y"}
    return bool(value)


def _kubelet_check(c: _Collector) -> tuple[str, ...]:
    raw = c.host.vars.get("kubelet_check", ["systemctl", "is-active", "--quiet", "kubelet"])
    if raw is None or raw == []:
        return ()
    if isinstance(raw, str):
        return tuple(raw.split())
    if isinstance(raw, list) and all(isinstance(a, str | int) for a in raw):
        return tuple(str(a) for a in raw)
    c.bad("kubelet_check", "expected a command as a list of arguments")
    return ()


def desired_state(host: Host) -> tuple[DesiredState, list[InputProblem]]:
    """Derive ``host``'s desired state and every problem with its variables.

    Returns the state (with defaults where a variable was bad) and the problems; callers that
    must not go on with problems use :func:`desired_states`.
    """
    c = _Collector(host)
    minor, full, schema_minor = _version(c)
    flags, flag_origins, list_flags = _flags(c)
    image = c.text("apiserver_image", f"registry.k8s.io/kube-apiserver:v{full}")
    serial = int(c.number("serial", 1, minimum=1, maximum=MAX_COUNT, whole=True))
    state = DesiredState(
        host=host,
        kubernetes_minor=minor,
        kubernetes_version=full,
        schema_minor=schema_minor,
        image=image,
        flags=MappingProxyType(flags),
        flag_origins=MappingProxyType(flag_origins),
        list_flags=list_flags,
        manifest_dir=c.absolute_path("manifest_dir", "/etc/kubernetes/manifests"),
        template=c.text("manifest_template", "kube-apiserver.yaml.j2"),
        backup_dir=c.absolute_path("backup_dir", "/etc/kubernetes/tmp"),
        backup_keep=int(c.number("backup_keep", 10, minimum=1, maximum=MAX_COUNT, whole=True)),
        host_root=str(c.absolute_path("host_root", "/")),
        crictl=c.text("crictl", "crictl"),
        kubeconfig=c.absolute_path("kubeconfig", "/etc/kubernetes/admin.conf"),
        cluster_ca_file=c.absolute_path("cluster_ca_file", "/etc/kubernetes/pki/ca.crt"),
        kubelet_check=_kubelet_check(c),
        become=_truthy(host.vars.get("ansible_become", False)),
        restart_timeout_s=c.number("restart_timeout", 300, minimum=1),
        ready_timeout_s=c.number("ready_timeout", 300, minimum=1),
        soak_s=c.number("soak_seconds", 30),
        # (every number above is finite and bounded: see _Collector.number)
        serial=serial,
        extra_volumes=_extra_volumes(c),
        extra_env=_extra_env(c),
        checksum_files=_checksum_files(c),
    )
    _check_backup_dir(c, state)
    return state, c.problems


def _check_backup_dir(c: _Collector, state: DesiredState) -> None:
    """Refuse a backup folder inside (or equal to) the manifests folder (DESIGN.md rule 1).

    kubelet runs every non-dot file there: a backup or a lock file would become a pod, or stay
    in the manifests folder for good.
    """
    manifests, backups = state.manifest_dir, state.backup_dir
    if backups == manifests or manifests in backups.parents:
        c.bad(
            "backup_dir",
            f"{backups} is inside the manifests folder {manifests}; kubelet would run the "
            "backups and lock files there (use e.g. /etc/kubernetes/tmp)",
        )


def desired_states(hosts: Sequence[Host]) -> tuple[DesiredState, ...]:
    """Derive every host's desired state, or raise with every problem of every host.

    Raises:
        InventoryError: one or more variables are unusable.
    """
    states: list[DesiredState] = []
    problems: list[InputProblem] = []
    for host in hosts:
        state, host_problems = desired_state(host)
        states.append(state)
        problems.extend(host_problems)
    if any(not p.is_warning for p in problems):
        raise InventoryError(problems)
    return tuple(states)


def known_variables() -> frozenset[str]:
    """Return the inventory variables deployer reads (for docs and typo hints)."""
    return _KNOWN_VARS
