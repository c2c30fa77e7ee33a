"""Archive benchmark: a state of N delivered issues (real rendered 12-story e-mails) to a site.

    python benchmarks/archive.py [--issues 1000]

Builds a real SQLite state with N delivered issues (the same rendered digest under N subjects),
then times `write_archive` three ways: into an empty folder, again with nothing new (it must
write nothing), and with one issue more. Prints seconds, files written and the site's size.
Prints, never asserts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digest.archive import write_archive  # noqa: E402
from digest.models import Digest, DigestItem, DigestSection  # noqa: E402
from digest.render import render  # noqa: E402
from digest.state import NewIssue, Store  # noqa: E402
from digest.state import exactly_once as rules  # noqa: E402
from digest.state.models import FrozenStory  # noqa: E402


def add_issues(
    store: Store, first: int, count: int, html: str, text: str, stories: list[FrozenStory]
) -> None:
    """`count` delivered issues, through the same rules a run follows."""
    for n in range(first, first + count):
        run_id = rules.begin_run(store).id
        day = (dt.date(2020, 1, 1) + dt.timedelta(days=n)).isoformat()
        subject = f"Daily, {day}: issue {n}"
        new = NewIssue(day, subject, "", html, text, stories, ["reader@example.com"])
        issue_id = rules.freeze(store, run_id, new, store.newest_issue_id())
        store.set_deliveries(issue_id, [("reader@example.com", "sent", "250 OK", None)], run_id)
        rules.settle(store, issue_id)
        store.finish_run(run_id, "delivered", 12, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--issues", type=int, default=1000)
    args = parser.parse_args()
    items = tuple(
        DigestItem(f"Story {i}: Astana and Tashkent agree on a corridor", "A lead. " * 8, "w.txt")
        for i in range(12)
    )
    rendered = render(Digest("Daily", dt.date(2026, 1, 1), (DigestSection("Top stories", items),)))
    stories = [FrozenStory(i.title, i.lead, i.url, "Top stories", ()) for i in items]
    with tempfile.TemporaryDirectory() as tmp:
        state, site = Path(tmp) / "state.sqlite3", Path(tmp) / "site"
        with Store.open(state) as store:
            add_issues(store, 0, args.issues, rendered.html, rendered.text, stories)
        figures = []
        for label in ("empty folder", "nothing new", "one issue more"):
            if label == "one issue more":
                with Store.open(state) as store:
                    add_issues(store, args.issues, 1, rendered.html, rendered.text, stories)
            with Store.open(state, readonly=True) as store:
                start = time.perf_counter()
                result = write_archive(store, site, title="Daily")
                seconds = time.perf_counter() - start
            figures.append((label, seconds, len(result.written)))
        size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    print(f"{args.issues} issues, {len(rendered.html):,} bytes of HTML each")
    for label, seconds, written in figures:
        print(f"  {label:15} {seconds:6.2f} s  {written:5} files written")
    print(f"  site: {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
