"""The SQLite state file: created and migrated here, refused untouched when unusable."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from digest.errors import LockedError, StateError
from digest.state import SCHEMA_VERSION, Store, run_lock
from digest.state.exactly_once import begin_run, close_killed_runs, slot_has_run
from digest.state.models import PreviousRates


def digest_of(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_new_state_file_gets_the_schema_in_wal_mode(tmp_path):
    path = tmp_path / "state.sqlite3"
    with Store.open(path) as store:
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master")}
    assert {
        "runs",
        "issues",
        "deliveries",
        "subscribers",
        "rate_history",
        "sent_articles",
    } <= tables


def test_readonly_open_of_a_missing_file_creates_nothing(tmp_path):
    path = tmp_path / "state.sqlite3"
    with Store.open(path, readonly=True) as store:
        assert store.runs() == [] and store.previous_rates() == PreviousRates()
    assert not path.exists()


def test_readonly_store_refuses_to_write(tmp_path):
    path = tmp_path / "state.sqlite3"
    Store.open(path).close()
    with Store.open(path, readonly=True) as store, pytest.raises(RuntimeError):
        begin_run(store)


def test_a_file_that_is_not_sqlite_is_refused_and_left_as_it_was(tmp_path):
    path = tmp_path / "state.sqlite3"
    path.write_text("these are my notes, not a database\n")
    before = digest_of(path)
    with pytest.raises(StateError) as info:
        Store.open(path)
    assert "not a digest state file" in str(info.value) and str(path) in str(info.value)
    assert digest_of(path) == before


def test_a_truncated_state_file_is_refused_and_left_as_it_was(tmp_path):
    path = tmp_path / "state.sqlite3"
    with Store.open(path) as store:
        for _ in range(200):
            begin_run(store)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    before = digest_of(path)
    with pytest.raises(StateError) as info:
        Store.open(path)
    assert "not a usable state file" in str(info.value)
    assert digest_of(path) == before


def test_a_state_file_from_a_newer_digest_is_refused(tmp_path):
    path = tmp_path / "state.sqlite3"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    before = digest_of(path)
    with pytest.raises(StateError) as info:
        Store.open(path)
    assert "newer digest" in str(info.value)
    assert digest_of(path) == before


def test_a_slot_runs_at_most_once(tmp_path):
    with Store.open(tmp_path / "s.sqlite3") as store:
        begin_run(store, "2026-10-25T02:30")
        with pytest.raises(LockedError):
            begin_run(store, "2026-10-25T02:30")
        assert slot_has_run(store, "2026-10-25T02:30")


def test_unsubscribe_by_email_or_token(tmp_path):
    with Store.open(tmp_path / "s.sqlite3") as store:
        token = store.token_for("Reader@Example.com")
        assert token == store.token_for("reader@example.com") and len(token) >= 24
        assert store.token_for("other@example.com") != token
        assert store.unsubscribe(token) == "reader@example.com"
        assert store.unsubscribe("new@example.com") == "new@example.com"
        assert store.unsubscribe("no-such-token") is None
        assert store.unsubscribed() == {"reader@example.com", "new@example.com"}


@pytest.mark.slow
@pytest.mark.parametrize("through_a_link", [False, True])
def test_run_lock_refuses_a_second_process(tmp_path, through_a_link):
    """Also when the second names the state through a link: one file is one state (two runs
    each holding a lock of their own re-sent each other's readers)."""
    state = tmp_path / "s.sqlite3"
    Store.open(state).close()
    named = state
    if through_a_link:
        (tmp_path / "elsewhere").mkdir()
        named = tmp_path / "elsewhere" / "link.sqlite3"
        named.symlink_to(state)
    code = textwrap.dedent(f"""
        from digest.state import run_lock
        from digest.errors import LockedError
        try:
            with run_lock({str(named)!r}):
                print("got it")
        except LockedError as e:
            print("refused:", e)
    """)
    with run_lock(state):
        other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert other.stdout.startswith("refused: another digest run is using")
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert again.stdout.strip() == "got it"


@pytest.mark.slow
def test_concurrent_writers_do_not_corrupt_the_file(tmp_path):
    state = tmp_path / "s.sqlite3"
    Store.open(state).close()
    code = textwrap.dedent(f"""
        from digest.state import Store
        from digest.state.exactly_once import begin_run
        with Store.open({str(state)!r}) as store:
            for _ in range(100):
                store.finish_run(begin_run(store).id, "delivered")
    """)
    workers = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(3)]
    assert [w.wait(timeout=120) for w in workers] == [0, 0, 0]
    with Store.open(state) as store:
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert store.db.execute("SELECT count(*) FROM runs").fetchone()[0] == 300


def test_a_slot_whose_run_failed_before_sending_may_run_again(tmp_path):
    with Store.open(tmp_path / "s.sqlite3") as store:
        failed = begin_run(store, "2026-03-05T07:00:00+01:00").id
        store.finish_run(failed, "failed", message="nothing could be read")
        assert not slot_has_run(store, "2026-03-05T07:00:00+01:00")
        again = begin_run(store, "2026-03-05T07:00:00+01:00").id
        assert slot_has_run(store, "2026-03-05T07:00:00+01:00")
        released = store.db.execute("SELECT slot, message FROM runs WHERE id=?", (failed,))
        slot, message = released.fetchone()
        assert slot is None and "released" in message and again != failed


def test_runs_left_running_by_a_killed_process_are_marked(tmp_path):
    with Store.open(tmp_path / "s.sqlite3") as dead:
        begin_run(dead)  # its process ends without finishing the run
    with Store.open(tmp_path / "s.sqlite3") as store:
        assert close_killed_runs(store) == 1
        assert [r.status for r in store.runs()] == ["killed"]


def test_a_state_path_under_a_file_is_a_clear_error(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(StateError) as info:
        Store.open(blocker / "state.sqlite3")
    assert "cannot use the state file's folder" in str(info.value)
    with pytest.raises(StateError), run_lock(blocker / "state.sqlite3"):
        pass


def test_no_lock_file_is_left_beside_a_file_that_is_not_state(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    with pytest.raises(StateError), run_lock(notes):
        pass
    assert not (tmp_path / "notes.txt.lock").exists()


@pytest.mark.slow
def test_claiming_the_next_batch_reads_the_batch_not_the_whole_issue(tmp_path):
    """Each batch of 100 was claimed by one query over every status, which read and sorted
    every reader of the issue: sending to 40,000 readers spent 4.8 s claiming (0.4 s for
    10,000), quadratic in the list. The work of one claim no longer grows with the issue."""
    from digest.state import exactly_once as rules
    from digest.state.models import NewIssue

    def steps_of_the_last_claim(readers: int) -> int:
        with Store.open(tmp_path / f"{readers}.sqlite3") as store:
            run = begin_run(store).id
            new = NewIssue(
                "2026-01-01", "s", "p", "h", "t", [], [f"r{n}@x.org" for n in range(readers)]
            )
            issue = rules.freeze(store, run, new, store.newest_issue_id())
            done = [(f"r{n}@x.org", "sent", "250 OK", None) for n in range(readers - 100)]
            store.set_deliveries(issue, done, run)
            steps = [0]

            def count() -> int:
                steps[0] += 1
                return 0

            store.db.conn.set_progress_handler(count, 1)
            batch = rules.claim(store, issue, run, rules.BATCH)
            store.db.conn.set_progress_handler(None, 1)
            assert batch == [f"r{n}@x.org" for n in range(readers - 100, readers)]
            return steps[0]

    small, large = steps_of_the_last_claim(1_000), steps_of_the_last_claim(20_000)
    assert large < 2 * small, (small, large)
