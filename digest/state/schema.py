"""The schema's version and its migrations: `migrate_N` in `sql/<dialect>/schema.sql` brings
a state to version N. A database is brought up to SCHEMA_VERSION one migration at a time, each
in its own transaction; one from a newer digest is refused."""

from __future__ import annotations

from ..errors import StateError
from .db import Db
from .queries import queries, statements

SCHEMA_VERSION = 5


def check_version(db: Db) -> int:
    version = db.schema_version()
    if version > SCHEMA_VERSION:
        raise StateError(
            f"{db.where}: written by a newer digest (schema {version}; this one knows "
            f"{SCHEMA_VERSION}); left as it was",
            "upgrade digest, or point `state:` at another file",
        )
    return version


def migrate(db: Db, version: int) -> None:
    sql = queries(db.dialect)
    for target in range(version + 1, SCHEMA_VERSION + 1):
        with db.transaction():
            db.lock_in_transaction("migrate")
            if db.schema_version() >= target:  # another sender migrated meanwhile
                continue
            for statement in statements(sql[f"migrate_{target}"]):
                db.execute(statement)
            db.set_schema_version(target)
