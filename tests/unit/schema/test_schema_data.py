"""The packaged per-version data and the generator that makes it."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from deployer.errors import InputError
from deployer.schema import load_flag_schema, supported_versions
from deployer.schema.values import default_value, parser_accumulate

TOOLS = Path(__file__).resolve().parents[3] / "tools" / "make_flag_schema.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_flag_schema", TOOLS)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_flag_schema"] = module
    spec.loader.exec_module(module)
    return module


def test_supported_versions_are_discovered_from_the_files_in_order() -> None:
    versions = supported_versions()
    assert versions == tuple(sorted(versions, key=lambda v: int(v.split(".")[1])))
    assert {"1.28", "1.31", "1.33"} <= set(versions)


def test_unknown_version_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no kube-apiserver flag schema for '1.99'"):
        load_flag_schema("1.99")


def test_schema_is_loaded_once_and_immutable() -> None:
    schema = load_flag_schema("1.31")
    assert load_flag_schema("1.31") is schema
    with pytest.raises(TypeError):
        schema.flags["x"] = schema.flags["v"]  # type: ignore[index]


@pytest.mark.parametrize("minor", supported_versions())
def test_every_flag_has_a_parser_and_a_parsable_default(minor: str) -> None:
    schema = load_flag_schema(minor)
    for spec in schema.flags.values():
        parser_accumulate(spec)
        default_value(spec)
        assert not spec.deprecated or spec.deprecation_message, spec.name
    assert schema.shorthands["v"].name == "v"
    assert schema.shorthands["h"].name == "help"
    assert not set(schema.removed) & set(schema.flags)


def test_facts_that_differ_between_versions() -> None:
    s28, s31, s33 = (load_flag_schema(v) for v in ("1.28", "1.31", "1.33"))
    assert s28.flags["feature-gates"].type == "mapStringBool"
    assert s31.flags["feature-gates"].type == "colonSeparatedMultimapStringString"
    assert "cloud-provider" in s31.flags
    assert s33.removed["cloud-provider"].removed_in == "1.33"
    assert "SecurityContextDeny" in s28.admission_plugins
    assert "SecurityContextDeny" not in s31.admission_plugins
    assert s31.feature_gates["AuthorizeWithSelectors"].default is False
    assert not s31.feature_gates_complete
    assert s31.flags["runtime-config"].parser == "configurationMap"
    assert s31.flags["oidc-required-claim"].parser == "mapStringStringNoSplit"
    assert s31.flags["default-not-ready-toleration-seconds"].parser == "goflag.int64"


FACTS = {
    "versions": {
        "1.30": {
            "confidence": "medium",
            "basis": "test",
            "flags": {
                "zeta": {"type": "bool", "default": "false", "no_opt_default": "true"},
                "alpha": {
                    "type": "int",
                    "default": "1",
                    "deprecated": True,
                    "hidden": True,
                    "deprecation_message": "gone soon",
                },
                "runtime-config": {"type": "mapStringString", "default": ""},
            },
            "admission_plugins": {"all": ["B", "A"]},
        },
        "1.31": {
            "flags": {"zeta": {"type": "bool", "default": "false"}},
            "admission_plugins": {"all": ["A"], "enabled_by_default": ["A"]},
            "feature_gates_listed": {"G": {"stage": "ALPHA", "default": False}},
        },
    },
    "removed": [
        {"flag": "old", "removed_in": "1.24", "note": "n1"},
        {"flag": "alpha", "removed_in": "1.31", "note": "n2"},
        {"flag": "later", "removed_in": "1.35", "note": "n3"},
        {"flag": "fake", "removed_in": "n/a", "note": "n4"},
    ],
}


def test_generator_builds_one_document_per_version(tmp_path: Path) -> None:
    gen = _generator()
    source = tmp_path / "facts.json"
    source.write_text(json.dumps(FACTS), encoding="utf-8")
    assert gen.main([str(source), str(tmp_path / "out")]) == 0
    v30 = json.loads((tmp_path / "out" / "1.30.json").read_text(encoding="utf-8"))
    v31 = json.loads((tmp_path / "out" / "1.31.json").read_text(encoding="utf-8"))
    assert list(v30["flags"]) == ["alpha", "runtime-config", "zeta"]
    assert v30["flags"]["alpha"]["deprecation_message"] == "gone soon"
    assert v30["flags"]["runtime-config"]["parser"] == "configurationMap"
    assert v30["admission_plugins"] == ["A", "B"]
    assert set(v30["removed"]) == {"old", "fake"}
    assert set(v31["removed"]) == {"old", "alpha", "fake"}
    assert v31["feature_gates"] == {"G": {"default": False, "stage": "ALPHA"}}
    assert v31["admission_plugins_enabled_by_default"] == ["A"]


def test_generator_output_is_deterministic(tmp_path: Path) -> None:
    gen = _generator()
    source = tmp_path / "facts.json"
    source.write_text(json.dumps(FACTS), encoding="utf-8")
    gen.main([str(source), str(tmp_path / "a")])
    gen.main([str(source), str(tmp_path / "b")])
    for name in ("1.30.json", "1.31.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


DELTAS_MD = """# Later minors

Some prose, then the machine-readable part.

```json
{"versions": {
  "1.32": {"inherits": "1.31", "confidence": "c", "basis": "b",
           "flags": {"new": {"type": "bool", "default": "false"}},
           "flags_removed": ["zeta"], "admission_plugins": {"all": ["A", "C"]},
           "flag_count": 1},
  "1.33": {"inherits": "1.32", "flags": {}, "flags_removed": [], "flag_count": 1}
}}
```
"""


def test_generator_overlays_the_deltas_of_later_minors(tmp_path: Path) -> None:
    gen = _generator()
    source = tmp_path / "facts.json"
    source.write_text(json.dumps(FACTS), encoding="utf-8")
    deltas = tmp_path / "later.md"
    deltas.write_text(DELTAS_MD, encoding="utf-8")
    assert gen.main([str(source), str(tmp_path / "out"), "--deltas", str(deltas)]) == 0
    v32 = json.loads((tmp_path / "out" / "1.32.json").read_text(encoding="utf-8"))
    v33 = json.loads((tmp_path / "out" / "1.33.json").read_text(encoding="utf-8"))
    assert sorted(v32["flags"]) == ["new"]
    # A bool flag's NoOptDefVal is implicit in the deltas: pflag's "true".
    assert v32["flags"]["new"]["no_opt_default"] == "true"
    assert v32["removed"]["zeta"]["removed_in"] == "1.32"
    assert v32["admission_plugins"] == ["A", "C"]
    assert v33["flags"] == v32["flags"] and "zeta" in v33["removed"]
    # The 1.31 default-enabled list is carried over; nothing claims a plugin list it lacks.
    assert v33["admission_plugins_enabled_by_default"] == ["A"]


def test_generator_refuses_a_delta_whose_flag_count_disagrees(tmp_path: Path) -> None:
    gen = _generator()
    source = tmp_path / "facts.json"
    source.write_text(json.dumps(FACTS), encoding="utf-8")
    deltas = tmp_path / "later.md"
    deltas.write_text(DELTAS_MD.replace('"flag_count": 1}\n}}', '"flag_count": 9}\n}}'))
    with pytest.raises(SystemExit, match="1.33: 1 flags after the delta, the reference counts 9"):
        gen.main([str(source), str(tmp_path / "out"), "--deltas", str(deltas)])
