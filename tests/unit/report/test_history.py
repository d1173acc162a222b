from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from types import MappingProxyType

import report_samples

from deployer.report import HistoryEntry, append_history, default_history_path, read_history
from deployer.report.history import entry_from_report


def _entry(i: int) -> HistoryEntry:
    return HistoryEntry(
        run_id=f"run-{i}",
        command="converge",
        started_at="2026-11-28T15:00:00.000Z",
        finished_at="2026-11-28T15:00:20.000Z",
        exit_code=i % 4,
        hosts=MappingProxyType({"cp1": "changed", "cp2": "unchanged"}),
        user="deployer",
        workstation="ops1",
        inventories=("/etc/deployer/inventory.yml",),
    )


def test_entry_from_report_records_who_where_and_what() -> None:
    entry = entry_from_report(
        report_samples.rolled_back_run(),
        inventories=["inv/hosts.yml"],
        user="alice",
        workstation="ws1",
    )
    assert entry.run_id == "20261117-003"
    assert entry.command == "apply"
    assert entry.exit_code == 3
    assert dict(entry.hosts) == {"cp1": "rolled_back", "cp2": "skipped", "cp3": "skipped"}
    assert entry.started_at.endswith("Z")
    assert (entry.user, entry.workstation, entry.inventories) == (
        "alice",
        "ws1",
        ("inv/hosts.yml",),
    )
    assert entry_from_report(report_samples.good_run()).user  # read from the process when not given


def test_append_then_read_round_trips_oldest_first(tmp_path: Path) -> None:
    path = tmp_path / "state" / "history.jsonl"
    for i in range(5):
        append_history(_entry(i), path)
    entries = read_history(path, limit=3)
    assert [e.run_id for e in entries] == ["run-2", "run-3", "run-4"]
    assert entries[0] == _entry(2)
    assert path.stat().st_mode & 0o777 == 0o600
    assert all(json.loads(line) for line in path.read_text().splitlines())


def test_a_torn_last_line_is_skipped_and_the_next_run_starts_a_fresh_line(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    append_history(_entry(1), path)
    with path.open("a") as handle:
        handle.write('{"run_id": "killed-mid-wri')  # a run killed during its write
    assert [e.run_id for e in read_history(path)] == ["run-1"]
    append_history(_entry(2), path)
    assert [e.run_id for e in read_history(path)] == ["run-1", "run-2"]


def test_a_missing_file_is_an_empty_history(tmp_path: Path) -> None:
    assert read_history(tmp_path / "nope.jsonl") == []
    assert read_history(tmp_path / "nope.jsonl", limit=0) == []


def test_reading_the_tail_of_a_long_history_spans_chunks(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    lines = [_entry(i).to_json() for i in range(3000)]  # ~1 MB, many 64 KiB chunks
    path.write_text("\n".join(lines) + "\n")
    entries = read_history(path, limit=700)
    assert [e.run_id for e in entries] == [f"run-{i}" for i in range(2300, 3000)]


def _append_many(path: str, worker: int, count: int) -> None:
    for i in range(count):
        entry = _entry(i)
        append_history(
            HistoryEntry(
                run_id=f"w{worker}-{i}",
                command=entry.command,
                started_at=entry.started_at,
                finished_at=entry.finished_at,
                exit_code=0,
                hosts={f"cp{n}": "unchanged" for n in range(40)},  # long lines
                user="u",
                workstation="ws",
            ),
            Path(path),
        )


def test_concurrent_runs_never_interleave_lines(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_append_many, args=(str(path), w, 50)) for w in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
        assert w.exitcode == 0
    # A blank line may separate entries (a writer that saw another's line still growing starts
    # its own on a new line); what matters is that no two entries share a line.
    raw = [line for line in path.read_text().splitlines() if line.strip()]
    assert len(raw) == 200
    ids = {json.loads(line)["run_id"] for line in raw}  # every line parses on its own
    assert len(ids) == 200


def test_default_path_follows_xdg_state_home() -> None:
    assert default_history_path({"XDG_STATE_HOME": "/var/lib"}) == Path(
        "/var/lib/deployer/history.jsonl"
    )
    assert default_history_path({"HOME": "/home/op"}) == Path(
        "/home/op/.local/state/deployer/history.jsonl"
    )
