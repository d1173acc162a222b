"""Plant recognisable secrets everywhere an inventory can hold one, run every command, grep.

Secrets planted: an ``apiserver_extra_env`` value (a cloud key, no secret-looking name around
it), a digits-only env value, a password inside the etcd URL, and the sudo password variable.
Outputs grepped: stdout and stderr of ``validate``, ``inventory show`` (text, ``--explain``,
``--json``), ``plan --diff -vvv``, ``apply --diff -vvv`` (which fails on the etcd URL and rolls
back, so error, evidence and rollback texts are included), ``verify``; the JSON reports, the run
history, the crash log folder, and the backup run records left on the node. The only place a
planted value may appear is the node's manifest (and its backup copy): that is the product.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deployer.cli.main import main
from deployer.lab.testing import LabHandle, running_lab

pytestmark = pytest.mark.integration

PLANTED = ("PLANTED-envkey-7d1f", "98765432", "PLANTED-urlpw-5c2e", "PLANTED-sudo-91ab")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    folder = tmp_path_factory.mktemp("secrets")
    with running_lab(folder / "lab", nodes=1, first_address="127.0.141.1") as handle:
        yield handle


def _extra_vars(lab: LabHandle, folder: Path) -> Path:
    ip = lab.node("lab-cp1").ip
    path = folder / "planted.yml"
    path.write_text(
        "apiserver_extra_env:\n"
        f"  AWS_SECRET_ACCESS_KEY: {PLANTED[0]}\n"
        f"  BUILD_NUMBER: '{PLANTED[1]}'\n"
        "apiserver_flags:\n"
        f"  etcd-servers: https://root:{PLANTED[2]}@{ip}:2379\n"
    )
    return path


def _leaks(text: str) -> list[str]:
    return [p for p in PLANTED if p in text]


def test_no_output_holds_a_planted_secret(
    lab: LabHandle,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("DEPLOYER_BECOME_PASSWORD", PLANTED[3])
    extra = ["-e", f"@{_extra_vars(lab, tmp_path)}", "-e", "restart_timeout=20"]
    inv = ["-i", str(lab.inventory)]
    reports = tmp_path / "reports"
    reports.mkdir()
    runs = [
        ["validate", *inv, *extra],
        ["inventory", "show", *inv, *extra, "lab-cp1"],
        ["inventory", "show", *inv, *extra, "lab-cp1", "--explain"],
        ["inventory", "show", *inv, *extra, "lab-cp1", "--json"],
        ["plan", *inv, *extra, "--diff", "-vvv", "--json", str(reports / "plan.json")],
        [
            "apply",
            *inv,
            *extra,
            "--diff",
            "-vvv",
            "--yes",
            "--lock",
            str(tmp_path / "lock"),
            "--json",
            str(reports / "apply.json"),
        ],
        ["verify", *inv, *extra, "--json", str(reports / "verify.json")],
    ]
    found: dict[str, list[str]] = {}
    codes = {}
    for argv in runs:
        codes[argv[0] + " " + argv[1]] = main(argv)
        out = capsys.readouterr()
        leaked = _leaks(out.out + out.err)
        if leaked:
            found[" ".join(argv[:2])] = leaked
    assert codes["validate -i"] == 0, "the planted inventory is valid"
    assert codes["apply -i"] in (0, 3), codes  # applied, or rolled back on the etcd URL
    for path in [*reports.iterdir(), *(tmp_path / "state").rglob("*")]:
        if path.is_file():
            leaked = _leaks(path.read_text(errors="replace"))
            if leaked:
                found[str(path)] = leaked
    node = lab.node("lab-cp1")
    records = list((node.root / "etc" / "kubernetes" / "tmp").rglob("deployer-run.json"))
    assert records, "apply left a backup with its run record"
    for record in records:
        leaked = _leaks(record.read_text())
        if leaked:
            found[str(record)] = leaked
    assert found == {}
    # The product itself does carry them (on the host only), which shows they were planted.
    applied = codes["apply -i"] == 0
    if applied:
        assert PLANTED[0] in lab.manifest("lab-cp1").read_text()
