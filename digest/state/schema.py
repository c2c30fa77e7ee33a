"""The schema's version and its migrations: `migrate_N` in `sql/<dialect>/schema.sql` brings
a state to version N. A database is brought up to SCHEMA_VERSION one migration at a time, each
in its own transaction; one from a newer digest is refused."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import StateError
from .db import Db
from .queries import queries, statements
from .sent import FACTS, KEYS, RARE_WORDS, blocks_per_issue, kept_as_rare, rare_word_rows

SCHEMA_VERSION = 9


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
            if target in AFTER:
                AFTER[target](db, sql)
            db.set_schema_version(target)


def _sent_index_in_blocks(db: Db, sql: dict[str, str]) -> None:
    """Schema 6: what sent_keys and sent_facts held, into blocks, one per issue."""
    for kind, query in ((KEYS, "legacy_sent_keys"), (FACTS, "legacy_sent_facts")):
        blocks = blocks_per_issue(kind, db.execute(sql[query]))
        db.executemany(sql["insert_sent_block"], [b.row() for b in blocks])
    for statement in statements(sql["drop_legacy_sent_index"]):
        db.execute(statement)


def _sent_rare_words_in_blocks(db: Db, sql: dict[str, str]) -> None:
    """Schema 9: the rare content words of what was sent, into blocks, one per issue."""
    rare = {k for k, n in db.execute(sql["sent_term_counts"]) if kept_as_rare(k, n)}
    rows = rare_word_rows(db.execute(sql["sent_article_terms"]), rare)
    blocks = blocks_per_issue(RARE_WORDS, rows)
    db.executemany(sql["insert_sent_block"], [b.row() for b in blocks])


# What a migration does beyond its SQL, in the same transaction.
AFTER: dict[int, Callable[[Db, dict[str, str]], None]] = {
    6: _sent_index_in_blocks,
    9: _sent_rare_words_in_blocks,
}
