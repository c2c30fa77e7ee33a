"""`digest run` against rss2email 3.14, over the same republished feeds and the same relay.

    .venv/bin/python benchmarks/vs_rss2email.py [--rounds 3] [--seed 1] [--r2e PATH] [--keep]

The feeds are tests/republish.py's: 20 Atom feeds of 25 entries (500), half of each feed
published on day 0 and the rest on day 1. Each round starts from fresh state and runs both
tools three times: run 1 on the day-0 feeds, run 2 on the day-1 feeds (new entries, and for
digest new stories), run 3 on the same feeds unchanged (nothing new). digest sends one digest
a run (at most 100 stories, picked and deduplicated); rss2email one email per entry whose GUID
its feed has not shown before (trust-guid, its default; republish.py reuses GUIDs within a feed,
so that is 475 of the 500 with seed 1), each over an SMTP connection of its own. Both deliver to one aiosmtpd
relay on loopback (in this process), which counts what it takes.

Measured per run: the whole process, start to exit, as wall time (time.perf_counter around
subprocess.run) and as user+sys CPU seconds of the child (getrusage(RUSAGE_CHILDREN) deltas),
which is steadier than wall time on a shared, loaded machine. The tools take turns going first
from one round to the next. Printed: min / median / max over the rounds, the messages each run
sent, and the load average at start and end. rss2email is installed with pip into a throwaway
venv (PyPI must be reachable) unless --r2e names an r2e executable. Nothing is asserted.
"""

from __future__ import annotations

import os
import sys

# Scripts here are named after stages (select.py, ...): this folder must not shadow the
# standard library's modules of the same names.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(__file__)]

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from aiosmtpd.controller import Controller  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from republish import entries, write_feeds  # noqa: E402

DIGEST = Path(sys.executable).with_name("digest")
# (name, the day the feeds are rewritten to, or None: left as the run before read them)
RUNS = [("run 1 (day 0)", 0), ("run 2 (day 1)", 1), ("run 3 (nothing new)", None)]
TOOLS = ("digest", "rss2email")
logging.getLogger("mail.log").setLevel(logging.ERROR)


class Counting:
    """The relay's handler: takes every message and counts it."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            self.count += 1
        return "250 OK"


class Relay(Controller):
    """aiosmtpd on 127.0.0.1, port 0: the OS picks a free port, read back once bound."""

    def __init__(self, handler: Counting) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=0)

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def install_r2e(folder: Path) -> Path:
    venv = folder / "r2e-venv"
    print(f"installing rss2email==3.14 into {venv} ...", flush=True)
    subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
    proc = subprocess.run([*pip, "rss2email==3.14"], capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"pip install rss2email==3.14 failed:\n{proc.stdout}{proc.stderr}")
    return venv / "bin" / "r2e"


def write_digest_config(folder: Path, feeds: Path, port: int) -> Path:
    config = folder / "digest.yaml"
    config.write_text(f"""title: Partner Digest
timezone: UTC
sources:
  - folder: {feeds}
state: {folder / "digest.sqlite3"}
selection: {{max_articles: 100, lookback_days: 30}}
delivery:
  from: "Partner Digest <digest@example.com>"
  to: [reader@example.com]
  outbox: {folder / "outbox"}
  smtp: {{host: 127.0.0.1, port: {port}, security: none}}
""")
    return config


def write_r2e_config(folder: Path, feeds: Path, port: int) -> Path:
    """What `r2e new reader@example.com` and one `r2e add NAME URL` a feed write, set to SMTP."""
    lines = [
        "[DEFAULT]",
        "from = r2e@example.com",
        "to = reader@example.com",
        "email-protocol = smtp",
        "smtp-server = 127.0.0.1",
        f"smtp-port = {port}",
        "smtp-auth = False",
        "smtp-ssl = False",
        "trust-guid = True",
    ]
    for path in sorted(feeds.glob("*.xml")):
        lines += ["", f"[feed.{path.stem}]", f"url = {path.as_uri()}"]
    config = folder / "r2e.cfg"
    config.write_text("\n".join(lines) + "\n")
    return config


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds, child user+sys CPU seconds, stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout


def digest_source() -> str:
    """Where the `digest` package comes from, and its commit (with local edits or not)."""
    import digest

    where = Path(digest.__file__).parent
    git = ["git", "--no-optional-locks", "-C", str(where)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if head.returncode:
        return str(where)
    edits = subprocess.run([*git, "status", "--porcelain", "--", "."], capture_output=True)
    return f"{where} at {head.stdout.strip()}{' with local edits' if edits.stdout else ''}"


def spread(values: list[float]) -> str:
    return f"{min(values):6.2f} {statistics.median(values):6.2f} {max(values):6.2f}"


def counts(values: list[int]) -> str:
    return str(values[0]) if len(set(values)) == 1 else "/".join(map(str, values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--r2e", type=Path, help="an r2e executable (else pip installs one)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    load_start = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="digest-vs-r2e-"))
    handler = Counting()
    relay = Relay(handler)
    relay.start()
    try:
        r2e = str(args.r2e or install_r2e(tmp))
        version = subprocess.run([r2e, "--version"], capture_output=True, text=True).stdout
        corpus = entries(args.seed)
        print(f"digest from {digest_source()}")
        print(
            f"{version.strip()}; {len(corpus)} entries in 20 feeds (seed {args.seed}); "
            f"relay 127.0.0.1:{relay.port}; rounds: {args.rounds}"
        )
        wall = {(r, t): [] for r, _ in RUNS for t in TOOLS}
        cpu = {(r, t): [] for r, _ in RUNS for t in TOOLS}
        sent = {(r, t): [] for r, _ in RUNS for t in TOOLS}
        stories: dict[str, list[int]] = {r: [] for r, _ in RUNS}
        for n in range(args.rounds):
            folder = tmp / f"round{n + 1}"
            feeds = folder / "feeds"
            write_feeds(feeds, corpus, 0)  # r2e's config names the feed files
            digest_config = write_digest_config(folder, feeds, relay.port)
            r2e_config = write_r2e_config(folder, feeds, relay.port)
            commands = {
                "digest": [str(DIGEST), "--config", str(digest_config), "run", "--json"],
                "rss2email": [r2e, "-c", str(r2e_config), "-d", str(folder / "r2e.json"), "run"],
            }
            for run, day in RUNS:
                if day is not None:
                    write_feeds(feeds, corpus, day)
                for tool in TOOLS if n % 2 == 0 else reversed(TOOLS):
                    before = handler.count
                    seconds, cpu_seconds, out = timed(commands[tool])
                    wall[run, tool].append(seconds)
                    cpu[run, tool].append(cpu_seconds)
                    sent[run, tool].append(handler.count - before)
                    if tool == "digest":
                        stories[run].append(len(json.loads(out).get("chosen") or []))
            print(f"round {n + 1} done (load {os.getloadavg()[0]:.2f})", flush=True)

        print(
            f"\n{'':22}{'':10} {'wall s (min med max)':>20}   {'cpu s (min med max)':>20}"
            "   messages"
        )
        for run, _ in RUNS:
            for tool in TOOLS:
                extra = f" ({counts(stories[run])} stories)" if tool == "digest" else ""
                print(
                    f"{run:22}{tool:10} {spread(wall[run, tool])}   "
                    f"{spread(cpu[run, tool])}   {counts(sent[run, tool])}{extra}"
                )
        for tool in TOOLS:
            total_wall = [sum(wall[r, tool][i] for r, _ in RUNS) for i in range(args.rounds)]
            total_cpu = [sum(cpu[r, tool][i] for r, _ in RUNS) for i in range(args.rounds)]
            total_sent = [sum(sent[r, tool][i] for r, _ in RUNS) for i in range(args.rounds)]
            print(
                f"{'all three runs':22}{tool:10} {spread(total_wall)}   "
                f"{spread(total_cpu)}   {counts(total_sent)}"
            )
        load_end = os.getloadavg()
        print(
            f"\nload average (1, 5, 15 min): start {' '.join(f'{x:.2f}' for x in load_start)}, "
            f"end {' '.join(f'{x:.2f}' for x in load_end)} on {os.cpu_count()} CPUs"
        )
    finally:
        relay.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
