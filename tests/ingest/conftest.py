"""Fixtures for ingest tests: the shared sample files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from app.ingest import IngestedFile, ingest

SAMPLES_DIR = Path(__file__).resolve().parents[3] / "shared" / "samples"


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """Return the folder of shared sample uploads, skipping when this checkout has none."""
    if not SAMPLES_DIR.is_dir():
        pytest.skip(f"sample files not found at {SAMPLES_DIR} (they live outside the repository)")
    return SAMPLES_DIR


@pytest.fixture
def ingest_sample(samples_dir: Path) -> Callable[[str], IngestedFile]:
    """Return a function that ingests a sample by its path relative to the samples folder."""

    def _ingest(relative: str) -> IngestedFile:
        path = samples_dir / relative
        return ingest(path.name, path.read_bytes())

    return _ingest
