"""Progress a person can see: a real `digest run` on a real pseudo-terminal shows how the
sending and the reading go; a pipe, a file or --json get none of it."""

from __future__ import annotations

import io
import json
import os
import re
import select
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import digest_command
from smtp_server import Behaviour, SmtpServer
from test_deliver import needs_pipeline, write_config

from digest import progress

READERS = [f"reader{i:03d}@example.org" for i in range(150)]
LINE = re.compile(
    r"sending: ([\d,]+)/150 messages, ([\d.,]+) messages/s, "
    r"(?:about ([\d.]+ s|\d+ min \d+ s) left|done in [\d.]+ s)"
)


def run_on_terminal(args: list[str], timeout: float = 120) -> tuple[int, str, str]:
    """The command with its stderr on a new pseudo-terminal (stdout a pipe); returns the
    exit code, stdout, and everything the terminal received."""
    master, slave = os.openpty()
    process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    received = bytearray()
    out = bytearray()
    deadline = time.monotonic() + timeout
    streams = [master, process.stdout.fileno()]
    while streams and time.monotonic() < deadline:
        ready, _, _ = select.select(streams, [], [], 1)
        for fd in ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the terminal's other side is closed
                chunk = b""
            if not chunk:
                streams.remove(fd)
            else:
                (received if fd == master else out).extend(chunk)
    os.close(master)
    code = process.wait(timeout=30)
    return code, out.decode(), received.decode()


def slow_relay() -> SmtpServer:
    """A few ms a message: 150 readers take well over the half second before progress."""
    return SmtpServer(behaviour=Behaviour(delay_mail=0.005))


@pytest.mark.slow
@needs_pipeline
def test_run_on_a_terminal_shows_done_total_rate_and_time_left(tmp_path):
    with slow_relay() as server:
        config = write_config(tmp_path, server, READERS)
        start = time.monotonic()
        code, out, terminal = run_on_terminal([*digest_command(), "--config", str(config), "run"])
        elapsed = time.monotonic() - start
        assert code == 0, terminal
        assert server.count_for() == {r: 1 for r in READERS}
    assert "sent to 150 of 150 recipients" in out
    draws = [d for d in terminal.split("\r") if d.startswith("sending:")]
    assert len(draws) >= 3, terminal
    states = [LINE.match(d) for d in draws]
    assert all(states), draws
    done = [int(m[1].replace(",", "")) for m in states]
    assert done == sorted(done) and done[-1] == 150 and done[0] < 150
    assert all(m[3] for m in states[:-1])  # time left while sending
    assert "done in" in draws[-1] and f"{draws[-1]}\r\n" in terminal  # the line ends (tty: \r)
    # each redraw erases the rest of the line; about ten a second at most
    assert all("\x1b[K" in d for d in draws)
    assert len(draws) <= elapsed * 10 + 2


@pytest.mark.slow
@needs_pipeline
def test_piped_stderr_and_json_get_no_progress(tmp_path):
    with slow_relay() as server:
        config = write_config(tmp_path, server, READERS)
        piped = subprocess.run(
            [*digest_command(), "--config", str(config), "run"], capture_output=True, text=True
        )
        assert piped.returncode == 0, piped.stderr
        assert "sending" not in piped.stderr and "\r" not in piped.stderr
        assert "\x1b" not in piped.stderr + piped.stdout

    tmp2 = tmp_path / "second"
    tmp2.mkdir()
    with slow_relay() as server:
        config = write_config(tmp2, server, READERS)
        code, out, terminal = run_on_terminal(
            [*digest_command(), "--config", str(config), "run", "--json"]
        )
        assert code == 0, terminal
        assert len(server.messages) == 150
    assert json.loads(out)["status"] == "delivered"
    assert "sending" not in terminal and "\x1b" not in terminal


class _SlowFeeds(BaseHTTPRequestHandler):
    """The same small RSS feed at every path, 40 ms late."""

    def do_GET(self) -> None:  # noqa: N802 (the http.server name)
        time.sleep(0.04)
        n = self.path.strip("/").replace("feed", "")
        body = (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {n}</title>'
            "<link>http://127.0.0.1/</link><description>d</description><item>"
            f"<title>Story {n} about Almaty</title><link>http://127.0.0.1/s{n}</link>"
            f"<guid>s{n}</guid><pubDate>Mon, 10 Nov 2025 08:00:00 GMT</pubDate>"
            f"<description>Almaty news, story {n}, in a few words.</description>"
            "</item></channel></rss>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def feed_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowFeeds)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.slow
@needs_pipeline
def test_preview_fetching_many_feeds_on_a_terminal_shows_feeds_done(tmp_path, feed_server):
    lines = [
        "title: Feeds",
        "timezone: UTC",
        "sources:",
        *(f"  - feed: {feed_server}/feed{i}" for i in range(30)),
        f"state: {tmp_path / 'state.sqlite3'}",
        "delivery:",
        "  to: [a@example.org]",
        f"  outbox: {tmp_path / 'outbox'}",
    ]
    config = tmp_path / "digest.yaml"
    config.write_text("\n".join(lines) + "\n")
    args = [*digest_command(), "--config", str(config), "preview", "--out", str(tmp_path / "p")]
    code, out, terminal = run_on_terminal(args)
    assert code == 0, terminal
    # the feeds are fetched all at once (2 at a time from this one host), then read
    draws = [d for d in terminal.split("\r") if d.startswith("fetching:")]
    assert draws, terminal
    assert all(re.match(r"fetching: \d+/30 feeds, [\d.,]+ feeds/s, ", d) for d in draws)
    assert draws[-1].startswith("fetching: 30/30 feeds") and "done in" in draws[-1]
    piped = subprocess.run(args, capture_output=True, text=True)
    assert piped.returncode == 0 and "fetching" not in piped.stderr


# --- the meter itself, on a stream that says it is a terminal ---------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_meter_draws_nothing_for_short_work_then_at_most_ten_a_second():
    now = [0.0]
    screen = Terminal()
    with progress.shown(stream=screen):
        meter = progress.meter("sending", "messages", clock=lambda: now[0])
        for done in range(1, 1001):
            now[0] = done * 0.002  # 500 a second for two seconds
            meter(done, 1000)
    draws = screen.getvalue().split("\r")[1:]
    assert draws[0].startswith("sending: 250/1,000 messages, 500 messages/s, about 1.5 s left")
    assert len(draws) == 16  # from 0.5 s on, one each 0.1 s, and the last
    assert draws[-1] == "sending: 1,000/1,000 messages, 500 messages/s, done in 2.0 s\x1b[K\n"


def test_meter_cut_short_ends_its_line_and_nothing_without_a_terminal():
    now = [0.0]
    screen = Terminal()
    with progress.shown(stream=screen):
        meter = progress.meter("sending", "messages", clock=lambda: now[0])
        now[0] = 1.0
        meter(3, 10)
    assert screen.getvalue().endswith("left\x1b[K\n")  # an error message starts afresh

    plain = io.StringIO()
    with progress.shown(stream=plain):
        assert progress.meter("sending", "messages") is None
    with progress.shown(enabled=False, stream=Terminal()):
        assert progress.meter("sending", "messages") is None
    assert progress.meter("sending", "messages") is None  # outside shown(): nothing
    assert plain.getvalue() == ""
