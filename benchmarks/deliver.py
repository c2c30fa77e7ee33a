"""Delivery throughput: our sender against naive smtplib, to an aiosmtpd relay on loopback,
directly and across an emulated network (a round-trip time added by a proxy).

    .venv/bin/python benchmarks/deliver.py [--recipients 1000] [--rtt-ms 0 10]
                                           [--slow-recipients 200]

Ours: deliver_issue() over one reused connection, with the full bookkeeping (token and
Message-ID per recipient, one state record per message), once with the relay offering
PIPELINING (MAIL, RCPT and DATA in one write: two round trips a message) and once without it
(each command waits for its answer: four). Naive: the same message bytes, one smtplib
connection per message (connect, EHLO, [STARTTLS, TLS, EHLO, AUTH,] MAIL, RCPT, DATA, message,
QUIT: about 7 round trips, 11 with TLS), no bookkeeping. The floor: pre-built messages over one
pipelined connection with nothing else, as fast as this relay over this path takes messages.
Measured against a plain relay and against STARTTLS + AUTH (how relays on port 587 are used).

RTT 0 is straight loopback: there connection set-up costs almost nothing and the relay's own
work (aiosmtpd, ~1 ms of Python a message) is the limit. A real relay sits across a network
where every round trip costs milliseconds; for RTT > 0 the clients talk to a proxy that holds
every chunk RTT/2 in each direction and the TCP handshake one RTT (a real one costs about 1.5
before the greeting can arrive, so this favours naive a little). Latency only: no bandwidth
limit, no loss. The slow cases over a network (naive, ours one-by-one) send to the first
--slow-recipients only; messages a second are comparable.
The relay and the proxy run in their own processes so they do not share the clients'
interpreter lock. The rate limit is set out of the way (it exists to be polite to real relays).
"""

from __future__ import annotations

import os
import sys

# Scripts here are named after stages (select.py, ...): this folder must not shadow the
# standard library's modules of the same names.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(__file__)]

import argparse  # noqa: E402
import asyncio  # noqa: E402
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
from digest.pipeline import StoreDeliveryLog  # noqa: E402
from digest.store import Store  # noqa: E402

PASSWORD_ENV = "DIGEST_BENCH_SMTP_PASSWORD"
PASSWORD = "bench-Pa55"


def serve(conn, tls: bool, folder: str) -> None:
    """The relay: answers "count" with the messages taken, ("pipelining", bool) by offering it
    or not from the next EHLO on, and stops at anything else."""
    from smtp_server import SmtpServer

    users = {"digest": PASSWORD} if tls else None
    with SmtpServer(folder, starttls=tls, users=users, pipelining=True) as server:
        conn.send((server.port, server.ca_file))
        while True:
            request = conn.recv()
            if request == "count":
                conn.send(len(server.messages))
            elif isinstance(request, tuple) and request[0] == "pipelining":
                server.behaviour.pipelining = request[1]
                conn.send(request[1])
            else:
                break


def latency_proxy(conn, upstream_port: int, rtt: float) -> None:
    """A TCP proxy on 127.0.0.1 to the relay that holds each chunk rtt/2 in each direction
    (order kept) and the connection one rtt (the TCP handshake). Runs until terminated."""

    async def forward(reader, writer, delay: float) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def release() -> None:
            while True:
                due, chunk = await queue.get()
                if (wait := due - loop.time()) > 0:
                    await asyncio.sleep(wait)
                if not chunk:
                    return
                writer.write(chunk)
                await writer.drain()

        releasing = asyncio.create_task(release())
        try:
            while chunk := await reader.read(1 << 16):
                queue.put_nowait((loop.time() + delay, chunk))
        except OSError:
            pass
        queue.put_nowait((loop.time() + delay, b""))  # the end goes through after the rest
        try:
            await releasing
        except OSError:
            pass
        finally:
            writer.close()

    async def connect(client_reader, client_writer) -> None:
        await asyncio.sleep(rtt)  # the handshake across the network
        try:
            relay_reader, relay_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
        except OSError:
            client_writer.close()
            return
        # asyncio sets TCP_NODELAY on both: no Nagle delays added here
        await asyncio.gather(
            forward(client_reader, relay_writer, rtt / 2),
            forward(relay_reader, client_writer, rtt / 2),
        )

    async def main() -> None:
        proxy = await asyncio.start_server(connect, "127.0.0.1", 0)
        conn.send(proxy.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    asyncio.run(main())


def sample_digest() -> RenderedDigest:
    """The real renderer's output for the shipped sample pages."""
    from test_deliver import render_samples

    return render_samples(10)


def ours(config: Config, rendered: RenderedDigest, recipients: list[str], folder: Path) -> float:
    from test_deliver import freeze

    with Store.open(folder / "state.sqlite3") as store:
        issue = freeze(store, recipients)
        start = time.perf_counter()
        outcomes = deliver.deliver_issue(
            config.delivery, StoreDeliveryLog(store), issue, rendered, recipients
        )
        elapsed = time.perf_counter() - start
    assert all(o.status == "sent" for o in outcomes), "our sender missed someone"
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


CASES = ("floor", "ours pipelined", "ours one-by-one", "naive")


def round_trip(config: Config) -> float:
    """The median time of a NOOP (one round trip plus the relay's answer), in seconds."""
    smtp = config.delivery.smtp
    with smtplib.SMTP(smtp.host, smtp.port, local_hostname=deliver._local_hostname()) as conn:
        times = []
        for _ in range(9):
            start = time.perf_counter()
            conn.noop()
            times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def measure(
    tls: bool, rtt: float, rendered: RenderedDigest, recipients: list[str], slow: list[str]
) -> tuple[dict[str, tuple[int, float]], float]:
    """(messages, seconds) for each case, each sending to its recipients once; and the
    measured round trip."""
    with tempfile.TemporaryDirectory() as tmp:
        parent, child = multiprocessing.Pipe()
        relay = multiprocessing.Process(target=serve, args=(child, tls, tmp), daemon=True)
        relay.start()
        port, ca_file = parent.recv()
        proxy = None
        if rtt:
            proxy_end, child = multiprocessing.Pipe()
            proxy = multiprocessing.Process(
                target=latency_proxy, args=(child, port, rtt), daemon=True
            )
            proxy.start()
            port = proxy_end.recv()
        smtp = SmtpConfig(
            host="127.0.0.1",
            port=port,
            security="starttls" if tls else "none",
            username="digest" if tls else None,
            password_env=PASSWORD_ENV if tls else None,
            ca_file=ca_file,
            max_per_minute=10**9,
            timeout=60.0,
        )
        config = Config(
            path=Path(tmp) / "digest.yaml",
            delivery=DeliveryConfig(
                from_addr="Central Asia Daily <digest@example.com>",
                smtp=smtp,
                unsubscribe_url="https://example.com/unsubscribe?token={token}",
            ),
        )
        try:
            measured_rtt = round_trip(config)
            slow_ones = slow if rtt else recipients
            results = {
                "floor": (len(recipients), floor(config, rendered, recipients)),
                "ours pipelined": (
                    len(recipients),
                    ours(config, rendered, recipients, Path(tmp, "pipelined")),
                ),
                "naive": (len(slow_ones), naive(config, rendered, slow_ones)),
            }
            parent.send(("pipelining", False))
            parent.recv()
            results["ours one-by-one"] = (
                len(slow_ones),
                ours(config, rendered, slow_ones, Path(tmp, "one-by-one")),
            )
            parent.send("count")
            received = parent.recv()
            parent.send("stop")
            relay.join(10)
        finally:
            if proxy is not None:
                proxy.terminate()
                proxy.join(10)
    expected = sum(n for n, _ in results.values())
    if received != expected:
        sys.exit(f"the relay received {received} messages, expected {expected}")
    return results, measured_rtt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=1000)
    parser.add_argument(
        "--rtt-ms", type=float, nargs="+", default=[0.0, 10.0], help="round-trip times to emulate"
    )
    parser.add_argument(
        "--slow-recipients",
        type=int,
        default=200,
        help="recipients for naive and ours one-by-one when RTT > 0",
    )
    args = parser.parse_args()
    os.environ[PASSWORD_ENV] = PASSWORD
    recipients = [f"reader{i:04d}@example.org" for i in range(args.recipients)]
    slow = recipients[: args.slow_recipients]
    rendered = sample_digest()
    size = len(deliver.MessageMaker(rendered, DeliveryConfig()).bytes_for("a@b.org", "t"))
    print(
        f"{len(recipients)} recipients ({len(slow)} for naive and ours one-by-one when RTT > 0), "
        f"{size:,} bytes a message; aiosmtpd relay and latency proxy in their own processes"
    )
    head = f"{'msgs/s':<17}{'RTT':>6}{'NOOP':>8}" + "".join(f"{c:>17}" for c in CASES)
    print(f"{head}{'ours/naive':>12}{'pipelined/1-by-1':>18}")
    for rtt_ms in args.rtt_ms:
        for tls, label in ((False, "plain"), (True, "STARTTLS + AUTH")):
            results, noop = measure(tls, rtt_ms / 1000, rendered, recipients, slow)
            rate = {case: n / seconds for case, (n, seconds) in results.items()}
            row = f"{label:<17}{rtt_ms:>4g}ms{noop * 1000:>6.2f}ms"
            row += "".join(f"{rate[case]:>17.1f}" for case in CASES)
            ratio = rate["ours pipelined"] / rate["naive"]
            gain = rate["ours pipelined"] / rate["ours one-by-one"]
            print(f"{row}{ratio:>11.1f}x{gain:>17.1f}x", flush=True)
    print("ours/naive: ours pipelined over naive. NOOP: one measured round trip through the path.")


if __name__ == "__main__":
    main()
