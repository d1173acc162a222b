"""Fixtures for the render tests, and the switch that refreshes golden files on purpose."""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/data/golden/ from the templates (same as DEPLOYER_UPDATE_GOLDEN=1)",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True when the run should rewrite golden files instead of comparing with them."""
    from_option = bool(request.config.getoption("--update-golden", default=False))
    return from_option or os.environ.get("DEPLOYER_UPDATE_GOLDEN") == "1"
