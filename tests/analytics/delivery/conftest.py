"""What the delivery tests share beside tests/conftest.py's fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def home(isolated: Path) -> Path:
    """The isolated HOME the CLI runs with (its uploaders are found by it)."""
    return isolated / "home"
