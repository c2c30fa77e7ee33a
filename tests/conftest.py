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


@pytest.fixture(scope="session")
def pg_cluster():
    """A private PostgreSQL cluster (tests/pg_cluster.py) for the whole session."""
    from pg_cluster import Cluster, binaries

    if binaries() is None:
        pytest.skip("PostgreSQL is not installed (no initdb): apt-get install postgresql")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed: pip install 'psycopg[binary]'")
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
