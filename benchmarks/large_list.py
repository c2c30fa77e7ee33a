"""A large list: `digest run` to N readers (default 20,000) through a loopback relay that
takes each message and keeps only its recipients (aiosmtpd, PIPELINING, in its own process),
the readers either imported into the state or listed in `delivery.recipients`. What
benchmarks/deliver.py (2,000 readers, the floor) leaves out: how the run grows with the list.

    .venv/bin/python benchmarks/large_list.py [--readers 20000] [--listed] [--connections 1]

Prints the run's wall time, messages a second, its peak RSS and the bytes it wrote to disk
(the state: one commit a reader), the state file's size, the connections the relay saw, and
how many readers got other than one copy.
"""

from __future__ import annotations

import os
import sys

# Scripts here are named after stages: this folder must not shadow the standard library.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(__file__)]

import argparse  # noqa: E402
import multiprocessing  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def serve(conn) -> None:
    """The relay: answers "count" with (messages, connections, copies per reader as a
    histogram); stops at anything else. Message data is dropped as it arrives."""
    from collections import Counter

    import smtp_server

    copies: Counter[str] = Counter()

    async def take(self, received, delay):  # keep the recipients, not 50,000 messages
        with self.lock:
            copies.update(r.lower() for r in received.rcpt_tos)
            return sum(copies.values())

    smtp_server.Handler._accept = take
    with smtp_server.SmtpServer(pipelining=True) as server:
        conn.send(server.port)
        while conn.recv() == "count":
            conn.send((sum(copies.values()), server.handler.connections, Counter(copies.values())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", type=int, default=20_000)
    parser.add_argument("--listed", action="store_true", help="in delivery.recipients")
    parser.add_argument("--connections", type=int, default=1)
    args = parser.parse_args()
    here, there = multiprocessing.Pipe()
    relay = multiprocessing.Process(target=serve, args=(there,), daemon=True)
    relay.start()
    port = here.recv()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shutil.copytree(ROOT / "seeds", folder / "seeds")
        readers = folder / "readers.csv"
        readers.write_text(
            "email,name\n"
            + "".join(f"reader.{n}@example{n % 97}.org,Reader {n}\n" for n in range(args.readers))
        )
        config = folder / "digest.yaml"
        config.write_text(
            f"sources: [{folder}/seeds/*.txt]\n"
            f"state: {folder}/state.sqlite3\n"
            "delivery:\n"
            '  from: "Digest <digest@example.com>"\n'
            + (f"  recipients: {readers}\n" if args.listed else "")
            + '  postal_address: "1 Example Street"\n'
            '  unsubscribe_url: "https://example.com/unsubscribe/{token}"\n'
            f"  smtp: {{host: 127.0.0.1, port: {port}, security: none, "
            f"max_per_minute: 10000000, connections: {args.connections}}}\n"
        )
        digest = [sys.executable, "-c", "from digest.cli import main; main()", "--config", config]
        if not args.listed:
            subprocess.run(
                [*digest, "readers", "import", readers], check=True, capture_output=True, cwd=tmp
            )
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.monotonic()
        run = subprocess.run([*digest, "run"], capture_output=True, text=True, cwd=tmp)
        wall = time.monotonic() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if run.returncode != 0:
            sys.exit(f"digest run failed: {run.stderr}")
        here.send("count")
        messages, connections, copies = here.recv()
        here.send("stop")
        written = (after.ru_oublock - before.ru_oublock) * 512
        state = (folder / "state.sqlite3").stat().st_size
    load = os.getloadavg()[0]
    print(
        f"{args.readers:,} readers ({'listed in delivery.recipients' if args.listed else 'in the state'}"
        f", {args.connections} connection(s)), load {load:.1f} on {os.cpu_count()} cores:\n"
        f"  run {wall:.1f} s, {messages / wall:.0f} messages/s end to end, peak RSS "
        f"{after.ru_maxrss / 1024:.0f} MB\n"
        f"  written to disk {written / 1e6:,.0f} MB ({written / max(messages, 1) / 1024:.1f} KB a "
        f"reader), state file {state / 1e6:.1f} MB\n"
        f"  relay: {messages:,} messages over {connections} connection(s); readers by copies "
        f"received: {dict(sorted(copies.items()))}"
    )


if __name__ == "__main__":
    main()
