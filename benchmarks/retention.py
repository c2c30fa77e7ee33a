"""Each reader's delivery kept, or forgotten after `state_deliveries_days`: N daily issues to R
readers written into a state as a run writes them (freeze, every outcome recorded, settle),
the state's clock moved a day each issue; with a retention the run's end forgets the readers
of issues older than it (exactly_once rule 9), as `digest run` does.

    .venv/bin/python benchmarks/retention.py [--readers 20000] [--issues 60] [--days 14]
        [--state postgresql://...]   # default: a SQLite file in a temporary folder

Prints, with and without the retention, the state's size after the N issues (SQLite: the
file, and its free pages; PostgreSQL: deliveries and tallies with their indexes), the rows
kept, and the time each run's forgetting took; then the first run after an upgrade that
finds every issue over the retention at once (all of them forgotten, at most
FORGET_PER_RUN rows a run).
"""

from __future__ import annotations

import os
import sys

# Scripts here are named after stages: this folder must not shadow the standard library.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(__file__)]

import argparse  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from digest.state import NewIssue, Store  # noqa: E402
from digest.state import exactly_once as rules  # noqa: E402

DAY = 86400


def one_issue(store: Store, readers: list[str], day: int, issues: int) -> None:
    store.clock_skew = -(issues - day) * DAY  # the state's clock: day `day` of `issues`
    run = rules.begin_run(store).id
    new = NewIssue(f"day {day}", f"Issue {day}", "p", "<p>h</p>", "t", [], readers)
    issue = rules.freeze(store, run, new, store.newest_issue_id())
    assert issue is not None
    while claimed := rules.claim(store, issue, run):  # PostgreSQL: 100 a batch
        store.set_deliveries(
            issue, [(r, "sent", "250 2.0.0 Ok: queued as 4XkT3b1", None) for r in claimed], run
        )
    rules.settle(store, issue)
    store.finish_run(run, "delivered")


def size(store: Store) -> str:
    if store.db.dialect == "sqlite":
        path = Path(store.path)
        pages = store.db.execute("PRAGMA page_count").fetchone()[0]
        free = store.db.execute("PRAGMA freelist_count").fetchone()[0]
        return (
            f"file {path.stat().st_size / 1e6:,.0f} MB ({free * 100 // max(pages, 1)}% free pages)"
        )
    total = sum(
        store.db.execute("SELECT pg_total_relation_size(%s)", (t,)).fetchone()[0]
        for t in ("deliveries", "delivery_tallies")
    )
    return f"deliveries and tallies {total / 1e6:,.0f} MB"


def rows(store: Store) -> int:
    return store.db.execute("SELECT count(*) FROM deliveries").fetchone()[0]


def simulate(state: str | Path, readers: int, issues: int, days: int | None) -> None:
    emails = [f"reader.{n}@example{n % 97}.org" for n in range(readers)]
    times = []
    with Store.open(state, password_env="DIGEST_DB_PASSWORD") as store:
        for day in range(1, issues + 1):
            one_issue(store, emails, day, issues)
            if days is not None:
                start = time.monotonic()
                forgot = rules.forget_readers(store, days)
                if forgot.rows:
                    times.append((time.monotonic() - start, forgot.rows))
        if store.db.dialect == "postgresql":
            store.db.conn.autocommit = True
            store.db.execute("VACUUM deliveries")
        kept = "all kept" if days is None else f"{days} days kept"
        print(f"  {kept}: {rows(store):,} rows, {size(store)}")
        if times:
            each = statistics.median(t for t, _ in times)
            print(
                f"    each run's forgetting: {each:.2f} s median for {times[0][1]:,} rows "
                f"({times[0][1] / each:,.0f} rows/s), longest {max(t for t, _ in times):.2f} s"
            )
        if days is None:  # upgraded: every issue over a 1-day retention at once
            store.clock_skew = 2 * DAY
            start = time.monotonic()
            forgot = rules.forget_readers(store, 1)
            wall = time.monotonic() - start
            print(
                f"    first run after an upgrade: forgot {forgot.rows:,} rows of {forgot.issues} "
                f"issues in {wall:.1f} s ({forgot.rows / wall:,.0f} rows/s); {size(store)}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", type=int, default=20_000)
    parser.add_argument("--issues", type=int, default=60)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--state", help="a postgresql:// URL (emptied first); default SQLite")
    args = parser.parse_args()
    print(
        f"{args.issues} daily issues to {args.readers:,} readers, load "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores:"
    )
    for days in (None, args.days):
        with tempfile.TemporaryDirectory() as tmp:
            state = args.state or Path(tmp) / "state.sqlite3"
            if args.state:  # emptied: what the round before left
                with Store.open(state, password_env="DIGEST_DB_PASSWORD") as store:
                    with store.transaction():
                        store.db.execute(
                            "TRUNCATE delivery_tallies, deliveries, rate_history, issues, runs"
                        )
            simulate(state, args.readers, args.issues, days)


if __name__ == "__main__":
    main()
