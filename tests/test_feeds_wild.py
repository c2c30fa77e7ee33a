"""Feeds as the services people subscribe to publish them (Hacker News, Reddit, ...), byte
for byte in their shape, read and selected as a run reads and selects them."""

from __future__ import annotations

import pytest

from digest.config import SelectionConfig
from digest.select.choose import select, sent_records
from digest.select.sent import History
from digest.sources.feed import read_feed
from digest.state import Store

EVERYTHING = SelectionConfig(max_articles=50, lookback_days=100_000)


@pytest.fixture
def store(tmp_path):
    store = Store.open(tmp_path / "state.sqlite3")
    yield store
    store.close()


def hacker_news(*items: tuple[int, str, str]) -> bytes:
    """news.ycombinator.com/rss: every item's description is a link to its comments."""
    out = "".join(
        f"<item><title>{title}</title><link>{link}</link>"
        "<pubDate>Sun, 06 Dec 2026 20:40:05 +0000</pubDate>"
        f"<comments>https://news.ycombinator.com/item?id={n}</comments>"
        f'<description><![CDATA[<a href="https://news.ycombinator.com/item?id={n}">Comments</a>]]>'
        "</description></item>"
        for n, title, link in items
    )
    return (
        '<rss version="2.0"><channel><title>Hacker News</title>'
        "<link>https://news.ycombinator.com/</link><description>Links for the intellectually "
        f"curious, ranked by readers.</description>{out}</channel></rss>"
    ).encode()


HN = "https://news.ycombinator.com/rss"


def test_hacker_news_items_all_saying_comments_are_each_a_story_today_and_tomorrow(store):
    today = read_feed(HN, hacker_news(
        (41234567, "Show HN: Kzstat – Kazakhstan's open statistics as a SQLite file",
         "https://github.com/qazdata/kzstat"),
        (41234001, "The hidden cost of running a nuclear plant on a steppe lake (2024)",
         "https://www.science.org/content/article/balkhash-lake-nuclear"),
        (41233555, "Ask HN: How do you keep up with regional news?", ""),
    )).articles  # fmt: skip
    first = select(today, History(store), EVERYTHING)
    assert len(first.chosen) == 3
    store.remember(1, sent_records([[c.article] for c in first.chosen]))
    tomorrow = read_feed(HN, hacker_news(
        (41240001, "Uzbekistan launches its first communications satellite",
         "https://spacenews.com/uzbekistan-first-satellite/"),
        (41240002, "A history of the Kazakh alphabet reforms",
         "https://www.rferl.org/a/kazakh-latin-alphabet-history/33240000.html"),
    )).articles  # fmt: skip
    second = select(tomorrow, History(store), EVERYTHING)
    assert [c.article.title for c in second.chosen] == [
        "Uzbekistan launches its first communications satellite",
        "A history of the Kazakh alphabet reforms",
    ]
