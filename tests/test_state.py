"""The state layer: old state files read and migrate, statuses are enums, claims never
overlap, leases run out. SQLite files and a real PostgreSQL cluster."""

from __future__ import annotations

import random
import shutil
import sqlite3
import struct
import subprocess
import sys
import threading
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from digest.config import SelectionConfig
from digest.deliver import Outcome
from digest.errors import StateError
from digest.models import ALREADY_SENT
from digest.select.choose import select, sent_records
from digest.select.sent import History
from digest.sources import read_paths
from digest.state import (
    SCHEMA_VERSION,
    DeliveryStatus,
    IssueStatus,
    NewIssue,
    RunStatus,
    Store,
    run_lock,
)
from digest.state import exactly_once as rules
from digest.state import sent as sent_module
from digest.state.postgres import safe_url
from digest.state.queries import queries
from digest.state.sent import FACTS, KEYS, NAME_BIT, RARE_WORDS, is_content_word, sent_rows

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def version_1_file(path, statuses=("delivered",)):
    """A state file as digest wrote it before several senders (schema 1)."""
    db = sqlite3.connect(path)
    db.executescript(queries("sqlite")["migrate_1"])
    for n, status in enumerate(statuses, 1):
        db.execute(
            "INSERT INTO runs(id, started_at, status, chosen, sent) VALUES (?, '2026-01-0'||?, ?, 2, 1)",
            (n, n, status),
        )
    db.execute(
        "INSERT INTO issues VALUES (1, 1, '2026-01-01', '2026-01-01', 'Old', 'p', 'h', 't', "
        '\'{}\', \'[{"title": "a"}, {"title": "b"}]\', \'delivered\')'
    )
    db.execute(
        "INSERT INTO deliveries VALUES (1, 'a@example.org', 'sent', 1, '250 OK', '<m@x>', '2026')"
    )
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()


def test_every_status_an_earlier_digest_wrote_reads_back_as_a_member(tmp_path):
    written = ("delivered", "partly-delivered", "failed", "empty", "deferred", "killed")
    version_1_file(tmp_path / "s.sqlite3", written)
    with Store.open(tmp_path / "s.sqlite3", readonly=True) as store:
        runs = store.runs()
        assert [r.status for r in reversed(runs)] == [RunStatus(s) for s in written]
        assert all(isinstance(r.status, RunStatus) for r in runs)
        assert store.issues()[0].status is IssueStatus.DELIVERED
        assert store.deliveries(1)[0].status is DeliveryStatus.SENT


def test_a_version_1_file_is_migrated_and_keeps_everything(tmp_path):
    path = tmp_path / "s.sqlite3"
    version_1_file(path)
    with Store.open(path) as store:
        assert store.db.schema_version() == SCHEMA_VERSION
        (entry,) = store.history()
        assert entry["subject"] == "Old" and entry["sent"] == 1 and entry["articles"] == 2
        assert entry["deliveries"][0]["recipient"] == "a@example.org"
        assert entry["deliveries"][0]["sender"] is None  # not known before several senders


def test_what_a_slots_run_did_is_counted_as_history_counts_it(tmp_path):
    """The scheduler's line for a slot whose run failed after sending (schedule.py) reads
    Store.went_out, typed, where it read the keys of `digest history`'s JSON."""
    with Store.open(tmp_path / "s.sqlite3") as store:
        run = rules.begin_run(store, "2026-03-05T07:00:00+01:00")
        new = NewIssue("2026-03-05", "s", "p", "h", "t", [], ["a@example.org", "b@example.org"])
        issue = rules.freeze(store, run.id, new, store.newest_issue_id())
        outcomes = [
            ("a@example.org", "sent", "250", None),
            ("b@example.org", "failed", "550", None),
        ]
        store.set_deliveries(issue, outcomes, run.id)
        rules.begin_run(store, "2026-03-06T07:00:00+01:00")  # a newer run, another slot
        (entry,) = [e for e in store.history() if e["slot"] == "2026-03-05T07:00:00+01:00"]
        went = store.went_out("2026-03-05T07:00:00+01:00")
        assert went is not None
        assert (
            (went.articles, went.sent, went.failed)
            == (
                entry["articles"],
                entry["sent"],
                entry["failed"],
            )
            == (0, 1, 1)
        )
        assert store.went_out("2026-03-07T07:00:00+01:00") is None


def test_messages_name_the_database_url_without_its_password():
    assert safe_url("postgresql://u:secret@h:5/db?sslmode=require") == "postgresql://u@h:5/db"


def freeze(store: Store, recipients: list[str]) -> tuple[int, int]:
    run = rules.begin_run(store)
    new = NewIssue("2026-01-01", "s", "p", "h", "t", [], recipients)
    return run.id, rules.freeze(store, run.id, new, store.newest_issue_id())


@pytest.mark.slow
def test_claims_by_concurrent_senders_never_overlap_on_postgresql(pg_url):
    readers = [f"r{i:04d}@example.org" for i in range(1500)]
    with Store.open(pg_url, password_env="DIGEST_TEST_PG_PASSWORD") as store:
        _, issue = freeze(store, readers)
    got: list[list[str]] = []
    lock = threading.Lock()

    def sender() -> None:
        with Store.open(pg_url, password_env="DIGEST_TEST_PG_PASSWORD") as store:
            run = rules.begin_run(store)
            while batch := rules.claim(store, issue, run.id, limit=37):
                with lock:
                    got.append(batch)
                store.set_deliveries(issue, [(r, "sent", "250", None) for r in batch], run.id)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    claimed = [r for batch in got for r in batch]
    assert sorted(claimed) == readers  # each reader claimed once, by one sender
    with Store.open(pg_url, password_env="DIGEST_TEST_PG_PASSWORD") as store:
        senders = {d.run_id for d in store.deliveries(issue)}
        assert len(senders) > 1
        assert rules.settle(store, issue) is IssueStatus.DELIVERED


@pytest.mark.slow
def test_an_expired_claim_is_taken_over_and_its_late_sender_stops(pg_url):
    url, env = pg_url, "DIGEST_TEST_PG_PASSWORD"
    with (
        Store.open(url, password_env=env, lease_seconds=1) as a,
        Store.open(url, password_env=env, lease_seconds=1) as b,
    ):
        run_a, issue = freeze(a, ["x@example.org", "y@example.org"])
        assert rules.claim(a, issue, run_a) == ["x@example.org", "y@example.org"]
        run_b = rules.begin_run(b).id
        assert rules.claim(b, issue, run_b) == []  # a's claim holds
        assert rules.others_claims(b, issue, run_b) == 2
        clock = [0.0]
        log = rules.DeliveryLog(a, run_a, clock=lambda: clock[0])
        log.claimed(["x@example.org", "y@example.org"])
        import time

        time.sleep(2.1)  # a hangs past its lease
        assert rules.others_claims(b, issue, run_b) == 0
        assert sorted(rules.claim(b, issue, run_b)) == ["x@example.org", "y@example.org"]
        clock[0] = 5.0
        with pytest.raises(rules.LeaseLost):
            log.record(issue, [Outcome("x@example.org", "sent", "250")])


@pytest.mark.slow
def test_a_killed_senders_claims_are_freed_at_once_on_postgresql(pg_url):
    env = "DIGEST_TEST_PG_PASSWORD"
    a = Store.open(pg_url, password_env=env)
    run_a, issue = freeze(a, ["x@example.org"])
    assert rules.claim(a, issue, run_a) == ["x@example.org"]
    with Store.open(pg_url, password_env=env) as b:
        assert rules.close_killed_runs(b) == 0  # a lives
        a.close()  # its connection gone, as when its process is killed
        import time

        for _ in range(50):
            if rules.close_killed_runs(b):
                break
            time.sleep(0.1)
        assert b.run(run_a).status is RunStatus.KILLED
        assert b.pending_recipients(issue) == ["x@example.org"]


def test_an_issue_keeps_its_stories_in_its_own_record_and_older_issues_still_read(tmp_path):
    from digest.models import Article, Paragraph
    from digest.state.frozen import decode_stories, encode_stories
    from digest.state.models import FrozenStory

    told = Article("Dam Opens", (Paragraph("The dam opened.", "prose", 3),), "a.txt", 2)
    story = FrozenStory("Dam Opens", "A lead.", "https://x.example/dam", "Top stories", (told,))
    assert decode_stories(encode_stories([story])) == [story]
    # frozen by an older digest: the tellings in `articles`, the leads only in its run report
    older = '[[{"title": "Dam Opens", "source": "a.txt", "line": 2, "url": null, "guid": null, "date": null, "excerpt": false, "paragraphs": [["The dam opened.", "prose", 3]]}]]'
    report = (
        '{"chosen": [{"title": "Dam Opens", "lead": "A lead.", "url": "https://x.example/dam"}]}'
    )
    (old,) = decode_stories(older, report)
    assert (old.title, old.lead, old.url, old.tellings[0].title) == (
        "Dam Opens",
        "A lead.",
        "https://x.example/dam",
        "Dam Opens",
    )
    version_1_file(tmp_path / "s.sqlite3")  # articles without their fields, an empty report
    with Store.open(tmp_path / "s.sqlite3", readonly=True) as store:
        (issue,) = store.delivered_issues()
        assert [s.title for s in issue.stories] == ["a", "b"]


VERSION_5_COLUMNS = (
    "id, issue_id, title, source, url, guid, day, sent_at, words, shingles, excerpt, "
    "fact_weight, facts, signature, lead, terms, story_id, classes, paragraphs"
)


def version_5_rows(records) -> tuple[list, list, list, list]:
    """What a state before the sent index went into blocks (schema 5) held of `records` sent
    in issue 7: rows of sent_articles (without the fact kinds of schema 8), sent_terms,
    sent_keys and sent_facts."""
    rows = sent_rows(1, 7, records, lambda words: {})
    keys, facts = [], []
    for block in rows.blocks:  # the rows the two indexes held
        found = struct.unpack(f"<{len(block.keys) // 8}q", block.keys)
        ids = struct.unpack(f"<{len(block.articles) // 8}q", block.articles)
        if block.kind == KEYS:
            keys += zip(found, ids, strict=True)
        else:
            days = struct.unpack(f"<{len(block.days) // 4}i", block.days)
            facts += zip(found, days, ids, strict=True)
    return [row[:19] for row in rows.articles], rows.terms, keys, facts


def version_5_file_with_history(path, records) -> None:
    """A state file as digest 0.x wrote it before the sent index went into blocks (schema
    5): the sent articles' keys and facts in two indexes of their own."""
    sql = queries("sqlite")
    db = sqlite3.connect(path)
    for n in range(1, 6):
        db.executescript(sql[f"migrate_{n}"])
    articles, terms, keys, facts = version_5_rows(records)
    db.executemany(
        f"INSERT INTO sent_articles({VERSION_5_COLUMNS}) VALUES ({', '.join('?' * 19)})",
        articles,
    )
    db.executemany("INSERT INTO sent_terms VALUES (?, ?)", terms)
    db.executemany("INSERT INTO sent_keys VALUES (?, ?)", keys)
    db.executemany("INSERT INTO sent_facts VALUES (?, ?, ?)", facts)
    db.execute("PRAGMA user_version=5")
    db.commit()
    db.close()


@pytest.mark.slow
def test_a_version_5_history_moves_into_blocks_and_still_matches(tmp_path):
    sent = read_paths([str(sorted(SEEDS.glob("*.txt"))[0])]).articles[:6]
    assert len(sent) == 6
    records = sent_records([[a] for a in sent])
    version_5_file_with_history(tmp_path / "old.sqlite3", records)
    with Store.open(tmp_path / "new.sqlite3") as fresh:
        fresh.remember(7, records)
        expected = History(fresh)
        keys = [k for r in records for k in r.keys] + [12345]
        facts = [k for r in records for k in r.facts]
        words = [t for r in records for t, _ in r.terms]
        want = (
            sorted(expected.matching_keys(keys)),
            expected.fact_counts(facts, 0),
            sorted(expected.facts_since(facts, 0)),
            sorted(expected.rare_words_since(words, 0)),
        )
    with Store.open(tmp_path / "old.sqlite3") as store:
        assert store.db.schema_version() == SCHEMA_VERSION
        assert "sent_keys" not in store.db.tables() and "sent_facts" not in store.db.tables()
        history = History(store)
        got = (
            sorted(history.matching_keys(keys)),
            history.fact_counts(facts, 0),
            sorted(history.facts_since(facts, 0)),
            sorted(history.rare_words_since(words, 0)),
        )
        assert got == want and len(want[0]) >= sum(len(r.keys) for r in records)
        assert want[3] and all(not t & NAME_BIT for t, _ in want[3])  # content words only
        again = select(sent, history, SelectionConfig(max_articles=50, lookback_days=10_000))
        assert not again.chosen
        assert [s.reason for s in again.skipped] == [ALREADY_SENT] * len(sent)


def _stored(store: Store, kind: str) -> list[tuple[int, int, int | None]]:
    """(key, article, day) of every row of every block of `kind`, read as stored."""
    out = []
    for keys, holders in store.sent_blocks(kind, 0):
        articles, days = holders()
        n = len(keys) // 8
        out += zip(
            struct.unpack(f"<{n}q", keys),
            struct.unpack(f"<{n}q", articles),
            struct.unpack(f"<{n}i", days) if days else [None] * n,
            strict=True,
        )
    return out


@pytest.mark.slow
def test_history_finds_every_stored_key_asked_for_however_many_are_asked(tmp_path):
    """What History finds is what the blocks hold: a few keys asked of long blocks, more keys
    than the blocks hold (some ending as stored keys end: see sent._Wanted), keys stored for
    several articles, and the facts of stories from a day on."""
    with Store.open(tmp_path / "s.sqlite3") as store:
        for n, page in enumerate(sorted(SEEDS.glob("*.txt"))[:3], 1):
            store.remember(n, sent_records([[a] for a in read_paths([str(page)]).articles]))
        history = History(store)
        rng = random.Random(5)
        for kind, lookup in (
            (KEYS, history.matching_keys),
            (FACTS, history.facts_since),
            (RARE_WORDS, history.rare_words_since),
        ):
            stored = _stored(store, kind)
            keys = sorted({k for k, _, _ in stored})
            days = sorted({d for _, _, d in stored if d is not None}) or [0]
            shared = {k for k, n in Counter(k for k, _, _ in stored).items() if n > 1}
            assert len(keys) > 100 and shared
            absent = [rng.getrandbits(63) for _ in range(3 * len(stored))]
            for wanted in (
                keys[:3],
                [*shared][:2],
                rng.sample(keys, len(keys) // 2),
                keys + absent,
                [k ^ 1 << 40 for k in keys],  # each ends as a stored key ends, none is one
            ):
                for day in (0, days[len(days) // 2]) if kind != KEYS else (0,):
                    expected = sorted(
                        (k, a) for k, a, d in stored if k in set(wanted) and (d or 0) >= day
                    )
                    got = lookup(wanted) if kind == KEYS else lookup(wanted, day)
                    assert sorted(got) == expected


def test_a_schema_8_state_gets_the_content_words_of_what_it_sent_in_blocks(tmp_path):
    """Before schema 9 no blocks held the sent articles' content words: migrating makes them,
    one per issue, from the words each sent article kept, and they read back as `remember`
    writes them."""
    pages = sorted(SEEDS.glob("*.txt"))[:2]
    with Store.open(tmp_path / "s.sqlite3") as store:
        for n, page in enumerate(pages, 1):
            store.remember(n, sent_records([[a] for a in read_paths([str(page)]).articles]))
        words = [k for k, _, _ in _stored(store, RARE_WORDS)]
        want = sorted(History(store).rare_words_since(words, 0))
        blocks = store.db.execute("SELECT count(*) FROM sent_blocks WHERE kind = 'rare_words'")
        assert blocks.fetchone()[0] == len(pages) and len(want) > 100
        store.db.execute("DELETE FROM sent_blocks WHERE kind = 'rare_words'")
        store.db.execute("ALTER TABLE sent_articles DROP COLUMN outlet")
        store.db.execute("PRAGMA user_version=8")
        assert History(store).rare_words_since(words, 0) == []
    with Store.open(tmp_path / "s.sqlite3") as store:
        assert store.db.schema_version() == SCHEMA_VERSION
        assert sorted(History(store).rare_words_since(words, 0)) == want


def test_every_sent_holder_of_a_word_still_rare_is_found(tmp_path, monkeypatch):
    """A sent word is written only while it is rare (state.sent.RARE_WORD_MAX_DF): one that
    passes the limit later keeps the holders written before, and a selection never asks for
    it again. With the limit lowered to 2, over issues that share many words: every word the
    limit still calls rare is found with every sent article holding it."""
    monkeypatch.setattr(sent_module, "RARE_WORD_MAX_DF", 2)
    sent = []
    with Store.open(tmp_path / "s.sqlite3") as store:
        for n, page in enumerate(sorted(SEEDS.glob("*.txt")), 1):
            records = sent_records([[a] for a in read_paths([str(page)]).articles])
            store.remember(n, records)
            sent += records
        holders: dict[int, set[int]] = defaultdict(set)
        for aid, record in enumerate(sent, 1):  # ids count from 1 in the order remembered
            for word, _ in record.terms:
                if is_content_word(word):
                    holders[word].add(aid)
        found: dict[int, set[int]] = defaultdict(set)
        for word, aid in History(store).rare_words_since(list(holders), 0):
            found[word].add(aid)
    rare = [w for w, held in holders.items() if len(held) <= 2]
    assert len(rare) > 100
    assert {w: found[w] for w in rare} == {w: holders[w] for w in rare}
    assert any(0 < len(found[w]) < len(held) for w, held in holders.items())  # passed later


def test_remembering_a_batch_writes_in_proportion_to_it(tmp_path):
    """Each remembered issue adds one block of each kind (keys, facts, words): the earlier
    blocks are left as they were (a daily batch never rewrites the history before it)."""
    sent = read_paths([str(sorted(SEEDS.glob("*.txt"))[0])]).articles
    assert len(sent) > 3
    with Store.open(tmp_path / "s.sqlite3") as store:
        for n, a in enumerate(sent, 1):
            store.remember(n, sent_records([[a]]))
        rows = store.db.execute(
            "SELECT kind, first_article, keys FROM sent_blocks ORDER BY kind, first_article"
        ).fetchall()
        before = {(k, f): blob for k, f, blob in rows}
        store.remember(len(sent) + 1, sent_records([[sent[0]]]))
        after = store.db.execute("SELECT kind, first_article, keys FROM sent_blocks").fetchall()
    assert {(k, f): blob for k, f, blob in after if (k, f) in before} == before
    assert len(after) == len(before) + 3  # one block of keys, one of facts, one of words


def test_a_reader_token_never_reads_as_an_option(tmp_path):
    """`digest unsubscribe TOKEN` takes a token starting with "-" for an option: none is made
    so (a 64-letter alphabet starts 1 token in 64 with it: 2,000 make the odds of a miss
    under 1e-13)."""
    with Store.open(tmp_path / "s.sqlite3") as store:
        tokens = store.tokens_for([f"r{n}@example.org" for n in range(2000)])
    assert len(set(tokens.values())) == 2000
    assert not any(t.startswith("-") for t in tokens.values())


def test_a_plain_copy_of_the_state_holds_what_a_finished_command_wrote(tmp_path):
    """While `serve` or `schedule` holds the state open, a command's writes were left in the
    -wal file (folded into the state only when the last connection closes): a nightly `cp`
    of the state missed weeks, and restoring it brought back readers who had left."""
    state = tmp_path / "state.sqlite3"
    with Store.open(state) as serving:  # a long-running process holding the state open
        with Store.open(state) as command:
            command.unsubscribe("ben@example.org")
        backup = tmp_path / "backup.sqlite3"
        shutil.copyfile(state, backup)  # the file alone, no -wal beside it
        assert serving.unsubscribed() == {"ben@example.org"}
    with Store.open(backup, readonly=True) as restored:
        assert restored.unsubscribed() == {"ben@example.org"}


@pytest.mark.slow
def test_an_upgrade_waits_for_the_run_an_older_digest_is_in_on_sqlite(tmp_path):
    """A `digest run` of the older digest, mid-send, holds the run lock; any writing command of
    the newer one (readers add, serve, bounces) used to migrate the file under it, and that run
    then remembered its issue as its own schema had it (before schema 9 without the rare words
    that match its stories; from schema 5, into tables the migration had dropped). The upgrade
    waits for that run, as on PostgreSQL; a run of this digest (which holds the lock itself)
    migrates, and so does anyone once the older run has let go."""
    path = tmp_path / "s.sqlite3"
    with Store.open(path) as store:
        run_id = store.insert_run(None, RunStatus.RUNNING, None)
        store.db.execute("DELETE FROM sent_blocks WHERE kind = 'rare_words'")
        store.db.execute("ALTER TABLE sent_articles DROP COLUMN outlet")
        store.db.execute("PRAGMA user_version=8")  # the state as the older digest knows it
    older = subprocess.Popen(  # the older digest's run: its pid in the lock file, locked
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            "f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX)\n"
            "f.seek(0); f.truncate(); f.write(str(os.getpid())); f.flush()\n"
            "print('held', flush=True); sys.stdin.read()",
            f"{path}.lock",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert older.stdout.readline() == "held\n"
        with pytest.raises(StateError, match=rf"run {run_id} of the older digest \(schema 8\)"):
            Store.open(path)
        with Store.open(path, readonly=True) as store:  # a look still works, in memory
            assert store.db.schema_version() == SCHEMA_VERSION
        assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone() == (8,)
    finally:
        older.communicate("")
    with run_lock(path), Store.open(path) as store:  # this digest's own run holds the lock
        assert store.db.schema_version() == SCHEMA_VERSION


def test_a_schema_9_state_keeps_the_outlet_of_what_it_sends_from_then_on(tmp_path):
    """Schema 10 keeps with each sent telling the outlet readers saw (two items of one outlet
    in one feed under one title are not one story by their headline, select/similarity.py);
    a telling sent before has none, and its headline stays evidence."""
    first, second = (read_paths([str(p)]).articles for p in sorted(SEEDS.glob("*.txt"))[:2])
    with Store.open(tmp_path / "s.sqlite3") as store:
        store.remember(1, sent_records([first[:2]]))
        store.db.execute("ALTER TABLE sent_articles DROP COLUMN outlet")
        store.db.execute("PRAGMA user_version=9")
        assert [h.outlet for h in History(store).tellings_of([1]).values()] == [None, None]
    with Store.open(tmp_path / "s.sqlite3") as store:
        assert store.db.schema_version() == SCHEMA_VERSION
        store.remember(2, sent_records([second[:1]]))
        told = History(store).articles([1, 2, 3])
    assert [(h.source, h.outlet) for h in told.values()] == [
        (first[0].source, None),
        (first[1].source, None),
        (second[0].source, second[0].source_name or ""),
    ]
