"""Mask secrets by their *values*, known from the inventory, wherever text goes.

Why by value: :func:`~deployer.report.masking.mask_secrets` guesses from the text around a value
(``--token=``, ``password:``), which misses what carries no such name: an
``apiserver_extra_env`` value (a cloud secret key), a password inside an etcd URL shown in a
flag summary, a vault value, a number or a path-looking secret. The inventory knows these
values, so every output path (console, diffs, JSON report, logs, ``inventory show``, backup run
records) replaces each of them, verbatim, with ``***``, on top of the text filter.

Values shorter than :data:`MIN_SECRET_LEN` are not replaced (masking ``1`` everywhere would
make every output unreadable); the text filter still applies to them.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from collections.abc import Iterable, Mapping
from urllib.parse import unquote

from deployer.model.host import Secret
from deployer.model.report import RunReport
from deployer.report.masking import MASK, is_secret_name, mask_secrets

__all__ = ["MIN_SECRET_LEN", "ValueMasker", "mask_report", "secret_values"]

#: Shorter values are left to the text filter.
MIN_SECRET_LEN = 4

_URL_PASSWORD = re.compile(r"://[^/\s:@]*:(?P<password>[^@\s/]+)@")
# Clearly not a credential even under a secret-looking name: a path, a boolean, a duration
# with its unit (``--service-account-max-token-expiration=48h``). Plain digits are NOT safe.
_SAFE_UNDER_SECRET_NAME = re.compile(
    r"^(?:(?:/|\./|\.\./|~/)\S*|true|false|yes|no|on|off|null|none|"
    r"(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d))+)$",
    re.IGNORECASE,
)


def _text(value: object) -> str:
    if isinstance(value, Secret):
        return value.value
    if isinstance(value, list | tuple):
        return ",".join(_text(v) for v in value)
    return "" if value is None else str(value)


def _url_passwords(text: str) -> set[str]:
    found = set()
    for match in _URL_PASSWORD.finditer(text):
        password = match.group("password")
        found.update({password, unquote(password)})
    return found


def secret_values(
    *,
    flags: Mapping[str, object] | None = None,
    env: Mapping[str, object] | None = None,
    host_vars: Mapping[str, object] | None = None,
) -> frozenset[str]:
    """Return the values to mask for one host.

    * every ``Secret`` among ``host_vars`` (``ansible_become_password``, decrypted vault values);
    * every ``apiserver_extra_env`` value (``env``), whatever it looks like;
    * flags whose name marks a credential, unless the value is a path, boolean or duration;
    * passwords inside URLs, in any flag or variable.
    """
    found: set[str] = set()
    for name, raw in (flags or {}).items():
        value = _text(raw)
        found |= _url_passwords(value)
        if is_secret_name(str(name)) and not _SAFE_UNDER_SECRET_NAME.match(value.strip()):
            found.add(value)
    for raw in (env or {}).values():
        if isinstance(raw, Mapping):  # a valueFrom-style entry: nothing inline to mask
            continue
        found.add(_text(raw))
    for name, raw in (host_vars or {}).items():
        if isinstance(raw, Secret):
            found.add(raw.value)
        elif isinstance(raw, str):
            found |= _url_passwords(raw)
            if is_secret_name(str(name)) and not _SAFE_UNDER_SECRET_NAME.match(raw.strip()):
                found.add(raw)
    return frozenset(v for v in found if len(v) >= MIN_SECRET_LEN)


class ValueMasker:
    """Masks known secret values (and the text filter's finds) in any text.

    Values can be added as they become known (after the inventory is loaded); the console and
    the log filter created before that use the same object. Thread-safe.
    """

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._values: tuple[str, ...] = ()
        self.add(values)

    def add(self, values: Iterable[str]) -> None:
        """Add values to mask (their JSON-escaped forms too, as reports quote them)."""
        more = {v for v in values if v and len(v) >= MIN_SECRET_LEN}
        more |= {json.dumps(v, ensure_ascii=False)[1:-1] for v in more}
        more |= {json.dumps(v)[1:-1] for v in more}
        with self._lock:
            merged = set(self._values) | more
            # Longest first, so a secret that contains another is hidden whole.
            self._values = tuple(sorted(merged, key=len, reverse=True))

    @property
    def values(self) -> tuple[str, ...]:
        """The values masked, longest first."""
        return self._values

    def mask_values(self, text: str) -> str:
        """Replace every known value; the text filter is not applied."""
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def __call__(self, text: str) -> str:
        """Replace every known value, then apply :func:`mask_secrets`."""
        return mask_secrets(self.mask_values(text))


def _mask_data(value: object, mask: ValueMasker) -> object:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, Mapping):
        return {k: _mask_data(v, mask) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_data(v, mask) for v in value]
    return value


def mask_report(report: RunReport, mask: ValueMasker) -> RunReport:
    """Return a copy of ``report`` with every string masked (diffs, phases, errors, details).

    The error keeps its type (the JSON report names it) with message and hint masked.
    """
    hosts = []
    for host in report.hosts:
        error = host.error
        if error is not None:
            # A shallow copy that skips __init__ (our errors take keyword-only arguments).
            masked = type(error).__new__(type(error))
            masked.__dict__.update(error.__dict__)
            masked.message = mask(error.message)
            masked.hint = mask(error.hint) if error.hint else error.hint
            masked.args = (masked.message,)
            error = masked
        hosts.append(
            dataclasses.replace(
                host,
                diff=mask(host.diff) if host.diff else host.diff,
                phases=tuple(dataclasses.replace(p, detail=mask(p.detail)) for p in host.phases),
                error=error,
                details=tuple((k, _mask_data(v, mask)) for k, v in host.details),
            )
        )
    return dataclasses.replace(report, hosts=tuple(hosts))
