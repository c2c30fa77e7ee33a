"""A `digest run` killed with SIGKILL part-way through sending is finished by the next run:
every recipient gets exactly one copy. Real processes, a real loopback SMTP server."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import digest_command
from smtp_server import Behaviour, SmtpServer
from test_deliver import PASSWORD, write_config

pytestmark = pytest.mark.slow

RECIPIENTS = [f"reader{i:03d}@example.org" for i in range(300)]
ENV = {"DIGEST_TEST_SMTP_PASSWORD": PASSWORD}


def start_run(config: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [*digest_command(), "--config", str(config), "run", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **ENV},
    )


def run_to_end(config: Path) -> dict:
    process = start_run(config)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return json.loads(out)


def kill_when(process: subprocess.Popen, event: threading.Event) -> None:
    if not event.wait(timeout=120):
        process.kill()
        pytest.fail(f"the run never got there: {process.communicate()[1][-2000:]}")
    process.kill()  # SIGKILL: no cleanup, no finally blocks
    process.wait(timeout=30)
    assert process.returncode == -9


def deliveries(tmp_path: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        return db.execute("SELECT recipient, status, attempts FROM deliveries").fetchall()


@pytest.mark.parametrize(
    ("killed_after", "pipelining"),
    [(0, False), (137, False), (299, False), (137, True)],
    ids=["0", "137", "299", "137-pipelining"],
)
def test_killed_while_sending_then_rerun_sends_each_recipient_exactly_once(
    tmp_path, killed_after, pipelining
):
    """Killed while the relay sits on the MAIL command of message killed_after + 1: every
    message the relay accepted before was recorded before the next one began. With
    PIPELINING, RCPT and DATA have arrived with that MAIL; no message data has."""
    signal = threading.Event()
    behaviour = Behaviour(
        delay_mail=0.004,
        signals={("MAIL", killed_after): signal},
        pipelining=pipelining,
        hold_signalled=True,
    )
    with SmtpServer(behaviour=behaviour) as server:
        config = write_config(tmp_path, server, RECIPIENTS)
        kill_when(start_run(config), signal)
        assert len(server.messages) == killed_after
        assert sum(status == "sent" for _, status, _ in deliveries(tmp_path)) == killed_after

        report = run_to_end(config)
        # the frozen issue is finished first, to those not yet sent to ...
        assert len(report["resumed"]) == len(RECIPIENTS) - killed_after
        assert {d["status"] for d in report["resumed"]} == {"sent"}
        # ... and only then new articles are picked: none are left
        assert report["status"] == "empty"

        again = run_to_end(config)
        assert again["status"] == "empty" and again["resumed"] == []

        counts = server.count_for()
        assert counts == {r: 1 for r in RECIPIENTS}  # everyone exactly once
    assert sorted(deliveries(tmp_path)) == [(r, "sent", 1) for r in RECIPIENTS]
    issues = {m.message["Subject"] for m in server.messages}
    assert len(issues) == 1  # one digest, not a second one made from the same articles


def test_a_preview_after_a_killed_run_does_not_offer_the_half_sent_issue_again(tmp_path):
    """Killed after 137 of 300 readers had the issue: the next run finishes it and has nothing
    new (every article was in it). A preview or a dry run in between said the same articles
    were the next digest (a dry run would send them to all 300): the issue's stories were
    remembered only once the killed run had finished sending."""
    signal = threading.Event()
    behaviour = Behaviour(delay_mail=0.004, signals={("MAIL", 137): signal}, hold_signalled=True)
    with SmtpServer(behaviour=behaviour) as server:
        config = write_config(tmp_path, server, RECIPIENTS)
        kill_when(start_run(config), signal)
        for command in (["preview", "--json", "--out", str(tmp_path / "preview")],
                        ["run", "--dry-run", "--json"]):  # fmt: skip
            done = subprocess.run(
                [*digest_command(), "--config", str(config), *command],
                capture_output=True, text=True, env={**os.environ, **ENV}, timeout=300,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            assert json.loads(done.stdout)["chosen"] == [], command
        report = run_to_end(config)
        assert len(report["resumed"]) == len(RECIPIENTS) - 137 and report["status"] == "empty"
        assert server.count_for() == {r: 1 for r in RECIPIENTS}


def run_statuses(config: Path) -> list[str]:
    """`digest history --json`: each run's status, newest first."""
    done = subprocess.run(
        [*digest_command(), "--config", str(config), "history", "--json"],
        capture_output=True, text=True, env={**os.environ, **ENV}, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [e["status"] for e in json.loads(done.stdout)]


def test_history_tells_a_killed_run_from_one_still_sending(tmp_path):
    """`digest history` showed a killed run as "running" until the next run marked it: an
    operator looking why readers had nothing could not tell a stuck run from a dead one."""
    signal = threading.Event()
    behaviour = Behaviour(delay_mail=0.004, signals={("MAIL", 20): signal}, hold_signalled=True)
    with SmtpServer(behaviour=behaviour) as server:
        config = write_config(tmp_path, server, RECIPIENTS)
        process = start_run(config)
        try:
            assert signal.wait(timeout=120), "the run never reached the relay"
            assert run_statuses(config) == ["running"]  # its process holds it
        finally:
            process.kill()
            process.wait(timeout=30)
        assert run_statuses(config) == ["killed"]
        assert run_to_end(config)["resumed"]  # the next run finishes its issue ...
        assert run_statuses(config)[1] == "killed"  # ... and records it as it was shown


@pytest.mark.parametrize("pipelining", [False, True], ids=["one-by-one", "pipelining"])
def test_killed_after_the_data_went_out_resends_that_one_with_the_same_message_id(
    tmp_path, pipelining
):
    """The named limit: killed after the message was sent but before the relay's answer was
    recorded. The relay accepts it anyway; the next run cannot know and sends it again, with
    the same Message-ID, so receivers can drop the copy. Only that one recipient is affected.
    PIPELINING does not widen this window: the message still goes out only after its DATA
    was answered 354, and is recorded the moment its 250 arrives."""
    signal = threading.Event()
    behaviour = Behaviour(
        delay_data={50: 0.3}, signals={("DATA", 50): signal}, pipelining=pipelining
    )
    with SmtpServer(behaviour=behaviour) as server:
        config = write_config(tmp_path, server, RECIPIENTS)
        kill_when(start_run(config), signal)
        time.sleep(0.5)  # the relay finishes taking message 51 from the dead client
        assert len(server.messages) == 51
        report = run_to_end(config)
        assert len(report["resumed"]) == len(RECIPIENTS) - 50
        counts = server.count_for()
    twice = [r for r, n in counts.items() if n == 2]
    assert twice == [RECIPIENTS[50]]
    assert all(counts[r] == 1 for r in RECIPIENTS if r != RECIPIENTS[50])
    ids = {m.message["Message-ID"] for m in server.messages if m.rcpt_tos == [RECIPIENTS[50]]}
    assert len(ids) == 1


def test_killed_while_writing_the_outbox_then_rerun_leaves_one_file_each(tmp_path):
    recipients = [f"reader{i:04d}@example.org" for i in range(1500)]
    config = write_config(tmp_path, None, recipients)
    outbox = tmp_path / "outbox"
    process = start_run(config)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if outbox.is_dir() and len(list(outbox.glob("*.eml"))) >= 400:
            break
        time.sleep(0.005)
    assert process.poll() is None, "the run finished before it could be killed"
    process.kill()
    process.wait(timeout=30)
    written = len(list(outbox.glob("*.eml")))
    assert 400 <= written < len(recipients)

    report = run_to_end(config)
    assert report["status"] == "empty"
    assert written - 1 <= len(recipients) - len(report["resumed"]) <= written
    files = list(outbox.glob("*.eml"))
    to = Counter()
    for path in files:
        head = path.read_bytes().split(b"\r\n\r\n", 1)[0].decode()
        to.update(line[4:] for line in head.split("\r\n") if line.startswith("To: "))
    assert to == {r: 1 for r in recipients}
    assert sorted(p.name for p in outbox.iterdir()) == sorted(p.name for p in files)  # no temp
    assert sorted((r, s) for r, s, _ in deliveries(tmp_path)) == [(r, "sent") for r in recipients]


def test_a_slot_killed_while_sending_is_finished_by_running_that_slot_again(tmp_path):
    """`run --slot S` again after its run was killed mid-send said "slot S has already run:
    nothing to do" and left the readers not yet sent to waiting for the next slot."""
    signal = threading.Event()
    behaviour = Behaviour(delay_mail=0.004, signals={("MAIL", 40): signal}, hold_signalled=True)
    slot = "2026-03-05T07:00:00+05:00"  # the config is on Almaty time
    with SmtpServer(behaviour=behaviour) as server:
        config = write_config(tmp_path, server, RECIPIENTS)
        config.write_text(config.read_text() + 'schedule: "0 7 * * *"\n')
        command = [*digest_command(), "--config", str(config), "run", "--json", "--slot", slot]
        first = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **ENV},
        )
        kill_when(first, signal)
        again = subprocess.run(
            command, capture_output=True, text=True, timeout=300, env={**os.environ, **ENV}
        )
        assert again.returncode == 0, again.stderr
        report = json.loads(again.stdout)
        assert len(report["resumed"]) == len(RECIPIENTS) - 40
        assert server.count_for() == {r: 1 for r in RECIPIENTS}
        done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **ENV})
        assert "has already run: nothing to do" in done.stdout + done.stderr
