"""Shared fixtures for the inventory tests: the fixture folder and a tiny file writer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data" / "inventories"


@pytest.fixture
def data_dir() -> Path:
    """The folder of fixture inventories (tests/data/inventories)."""
    return DATA


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write ``text`` to ``tmp_path/relative`` (folders created) and return the path."""

    def _write(relative: str, text: str) -> Path:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return _write
