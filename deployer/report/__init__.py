"""What a finished run leaves behind: the JSON report, metrics, the run history and units.

Why a package of its own: these are the outputs an unattended ``converge`` produces for the
people and systems watching it (alerting on the exit code and on metrics, auditing with the
history); none of them changes a host.
"""

from __future__ import annotations

from deployer.report.history import HistoryEntry, append_history, default_history_path, read_history
from deployer.report.json_report import SCHEMA_VERSION, report_to_dict, write_json_report
from deployer.report.masking import mask_secrets
from deployer.report.metrics import render_metrics, write_metrics
from deployer.report.units import UnitSettings, render_cron, render_units

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
