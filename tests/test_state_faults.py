"""State faults a new user meets: a read-only state file, another program's SQLite file, a
full disk after the mail went out, a relay that goes away mid-send; and what `history` shows
then. Real processes, a real loopback relay, a real (small, full) filesystem."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from conftest import ROOT, digest_command
from smtp_server import Behaviour, SmtpServer
from test_deliver import PASSWORD, write_config

pytestmark = pytest.mark.slow

ENV = {"DIGEST_TEST_SMTP_PASSWORD": PASSWORD}
READERS = [f"reader{i:03d}@example.org" for i in range(60)]


def digest(config: Path, *args: str, user: list[str] | None = None):
    return subprocess.run(
        [*(user or digest_command()), "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **ENV},
    )


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def history(config: Path, *args: str) -> list[dict]:
    result = digest(config, "history", "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# --- a read-only state file ----------------------------------------------------------------


@pytest.fixture
def unprivileged(tmp_path):
    """A folder and a command prefix to run digest as a user that file permissions bind
    (root ignores them): as root, `nobody` through runuser; else the current user."""
    if os.geteuid() != 0:
        yield tmp_path, []
        return
    if not shutil.which("runuser"):
        pytest.skip("running as root without runuser: cannot test file permissions")
    # the venv's Python may sit in root's home: the system Python runs the same code
    system = Path("/usr/bin/python3")
    if not system.exists():
        pytest.skip("running as root without /usr/bin/python3 for the unprivileged user")
    site = next(Path(sys.prefix).glob("lib/python3*/site-packages"))
    code = f"import sys; sys.path[:0] = [{str(site)!r}, {str(ROOT)!r}]; "
    code += "sys.argv[0] = 'digest'; from digest.cli import main; main()"
    folder = Path(tempfile.mkdtemp(prefix="digest-ro-"))
    os.chmod(folder, 0o777)
    yield folder, ["runuser", "-u", "nobody", "--", str(system), "-c", code]
    shutil.rmtree(folder, ignore_errors=True)


def test_a_read_only_state_file_is_refused_naming_it_and_breaks_no_later_run(unprivileged):
    folder, user = unprivileged
    config = write_config(folder, None, READERS[:3])
    for path in folder.rglob("*"):
        os.chmod(path, 0o777 if path.is_dir() else 0o666)
    state = folder / "state.sqlite3"
    first = digest(config, "run", user=user)
    assert first.returncode == 0, first.stderr
    (folder / "pages" / "extra.txt").write_text(
        (next((folder / "pages").glob("*.txt"))).read_text().replace("2025", "2024")
    )
    os.chmod(state, 0o444)
    before = sorted(p.name for p in folder.iterdir())
    refused = digest(config, "run", user=user)
    assert refused.returncode == 2
    assert str(state) in refused.stderr and "read-only" in refused.stderr
    assert "Traceback" not in refused.stderr
    # nothing made beside it (no -shm as read-only as the state, which broke later runs)
    assert sorted(p.name for p in folder.iterdir()) == before
    os.chmod(state, 0o666)
    fixed = digest(config, "run", user=user)
    assert fixed.returncode == 0, fixed.stderr
    again = digest(config, "history", user=user)
    assert again.returncode == 0, again.stderr


# --- another program's SQLite file ---------------------------------------------------------


def test_another_programs_sqlite_file_is_refused_and_left_byte_identical(tmp_path):
    config = write_config(tmp_path, None, READERS[:3])
    state = tmp_path / "state.sqlite3"
    with sqlite3.connect(state) as db:
        db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        db.execute("INSERT INTO notes(body) VALUES ('my shopping list')")
    db.close()
    before = sha(state)
    for command in (["run"], ["preview", "--out", str(tmp_path / "p")], ["history"]):
        result = digest(config, *command)
        assert result.returncode == 2, (command, result.stderr)
        assert str(state) in result.stderr and "another program" in result.stderr
        assert "notes" in result.stderr
    assert sha(state) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("state")) == [
        "state.sqlite3"
    ]
    with sqlite3.connect(state) as db:
        assert [r[0] for r in db.execute("SELECT name FROM sqlite_master")] == ["notes"]
    db.close()


def test_text_another_tool_wrote_in_no_utf8_is_one_clear_error_not_a_traceback(tmp_path):
    """A reader's name written into the state by another tool in Windows-1251 (`sqlite3`'s
    .import of an Excel list): SQLite gives each text as it is read, and every command that
    read the readers stopped with "sqlite3.OperationalError: Could not decode to UTF-8"."""
    config = write_config(tmp_path, None, READERS[:3])
    assert digest(config, "readers", "add", READERS[0]).returncode == 0
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        db.execute("UPDATE subscribers SET name = CAST(X'C8E2E0ED' AS TEXT)")  # "Иван", cp1251
    db.close()
    for command in (["readers", "list"], ["run", "--dry-run"]):
        result = digest(config, *command)
        assert result.returncode == 2, (command, result.stderr)
        assert "Traceback" not in result.stderr
        assert "cannot read the state (Could not decode to UTF-8 column 'name'" in result.stderr


def test_a_state_that_refers_to_sent_articles_it_lacks_is_damaged_not_a_traceback(tmp_path):
    """A page of the file overwritten on disk can leave the keys of what was sent pointing at
    articles that are not there (a random corruption of the sample state did that): every
    `preview` and `run` stopped with a KeyError deep in selection."""
    config = write_config(tmp_path, None, READERS[:3])
    assert digest(config, "run").returncode == 0
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        gone = db.execute("SELECT min(id) FROM sent_articles").fetchone()[0]
        db.execute("DELETE FROM sent_articles WHERE id = ?", (gone,))
    db.close()
    for command in (["preview"], ["run", "--dry-run"]):
        result = digest(config, *command)
        assert result.returncode == 2, (command, result.stderr)
        assert "Traceback" not in result.stderr
        assert "the state is damaged: it refers to" in result.stderr
        assert f"(id {gone})" in result.stderr and "restore it from a backup" in result.stderr


def test_a_state_link_to_nothing_is_refused_not_read_as_nothing_sent(tmp_path):
    """A `state:` that links to a disk not mounted once told preview that nothing was ever
    sent, and run that the file was damaged ("restore it from a backup")."""
    config = write_config(tmp_path, None, READERS[:3])
    target = tmp_path / "mnt" / "state.sqlite3"
    (tmp_path / "state.sqlite3").symlink_to(target)
    for command in (["run"], ["preview", "--out", str(tmp_path / "p")], ["history"]):
        result = digest(config, *command)
        assert result.returncode == 2, (command, result.stderr)
        assert f"a link to {target}, which does not exist" in result.stderr, command
        assert "Traceback" not in result.stderr
    assert not target.exists() and not target.parent.exists()


def test_a_state_name_too_long_for_the_file_system_is_refused_naming_it(tmp_path):
    """`state:` with a name over 255 bytes (a pasted value) ended every command in a
    traceback: Path.is_symlink raises ENAMETOOLONG."""
    config = write_config(tmp_path, None, READERS[:1])
    long_name = "s" * 300 + ".sqlite3"
    config.write_text(config.read_text().replace("state.sqlite3", long_name))
    for command in (["run", "--dry-run"], ["preview", "--out", str(tmp_path / "p")], ["history"]):
        result = digest(config, *command)
        assert result.returncode == 2, (command, result.stderr)
        assert "Traceback" not in result.stderr
        assert long_name in result.stderr and "File name too long" in result.stderr, command


# --- a full disk after the mail went out ---------------------------------------------------


@pytest.fixture
def small_disk():
    """A 3 MB tmpfs (as root; else skip), removed at the end."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small filesystem needs root")
    folder = Path(tempfile.mkdtemp(prefix="digest-disk-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        folder.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield folder
    subprocess.run(["umount", str(folder)], check=False)
    folder.rmdir()


def fill(folder: Path) -> Path:
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as f:  # unbuffered: closing has nothing left to write
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError:
            pass
    return filler


def test_a_full_disk_after_the_mail_went_out_is_a_failed_run_and_history_stays_true(
    tmp_path, small_disk
):
    reached = threading.Event()
    behaviour = Behaviour(signals={("DATA", 20): reached}, delay_data={20: 1.5})
    with SmtpServer(behaviour=behaviour) as server:
        config = write_config(tmp_path, server, READERS)
        state = small_disk / "state.sqlite3"
        config.write_text(config.read_text().replace(str(tmp_path / "state.sqlite3"), str(state)))
        filled: list[Path] = []
        threading.Thread(
            target=lambda: reached.wait(120) and filled.append(fill(small_disk))
        ).start()
        full = digest(config, "run")
        assert filled, "the disk was never filled"
        # a run that failed, not a configuration error; the file is named
        assert full.returncode == 1, full.stderr
        assert str(state) in full.stderr
        assert "nothing more was written" not in full.stderr
        assert "messages went out in this run" in full.stderr
        went_out = len(server.messages)
        assert went_out == 21

        filled[0].unlink()
        entries = history(config)
        first = entries[0]
        recorded = {d["recipient"] for d in first["deliveries"] if d["status"] == "sent"}
        assert first["sent"] == len(recorded) >= 20  # what history says went out, did
        assert recorded <= {m.rcpt_tos[0] for m in server.messages}
        assert first["articles"] > 0

        done = digest(config, "run", "--json")
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert "finished issue" in report["message"]
        assert f"sent to {len(READERS) - len(recorded)} more" in report["message"]
        assert "nothing sent" not in report["message"]
        assert server.count_for().keys() == set(READERS)
        # at most the one message whose record the full disk lost is sent twice
        assert sum(server.count_for().values()) <= len(READERS) + 1
        after = history(config)
        assert after[1]["status"] == "killed" and after[1]["sent"] == len(recorded)
        assert after[0]["sent"] == len(READERS) - len(recorded)


def test_a_state_on_a_full_disk_is_named_as_such_not_as_a_damaged_file(tmp_path, small_disk):
    """With the state's disk full, `run` printed a traceback (writing its pid into the run
    lock; or, with a few KB left, reading the schema version), and `readers add` said "not a
    usable state file ... restore it from a backup, or point `state:` at a new file" (exit
    2): a new file forgets every story sent and every reader's link. Now one line naming
    the file and the full disk, exit 1, the file left as it was."""
    config = write_config(tmp_path, None, READERS[:3])
    state = small_disk / "state.sqlite3"
    config.write_text(config.read_text().replace(str(tmp_path / "state.sqlite3"), str(state)))
    assert digest(config, "run").returncode == 0
    before = sha(state)
    filler = fill(small_disk)
    for leave in (0, 8 * 1024):  # a full disk, and one with a few KB left
        os.truncate(filler, filler.stat().st_size - leave)
        for command in (["run"], ["readers", "add", "new@example.org"]):
            refused = digest(config, *command)
            assert refused.returncode == 1, (leave, command, refused.stderr)
            assert "Traceback" not in refused.stderr, (leave, command, refused.stderr)
            assert str(state) in refused.stderr and "space" in refused.stderr
            assert "backup" not in refused.stderr and "new file" not in refused.stderr
    assert sha(state) == before
    filler.unlink()
    again = digest(config, "run", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["status"] == "empty"  # what went out is still known
    assert digest(config, "readers", "add", "new@example.org").returncode == 0


# --- a relay that goes away mid-send -------------------------------------------------------


def relay_gone_at(mail: int) -> tuple[SmtpServer, threading.Event]:
    """A relay that goes away at its `mail`-th MAIL command; set the event when done."""
    reached = threading.Event()
    server = SmtpServer(behaviour=Behaviour(signals={("MAIL", mail): reached})).start()
    threading.Thread(target=lambda: reached.wait(120) and server.stop()).start()
    return server, reached


def test_a_relay_that_goes_away_after_some_messages_is_a_partial_delivery(tmp_path):
    server, reached = relay_gone_at(7)
    config = write_config(tmp_path, server, READERS[:20], retries=1)
    try:
        result = digest(config, "run", "--json")
    finally:
        reached.set()
    report = json.loads(result.stdout)
    went_out = len(server.messages)  # 7, or 8 when one more got in before the relay stopped
    assert went_out >= 7
    assert result.returncode == 1  # something is left to do
    assert report["status"] == "partly-delivered"
    assert report["message"].startswith(f"sent to {went_out} readers, then stopped")
    assert "next `digest run` sends to them" in report["message"]
    assert "cannot be reached" not in result.stdout + result.stderr  # it was reached, then lost
    entries = history(config)
    assert entries[0]["status"] == "partly-delivered" and entries[0]["sent"] == went_out


ARCHIVE_URL = "https://news.example.com/archive/"


def view_in_browser(received) -> set[str]:
    """The archive page a sent message's "View in browser" names (relative to the archive)."""
    html = received.message.get_body(("html",)).get_content()
    view = set(re.findall(rf"{re.escape(ARCHIVE_URL)}(issues/[^\"<\s]+)", html))
    assert len(view) == 1, view
    return view


def test_an_issue_some_readers_got_before_the_relay_went_away_is_in_the_archive(tmp_path):
    """Their "View in browser" (and the archive's readers) find the issue at once, not after
    the next run that delivers something."""
    server, reached = relay_gone_at(3)
    config = write_config(tmp_path, server, READERS[:10], retries=1)
    with config.open("a") as f:
        f.write(f"archive:\n  url: {ARCHIVE_URL}\n  folder: {tmp_path / 'site'}\n")
    try:
        result = digest(config, "run", "--json")
    finally:
        reached.set()
    report = json.loads(result.stdout)
    assert report["status"] == "partly-delivered", report
    pages = (tmp_path / "site" / "issues").glob("*.html")
    assert {f"issues/{p.name}" for p in pages} == view_in_browser(server.messages[0])


def test_the_archive_page_is_there_while_a_long_list_is_still_being_sent(tmp_path):
    """The first readers of a long list click "View in browser" while the rest still wait:
    the page is written once the first batch went out, not when the last reader has it."""
    readers = [f"reader{i:03d}@example.org" for i in range(150)]
    reached = threading.Event()
    behaviour = Behaviour(signals={("MAIL", 110): reached}, hold_signalled=True)
    with SmtpServer(behaviour=behaviour) as server:
        config = write_config(tmp_path, server, readers)
        with config.open("a") as f:
            f.write(f"archive:\n  url: {ARCHIVE_URL}\n  folder: {tmp_path / 'site'}\n")
        process = subprocess.Popen(
            [*digest_command(), "--config", str(config), "run"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **ENV},
        )
        try:
            assert reached.wait(120)  # 110 readers have it; the relay holds the 111th
            pages = {f"issues/{p.name}" for p in (tmp_path / "site" / "issues").glob("*.html")}
            assert pages == view_in_browser(server.messages[0])
        finally:
            process.kill()
            process.wait(30)


# --- history -------------------------------------------------------------------------------


def test_history_shows_articles_of_killed_issues_the_slot_and_refuses_limit_0(tmp_path):
    reached = threading.Event()
    with SmtpServer(behaviour=Behaviour(signals={("MAIL", 3): reached}, delay_mail=0.2)) as server:
        config = write_config(tmp_path, server, READERS[:10])
        process = subprocess.Popen(
            [*digest_command(), "--config", str(config), "run", "--slot", "now"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **ENV},
        )
        assert reached.wait(120)
        process.kill()
        process.wait(30)
        text = digest(config, "history")
        assert text.returncode == 0
        entries = history(config)
        assert entries[0]["status"] == "killed"  # its process is gone, though not marked yet
        assert entries[0]["articles"] > 0 and entries[0]["sent"] == 3
        assert f"slot {entries[0]['slot']}" in text.stdout
        assert f"{entries[0]['articles']} articles, sent 3" in text.stdout
        finish = digest(config, "run")
        assert finish.returncode == 0, finish.stderr
        entries = history(config)
        assert entries[1]["status"] == "killed" and entries[1]["articles"] > 0
    zero = digest(config, "history", "--limit", "0")
    assert zero.returncode == 2 and "--limit" in zero.stderr
    assert "no digest yet" not in zero.stdout
