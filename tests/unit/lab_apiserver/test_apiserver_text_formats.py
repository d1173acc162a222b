"""klog lines, Go quoting, mounts and durations: the stand-in must print the real texts."""

from __future__ import annotations

import datetime
import io
import json
import os
from pathlib import Path

import pytest

from deployer.lab.apiserver.flags import go_duration, parse_go_duration
from deployer.lab.apiserver.klog import Klog, go_quote
from deployer.lab.apiserver.mounts import MountTable


def _fixed() -> datetime.datetime:
    return datetime.datetime(2026, 11, 28, 15, 4, 5, 123456)


def test_klog_line_has_klog_header_with_pid_in_seven_columns() -> None:
    stream = io.StringIO()
    Klog(stream, now=_fixed).info("server.go:142", "Version: v1.31.13")
    assert (
        stream.getvalue()
        == f"I1128 15:04:05.123456 {os.getpid():7d} server.go:142] Version: v1.31.13\n"
    )


def test_klog_structured_error_quotes_message_and_values_like_go() -> None:
    stream = io.StringIO()
    Klog(stream, now=_fixed).error_s("run.go:72", "command failed", err='open "x": no such file')
    line = stream.getvalue()
    assert line.startswith("E1128 15:04:05.123456 ")
    assert line.endswith('run.go:72] "command failed" err="open \\"x\\": no such file"\n')


def test_klog_verbosity_gates_levels() -> None:
    log = Klog(io.StringIO(), verbosity=2)
    assert log.v(2)
    assert not log.v(3)


@pytest.mark.parametrize(
    ("text", "quoted"),
    [("plain", '"plain"'), ('a"b', '"a\\"b"'), ("a\\b", '"a\\\\b"'), ("l1\nl2", '"l1\\nl2"')],
)
def test_go_quote(text: str, quoted: str) -> None:
    assert go_quote(text) == quoted


def test_mount_table_maps_deepest_mount_and_hides_unmounted_paths(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    etcd = tmp_path / "etcd-pki"
    (pki).mkdir()
    (etcd).mkdir()
    (pki / "ca.crt").write_text("ca")
    (etcd / "ca.crt").write_text("etcd-ca")
    table = MountTable.from_json(
        json.dumps(
            [
                {"mountPath": "/etc/kubernetes/pki", "hostPath": str(pki), "readOnly": True},
                {"mountPath": "/etc/kubernetes/pki/etcd", "hostPath": str(etcd), "readOnly": True},
            ]
        )
    )
    assert table.read_bytes("/etc/kubernetes/pki/ca.crt") == b"ca"
    assert table.read_bytes("/etc/kubernetes/pki/etcd/ca.crt") == b"etcd-ca"
    assert table.resolve("/etc/kubernetes/audit/policy.yaml") is None
    with pytest.raises(FileNotFoundError) as excinfo:
        table.read_bytes("/etc/kubernetes/audit/policy.yaml")
    assert str(excinfo.value) == "open /etc/kubernetes/audit/policy.yaml: no such file or directory"


def test_mount_table_without_env_is_the_identity_view(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    assert MountTable.from_json(None).resolve(str(target)) == target


def test_mount_prefix_must_end_at_a_path_separator(tmp_path: Path) -> None:
    table = MountTable.from_json(
        json.dumps([{"mountPath": "/etc/kubernetes/pki", "hostPath": str(tmp_path)}])
    )
    assert table.resolve("/etc/kubernetes/pki2/x") is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (1.5, "1.5s"), (60, "1m0s"), (3725, "1h2m5s"), (0.25, "250ms")],
)
def test_go_duration_string(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text
    assert parse_go_duration(text) == pytest.approx(seconds)
