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


@pytest.fixture(scope="session")
def pg_cluster():
    """A private PostgreSQL cluster (tests/pg_cluster.py) for the whole session."""
    from pg_cluster import Cluster, binaries

    # in CI (which installs both) a missing one fails instead of skipping
    give_up = pytest.fail if IN_CI else pytest.skip
    if binaries() is None:
        give_up("PostgreSQL is not installed (no initdb): apt-get install postgresql")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        give_up("psycopg is not installed: pip install 'psycopg[binary]'")
    if os.geteuid() == 0:
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("as root, PostgreSQL runs as the `postgres` user, which does not exist")
    cluster = Cluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster, monkeypatch):
    """A fresh empty PostgreSQL database; its password in $DIGEST_TEST_PG_PASSWORD."""
    from pg_cluster import PASSWORD

    monkeypatch.setenv("DIGEST_TEST_PG_PASSWORD", PASSWORD)
    return pg_cluster.new_database()
