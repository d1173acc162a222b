"""The Kubernetes versions deployer knows: one table, one row per minor.

Why one table: the patch release an inventory's ``1.36`` means, the flag schema file, the shape
kubeadm gives the manifest, the ``kubeadm-config`` API version and what ``/version`` reports
all change per minor. Kept in one data file (``deployer/schema/data/versions.json``, next to
the schema files it names), adding a minor is adding its schema file and one row; every other
module asks this one.

``DEPLOYER_VERSIONS_DIR`` names a folder holding a ``versions.json`` and the schema files it
names, read instead of the packaged ones: it is how a test (or an operator trying a release
before deployer ships its data) adds a minor without touching the package.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from deployer.errors import InputError

if TYPE_CHECKING:
    from importlib.abc import Traversable

__all__ = [
    "VERSIONS_DIR_ENV",
    "GateFact",
    "MinorRelease",
    "VersionTable",
    "data_folder",
    "minor_key",
    "parse_version",
    "version_table",
]

#: Environment variable naming a folder that replaces the packaged version data.
VERSIONS_DIR_ENV = "DEPLOYER_VERSIONS_DIR"

_DATA_PACKAGE = "deployer.schema.data"
_TABLE_FILE = "versions.json"
_MINOR_RE = re.compile(r"^1\.(\d+)$")
_VERSION_RE = re.compile(r"^v?(?P<minor>1\.\d+)(?:\.(?P<patch>\d+))?$")


def minor_key(minor: str) -> tuple[int, int]:
    """Sort key of ``"1.31"`` (numeric, so 1.100 would sort after 1.99)."""
    major, _, rest = minor.partition(".")
    return int(major), int(rest)


def parse_version(text: str) -> tuple[str, str | None] | None:
    """Split ``v1.34.2``/``1.34.2``/``1.34`` into (minor, patch or None); None if unparsable."""
    match = _VERSION_RE.match(text.strip())
    if match is None:
        return None
    return match["minor"], match["patch"]


@dataclass(frozen=True, slots=True)
class GateFact:
    """What one minor says about a feature gate its schema's gate list leaves out."""

    default: bool = False
    #: GA or deprecated: setting it to anything but ``default`` fails at pre-run.
    locked: bool = False
    #: Gone from this minor on: any use fails with ``unrecognized feature gate``.
    removed: bool = False


@dataclass(frozen=True, slots=True)
class MinorRelease:
    """One row of the table: what differs between Kubernetes minors, for deployer."""

    minor: str
    #: Latest known patch release (``1.36.3``): the image tag when only the minor is given.
    patch: str
    #: The flag schema file, in the same folder as the table.
    schema: str
    #: ``kubeadm.k8s.io`` API version kubeadm of this minor writes to ``kubeadm-config``.
    kubeadm_api: str
    #: ``""``: kubeadm's probes use the secure port number; else the named container port.
    probe_port_name: str
    #: What ``/version`` reports as ``goVersion``.
    go_version: str
    #: ``/version`` also carries emulation and min-compatibility major/minor.
    version_info_emulation: bool
    #: Oldest and newest ``--emulated-version`` accepted; empty when not modelled.
    emulation_range: tuple[str, ...]
    #: False when the reference marks the minor's facts as partial (never the default then).
    facts_complete: bool
    #: What is missing when ``facts_complete`` is false.
    incomplete: str = ""
    #: Gate facts from this minor on (until a later row names the gate again).
    gates: Mapping[str, GateFact] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def number(self) -> int:
        """The minor as an integer (``36`` for ``1.36``)."""
        return minor_key(self.minor)[1]


@dataclass(frozen=True, slots=True)
class VersionTable:
    """Every known minor, oldest first."""

    rows: tuple[MinorRelease, ...]

    @property
    def minors(self) -> tuple[str, ...]:
        """The known minors, oldest first (``("1.28", ...)``)."""
        return tuple(r.minor for r in self.rows)

    @property
    def newest(self) -> MinorRelease:
        """The newest minor with data (what a fallback validates against)."""
        return self.rows[-1]

    @property
    def default(self) -> MinorRelease:
        """The newest minor whose facts are complete: the version when none is given."""
        return [r for r in self.rows if r.facts_complete][-1]

    def get(self, minor: str) -> MinorRelease | None:
        """The row of ``minor``, or None when the table does not know it."""
        for row in self.rows:
            if row.minor == minor:
                return row
        return None

    def gate(self, minor: str, name: str) -> GateFact | None:
        """The newest fact about gate ``name`` in rows up to ``minor`` (None: never named)."""
        fact: GateFact | None = None
        for row in self.rows:
            if minor_key(row.minor) > minor_key(minor):
                break
            fact = row.gates.get(name, fact)
        return fact

    def is_newer_than_known(self, minor: str) -> bool:
        """True for a minor released after this table (newer than its newest row)."""
        return minor_key(minor) > minor_key(self.newest.minor)


def data_folder() -> Traversable:
    """The folder holding ``versions.json`` and the schema files (packaged, or the override)."""
    override = os.environ.get(VERSIONS_DIR_ENV)
    if override:
        return Path(override)
    # Installed as files (every install but a zip): the package's folder. importlib.resources
    # only otherwise: it imports tempfile and zipfile, 0.5 MB of RSS in a process that only
    # reads the table, such as each lab node's apiserver stand-in.
    spec = find_spec(_DATA_PACKAGE)
    for location in (spec.submodule_search_locations or ()) if spec else ():
        if Path(location).is_dir():
            return Path(location)
    from importlib import resources

    return resources.files(_DATA_PACKAGE)


def _row(raw: dict[str, object], where: str) -> MinorRelease:
    try:
        minor = str(raw["minor"])
        if not _MINOR_RE.match(minor):
            raise ValueError(f"minor {minor!r} is not like 1.36")
        emulation = raw.get("emulation_range", [])
        if not isinstance(emulation, list):
            raise ValueError("emulation_range must be a list")
        gates = raw.get("gates", {})
        if not isinstance(gates, dict) or not all(isinstance(g, dict) for g in gates.values()):
            raise ValueError("gates must map a gate name to {default, locked, removed}")
        return MinorRelease(
            minor=minor,
            patch=str(raw["patch"]),
            schema=str(raw["schema"]),
            kubeadm_api=str(raw["kubeadm_api"]),
            probe_port_name=str(raw["probe_port_name"]),
            go_version=str(raw["go_version"]),
            version_info_emulation=bool(raw["version_info_emulation"]),
            emulation_range=tuple(str(v) for v in emulation),
            facts_complete=bool(raw["facts_complete"]),
            incomplete=str(raw.get("incomplete", "")),
            gates=MappingProxyType(
                {
                    str(name): GateFact(
                        default=bool(g.get("default", False)),
                        locked=bool(g.get("locked", False)),
                        removed=bool(g.get("removed", False)),
                    )
                    for name, g in gates.items()
                }
            ),
        )
    except (KeyError, ValueError) as err:
        raise InputError(
            f"{where}: bad row {raw!r}: {err}",
            hint="each row needs minor, patch, schema, kubeadm_api, probe_port_name, go_version, "
            "version_info_emulation, facts_complete",
        ) from None


@functools.cache
def version_table() -> VersionTable:
    """Load the table once per process (immutable data, so the cache is safe).

    Raises:
        InputError: the table is missing, malformed, or names a schema file that is absent.
    """
    folder = data_folder()
    where = f"{folder}/{_TABLE_FILE}"
    try:
        doc = json.loads(folder.joinpath(_TABLE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputError(
            f"cannot read the versions table {where}: {err}",
            hint=f"check {VERSIONS_DIR_ENV}" if os.environ.get(VERSIONS_DIR_ENV) else None,
        ) from None
    rows = sorted((_row(r, where) for r in doc["minors"]), key=lambda r: minor_key(r.minor))
    for row in rows:
        if not folder.joinpath(row.schema).is_file():
            raise InputError(
                f"{where}: {row.minor} names schema file {row.schema}, which is missing",
                hint="generate it with tools/make_flag_schema.py",
            )
    if not rows or not any(r.facts_complete for r in rows):
        raise InputError(f"{where}: no minor with complete facts, so no default version")
    return VersionTable(rows=tuple(rows))
