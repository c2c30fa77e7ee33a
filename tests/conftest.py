"""Shared test fixtures: where the real pages and the shipped samples are."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_SEEDS = ROOT.parent / "shared" / "seeds"
SAMPLE_SEEDS = ROOT / "seeds"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
IN_CI = bool(os.environ.get("CI"))


def real_pages() -> list[Path]:
    return sorted(SHARED_SEEDS.glob("*.txt"))


@pytest.fixture
def shared_seeds() -> Path:
    if not real_pages():
        pytest.skip(f"the real pages are not here ({SHARED_SEEDS} is absent)")
    return SHARED_SEEDS


def page(key: str) -> Path:
    """A real page by its number, '000' .. '004'."""
    matches = sorted(SHARED_SEEDS.glob(f"{key}_*.txt"))
    if not matches:
        pytest.skip(f"the real page {key} is not here ({SHARED_SEEDS})")
    return matches[0]


def digest_command() -> list[str]:
    """The installed entry point when there is one beside this Python, else the module."""
    script = Path(sys.executable).with_name("digest")
    return [str(script)] if script.exists() else [sys.executable, "-m", "digest.cli"]
