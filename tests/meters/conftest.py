"""Meter fixtures: a community with households, and the path of the real sample data."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DATA = REPO_ROOT.parent / "shared" / "data" / "voisins-energie-flukso"


@pytest.fixture
def sample_data() -> Path:
    if not SAMPLE_DATA.is_dir():
        pytest.skip(f"sample data not found at {SAMPLE_DATA}")
    return SAMPLE_DATA
