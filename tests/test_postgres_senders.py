"""Several senders, one issue: `digest run` processes sharing one PostgreSQL state, killed
with SIGKILL at random and restarted, or stopped until their lease runs out. Every reader is
counted at a real aiosmtpd relay on loopback."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from conftest import digest_command
from smtp_server import Behaviour, SmtpServer
from test_postgres import ENV, digest, pg_config

pytestmark = pytest.mark.slow


def start(config: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [*digest_command(), "--config", str(config), "run", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **ENV},
    )


def wait_for(condition, timeout: float = 240) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("timed out")
        time.sleep(0.02)


def tally(server: SmtpServer) -> tuple[Counter, dict[str, set[str]]]:
    copies: Counter = Counter()
    ids: dict[str, set[str]] = defaultdict(set)
    for m in server.messages:
        for rcpt in m.rcpt_tos:
            copies[rcpt] += 1
            ids[rcpt].add(m.message["Message-ID"])
    return copies, ids


def test_three_senders_killed_at_random_reach_every_reader_exactly_once(tmp_path, pg_url):
    readers = [f"reader{i:04d}@example.org" for i in range(2000)]
    rng = random.Random(int(os.environ.get("DIGEST_TEST_SEED", "12")))
    kills_at = sorted(rng.sample(range(150, 1850), 5))  # after this many messages arrived
    # the relay sits on each MAIL a little, like one across a network
    with SmtpServer(behaviour=Behaviour(delay_mail=0.002)) as server:
        config = pg_config(tmp_path, pg_url, server, readers, state_lease_seconds=20)
        senders = [start(config) for _ in range(3)]
        killed = []
        for threshold in kills_at:
            wait_for(lambda t=threshold: len(server.messages) >= t)
            live = [p for p in senders if p.poll() is None]
            if not live:
                break
            victim = rng.choice(live)
            victim.kill()  # SIGKILL: no cleanup
            victim.wait(timeout=30)
            killed.append(len(server.messages))
            senders.remove(victim)
            senders.append(start(config))  # a restarted sender
        results = [p.communicate(timeout=300) for p in senders]
        for p, (_out, err) in zip(senders, results, strict=True):
            assert p.returncode == 0, err
        final = digest(config, "run", "--json")  # anything left is finished here
        assert final.returncode == 0, final.stderr

        copies, ids = tally(server)
        history = json.loads(digest(config, "history", "--json", "--limit", "50").stdout)
        text = digest(config, "history", "--limit", "50", "--readers").stdout

    missing = [r for r in readers if copies[r] == 0]
    extra = sum(n - 1 for n in copies.values() if n > 1)
    print(
        f"\n3 senders, {len(readers)} readers, {len(killed)} kills at {killed}: "
        f"{len(server.messages)} messages, {len(copies)} readers reached, {len(missing)} "
        f"missing, {extra} second copies"
    )
    assert missing == [] and set(copies) == set(readers)
    # one Message-ID per reader: a copy sent twice is the same message
    assert all(len(v) == 1 for v in ids.values())
    # a kill can cost at most the one message in flight: the relay had answered 250, the
    # sender died before recording it (these kills come right after an acceptance, where
    # that window is); the copy has the same Message-ID, so receivers show it once
    assert extra <= len(killed)
    issue = next(e for e in history if e["issue"] is not None)
    delivered = {d["recipient"] for d in issue["deliveries"] if d["status"] == "sent"}
    assert delivered == set(readers)
    assert len(issue["senders"]) >= 3  # the work was shared
    assert sum(issue["senders"].values()) == len(readers)
    # the text says which sender sent to whom
    assert "    sent by " in text
    some = issue["deliveries"][0]
    assert f"    {some['recipient']}: sent by {some['sender']}" in text
    statuses = Counter(e["status"] for e in history)
    # every killed run is marked (a sender killed while starting had no run yet)
    assert 1 <= statuses["killed"] <= len(killed) and statuses["running"] == 0


def test_a_hung_senders_claim_is_taken_over_when_its_lease_runs_out(tmp_path, pg_url):
    readers = [f"reader{i:03d}@example.org" for i in range(400)]
    with SmtpServer(behaviour=Behaviour(delay_mail=0.003)) as server:
        config = pg_config(tmp_path, pg_url, server, readers, state_lease_seconds=3)
        first = start(config)
        wait_for(lambda: len(server.messages) >= 20)
        os.kill(first.pid, signal.SIGSTOP)  # hung: alive, holding its claim and connection
        try:
            stopped_at = len(server.messages)
            second = start(config)
            out, err = second.communicate(timeout=240)
            assert second.returncode == 0, err
            report = json.loads(out)
        finally:
            os.kill(first.pid, signal.SIGCONT)
        out1, err1 = first.communicate(timeout=240)
        copies, ids = tally(server)
    # the second sender sent every reader the first had not, its claimed batch included
    assert set(copies) == set(readers), (err, err1)
    assert sum(1 for o in report["resumed"] if o["status"] == "sent") >= 400 - stopped_at - 1
    # the late first sender stops at its next record: at most its message in flight twice
    assert sum(n - 1 for n in copies.values()) <= 1
    assert all(len(v) == 1 for v in ids.values())


def test_two_senders_for_one_slot_send_one_issue_together(tmp_path, pg_url):
    readers = [f"reader{i:03d}@example.org" for i in range(300)]
    slot = "2026-03-05T07:00:00+05:00"
    with SmtpServer(behaviour=Behaviour(delay_mail=0.003)) as server:
        config = pg_config(tmp_path, pg_url, server, readers)
        senders = [
            subprocess.Popen(
                [*digest_command(), "--config", str(config), "run", "--slot", slot],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, **ENV},
            )
            for _ in range(2)
        ]
        for p in senders:
            out, err = p.communicate(timeout=240)
            assert p.returncode == 0, err
        copies, _ = tally(server)
        history = json.loads(digest(config, "history", "--json").stdout)
    assert set(copies) == set(readers) and max(copies.values()) == 1
    issues = {e["issue"] for e in history if e["issue"] is not None}
    assert len(issues) == 1  # exactly one issue for the slot
    assert [e["slot"] for e in history if e["issue"] is not None] == [slot]
    # the other run helped, or found the slot done (when it came after the issue was sent)
    other = next(e for e in history if e["issue"] is None) if len(history) > 1 else None
    assert other is None or "slot" in (other["message"] or "") or other["sent"] > 0


def test_one_scheduler_per_machine_on_postgresql(pg_url):
    import pytest

    from digest.errors import LockedError
    from digest.state import schedule_lock

    with schedule_lock(pg_url, "DIGEST_TEST_PG_PASSWORD"):
        with pytest.raises(LockedError) as info:
            with schedule_lock(pg_url, "DIGEST_TEST_PG_PASSWORD"):
                pass
        assert "another `digest schedule` (on this machine) is already running" in str(info.value)
    with schedule_lock(pg_url, "DIGEST_TEST_PG_PASSWORD"):  # free again
        pass


def test_a_scheduler_whose_database_restarted_stops_cleanly(pg_cluster, pg_url):
    """The server restarted under `digest schedule` (its runs open their own connections
    and went on): at SIGTERM, letting go of its per-machine lock on the dead connection
    failed the scheduler with exit 1 ("lost the connection", before that "cannot read the
    state ... restore it from a backup"). The server dropped that lock with the session."""
    from digest.state import schedule_lock

    with schedule_lock(pg_url, "DIGEST_TEST_PG_PASSWORD"):
        with pg_cluster.connect(pg_url) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
    with schedule_lock(pg_url, "DIGEST_TEST_PG_PASSWORD"):  # free again
        pass


# Sender B, held right after finishing the open issues (it found none) until `go` exists:
# a sender on a loaded machine, or across a slow link to the database.
HELD_SENDER = """
import sys, time
from pathlib import Path
import digest.send as send
from digest.cli import main
ready, go = Path(sys.argv[1]), Path(sys.argv[2])
original = send.Cycle.finish_open_issues
def held(self):
    original(self)
    ready.touch()
    end = time.monotonic() + 120
    while not go.exists() and time.monotonic() < end:
        time.sleep(0.02)
send.Cycle.finish_open_issues = held
sys.argv = ["digest", *sys.argv[3:]]
sys.exit(main())
"""


def test_a_sender_that_found_no_open_issue_helps_one_frozen_meanwhile(tmp_path, pg_url):
    """B finds no open issue; A then freezes issue 1 and sends to a reader before B goes on.
    B must help send issue 1, not plan its own against a history that does not hold issue 1's
    stories yet (they are remembered once the issue is settled): every reader got the same
    stories in two digests."""
    readers = [f"reader{i:03d}@example.org" for i in range(60)]
    ready, go = tmp_path / "b-ready", tmp_path / "go"
    with SmtpServer(behaviour=Behaviour(delay_mail=0.02)) as server:
        config = pg_config(tmp_path, pg_url, server, readers)
        assert digest(config, "readers", "list").returncode == 0  # the tables, nothing sent
        b = subprocess.Popen(
            [sys.executable, "-c", HELD_SENDER, str(ready), str(go), "--config", str(config)]
            + ["run", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **ENV},
        )
        wait_for(ready.exists)
        a = start(config)
        wait_for(lambda: len(server.messages) >= 1)  # A froze issue 1 and sent to a reader
        go.touch()
        for p in (a, b):
            out, err = p.communicate(timeout=240)
            assert p.returncode == 0, err
        copies, _ = tally(server)
        history = json.loads(digest(config, "history", "--json").stdout)
    assert set(copies) == set(readers) and max(copies.values()) == 1
    assert len({e["issue"] for e in history if e["issue"] is not None}) == 1


# A sender on a machine whose clock runs OFFSET seconds ahead (as one without NTP).
SKEWED_SENDER = """
import datetime as dt, sys
import digest.state.store as store
from digest.cli import main
offset = dt.timedelta(seconds=float(sys.argv[1]))
original = store.utc_now
store.utc_now = lambda: original() + offset
sys.argv = ["digest", *sys.argv[2:]]
sys.exit(main())
"""


def test_a_sender_whose_clock_runs_ahead_never_takes_a_live_claim(tmp_path, pg_url):
    """Leases are stamped and compared on the database server's clock: a sender whose own
    clock ran ten minutes ahead (past the 300-second lease) took the other's live claims for
    expired and sent their readers a second copy (about 100 of 300)."""
    readers = [f"reader{i:03d}@example.org" for i in range(300)]
    with SmtpServer(behaviour=Behaviour(delay_mail=0.02)) as server:
        config = pg_config(tmp_path, pg_url, server, readers)
        a = start(config)
        wait_for(lambda: len(server.messages) >= 10)  # A froze the issue and is sending
        b = subprocess.Popen(
            [sys.executable, "-c", SKEWED_SENDER, "600", "--config", str(config), "run"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **ENV},
        )
        for p in (a, b):
            out, err = p.communicate(timeout=240)
            assert p.returncode == 0, err
        copies, _ = tally(server)
    assert set(copies) == set(readers) and max(copies.values()) == 1


def test_a_sender_that_loses_its_database_connection_says_so_and_loses_nobody(
    tmp_path, pg_cluster, pg_url
):
    """The PostgreSQL server restarted (or the link dropped) while a run was sending: the
    sender printed psycopg's traceback ("the connection is lost", raised where a
    transaction began) three times over. Now one line naming the state, exit 1, and the
    next run finishes the issue."""
    readers = [f"reader{i:03d}@example.org" for i in range(200)]
    with SmtpServer(behaviour=Behaviour(delay_mail=0.01)) as server:
        config = pg_config(tmp_path, pg_url, server, readers)
        sender = start(config)
        wait_for(lambda: len(server.messages) >= 20)
        with pg_cluster.connect(pg_url) as conn:  # what a server restart does to each session
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        _out, err = sender.communicate(timeout=240)
        assert sender.returncode == 1, err
        assert "Traceback" not in err and "psycopg" not in err
        assert pg_url.split("@", 1)[1] in err and "connection" in err and "run again" in err
        finished = digest(config, "run", "--json")
        assert finished.returncode == 0, finished.stderr
        copies, ids = tally(server)
    assert set(copies) == set(readers)  # nobody lost
    # at most the message in flight when the connection went, with the same Message-ID
    assert sum(n - 1 for n in copies.values()) <= 1
    assert all(len(v) == 1 for v in ids.values())


def test_a_reader_deferred_while_several_senders_send_waits_for_the_next_run(
    tmp_path, pg_cluster, pg_url
):
    """A reader whose server answers 4xx, with three senders at work: each took the reader the
    other had just deferred (only its own run's deferrals were left alone), tried it, and
    waited while another held it: the deferred reader went round between them,
    tried again every few seconds, and neither run ever ended. Tried once per run, as with
    one sender: a reader deferred after a run began waits for the next run."""
    readers = [f"reader{i:03d}@example.org" for i in range(200)]
    busy = {readers[0]: "451 4.2.0 mailbox busy", readers[-1]: "451 4.2.0 mailbox busy"}
    with SmtpServer(behaviour=Behaviour(delay_mail=0.005, defer_always=busy)) as server:
        config = pg_config(tmp_path, pg_url, server, readers)
        senders = [start(config) for _ in range(3)]
        for p in senders:
            try:
                _out, err = p.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                for q in senders:
                    q.kill()
                raise AssertionError("a sender never ended") from None
            assert p.returncode == 0, err
        copies, _ = tally(server)
    assert set(copies) == set(readers) - set(busy) and max(copies.values()) == 1
    with pg_cluster.connect(pg_url) as conn:
        rows = conn.execute(
            "SELECT status, attempts FROM deliveries WHERE recipient = ANY(%s)", (list(busy),)
        ).fetchall()
    assert sorted(rows) == [("retrying", 1), ("retrying", 1)]  # one try this round
