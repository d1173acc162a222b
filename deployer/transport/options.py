"""How to reach a host over SSH: :class:`SshOptions`, and how an inventory host refines them.

Why a separate module: the inventory speaks Ansible (``ansible_ssh_common_args``,
``ansible_become``...), the SSH executor speaks paramiko and Fabric; this module is the one
translation between the two, pure and unit-tested without a network.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from deployer.errors import InputProblem, InventoryError
from deployer.model.host import Host, Secret

__all__ = [
    "BECOME_PASSWORD_ENV",
    "SshOptions",
    "become_password",
    "known_hosts_path",
    "options_from_host",
    "parse_ssh_args",
]

_log = logging.getLogger(__name__)

#: The environment variable a sudo password is read from (never from the inventory).
#: Longest connection timeout an inventory may ask for (``ansible_ssh_timeout``).
_MAX_CONNECT_TIMEOUT_S = 3600.0

BECOME_PASSWORD_ENV = "DEPLOYER_BECOME_PASSWORD"  # noqa: S105 - a variable name, not a secret

# Ansible variables that would hold a password in clear: refused, with the way to do it right.
_CLEAR_PASSWORD_VARS = (
    "ansible_become_password",
    "ansible_become_pass",
    "ansible_sudo_pass",
    "ansible_sudo_password",
    "ansible_password",
    "ansible_ssh_pass",
    "ansible_ssh_password",
)
_TRUE = frozenset({"1", "true", "yes", "on", "y"})
_FALSE = frozenset({"0", "false", "no", "off", "n", ""})


@dataclass(frozen=True, slots=True)
class SshOptions:
    """Settings of one SSH connection; defaults suit a fresh operator workstation.

    Build the run-wide defaults once (from settings and command-line flags), then refine them
    per host with :func:`options_from_host`.
    """

    #: known_hosts to check host keys against; ``None``: ssh_config's ``UserKnownHostsFile``,
    #: else ``~/.ssh/known_hosts``.
    known_hosts: Path | None = None
    #: Opt-in: add an *unknown* host key to ``known_hosts``. A *changed* key is always refused.
    accept_new_host_keys: bool = False
    connect_timeout_s: float = 10.0
    #: Default limit for one remote command (``Transport.run`` may pass its own).
    command_timeout_s: float = 60.0
    #: Connection set-up attempts (never command retries), with exponential back-off.
    retries: int = 3
    retry_backoff_s: float = 0.5
    #: OpenSSH client config honoured as Fabric does (Host, HostName, User, Port, ProxyJump,
    #: IdentityFile); ``None`` or a missing file: none.
    ssh_config_path: Path | None = Path("~/.ssh/config")
    #: Private key files to offer (``ansible_ssh_private_key_file``), before agent keys.
    key_files: tuple[Path, ...] = ()
    allow_agent: bool = True
    #: Also try ``~/.ssh/id_*`` (paramiko's ``look_for_keys``).
    look_for_keys: bool = True
    #: ``[user@]host[:port]`` hops, comma-separated, as OpenSSH's ProxyJump; ``"none"``
    #: disables one set in ssh_config.
    proxy_jump: str | None = None
    proxy_command: str | None = None
    #: ``ansible_become``: privileged steps (``sudo=True``) run through sudo when the login
    #: user is not ``become_user``.
    become: bool = False
    become_user: str = "root"
    #: Where a sudo password comes from: this environment variable ...
    become_password_env: str = BECOME_PASSWORD_ENV
    #: ... else this callback (given the host name), e.g. a terminal prompt; ``None``: no
    #: password, so a step sudo asks a password for fails (UnreachableError).
    prompt_become_password: Callable[[str], Secret] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.retries < 1:
            raise ValueError("retries must be >= 1 (it counts attempts)")
        for value in (self.connect_timeout_s, self.command_timeout_s):
            if not (math.isfinite(value) and value > 0):
                raise ValueError("timeouts must be positive finite numbers")


def become_password(options: SshOptions, host_name: str) -> Secret | None:
    """Return the sudo password from the environment, else the prompt callback, else None."""
    value = os.environ.get(options.become_password_env)
    if value:
        return Secret(value)
    if options.prompt_become_password is not None:
        return options.prompt_become_password(host_name)
    return None


@dataclass(frozen=True, slots=True)
class _SshArgs:
    proxy_jump: str | None = None
    proxy_command: str | None = None
    known_hosts: str | None = None
    accept_new: bool = False
    key_files: tuple[str, ...] = ()


def parse_ssh_args(text: str) -> tuple[dict[str, str], list[str]]:
    """Parse OpenSSH client arguments as Ansible passes them (``ansible_ssh_common_args``).

    Returns the options we understand (lower-case ``-o`` names, plus ``proxyjump`` for ``-J``
    and ``identityfile`` for ``-i``) and the arguments we ignored, for a log line.

    >>> parse_ssh_args("-o ProxyJump=admin@bastion:2222 -oUserKnownHostsFile=/k")[0]
    {'proxyjump': 'admin@bastion:2222', 'userknownhostsfile': '/k'}
    """
    words = shlex.split(text)
    found: dict[str, str] = {}
    ignored: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        flag, inline = word[:2], word[2:]
        if flag in ("-o", "-J", "-i"):
            if inline:
                value = inline
            elif i + 1 < len(words):
                i += 1
                value = words[i]
            else:
                ignored.append(word)
                break
            if flag == "-J":
                found["proxyjump"] = value
            elif flag == "-i":
                found["identityfile"] = value
            else:
                key, sep, val = value.partition("=")
                if not sep:
                    key, _, val = value.partition(" ")
                found[key.strip().lower()] = val.strip()
        else:
            ignored.append(word)
        i += 1
    return found, ignored


def _bool_var(host: Host, name: str, problems: list[InputProblem]) -> bool | None:
    raw = host.vars.get(name)
    if raw is None:
        return None
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    problems.append(InputProblem(f"{name} must be true or false, not {raw!r}", host=host.name))
    return None


def _ssh_args(host: Host, problems: list[InputProblem]) -> _SshArgs:
    merged: dict[str, str] = {}
    for name in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
        raw = host.vars.get(name)
        if raw is None:
            continue
        try:
            found, ignored = parse_ssh_args(str(raw))
        except ValueError as err:
            problems.append(InputProblem(f"{name} cannot be parsed: {err}", host=host.name))
            continue
        if ignored:
            _log.debug("[%s] %s: ignoring %s", host.name, name, " ".join(ignored))
        merged.update(found)
    strict = merged.get("stricthostkeychecking", "").lower()
    if strict and strict not in ("accept-new", "yes", "ask"):
        # "no"/"off" would also accept a *changed* key; deployer never does that.
        _log.warning(
            "[%s] ignoring StrictHostKeyChecking=%s: unknown keys need --accept-new-host-keys "
            "and changed keys are always refused",
            host.name,
            strict,
        )
    identity = merged.get("identityfile")
    return _SshArgs(
        proxy_jump=merged.get("proxyjump"),
        proxy_command=merged.get("proxycommand"),
        known_hosts=merged.get("userknownhostsfile"),
        accept_new=strict == "accept-new",
        key_files=(identity,) if identity else (),
    )


def options_from_host(host: Host, base: SshOptions | None = None) -> SshOptions:
    """Refine the run-wide ``base`` options with a host's ``ansible_*`` connection variables.

    Address, port and user come from the :class:`Host` itself. Read here:
    ``ansible_ssh_private_key_file`` (or ``ansible_private_key_file``),
    ``ansible_ssh_common_args``/``ansible_ssh_extra_args`` (``-o ProxyJump=``, ``-J``,
    ``-o ProxyCommand=``, ``-o UserKnownHostsFile=``, ``-o StrictHostKeyChecking=accept-new``,
    ``-i``), ``ansible_become``, ``ansible_become_user``, ``ansible_become_method`` (sudo only),
    ``ansible_ssh_timeout``/``ansible_timeout`` and ``ssh_known_hosts_file``.

    Raises:
        InventoryError: a password in clear, an unsupported become method, or a malformed
            value; every problem of the host at once.
    """
    opts = base or SshOptions()
    problems: list[InputProblem] = []
    for name in _CLEAR_PASSWORD_VARS:
        if host.vars.get(name) is not None:
            problems.append(
                InputProblem(
                    f"{name} would keep a password in clear in the inventory; deployer refuses it",
                    host=host.name,
                    hint=f"remove it; for sudo set {opts.become_password_env} in the environment "
                    "or answer the prompt; for SSH use a key or ssh-agent",
                )
            )
    args = _ssh_args(host, problems)
    changes: dict[str, object] = {}
    key = host.vars.get("ansible_ssh_private_key_file") or host.vars.get("ansible_private_key_file")
    key_files = [str(key)] if key else []
    key_files.extend(args.key_files)
    if key_files:
        paths = [Path(k).expanduser() for k in key_files] + list(opts.key_files)
        changes["key_files"] = tuple(dict.fromkeys(paths))  # applying twice changes nothing
    if args.proxy_jump:
        changes["proxy_jump"] = args.proxy_jump
    if args.proxy_command:
        changes["proxy_command"] = args.proxy_command
    known = host.vars.get("ssh_known_hosts_file") or args.known_hosts
    if known:
        changes["known_hosts"] = Path(str(known)).expanduser()
    if args.accept_new and not opts.accept_new_host_keys:
        # Trust on first use is the operator's decision for one run, never an inventory's: a
        # shared inventory must not switch off host-key checking for everyone who uses it.
        _log.warning(
            "[%s] ignoring StrictHostKeyChecking=accept-new from the inventory: trust unknown "
            "host keys with --accept-new-host-keys on the command line",
            host.name,
        )
    become = _bool_var(host, "ansible_become", problems)
    if become is not None:
        changes["become"] = become
    user = host.vars.get("ansible_become_user")
    if user:
        changes["become_user"] = str(user)
    method = host.vars.get("ansible_become_method")
    if method is not None and str(method) != "sudo":
        problems.append(
            InputProblem(
                f"ansible_become_method {method!r} is not supported",
                host=host.name,
                hint="deployer escalates with sudo only; remove the variable or set it to sudo",
            )
        )
    timeout = host.vars.get("ansible_ssh_timeout", host.vars.get("ansible_timeout"))
    if timeout is not None:
        try:
            seconds = float(str(timeout))
            # NaN and inf compare False/True oddly: a finite, bounded number only.
            if not (math.isfinite(seconds) and 0 < seconds <= _MAX_CONNECT_TIMEOUT_S):
                raise ValueError(timeout)
            changes["connect_timeout_s"] = seconds
        except (ValueError, OverflowError):
            problems.append(
                InputProblem(
                    f"ansible_ssh_timeout must be a number of seconds in (0, "
                    f"{_MAX_CONNECT_TIMEOUT_S:g}], not {str(timeout)[:40]!r}",
                    host=host.name,
                )
            )
    if problems:
        raise InventoryError(problems)
    return dataclasses.replace(opts, **changes)  # type: ignore[arg-type]


def known_hosts_path(options: SshOptions, ssh_config: Mapping[str, object]) -> Path:
    """Return the known_hosts file to use: options, then ssh_config, then the default."""
    if options.known_hosts is not None:
        return options.known_hosts.expanduser()
    configured = ssh_config.get("userknownhostsfile")
    if isinstance(configured, str) and configured.strip():
        # OpenSSH allows several files; the first one is where new keys are written.
        return Path(configured.split()[0]).expanduser()
    return Path("~/.ssh/known_hosts").expanduser()
