"""`deployer inventory vagrant` end to end, through a stand-in `vagrant` first on PATH.

The stand-in (tests/data/vagrant/bin/vagrant) replays recorded outputs of real shapes: one
VM, three VMs, custom ports, libvirt, a ProxyCommand, key paths with spaces and quotes,
several IdentityFile lines, and the failures (VMs not created, halted, SSH not ready,
unparsable output, an unknown VM, a broken Vagrantfile). Each case folder holds the
recordings, case.json (expected exit code and messages) and, when it succeeds, the expected
inventory (expected.yml, with @VAGRANT_DIR@ and @HOME@ standing for the real folders).
Refresh those on purpose with ``DEPLOYER_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
import yaml
from vagrant_support import CASES, FAKE_BIN, case_meta, make_lab_dir, recorded

from deployer.cli.main import main
from deployer.vagrant.addresses import read_addresses
from deployer.vagrant.ssh_config import parse_ssh_config

ALL_CASES = sorted(p.name for p in CASES.iterdir() if (p / "case.json").is_file())
OK_CASES = [c for c in ALL_CASES if case_meta(c)["exit_code"] == 0]
ERROR_CASES = [c for c in ALL_CASES if case_meta(c)["exit_code"] != 0]


def _expand(text: str, lab: Path, home: Path) -> str:
    return text.replace("@VAGRANT_DIR@", str(lab)).replace("@HOME@", str(home))


@pytest.fixture
def fake_vagrant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put the stand-in first on PATH, give it a HOME and a call log; return the log."""
    home = tmp_path / "home"
    home.mkdir()
    log = tmp_path / "vagrant-calls.log"
    monkeypatch.setenv("PATH", f"{FAKE_BIN}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("DEPLOYER_FAKE_VAGRANT_LOG", str(log))
    return log


def _prepare(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Make the lab folder for ``case`` and the files it says exist; return (lab, home)."""
    meta = case_meta(case)
    name = str(meta.get("vagrant_dir_name", "lab"))
    lab = make_lab_dir(tmp_path, name)
    if (CASES / case / "addresses").is_file():
        shutil.copy2(CASES / case / "addresses", lab / "vagrant" / "addresses")
    home = tmp_path / "home"
    for raw in meta.get("existing_files", []):  # type: ignore[attr-defined]
        path = Path(_expand(str(raw), lab, home))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("not a real key\n")
    monkeypatch.setenv("DEPLOYER_FAKE_VAGRANT_CASE", str(CASES / case))
    return lab, home


@pytest.mark.parametrize("case", OK_CASES)
def test_inventory_matches_the_expected_file(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_vagrant: Path
) -> None:
    lab, home = _prepare(case, tmp_path, monkeypatch)
    out = tmp_path / "hosts.yml"
    code = main(["inventory", "vagrant", "--vagrant-dir", str(lab), "--out", str(out)])
    assert code == 0
    golden = CASES / case / "expected.yml"
    if os.environ.get("DEPLOYER_UPDATE_GOLDEN") == "1":  # refresh on purpose, then review
        text = out.read_text(encoding="utf-8")
        golden.write_text(text.replace(str(lab), "@VAGRANT_DIR@").replace(str(home), "@HOME@"))
    expected = _expand(golden.read_text(encoding="utf-8"), lab, home)
    assert out.read_text(encoding="utf-8") == expected
    # Vagrant ran in the lab folder (not wherever the operator stood), status first.
    calls = [line.split("\t") for line in fake_vagrant.read_text().splitlines()]
    assert calls == [[str(lab), "status --machine-readable"], [str(lab), "ssh-config"]]
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    # Independent of the expected text: what YAML reads back is what ssh-config said.
    entries = parse_ssh_config(_expand(recorded(case, "ssh-config.out"), lab, home))
    hosts = yaml.safe_load(expected)["all"]["children"]["control_plane"]["hosts"]
    plan = read_addresses(lab)
    for entry in entries:
        host = hosts[entry.name]
        assert (host["ansible_host"], host["ansible_port"], host["ansible_user"]) == (
            entry.hostname,
            entry.port,
            entry.user,
        )
        assert host["ansible_ssh_private_key_file"] in entry.identity_files
        assert host["apiserver_flags"] == {"advertise-address": plan[entry.name]}


def test_every_successful_case_has_an_expected_inventory() -> None:
    assert OK_CASES
    assert ERROR_CASES
    for case in OK_CASES:
        assert (CASES / case / "expected.yml").is_file(), case


def test_inventory_is_the_same_bytes_when_made_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_vagrant: Path
) -> None:
    lab, _ = _prepare("three-vms", tmp_path, monkeypatch)
    first, second = tmp_path / "a.yml", tmp_path / "b.yml"
    assert main(["inventory", "vagrant", "--vagrant-dir", str(lab), "--out", str(first)]) == 0
    assert main(["inventory", "vagrant", "--vagrant-dir", str(lab), "--out", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()


def test_inventory_goes_to_stdout_by_default_and_reads_back_as_yaml(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_vagrant: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lab, _ = _prepare("three-vms", tmp_path, monkeypatch)
    monkeypatch.chdir(lab)
    assert main(["inventory", "vagrant"]) == 0
    data = yaml.safe_load(capsys.readouterr().out)
    hosts = data["all"]["children"]["control_plane"]["hosts"]
    assert {name: h["apiserver_flags"]["advertise-address"] for name, h in hosts.items()} == {
        "cp1": "192.168.56.11",
        "cp2": "192.168.56.12",
        "cp3": "192.168.56.13",
    }
    assert [h["ansible_port"] for h in hosts.values()] == [2222, 2200, 2201]
    group = data["all"]["children"]["control_plane"]["vars"]
    assert group["ansible_become"] is True
    assert group["manifest_dir"] == "/etc/kubernetes/manifests"
    assert group["kubeconfig"] == "/etc/kubernetes/admin.conf"
    assert group["ssh_known_hosts_file"] == str(lab / ".vagrant" / "deployer-lab" / "known_hosts")


@pytest.mark.parametrize("case", ERROR_CASES)
def test_failures_give_one_screen_with_a_hint_and_the_contract_exit_code(
    case: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_vagrant: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lab, _ = _prepare(case, tmp_path, monkeypatch)
    out = tmp_path / "hosts.yml"
    code = main(["inventory", "vagrant", "--vagrant-dir", str(lab), "--out", str(out)])
    meta = case_meta(case)
    assert code == meta["exit_code"]
    err = capsys.readouterr().err
    for expected in meta["stderr"]:  # type: ignore[attr-defined]
        assert expected in err
    assert "hint:" in err
    assert len(err.splitlines()) <= 24
    assert not out.exists()


def test_vagrant_not_installed_is_invalid_input_with_an_install_hint(
    lab_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    assert main(["inventory", "vagrant", "--vagrant-dir", str(lab_dir)]) == 6
    err = capsys.readouterr().err
    assert "'vagrant' is not installed" in err
    assert "hint: install Vagrant" in err


def test_a_folder_without_vagrantfile_is_refused_before_running_vagrant(
    tmp_path: Path, fake_vagrant: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inventory", "vagrant", "--vagrant-dir", str(tmp_path)]) == 6
    assert f"no Vagrantfile in {tmp_path}" in capsys.readouterr().err
    assert not fake_vagrant.exists()


def test_out_in_a_missing_folder_is_invalid_input(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_vagrant: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lab, _ = _prepare("one-vm", tmp_path, monkeypatch)
    out = tmp_path / "missing" / "hosts.yml"
    assert main(["inventory", "vagrant", "--vagrant-dir", str(lab), "--out", str(out)]) == 6
    assert f"cannot write {out}" in capsys.readouterr().err


def test_a_hung_vagrant_is_unreachable_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deployer.errors import UnreachableError
    from deployer.vagrant.inventory import vagrant_inventory

    lab = make_lab_dir(tmp_path)
    slow = tmp_path / "slowbin"
    slow.mkdir()
    script = slow / "vagrant"
    # Blocks on a pipe nobody writes to: a provider that never answers. The runner's timeout
    # kills it; nothing here sleeps.
    script.write_text("#!/bin/sh\nexec tail -f /dev/null\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{slow}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(UnreachableError, match="did not finish within 0.5s") as err:
        vagrant_inventory(lab, timeout_s=0.5)
    assert err.value.exit_code == 5
