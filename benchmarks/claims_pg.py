"""Claiming an issue's readers on PostgreSQL, 100 a batch as several senders do: the EXPLAIN
ANALYZE of one claim halfway, and the time all the issue's claims take (each batch recorded
as sent before the next is claimed).

    .venv/bin/python benchmarks/claims_pg.py --state postgresql://... [--readers 40000]
        [--first]   # the first issue the state sends (no earlier one in its statistics)

The database must be empty (a new one): the script writes an issue (and, without --first,
an earlier issue to the same readers, all sent, its statistics taken) into it.
"""

from __future__ import annotations

import os
import sys

# Scripts here are named after stages: this folder must not shadow the standard library.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(__file__)]

import argparse  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]

from digest.state import NewIssue, Store  # noqa: E402
from digest.state import exactly_once as rules  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--state", required=True, help="postgresql://... (password in $DIGEST_DB_PASSWORD)"
    )
    parser.add_argument("--readers", type=int, default=40_000)
    parser.add_argument("--first", action="store_true")
    args = parser.parse_args()
    readers = [f"reader.{n:05d}@example{n % 97}.org" for n in range(args.readers)]
    random.seed(1)
    random.shuffle(readers)
    with Store.open(args.state, password_env="DIGEST_DB_PASSWORD") as store:
        run = rules.begin_run(store).id
        if not args.first:
            new = NewIssue("1", "s", "p", "h", "t", [], readers)
            earlier = rules.freeze(store, run, new, store.newest_issue_id())
            store.set_deliveries(earlier, [(r, "sent", "250 OK", None) for r in readers], run)
            rules.settle(store, earlier)
        new = NewIssue("2", "s", "p", "h", "t", [], readers)
        issue = rules.freeze(store, run, new, store.newest_issue_id())
        claiming, halfway = 0.0, None
        while True:
            start = time.monotonic()
            batch = rules.claim(store, issue, run, rules.BATCH)
            claiming += time.monotonic() - start
            if not batch:
                break
            if halfway is None and store.sent_count(issue) >= args.readers // 2:
                sql = "EXPLAIN (ANALYZE, BUFFERS) " + store.sql["claimable_pending"]
                with store.transaction():
                    halfway = store.db.execute(sql, (issue, "pending", rules.BATCH)).fetchall()
            store.set_deliveries(issue, [(r, "sent", "250 OK", None) for r in batch], run)
    print("\n".join(row[0] for row in halfway or []))
    print(
        f"{args.readers:,} readers{' (the first issue)' if args.first else ''}, load "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: claiming all took {claiming:.2f} s "
        f"({claiming / (args.readers / rules.BATCH) * 1000:.1f} ms a batch)"
    )


if __name__ == "__main__":
    main()
