"""The stand-in per supported minor: its flag set, its startup checks and its /version."""

from __future__ import annotations

import io
import json
import re

import pytest

from deployer.lab.apiserver.documents import version_info
from deployer.lab.apiserver.main import main
from deployer.versions import MinorRelease, version_table

FAILED = re.compile(r'"command failed" err="(.*)"$', re.M)
ROWS = version_table().rows


def run(version: str, argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(argv, {"DEPLOYER_LAB_VERSION": version}, out, err)
    return status, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("row", ROWS, ids=[r.minor for r in ROWS])
def test_every_supported_minor_reports_its_version(row: MinorRelease) -> None:
    patch = row.patch
    assert run(patch, ["--version"]) == (0, f"Kubernetes v{patch}\n", "")
    document = json.loads(version_info(patch))
    assert document["gitVersion"] == f"v{patch}"
    assert document["goVersion"] == row.go_version
    assert ("emulationMinor" in document) is row.version_info_emulation


def test_version_document_of_1_35_has_the_emulation_fields_in_order() -> None:
    document = json.loads(version_info("1.35.7"))
    assert list(document)[:7] == [
        "major",
        "minor",
        "emulationMajor",
        "emulationMinor",
        "minCompatibilityMajor",
        "minCompatibilityMinor",
        "gitVersion",
    ]
    assert (document["emulationMinor"], document["minCompatibilityMinor"]) == ("35", "34")


def test_flag_sets_follow_the_minor() -> None:
    assert run("1.35.7", ["--tls-curve-preferences=29"]) == (
        1,
        "",
        "Error: unknown flag: --tls-curve-preferences\n",
    )
    assert run("1.34.10", ["--min-compatibility-version=1.33"])[2] == (
        "Error: unknown flag: --min-compatibility-version\n"
    )


@pytest.mark.parametrize(("version", "refused"), [("1.34.10", False), ("1.35.7", True)])
def test_startup_checks_follow_the_minor(version: str, refused: bool) -> None:
    """1.35 added the flush-frequency check (logging stage, before any file is read)."""
    _, _, err = run(version, ["--log-flush-frequency=0s"])
    match = FAILED.search(err)
    assert match is not None, err
    flush = "flushFrequency: Invalid value: 0s: Must be greater than zero"
    assert (match.group(1) == flush) is refused
