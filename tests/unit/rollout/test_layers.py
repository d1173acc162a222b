"""The arrows point one way: cli -> rollout -> engine -> phases -> facts/transport -> model.

Parsed from the source (``ast``), not imported, so a function-level import counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[3] / "deployer"

#: Layer -> the deployer packages it must never import (directly or in a function).
FORBIDDEN = {
    "model": {"cli", "rollout", "engine", "phases", "locks", "transport", "render", "inventory"},
    "phases": {"cli", "rollout", "engine"},
    "engine": {"cli", "rollout"},
    "rollout": {"cli"},
    "locks": {"cli", "rollout", "engine", "phases"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m.split(".", 2)[1] for m in found if m.startswith("deployer.") and m.count(".") >= 1}


def _modules(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).glob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_only_downward(layer: str) -> None:
    wrong = []
    for path in _modules(layer):
        name = f"{layer}.{path.stem}"
        for target in _imports(path) & FORBIDDEN[layer]:
            wrong.append(f"{name} -> {target}")
    assert wrong == []


def test_model_names_nothing_above_it() -> None:
    allowed = {"model", "errors"}
    edges = {
        (f"model.{p.stem}", target) for p in _modules("model") for target in _imports(p) - allowed
    }
    assert edges == set()


def test_model_events_and_files_import_nothing_of_deployer_above_model() -> None:
    for stem in ("events", "files", "observation", "desired_state"):
        assert _imports(PACKAGE / "model" / f"{stem}.py") <= {"model"}
