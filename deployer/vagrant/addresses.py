"""Read ``vagrant/addresses``: the lab's address plan, shared with the Vagrantfile.

Why a file rather than asking each VM (``vagrant ssh NAME -c 'ip -4 -o addr'``): the Vagrantfile
assigns each VM's private-network address from this very file, so reading it gives the same
answer without a round trip per VM, works while a VM is still booting, and can be tested
without one. The format is one ``NAME ADDRESS`` pair per line, ``#`` starts a comment; the
Vagrantfile applies the same rules.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from deployer.errors import InputError, InputProblem

__all__ = ["ADDRESSES_FILE", "parse_addresses", "read_addresses"]

#: Where the address plan lives, relative to the Vagrantfile's folder.
ADDRESSES_FILE = Path("vagrant") / "addresses"

_NAME_RE = re.compile(r"^[a-z][a-z0-9-]*$")


def parse_addresses(text: str, *, source: str) -> Mapping[str, str]:
    """Return VM name -> IPv4 address, in file order.

    Raises:
        InputError: a malformed line, a bad name or address, or a name or address listed
            twice; every problem at once.
    """
    problems: list[InputProblem] = []
    plan: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) != 2:
            problems.append(
                InputProblem(f'expected "NAME ADDRESS", got {raw.strip()!r}', source, number)
            )
            continue
        name, address = fields
        if not _NAME_RE.match(name):
            problems.append(InputProblem(f"{name!r} is not a usable VM name", source, number))
            continue
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            parsed = None
        if parsed is None or parsed.version != 4:
            problems.append(InputProblem(f"{address!r} is not an IPv4 address", source, number))
            continue
        if name in plan:
            problems.append(InputProblem(f"{name} is listed twice", source, number))
            continue
        if address in plan.values():
            problems.append(InputProblem(f"{address} is listed twice", source, number))
            continue
        plan[name] = address
    if problems:
        raise InputError(problems)
    return MappingProxyType(plan)


def read_addresses(vagrant_dir: Path) -> Mapping[str, str]:
    """Read ``<vagrant_dir>/vagrant/addresses``.

    Raises:
        InputError: the file is missing or unreadable, or :func:`parse_addresses` refuses it.
    """
    path = vagrant_dir / ADDRESSES_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise InputError(
            [
                InputProblem(
                    f"cannot read the lab's address plan: {err.strerror or err}",
                    file=str(path),
                    hint="--vagrant-dir must be the folder of deployer's Vagrantfile, which has "
                    "vagrant/addresses beside it",
                )
            ]
        ) from err
    return parse_addresses(text, source=str(path))
