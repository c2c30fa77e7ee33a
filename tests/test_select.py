"""Selection on the real pages and the shipped samples, with a real state file."""

from __future__ import annotations

import datetime as dt
import hashlib
import pickle
from dataclasses import fields, replace
from pathlib import Path

import pytest
from conftest import SAMPLE_SEEDS, page, real_pages

from digest.config import SelectionConfig
from digest.models import (
    ALREADY_SENT,
    CAPTION,
    DUPLICATE,
    NEAR_DUPLICATE,
    OVER_LIMIT,
    PROSE,
    SAME_STORY,
    TOO_OLD,
    Article,
    Paragraph,
    Selection,
)
from digest.select.choose import select, sent_records
from digest.select.sent import History
from digest.sources import read_paths
from digest.state import Store

EVERYTHING = SelectionConfig(max_articles=50, lookback_days=100_000)
ISRAEL = "Kazakhstan and Israel Deepen Cooperation in Astana"
ISRAEL_TOO = "Astana–Israel Talks Span Technology, Trade, and Holocaust Remembrance"
HARD_CASES = [
    (
        "U.S. Companies Seek Export Opportunities in Uzbekistan",
        "Uzbekistan Hosts 336 U.S. Companies",
    ),
    (
        "Kazakhstan and Turkey to Increase Agricultural Trade",
        "Uzbekistan and Turkey Set $5 Billion Trade Target at Strategic Council Meeting in Ankara",
    ),
    (
        "Coordination Instead of Declarations: Astana Hosts Meeting of Regional Contact Group on "
        "Afghanistan",
        "Border Violence Between Afghanistan and Pakistan: A New Risk for Central Asia",
    ),
]


@pytest.fixture
def store(tmp_path):
    store = Store.open(tmp_path / "state.sqlite3")
    yield store
    store.close()


def articles(*paths: Path) -> list[Article]:
    return read_paths([str(p) for p in paths]).articles


def deliver(store: Store, selection: Selection, issue_id: int) -> None:
    """What the pipeline does once an issue reached a reader."""
    store.remember(issue_id, selection.records)


def titles(selection: Selection) -> list[str]:
    return [c.article.title for c in selection.chosen]


def article(
    title: str, body: str, source: str = "test.txt", date: dt.date | None = None, **kw
) -> Article:
    paragraphs = tuple(Paragraph(p) for p in body.split("\n\n"))
    return Article(title, paragraphs, source, date=date or dt.date(2025, 12, 8), **kw)


BODY = (
    "The National Bank of Kazakhstan kept its base rate at 16.5 percent on Friday, citing "
    "persistent inflation in services and food prices across the country.\n\n"
    "Governor Timur Suleimenov said the bank expects inflation to slow to 9 percent by the "
    "end of next year, and that any cut would depend on the budget and on wages.\n\n"
    "Analysts had expected the decision, which keeps borrowing costs at their highest level "
    "since 2023 for companies that depend on bank loans."
)


# --- the real pages -------------------------------------------------------------------------


def test_real_pages_one_run_at_a_time_choose_6_5_6_0_5(store):
    chosen = []
    for issue, key in enumerate(["000", "002", "004", "001", "003"], start=1):
        selection = select(articles(page(key)), History(store), EVERYTHING)
        chosen.append(len(selection.chosen))
        deliver(store, selection, issue)
        if key == "001":
            assert {s.reason for s in selection.skipped} == {ALREADY_SENT}
            assert all(s.duplicate_of == s.article.title for s in selection.skipped)
        if key == "003":
            [skip] = selection.skipped
            assert (skip.article.title, skip.reason, skip.duplicate_of) == (
                ISRAEL_TOO,
                SAME_STORY,
                ISRAEL,
            )
            assert "Uzbekistan Hosts 336 U.S. Companies" in titles(selection)
            assert HARD_CASES[2][0] in titles(selection)
    assert chosen == [6, 5, 6, 0, 5]


def test_all_real_pages_at_once_give_22_stories_and_keep_every_hard_case(store, shared_seeds):
    selection = select(articles(*real_pages()), History(store), EVERYTHING)
    chosen = titles(selection)
    assert len(chosen) == len(set(chosen)) == 22
    for a, b in HARD_CASES:
        assert a in chosen and b in chosen
    stories = [s for s in selection.skipped if s.reason == SAME_STORY]
    assert [(s.article.title, s.duplicate_of) for s in stories] == [(ISRAEL_TOO, ISRAEL)]
    assert {s.reason for s in selection.skipped} == {SAME_STORY, DUPLICATE}
    assert len(selection.skipped) == 30 - 22


def test_newest_page_first_then_pages_by_date_in_page_order(store, shared_seeds):
    selection = select(articles(*real_pages()), History(store), EVERYTHING)
    dates = [c.article.date for c in selection.chosen]
    assert dates == sorted(dates, reverse=True)
    newest = [a.title for a in articles(page("003")) if a.title != ISRAEL_TOO]
    assert titles(selection)[:5] == newest
    # 000, 002 and 004 share a date: read order, page order within each.
    rest = titles(selection)[11:]
    expected = []
    for key in ("000", "002", "004"):
        expected += [
            a.title
            for a in articles(page(key))
            if a.title not in titles(selection)[:11] and a.title not in expected
        ]
    assert rest == expected


def test_selection_never_writes_to_the_state_file(tmp_path):
    path = tmp_path / "state.sqlite3"
    with Store.open(path) as store:
        deliver(store, select(articles(page("000")), History(store), EVERYTHING), 1)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with Store.open(path, readonly=True) as preview:
        changes = preview.db.total_changes
        selection = select(articles(page("000"), page("003")), History(preview), EVERYTHING)
        assert preview.db.total_changes == changes
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert len(selection.chosen) == 5
    assert {s.reason for s in selection.skipped} == {ALREADY_SENT, SAME_STORY}


def test_fresh_read_only_state_selects_everything(tmp_path, shared_seeds):
    with Store.open(tmp_path / "absent.sqlite3", readonly=True) as preview:
        selection = select(articles(page("000")), History(preview), EVERYTHING)
    assert len(selection.chosen) == 6
    assert not (tmp_path / "absent.sqlite3").exists()


# --- the shipped samples --------------------------------------------------------------------


def test_shipped_samples_merge_repeat_edit_excerpt_and_story_but_not_the_hard_negative(store):
    pages = sorted(SAMPLE_SEEDS.glob("*.txt"))
    selection = select(articles(*pages), History(store), SelectionConfig(50, 7))
    skipped = {
        (s.article.source.rsplit("/", 1)[-1], s.article.title): (s.reason, s.duplicate_of)
        for s in selection.skipped
    }
    hydro = "Kyrgyzstan Opens Tender for Small Hydropower Plants on the Naryn"
    drip = "Kazakhstan Launches Subsidised Drip Irrigation Drive in Turkistan Region"
    rail = "Uzbekistan and Turkmenistan Sign $185 Million Rail Deal in Ashgabat"
    assert skipped[("2025-11-04_front.txt", hydro)] == (DUPLICATE, hydro)
    # The listing page's excerpt loses to the full article, which takes its place.
    assert skipped[("2025-11-07_front.txt", drip)] == (NEAR_DUPLICATE, drip)
    assert skipped[("2025-11-06_front.txt", rail)] == (
        SAME_STORY,
        "Farap Freight Hub to Anchor New Uzbek–Turkmen Transit Push",
    )
    rogun = [k for k in skipped if k[1].startswith("Tajikistan Raises Rogun")]
    assert len(rogun) == 1 and skipped[rogun[0]][0] == NEAR_DUPLICATE
    assert len(selection.chosen) == 29 - 4
    chosen = titles(selection)
    assert "Kazakhstan Ships First Block Train of Wheat to Xi’an Under New Grain Deal" in chosen
    assert "Kazakhstan and China Expand Copper and Electric Vehicle Parts Trade" in chosen
    drip_chosen = next(c.article for c in selection.chosen if c.article.title == drip)
    assert not drip_chosen.excerpt
    # The full article sits where the excerpt was: the 7 November page, before its 6 Nov one.
    assert chosen.index(drip) < chosen.index(
        "Astana Hosts Central Asian Water Ministers Ahead of Aral Sea Summit"
    )


# --- duplicates -----------------------------------------------------------------------------


def test_exact_copy_differs_only_in_case_quotes_and_whitespace(store):
    original = article("Bank Keeps Rate at 16.5%", BODY)
    copy = article(
        "BANK KEEPS RATE AT 16.5%",
        BODY.replace("  ", " ").replace("'", "’").replace(". ", ".\n   "),
        source="other.txt",
    )
    selection = select([original, copy], History(store), EVERYTHING)
    assert titles(selection) == ["Bank Keeps Rate at 16.5%"]
    assert [(s.reason, s.duplicate_of) for s in selection.skipped] == [
        (DUPLICATE, "Bank Keeps Rate at 16.5%")
    ]
    deliver(store, selection, 1)
    again = select([copy], History(store), EVERYTHING)
    assert [(s.reason, s.duplicate_of) for s in again.skipped] == [
        (ALREADY_SENT, "Bank Keeps Rate at 16.5%")
    ]


def test_an_update_under_a_sent_guid_of_the_same_feed_or_a_sent_url_is_already_sent(store):
    feed = "https://example.com/rss.xml"
    sent = article(
        "Rate Decision",
        BODY,
        source=feed,
        guid="urn:example:1",
        url="https://www.example.com/news/rate/?utm_source=x",
    )
    store.remember(1, sent_records([[sent]]))
    rewritten = "Completely different words about another matter entirely, for the test."
    by_guid = article("Rate Decision Updated", rewritten, source=feed, guid="urn:example:1")
    by_url = article(
        "Rate Decision (Update)", rewritten + " More.", url="http://example.com/news/rate#top"
    )
    for item in (by_guid, by_url):
        selection = select([item], History(store), EVERYTHING)
        assert not selection.chosen
        assert [(s.reason, s.duplicate_of) for s in selection.skipped] == [
            (ALREADY_SENT, "Rate Decision")
        ]


def test_a_sent_guid_means_nothing_in_another_feed_or_for_an_unrelated_text(store):
    sent = article("Rate Decision", BODY, source="https://a.example/rss.xml", guid="item-1")
    store.remember(1, sent_records([[sent]]))
    other = "Completely different words about another matter entirely, for the test."
    other_feed = article(
        "Snow Closes Passes", other, source="https://b.example/rss.xml", guid="item-1"
    )
    reused = article("Snow Closes Passes", other, source="https://a.example/rss.xml", guid="item-1")
    for item in (other_feed, reused):
        selection = select([item], History(store), EVERYTHING)
        assert [c.article.title for c in selection.chosen] == ["Snow Closes Passes"]


def test_changed_copy_of_a_sent_article_is_a_near_duplicate_of_it(store):
    store.remember(1, sent_records([[article("Bank Keeps Rate at 16.5%", BODY)]]))
    changed = article(
        "Kazakhstan Holds Rate",
        BODY.replace("Friday", "Friday afternoon") + "\n\nFollow us on Telegram for more news.",
    )
    selection = select([changed], History(store), EVERYTHING)
    assert [(s.reason, s.duplicate_of, s.relation) for s in selection.skipped] == [
        (ALREADY_SENT, "Bank Keeps Rate at 16.5%", NEAR_DUPLICATE)
    ]


def test_fuller_copy_wins_and_takes_the_first_copys_place(store):
    words = BODY.split()
    teaser = article("Bank Keeps Rate", " ".join(words[:40]) + "...", excerpt=True)
    other = article(
        "Other News",
        "Tajikistan opened a new bridge over the Panj river on "
        "Monday, linking two districts that were cut off every spring by floods.",
    )
    full = article("Bank Keeps Rate at 16.5%", BODY)
    selection = select([teaser, other, full], History(store), EVERYTHING)
    assert titles(selection) == ["Bank Keeps Rate at 16.5%", "Other News"]
    assert [(s.article.title, s.reason, s.duplicate_of) for s in selection.skipped] == [
        ("Bank Keeps Rate", NEAR_DUPLICATE, "Bank Keeps Rate at 16.5%")
    ]


# --- window, cap, order --------------------------------------------------------------------


def test_lookback_counts_back_from_the_newest_article_or_as_of(store):
    day = dt.date(2025, 12, 8)
    a = [
        article(f"Story {n}", text, date=day - dt.timedelta(days=n))
        for n, text in enumerate(
            [
                "Wheat prices rose in Kostanay.",
                "A new museum opened in Khiva on Sunday.",
                "Floods closed the road to Osh.",
                "The Caspian ferry timetable changed again.",
                "Students in Dushanbe won a robotics prize.",
            ]
        )
    ]
    undated = replace(
        article("Undated", "A story without any date at all, kept as new."), date=None
    )
    config = SelectionConfig(max_articles=50, lookback_days=2)
    selection = select([*a, undated], History(store), config)
    assert titles(selection) == ["Story 0", "Undated", "Story 1", "Story 2"]
    assert [(s.article.title, s.reason) for s in selection.skipped] == [
        ("Story 3", TOO_OLD),
        ("Story 4", TOO_OLD),
    ]
    selection = select(a, History(store), config, as_of=day - dt.timedelta(days=2))
    assert titles(selection) == ["Story 0", "Story 1", "Story 2", "Story 3", "Story 4"]
    assert selection.skipped == []
    selection = select(a, History(store), config, as_of=day + dt.timedelta(days=1))
    assert titles(selection) == ["Story 0", "Story 1"]


def test_max_articles_keeps_the_first_and_skips_the_rest_as_over_limit(store, shared_seeds):
    selection = select(
        articles(page("000")),
        History(store),
        SelectionConfig(max_articles=4, lookback_days=100_000),
    )
    page_titles = [a.title for a in articles(page("000"))]
    assert titles(selection) == page_titles[:4]
    assert [(s.article.title, s.reason, s.duplicate_of) for s in selection.skipped] == [
        (t, OVER_LIMIT, None) for t in page_titles[4:]
    ]


def test_nothing_to_select(store):
    assert select([], History(store), EVERYTHING) == Selection([], [])


def test_candidates_pickle_as_they_are_and_as_pickled_before_slots():
    """Candidates cross to worker processes pickled; pickles made before Article and
    Paragraph had slots hold a dict of fields, and still load."""
    article = Article(
        "Grain exports rise",
        (Paragraph("Wheat exports rose 12% on Monday.", line=3), Paragraph("Photo", CAPTION)),
        "feed.xml",
        date=dt.date(2026, 3, 2),
        url="https://example.com/a",
    )
    assert pickle.loads(pickle.dumps(article)) == article
    older = Article.__new__(Article)
    older.__setstate__(
        {
            "title": article.title,
            "paragraphs": tuple(
                _older_paragraph(p.text, p.kind, p.line) for p in article.paragraphs
            ),
            **{
                k: getattr(article, k)
                for k in Article.__slots__
                if k not in ("title", "paragraphs")
            },
        }
    )
    assert older == article
    before_untitled = Article.__new__(Article)  # a list of the fields before `untitled`
    before_untitled.__setstate__([getattr(article, f.name) for f in fields(Article)][:-1])
    assert before_untitled == article and before_untitled.untitled is False
    with pytest.raises(ValueError):
        Article.__new__(Article).__setstate__(
            [*(getattr(article, f.name) for f in fields(Article)), 1]
        )
    with_slots = Paragraph.__new__(Paragraph)  # slots, the text still a str
    with_slots.__setstate__(["Wheat exports rose 12% on Monday.", PROSE, 3])
    assert with_slots == article.paragraphs[0]


def test_paragraph_text_comes_back_as_written():
    """Paragraphs hold their text as UTF-8; what comes back is what went in, quotes, Cyrillic
    and a lone surrogate (arbitrary feed text can carry one) included."""
    for text in ("\u201cWe agreed,\u201d he said.", "Курс тенге вырос", "a\ud800b", ""):
        p = Paragraph(text, CAPTION, 7)
        assert (p.text, p.kind, p.line) == (text, CAPTION, 7)
        assert pickle.loads(pickle.dumps(p)) == p
        assert eval(repr(p)) == p
    article = Article(
        "T", (Paragraph("\u201cOne\u201d"), Paragraph("x", CAPTION), Paragraph("две")), "f"
    )
    assert article.text == "\u201cOne\u201d\n\nдве"
    assert article.body_utf8 == article.text.encode()


def _older_paragraph(text: str, kind: str, line: int | None) -> Paragraph:
    p = Paragraph.__new__(Paragraph)
    p.__setstate__({"text": text, "kind": kind, "line": line})
    return p
