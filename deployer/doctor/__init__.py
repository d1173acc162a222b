"""``deployer doctor``: read-only troubleshooting of each host, as the operators' guide teaches.

One module per group of checks (apiserver, etcd, certificates, logs, metrics, manifest), each a
function of a :class:`~deployer.doctor.subject.Subject` returning
:class:`~deployer.doctor.model.Check` values; :mod:`deployer.doctor.runner` runs them on every
host in parallel. Nothing here writes to a host.
"""

from __future__ import annotations

from deployer.doctor.model import Check, Diagnosis, Verdict
from deployer.doctor.runner import DoctorOptions, diagnose

__all__ = ["Check", "Diagnosis", "DoctorOptions", "Verdict", "diagnose"]
