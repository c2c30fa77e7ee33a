"""Several senders, one issue: `digest run` processes sharing a PostgreSQL state, against a
relay with a 10 ms round trip, one sender against three.

    .venv/bin/python benchmarks/senders.py [--recipients 2000] [--senders 1 3] [--rtt-ms 10]

The relay is tests/smtp_server.py (aiosmtpd on loopback) holding each MAIL command RTT ms
before it answers, as a relay across a network costs at least one round trip a message. The
state is a private PostgreSQL cluster (tests/pg_cluster.py), a fresh database per
measurement. Each measurement is real `digest run` processes started together; the figures
are messages a second from the first message the relay took to the last (start-up excluded)
and over the whole wall time, and every reader is checked: exactly one copy each.
"""

from __future__ import annotations

import os
import sys

sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(__file__)]

import argparse  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402
from statistics import median  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from pg_cluster import PASSWORD, Cluster  # noqa: E402
from smtp_server import Behaviour, SmtpServer  # noqa: E402


def config_for(folder: Path, url: str, port: int, recipients: list[str]) -> Path:
    pages = folder / "pages"
    pages.mkdir()
    for page in sorted((ROOT / "seeds").glob("*.txt")):
        shutil.copy(page, pages)
    (folder / "list.csv").write_text("email\n" + "".join(f"{r}\n" for r in recipients))
    path = folder / "digest.yaml"
    path.write_text(
        "\n".join(
            [
                "title: Bench Daily",
                "sources:",
                f"  - {pages}/*.txt",
                f"state: {url}",
                "state_password_env: DIGEST_BENCH_PG_PASSWORD",
                "selection:",
                "  max_articles: 100",
                "delivery:",
                '  from: "Bench Daily <digest@example.com>"',
                f"  recipients: {folder / 'list.csv'}",
                '  unsubscribe_url: "https://example.com/u?t={token}"',
                "  smtp:",
                "    host: 127.0.0.1",
                f"    port: {port}",
                "    security: none",
                "    max_per_minute: 1000000",
            ]
        )
        + "\n"
    )
    return path


def measure(cluster: Cluster, senders: int, recipients: list[str], rtt: float) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="digest-bench-"))
    try:
        with SmtpServer(behaviour=Behaviour(delay_mail=rtt)) as server:
            config = config_for(folder, cluster.new_database(), server.port, recipients)
            env = {**os.environ, "DIGEST_BENCH_PG_PASSWORD": PASSWORD}
            command = [str(Path(sys.executable).with_name("digest")), "--config", str(config)]
            started = time.monotonic()
            first_at = None
            processes = [
                subprocess.Popen(
                    [*command, "run"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
                )
                for _ in range(senders)
            ]
            while any(p.poll() is None for p in processes):
                if first_at is None and server.messages:
                    first_at = time.monotonic()
                time.sleep(0.005)
            ended = time.monotonic()
            for p in processes:
                if p.returncode != 0:
                    raise SystemExit(p.stderr.read().decode())
            copies = Counter(r for m in server.messages for r in m.rcpt_tos)
            if set(copies) != set(recipients) or max(copies.values()) != 1:
                raise SystemExit(
                    f"not exactly once: {len(copies)} readers, {copies.most_common(1)}"
                )
            # the moment the last message arrived: from the relay's order, close enough
            sending = ended - (first_at or started)
            return {
                "senders": senders,
                "messages": len(server.messages),
                "sending_s": sending,
                "wall_s": ended - started,
                "rate": len(server.messages) / sending,
                "wall_rate": len(server.messages) / (ended - started),
            }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument("--senders", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--rtt-ms", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds")
    args = parser.parse_args()
    recipients = [f"reader{i:05d}@example.org" for i in range(args.recipients)]
    cluster = Cluster().start()
    try:
        results: dict[int, list[dict]] = {n: [] for n in args.senders}
        for _ in range(args.rounds):
            for n in args.senders:
                r = measure(cluster, n, recipients, args.rtt_ms / 1000)
                results[n].append(r)
                print(
                    f"{n} sender(s), {r['messages']} readers, relay RTT {args.rtt_ms:g} ms: "
                    f"{r['rate']:.0f} msg/s while sending ({r['sending_s']:.1f} s), "
                    f"{r['wall_rate']:.0f} msg/s over the wall time ({r['wall_s']:.1f} s)",
                    flush=True,
                )
        base = [r["rate"] for r in results[args.senders[0]]]
        for n in args.senders[1:]:
            rates = [r["rate"] for r in results[n]]
            print(
                f"{n} senders / {args.senders[0]}: {median(rates) / median(base):.2f}x "
                f"(medians; round by round "
                + ", ".join(f"{a / b:.2f}x" for a, b in zip(rates, base, strict=True))
                + ")"
            )
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
