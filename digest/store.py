"""Moved to digest/state/: kept so older imports (`from digest.store import Store`) work."""

from __future__ import annotations

from .state import SCHEMA_VERSION, Store, run_lock
from .state.exactly_once import dumps
from .state.models import DeliveredIssue
from .state.models import Run as RunRecord
from .state.sqlite import SQLITE_MAGIC
from .state.store import now

__all__ = [
    "DeliveredIssue",
    "SCHEMA_VERSION",
    "SQLITE_MAGIC",
    "RunRecord",
    "Store",
    "dumps",
    "now",
    "run_lock",
]
