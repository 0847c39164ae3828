"""Shared test helpers: the official-port fixtures beside the clone (``../shared/fixtures``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
FIXTURES = SHARED / "fixtures"


def _shared_path(path: Path) -> Path:
    """``path`` under ../shared; under ``CI=true`` a missing one fails instead of skipping."""
    if not path.exists():
        message = f"shared data not found at {path} (expected beside the clone)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def _fixture_dir(name: str) -> Path:
    return _shared_path(FIXTURES / name)


@pytest.fixture(scope="session")
def official_fixture() -> Callable[[str], Path]:
    """Returns a function mapping a fixture name to its folder (skip or fail when it is missing)."""
    return _fixture_dir


@pytest.fixture(scope="session")
def shared_reference() -> Callable[[str], Path]:
    """Returns a function mapping a file name of ``../shared/reference`` to its path."""
    return lambda name: _shared_path(SHARED / "reference" / name)
