"""Delivery throughput end to end: `digest run` to 2,000 readers through a loopback relay that
asks for STARTTLS and AUTH, against the floor and naive smtplib, measured in one run as
interleaved rounds, directly (0 ms) and across an emulated 10 ms round trip.

    .venv/bin/python benchmarks/deliver.py [--recipients 2000] [--rtt-ms 0 10] [--rounds 3]
                                           [--slow-recipients 200] [--connections 4]

Each round runs, one after the other against the same relay:
- floor: the messages of the very digest `digest run` sends, built beforehand, over one
  smtplib connection (TCP_NODELAY, STARTTLS and AUTH once), MAIL, RCPT and DATA pipelined:
  as fast as this relay over this path takes these bytes, nothing else;
- ours: a real `digest run` process (fresh state, the shipped sample pages, the readers in a
  CSV file): start-up, reading, selection, leads, rendering, freezing the issue, and every
  message with its token, Message-ID and state record. Two figures: end to end (readers
  over the process's whole wall time) and sending (over the time from the relay's first to
  its last acceptance, so start-up and rendering are left out);
- ours with --connections parallel connections (`delivery.smtp.connections`), end to end;
- naive: the same bytes, a new connection (and STARTTLS, and login) for every message. Over
  the 10 ms path it sends to --slow-recipients only: its messages a second still compare.
ours/floor is taken within each round (the shared machine's load moves both), then the
median over the rounds. The relay (aiosmtpd, offering PIPELINING) and the latency proxy run
in their own processes. RTT 0 is plain loopback; for RTT > 0 the proxy holds every chunk
RTT/2 each way and the TCP handshake one RTT. The rate limit is set out of the way.
"""

from __future__ import annotations

import os
import sys

# Scripts here are named after stages (select.py, ...): this folder must not shadow the
# standard library's modules of the same names.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(__file__)]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import glob  # noqa: E402
import multiprocessing  # noqa: E402
import shutil  # noqa: E402
import smtplib  # noqa: E402
import ssl  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from digest import message as mime  # noqa: E402
from digest import transports  # noqa: E402
from digest.config import load_config  # noqa: E402
from digest.models import RenderedDigest  # noqa: E402

PASSWORD_ENV = "DIGEST_BENCH_SMTP_PASSWORD"
PASSWORD = "bench-Pa55"
FROM = "digest@example.com"


def serve(conn, folder: str) -> None:
    """The relay (STARTTLS required, AUTH, PIPELINING offered): answers "count" with the
    messages taken, ("span", n) with the first and last acceptance time (time.monotonic) of
    the messages from the n-th on, "clear" by forgetting them, and stops at anything else."""
    from smtp_server import SmtpServer

    with SmtpServer(folder, starttls=True, users={"digest": PASSWORD}, pipelining=True) as server:
        conn.send((server.port, server.ca_file))
        while True:
            request = conn.recv()
            if request == "count":
                conn.send(len(server.messages))
            elif request == "clear":
                with server.handler.lock:
                    server.handler.received.clear()
                conn.send(True)
            elif isinstance(request, tuple) and request[0] == "span":
                taken = server.messages[request[1] :]
                conn.send((taken[0].accepted_at, taken[-1].accepted_at, len(taken)))
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


def write_config(
    folder: Path, port: int, ca_file: Path, recipients: list[str], n: int, dkim: Path | None = None
) -> Path:
    """A config like the shipped one (the sample pages) sending to the relay."""
    pages = folder / "pages"
    pages.mkdir(parents=True)
    for page in sorted(glob.glob(str(ROOT / "seeds" / "*.txt"))):
        shutil.copy(page, pages)
    (folder / "readers.csv").write_text("email\n" + "".join(f"{r}\n" for r in recipients))
    config = folder / "digest.yaml"
    config.write_text(
        "\n".join(
            [
                "title: Central Asia Daily",
                "timezone: Asia/Almaty",
                "sources:",
                f"  - {pages}/*.txt",
                f"state: {folder / 'state.sqlite3'}",
                "delivery:",
                f'  from: "Central Asia Daily <{FROM}>"',
                f"  recipients: {folder / 'readers.csv'}",
                '  unsubscribe_url: "https://example.com/unsubscribe?token={token}"',
                "  smtp:",
                "    host: 127.0.0.1",
                f"    port: {port}",
                "    security: starttls",
                f"    ca_file: {ca_file}",
                "    username: digest",
                f"    password_env: {PASSWORD_ENV}",
                "    max_per_minute: 1000000000",
                "    timeout: 60",
                f"    connections: {n}",
            ]
            + (
                [
                    "  dkim:",
                    "    domain: example.com",
                    "    selector: digest",
                    f"    key_file: {dkim}",
                ]
                if dkim
                else []
            )
        )
        + "\n"
    )
    return config


def rsa_key(folder: Path) -> Path:
    """A 2048-bit RSA key, as DKIM keys usually are."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = folder / "dkim.pem"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def the_digest(config_path: Path) -> RenderedDigest:
    """What `digest run` sends with this config: prepared the same way, nothing recorded."""
    from digest.pipeline import prepare
    from digest.state import Store

    config = load_config(config_path)
    with Store.open(config.state, readonly=True) as store:
        return prepare(config, store).rendered


def clear(relay) -> None:
    """The relay keeps every message it took: forget them between cases."""
    relay.send("clear")
    relay.recv()


def ours(config: Path, relay, readers: int) -> tuple[float, float, float]:
    """A real `digest run`: (end-to-end seconds, sending seconds seen at the relay, seconds
    from the start of the process to the relay's first acceptance)."""
    clear(relay)
    before = 0
    start = time.monotonic()
    done = subprocess.run(
        [str(Path(sys.executable).with_name("digest")), "--config", str(config), "run"],
        capture_output=True,
        text=True,
        env={**os.environ, PASSWORD_ENV: PASSWORD},
    )
    wall = time.monotonic() - start
    if done.returncode != 0 or f"sent to {readers} of {readers}" not in done.stdout:
        sys.exit(f"digest run failed: {done.stdout}{done.stderr}")
    relay.send(("span", before))
    first, last, taken = relay.recv()
    assert taken == readers, (taken, readers)
    clear(relay)
    # n messages over the time from the first acceptance to the last: n - 1 intervals
    return wall, (last - first) * readers / (readers - 1), first - start


def naive(config, rendered: RenderedDigest, recipients: list[str]) -> float:
    """What a first version does: a new connection (and TLS, and login) for every message.
    It sends the very same bytes as ours, so only the way of sending differs."""
    smtp = config.delivery.smtp
    maker = mime.MessageMaker(rendered, config.delivery)
    context = ssl.create_default_context(cafile=str(smtp.ca_file))
    hostname = transports.local_hostname()  # the same EHLO name as ours: no DNS in the timing
    start = time.perf_counter()
    for recipient in recipients:
        data = maker.bytes_for(recipient, "t" * 32)
        with smtplib.SMTP(smtp.host, smtp.port, local_hostname=hostname) as conn:
            conn.starttls(context=context)
            conn.login(smtp.username, smtp.password())
            conn.sendmail(FROM, [recipient], data)
    return time.perf_counter() - start


def floor(config, rendered: RenderedDigest, recipients: list[str]) -> float:
    """What the relay itself can take: pre-built bytes over one connection, no bookkeeping."""
    maker = mime.MessageMaker(rendered, config.delivery)
    messages = [
        (r, maker.bytes_for(r, "t" * 32, f"<{i}@example.com>")) for i, r in enumerate(recipients)
    ]
    relay = transports.Relay(config.delivery.smtp)
    relay.open()  # connecting, STARTTLS and AUTH once, before the clock starts
    start = time.perf_counter()
    for recipient, data in messages:
        assert relay.send(FROM, recipient, data)[0] == 250
    elapsed = time.perf_counter() - start
    relay.close()
    return elapsed


def round_trip(config) -> float:
    """The median time of a NOOP (one round trip plus the relay's answer), in seconds."""
    smtp = config.delivery.smtp
    with smtplib.SMTP(smtp.host, smtp.port, local_hostname=transports.local_hostname()) as conn:
        times = []
        for _ in range(9):
            start = time.perf_counter()
            conn.noop()
            times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def measure(rtt: float, args, recipients: list[str]) -> None:
    slow = recipients if not rtt else recipients[: args.slow_recipients]
    with tempfile.TemporaryDirectory() as tmp:
        relay_end, child = multiprocessing.Pipe()
        relay = multiprocessing.Process(target=serve, args=(child, tmp), daemon=True)
        relay.start()
        port, ca_file = relay_end.recv()
        proxy = None
        if rtt:
            proxy_end, child = multiprocessing.Pipe()
            proxy = multiprocessing.Process(
                target=latency_proxy, args=(child, port, rtt), daemon=True
            )
            proxy.start()
            port = proxy_end.recv()
        try:
            base = write_config(Path(tmp, "base"), port, ca_file, recipients, 1)
            config = load_config(base)
            rendered = the_digest(base)
            size = len(mime.MessageMaker(rendered, config.delivery).bytes_for(FROM, "t" * 32))
            print(
                f"\nRTT {rtt * 1000:g} ms (NOOP {round_trip(config) * 1000:.2f} ms), "
                f"STARTTLS + AUTH, {len(recipients):,} readers, {size:,} bytes a message; "
                f"naive to {len(slow):,}",
                flush=True,
            )
            cases = [
                "start-up s",
                "floor",
                "ours end to end",
                "ours sending",
                "DKIM sending",
                f"ours x{args.connections} e2e",
                "naive",
                "ours/floor e2e",
                "sending/floor",
                "DKIM/unsigned",
            ]
            key = rsa_key(Path(tmp, "key"))
            print("round " + "".join(f"{c:>17}" for c in cases), flush=True)
            ratios, sending_ratios, dkim_ratios = [], [], []
            for n in range(args.rounds):
                rate = {}
                rate["floor"] = len(recipients) / floor(config, rendered, recipients)
                clear(relay_end)
                wall, sending, rate["start-up s"] = ours(
                    write_config(Path(tmp, f"r{n}"), port, ca_file, recipients, 1),
                    relay_end,
                    len(recipients),
                )
                rate["ours end to end"] = len(recipients) / wall
                rate["ours sending"] = len(recipients) / sending
                clear(relay_end)
                _, signed, _ = ours(
                    write_config(Path(tmp, f"d{n}"), port, ca_file, recipients, 1, key),
                    relay_end,
                    len(recipients),
                )
                rate["DKIM sending"] = len(recipients) / signed
                dkim_ratios.append(rate["DKIM sending"] / rate["ours sending"])
                wall, _, _ = ours(
                    write_config(Path(tmp, f"p{n}"), port, ca_file, recipients, args.connections),
                    relay_end,
                    len(recipients),
                )
                rate[f"ours x{args.connections} e2e"] = len(recipients) / wall
                rate["naive"] = len(slow) / naive(config, rendered, slow)
                clear(relay_end)
                ratios.append(rate["ours end to end"] / rate["floor"])
                sending_ratios.append(rate["ours sending"] / rate["floor"])
                row = "".join(f"{rate[c]:>17.1f}" for c in cases[:7])
                print(
                    f"{n + 1:<6}{row}{ratios[-1]:>16.0%}{sending_ratios[-1]:>17.0%}"
                    f"{dkim_ratios[-1]:>17.0%}",
                    flush=True,
                )
            print(
                f"median ours/floor: end to end {statistics.median(ratios):.0%}, "
                f"sending {statistics.median(sending_ratios):.0%}; DKIM-signed/unsigned "
                f"sending {statistics.median(dkim_ratios):.0%}",
                flush=True,
            )
            relay_end.send("stop")
            relay.join(10)
        finally:
            if proxy is not None:
                proxy.terminate()
                proxy.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument(
        "--rtt-ms", type=float, nargs="+", default=[0.0, 10.0], help="round-trip times to emulate"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument(
        "--slow-recipients", type=int, default=200, help="readers for naive when RTT > 0"
    )
    args = parser.parse_args()
    os.environ[PASSWORD_ENV] = PASSWORD
    recipients = [f"reader{i:04d}@example.org" for i in range(args.recipients)]
    print(
        f"load before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
        f"{os.getloadavg()[2]:.2f} (1, 5, 15 min), {os.cpu_count()} cores; msgs/s"
    )
    for rtt_ms in args.rtt_ms:
        measure(rtt_ms / 1000, args, recipients)
    print(f"load after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
