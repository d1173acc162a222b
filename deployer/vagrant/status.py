"""Parse ``vagrant status --machine-readable``: which lab VMs exist and which are running.

Why ask before ``vagrant ssh-config``: that command fails the same way ("not yet ready for
SSH") for a VM that was never created and for one that is powered off, and the two need
different answers: the first is an input problem (bring the lab up, exit 6), the second an
unreachable host (exit 5).
"""

from __future__ import annotations

from dataclasses import dataclass

from deployer.errors import InputError, InputProblem

__all__ = ["RUNNING_STATES", "MachineState", "parse_machine_status"]

#: States in which a VM answers SSH (``running`` for VirtualBox and libvirt alike).
RUNNING_STATES = frozenset({"running"})
#: The states Vagrant reports for a machine it has no VM for yet.
NOT_CREATED_STATES = frozenset({"not_created", "not created"})


@dataclass(frozen=True, slots=True)
class MachineState:
    """One machine of the Vagrantfile and the state its provider reports."""

    name: str
    #: The provider's short state (``running``, ``poweroff``, ``shutoff``, ``not_created`` ...).
    state: str
    #: The provider that backs it (``virtualbox``, ``libvirt``), when reported.
    provider: str | None = None

    @property
    def is_running(self) -> bool:
        """True when the VM should answer SSH."""
        return self.state in RUNNING_STATES

    @property
    def is_created(self) -> bool:
        """False for a machine the Vagrantfile defines but ``vagrant up`` never created."""
        return self.state not in NOT_CREATED_STATES


def _unescape(field: str) -> str:
    # Vagrant's machine-readable format escapes commas and newlines inside a field.
    return field.replace("%!(VAGRANT_COMMA)", ",").replace("\\n", "\n")


def parse_machine_status(
    text: str, *, source: str = "vagrant status --machine-readable"
) -> tuple[MachineState, ...]:
    """Return every machine's state, in the order Vagrant lists them.

    The format is one event per line, ``timestamp,target,type,data...``; machine states are
    ``<ts>,<machine>,state,<state>`` and the provider ``<ts>,<machine>,provider-name,<name>``.
    Lines of other types (``ui``, ``metadata``, ``state-human-*``) are skipped.

    Raises:
        InputError: the text has no machine state at all (not machine-readable output).
    """
    states: dict[str, str] = {}
    providers: dict[str, str] = {}
    for raw in text.splitlines():
        fields = raw.strip().split(",")
        if len(fields) < 4 or not fields[1]:
            continue
        target, kind, data = fields[1], fields[2], _unescape(",".join(fields[3:]))
        if kind == "state":
            states.setdefault(target, data)
        elif kind == "provider-name":
            providers.setdefault(target, data)
    if not states:
        raise InputError(
            [
                InputProblem(
                    "no machine state in the output of `vagrant status --machine-readable`",
                    file=source,
                    hint="is this a Vagrant project? pass --vagrant-dir with the Vagrantfile's "
                    "folder",
                )
            ]
        )
    return tuple(MachineState(name, state, providers.get(name)) for name, state in states.items())
