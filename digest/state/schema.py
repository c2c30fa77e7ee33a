"""The schema's version and its migrations: `migrate_N` in `sql/<dialect>/schema.sql` brings
a state to version N. A database is brought up to SCHEMA_VERSION one migration at a time, each
in its own transaction; one from a newer digest is refused."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import StateError
from .db import Db
from .models import RunStatus
from .queries import queries, statements
from .sent import (
    FACTS,
    KEYS,
    RARE_WORDS,
    SentBlock,
    blocks_per_issue,
    kept_as_rare,
    rare_word_rows,
)

SCHEMA_VERSION = 12


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
            now = db.schema_version()
            if now >= target:  # another sender migrated meanwhile
                continue
            if target == version + 1 and now > 0 and not db.memory:
                # read under the migration's lock: a sender that migrated and began its run
                # meanwhile runs this digest, not the older one
                _refuse_while_older_runs_live(db, sql, now)
            for statement in statements(sql[f"migrate_{target}"]):
                db.execute(statement)
            if target in AFTER:
                AFTER[target](db, sql)
            db.set_schema_version(target)


def _refuse_while_older_runs_live(db: Db, sql: dict[str, str], version: int) -> None:
    """A run of the older digest (another sender on PostgreSQL; on SQLite the run lock's
    holder, while a command that does not take that lock opens the file) goes on writing as
    its schema had it, and what it sends is remembered without what the migrations add (its
    stories' rare words: sent again), or not at all (the tables it writes to dropped): the
    upgrade waits until its run has finished."""
    running = [row[0] for row in db.execute(sql["runs_with_status"], (RunStatus.RUNNING,))]
    live = [run_id for run_id in running if db.held_elsewhere(run_id)]
    if live:
        raise StateError(
            f"{db.where}: run {', '.join(map(str, live))} of the older digest (schema "
            f"{version}) is still going; left as it was",
            f"run again once it has finished: this digest then brings the state to schema "
            f"{SCHEMA_VERSION}, and senders with the older one refuse it from then on",
        )


def _sent_index_in_blocks(db: Db, sql: dict[str, str]) -> None:
    """Schema 6: what sent_keys and sent_facts held, into blocks, one per issue."""
    for kind in (KEYS, FACTS):
        db.executemany(sql["insert_sent_block"], [b.row() for b in _legacy_blocks(db, sql, kind)])
    for statement in statements(sql["drop_legacy_sent_index"]):
        db.execute(statement)


def _sent_rare_words_in_blocks(db: Db, sql: dict[str, str]) -> None:
    """Schema 9: the rare content words of what was sent, into blocks, one per issue."""
    db.executemany(sql["insert_sent_block"], [b.row() for b in _rare_word_blocks(db, sql)])


def _legacy_blocks(db: Db, sql: dict[str, str], kind: str) -> list[SentBlock]:
    query = {KEYS: "legacy_sent_keys", FACTS: "legacy_sent_facts"}[kind]
    return blocks_per_issue(kind, db.execute(sql[query]))


def _rare_word_blocks(db: Db, sql: dict[str, str]) -> list[SentBlock]:
    rare = {k for k, n in db.execute(sql["sent_term_counts"]) if kept_as_rare(k, n)}
    return blocks_per_issue(RARE_WORDS, rare_word_rows(db.execute(sql["sent_article_terms"]), rare))


def blocks_not_migrated(db: Db, version: int, kind: str) -> list[SentBlock] | None:
    """The blocks of `kind` a state of `version` would have once migrated, made in memory from
    what it holds; None when it has them (a read-only look at an older PostgreSQL state, which
    is never migrated: before schema 6 it has no blocks at all, before 9 no rare words)."""
    sql = queries(db.dialect)
    if kind == RARE_WORDS and version < 9:
        return _rare_word_blocks(db, sql)
    if kind in (KEYS, FACTS) and version < 6:
        return _legacy_blocks(db, sql, kind)
    return None


# What a migration does beyond its SQL, in the same transaction.
AFTER: dict[int, Callable[[Db, dict[str, str]], None]] = {
    6: _sent_index_in_blocks,
    9: _sent_rare_words_in_blocks,
}
