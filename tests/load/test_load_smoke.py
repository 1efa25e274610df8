"""Small runs of the load scripts in bench/: no error, no leak, every job ends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"

pytestmark = pytest.mark.slow


def run_script(name: str, *args: str) -> str:
    """Run ``bench/NAME ARGS`` with two gunicorn workers; return its output, failing on exit 1."""
    env = {**os.environ, "WEB_CONCURRENCY": "2"}
    done = subprocess.run(  # noqa: S603 - our own script with our interpreter
        [sys.executable, str(BENCH / name), *args],
        cwd=BENCH,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_viewers_see_their_sites_and_nothing_else() -> None:
    out = run_script("load_viewers.py", "--viewers", "20", "--users", "4", "--seconds", "4")
    assert " errors=0 " in out
    assert " leaks=0" in out


def test_every_generation_ends_against_a_faulty_model() -> None:
    out = run_script("load_generations.py", "--jobs", "3", "--runner", "threads")
    assert " stuck=0 lost=0 " in out
    assert "accepted=3 " in out
