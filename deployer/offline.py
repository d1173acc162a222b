"""From inventory files to validated, rendered manifests: the offline half of every command.

Why one function: ``validate``, ``render``, ``plan``, ``apply`` and ``converge`` must refuse the
same bad input with the same messages before any host is touched, so they all start here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from deployer.desired import DesiredState, desired_state
from deployer.errors import InputError, InputProblem
from deployer.inventory import load_inventory_with_warnings, select_hosts
from deployer.inventory.reveal import reveal_needed
from deployer.inventory.settings import current_settings
from deployer.model.inventory import Inventory
from deployer.model.manifest import Manifest
from deployer.render import ManifestChecker, ManifestRenderer
from deployer.render.companions import CompanionBuilder
from deployer.schema import load_flag_schema
from deployer.schema.validate import validate_flags

__all__ = ["Prepared", "prepare"]


@dataclass(frozen=True, slots=True)
class Prepared:
    """The selected hosts with their desired state and rendered manifest, all checked."""

    #: The renderer that made the manifests, reused to render again with file digests.
    renderer: ManifestRenderer
    inventory: Inventory
    states: tuple[DesiredState, ...]
    #: host name -> rendered manifest.
    manifests: Mapping[str, Manifest]
    #: Problems that do not stop the run (deprecated flags ...), shown to the operator.
    warnings: tuple[InputProblem, ...]


def _template_dirs(sources: Sequence[str | Path]) -> tuple[Path, ...]:
    """Folders a relative ``manifest_template`` is looked up in: each inventory's own folder."""
    dirs: list[Path] = []
    for source in sources:
        path = Path(source)
        folder = path if path.is_dir() else path.parent
        if folder not in dirs:
            dirs.append(folder)
    return tuple(dirs)


#: pflag types read once per occurrence: a comma inside is part of ONE value.
_REPEATED_TYPES = frozenset({"stringArray", "namedCertKey"})


def _list_problems(state: DesiredState) -> list[InputProblem]:
    """Refuse lists for flags the real binary reads once per occurrence.

    ``--service-account-key-file=/a,/b`` is one path named "/a,/b" to kube-apiserver (its
    type is stringArray), so a list cannot be comma-joined for such flags.
    """
    if not state.list_flags:
        return []
    schema = load_flag_schema(state.schema_minor)
    problems = []
    for name in sorted(state.list_flags):
        spec = schema.flags.get(name)
        if spec is not None and spec.type in _REPEATED_TYPES:
            origin = state.flag_origins.get(name)
            problems.append(
                InputProblem(
                    f"--{name} ({spec.type}) takes one value per occurrence; a list would be "
                    "joined with commas into ONE value",
                    file=origin.file if origin else None,
                    line=origin.line if origin else None,
                    host=state.host.name,
                    flag=name,
                    hint="give a single value (repeating a flag is not supported yet)",
                )
            )
    return problems


def prepare(
    sources: Sequence[str | Path],
    *,
    extra_vars: Sequence[str] = (),
    limit: str | None = None,
    file_digests: Mapping[str, Mapping[str, str]] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Prepared:
    """Load, select, validate and render; raise with every problem of every host.

    ``file_digests`` (host -> path -> sha256) feeds the optional checksum annotation, which needs
    the referenced files' digests from the hosts; offline commands leave it out. ``environ``
    (default ``os.environ``) is where ``{secret_env: NAME}`` references of companion files are
    read.

    Raises:
        InputError: any problem in the inventory, the flags or the template (exit 6).
    """
    loaded, inventory_warnings = load_inventory_with_warnings(sources, extra_vars)
    inventory = reveal_needed(select_hosts(loaded, limit), current_settings().vault)
    problems: list[InputProblem] = list(inventory_warnings)
    states: list[DesiredState] = []
    manifests: dict[str, Manifest] = {}
    template_dirs = _template_dirs(sources)
    renderer = ManifestRenderer(template_dirs)
    companions = CompanionBuilder(
        renderer.environment,
        base_dir=template_dirs[0] if template_dirs else Path(),
        environ=environ,
    )
    # One renderer and one checker for every host: both reuse what hosts share (the compiled
    # template, the YAML skeleton, the path flags), which makes 1,000 hosts ~10x cheaper.
    checker = ManifestChecker()
    for host in inventory.hosts:
        state, host_problems = desired_state(host)
        if not any(not p.is_warning for p in host_problems):
            state, companion_problems = companions.build(state)
            host_problems.extend(companion_problems)
        problems.extend(host_problems)
        problems.extend(
            validate_flags(
                state.flags, state.schema_minor, host=host.name, origins=state.flag_origins
            )
        )
        problems.extend(_list_problems(state))
        states.append(state)
        if any(not p.is_warning for p in host_problems):
            continue
        try:
            digests = (file_digests or {}).get(host.name)
            manifest = renderer.render(state, file_digests=digests)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        problems.extend(checker.check(state, manifest))
        manifests[host.name] = manifest
    errors = [p for p in problems if not p.is_warning]
    if errors:
        raise InputError(problems)
    return Prepared(
        renderer=renderer,
        inventory=inventory,
        states=tuple(states),
        manifests=MappingProxyType(manifests),
        warnings=tuple(p for p in problems if p.is_warning),
    )
