"""Fuzz the offline commands with generated inventories: contract exit codes, never a trace.

Inventories are built from deployer's own variable names with hostile values (NaN, inf, huge
integers, wrong types, nested structures, odd strings), in the YAML layout operators use.
``validate``, ``render`` and ``inventory show`` must answer 0 (valid) or 6 (invalid input,
one screen naming the problem), never 1 (a bug) and never a Python traceback.
"""

from __future__ import annotations

import contextlib
import io
import math
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deployer.cli.main import main

_VARIABLES = [
    "kubernetes_version",
    "apiserver_image",
    "apiserver_flags",
    "apiserver_extra_volumes",
    "apiserver_extra_env",
    "apiserver_checksum_files",
    "manifest_dir",
    "manifest_template",
    "backup_dir",
    "backup_keep",
    "crictl",
    "restart_timeout",
    "ready_timeout",
    "soak_seconds",
    "serial",
    "host_root",
    "kubeconfig",
    "cluster_ca_file",
    "kubelet_check",
    "ansible_host",
    "ansible_port",
    "ansible_user",
    "ansible_become",
    "ansible_ssh_timeout",
    "ansible_ssh_common_args",
]
_FLAGS = ["etcd-servers", "secure-port", "advertise-address", "authorization-mode", "v", "bogus"]

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.just(10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["nan", "inf", "-inf", "1e400", "0x10", "1_000", "", " ", "/", "~", "1.31"]),
    st.text(max_size=20),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from([*_FLAGS, "name", "value"]), inner, max_size=3),
    ),
    max_leaves=6,
)
_HOST_VARS = st.dictionaries(st.sampled_from(_VARIABLES), _VALUES, max_size=5)


def _dump(value: object) -> str:
    def plain(v: object) -> object:
        if isinstance(v, float) and not math.isfinite(v):
            return str(v)  # YAML spells them .nan/.inf; a string form exercises the parser too
        if isinstance(v, int) and abs(v) > 10**300:
            return str(v)
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, list):
            return [plain(x) for x in v]
        return v

    return yaml.safe_dump(plain(value), sort_keys=False)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(hosts=st.dictionaries(st.sampled_from(["cp1", "cp2"]), _HOST_VARS, min_size=1, max_size=2))
def test_offline_commands_answer_with_contract_codes_and_no_traceback(
    hosts: dict[str, dict[str, object]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        _dump({"all": {"children": {"control_plane": {"hosts": hosts}}}}), encoding="utf-8"
    )
    name = next(iter(hosts))
    for argv in (
        ["validate", "-i", str(inventory)],
        ["render", "-i", str(inventory), "--out", str(tmp_path / "out")],
        ["inventory", "show", "-i", str(inventory), name],
        ["inventory", "show", "-i", str(inventory), name, "--json", "--explain"],
    ):
        code = main(argv)
        out = capsys.readouterr()
        text = out.out + out.err
        assert code in (0, 6), f"{argv[0]} exited {code}:\n{text}"
        assert "Traceback" not in text, text
        assert "internal error" not in text, text


_PRODUCTION = Path(__file__).parents[3] / "inventories" / "production"


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(overrides=_HOST_VARS)
def test_hostile_host_vars_over_a_valid_inventory(
    overrides: dict[str, object], tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("inv")
    shutil.copytree(_PRODUCTION, folder, dirs_exist_ok=True)
    (folder / "host_vars").mkdir(exist_ok=True)
    (folder / "host_vars" / "cp1.yml").write_text(_dump(overrides), encoding="utf-8")
    for argv in (
        ["validate", "-i", str(folder), "--limit", "cp1"],
        ["render", "-i", str(folder), "--limit", "cp1", "--out", str(folder / "out")],
        ["inventory", "show", "-i", str(folder), "cp1", "--explain"],
    ):
        with (
            contextlib.redirect_stdout(io.StringIO()) as out,
            contextlib.redirect_stderr(io.StringIO()) as err,
        ):
            code = main(argv)
        text = out.getvalue() + err.getvalue()
        assert code in (0, 6), f"{argv[0]} exited {code}:\n{text}"
        assert "Traceback" not in text and "internal error" not in text, text
