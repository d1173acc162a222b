"""Table-driven: every document under tests/data/companions against every minor it names.

Each case file states what kube-apiserver of those minors says about the document (its own
message texts); a case with no errors and no warnings is a file the binary starts with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from deployer.companions import KINDS, Options, supported_minors, validate_companion
from deployer.companions.facts import loader_facts
from deployer.companions.validate import kind_of

DATA = Path(__file__).resolve().parents[2] / "data" / "companions"
CASE_FILES = sorted(DATA.glob("*/*.yaml"))


def _minors(spec: dict[str, Any], case: dict[str, Any]) -> list[str]:
    if case["minors"] != "all":
        return [str(m) for m in case["minors"]]
    kind = kind_of(spec["document"], spec.get("kind"))
    assert kind in KINDS
    return [m for m in supported_minors() if loader_facts(kind, m).accepted]


def _text(message: str) -> str:
    """Drop deployer's ``Kind: `` prefix, keeping kube-apiserver's text."""
    head, sep, rest = message.partition(": ")
    return rest if sep and head in KINDS else message


def test_every_kind_has_cases() -> None:
    assert {p.parent.name for p in CASE_FILES} == {
        "audit",
        "encryption",
        "authentication",
        "authorization",
        "admission",
        "egress",
        "tracing",
    }


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_case(path: Path) -> None:
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw_options = spec.get("options", {})
    options = Options(
        gates=spec.get("gates"),
        encryption_reload=bool(raw_options.get("encryption_reload", False)),
        disallowed_issuers=raw_options.get("disallowed_issuers", ()),
    )
    for case in spec["cases"]:
        for minor in _minors(spec, case):
            problems = validate_companion(
                path.name, spec["document"], minor, kind=spec.get("kind"), options=options
            )
            errors = [_text(p.message) for p in problems if not p.is_warning]
            warnings = [_text(p.message) for p in problems if p.is_warning]
            assert errors == case.get("errors", []), f"errors for {minor}"
            assert warnings == case.get("warnings", []), f"warnings for {minor}"
            assert all(p.file == path.name for p in problems)
