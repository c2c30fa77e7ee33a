"""The PostgreSQL state behaves as the SQLite one for every command: a private cluster
(tests/pg_cluster.py), real `digest` processes, a real loopback SMTP relay."""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from conftest import digest_command
from smtp_server import SmtpServer
from test_deliver import PASSWORD, seed_pages, write_config

from digest.errors import StateError
from digest.select.choose import sent_records
from digest.select.sent import History
from digest.sources import read_paths
from digest.state import SCHEMA_VERSION, RunStatus, Store
from digest.state.sent import NAME_BIT

pytestmark = pytest.mark.slow

ENV = {"DIGEST_TEST_SMTP_PASSWORD": PASSWORD}


def pg_config(tmp_path: Path, url: str, server: SmtpServer | None, recipients, **extra) -> Path:
    """The delivery tests' config, with the state in PostgreSQL."""
    path = write_config(tmp_path, server, recipients)
    text = path.read_text().replace(
        f"state: {tmp_path / 'state.sqlite3'}",
        f"state: {url}\nstate_password_env: DIGEST_TEST_PG_PASSWORD"
        + "".join(f"\n{k}: {v}" for k, v in extra.items()),
    )
    path.write_text(text)
    return path


def digest(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*digest_command(), "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **ENV},
    )


def counts(cluster, url: str) -> dict[str, int]:
    with cluster.connect(url) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() ORDER BY 1"
            )
        ]
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


def test_a_new_database_gets_the_same_schema_version_and_tables(pg_url):
    with Store.open(pg_url, password_env="DIGEST_TEST_PG_PASSWORD") as store:
        assert store.db.dialect == "postgresql"
        assert store.db.schema_version() == SCHEMA_VERSION
        assert {"runs", "issues", "deliveries", "subscribers", "rate_history"} <= set(
            store.db.tables()
        )
        assert {"sent_articles", "sent_blocks", "sent_terms"} <= set(store.db.tables())


def test_a_database_of_another_program_is_refused_and_left_as_it_was(pg_cluster, pg_url):
    with pg_cluster.connect(pg_url) as conn:
        conn.execute("CREATE TABLE customers (id int, name text)")
        conn.execute("INSERT INTO customers VALUES (1, 'Ann')")
    before = counts(pg_cluster, pg_url)
    with pytest.raises(StateError) as info:
        Store.open(pg_url, password_env="DIGEST_TEST_PG_PASSWORD")
    assert "another program" in str(info.value) and "customers" in str(info.value)
    assert info.value.exit_code == 2
    assert counts(pg_cluster, pg_url) == before == {"customers": 1}


def test_a_database_from_a_newer_digest_is_refused(pg_cluster, pg_url):
    Store.open(pg_url, password_env="DIGEST_TEST_PG_PASSWORD").close()
    with pg_cluster.connect(pg_url) as conn:
        conn.execute("UPDATE digest_schema SET version = version + 1")
    before = counts(pg_cluster, pg_url)
    with pytest.raises(StateError) as info:
        Store.open(pg_url, password_env="DIGEST_TEST_PG_PASSWORD")
    assert "newer digest" in str(info.value) and info.value.exit_code == 2
    assert counts(pg_cluster, pg_url) == before


def test_the_password_comes_from_the_environment_and_never_shows(tmp_path, pg_url, monkeypatch):
    from pg_cluster import PASSWORD as PG_PASSWORD

    config = pg_config(tmp_path, pg_url, None, ["a@example.org"])
    monkeypatch.delenv("DIGEST_TEST_PG_PASSWORD")
    missing = subprocess.run(
        [*digest_command(), "--config", str(config), "history"],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "DIGEST_TEST_PG_PASSWORD"},
    )
    assert missing.returncode == 2
    assert "DIGEST_TEST_PG_PASSWORD is not set" in missing.stderr
    line = next(
        n
        for n, text in enumerate(config.read_text().splitlines(), 1)
        if text.startswith("state_password_env")
    )
    assert f"{config}:{line}: state_password_env:" in missing.stderr  # the line, as SMTP's
    wrong = subprocess.run(
        [*digest_command(), "--config", str(config), "history"],
        capture_output=True,
        text=True,
        env={**os.environ, "DIGEST_TEST_PG_PASSWORD": "wrong"},
    )
    assert wrong.returncode == 2 and "cannot connect to the PostgreSQL state" in wrong.stderr
    assert "wrong" not in wrong.stderr.replace("wrong password", "")
    assert PG_PASSWORD not in wrong.stderr + missing.stderr


def test_a_password_in_the_url_is_a_config_error(tmp_path, pg_cluster):
    config = pg_config(tmp_path, pg_cluster.url().replace("digest@", "digest:secret@"), None, [])
    result = digest(config, "history")
    assert result.returncode == 2
    assert "the URL holds a password" in result.stderr and "secret" not in result.stderr


def test_every_command_works_on_postgresql_and_preview_writes_nothing(tmp_path, pg_cluster, pg_url):
    readers = [f"reader{i}@example.org" for i in range(5)]
    with SmtpServer() as server:
        config = pg_config(tmp_path, pg_url, server, readers)
        # preview and dry-run of a database digest has never used: no table is made
        preview = digest(config, "preview", "--out", str(tmp_path / "p"), "--json")
        assert preview.returncode == 0, preview.stderr
        chosen = json.loads(preview.stdout)["chosen"]
        assert chosen
        dry = digest(config, "run", "--dry-run", "--json")
        assert dry.returncode == 0, dry.stderr
        assert counts(pg_cluster, pg_url) == {}

        first = digest(config, "run", "--json")
        assert first.returncode == 0, first.stderr
        report = json.loads(first.stdout)
        assert report["status"] == "delivered"
        assert [c["title"] for c in report["chosen"]] == [c["title"] for c in chosen]
        assert sorted(m.rcpt_tos[0] for m in server.messages) == readers

        # preview after a run: nothing written (every row count the same)
        before = counts(pg_cluster, pg_url)
        again = digest(config, "preview", "--out", str(tmp_path / "p"), "--json")
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["chosen"] == []  # all of it was sent
        assert counts(pg_cluster, pg_url) == before

        second = digest(config, "run", "--json")
        assert json.loads(second.stdout)["status"] == "empty"
        assert len(server.messages) == len(readers)

        before = counts(pg_cluster, pg_url)
        site = digest(config, "archive", "--out", str(tmp_path / "archive"))
        assert site.returncode == 0, site.stderr
        assert (tmp_path / "archive" / "index.html").exists()
        assert counts(pg_cluster, pg_url) == before  # the archive reads only

        gone = digest(config, "unsubscribe", "--email", "reader3@example.org")
        assert gone.returncode == 0 and "will not get digests" in gone.stdout

        history = digest(config, "history", "--json")
        assert history.returncode == 0, history.stderr
        entries = json.loads(history.stdout)
        assert [e["status"] for e in entries] == ["empty", "delivered"]
        delivered = entries[1]
        assert delivered["sent"] == 5 and delivered["articles"] == len(chosen)
        assert {d["status"] for d in delivered["deliveries"]} == {"sent"}
        assert all(d["sender"] for d in delivered["deliveries"])


def test_slots_run_once_on_postgresql(tmp_path, pg_url):
    with SmtpServer() as server:
        config = pg_config(tmp_path, pg_url, server, ["a@example.org"])
        slot = "2026-03-05T07:00:00+05:00"
        first = digest(config, "run", "--slot", slot)
        assert first.returncode == 0, first.stderr
        again = digest(config, "run", "--slot", slot)
        assert again.returncode == 0 and "has already run" in again.stderr
        history = digest(config, "history")
        assert f"slot {slot}" in history.stdout
        assert len(server.messages) == 1


def test_the_sent_blocks_read_back_on_postgresql_as_on_sqlite(pg_url, tmp_path):
    seeds = sorted((Path(__file__).resolve().parents[1] / "seeds").glob("*.txt"))
    sent = read_paths([str(seeds[0])]).articles
    assert len(sent) > 4
    records = sent_records([[a] for a in sent[:3]])
    later = sent_records([[sent[3], sent[4]]])  # one story, two tellings
    keys = [k for r in records for k in r.keys] + [7]
    facts = [k for r in records for k in r.facts]
    terms = [t for r in records for t, _ in r.terms] + [7]
    found = []
    for where in (tmp_path / "s.sqlite3", pg_url):
        with Store.open(where, password_env="DIGEST_TEST_PG_PASSWORD") as store:
            store.remember(1, records)
            store.remember(2, later)
            history = History(store)
            found.append(
                (
                    sorted(history.matching_keys(keys)),
                    history.fact_counts(facts, 0),
                    sorted(history.facts_since(facts, 0)),
                    sorted((h.story, h.tellings) for h in history.articles(range(1, 6)).values()),
                    sorted(
                        zip(*(t.tolist() for t in history.term_frequencies(terms)), strict=True)
                    ),
                    sorted(history.tellings_of([4, 1, 99])),
                    [(h.facts, h.fact_kinds) for h in history.articles(range(1, 6)).values()],
                    sorted(history.rare_words_since(terms, 0)),
                    [h.source for h in history.articles(range(1, 6)).values()],
                )
            )
    assert found[0] == found[1] and len(found[0][0]) >= sum(len(r.keys) for r in records)
    assert [n for _, n in found[0][3]] == [1, 1, 1, 2, 2]  # each sent story's tellings
    assert found[0][5] == [1, 4, 5]  # every telling of stories 1 and 4 (99: none was sent)
    # the kind of each fact, in the order of the facts
    assert found[0][6] == [(r.facts, r.fact_kinds) for r in [*records, *later]]
    assert all(len(kinds) == len(facts) > 0 for facts, kinds in found[0][6])
    # every term the first three hold, counted in the articles that hold it (7: none does)
    used = Counter(t for r in [*records, *later] for t, _ in r.terms)
    assert found[0][4] == sorted((t, used[t]) for t in set(terms) if t in used)
    # the content words asked for (not the name words), with each article that holds one
    held = {(t, n) for n, r in enumerate([*records, *later], 1) for t, _ in r.terms}
    assert found[0][7] == sorted((t, n) for t, n in held if t in terms and not t & NAME_BIT)
    assert found[0][8] == [str(seeds[0])] * 5  # where each was read from


def test_a_schema_8_state_gets_the_content_words_of_what_it_sent_in_blocks_on_postgresql(
    pg_cluster, pg_url
):
    seeds = sorted((Path(__file__).resolve().parents[1] / "seeds").glob("*.txt"))
    sent = read_paths([str(seeds[0])]).articles
    records = sent_records([[a] for a in sent[:4]])
    words = [t for r in records for t, _ in r.terms]
    with Store.open(pg_url, password_env="DIGEST_TEST_PG_PASSWORD") as store:
        store.remember(1, records[:2])
        store.remember(2, records[2:])
        want = sorted(History(store).rare_words_since(words, 0))
    assert len(want) > 50
    with pg_cluster.connect(pg_url) as conn:  # as schema 8 left it
        conn.execute("DELETE FROM sent_blocks WHERE kind = 'rare_words'")
        conn.execute("ALTER TABLE sent_articles DROP COLUMN outlet")
        conn.execute("UPDATE digest_schema SET version = 8")
    with Store.open(pg_url, password_env="DIGEST_TEST_PG_PASSWORD") as store:
        assert store.db.schema_version() == SCHEMA_VERSION
        assert sorted(History(store).rare_words_since(words, 0)) == want


def test_a_state_no_run_has_migrated_yet_is_read_by_preview_without_fact_kinds(pg_cluster, pg_url):
    """A read-only open (preview, history) never migrates a PostgreSQL state: one a digest
    before schema 8 wrote is read as it is, its tellings' fact kinds unknown."""
    seeds = sorted((Path(__file__).resolve().parents[1] / "seeds").glob("*.txt"))
    sent = read_paths([str(seeds[0])]).articles
    records = sent_records([[sent[0], sent[1]]])
    with Store.open(pg_url, password_env="DIGEST_TEST_PG_PASSWORD") as store:
        store.remember(1, records)
    with pg_cluster.connect(pg_url) as conn:  # as schema 7 left it
        conn.execute("ALTER TABLE sent_articles DROP COLUMN fact_kinds")
        conn.execute("UPDATE digest_schema SET version = 7")
    with Store.open(pg_url, readonly=True, password_env="DIGEST_TEST_PG_PASSWORD") as store:
        assert store.db.schema_version() == 7
        told = History(store).tellings_of([1])
    assert [(h.facts, h.fact_kinds) for h in told.values()] == [(r.facts, b"") for r in records]


def test_preview_and_a_dry_run_read_a_state_from_before_the_sent_blocks(
    pg_cluster, pg_url, tmp_path
):
    """A PostgreSQL state a digest before schema 6 left (the sent keys and facts in indexes
    of their own) and no run has migrated yet: preview and a dry run, the first commands after
    an upgrade, said 'cannot read the state (relation "sent_blocks" does not exist) ... restore
    it from a backup'. They read what was sent as its migration will make it (the rare words
    too), and leave the state as it was."""
    from test_state import VERSION_5_COLUMNS, version_5_rows

    from digest.state.queries import queries, statements

    sent = read_paths(seed_pages()).articles
    records = sent_records([[a] for a in sent])
    articles, terms, keys, facts = version_5_rows(records)
    with pg_cluster.connect(pg_url) as conn:  # as digest left it at schema 5
        for n in range(1, 6):
            for statement in statements(queries("postgresql")[f"migrate_{n}"]):
                conn.execute(statement)
        with conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO sent_articles({VERSION_5_COLUMNS}) VALUES ({', '.join(['%s'] * 19)})",
                articles,
            )
            cur.executemany("INSERT INTO sent_terms VALUES (%s, %s)", terms)
            cur.executemany("INSERT INTO sent_keys VALUES (%s, %s)", keys)
            cur.executemany("INSERT INTO sent_facts VALUES (%s, %s, %s)", facts)
        conn.execute("CREATE TABLE digest_schema (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO digest_schema VALUES (5)")
    before = counts(pg_cluster, pg_url)
    config = pg_config(tmp_path, pg_url, None, ["reader@example.org"])

    preview = digest(config, "preview", "--json")
    assert preview.returncode == 0, preview.stderr
    report = json.loads(preview.stdout)
    assert not report["chosen"] and report["message"] == "nothing new since the last digest"
    assert {s["reason"] for s in report["skipped"]} == {"already-sent"}
    dry = digest(config, "run", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    with Store.open(pg_url, readonly=True, password_env="DIGEST_TEST_PG_PASSWORD") as store:
        words = [t for r in records for t, _ in r.terms]
        assert History(store).rare_words_since(words, 0)  # as schema 9's migration makes them
    assert counts(pg_cluster, pg_url) == before  # sent_keys and sent_facts, no blocks
    with pg_cluster.connect(pg_url) as conn:
        assert conn.execute("SELECT version FROM digest_schema").fetchone() == (5,)


def test_an_upgrade_waits_for_the_run_a_sender_with_the_older_digest_is_in(pg_cluster, pg_url):
    """Two senders, one upgraded while the other (the older digest) was sending: the upgraded
    one migrated at once, and the older one then remembered its issue as its schema had it (no
    rare-word blocks: its stories could be sent again; before schema 6, into tables dropped).
    The upgrade is refused, the state left as it was, until that run has finished."""
    older = Store.open(pg_url, password_env="DIGEST_TEST_PG_PASSWORD")
    run_id = older.insert_run(None, RunStatus.RUNNING, None)
    older.hold_run(run_id)  # as every digest with PostgreSQL does while its run lives
    with pg_cluster.connect(pg_url) as conn:  # the state as the older digest knows it
        conn.execute("ALTER TABLE sent_articles DROP COLUMN outlet")
        conn.execute("UPDATE digest_schema SET version = 8")
    with pytest.raises(StateError, match=rf"run {run_id} of the older digest \(schema 8\)"):
        Store.open(pg_url, password_env="DIGEST_TEST_PG_PASSWORD")
    with Store.open(pg_url, readonly=True, password_env="DIGEST_TEST_PG_PASSWORD") as store:
        assert store.db.schema_version() == 8
    older.finish_run(run_id, RunStatus.DELIVERED)
    older.close()
    with Store.open(pg_url, password_env="DIGEST_TEST_PG_PASSWORD") as store:
        assert store.db.schema_version() == SCHEMA_VERSION


def test_two_upgraded_senders_starting_together_both_run(pg_cluster, pg_url, monkeypatch):
    """Both senders run the newer digest on a state the older one left: A migrates and begins
    its run between C reading the version and C's look for older runs. C was refused, told
    A's run was the older digest's (review); the look is made under the migration's lock."""
    import digest.state.store as store_module

    env = "DIGEST_TEST_PG_PASSWORD"
    Store.open(pg_url, password_env=env).close()
    with pg_cluster.connect(pg_url) as conn:
        conn.execute("ALTER TABLE sent_articles DROP COLUMN outlet")
        conn.execute("UPDATE digest_schema SET version = 8")  # as the older digest left it
    read_version = store_module.check_version
    first: list[Store] = []

    def a_migrates_and_runs_once_c_has_read(db):
        version = read_version(db)  # C has read 8; now A opens, migrates and runs
        monkeypatch.setattr(store_module, "check_version", read_version)
        first.append(Store.open(pg_url, password_env=env))
        first[0].hold_run(first[0].insert_run(None, RunStatus.RUNNING, None))
        return version

    monkeypatch.setattr(store_module, "check_version", a_migrates_and_runs_once_c_has_read)
    try:
        with Store.open(pg_url, password_env=env) as c:
            assert c.db.schema_version() == SCHEMA_VERSION
    finally:
        first[0].close()


def test_a_schema_9_state_keeps_the_outlet_of_what_it_sends_from_then_on_on_postgresql(
    pg_cluster, pg_url
):
    """As on SQLite (tests/test_state.py): read as it is before a run migrates it (preview),
    then migrated, tellings sent before have no outlet and those sent after have theirs."""
    seeds = sorted((Path(__file__).resolve().parents[1] / "seeds").glob("*.txt"))
    first, second = (read_paths([str(p)]).articles for p in seeds[:2])
    with Store.open(pg_url, password_env="DIGEST_TEST_PG_PASSWORD") as store:
        store.remember(1, sent_records([first[:2]]))
    with pg_cluster.connect(pg_url) as conn:  # as schema 9 left it
        conn.execute("ALTER TABLE sent_articles DROP COLUMN outlet")
        conn.execute("UPDATE digest_schema SET version = 9")
    with Store.open(pg_url, readonly=True, password_env="DIGEST_TEST_PG_PASSWORD") as store:
        assert store.db.schema_version() == 9
        assert [h.outlet for h in History(store).tellings_of([1]).values()] == [None, None]
    with Store.open(pg_url, password_env="DIGEST_TEST_PG_PASSWORD") as store:
        assert store.db.schema_version() == SCHEMA_VERSION
        store.remember(2, sent_records([second[:1]]))
        told = History(store).articles([1, 2, 3])
    assert [(h.source, h.outlet) for h in told.values()] == [
        (first[0].source, None),
        (first[1].source, None),
        (second[0].source, second[0].source_name or ""),
    ]


def test_claiming_a_batch_reads_the_batch_not_every_reader_left(pg_cluster, pg_url):
    """Each claim of 100 readers read every reader of the issue left in its status and sorted
    them (the index on (issue_id, status) does not hold the address order), or read the issue
    by address from its first reader, passing over those already done: at 40,000 readers
    60 ms a batch halfway, 27 s of claims in all. Schema 12's index on (issue_id, status,
    recipient), and statistics taken when an issue is frozen (the planner otherwise guesses
    one row and may read by address all the same): a claim reads its batch and stops (0.9 ms;
    7.3 s). A state of schema 11 gets the index on upgrade."""
    from digest.state import NewIssue
    from digest.state import exactly_once as rules
    from digest.state.models import DeliveryStatus as S
    from digest.state.queries import queries

    def rows_read(execute, issue: int, run: int) -> dict[str, int]:
        """The readers' rows each claim's plan reads (kept or passed over) for a batch of
        100 (the run it looks up is one more row, of `runs`)."""
        sql = queries("postgresql")
        asked = {
            "claimable_pending": (issue, S.PENDING, 100),
            "claimable_expired": (issue, S.CLAIMED, "9999", run, 100),
            "claimable_retrying": (issue, S.RETRYING, run, run, 100),
        }
        read = {}
        for name, params in asked.items():
            plan = execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql[name]}", params).fetchone()[0]
            nodes, read[name] = [plan[0]["Plan"]], 0
            while nodes:
                node = nodes.pop()
                nodes += node.get("Plans", [])
                if "Scan" in node["Node Type"] and node.get("Relation Name") == "deliveries":
                    read[name] += node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
        return read

    readers = [f"reader{n:05d}@example.org" for n in range(6_000)]
    with Store.open(pg_url, password_env="DIGEST_TEST_PG_PASSWORD") as store:
        run = rules.begin_run(store).id
        earlier = rules.freeze(store, run, NewIssue("1", "s", "p", "h", "t", [], readers), 0)
        store.set_deliveries(earlier, [(r, "sent", "250 OK", None) for r in readers], run)
        rules.settle(store, earlier)
        issue = rules.freeze(store, run, NewIssue("2", "s", "p", "h", "t", [], readers), earlier)
        # (no statistics taken since: autovacuum takes them again only after many changes)
        store.set_deliveries(issue, [(r, "retrying", "451 later", None) for r in readers[:2_000]])
        store.mark_claimed(issue, readers[2_000:4_000], run)
        later = rules.begin_run(store).id  # another sender's run, begun after those deferrals
        assert max(rows_read(store.db.execute, issue, later).values()) == 100
        assert rules.claim(store, issue, run, 3) == readers[4_000:4_003]
    with pg_cluster.connect(pg_url) as conn:  # the index as schema 11 had it
        conn.execute("DROP INDEX deliveries_claim")
        conn.execute("CREATE INDEX deliveries_status ON deliveries(issue_id, status)")
        conn.execute("UPDATE digest_schema SET version = 11")
        assert rows_read(conn.execute, issue, later)["claimable_pending"] > 1_000
    with Store.open(pg_url, password_env="DIGEST_TEST_PG_PASSWORD") as store:
        assert store.db.schema_version() == SCHEMA_VERSION
        assert max(rows_read(store.db.execute, issue, later).values()) == 100


def test_the_run_that_gives_up_on_a_deferred_reader_reports_it_failed_on_postgresql(
    tmp_path, pg_url
):
    """As on SQLite (test_deliver): the third run deferred again reports the reader failed."""
    with SmtpServer() as server:
        server.behaviour.defer_always["grey@x.org"] = "451 4.7.1 Greylisted"
        config = pg_config(tmp_path, pg_url, server, ["ok@x.org", "grey@x.org"])
        config.write_text(config.read_text() + "    retries: 0\n")
        reports = [json.loads(digest(config, "run", "--json").stdout) for _ in range(3)]
        assert [r["resumed"][0]["status"] for r in reports[1:]] == ["retrying", "failed"]
        assert reports[2]["resumed"][0]["answer"] == "451 4.7.1 Greylisted (gave up after 3 runs)"
        assert json.loads(digest(config, "run", "--json").stdout)["resumed"] == []
