"""Check a rendered manifest before it goes anywhere near a host.

Why check what we rendered ourselves: templates can be overridden per host or group, and a
template mistake (a lost flag, a second container, a flag's file outside every mount, a
read-only audit log folder) would otherwise surface as an apiserver that does not start,
discovered host by host during the rollout. Every problem is collected, none raised, so the
operator sees them all at once.
"""

from __future__ import annotations

import posixpath
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from deployer.companions.facts import flag_kinds
from deployer.desired import DesiredState
from deployer.errors import InputProblem
from deployer.model.manifest import Manifest
from deployer.render.context import DEFAULT_SECURE_PORT, endpoint_and_probe_host, secure_port
from deployer.render.fastload import PodLoader
from deployer.render.parse import APISERVER_CONTAINER, ManifestError, load_pod
from deployer.render.paths import PATH_FLAGS, ReferencedFile, referenced_files

__all__ = [
    "ENDPOINT_ANNOTATION",
    "ManifestChecker",
    "MountPoint",
    "check_manifest",
    "check_manifests",
    "covering_mount",
    "mount_points",
]

#: kubeadm reads the apiserver's advertised endpoint from this annotation (upgrade, join).
ENDPOINT_ANNOTATION = "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"

_MAX_MEMO = 1024
_PROBES = (("livenessProbe", "/livez"), ("readinessProbe", "/readyz"), ("startupProbe", "/livez"))


@dataclass(frozen=True, slots=True)
class MountPoint:
    """A container mount and the volume behind it (paths normalized, as text)."""

    name: str
    mount_path: str
    read_only: bool
    #: The hostPath behind the mount; ``None`` when the volume is missing or not a hostPath.
    host_path: str | None


class _Problems:
    """Collects one host's problems with a common shape."""

    def __init__(self, state: DesiredState) -> None:
        self.state = state
        self.items: list[InputProblem] = []

    def add(self, message: str, *, flag: str | None = None, hint: str | None = None) -> None:
        origin = self.state.flag_origins.get(flag) if flag else None
        self.items.append(
            InputProblem(
                f"manifest rendered from {self.state.template}: {message}",
                file=origin.file if origin else None,
                line=origin.line if origin else None,
                host=self.state.host.name,
                flag=flag,
                hint=hint,
            )
        )

    def warn(self, message: str, *, hint: str | None = None) -> None:
        self.items.append(
            InputProblem(
                f"manifest rendered from {self.state.template}: {message}",
                host=self.state.host.name,
                hint=hint,
                is_warning=True,
            )
        )


def _mapping(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _normalized(path: str) -> str:
    # Cheap test first: this runs for every mount of every host.
    if "//" in path or path.endswith("/") or "/." in path:
        return posixpath.normpath(path)
    return path


def mount_points(pod: Mapping[str, object], container: Mapping[str, object]) -> list[MountPoint]:
    """Return the container's mounts joined with the pod's volumes (hostPath or ``None``)."""
    host_paths: dict[str, str | None] = {}
    for volume in _list(_mapping(pod.get("spec")).get("volumes")):
        volume = _mapping(volume)
        path = _mapping(volume.get("hostPath")).get("path")
        host_paths[str(volume.get("name"))] = (
            _normalized(path) if isinstance(path, str) and path else None
        )
    mounts: list[MountPoint] = []
    for mount in _list(container.get("volumeMounts")):
        mount = _mapping(mount)
        path = mount.get("mountPath")
        if not isinstance(path, str) or not path:
            continue
        name = str(mount.get("name"))
        read_only = mount.get("readOnly") is True
        mounts.append(MountPoint(name, _normalized(path), read_only, host_paths.get(name)))
    return mounts


def covering_mount(mounts: Sequence[MountPoint], path: str | PurePosixPath) -> MountPoint | None:
    """Return the mount a container path is reached through: the deepest one containing it."""
    # String prefixes: PurePosixPath.parents is ~50x slower, and this runs flags x mounts times
    # per host.
    target = _normalized(str(path))
    best: MountPoint | None = None
    best_length = -1
    for mount in mounts:
        base = mount.mount_path
        inside = target == base or target.startswith(base if base == "/" else base + "/")
        if inside and len(base) > best_length:
            best, best_length = mount, len(base)
    return best


def _check_identity(pod: dict[str, object], out: _Problems) -> None:
    if pod.get("apiVersion") != "v1" or pod.get("kind") != "Pod":
        got = f"{pod.get('apiVersion')!r}, {pod.get('kind')!r}"
        out.add(f"expected apiVersion v1, kind Pod; got {got}")
    metadata = _mapping(pod.get("metadata"))
    if metadata.get("name") != "kube-apiserver" or metadata.get("namespace") != "kube-system":
        out.add(
            "expected a pod named kube-apiserver in kube-system; got "
            f"{metadata.get('name')!r} in {metadata.get('namespace')!r}"
        )
    if "uid" in metadata:
        out.add(
            "metadata.uid is set; kubelet derives a static pod's UID from its content",
            hint="remove uid from the template (a fixed UID hides changes from kubelet)",
        )
    if _mapping(pod.get("spec")).get("hostNetwork") is not True:
        out.add("spec.hostNetwork is not true; the apiserver must listen on the node's addresses")


def _check_flags(argv: list[str], state: DesiredState, out: _Problems) -> None:
    if not argv or argv[0] != "kube-apiserver":
        out.add(f"command[0] is {argv[0] if argv else None!r}, expected 'kube-apiserver'")
    seen: dict[str, list[str]] = {}
    bare = state.host.vars.get("apiserver_bare_flags")
    bare_flags = {str(b).lstrip("-") for b in bare} if isinstance(bare, list) else set()
    for arg in argv[1:]:
        name, sep, value = arg[2:].partition("=")
        if not sep and name in bare_flags:
            value = "true"  # a bare boolean flag (apiserver_bare_flags), as pflag reads it
        elif not arg.startswith("--") or not sep or not name:
            out.add(f"argument {arg!r} is not in --name=value form")
            continue
        seen.setdefault(name.replace("_", "-"), []).append(value)
    for flag, wanted in sorted(state.flags.items()):
        values = seen.get(flag, [])
        if not values:
            out.add(f"--{flag} is missing from the command", flag=flag)
        elif len(values) > 1:
            out.add(f"--{flag} appears {len(values)} times; it must appear once", flag=flag)
        elif values[0] != wanted:
            out.add(f"--{flag} is {values[0]!r}, the inventory says {wanted!r}", flag=flag)
    for flag in sorted(set(seen) - set(state.flags)):
        out.add(
            f"--{flag} is in the command but not in the inventory",
            flag=flag,
            hint="set every flag in apiserver_flags; templates must not add their own",
        )


def _port(state: DesiredState) -> int:
    return secure_port(state.flags) or DEFAULT_SECURE_PORT


def _named_port(container: dict[str, object], name: str) -> object:
    """The ``containerPort`` of the container port called ``name`` (None when absent)."""
    ports = container.get("ports")
    for item in ports if isinstance(ports, list) else []:
        entry = _mapping(item)
        if entry.get("name") == name:
            return entry.get("containerPort")
    return None


def _check_probes(container: dict[str, object], state: DesiredState, out: _Problems) -> None:
    port = _port(state)
    advertise = state.flags.get("advertise-address", "").strip()
    host = endpoint_and_probe_host(advertise, port)[1] if advertise else "127.0.0.1"
    for probe, path in _PROBES:
        get = _mapping(_mapping(container.get(probe)).get("httpGet"))
        probe_port = get.get("port")
        if isinstance(probe_port, str) and _named_port(container, probe_port) == port:
            probe_port = port  # kubeadm 1.34+: a named container port for the secure port
        shape = (get.get("path"), probe_port, get.get("scheme"), get.get("host") or "")
        if shape != (path, port, "HTTPS", host):
            where = f"{host}:{port}" if host else f"<pod IP>:{port}"
            out.add(
                f"{probe} must be an HTTPS GET of {path} on {where} (kubeadm's probe shape); "
                f"found path {shape[0]!r}, port {shape[1]!r}, scheme {shape[2]!r}, "
                f"host {shape[3]!r}"
            )


def _check_annotation(pod: dict[str, object], state: DesiredState, out: _Problems) -> None:
    annotations = _mapping(_mapping(pod.get("metadata")).get("annotations"))
    advertise = state.flags.get("advertise-address", "").strip()
    if not advertise:
        out.warn(
            f"no --advertise-address, so no {ENDPOINT_ANNOTATION} annotation",
            hint="kubeadm upgrade and join read the endpoint from it; set advertise-address",
        )
        return
    expected = endpoint_and_probe_host(advertise, _port(state))[0]
    value = annotations.get(ENDPOINT_ANNOTATION)
    if value != expected:
        out.add(f"annotation {ENDPOINT_ANNOTATION} is {value!r}, expected {expected!r}")


def _check_mounts(mounts: list[MountPoint], out: _Problems) -> None:
    counts = Counter(m.mount_path for m in mounts)
    for path, count in sorted(counts.items()):
        if count > 1:
            out.add(f"mountPath {path} is used by {count} volume mounts; it must be unique")
    for mount in mounts:
        if mount.host_path is None:
            out.add(f"volume mount {mount.name!r} has no hostPath volume of that name")


def _hint_folder(ref: ReferencedFile) -> PurePosixPath:
    return ref.path if ref.is_dir else ref.path.parent


def _check_referenced(refs: list[ReferencedFile], mounts: list[MountPoint], out: _Problems) -> None:
    for ref in refs:
        if not ref.is_absolute:
            out.add(
                f"relative path {ref.value!r}",
                flag=ref.flag,
                hint="use an absolute host path (the container's working folder is not the host's)",
            )
            continue
        mount = covering_mount(mounts, ref.path)
        folder = _hint_folder(ref)
        if mount is None:
            what = "folder" if ref.is_dir else "file"
            access = "readOnly: false" if ref.must_be_writable else "readOnly: true"
            out.add(
                f"{what} {ref.path} is outside every hostPath mount, "
                "so the container cannot see it",
                flag=ref.flag,
                hint=f"add an apiserver_extra_volumes entry for {folder} "
                f"(hostPath and mountPath {folder}, {access})",
            )
        elif ref.must_be_writable and mount.read_only:
            if str(folder) == mount.mount_path:
                hint = (
                    f"set readOnly: false on the {mount.name} volume, or give the apiserver a "
                    "folder of its own with a writable apiserver_extra_volumes entry"
                )
            else:
                hint = f"add an apiserver_extra_volumes entry for {folder} with readOnly: false"
            out.add(
                f"the apiserver writes in {folder} ({ref.value}), but volume {mount.name!r} "
                f"({mount.mount_path}) is mounted readOnly",
                flag=ref.flag,
                hint=hint,
            )


def _container_path(mounts: list[MountPoint], host_path: str) -> str | None:
    """Where the container sees ``host_path``: through the deepest hostPath mount holding it."""
    best: MountPoint | None = None
    for mount in mounts:
        base = mount.host_path
        if base is None:
            continue
        inside = host_path == base or host_path.startswith(base if base == "/" else base + "/")
        if inside and (best is None or len(base) > len(best.host_path or "")):
            best = mount
    if best is None or best.host_path is None:
        return None
    rest = host_path[len(best.host_path) :].lstrip("/")
    return posixpath.join(best.mount_path, rest) if rest else best.mount_path


def _check_companions(state: DesiredState, mounts: list[MountPoint], out: _Problems) -> None:
    """Every companion inside a hostPath mount; a flag naming one must read that kind."""
    seen: dict[str, str | None] = {}
    for companion in state.companions:
        inside = _container_path(mounts, str(companion.path))
        if inside is None:
            out.add(
                f"companion file {companion.path} (apiserver_files) is outside every hostPath "
                "mount, so the container cannot see it",
                hint=f"add an apiserver_extra_volumes entry for {companion.path.parent} "
                f"(hostPath and mountPath {companion.path.parent}, readOnly: true)",
            )
            continue
        seen[inside] = companion.kind
    for flag, kind in sorted(flag_kinds().items()):
        value = state.flags.get(flag)
        if not value or value not in seen:
            continue  # not a declared companion: preflight checks the file on the host
        declared = seen[value]
        if declared != kind:
            out.add(
                f"--{flag} names {value}, declared in apiserver_files as "
                f"{declared or 'a file of no companion kind'}; --{flag} reads a {kind}",
                flag=flag,
                hint=f"point --{flag} at the {kind} file, or fix the item's kind",
            )


def _check(
    state: DesiredState,
    manifest: Manifest,
    load: Callable[[bytes], dict[str, object]],
    references: Callable[[Mapping[str, str]], list[ReferencedFile]],
) -> list[InputProblem]:
    out = _Problems(state)
    try:
        pod = load(manifest.content)
    except ManifestError as err:
        out.add(err.message)
        return out.items
    _check_identity(pod, out)
    containers = _list(_mapping(pod.get("spec")).get("containers"))
    names = [_mapping(c).get("name") for c in containers]
    if names != [APISERVER_CONTAINER]:
        out.add(f"expected exactly one container, {APISERVER_CONTAINER!r}; found {names!r}")
    container = next(
        (_mapping(c) for c in containers if _mapping(c).get("name") == APISERVER_CONTAINER), None
    )
    if container is None:
        return out.items
    command, args = container.get("command"), container.get("args") or []
    if (
        not isinstance(command, list)
        or not isinstance(args, list)
        or not all(isinstance(a, str) for a in [*command, *args])
    ):
        out.add("container command and args must be lists of strings")
    else:
        _check_flags([*command, *args], state, out)
    if container.get("image") != state.image:
        out.add(f"image is {container.get('image')!r}, expected {state.image!r}")
    _check_probes(container, state, out)
    _check_annotation(pod, state, out)
    mounts = mount_points(pod, container)
    _check_mounts(mounts, out)
    _check_referenced(references(state.flags), mounts, out)
    if state.companions:
        _check_companions(state, mounts, out)
    return out.items


def check_manifest(state: DesiredState, manifest: Manifest) -> list[InputProblem]:
    """Return every problem of ``manifest`` as a kube-apiserver static pod for ``state``.

    Checks: one YAML document holding a v1 Pod ``kube-apiserver`` in ``kube-system`` with one
    container ``kube-apiserver`` running ``kube-apiserver``; every desired flag exactly once with
    its exact value and no other flag; no ``metadata.uid``; host networking; the image; kubeadm's
    probe shape and endpoint annotation; unique mount paths backed by hostPath volumes; every
    file a flag names inside a mount (writable where the apiserver writes); every companion file
    (``apiserver_files``) inside a hostPath mount, and of the kind the flag naming it reads.
    Problems that do not stop the apiserver are warnings (``is_warning``).
    For many hosts use :class:`ManifestChecker` (or :func:`check_manifests`): same result,
    about ten times faster.
    """
    return _check(state, manifest, load_pod, referenced_files)


class ManifestChecker:
    """Checks many hosts' manifests, reusing what they share (YAML skeleton, path flags).

    Create one per run or batch; it only grows bounded caches and is never shared globally.
    """

    def __init__(self) -> None:
        self._loader = PodLoader()
        self._references: dict[tuple[tuple[str, str], ...], list[ReferencedFile]] = {}

    def _referenced(self, flags: Mapping[str, str]) -> list[ReferencedFile]:
        # Path flags are usually the same on every host; ReferencedFile is immutable.
        key = tuple((f, v) for f, v in sorted(flags.items()) if f in PATH_FLAGS)
        found = self._references.get(key)
        if found is None:
            found = referenced_files(dict(key))
            if len(self._references) < _MAX_MEMO:
                self._references[key] = found
        return found

    def check(self, state: DesiredState, manifest: Manifest) -> list[InputProblem]:
        """Return the problems :func:`check_manifest` would return."""
        return _check(state, manifest, self._loader.load, self._referenced)


def check_manifests(
    rendered: Iterable[tuple[DesiredState, Manifest]],
) -> list[InputProblem]:
    """Check many hosts' manifests with one :class:`ManifestChecker`; return all problems."""
    checker = ManifestChecker()
    problems: list[InputProblem] = []
    for state, manifest in rendered:
        problems.extend(checker.check(state, manifest))
    return problems
