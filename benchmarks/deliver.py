"""Delivery throughput: our sender against naive smtplib, both to a loopback aiosmtpd relay.

    .venv/bin/python benchmarks/deliver.py [--recipients 1000]

Ours: deliver_issue() over one reused connection, with the full bookkeeping (token and
Message-ID per recipient, one state record per message). Naive: the same message bytes, one
smtplib connection per message (connect, EHLO, [STARTTLS, AUTH,] MAIL, RCPT, DATA, QUIT), no
bookkeeping. The relay floor: the same bytes over one connection with nothing else, as fast
as this relay takes messages at all. Measured against a plain relay and against
STARTTLS + AUTH (how relays on port 587 are used).
The relay runs in its own process so the two clients do not share its interpreter lock.
The rate limit is set out of the way (it exists to be polite to real relays).
"""

from __future__ import annotations

import os
import sys

# Scripts here are named after stages (select.py, ...): this folder must not shadow the
# standard library's modules of the same names.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(__file__)]

import argparse  # noqa: E402
import multiprocessing  # noqa: E402
import smtplib  # noqa: E402
import ssl  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from digest import deliver  # noqa: E402
from digest.config import Config, DeliveryConfig, SmtpConfig  # noqa: E402
from digest.models import RenderedDigest  # noqa: E402
from digest.store import Store  # noqa: E402

PASSWORD_ENV = "DIGEST_BENCH_SMTP_PASSWORD"
PASSWORD = "bench-Pa55"


def serve(conn, tls: bool, folder: str) -> None:
    from smtp_server import SmtpServer

    users = {"digest": PASSWORD} if tls else None
    with SmtpServer(folder, starttls=tls, users=users) as server:
        conn.send((server.port, server.ca_file))
        while conn.recv() == "count":
            conn.send(len(server.messages))


def sample_digest() -> RenderedDigest:
    """The real renderer's output for the shipped sample pages."""
    from test_deliver import seed_pages

    from digest.config import SummaryConfig
    from digest.models import Digest, DigestItem, DigestSection
    from digest.rates import newest_ticker, rate_rows
    from digest.render import render
    from digest.sources import read_paths
    from digest.summarize import make_summarizer

    read = read_paths(seed_pages())
    summarize = make_summarizer(SummaryConfig())
    items = tuple(
        DigestItem(a.title, summarize(a).lead, a.source, a.url, a.date) for a in read.articles[:10]
    )
    rows = rate_rows(newest_ticker(read.rates), {})
    return render(
        Digest(
            "Central Asia Daily",
            max(a.date for a in read.articles if a.date),
            (DigestSection("Top stories", items),),
            rates=tuple(rows),
            reason_line="You receive this because you subscribed to Central Asia Daily.",
        )
    )


def ours(config: Config, rendered: RenderedDigest, recipients: list[str], folder: Path) -> float:
    from test_deliver import freeze

    with Store.open(folder / "state.sqlite3") as store:
        issue = freeze(store, recipients)
        start = time.perf_counter()
        outcomes = deliver.deliver_issue(config, store, issue, rendered, recipients)
        elapsed = time.perf_counter() - start
    assert all(o["status"] == "sent" for o in outcomes), "our sender missed someone"
    return elapsed


def naive(config: Config, rendered: RenderedDigest, recipients: list[str]) -> float:
    """What a first version does: a new connection (and TLS, and login) for every message.
    It sends the very same bytes as ours, so only the way of sending differs."""
    smtp = config.delivery.smtp
    maker = deliver.MessageMaker(rendered, config.delivery)
    context = ssl.create_default_context(cafile=str(smtp.ca_file) if smtp.ca_file else None)
    hostname = deliver._local_hostname()  # the same EHLO name as ours: no DNS in the timing
    start = time.perf_counter()
    for recipient in recipients:
        data = maker.bytes_for(recipient, "token")
        with smtplib.SMTP(smtp.host, smtp.port, local_hostname=hostname) as conn:
            if smtp.security == "starttls":
                conn.starttls(context=context)
                conn.login(smtp.username, smtp.password())
            conn.sendmail("digest@example.com", [recipient], data)
    return time.perf_counter() - start


def floor(config: Config, rendered: RenderedDigest, recipients: list[str]) -> float:
    """What the relay itself can take: pre-built bytes over one connection, no bookkeeping."""
    maker = deliver.MessageMaker(rendered, config.delivery)
    messages = [(r, maker.bytes_for(r, "token")) for r in recipients]
    relay = deliver.Relay(config.delivery.smtp)
    start = time.perf_counter()
    for recipient, data in messages:
        assert relay.send("digest@example.com", recipient, data)[0] == 250
    elapsed = time.perf_counter() - start
    relay.close()
    return elapsed


def measure(tls: bool, rendered: RenderedDigest, recipients: list[str]) -> list[float]:
    """Seconds for the relay's floor, ours and naive, each sending to every recipient once."""
    with tempfile.TemporaryDirectory() as tmp:
        parent, child = multiprocessing.Pipe()
        relay = multiprocessing.Process(target=serve, args=(child, tls, tmp), daemon=True)
        relay.start()
        port, ca_file = parent.recv()
        smtp = SmtpConfig(
            host="127.0.0.1",
            port=port,
            security="starttls" if tls else "none",
            username="digest" if tls else None,
            password_env=PASSWORD_ENV if tls else None,
            ca_file=ca_file,
            max_per_minute=10**9,
        )
        config = Config(
            path=Path(tmp) / "digest.yaml",
            delivery=DeliveryConfig(
                from_addr="Central Asia Daily <digest@example.com>",
                smtp=smtp,
                unsubscribe_url="https://example.com/unsubscribe?token={token}",
            ),
        )
        times = [
            floor(config, rendered, recipients),
            ours(config, rendered, recipients, Path(tmp)),
            naive(config, rendered, recipients),
        ]
        parent.send("count")
        received = parent.recv()
        parent.send("stop")
        relay.join(10)
    if received != 3 * len(recipients):
        sys.exit(f"the relay received {received} messages, expected {3 * len(recipients)}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=1000)
    args = parser.parse_args()
    os.environ[PASSWORD_ENV] = PASSWORD
    recipients = [f"reader{i:04d}@example.org" for i in range(args.recipients)]
    rendered = sample_digest()
    size = len(deliver.MessageMaker(rendered, DeliveryConfig()).bytes_for("a@b.org", "t"))
    n = len(recipients)
    print(f"{n} recipients, {size:,} bytes a message, loopback aiosmtpd in its own process")
    print(f"{'msgs/s':<18}{'relay floor':>12}{'ours':>9}{'naive':>9}{'ours/naive':>12}")
    for tls, label in ((False, "plain"), (True, "STARTTLS + AUTH")):
        floor_s, ours_s, naive_s = measure(tls, rendered, recipients)
        rates = f"{n / floor_s:>12.0f}{n / ours_s:>9.0f}{n / naive_s:>9.0f}"
        print(f"{label:<18}{rates}{naive_s / ours_s:>11.1f}x")


if __name__ == "__main__":
    main()
