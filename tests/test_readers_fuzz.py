"""No input makes a reader raise: arbitrary text as a page snapshot, inside Atom, RSS and JSON
feeds, and arbitrary bytes under each feed's name; what is read then goes through selection.
An input problem is a `problem` with its place, never an exception."""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from news_text import NEWS_DATES, NEWS_TEXT

from digest.config import SelectionConfig
from digest.select.choose import select
from digest.select.sent import History
from digest.sources import read_paths
from digest.state.store import Store

EVERYTHING = SelectionConfig(max_articles=1000, lookback_days=100_000)
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def xml_text(text: str) -> str:
    """`text` as XML character data: escaped, without the characters XML 1.0 cannot hold (a
    feed holding those is a different test: arbitrary bytes, below)."""
    allowed = "".join(c for c in text if c in "\t\n\r" or (" " <= c <= "\ud7ff"))
    return escape(allowed)


def atom(title: str, body: str, date: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Fuzz</title><id>https://fuzz.example/</id>"
        f"<entry><title>{xml_text(title)}</title><id>{xml_text(title)}</id>"
        f'<link href="https://fuzz.example/{xml_text(title[:20])}"/>'
        f"<updated>{xml_text(date)}</updated>"
        f'<content type="html">{xml_text(body)}</content></entry></feed>'
    )


def rss(title: str, body: str, date: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Fuzz</title>'
        f"<item><title>{xml_text(title)}</title><link>{xml_text(title)}</link>"
        f"<pubDate>{xml_text(date)}</pubDate><description>{xml_text(body)}</description>"
        "</item></channel></rss>"
    )


def json_feed(title: str, body: str, date: str) -> str:
    item = {"id": title, "title": title, "content_html": body, "date_published": date}
    return json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "Fuzz", "items": [item]}
    )


def read_and_select(paths: list[Path]) -> None:
    result = read_paths([str(p) for p in paths])
    for problem in result.problems:
        assert str(problem)  # each names its place and what is wrong
    with Store.open(":memory:", readonly=True) as store:
        selection = select(result.articles, History(store), EVERYTHING)
    assert len(selection.chosen) + len(selection.skipped) == len(result.articles)


@pytest.mark.slow
@SETTINGS
@given(title=NEWS_TEXT, body=NEWS_TEXT, date=NEWS_DATES)
def test_no_text_inside_a_feed_or_a_page_makes_reading_raise(tmp_path, title, body, date):
    files = {
        "feed.atom": atom(title, body, date),
        "feed.rss": rss(title, body, date),
        "feed.json": json_feed(title, body, date),
        "page.txt": f"{title}\n{date}\n\n{body}\n",
    }
    paths = []
    for name, text in files.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        paths.append(path)
    read_and_select(paths)


@pytest.mark.slow
@SETTINGS
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".xml", ".rss", ".json", ".txt"]))
def test_no_bytes_under_a_feed_or_page_name_make_reading_raise(tmp_path, data, suffix):
    path = tmp_path / f"input{suffix}"
    path.write_bytes(data)
    read_and_select([path])


# Any JSON value where a JSON Feed promises a string: numbers of any size, NaN, lists, objects.
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | NEWS_TEXT | NEWS_DATES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
ITEM_KEYS = "id title content_html content_text summary url external_url date_published "
ITEM_KEYS += "date_modified authors tags language image"


@SETTINGS
@given(
    item=st.dictionaries(st.sampled_from(ITEM_KEYS.split()), JSON_VALUES, max_size=8),
    top=st.dictionaries(
        st.sampled_from("title home_page_url feed_url language items".split()), JSON_VALUES
    ),
)
def test_no_value_where_a_json_feed_has_a_string_makes_reading_raise(tmp_path, item, top):
    other = {"id": "2", "title": "Wheat Exports Rise", "content_text": "Grain."}
    doc = {"version": "https://jsonfeed.org/version/1.1", "items": [item, other], **top}
    path = tmp_path / "feed.json"
    path.write_text(json.dumps(doc), encoding="utf-8", errors="surrogatepass")
    read_and_select([path])
