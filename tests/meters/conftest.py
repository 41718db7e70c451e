"""Meter fixtures: a community with households, and the path of the real sample data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_SUBPATH = Path("shared") / "data" / "voisins-energie-flukso"


def find_sample_data() -> Path | None:
    """``VOISINS_SAMPLE_DATA``, else ``shared/data/...`` beside the repository or any folder
    above it (a git worktree lives one level deeper than the main checkout)."""
    if os.environ.get("VOISINS_SAMPLE_DATA"):
        return Path(os.environ["VOISINS_SAMPLE_DATA"])
    for folder in REPO_ROOT.parents:
        if (folder / SAMPLE_SUBPATH).is_dir():
            return folder / SAMPLE_SUBPATH
    return None


SAMPLE_DATA: Path = find_sample_data() or REPO_ROOT.parent / SAMPLE_SUBPATH


@pytest.fixture
def sample_data() -> Path:
    if not SAMPLE_DATA.is_dir():
        pytest.skip("sample data not found (set VOISINS_SAMPLE_DATA)")
    return SAMPLE_DATA
