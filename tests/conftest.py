"""Shared test fixtures: where the real pages and the shipped samples are."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The five real front pages live outside the project, in ../shared/seeds (CI checks the
# project out with shared/ beside it); DIGEST_SHARED_SEEDS points elsewhere if need be.
SHARED_SEEDS = Path(os.environ.get("DIGEST_SHARED_SEEDS") or ROOT.parent / "shared" / "seeds")
SAMPLE_SEEDS = ROOT / "seeds"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
IN_CI = bool(os.environ.get("CI"))


def real_pages() -> list[Path]:
    return sorted(SHARED_SEEDS.glob("*.txt"))


def need_real_pages(what: str = "the five real pages") -> Path:
    """SHARED_SEEDS, or a skip that says this test needs that folder (a failure in CI,
    where the folder is checked out beside the project and nothing may skip)."""
    if not real_pages():
        reason = (
            f"needs {what} in ../shared/seeds ({SHARED_SEEDS} has no *.txt page): check "
            "out shared/ beside the project, or set DIGEST_SHARED_SEEDS to the folder"
        )
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return SHARED_SEEDS


@pytest.fixture
def shared_seeds() -> Path:
    return need_real_pages()


def page(key: str) -> Path:
    """A real page by its number, '000' .. '004'."""
    need_real_pages(f"the real page {key}")
    matches = sorted(SHARED_SEEDS.glob(f"{key}_*.txt"))
    if not matches:
        reason = f"needs the real page {key}_*.txt in ../shared/seeds ({SHARED_SEEDS})"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return matches[0]


def digest_command() -> list[str]:
    """The installed entry point when there is one beside this Python, else the module."""
    script = Path(sys.executable).with_name("digest")
    return [str(script)] if script.exists() else [sys.executable, "-m", "digest.cli"]
