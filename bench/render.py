"""Benchmark the offline pipeline (``deployer.offline.prepare``) over a 1,000-host inventory.

Usage: .venv/bin/python bench/render.py [--runs 5] [--hosts 1000]

Target (issue): ``prepare`` (load + validate + render + check) of 1,000 hosts in under 1 s and
under 150 MB.

Every measurement runs in a fresh Python subprocess (this script with ``--child``), so caches
built by one run (schema, compiled templates, quoting memo) never flatter the next, as for a
real ``deployer`` invocation. Times are taken inside the child after ``import deployer``
(interpreter start-up and imports are reported apart). Memory is the child's peak RSS,
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (interpreter and imports included), and, in a
separate child because tracing slows Python down, ``tracemalloc``'s peak of the Python heap
allocated by ``prepare`` alone.

Also printed, per stage (median of the runs): load_inventory, desired_state, validate_flags,
render_manifest as ``deployer/offline.py`` calls it (a new ``ManifestRenderer`` per host) and
with one shared renderer, and check_manifest one host at a time and as one ``check_manifests``
batch; then ``prepare`` again with the offline module's renderer and checker calls swapped for
shared ones (what the suggested change in ``deployer/offline.py`` would give).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

_PRODUCTION = Path(__file__).resolve().parent.parent / "inventories" / "production"
_CHILD_TIMEOUT_S = 300.0
_MODES = ("prepare", "tracemalloc", "breakdown", "patched")


def write_inventory(root: Path, hosts: int) -> Path:
    """Write a ``hosts``-host inventory folder under ``root`` and return its hosts file.

    kubeadm-style flags in ``group_vars/all.yml`` (the production example's), the group's
    settings in ``group_vars/control_plane.yml``, ``ansible_host`` and
    ``apiserver_flags.advertise-address`` inline per host, and an override for every 100th
    host in ``host_vars/``.
    """
    (root / "group_vars").mkdir(parents=True)
    (root / "host_vars").mkdir()
    for name in ("all.yml", "control_plane.yml"):
        shutil.copyfile(_PRODUCTION / "group_vars" / name, root / "group_vars" / name)
    lines = ["all:", "  children:", "    control_plane:", "      hosts:"]
    for i in range(1, hosts + 1):
        address = f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"
        lines += [
            f"        cp{i}:",
            f"          ansible_host: {address}",
            "          apiserver_flags:",
            f"            advertise-address: {address}",
        ]
        if i % 100 == 0:
            (root / "host_vars" / f"cp{i}.yml").write_text(
                "apiserver_flags:\n  audit-log-maxage: 7\n  audit-log-maxbackup: 5\n",
                encoding="utf-8",
            )
    hosts_file = root / "hosts.yml"
    hosts_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return hosts_file


def _maxrss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _child_prepare(inventory: Path) -> dict[str, float]:
    started = time.perf_counter()
    import deployer.offline

    imported = time.perf_counter()
    rss_after_import = _maxrss_mb()
    prepared = deployer.offline.prepare([inventory])
    done = time.perf_counter()
    assert len(prepared.manifests) == len(prepared.states)
    return {
        "import_s": imported - started,
        "prepare_s": done - imported,
        "rss_after_import_mb": rss_after_import,
        "maxrss_mb": _maxrss_mb(),
        "hosts": float(len(prepared.manifests)),
    }


def _child_tracemalloc(inventory: Path) -> dict[str, float]:
    import tracemalloc

    import deployer.offline

    tracemalloc.start()
    prepared = deployer.offline.prepare([inventory])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert prepared.manifests
    return {"tracemalloc_peak_mb": peak / 1024 / 1024}


def _child_patched(inventory: Path) -> dict[str, float]:
    """``prepare`` with offline.py's per-host renderer/checker calls replaced by shared ones.

    Only the names ``deployer/offline.py`` imports are swapped (``render_manifest`` and
    ``check_manifest``, whichever it still calls); the rest of ``prepare`` runs as shipped.
    """
    import deployer.offline
    from deployer.desired import DesiredState
    from deployer.model.manifest import Manifest
    from deployer.render import ManifestChecker, ManifestRenderer

    renderers: dict[tuple[Path, ...], ManifestRenderer] = {}
    checker = ManifestChecker()

    def render_shared(
        state: DesiredState,
        *,
        template_dirs: Sequence[Path] = (),
        file_digests: Mapping[str, str] | None = None,
        renderer: ManifestRenderer | None = None,
    ) -> Manifest:
        key = tuple(template_dirs)
        shared = renderer or renderers.get(key)
        if shared is None:
            shared = renderers[key] = ManifestRenderer(key)
        return shared.render(state, file_digests=file_digests)

    swapped = 0.0
    if hasattr(deployer.offline, "render_manifest"):
        setattr(deployer.offline, "render_manifest", render_shared)  # noqa: B010
        swapped += 1
    if hasattr(deployer.offline, "check_manifest"):
        setattr(deployer.offline, "check_manifest", checker.check)  # noqa: B010
        swapped += 2
    started = time.perf_counter()
    prepared = deployer.offline.prepare([inventory])
    done = time.perf_counter()
    assert len(prepared.manifests) == len(prepared.states)
    return {
        "patched_prepare_s": done - started,
        "patched_maxrss_mb": _maxrss_mb(),
        "swapped": swapped,
    }


def _child_breakdown(inventory: Path) -> dict[str, float]:
    from deployer.desired import desired_state
    from deployer.inventory import load_inventory_with_warnings, select_hosts
    from deployer.render import (
        ManifestRenderer,
        check_manifest,
        check_manifests,
        render_manifest,
    )
    from deployer.schema.validate import validate_flags

    out: dict[str, float] = {}
    t = time.perf_counter()
    loaded, _ = load_inventory_with_warnings([inventory])
    inventory_model = select_hosts(loaded, None)
    out["load_inventory_s"] = time.perf_counter() - t

    t = time.perf_counter()
    states = [desired_state(h)[0] for h in inventory_model.hosts]
    out["desired_state_s"] = time.perf_counter() - t

    t = time.perf_counter()
    problems = 0
    for s in states:
        problems += len(
            validate_flags(s.flags, s.schema_minor, host=s.host.name, origins=s.flag_origins)
        )
    out["validate_flags_s"] = time.perf_counter() - t

    dirs = (inventory.parent,)
    t = time.perf_counter()
    per_host = [render_manifest(s, template_dirs=dirs) for s in states]
    out["render_new_renderer_per_host_s"] = time.perf_counter() - t

    t = time.perf_counter()
    renderer = ManifestRenderer(dirs)
    shared = [renderer.render(s) for s in states]
    out["render_shared_renderer_s"] = time.perf_counter() - t
    assert [m.content for m in per_host] == [m.content for m in shared]

    t = time.perf_counter()
    one_by_one = [p for s, m in zip(states, shared, strict=True) for p in check_manifest(s, m)]
    out["check_manifest_per_host_s"] = time.perf_counter() - t

    t = time.perf_counter()
    batch = check_manifests(zip(states, shared, strict=True))
    out["check_manifests_batch_s"] = time.perf_counter() - t
    assert len(batch) == len(one_by_one)
    out["problems_validate"] = float(problems)
    out["problems_check"] = float(len(batch))
    return out


def _run_child(mode: str, inventory: Path) -> dict[str, float]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--inventory", str(inventory)],
        capture_output=True,
        text=True,
        timeout=_CHILD_TIMEOUT_S,  # subprocess.run kills the child (by its pid) on timeout
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"child {mode} failed ({result.returncode}):\n{result.stderr}")
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    figures["process_s"] = time.perf_counter() - started
    return figures


def _median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per measurement")
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--child", choices=_MODES, help=argparse.SUPPRESS)
    parser.add_argument("--inventory", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        children = {
            "prepare": _child_prepare,
            "tracemalloc": _child_tracemalloc,
            "breakdown": _child_breakdown,
            "patched": _child_patched,
        }
        print(json.dumps(children[args.child](args.inventory)))
        return

    with tempfile.TemporaryDirectory(prefix="render-bench-") as folder:
        inventory = write_inventory(Path(folder) / "inventory", args.hosts)
        runs = [_run_child("prepare", inventory) for _ in range(args.runs)]
        hosts = int(runs[0]["hosts"])
        prepare_s = _median(runs, "prepare_s")
        maxrss = _median(runs, "maxrss_mb")
        print(
            f"prepare([inventory]) of {hosts} hosts, {args.runs} fresh processes: "
            f"median {prepare_s:.3f} s (min {min(r['prepare_s'] for r in runs):.3f}, "
            f"max {max(r['prepare_s'] for r in runs):.3f}); "
            f"imports {_median(runs, 'import_s'):.3f} s; "
            f"whole process incl. interpreter start {_median(runs, 'process_s'):.3f} s",
            flush=True,
        )
        print(
            f"  peak RSS (ru_maxrss, whole process): median {maxrss:.1f} MB "
            f"(after imports, before prepare: {_median(runs, 'rss_after_import_mb'):.1f} MB)",
            flush=True,
        )
        traced = _run_child("tracemalloc", inventory)["tracemalloc_peak_mb"]
        print(f"  tracemalloc peak during prepare (Python heap only): {traced:.1f} MB", flush=True)
        print(
            f"  target < 1 s and < 150 MB: time {'MET' if prepare_s < 1 else 'MISSED'}, "
            f"memory {'MET' if maxrss < 150 else 'MISSED'}",
            flush=True,
        )

        breakdown = [_run_child("breakdown", inventory) for _ in range(args.runs)]
        print(f"breakdown, median of {args.runs} fresh processes ({hosts} hosts):", flush=True)
        for key, label in (
            ("load_inventory_s", "load_inventory (+ select_hosts)"),
            ("desired_state_s", "desired_state, all hosts"),
            ("validate_flags_s", "validate_flags, all hosts"),
            ("render_new_renderer_per_host_s", "render_manifest, new renderer per host"),
            ("render_shared_renderer_s", "render, one shared ManifestRenderer"),
            ("check_manifest_per_host_s", "check_manifest, one host at a time"),
            ("check_manifests_batch_s", "check_manifests, one batch"),
        ):
            print(f"  {label:<42} {_median(breakdown, key):8.3f} s", flush=True)
        per_host = _median(breakdown, "render_new_renderer_per_host_s")
        shared = _median(breakdown, "render_shared_renderer_s")
        one = _median(breakdown, "check_manifest_per_host_s")
        batch = _median(breakdown, "check_manifests_batch_s")
        print(
            f"  ratios (same runs): render per-host/shared {per_host / shared:.1f}x, "
            f"check one-by-one/batch {one / batch:.1f}x",
            flush=True,
        )

        patched = [_run_child("patched", inventory) for _ in range(args.runs)]
        patched_s = _median(patched, "patched_prepare_s")
        code = int(patched[0]["swapped"])
        swapped = [n for bit, n in ((1, "render_manifest"), (2, "check_manifest")) if code & bit]
        print(
            f"prepare with offline.py's {' and '.join(swapped) or 'nothing (no per-host call)'}"
            f" swapped for a shared ManifestRenderer/ManifestChecker in-process: "
            f"median {patched_s:.3f} s, peak RSS "
            f"{_median(patched, 'patched_maxrss_mb'):.1f} MB; "
            f"as shipped/shared {prepare_s / patched_s:.1f}x",
            flush=True,
        )


if __name__ == "__main__":
    main()
