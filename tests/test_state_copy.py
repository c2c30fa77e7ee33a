"""`digest state copy --to postgresql://...` and what a PostgreSQL newcomer meets: a SQLite
state (readers with their tokens, history, sent stories) moved whole, old links still working;
a role without the grants PostgreSQL 15 asks for gets the GRANT to run, not a disk-space hint."""

from __future__ import annotations

import json

import pytest
from test_web import cli, write_config

pytestmark = pytest.mark.slow


def test_a_sqlite_state_moves_to_postgresql_whole_and_old_links_keep_working(
    tmp_path, pg_cluster, pg_url, monkeypatch
):
    from pg_cluster import PASSWORD

    monkeypatch.setenv("DIGEST_TEST_PG_PASSWORD", PASSWORD)
    config = write_config(tmp_path, 8080)
    assert cli(config, "readers", "add", "ann@example.org", "--name", "Ann").returncode == 0
    ran = cli(config, "run", "--json")
    assert ran.returncode == 0, ran.stderr
    before_readers = json.loads(cli(config, "readers", "list", "--json").stdout)
    before_history = json.loads(cli(config, "history", "--json").stdout)
    eml = next((tmp_path / "outbox").glob("*ann@example.org.eml")).read_text()
    link_token = eml.split("List-Unsubscribe: <http://127.0.0.1:8080/unsubscribe/", 1)[1].split(
        ">"
    )[0]

    copied = cli(
        config, "state", "copy", "--to", pg_url, "--password-env", "DIGEST_TEST_PG_PASSWORD"
    )
    assert copied.returncode == 0, copied.stderr
    assert "subscribers: 2 rows" in copied.stdout and "sent_articles:" in copied.stdout
    again = cli(
        config, "state", "copy", "--to", pg_url, "--password-env", "DIGEST_TEST_PG_PASSWORD"
    )
    assert again.returncode == 2 and "already holds a digest state" in again.stderr

    pg = tmp_path / "pg.yaml"
    pg.write_text(
        config.read_text().replace(
            f"state: {tmp_path}/state.sqlite3",
            f"state: {pg_url}\nstate_password_env: DIGEST_TEST_PG_PASSWORD",
        )
    )
    assert json.loads(cli(pg, "readers", "list", "--json").stdout) == before_readers
    assert json.loads(cli(pg, "history", "--json").stdout) == before_history
    # the next run knows what was sent (no story again), and new ids follow the copied ones
    first = {c["title"] for c in json.loads(ran.stdout)["chosen"]}
    second = json.loads(cli(pg, "run", "--json").stdout)
    assert second["status"] in ("delivered", "empty")
    assert not first & {c["title"] for c in second["chosen"]}
    assert [e["run"] for e in json.loads(cli(pg, "history", "--json").stdout)] == [2, 1]
    gone = cli(pg, "unsubscribe", link_token)  # the link in the message sent from SQLite
    assert gone.returncode == 0 and "ann@example.org" in gone.stdout


def test_a_role_without_create_on_public_is_told_the_grant(
    tmp_path, pg_cluster, pg_url, monkeypatch
):
    from pg_cluster import PASSWORD

    database = pg_url.rsplit("/", 1)[1]
    with pg_cluster.connect(pg_url) as conn:
        conn.execute(f"CREATE ROLE newcomer LOGIN PASSWORD '{PASSWORD}'")
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        conn.execute(f"GRANT CONNECT ON DATABASE {database} TO newcomer")
    url = pg_url.replace("digest@", "newcomer@")
    monkeypatch.setenv("DIGEST_TEST_PG_PASSWORD", PASSWORD)
    config = write_config(tmp_path, 8080)
    config.write_text(
        config.read_text().replace(
            f"state: {tmp_path}/state.sqlite3",
            f"state: {url}\nstate_password_env: DIGEST_TEST_PG_PASSWORD",
        )
    )
    result = cli(config, "readers", "add", "ann@example.org")
    assert result.returncode == 2, result.stderr
    assert "GRANT CREATE ON SCHEMA public TO newcomer" in result.stderr
    assert "free some space" not in result.stderr and "Traceback" not in result.stderr
    with pg_cluster.connect(pg_url) as conn:
        conn.execute("GRANT CREATE ON SCHEMA public TO newcomer")
    assert cli(config, "readers", "add", "ann@example.org").returncode == 0


def test_a_copy_while_a_run_is_sending_is_refused_not_taken_mid_send(
    tmp_path, pg_cluster, pg_url, monkeypatch
):
    """`state copy` during a SQLite run took the state mid-send: once `state:` named the
    copy, its first run sent the readers the SQLite run had reached after the copy a second
    copy (416 of 600). The copy now waits for no run: it is refused while one holds the
    state, and copies whole after."""
    import subprocess

    from conftest import digest_command
    from pg_cluster import PASSWORD
    from smtp_server import Behaviour, SmtpServer
    from test_deliver import PASSWORD as SMTP_PASSWORD
    from test_deliver import write_config as delivery_config
    from test_postgres_senders import wait_for

    monkeypatch.setenv("DIGEST_TEST_PG_PASSWORD", PASSWORD)
    monkeypatch.setenv("DIGEST_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    readers = [f"reader{i:03d}@example.org" for i in range(150)]
    copy = ("state", "copy", "--to", pg_url, "--password-env", "DIGEST_TEST_PG_PASSWORD")
    with SmtpServer(behaviour=Behaviour(delay_mail=0.02)) as server:
        config = delivery_config(tmp_path, server, readers)
        sending = subprocess.Popen(
            [*digest_command(), "--config", str(config), "run"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for(lambda: len(server.messages) >= 20)
        refused = cli(config, *copy)
        assert sending.poll() is None, "the run ended before the copy was tried"
        assert refused.returncode == 1, refused.stderr
        assert "another digest run is using" in refused.stderr
        _out, err = sending.communicate(timeout=240)
        assert sending.returncode == 0, err
        with pg_cluster.connect(pg_url) as conn:  # nothing was made there
            assert conn.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            ).fetchone() == (0,)
        copied = cli(config, *copy)
        assert copied.returncode == 0, copied.stderr
        pg = tmp_path / "pg.yaml"
        pg.write_text(
            config.read_text().replace(
                f"state: {tmp_path / 'state.sqlite3'}",
                f"state: {pg_url}\nstate_password_env: DIGEST_TEST_PG_PASSWORD",
            )
        )
        after = cli(pg, "run", "--json")
        assert after.returncode == 0, after.stderr
        assert server.count_for() == {r: 1 for r in readers}


def test_a_copy_while_digest_serve_or_schedule_uses_the_file_is_refused(
    tmp_path, pg_cluster, pg_url, monkeypatch
):
    """`digest serve` and `digest schedule` read the config once and keep the SQLite file:
    copied while `serve` ran, with `state:` then naming the copy, a reader's one-click
    unsubscribe answered "unsubscribed" into the old file and the copy's runs went on sending
    to them. The copy is refused while either runs (naming it), and copies once they stopped."""
    import subprocess

    from conftest import digest_command
    from pg_cluster import PASSWORD
    from test_postgres_senders import wait_for
    from test_web import Server, env

    monkeypatch.setenv("DIGEST_TEST_PG_PASSWORD", PASSWORD)
    copy = ("state", "copy", "--to", pg_url, "--password-env", "DIGEST_TEST_PG_PASSWORD")
    server = Server(tmp_path)
    second = Server(tmp_path)  # several may serve one state: the lock names the last to start
    try:
        assert cli(server.config, "readers", "add", "ann@example.org").returncode == 0
        refused = cli(server.config, *copy)
        assert refused.returncode == 1, refused.stderr
        assert f"`digest serve` (pid {second.proc.pid}) is using" in refused.stderr
    finally:
        server.stop()
        second.stop()
    scheduler = subprocess.Popen(
        [*digest_command(), "--config", str(server.config), "schedule"],
        env=env(),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lock = tmp_path / "state.sqlite3.schedule.lock"
        wait_for(lambda: lock.is_file() and lock.read_text() == str(scheduler.pid), 60)
        refused = cli(server.config, *copy)
        assert refused.returncode == 1 and "`digest schedule`" in refused.stderr, refused.stderr
    finally:
        scheduler.terminate()
        scheduler.wait(30)
    with pg_cluster.connect(pg_url) as conn:  # nothing was made there
        assert conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone() == (0,)
    copied = cli(server.config, *copy)
    assert copied.returncode == 0 and "subscribers: 1 rows" in copied.stdout, copied.stderr


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://digest@127.0.0.1:1/digest?password=hunter2",
        "postgresql://digest@x:y/d?password=hunter2",
    ],
)
def test_copy_to_a_url_holding_the_password_in_its_query_is_refused(tmp_path, url):
    """libpq takes the password as a URL parameter too: `--to ...?password=` was taken (and
    a URL with a bad port quoted back, password and all)."""
    result = cli(write_config(tmp_path, 8080), "state", "copy", "--to", url)
    assert result.returncode == 2 and "holds a password" in result.stderr
    assert "hunter2" not in result.stderr


def test_a_state_name_too_long_is_no_state_to_copy_not_a_traceback(tmp_path):
    """acf8018's check that the state file exists called Path.is_file, which raises
    ENAMETOOLONG on a name over 255 bytes: `state copy` ended in a traceback (2ec8afb mended
    the same in the config's check)."""
    config = write_config(tmp_path, 8080)
    config.write_text(
        config.read_text().replace("state.sqlite3", "s" * 300 + ".sqlite3"), encoding="utf-8"
    )
    result = cli(config, "state", "copy", "--to", "postgresql://digest@127.0.0.1:1/digest")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "no state to copy yet" in result.stderr


def test_a_name_in_no_utf8_is_one_clear_error_in_a_copy_too(
    tmp_path, pg_cluster, pg_url, monkeypatch
):
    """A reader's name another tool wrote into the SQLite state in Windows-1251: `readers
    list` and `run` say so in one line (2cfbcc1), but `state copy`, which reads each table
    whole, stopped with "sqlite3.OperationalError: Could not decode to UTF-8" and a traceback."""
    import sqlite3

    from pg_cluster import PASSWORD

    monkeypatch.setenv("DIGEST_TEST_PG_PASSWORD", PASSWORD)
    config = write_config(tmp_path, 8080)
    assert cli(config, "readers", "add", "ann@example.org", "--name", "Ann").returncode == 0
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        db.execute("UPDATE subscribers SET name = CAST(X'C8E2E0ED' AS TEXT)")  # "Иван", cp1251
    db.close()
    copied = cli(
        config, "state", "copy", "--to", pg_url, "--password-env", "DIGEST_TEST_PG_PASSWORD"
    )
    assert copied.returncode == 2 and "Traceback" not in copied.stderr, copied.stderr
    assert "Could not decode to UTF-8 column 'name'" in copied.stderr
    with pg_cluster.connect(pg_url) as conn:  # nothing was copied
        assert conn.execute("SELECT count(*) FROM subscribers").fetchone() == (0,)
