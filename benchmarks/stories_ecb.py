"""Same-story grouping on real news, in process: ECB+ dev topics 1-22 (../shared/data), one
selection with room for everything, as `../shared/tools/eval-stories` runs it through the CLI.
Prints pairwise precision/recall against the gold events, stories per event, articles shown
under another event, and (with --explain) the articles grouped under another event's story.

    .venv/bin/python benchmarks/stories_ecb.py [--data FILE] [--explain]
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import itertools
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from digest.config import SelectionConfig
from digest.models import Article, Paragraph
from digest.select import select
from digest.state.sent import History
from digest.state.store import Store

ROOT = Path(__file__).resolve().parents[1]


class NoHistory(History):
    def __init__(self) -> None:
        pass

    def count(self) -> int:
        return 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT.parent / "shared/data/ecbplus_dev.json"))
    ap.add_argument("--explain", action="store_true")
    args = ap.parse_args()
    arts = json.loads(Path(args.data).read_text(encoding="utf-8"))["articles"]
    day = dt.date(2024, 3, 4)
    articles = [
        Article(
            a["title"],
            tuple(Paragraph(p) for p in a["text"].split("\n\n")),
            f"feed{n % 4}",
            date=day,
            url=f"https://news{n % 7}.example/{a['id']}",
            guid=a["id"],
        )
        for n, a in enumerate(arts)
    ]
    gold = {a.url: x["event"] for a, x in zip(articles, arts, strict=True)}
    start = time.perf_counter()
    sel = select(articles, NoHistory(), SelectionConfig(max_articles=10_000, lookback_days=10_000))
    took = time.perf_counter() - start
    where = {}
    for k, c in enumerate(sel.chosen):
        for a in (c.article, *c.tellings):
            where[a.url] = k
    tp = fp = fn = 0
    for x, y in itertools.combinations(gold, 2):
        same, grouped = gold[x] == gold[y], where[x] == where[y]
        tp += same and grouped
        fp += grouped and not same
        fn += same and not grouped
    events = set(gold.values())
    shown = collections.Counter(gold[c.article.url] for c in sel.chosen)
    under = [(c, a) for c in sel.chosen for a in c.tellings if gold[a.url] != gold[c.article.url]]
    print(
        f"{len(articles)} articles, {len(events)} events: {len(sel.chosen)} stories "
        f"({len(sel.chosen) / len(events):.2f} per event), {len(events - set(shown))} events "
        f"lost, {len(under)} articles under another event; pairwise precision "
        f"{tp / max(tp + fp, 1):.3f}, recall {tp / max(tp + fn, 1):.3f}; select {took:.2f} s"
    )
    if args.explain:
        for c, a in under:
            print(
                f"  [{gold[c.article.url]}] {c.article.title[:60]!r}\n     <- [{gold[a.url]}] {a.title[:60]!r}"
            )
    two_days(articles, gold, args.explain)


def two_days(articles: list[Article], gold: dict[str, str], explain: bool) -> None:
    """Day 1: the first half of the articles of every other event; day 2: the rest of those
    and all the other events, against what day 1 sent (as eval-stories runs it)."""
    events = sorted(set(gold.values()))
    day1: set[str] = set()
    for k, e in enumerate(events):
        urls = sorted(
            (a.url for a in articles if gold[a.url] == e), key=lambda u: u.rsplit("/", 1)[1]
        )
        if k % 2 == 0:
            day1 |= set(urls[: max(1, len(urls) // 2)])
    config = SelectionConfig(max_articles=10_000, lookback_days=10_000)
    with tempfile.TemporaryDirectory() as folder, Store.open(Path(folder) / "s.sqlite3") as store:
        first = select([a for a in articles if a.url in day1], store.sent_stories(), config)
        store.remember(1, first.records)
        later = [
            replace(a, date=a.date + dt.timedelta(days=1)) for a in articles if a.url not in day1
        ]
        second = select(later, store.sent_stories(), config)
    old = {gold[u] for u in day1}
    again = {gold[c.article.url] for c in second.chosen} & old
    lost = (set(events) - old) - {gold[c.article.url] for c in second.chosen}
    print(
        f"two days: {len(again)}/{len(old)} already-sent events sent again, {len(lost)}/{len(events) - len(old)} new events lost"
    )
    if explain:
        for c in second.chosen:
            if gold[c.article.url] in old:
                print(
                    f"  again [{gold[c.article.url]}] {c.article.title[:70]!r} (+{len(c.tellings)})"
                )
        for s in second.skipped:
            if gold[s.article.url] in lost:
                print(
                    f"  lost [{gold[s.article.url]}] {s.article.title[:50]!r} as {s.relation} of {s.duplicate_of[:50]!r}"
                )


if __name__ == "__main__":
    main()
