"""What a finished run leaves behind: the JSON report, metrics, the run history and units.

Why a package of its own: these are the outputs an unattended ``converge`` produces for the
people and systems watching it (alerting on the exit code and on metrics, auditing with the
history); none of them changes a host.

Why the names load on first use (PEP 562): every command imports
:mod:`deployer.report.masking`, which runs this file first, and importing the metrics writer
here pulled ``prometheus_client`` (and through it ``http.server``) into ``deployer plan``'s
start-up, about 45 ms it never uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deployer.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from deployer.report.history import (
        HistoryEntry,
        append_history,
        default_history_path,
        read_history,
    )
    from deployer.report.json_report import SCHEMA_VERSION, report_to_dict, write_json_report
    from deployer.report.masking import mask_secrets
    from deployer.report.metrics import render_metrics, write_metrics
    from deployer.report.units import UnitSettings, render_cron, render_units

#: Public name -> the submodule that defines it.
_HOMES = {
    "SCHEMA_VERSION": "json_report",
    "HistoryEntry": "history",
    "UnitSettings": "units",
    "append_history": "history",
    "default_history_path": "history",
    "mask_secrets": "masking",
    "read_history": "history",
    "render_cron": "units",
    "render_metrics": "metrics",
    "render_units": "units",
    "report_to_dict": "json_report",
    "write_json_report": "json_report",
    "write_metrics": "metrics",
}

__all__ = [
    "SCHEMA_VERSION",
    "HistoryEntry",
    "UnitSettings",
    "append_history",
    "default_history_path",
    "mask_secrets",
    "read_history",
    "render_cron",
    "render_metrics",
    "render_units",
    "report_to_dict",
    "write_json_report",
    "write_metrics",
]


__getattr__ = lazy_getattr(__name__, _HOMES, globals())
