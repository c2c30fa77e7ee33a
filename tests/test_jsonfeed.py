"""Every feed shape people publish: JSON Feed 1.1, items without titles, teaser excerpts."""

from __future__ import annotations

import codecs
import datetime as dt
import json

from digest.config import SelectionConfig
from digest.select.choose import select
from digest.select.sent import History
from digest.sources import read_paths
from digest.sources.feed import read_feed
from digest.sources.jsonfeed import read_json_feed
from digest.state.store import Store


def json_feed(items: list[dict], **top) -> bytes:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Pamir Post",
        "home_page_url": "https://pamir.example/",
        "items": items,
        **top,
    }
    return json.dumps(doc).encode()


def test_json_feed_1_1_items_become_articles():
    data = json_feed(
        [
            {
                "id": "p-1",
                "url": "https://pamir.example/roads",
                "title": "Pamir Highway Reopens After Landslide",
                "content_html": "<p>The road reopened on Monday.</p><p>Crews cleared 40 tonnes.</p>",
                "date_published": "2025-11-03T08:15:00+05:00",
            },
            {
                "id": 2,
                "title": "Khorog Gets a New Bridge",
                "content_text": "The bridge spans the Gunt river.\n\nIt cost $4 million.",
                "external_url": "https://other.example/bridge",
            },
        ]
    )
    result = read_feed("https://pamir.example/feed.json", data)
    assert result.problems == []
    road, bridge = result.articles
    assert road.title == "Pamir Highway Reopens After Landslide"
    assert road.prose == ("The road reopened on Monday.", "Crews cleared 40 tonnes.")
    assert road.published == dt.datetime(2025, 11, 3, 3, 15, tzinfo=dt.UTC)
    assert (road.guid, road.url, road.source_name) == (
        "p-1",
        "https://pamir.example/roads",
        "Pamir Post",
    )
    assert bridge.text == "The bridge spans the Gunt river.\n\nIt cost $4 million."
    assert (bridge.guid, bridge.url) == ("2", "https://other.example/bridge")


def test_an_rfc_822_date_in_a_json_feed_is_read():
    """Generators that write RSS's dates into a JSON Feed: each item went undated, with a
    problem line at every run."""
    read = read_json_feed("j.json", json_feed([
        {"id": "1", "title": "Metro", "content_text": "Three stations opened.",
         "date_published": "Sun, 06 Dec 2026 10:00:00 +0500"},
    ]))  # fmt: skip
    assert [a.published for a in read.articles] == [dt.datetime(2026, 12, 6, 5, tzinfo=dt.UTC)]
    assert read.problems == []


def test_a_json_file_that_is_not_a_json_feed_says_so(tmp_path):
    path = tmp_path / "data.xml"
    path.write_text('{"hello": 1}')
    result = read_paths([str(path)])
    assert [p.message for p in result.problems] == [
        "JSON, but not a JSON Feed (no https://jsonfeed.org/version/ in `version`)"
    ]


def test_a_stray_windows_1252_byte_does_not_lose_the_feed():
    """One Windows-1252 quote pasted into an otherwise UTF-8 feed lost every item ("not a
    readable JSON Feed ('utf-8' codec can't decode byte 0x92 ...)")."""
    data = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "Pamir Post",
            "items": [
                {
                    "id": "1",
                    "title": "Kazakhstan\u2019s Wheat Exports Rise",
                    "content_text": "Kazakhstan\u2019s grain exporters shipped 1.2 million "
                    "tonnes in October, the ministry said on Monday.",
                }
            ],
        },
        ensure_ascii=False,
        indent=1,
    ).encode()
    data = data.replace(b"the ministry said", b"the ministry\x92s office said")
    result = read_json_feed("stray.json", data)
    (article,) = result.articles
    assert "the ministry\u2019s office said" in article.text
    (problem,) = result.problems
    assert problem.line == 8 and "0x92" in problem.message


def test_a_stray_byte_in_a_feed_that_opens_with_a_bom_does_not_lose_it():
    """A UTF-8 JSON Feed with a BOM (as Windows editors and .NET write it) was read, and one
    with a stray Windows-1252 quote too; with both, every item was lost: "not a readable JSON
    Feed (Unexpected UTF-8 BOM ...)"."""
    data = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "Pamir Post",
            "items": [
                {"id": "1", "title": "Tajikistan\u2019s Budget", "content_text": "It passed, Q."}
            ],
        },
        ensure_ascii=False,
    ).encode()
    data = codecs.BOM_UTF8 + data.replace(b"Q.", b"the speaker\x92s office said.")
    result = read_json_feed("bom.json", data)
    (article,) = result.articles
    assert "the speaker\u2019s office said" in article.text
    (problem,) = result.problems
    assert "0x92" in problem.message


def test_broken_json_names_its_line():
    result = read_feed("f.json", b'{\n"version": \n}')
    assert result.problems[0].line == 3
    assert result.problems[0].message.startswith("not a readable JSON Feed")


def test_items_without_a_title_get_their_first_sentence_cut_cleanly():
    rss = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Toots</title>'
        "<item><guid>1</guid><description>&lt;p&gt;Snow closed the Anzob pass on Tuesday. "
        "Drivers were told to wait.&lt;/p&gt;</description></item>"
        "<item><guid>2</guid><description>"
        + "A very long first sentence that keeps going about the weather and the roads and "
        "the passes and the trucks waiting at the border for days on end without news\n"
        + "</description></item>"
        "<item><guid>3</guid></item>"
        "</channel></rss>"
    ).encode()
    result = read_feed("toots.xml", rss)
    assert [str(p) for p in result.problems] == [
        "toots.xml: 1 entry with no title and no text left out"
    ]
    titles = [a.title for a in result.articles]
    assert titles[0] == "Snow closed the Anzob pass on Tuesday"
    assert all(a.untitled for a in result.articles)  # a made title: no story's face if it can help
    assert len(titles[1]) <= 90 and titles[1].endswith("…") and " " in titles[1]
    assert titles[1].startswith("A very long first sentence that keeps going")
    assert len(titles) == 2  # the empty item gives nothing to show


def test_json_feed_items_without_a_title_too():
    data = json_feed(
        [{"id": "t1", "content_text": "Tashkent metro fares rise on Monday. More soon."}]
    )
    (article,) = read_feed("toots.json", data).articles
    assert article.title == "Tashkent metro fares rise on Monday"


def test_excerpt_marks_are_stripped_and_the_entry_marked_an_excerpt():
    rss = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>WP</title>'
        b"<item><title>Wind farm opens</title><description>&lt;p&gt;A 500 MW wind farm opened "
        b"near Zhanatas on Friday [&amp;#8230;]&lt;/p&gt;&lt;p&gt;The post Wind farm opens "
        b"appeared first on Steppe Wire.&lt;/p&gt;</description></item>"
        b"<item><title>Full story</title><description>&lt;p&gt;All of it is here.&lt;/p&gt;"
        b"</description></item>"
        b"</channel></rss>"
    )
    excerpt, full = read_feed("wp.xml", rss).articles
    assert excerpt.text == "A 500 MW wind farm opened near Zhanatas on Friday …"
    assert excerpt.excerpt and not full.excerpt


def test_a_feed_nested_a_thousand_deep_is_one_problem_and_the_others_are_read(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_bytes(
        json_feed([{"id": "1", "content_text": "x", "tags": []}]).replace(
            b'"tags": []', b'"tags": ' + b"[" * 5000 + b"]" * 5000
        )
    )
    good = tmp_path / "good.json"
    good.write_bytes(json_feed([{"id": "2", "title": "Wheat Exports Rise", "content_text": "x"}]))
    result = read_paths([str(deep), str(good)])
    assert [a.title for a in result.articles] == ["Wheat Exports Rise"]
    (problem,) = result.problems
    assert problem.source == str(deep) and problem.message.endswith("(nested too deeply)")


def test_a_number_too_long_to_read_is_one_problem_and_the_others_are_read(tmp_path):
    """Python reads no integer of over 4,300 digits: a feed holding one made `parse`,
    `preview` and `run` stop with "ValueError: Exceeds the limit (4300 digits)"."""
    long = tmp_path / "long.json"
    long.write_bytes(json_feed([{"id": "1", "title": "T", "content_text": "x"}]).replace(
        b'"id": "1"', b'"id": ' + b"9" * 5000
    ))  # fmt: skip
    good = tmp_path / "good.json"
    good.write_bytes(json_feed([{"id": "2", "title": "Wheat Exports Rise", "content_text": "x"}]))
    result = read_paths([str(long), str(good)])
    assert [a.title for a in result.articles] == ["Wheat Exports Rise"]
    (problem,) = result.problems
    assert problem.source == str(long) and "not a readable JSON Feed" in problem.message


def test_an_id_cut_inside_an_emoji_is_an_id_and_its_item_goes_out(tmp_path):
    """A script that cuts a string by UTF-16 units leaves half an emoji, which JSON escapes
    ("\\ud83d"): such an id made its item "left out: selection failed on it" (no key, no
    database row takes a lone surrogate)."""
    feed = tmp_path / "feed.json"
    feed.write_bytes(
        json_feed([{"id": "post-1 \ud83d", "title": "Snow Closes the Pass", "content_text": "x"}])
    )
    (article,) = read_paths([str(feed)]).articles
    assert article.guid == "post-1 \ufffd"
    with Store.open(":memory:", readonly=True) as store:
        selection = select([article], History(store), SelectionConfig(50, 100_000))
    assert not selection.problems and len(selection.chosen) == 1


def test_markup_where_a_feed_promises_plain_text_is_read_as_html():
    """JSON Feed's content_text is plain text, but publishers put HTML there: the entities
    reached the lead ("Tashkent&#8217;s mayor ... smog.&nbsp;The ban") and a story wrapped
    in <p> had no lead at all."""
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Wire",
        "items": [
            {
                "id": "1",
                "title": "Tashkent Bans Cars From Old City Centre",
                "content_text": "<p>Tashkent&#8217;s mayor said on Thursday that cars would be "
                "banned on Sundays.&nbsp;The ban starts in January.</p><p>Second part.</p>",
            },
            {"id": "2", "title": "Plain", "content_text": "One line.\n\nTwo < three & four."},
        ],
    }
    first, second = read_json_feed("f.json", json.dumps(feed).encode()).articles
    assert [p.text for p in first.paragraphs] == [
        "Tashkent’s mayor said on Thursday that cars would be banned on Sundays. The ban "
        "starts in January.",
        "Second part.",
    ]
    assert [p.text for p in second.paragraphs] == ["One line.", "Two < three & four."]
