"""Each reader's delivery of an old, finished issue is forgotten (exactly_once rule 9): its
rows counted into tallies and deleted, on SQLite and PostgreSQL alike; what `history`, the
archive and the rate table read stays as it was; an issue that may still be sent keeps every
row."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from smtp_server import SmtpServer
from test_deliver import digest, write_config

from digest.state import SCHEMA_VERSION, NewIssue, Store
from digest.state import exactly_once as rules
from digest.state.exactly_once import begin_run

OLD = "2025-01-01T07:00:00+00:00"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def state(request, tmp_path) -> str | Path:
    if request.param == "sqlite":
        return tmp_path / "state.sqlite3"
    return request.getfixturevalue("pg_url")


def open_store(state) -> Store:
    return Store.open(state, password_env="DIGEST_TEST_PG_PASSWORD")


def backdate(store: Store, issue_id: int) -> None:
    """The issue as frozen long ago (what a year of daily runs leaves)."""
    mark = "?" if store.db.dialect == "sqlite" else "%s"
    with store.transaction():
        store.db.execute(
            f"UPDATE issues SET created_at = {mark} WHERE id = {mark}", (OLD, issue_id)
        )


def issue_with(store: Store, outcomes: dict[str, str], sender: str = "") -> tuple[int, int]:
    """A run freezing an issue to these readers and recording these outcomes (a reader left
    out stays pending); settled. (run, issue)"""
    run = begin_run(store).id
    readers = list(outcomes)
    new = NewIssue("2025-01-01", f"Issue of run {run}", "p", "<p>h</p>", "t", [], readers)
    new.rates.append(("KGS/USD", "87.5", "0.1", None))
    issue = rules.freeze(store, run, new, store.newest_issue_id())
    assert issue is not None
    done = [
        (r, s, "250 OK" if s == "sent" else "550 no such user", None)
        for r, s in outcomes.items()
        if s != "pending"
    ]
    store.set_deliveries(issue, done[:2], run)
    if sender:  # another sender recorded the rest
        store.sender = sender
    store.set_deliveries(issue, done[2:], run)
    rules.settle(store, issue)
    store.finish_run(run, "delivered")
    return run, issue


def what_readers_see(store: Store) -> tuple:
    """Everything read from the deliveries: history's counts, the archive's issues and their
    first sending time, the previous rates, each issue's counts."""
    history = [
        {k: e[k] for k in ("run", "sent", "failed", "issue", "issue_status", "senders")}
        for e in store.history()
    ]
    archived = [(i.id, i.sent_at) for i in store.delivered_issues()]
    counts = {e["issue"]: store.delivery_counts(e["issue"]) for e in history}
    return history, archived, store.previous_rates(), counts


def test_an_old_finished_issue_keeps_its_counts_and_loses_its_rows(state):
    with open_store(state) as store:
        me = store.sender
        mixed = {f"r{n}@example.org": "sent" for n in range(7)} | {"gone@example.org": "failed"}
        _, old = issue_with(store, mixed, sender="other-host:42")
        _, deferred = issue_with(store, {"a@example.org": "sent", "b@example.org": "retrying"})
        _, recent = issue_with(store, {"c@example.org": "sent", "d@example.org": "sent"})
        for issue in (old, deferred):
            backdate(store, issue)
        before = what_readers_see(store)

        forgot = rules.forget_readers(store, days=90, batch=3)

        assert (forgot.issues, forgot.rows) == (1, 8)
        assert store.deliveries(old) == []
        assert len(store.deliveries(deferred)) == 2  # may still be sent: kept whole
        assert len(store.deliveries(recent)) == 2  # not old enough
        assert what_readers_see(store) == before
        entries = {e["issue"]: e for e in store.history()}
        assert entries[old]["forgotten"] and not entries[recent]["forgotten"]
        assert entries[old]["senders"] == {me: 2, "other-host:42": 5}
        assert rules.forget_readers(store, days=90) == rules.Forgotten(0, 0)


def test_an_issue_still_sending_is_never_forgotten(state):
    """Whatever its age: a reader left pending (a killed run) or claimed keeps the issue whole
    (the next run sends to them, exactly once)."""
    with open_store(state) as store:
        _, issue = issue_with(store, {"a@example.org": "sent", "b@example.org": "pending"})
        backdate(store, issue)
        assert rules.forget_readers(store, days=1) == rules.Forgotten(0, 0)
        assert len(store.deliveries(issue)) == 2
        assert store.pending_recipients(issue) == ["b@example.org"]


def test_a_state_of_schema_10_is_upgraded_and_its_old_issues_forgotten(state):
    with open_store(state) as store:
        _, issue = issue_with(store, {"a@example.org": "sent", "b@example.org": "failed"})
        backdate(store, issue)
        with store.transaction():  # as schema 10 left it
            store.db.execute("DROP TABLE delivery_tallies")
            store.db.set_schema_version(10)
    # history, the archive and preview before any run migrates it (PostgreSQL: never on a
    # read-only open; SQLite: in memory)
    with Store.open(state, readonly=True, password_env="DIGEST_TEST_PG_PASSWORD") as store:
        assert [(e["sent"], e["failed"], e["forgotten"]) for e in store.history()] == [
            (1, 1, False)
        ]
        assert [i.id for i in store.delivered_issues()] == [issue]
        assert store.previous_rates().rates
    with open_store(state) as store:
        assert store.db.schema_version() == SCHEMA_VERSION
        assert rules.forget_readers(store, days=90) == rules.Forgotten(1, 2)
        assert store.history()[0]["sent"] == 1 and store.history()[0]["failed"] == 1


@pytest.mark.slow
def test_a_run_forgets_the_readers_of_issues_older_than_the_setting(tmp_path):
    """The operator's view: a run's message says what it forgot; history and the archive
    still count the old issue's readers; `all` keeps every row."""
    readers = [f"reader{n}@example.org" for n in range(5)]
    with SmtpServer() as server:
        config = write_config(tmp_path, server, readers)
        first = digest(config, "run", "--json")
        assert first.returncode == 0, first.stderr
        state = tmp_path / "state.sqlite3"
        with sqlite3.connect(state) as db:
            db.execute("UPDATE issues SET created_at = ?", (OLD,))
        with config.open("a") as f:
            f.write("state_deliveries_days: all\n")
        kept = digest(config, "run", "--json")
        assert kept.returncode == 0, kept.stderr
        assert "forgot" not in json.loads(kept.stdout)["message"]
        config.write_text(config.read_text().replace("days: all", "days: 30"))
        second = digest(config, "run", "--json")
    assert second.returncode == 0, second.stderr
    message = json.loads(second.stdout)["message"]
    assert "forgot 5 readers' rows of 1 issue frozen over 30 days ago" in message, message
    with sqlite3.connect(state) as db:
        assert db.execute("SELECT count(*) FROM deliveries").fetchone() == (0,)
    history = digest(config, "history")
    assert history.returncode == 0, history.stderr
    assert "sent 5, failed 0" in history.stdout
    assert "each reader's delivery forgotten (state_deliveries_days): counts only" in history.stdout
    assert not any(r in history.stdout for r in readers)
    archive = digest(config, "archive", "--out", str(tmp_path / "site"))
    assert archive.returncode == 0, archive.stderr
    assert len(list((tmp_path / "site" / "issues").glob("*.html"))) == 1


@pytest.mark.slow
def test_history_lists_no_reader_of_an_issue_partly_forgotten(tmp_path):
    """A run that reaches its cap (FORGET_PER_RUN) mid-issue, or stops mid-way, leaves the
    issue partly forgotten until the next run. `history` said "counts only" and went on to
    list some of its readers (those not yet forgotten), without the "and N more" of the
    readers it could no longer name: it now shows the counts only, as for an issue wholly
    forgotten."""
    readers = [f"reader{n:02d}@example.org" for n in range(15)]
    config = write_config(tmp_path, None, readers)
    with open_store(tmp_path / "state.sqlite3") as store:
        _, issue = issue_with(
            store, {r: "failed" if n < 11 else "sent" for n, r in enumerate(readers)}
        )
        backdate(store, issue)
        assert rules.forget_readers(store, days=90, batch=4, most=4) == rules.Forgotten(0, 4)
        assert len(store.deliveries(issue)) == 11
    for args in ((), ("--readers",)):
        shown = digest(config, "history", *args)
        assert shown.returncode == 0, shown.stderr
        assert "sent 4, failed 11" in shown.stdout
        assert "delivery forgotten (state_deliveries_days): counts only" in shown.stdout
        assert not [r for r in readers if r in shown.stdout], shown.stdout


def test_a_run_that_stops_at_its_share_counts_the_issue_it_finished(state):
    """The run's message named one issue too few when its share (FORGET_PER_RUN) ended on
    an issue's last full batch (an issue of 20,000 or 50,000 readers, 5,000 a batch, a
    share of 1,000,000): "forgot 10 readers' rows of 0 issues", each run."""
    with open_store(state) as store:
        readers = {f"r{n}@example.org": "sent" for n in range(10)}
        issues = [issue_with(store, readers)[1] for _ in range(2)]
        for issue in issues:
            backdate(store, issue)
        assert rules.forget_readers(store, days=90, batch=5, most=10) == rules.Forgotten(1, 10)
        assert rules.forget_readers(store, days=90, batch=5, most=8) == rules.Forgotten(1, 10)
        assert [store.deliveries(i) for i in issues] == [[], []]
        assert rules.forget_readers(store, days=90, batch=5, most=10) == rules.Forgotten(0, 0)
