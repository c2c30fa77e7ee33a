"""The readers on real input: the five real front pages, the shipped samples, RSS and Atom."""

from __future__ import annotations

import codecs
import datetime as dt
import http.server
import json
import os
import threading
from decimal import Decimal

import pytest
from conftest import FIXTURES, SAMPLE_SEEDS, page
from loopback import free_port

from digest.config import SelectionConfig
from digest.models import BULLET, CAPTION, CHROME, PROSE, QUESTION
from digest.select.choose import select
from digest.select.sent import History
from digest.sources import MAX_FILE_BYTES, read_paths
from digest.sources.feed import read_feed
from digest.sources.snapshot import paragraph_kind
from digest.state.store import Store
from digest.summarize import is_chrome

REAL_PAGES = {
    "000": (
        "2025-12-08",
        [
            "Tajikistan Intends To Expand Production of Armored Vehicles and Special Equipment",
            "UNICEF: Central Asia Must Work To Keep Children Out Of Alternative Care",
            "Uzbekistan and Kazakhstan Explore Use of ID Cards at Border Crossings",
            "U.S. Companies Seek Export Opportunities in Uzbekistan",
            "Thai Company to Build Fish-Processing Plant in Kazakhstan",
            "USAID Modernizes Kazakhstan’s Customs System",
        ],
    ),
    "001": (
        "2025-12-11",
        [
            "Uzbekistan and Kazakhstan Explore Use of ID Cards at Border Crossings",
            "U.S. Companies Seek Export Opportunities in Uzbekistan",
            "Thai Company to Build Fish-Processing Plant in Kazakhstan",
            "USAID Modernizes Kazakhstan’s Customs System",
            "Why Kyrgyzstan and China Are Reporting Different Figures on Bilateral Trade",
            "Unveiling the Magic: Behind the Scenes of “Baikonur”",
        ],
    ),
    "002": (
        "2025-12-08",
        [
            "USAID Modernizes Kazakhstan’s Customs System",
            "Why Kyrgyzstan and China Are Reporting Different Figures on Bilateral Trade",
            "Unveiling the Magic: Behind the Scenes of “Baikonur”",
            "Kazakhstan and Turkey to Increase Agricultural Trade",
            "Balancing Regional Integration Amid Global Rivalries",
            "A Guy From the Bronx and His Contribution to Uzbekistan’s Boxing Gold",
        ],
    ),
    "003": (
        "2026-02-21",
        [
            "Coordination Instead of Declarations: Astana Hosts Meeting of Regional Contact Group "
            "on Afghanistan",
            "Uzbekistan and Turkey Set $5 Billion Trade Target at Strategic Council Meeting in Ankara",
            "Kazakhstan and Israel Deepen Cooperation in Astana",
            "Astana–Israel Talks Span Technology, Trade, and Holocaust Remembrance",
            "Uzbekistan Hosts 336 U.S. Companies",
            "Japan Steps Out of the Shadows With First Central Asia Leaders’ Summit",
        ],
    ),
    "004": (
        "2025-12-08",
        [
            "Kazakhstan’s Development Bank Launches $1 Billion Program for Rare Earth Metals "
            "Processing",
            "Border Violence Between Afghanistan and Pakistan: A New Risk for Central Asia",
            "Inside Uzbekistan’s Regional Defense Strategy: An In-Depth Interview with Michael "
            "Hilliard",
            "UNESCO Conference in Samarkand Highlights Uzbekistan’s Heritage",
            "Kazakhstan to Block Foreign Marketplaces for Unpaid Taxes",
            "Uzbekistan Sends Over 20 Crop Varieties to Global Seed Vault in Norway",
        ],
    ),
}
PAIRS = ["KGS/USD", "KZT/USD", "TJS/USD", "UZS/USD", "TMT/USD"]


def read_page(key: str):
    result = read_paths([str(page(key))])
    assert result.problems == []
    return result


def by_title(result, start: str):
    return next(a for a in result.articles if a.title.startswith(start))


@pytest.mark.parametrize("key", sorted(REAL_PAGES))
def test_real_page_titles_dates_and_rates_are_exact(key):
    date, titles = REAL_PAGES[key]
    result = read_page(key)
    assert [a.title for a in result.articles] == titles
    assert {a.date.isoformat() for a in result.articles} == {date}
    assert [q.pair for q in result.rates] == PAIRS  # each pair once, in ticker order
    assert all(q.date.isoformat() == date for q in result.rates)
    for article in result.articles:
        assert article.text.strip(), article.title
        lines = page(key).read_text(encoding="utf-8").splitlines()
        assert lines[article.line - 1] == article.title  # `line` is the title's own line
        assert "\n\n" in article.text or len(article.prose) == 1


def test_all_real_pages_give_thirty_articles_with_twenty_three_titles(shared_seeds):
    result = read_paths(sorted(str(p) for p in shared_seeds.glob("*.txt")))
    assert len(result.articles) == 30
    assert len({a.title for a in result.articles}) == 23
    assert len(result.rates) == 25


def test_ticker_repeats_collapse_and_the_first_unindented_line_counts():
    result = read_page("000")
    first = result.rates[0]
    assert (first.pair, first.rate, first.line) == ("KGS/USD", Decimal("0.01144"), 1)
    text = page("000").read_text(encoding="utf-8")
    assert text.count("KGS/USD") > 1  # the page repeats its ticker ...
    assert len(result.rates) == 5  # ... and each pair is kept once


def test_minus_zero_change_keeps_its_sign():
    result = read_page("000")
    kzt = next(q for q in result.rates if q.pair == "KZT/USD")
    kgs = next(q for q in result.rates if q.pair == "KGS/USD")
    assert kzt.change_pct == 0 and kzt.change_pct.is_signed()
    assert not kgs.change_pct.is_signed()
    tjs = next(q for q in read_page("003").rates if q.pair == "TJS/USD")
    assert tjs.change_pct == Decimal("-0.19")


RUSSIAN_PAGE = """\
• KGS/USD = 0.01144 0%
  • KZT/USD = 0.00196 -0.12%
{date}

Таджикистан намерен расширить производство бронетехники

Таджикская компания Sipar Group планирует расширить производство бронированных автомобилей \
на своем заводе в г. Турсунзаде. Проект реализуется с привлечением инвестиций в $15 млн.

ЮНИСЕФ: страны Центральной Азии должны сократить число детей в интернатах

Около 60 тыс. детей в пяти странах Центральной Азии по-прежнему находятся в интернатах, \
говорится в новом докладе ЮНИСЕФ.
"""


@pytest.mark.parametrize("date", ["05 декабря 2025", "5 дек. 2025 г.", "5 декабря 2025 года"])
def test_a_page_dated_in_russian_keeps_its_date_titles_and_rate_table(tmp_path, date):
    # Its date was read as the first title (the real first title then "could be a title
    # too"), the articles were undated and the rates had no page date: no rate table at all.
    snapshot = tmp_path / "2025-12-05.txt"
    snapshot.write_text(RUSSIAN_PAGE.format(date=date), encoding="utf-8")
    result = read_paths([str(snapshot)])
    assert result.problems == []
    assert [a.title for a in result.articles] == [
        "Таджикистан намерен расширить производство бронетехники",
        "ЮНИСЕФ: страны Центральной Азии должны сократить число детей в интернатах",
    ]
    assert {a.date for a in result.articles} == {dt.date(2025, 12, 5)}
    assert {q.date for q in result.rates} == {dt.date(2025, 12, 5)}


def test_a_ticker_written_with_decimal_commas_reads_its_figures(tmp_path):
    """A page that writes its rates as Russian does, "KZT/USD = 0,00200 0%": the comma was
    taken for a thousands separator, the quote read as 200, and the strip told readers that a
    dollar buys "≈ 0.0050" tenge. A comma is a decimal comma unless it groups thousands
    ("1,262.5", "12,500"); "-0,19%" reads too (it was an unreadable quote)."""
    ticker = (
        "• KGS/USD = 0,01143 0%\n  • KZT/USD = 0,00200 0%\n  • TJS/USD = 0,10593 −0,19%\n"
        "  • XAU/USD = 2,650.12 1.10%\n  • BTC/USD = 97,250 0%\n"
    )
    snapshot = tmp_path / "2025-12-05.txt"
    snapshot.write_text(ticker + RUSSIAN_PAGE.split("\n", 2)[2].format(date="5 декабря 2025"))
    result = read_paths([str(snapshot)])
    assert result.problems == []
    assert [(q.pair, q.rate, q.change_pct) for q in result.rates] == [
        ("KGS/USD", Decimal("0.01143"), 0),
        ("KZT/USD", Decimal("0.00200"), 0),
        ("TJS/USD", Decimal("0.10593"), Decimal("-0.19")),
        ("XAU/USD", Decimal("2650.12"), Decimal("1.10")),
        ("BTC/USD", Decimal("97250"), 0),
    ]


def test_a_rate_with_three_decimals_and_a_decimal_comma_change_is_no_thousands(tmp_path):
    """ "EUR/USD = 1,085 +0,12%" on a page writing Russian figures read as 1085 dollars a euro
    (the comma grouped thousands, as in "97,250"), with no problem: its change's decimal
    comma says the rate's is one too."""
    ticker = "• KZT/USD = 0,00196 +0,12%\n  • EUR/USD = 1,085 +0,12%\n  • GBP/USD = 1,270 −0,05%\n"
    snapshot = tmp_path / "2025-12-05.txt"
    snapshot.write_text(ticker + RUSSIAN_PAGE.split("\n", 2)[2].format(date="5 декабря 2025"))
    result = read_paths([str(snapshot)])
    assert result.problems == []
    assert [(q.pair, q.rate, q.change_pct) for q in result.rates] == [
        ("KZT/USD", Decimal("0.00196"), Decimal("0.12")),
        ("EUR/USD", Decimal("1.085"), Decimal("0.12")),
        ("GBP/USD", Decimal("1.270"), Decimal("-0.05")),
    ]


ENGLISH_PAGE = """\
{date}

Kazakhstan Opens New Wind Farm Near Almaty

The 100 MW wind farm near Almaty began supplying power to the regional grid on Friday, the \
energy ministry said.

Uzbekistan Launches Metro Line in Tashkent

A new metro line connecting the northern districts of Tashkent opened to passengers on \
Friday, the city administration said.
"""


@pytest.mark.parametrize(
    "date", ["Dec. 5, 2025", "Sept. 5, 2025", "Sept 5, 2025", "December 5, 2025", "5 Dec 2025"]
)
def test_a_page_dated_as_newspapers_write_it_is_read(tmp_path, date):
    """A page dated "Dec. 5, 2025" (AP style) was "not a page snapshot": nothing read. The
    month before the day was read by strptime's own English names, the day before the month
    by text.MONTHS; both now read the month by text.MONTHS."""
    snapshot = tmp_path / "page.txt"
    snapshot.write_text(ENGLISH_PAGE.format(date=date), encoding="utf-8")
    result = read_paths([str(snapshot)])
    assert result.problems == []
    assert [a.title for a in result.articles] == [
        "Kazakhstan Opens New Wind Farm Near Almaty",
        "Uzbekistan Launches Metro Line in Tashkent",
    ]
    month = 9 if date.startswith("Sept") else 12
    assert {a.date for a in result.articles} == {dt.date(2025, month, 5)}


@pytest.mark.parametrize(
    "date",
    [
        "Friday, 5 December 2025",
        "Friday, December 5, 2025",
        "Fri, 5 Dec 2025",
        "Fri. Dec. 5, 2025",
        "пятница, 5 декабря 2025",
        "Пт, 5 декабря 2025",
        "пт. 5 декабря 2025 г.",
    ],
)
def test_a_page_dated_with_its_weekday_is_read(tmp_path, date):
    """A page dated as most sites' headers write it, "Friday, 5 December 2025", lost its date
    and its first article: the date line was taken for a title and the first real title for
    a paragraph under it, so the digest showed a headline "Friday, 5 December 2025"."""
    snapshot = tmp_path / "page.txt"
    snapshot.write_text(ENGLISH_PAGE.format(date=date), encoding="utf-8")
    result = read_paths([str(snapshot)])
    assert result.problems == []
    assert [a.title for a in result.articles] == [
        "Kazakhstan Opens New Wind Farm Near Almaty",
        "Uzbekistan Launches Metro Line in Tashkent",
    ]
    assert {a.date for a in result.articles} == {dt.date(2025, 12, 5)}


@pytest.mark.parametrize(
    "pointer",
    [
        "Related: Uzbekistan Plants 2 Million Saxaul Seedlings on the Dried Aral Seabed",
        "ALSO READ: Uzbekistan Plants 2 Million Saxaul Seedlings",
        "Read also \u2014 Uzbekistan Plants 2 Million Saxaul Seedlings",
        "See Also: Uzbekistan Plants 2 Million Saxaul Seedlings",
        "Related Story: Uzbekistan Plants 2 Million Saxaul Seedlings",
        "Читайте также: Узбекистан Сажает Саксаул",
    ],
)
def test_a_pointer_to_another_story_is_chrome_not_a_title(tmp_path, pointer):
    """ "Related: <another story's headline>" under an article's last paragraph was read as a
    title, and the next article ("Tajik Parliament Approves 2026 Budget" and its text) as its
    paragraphs: that article was lost, and once the story named was sent, the whole of it
    was "already-sent"."""
    result = read_paths([_two_articles_around(tmp_path, pointer)])
    assert [a.title for a in result.articles] == TWO_TITLES
    assert "Saxaul" not in result.articles[0].text and "Сакс" not in result.articles[0].text
    assert result.problems == []


@pytest.mark.parametrize(
    "furniture",
    [
        "Tags: Kazakhstan, Energy, Wind Power",
        "Follow Us on Telegram",
        "Subscribe to Our Newsletter",
        "Comments (3)",
        "Share on Facebook",
        "Latest News",
        "Editor\u2019s Pick",
        "You May Also Like",
        "Next: Tajik Parliament Approves 2026 Budget",
        "Author: Jane Doe",
        "Views: 1,245",
        "Updated 5 December 2025, 14:05",
        "12 November 2025 | 14:05",
        "Главные Новости",
    ],
)
def test_the_pages_furniture_between_articles_is_no_title(tmp_path, furniture):
    """The same loss through a line of the page's own furniture in title case: "Follow Us on
    Telegram" was the next article's title, the real one a paragraph of it."""
    result = read_paths([_two_articles_around(tmp_path, furniture)])
    assert [a.title for a in result.articles] == TWO_TITLES
    assert furniture not in result.articles[0].text


TWO_TITLES = [
    "Karakalpakstan Opens Its First Desert Research Station",
    "Tajik Parliament Approves 2026 Budget",
]


def _two_articles_around(tmp_path, line: str) -> str:
    """A page of two articles with `line` after the first one's last paragraph."""
    snapshot = tmp_path / "page.txt"
    snapshot.write_text(
        "12 November 2025\n\nKarakalpakstan Opens Its First Desert Research Station\n\n"
        "Uzbekistan opened its first desert research station in Karakalpakstan on Tuesday, "
        "near Muynak, the ecology ministry said.\n\n"
        f"{line}\n\nTajik Parliament Approves 2026 Budget\n\n"
        "Tajikistan\u2019s lower house of parliament approved the 2026 state budget on "
        "Wednesday, with spending up 14% from this year.\n",
        encoding="utf-8",
    )
    return str(snapshot)


@pytest.mark.parametrize("date, day", [("Tues., Dec. 2, 2025", 2), ("Thurs. Dec. 4, 2025", 4)])
def test_a_page_dated_with_an_ap_style_weekday_is_read(tmp_path, date, day):
    """AP style cuts Tuesday and Thursday after four or five letters ("Tues.", "Thurs."): only
    "Tue" and "Thu" were read past, so such a page still led with its date as a headline."""
    snapshot = tmp_path / "page.txt"
    snapshot.write_text(ENGLISH_PAGE.format(date=date), encoding="utf-8")
    result = read_paths([str(snapshot)])
    assert result.problems == []
    assert [a.title for a in result.articles] == [
        "Kazakhstan Opens New Wind Farm Near Almaty",
        "Uzbekistan Launches Metro Line in Tashkent",
    ]
    assert {a.date for a in result.articles} == {dt.date(2025, 12, day)}


def test_non_breaking_space_lines_are_spacers_not_paragraphs():
    article = by_title(read_page("001"), "Unveiling the Magic")
    assert all(p.text.strip() for p in article.paragraphs)
    assert "\u00a0" not in article.text


def test_image_captions_and_credits_are_kept_out_of_the_body():
    baikonur = by_title(read_page("001"), "Unveiling the Magic")
    captions = [p.text for p in baikonur.paragraphs if p.kind == CAPTION]
    assert len(captions) == 4 and all(c.startswith("Still from the film") for c in captions)
    assert "image: Veit Helmer" not in baikonur.text
    bronx = by_title(read_page("002"), "A Guy From the Bronx")
    assert [p.text for p in bronx.paragraphs if p.kind == CAPTION] == [
        "Sketch of Sidney Jackson by Rifkat Azihanov"
    ]
    interview = by_title(read_page("004"), "Inside Uzbekistan")
    assert [p.text for p in interview.paragraphs if p.kind == CAPTION] == [
        "Map of major ground force brigades, under the command of Southwest Special Military "
        "District"
    ]


def test_the_leads_leave_out_what_the_readers_call_captions_and_questions():
    """One grammar of captions and of interviewers' lines (digest/text.py) for the readers,
    which keep them out of the text, and the leads, which keep them out of a lead: here on
    the real pages, and on Meduza's photo credit ("Фото в анонсе: ...")."""
    tagged = [
        p.text
        for key in ("001", "002", "004")
        for a in read_page(key).articles
        for p in a.paragraphs
        if p.kind in (CAPTION, QUESTION)
    ]
    assert len(tagged) >= 19 and all(is_chrome(text) for text in tagged)
    meduza = json.loads((FIXTURES / "languages" / "ru_news.json").read_text(encoding="utf-8"))
    credit = next(p for a in meduza for p in a["paragraphs"] if p.startswith("Фото в анонсе"))
    assert paragraph_kind(credit) == CAPTION and is_chrome(credit)


def test_interview_questions_are_tagged_and_answers_are_prose():
    interview = by_title(read_page("004"), "Inside Uzbekistan")
    questions = [p.text for p in interview.paragraphs if p.kind == QUESTION]
    assert len(questions) == 13 and all(q.startswith("TCA: ") for q in questions)
    answers = [p for p in interview.paragraphs if p.text.startswith("Hilliard: ")]
    assert answers and all(p.kind == PROSE for p in answers)


def test_bullet_and_numbered_lists_are_tagged():
    unicef = by_title(read_page("000"), "UNICEF")
    numbered = [p.text for p in unicef.paragraphs if p.kind == BULLET]
    assert len(numbered) == 7 and numbered[0].startswith("1. Implement")
    unesco = by_title(read_page("004"), "UNESCO")
    bullets = [p.text for p in unesco.paragraphs if p.kind == BULLET]
    assert len(bullets) == 6 and all(b.startswith("• ") for b in bullets)


def test_listing_chrome_and_excerpts_on_the_listing_page():
    result = read_page("003")
    assert all(
        "Viewing results" not in a.text and "Viewing results" not in a.title
        for a in result.articles
    )
    # A listing page shows teasers, also those cut at a full stop ("Uzbekistan Hosts 336 ...").
    assert all(a.excerpt for a in result.articles)
    assert not any(a.excerpt for a in read_page("000").articles)
    assert all(len(a.prose) == 1 for a in result.articles)


def test_click_here_footers_are_chrome():
    baikonur = by_title(read_page("002"), "Unveiling the Magic")
    chrome = [p.text for p in baikonur.paragraphs if p.kind == CHROME]
    assert any("click here" in c for c in chrome)
    assert any(c.startswith("Find out more about") for c in chrome)
    assert "click here" not in baikonur.text


def test_first_paragraph_without_full_stop_is_not_a_title():
    trade = by_title(read_page("002"), "Kazakhstan and Turkey to Increase Agricultural Trade")
    assert trade.prose[0].startswith("During Kazakh Minister of Agriculture")
    assert len(trade.prose) == 6


def test_shipped_samples_read_without_problems():
    pages = sorted(SAMPLE_SEEDS.glob("*.txt"))
    assert len(pages) >= 4
    result = read_paths([str(p) for p in pages])
    assert result.problems == []
    dates = {a.date for a in result.articles}
    assert len(dates) >= 4
    for p in pages:
        one = read_paths([str(p)])
        assert [q.pair for q in one.rates] == PAIRS
        assert len(one.articles) >= 5
    rates_by_page = [tuple(q.rate for q in read_paths([str(p)]).rates) for p in pages]
    assert len(set(rates_by_page)) > 1  # the rates move between pages


# --- feeds ----------------------------------------------------------------------------------


def test_rss_entries_become_articles_with_text_paragraphs():
    result = read_paths([str(FIXTURES / "feeds" / "rss.xml")])
    assert result.problems == []
    metro, water = result.articles
    assert metro.title == "Almaty Opens Second Metro Line to Passengers"
    assert metro.prose == (
        "Almaty opened the first four stations of its second metro line on Monday, adding 6.2 "
        "kilometres to the network.",
        "City officials said the line will carry 60,000 passengers a day & cut travel times to "
        "the airport.",
    )
    # the closing "Read more" link says the entry is an excerpt: gone, and marked
    assert [p.kind for p in metro.paragraphs] == [PROSE, PROSE, CAPTION]
    assert metro.excerpt
    assert metro.published == dt.datetime(2025, 11, 3, 3, 15, tzinfo=dt.UTC)
    assert metro.published.tzinfo is not None
    assert (metro.guid, metro.url) == (
        "steppewire-1001",
        "https://steppewire.example/2025/11/almaty-metro",
    )
    assert water.title == "Dushanbe Hosts Water Conference <Day 2>"  # text, shown literally
    assert "alert" not in water.text and "<script" not in water.text


@pytest.mark.parametrize(
    "link",
    ["http://[broken/2025/11/almaty-metro", "javascript:alert(1)", "mailto:desk@example.com"],
)
def test_an_entry_whose_link_is_no_web_address_has_no_link_and_loses_nothing(tmp_path, link):
    """One rule says what a web address is (text.is_web_url): a link that is none, even one
    urllib cannot read, leaves its entry without a link and the feed whole."""
    rss = (FIXTURES / "feeds" / "rss.xml").read_text(encoding="utf-8")
    broken = tmp_path / "broken.xml"
    real = "https://steppewire.example/2025/11/almaty-metro"
    broken.write_text(rss.replace(real, link), encoding="utf-8")
    result = read_paths([str(broken)])
    assert result.problems == []
    metro, water = result.articles
    assert metro.url is None and metro.title.startswith("Almaty Opens")
    assert water.url == "https://steppewire.example/2025/11/water"


def test_a_feeds_title_name_and_paragraphs_are_one_line_each(tmp_path):
    """Feeds wrap long titles and paragraphs over lines and carry invisible characters: the
    readers keep each as one line of text by the rule the digest shows it by (text.clean_text),
    so the JSON and the e-mail say the same."""
    rss = (FIXTURES / "feeds" / "rss.xml").read_text(encoding="utf-8")
    title = "Almaty Opens Second Metro Line to Passengers"
    wrapped = rss.replace(title, "Almaty Opens Second\n      Metro Line to Pas\u00adsengers\u200b")
    wrapped = wrapped.replace("on Monday, adding", "on Monday,\n        adding")
    assert wrapped.count("\n      ") > rss.count("\n      ")
    feed = tmp_path / "wrapped.xml"
    feed.write_text(wrapped, encoding="utf-8")
    metro = read_paths([str(feed)]).articles[0]
    assert metro.title == title
    assert metro.prose[0].startswith("Almaty opened the first four stations of its second metro")
    assert "on Monday, adding 6.2" in metro.prose[0]


def test_atom_entries_with_lists_and_summaries():
    result = read_paths([str(FIXTURES / "feeds" / "atom.xml")])
    gas, budget = result.articles
    assert gas.published == dt.datetime(2025, 11, 5, 6, 30, tzinfo=dt.UTC)
    assert [p.kind for p in gas.paragraphs] == [PROSE, BULLET, BULLET]
    assert gas.guid == "tag:ledger.example,2025:gas-deal"
    assert budget.excerpt


def test_truncated_feed_keeps_what_it_read_and_names_the_line():
    result = read_paths([str(FIXTURES / "feeds" / "truncated.xml")])
    (problem,) = result.problems
    assert problem.source.endswith("truncated.xml") and problem.line
    assert "not well-formed" in problem.message


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
        (b"08 December 2025\n\nTitle Here\n\nCaf\xe9 text.\n", "not UTF-8"),
        (b"Just some notes I wrote.\nNothing else here.\n", "not a page snapshot"),
        (b"\xe2\x80\xa2 KGS/USD = 0.01144 0%\n08 December 2025\n", "no articles"),
    ],
)
def test_bad_files_give_one_problem_naming_the_file(tmp_path, content, expected):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    result = read_paths([str(bad)])
    assert len(result.problems) == 1
    assert str(bad) in str(result.problems[0]) and expected in str(result.problems[0])
    assert result.articles == []


def test_invalid_utf8_problem_names_the_line(tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"08 December 2025\n\nTitle Here\n\nCaf\xe9 text.\n")
    (problem,) = read_paths([str(bad)]).problems
    assert problem.line == 5


STRAY_PAGE = (
    "08 December 2025\n\nKazakhstan\u2019s Wheat Exports Rise to a Record\n\n"
    "Kazakhstan\u2019s grain exporters shipped 1.2 million tonnes in October, the ministry "
    "said. \u201cIt is a record,\u201d a trader in Astana said.\n\n"
    "Tashkent Opens a New Metro Line to the North\n\n"
    "The new line links the northern districts \u2013 about 12 km \u2013 to the centre, the "
    "city\u2019s officials said on Monday.\n"
).encode()
# One Windows-1252 apostrophe pasted into an otherwise UTF-8 text (line 5 of the page)
STRAY = STRAY_PAGE.replace(b"the ministry said", b"the ministry\x92s office said")


def test_a_stray_windows_1252_byte_in_a_utf8_page_is_read_not_the_page_lost(tmp_path):
    """One pasted Windows-1252 quote in a UTF-8 page lost the whole page ("not UTF-8 text").
    UTF-8 that its other non-ASCII characters prove is read as UTF-8, the stray byte as
    Windows-1252, with a problem naming its line."""
    path = tmp_path / "page.txt"
    path.write_bytes(STRAY)
    result = read_paths([str(path)])
    assert [a.title for a in result.articles] == [
        "Kazakhstan\u2019s Wheat Exports Rise to a Record",
        "Tashkent Opens a New Metro Line to the North",
    ]
    assert "the ministry\u2019s office said" in result.articles[0].text
    (problem,) = result.problems
    assert problem.line == 5 and "0x92" in problem.message and "Windows-1252" in problem.message


@pytest.mark.parametrize(
    "content_type", [None, "application/rss+xml; charset=utf-8", "text/xml; charset=ISO-8859-1"]
)
def test_a_stray_windows_1252_byte_in_a_utf8_feed_leaves_the_rest_utf8(tmp_path, content_type):
    """feedparser read such a feed as ISO-8859-1: the entry's text showed
    "Kazakhstan\u00e2\u20ac\u2122s grain exporters" (mojibake) to readers. A server's
    charset=ISO-8859-1 (Apache's site-wide default) did the same."""
    page_text = STRAY.decode("utf-8", "surrogateescape").split("\n\n")
    item = (
        f"<item><title>{page_text[1]}</title><link>https://x.example/1</link>"
        f"<description>{page_text[2]}</description></item>"
    )
    feed = tmp_path / "stray.xml"
    feed.write_bytes(
        (
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>News</title><link>https://x.example/</link>\n{item}\n</channel></rss>\n"
        ).encode("utf-8", "surrogateescape")
    )
    result = read_feed(str(feed), feed.read_bytes(), content_type)
    (article,) = result.articles
    assert article.text.startswith("Kazakhstan\u2019s grain exporters")
    assert "the ministry\u2019s office said" in article.text and "\u00e2" not in article.text
    problem = next(p for p in result.problems if "0x92" in p.message)
    assert problem.line == 3 and "0x92" in problem.message and "Windows-1252" in problem.message


def test_a_feed_after_blank_lines_names_the_files_own_lines(tmp_path):
    """A feed sent with blank lines before its XML declaration (WordPress themes do) is read
    without them, and its problems named lines that many lines too early: the stray byte of
    line 5 was "line 3", the end of a channel whose last item is left open (line 7) "line 5"."""
    text = "\u201cKazakhstan\u2019s\u201d\udc92s"
    item = f"<item><title>Grain</title><description>{text}</description></item>"
    feed = tmp_path / "wordpress.xml"
    feed.write_bytes(
        (
            '\n\n<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>\n'
            f"{item}\n<item><title>Open</title>\n</channel></rss>\n"
        ).encode("utf-8", "surrogateescape")
    )
    result = read_paths([str(feed)])
    assert [(p.line, p.message[:20]) for p in result.problems] == [
        (5, "not UTF-8 text (byte"),
        (7, "feed is not well-for"),
    ]


def test_a_bad_file_does_not_stop_the_others(tmp_path):
    bad = tmp_path / "garbage.txt"
    bad.write_bytes(bytes(range(256)))
    result = read_paths([str(bad), str(page("000"))])
    assert len(result.articles) == 6 and len(result.problems) == 1
    assert result.sources_read == 1


def test_feed_url_that_does_not_answer_is_a_problem():
    url = f"http://127.0.0.1:{free_port()}/feed.xml"
    result = read_paths([url])
    (problem,) = result.problems
    assert problem.source == url and "could not connect" in problem.message


@pytest.mark.slow
def test_feed_url_is_fetched_over_http_and_errors_are_named():
    body = (FIXTURES / "feeds" / "atom.xml").read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            if self.path == "/atom.xml":
                self.send_response(200)
                self.send_header("Content-Type", "application/atom+xml")
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_error(500)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        good = read_paths([f"{base}/atom.xml"])
        assert [a.title for a in good.articles][0] == "Turkmenistan Signs Gas Deal With Azerbaijan"
        assert good.articles[0].source == f"{base}/atom.xml"
        bad = read_paths([f"{base}/broken"])
        assert "HTTP 500" in str(bad.problems[0])
    finally:
        server.shutdown()


# --- titles by the page's structure (issue 15, item 1) ----------------------------------------

TICKER_AND_DATE = "• KGS/USD = 0.01144 0%\n  • KZT/USD = 0.00196 -0%\n08 December 2025\n\n"
BODY = "The ministry said the work would start in spring. Officials gave no figure.\n\n"


def snapshot(tmp_path, *blocks: str, name: str = "page.txt"):
    """A page like the real ones: ticker, date, then blocks separated by blank lines."""
    path = tmp_path / name
    path.write_text(TICKER_AND_DATE + "\n\n".join(blocks) + "\n", encoding="utf-8")
    return read_paths([str(path)])


@pytest.mark.parametrize(
    "title",
    [
        "Is Uzbekistan Ready for Nuclear Power?",
        "Kyrgyz parliament approves new mining code",
        'Tokayev: "We Will Not Back Down" on Water Deal',
        "Kazakhstan’s ‘Green’ Plan: What It Means for Farmers",
        'Japarov on the border deal: "nothing was given away"',
        "Astana Says Yes!",
        "why the tenge fell again this week",
    ],
)
@pytest.mark.parametrize("first", [True, False], ids=["first-on-page", "after-an-article"])
def test_titles_come_from_the_page_structure_whatever_their_case(tmp_path, title, first):
    other = ["Tajikistan Opens New Cement Plant", BODY.strip()]
    mine = [title, BODY.strip(), "A second paragraph follows here."]
    result = snapshot(tmp_path, *(mine + other if first else other + mine))
    assert result.problems == []
    titles = [a.title for a in result.articles]
    assert titles == ([title, other[0]] if first else [other[0], title])
    article = next(a for a in result.articles if a.title == title)
    assert article.prose == (BODY.strip(), "A second paragraph follows here.")


def test_markup_in_a_title_is_dropped_and_the_title_still_found(tmp_path):
    result = snapshot(
        tmp_path,
        "Tajikistan Opens New Cement Plant",
        BODY.strip(),
        "<b>Kazakhstan</b> raises its <em>key rate</em> to 18%",
        BODY.strip(),
        "**Uzbekistan** signs a gas deal with Russia",
        BODY.strip(),
    )
    assert result.problems == []
    assert [a.title for a in result.articles] == [
        "Tajikistan Opens New Cement Plant",
        "Kazakhstan raises its key rate to 18%",
        "Uzbekistan signs a gas deal with Russia",
    ]


def test_a_sentence_case_question_between_paragraphs_is_named_not_merged_silently(tmp_path):
    result = snapshot(
        tmp_path,
        "Tajikistan Opens New Cement Plant",
        BODY.strip(),
        "But will the plant find buyers?",
        "Analysts doubt it. Demand has fallen for two years.",
    )
    assert [a.title for a in result.articles] == ["Tajikistan Opens New Cement Plant"]
    (problem,) = result.problems
    assert problem.line == 9  # the question's own line
    assert "'But will the plant find buyers?'" in problem.message
    assert "read as a paragraph of 'Tajikistan Opens New Cement Plant'" in problem.message


def test_text_before_the_first_title_and_a_title_with_nothing_after_are_reported(tmp_path):
    result = snapshot(
        tmp_path,
        "An unattached paragraph that belongs to no story at all.",
        "Tajikistan Opens New Cement Plant",
        BODY.strip(),
        "Kyrgyzstan Bans Coal Imports",
    )
    assert [a.title for a in result.articles] == ["Tajikistan Opens New Cement Plant"]
    first, last = result.problems
    assert first.line == 5 and "comes before any title: left out" in first.message
    assert last.line == 11 and "no paragraph follows" in last.message
    # nothing is lost: the unattached title-like line stays in the text it was read into
    assert "Kyrgyzstan Bans Coal Imports" in result.articles[0].text


def test_two_title_like_lines_in_a_row_keep_the_title_case_one_and_say_so(tmp_path):
    result = snapshot(
        tmp_path,
        "Tajikistan Opens New Cement Plant",
        "a plant that cost $200 million and employs 900 people",
        BODY.strip(),
    )
    (article,) = result.articles
    assert article.title == "Tajikistan Opens New Cement Plant"
    assert article.paragraphs[0].text.startswith("a plant that cost")
    (problem,) = result.problems
    assert problem.line == 7 and "could be a title too" in problem.message


# --- folders, feeds, caps (issue 15, items 2-4 and the wrong-encoding feed) -------------------


def test_a_folder_names_what_it_left_out_once(tmp_path):
    folder = tmp_path / "inbox"
    (folder / "older").mkdir(parents=True)
    (folder / "older" / "2025-11-01.txt").write_text("not read", encoding="utf-8")
    (folder / "news.feed").write_bytes((FIXTURES / "feeds" / "rss.xml").read_bytes())
    (folder / "notes.md").write_text("# notes\n", encoding="utf-8")
    (folder / "today.txt").write_text(
        TICKER_AND_DATE + "Tajikistan Opens New Cement Plant\n\n" + BODY, encoding="utf-8"
    )
    result = read_paths([str(folder)])
    assert [a.title for a in result.articles] == ["Tajikistan Opens New Cement Plant"]
    (problem,) = result.problems
    assert problem.source == str(folder)
    assert "left out 3 entries" in problem.message
    for name in ("news.feed", "notes.md", "older/"):
        assert name in problem.message


def _rss(items: str, head: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n{head}<rss version="2.0"><channel>'
        f"<title>Steppe Wire</title>{items}</channel></rss>\n"
    ).encode()


def _items(n: int) -> str:
    return "".join(
        f"<item><title>Story Number {i}</title><link>https://x.example/{i}</link>"
        f"<description>Text of story {i}.</description></item>"
        for i in range(n)
    )


def test_a_feed_with_a_doctype_says_every_entry_was_kept(tmp_path):
    feed = tmp_path / "doctype.xml"
    feed.write_bytes(_rss(_items(7), head='<!DOCTYPE rss [ <!ENTITY copy "&#169;"> ]>\n'))
    result = read_paths([str(feed)])
    assert len(result.articles) == 7
    (problem,) = result.problems
    assert problem.line == 2
    assert "all 7 entries read" in problem.message
    assert "before the error" not in problem.message


def test_a_truncated_feed_says_how_many_of_its_entries_were_read(tmp_path):
    feed = tmp_path / "cut.xml"
    whole = _rss(_items(5))
    feed.write_bytes(whole[: whole.index(b"Text of story 3") + 4])
    result = read_paths([str(feed)])
    assert [a.title for a in result.articles][-1] == "Story Number 3"
    (problem,) = result.problems
    assert "not well-formed XML; read leniently, all 4 entries read" in problem.message


@pytest.mark.slow
def test_huge_titles_and_texts_from_a_feed_are_capped_and_said(tmp_path):
    feed = tmp_path / "huge.xml"
    title = "Almaty " * 150_000  # about 1 MB
    text = "<p>" + "Officials said the line would open soon. " * 50_000 + "</p>"
    feed.write_bytes(
        _rss(f"<item><title>{title}</title><description><![CDATA[{text}]]></description></item>")
    )
    result = read_paths([str(feed)])
    (article,) = result.articles
    assert len(article.title) <= 300 and article.title.endswith("Almaty…")
    assert 19_000 < len(article.text) <= 20_000 and article.text.endswith("…")
    assert article.text[-2] != " "  # cut at a word
    title_note, text_note = result.problems
    assert "title of 1,049,999 characters cut to 300" in title_note.message
    assert "kept to its first 20,000" in text_note.message


def test_a_feed_s_huge_title_is_capped_as_the_source_name_and_said(tmp_path):
    """A feed's <title> names its source under every story: 300,000 characters of it (an
    entity expanded a few times over, a broken generator) made a 340 KB digest."""
    feed = tmp_path / "named.xml"
    feed.write_bytes(_rss(_items(2)).replace(b"Steppe Wire", b"Steppe Wire " * 25_000))
    result = read_paths([str(feed)])
    names = {a.source_name for a in result.articles}
    assert len(names) == 1 and len(names.pop()) <= 100
    notes = [p.message for p in result.problems]
    assert notes == ["feed title of 299,999 characters cut to 100"]  # once, not per entry
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Steppe Wire " * 25_000,
        "items": [{"id": "1", "title": "Story", "content_text": "Text of the story."}],
    }
    (tmp_path / "named.json").write_text(json.dumps(doc))
    result = read_paths([str(tmp_path / "named.json")])
    assert len(result.articles[0].source_name) <= 100
    assert [p.message for p in result.problems] == notes


def test_a_feed_declaring_the_wrong_encoding_is_decoded_right_and_reported(tmp_path):
    feed = tmp_path / "cp1251.xml"
    feed.write_bytes(
        (
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            "<title>Новости</title><item><title>Ташкент открывает новую линию метро</title>"
            "<description>Первые четыре станции новой линии откроются в понедельник, "
            "сообщили в городской администрации.</description></item></channel></rss>\n"
        ).encode("cp1251")
    )
    result = read_paths([str(feed)])
    (article,) = result.articles
    assert article.title == "Ташкент открывает новую линию метро"
    assert article.text.startswith("Первые четыре станции")
    (problem,) = result.problems
    assert "declared as utf-8" in problem.message and "1251" in problem.message


@pytest.mark.slow
def test_real_page_tests_say_they_need_shared_seeds_and_fail_in_ci(tmp_path):
    import os
    import subprocess
    import sys

    test = f"{__file__}::test_real_page_titles_dates_and_rates_are_exact"
    env = {**os.environ, "DIGEST_SHARED_SEEDS": str(tmp_path / "absent")}
    env.pop("CI", None)
    command = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", test]
    skipped = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert skipped.returncode == 0 and "5 skipped" in skipped.stdout
    assert "needs the real page 000 in ../shared/seeds" in skipped.stdout
    in_ci = subprocess.run(
        command, capture_output=True, text=True, env={**env, "CI": "1"}, timeout=120
    )
    assert in_ci.returncode == 1 and "5 failed" in in_ci.stdout


def test_a_placeholder_date_is_no_date(tmp_path):
    """Hugo writes Go's zero time for a post with no date, other feeds the Unix epoch: such
    an entry is undated (new, as any undated article), not dated year 1, which once made
    selection raise counting the lookback back from it. A real date beside it is taken."""
    rss = tmp_path / "hugo.xml"
    rss.write_bytes(
        _rss(
            "<item><title>Kazakhstan Keeps Base Rate</title><link>https://x.example/a</link>"
            "<pubDate>Mon, 01 Jan 0001 00:00:00 +0000</pubDate><description>The bank kept "
            "its rate at 16.5 percent.</description></item>"
            "<item><title>Epoch Post</title><link>https://x.example/b</link>"
            "<pubDate>Thu, 01 Jan 1970 00:00:00 +0000</pubDate><description>A post on "
            "cotton.</description></item>"
            "<item><title>Last Day Post</title><link>https://x.example/d</link>"
            "<pubDate>Fri, 31 Dec 9999 22:00:00 +0000</pubDate><description>A post on "
            "dams.</description></item>"
            "<item><title>Dated Post</title><link>https://x.example/c</link>"
            "<pubDate>Fri, 31 Dec 1999 10:00:00 +0000</pubDate><description>Text of the "
            "post.</description></item>"
        )
    )
    atom = tmp_path / "atom.xml"
    atom.write_text(
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Steppe Wire</title><entry><title>Updated Post</title><id>u1</id>"
        "<published>0001-01-01T00:00:00Z</published><updated>2026-03-04T08:00:00Z</updated>"
        "<content>A post on the metro.</content></entry></feed>",
        encoding="utf-8",
    )
    items = [
        {"id": "z1", "title": "Wheat Exports Rise", "content_text": "Grain.",
         "date_published": "0001-01-01T00:00:00Z"},
        {"id": "z2", "title": "New Dam Opens", "content_text": "Water.",
         "date_published": "0001-01-01T00:00:00"},  # no zone given
    ]  # fmt: skip
    items.append(
        {
            "id": "2",
            "title": "Modified Later",
            "content_text": "A post on the rail line.",
            "date_published": "1970-01-01T00:00:00Z",
            "date_modified": "2026-03-04T08:00:00+05:00",
        }
    )
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": items}))
    result = read_paths([str(rss), str(atom), str(feed)])
    assert not result.problems
    dates = {a.title: (a.date, a.published) for a in result.articles}
    assert dates["Kazakhstan Keeps Base Rate"] == dates["Epoch Post"] == (None, None)
    assert dates["Last Day Post"] == (None, None)  # no zone east of UTC could hold it
    assert dates["Dated Post"][0] == dt.date(1999, 12, 31)
    assert dates["Updated Post"][0] == dt.date(2026, 3, 4)
    assert dates["Wheat Exports Rise"] == dates["New Dam Opens"] == (None, None)
    assert dates["Modified Later"][0] == dt.date(2026, 3, 4)
    with Store.open(":memory:", readonly=True) as store:
        chosen = select(result.articles, History(store), SelectionConfig(50, 30)).chosen
    assert {c.article.title for c in chosen} == set(dates) - {"Dated Post"}  # 1999: too old


def test_a_placeholder_beyond_the_calendar_is_no_date_and_no_crash(tmp_path):
    """PHP and MySQL write "0000-00-00" for a post with no date, and year 1 or 9999 with a
    zone lies outside any calendar in UTC: one such entry made `parse`, `preview` and `run`
    raise "ValueError: year -1 is out of range" (found by the widened tests/news_text.py)."""
    placeholders = ["0000-00-00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]
    items = "".join(
        f"<item><title>Post {n}</title><link>https://x.example/{n}</link><pubDate>{date}"
        "</pubDate><description>Snow closed the pass.</description></item>"
        for n, date in enumerate(placeholders)
    )
    rss = tmp_path / "zero.xml"
    rss.write_bytes(
        _rss(
            items + "<item><title>Dated Post</title><link>https://x.example/d</link>"
            "<pubDate>Mon, 07 Dec 2026 09:00:00 +0600</pubDate><description>The bank kept "
            "its rate.</description></item>"
        )
    )
    atom = tmp_path / "zero.atom"
    atom.write_text(
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Steppe Wire</title><entry><title>Zero Post</title><id>z</id>"
        "<updated>0000-00-00</updated><content>A post on the metro.</content></entry></feed>",
        encoding="utf-8",
    )
    result = read_paths([str(rss), str(atom)])
    assert not result.problems
    dates = {a.title: a.date for a in result.articles}
    assert dates == {"Post 0": None, "Post 1": None, "Post 2": None, "Dated Post":
                     dt.date(2026, 12, 7), "Zero Post": None}  # fmt: skip


def test_a_last_day_placeholder_west_of_utc_is_undated_and_the_rest_of_the_feed_is_read(tmp_path):
    """ "Fri, 31 Dec 9999 23:59:59 -0500" (a CMS's "never", in its own zone) is year 10000 in
    UTC: `parse`, `preview` and `run` stopped on it with "OverflowError: date value out of
    range", every other feed and page unread."""
    rss = tmp_path / "never.xml"
    rss.write_bytes(
        _rss(
            "<item><title>Never Post</title><link>https://x.example/n</link>"
            "<pubDate>Fri, 31 Dec 9999 23:59:59 -0500</pubDate><description>Snow closed the "
            "pass.</description></item>"
            "<item><title>Dated Post</title><link>https://x.example/d</link>"
            "<pubDate>Mon, 07 Dec 2026 09:00:00 +0600</pubDate><description>The bank kept "
            "its rate.</description></item>"
        )
    )
    result = read_paths([str(rss)])
    assert {a.title: a.date for a in result.articles} == {
        "Never Post": None,
        "Dated Post": dt.date(2026, 12, 7),
    }
    assert [p.message for p in result.problems] == [
        "'Never Post': date 'Fri, 31 Dec 9999 23:59:59 -0500' not read; taken as undated"
    ]


def test_utf16_and_utf32_files_with_a_byte_order_mark_are_read_as_their_utf8_twins(tmp_path):
    """Windows tools save "Unicode" text as UTF-16 with a mark: such a snapshot, feed or JSON
    Feed in a folder was called binary data (a NUL byte), a UTF-16 JSON Feed an unreadable
    RSS feed, and UTF-16 XML with no declaration not well-formed."""
    snapshot = (SAMPLE_SEEDS / "2025-11-04_front.txt").read_text(encoding="utf-8")
    rss = (FIXTURES / "feeds" / "rss.xml").read_text(encoding="utf-8")
    json_feed = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "items": [{"id": "1", "title": "Таджикистан строит плотину", "content_text": "Вода."}],
        },
        ensure_ascii=False,
    )
    twins = {
        "front.txt": snapshot,
        "declared.xml": rss.replace('encoding="UTF-8"', 'encoding="UTF-16"'),
        "undeclared.xml": rss.split("?>", 1)[1],
        "feed.json": json_feed,
    }
    marks = [
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
    ]
    utf8, unicode = tmp_path / "utf8", tmp_path / "unicode"
    utf8.mkdir(), unicode.mkdir()
    for n, (name, text) in enumerate(twins.items()):
        (utf8 / name).write_text(text.replace('encoding="UTF-16"', 'encoding="UTF-8"'))
        mark, encoding = marks[n % len(marks)]
        (unicode / name).write_bytes(mark + text.encode(encoding))
    want, got = read_paths([str(utf8)]), read_paths([str(unicode)])
    assert not want.problems and not got.problems
    assert len(got.articles) == len(want.articles) > 10
    assert [(a.title, a.text) for a in got.articles] == [(a.title, a.text) for a in want.articles]
    assert [(r.pair, r.rate, r.line) for r in got.rates] == [
        (r.pair, r.rate, r.line) for r in want.rates
    ]
    assert got.rates


def test_a_pipe_or_an_oversized_file_is_one_problem_and_the_rest_are_read(tmp_path):
    """A FIFO named as a source once held the run for ever (opening one waits for a writer),
    and a 55 MB snapshot took a minute and 1.4 GB: neither is read now."""
    pipe = tmp_path / "pipe.txt"
    os.mkfifo(pipe)
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk used
    good = SAMPLE_SEEDS / "2025-11-04_front.txt"
    result = read_paths([str(pipe), str(huge), str(good)])
    assert [(p.source, p.message) for p in result.problems] == [
        (str(pipe), "not a regular file (a pipe or a device)"),
        (str(huge), f"larger than {MAX_FILE_BYTES:,} bytes; not read"),
    ]
    assert result.articles and {a.source for a in result.articles} == {str(good)}
    # in a folder too, said as such (it was "not a .txt ... file")
    (tmp_path / "good.txt").write_bytes(good.read_bytes())
    huge.unlink()
    in_folder = read_paths([str(tmp_path)])
    assert [(p.source, p.message) for p in in_folder.problems] == [
        (str(pipe), "not a regular file (a pipe or a device)")
    ]
    assert len(in_folder.articles) == len(result.articles)


def test_a_date_that_cannot_be_read_is_said_and_the_entry_kept_undated(tmp_path):
    """Such entries once became undated without a word (a placeholder date stays silent:
    test_a_placeholder_date_is_no_date)."""
    rss = tmp_path / "rss.xml"
    rss.write_bytes(
        _rss(
            "<item><title>Wind Farm Opens</title><link>https://x.example/a</link>"
            "<pubDate>not a date</pubDate><description>Wind.</description></item>"
            "<item><title>Dam Repaired</title><link>https://x.example/b</link>"
            "<pubDate>Mon, 30 Feb 2025 10:00:00 +0000</pubDate><description>Dam.</description>"
            "</item>"
        )
    )
    feed = tmp_path / "feed.json"
    feed.write_text(
        json.dumps(
            {
                "version": "https://jsonfeed.org/version/1.1",
                "items": [
                    {"id": "1", "title": "Rail Link", "content_text": "Rail.",
                     "date_published": "yesterday"},
                ],
            }
        )
    )  # fmt: skip
    result = read_paths([str(rss), str(feed)])
    assert {a.title: a.date for a in result.articles} == {
        "Wind Farm Opens": None,
        "Dam Repaired": None,
        "Rail Link": None,
    }
    assert [str(p) for p in result.problems] == [
        f"{rss}: 'Wind Farm Opens': date 'not a date' not read; taken as undated",
        f"{rss}: 'Dam Repaired': date 'Mon, 30 Feb 2025 10:00:00 +0000' not read; taken as undated",
        f"{feed}: 'Rail Link': date 'yesterday' not read; taken as undated",
    ]


def test_entries_with_no_title_and_no_text_are_counted_in_one_problem(tmp_path):
    rss = tmp_path / "rss.xml"
    rss.write_bytes(
        _rss(
            "<item><title>Wind Farm Opens</title><description>Wind.</description></item>"
            "<item><link>https://x.example/1</link></item><item><title> </title></item>"
        )
    )
    feed = tmp_path / "feed.json"
    feed.write_text(
        json.dumps(
            {
                "version": "https://jsonfeed.org/version/1.1",
                "items": [{"id": "1", "title": "Rail Link"}, {"id": "2"}],
            }
        )
    )
    result = read_paths([str(rss), str(feed)])
    assert [a.title for a in result.articles] == ["Wind Farm Opens", "Rail Link"]
    assert [str(p) for p in result.problems] == [
        f"{rss}: 2 entries with no title and no text left out",
        f"{feed}: 1 entry with no title and no text left out",
    ]


def test_a_telegram_post_without_a_title_is_headed_by_its_words_not_its_emoji(tmp_path):
    """A Telegram channel bridged to RSS opens its posts with emoji: the headline made of the
    first sentence began with them, and so did the Subject when it was the top story."""
    rss = tmp_path / "telegram.xml"
    rss.write_bytes(
        _rss(
            "<item><link>https://t.me/kaktusmedia/41170</link><description><![CDATA["
            "<p>\u26a1\ufe0f В Бишкеке с 4 по 6 декабря отключат горячую воду в Октябрьском "
            "районе. Список адресов — на сайте «Бишкектеплосети».</p>]]></description></item>"
            "<item><link>https://t.me/kaktusmedia/41234</link><description><![CDATA["
            "<p>\U0001f1f0\U0001f1ff\U0001f1f0\U0001f1ec Садыр Жапаров встретился с "
            "Касым-Жомартом Токаевым в Астане. Президенты обсудили транзит грузов.</p>"
            "]]></description></item>"
            "<item><link>https://t.me/kaktusmedia/41301</link><description><![CDATA["
            "<p>1\ufe0f\u20e3 Первое: в Оше открыли новую школу. Второе: ...</p>"
            "]]></description></item>"
            "<item><link>https://t.me/kaktusmedia/41302</link><description><![CDATA["
            "<p>\u203c\ufe0f\U0001f468\u200d\U0001f469\u200d\U0001f467 Срочно: "
            "семьям с детьми продлили выплаты. Подробности позже.</p>]]></description></item>"
            # what opens a headline and is no emoji stays: a sign, a symbol, a figure
            "<item><link>https://t.me/kaktusmedia/41303</link><description><![CDATA["
            "<p>\u2116 1 в рейтинге городов — Бишкек. Так решили читатели.</p>"
            "]]></description></item>"
            "<item><link>https://t.me/kaktusmedia/41304</link><description><![CDATA["
            "<p>\u2103 Температура упадет до минус 20. Синоптики предупреждают.</p>"
            "]]></description></item>"
        )
    )
    result = read_paths([str(rss)])
    assert [a.title for a in result.articles] == [
        "В Бишкеке с 4 по 6 декабря отключат горячую воду в Октябрьском районе",
        "Садыр Жапаров встретился с Касым-Жомартом Токаевым в Астане",
        "Первое: в Оше открыли новую школу",
        "Срочно: семьям с детьми продлили выплаты",
        "\u2116 1 в рейтинге городов — Бишкек",
        "\u2103 Температура упадет до минус 20",
    ]


def test_a_post_without_a_title_is_not_headed_by_the_label_it_opens_with(tmp_path):
    """A label run into a post's text with no stop ("BREAKING The bridge ...") is split from
    it as a heading run into a lede is: the post was headed "BREAKING" alone. A heading of
    more words still heads it."""
    rss = tmp_path / "posts.xml"
    rss.write_bytes(
        _rss(
            "<item><link>https://mastodon.example/@wire/1</link><description>"
            "BREAKING The bridge over the Ural river in Atyrau collapsed this morning, "
            "officials said. Nobody was hurt.</description></item>"
            "<item><link>https://mastodon.example/@wire/2</link><description>"
            "Kazakhstan: Deals Worth Billions The summit coincides with the president's "
            "visit to Japan.</description></item>"
        )
    )
    result = read_paths([str(rss)])
    assert [a.title for a in result.articles] == [
        "The bridge over the Ural river in Atyrau collapsed this morning, officials said",
        "Kazakhstan: Deals Worth Billions",
    ]


def test_a_feeds_text_and_titles_read_as_their_types_say():
    """Atom's type="text" is words, not markup ("<slot>" was dropped and its paragraphs
    merged); a channel title of type html lost none of its tags (readers saw "<b>"); and a
    description escaped twice ("&amp;lt;p&amp;gt;") showed its tags and gave no lead."""
    from digest.sources.feed import read_feed

    atom = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title type="html">The &lt;b&gt;Steppe&lt;/b&gt;
&amp;amp; Valley Times</title><id>urn:x</id><updated>2026-12-04T10:00:00Z</updated>
<entry><id>urn:1</id><title>Templates change</title><updated>2026-12-04T10:00:00Z</updated>
<content type="text">Use &lt;slot name="x"&gt; instead of &lt;content&gt; now.

Upgrade before January.</content></entry></feed>"""
    [entry] = read_feed("a.xml", atom).articles
    assert entry.source_name == "The Steppe & Valley Times"
    assert [p.text for p in entry.paragraphs] == [
        'Use <slot name="x"> instead of <content> now.',
        "Upgrade before January.",
    ]
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>W</title>
<item><title>Wage rises</title><description>&amp;lt;p&amp;gt;&amp;lt;strong&amp;gt;ASTANA
&amp;lt;/strong&amp;gt; &amp;amp;mdash; The minimum wage rises to 93,000 tenge.&amp;lt;/p&amp;gt;
</description></item></channel></rss>"""
    [item] = read_feed("r.xml", rss).articles
    assert [p.text for p in item.paragraphs] == ["ASTANA — The minimum wage rises to 93,000 tenge."]


def test_an_entry_gets_the_link_its_feed_gives_somewhere():
    """An empty <link> beside a permalink GUID, a podcast's enclosure alone, a link with a
    space, a JSON Feed's relative url: each story had no link at all."""
    from digest.sources.feed import read_feed
    from digest.sources.jsonfeed import read_json_feed

    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>L</title>
<link>https://links.example.com/</link>
<item><title>One</title><link/><guid>https://links.example.com/p/1</guid></item>
<item><title>Two</title><link>  </link><guid isPermaLink="true">https://links.example.com/p/2</guid></item>
<item><title>Three</title><enclosure url="https://cdn.links.example.com/ep3.mp3" length="1"
 type="audio/mpeg"/><guid isPermaLink="false">ep3</guid></item>
<item><title>Four</title><link>https://links.example.com/p/4 final.html</link></item>
<item><title>Five</title><guid>12345</guid></item>
</channel></rss>"""
    assert [a.url for a in read_feed("r.xml", rss).articles] == [
        "https://links.example.com/p/1",
        "https://links.example.com/p/2",
        "https://cdn.links.example.com/ep3.mp3",
        "https://links.example.com/p/4%20final.html",
        None,  # a GUID that is no web address is no link
    ]
    jf = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "J", '
        b'"home_page_url": "https://jf.example.com/", '
        b'"items": [{"id": "5", "url": "/posts/5", "title": "Five", "content_text": "x"}]}'
    )
    assert [a.url for a in read_json_feed("j.json", jf).articles] == [
        "https://jf.example.com/posts/5"
    ]


def test_an_outlets_home_link_goes_out_without_tracking_parameters():
    """A feed's own home link (RSS <link>, a JSON Feed's home_page_url) is the outlet's link
    under each story: it kept "?utm_source=rss&mc_cid=1" where story links lose them."""
    from digest.sources.feed import read_feed
    from digest.sources.jsonfeed import read_json_feed

    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<link>https://tracked.example/?utm_source=rss&amp;mc_cid=1&amp;page=2</link>
<item><title>One</title><link>https://tracked.example/p/1?utm_medium=feed</link></item>
</channel></rss>"""
    [item] = read_feed("r.xml", rss).articles
    assert (item.url, item.source_link) == (
        "https://tracked.example/p/1",
        "https://tracked.example/?page=2",
    )
    jf = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "J", '
        b'"home_page_url": "https://jf.example.com/?utm_source=jsonfeed&fbclid=x", '
        b'"items": [{"id": "5", "url": "/posts/5", "title": "Five", "content_text": "x"}]}'
    )
    [item] = read_json_feed("j.json", jf).articles
    assert (item.url, item.source_link) == (
        "https://jf.example.com/posts/5",
        "https://jf.example.com/",
    )


def test_dates_in_the_zones_news_feeds_name_are_read_in_those_zones():
    """feedparser knows the US zones; "MSK", "CEST" or "IST" it read as UTC, hours off with
    no word. A zone nobody knows is still read as UTC, and now said so."""
    import datetime as dt

    from digest.sources.feed import read_feed

    items = "".join(
        f"<item><title>{zone}</title><pubDate>Thu, 03 Dec 2026 23:30:00 {zone}</pubDate></item>"
        for zone in ("MSK", "CEST", "IST", "ALMT", "XYZ")
    )
    read = read_feed(
        "z.xml", f'<rss version="2.0"><channel><title>Z</title>{items}</channel></rss>'.encode()
    )
    utc = {a.title: a.published.astimezone(dt.UTC).strftime("%H:%M") for a in read.articles}
    assert utc == {"MSK": "20:30", "CEST": "21:30", "IST": "18:00", "ALMT": "18:30", "XYZ": "23:30"}
    assert [p.message for p in read.problems] == [
        "'XYZ': time zone 'XYZ' unknown; its time read as UTC"
    ]


def test_an_entry_whose_content_is_its_featured_image_alone_reads_its_description():
    """<content:encoded> holding only the featured image and its credit, the text in
    <description>: the longest content won, and the story went out with no text, no lead."""
    from digest.sources.feed import read_feed

    image = (
        '<figure><img src="https://cdn.example.com/uploads/2026/12/almaty-metro-1024x683.jpg" '
        'srcset="https://cdn.example.com/uploads/2026/12/almaty-metro-1024x683.jpg 1024w, '
        'https://cdn.example.com/uploads/2026/12/almaty-metro-300x200.jpg 300w" '
        'alt="Almaty metro"/><figcaption>Photo: Akimat of Almaty</figcaption></figure>'
    )
    text = "Three new metro stations opened in Almaty on Monday, the akimat said."
    feed = (
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        "<channel><title>V</title><item><title>Almaty Metro Grows</title>"
        f"<description><![CDATA[<p>{text}</p>]]></description>"
        f"<content:encoded><![CDATA[{image}]]></content:encoded></item></channel></rss>"
    )
    [article] = read_feed("v.xml", feed.encode()).articles
    assert article.text == text


def dates_read(written: dict[str, str]) -> tuple[dict[str, str | None], list[str]]:
    """An RSS item titled by each key, dated by its value, read: when each was published
    ("%d %H:%M" UTC, None: undated) and the problems said."""
    import datetime as dt

    from digest.sources.feed import read_feed

    items = "".join(
        f"<item><title>{name}</title><pubDate>{date}</pubDate><description>Text of {name}."
        "</description></item>"
        for name, date in written.items()
    )
    read = read_feed(
        "d.xml", f'<rss version="2.0"><channel><title>D</title>{items}</channel></rss>'.encode()
    )
    utc = {
        a.title: a.published and a.published.astimezone(dt.UTC).strftime("%d %H:%M")
        for a in read.articles
    }
    return utc, [p.message for p in read.problems]


def test_rfc_822_dates_as_servers_write_them_are_read():
    """PHP's date() without a zone, no space after the weekday's comma, RFC 850's two-digit
    year: feedparser reads none of them, so each such entry went undated, with a problem line
    at every run. A time with words after it that name no known zone stays unread."""
    utc, problems = dates_read(
        {
            "no zone": "Sun, 06 Dec 2026 17:00:00",
            "no space": "Sun,06 Dec 2026 17:00:00 +0500",
            "rfc 850": "Sunday, 06-Dec-26 17:00:00 GMT",
            "month first": "Dec 06, 2026 17:00:00 GMT",
            "unknown": "Sun, 06 Dec 2026 17:00:00 GMT+5",
        }
    )
    assert utc == {
        "no zone": "06 17:00",
        "no space": "06 12:00",
        "rfc 850": "06 17:00",
        "month first": "06 17:00",
        "unknown": None,
    }
    assert problems == [
        "'unknown': date 'Sun, 06 Dec 2026 17:00:00 GMT+5' not read; taken as undated"
    ]


@pytest.mark.parametrize("inside", ["\u2028", "\r", "\x0c", "\x85"])
def test_a_line_separator_inside_a_snapshot_title_keeps_the_title_whole(tmp_path, inside):
    """str.splitlines() also splits at U+2028, a lone CR, a form feed or NEL: one of those
    inside a title cut it in two, the rest becoming a paragraph, with no problem said. The
    page's lines end at LF (CRLF, or CR alone in a file without LF) only."""
    page = (SAMPLE_SEEDS / "2025-11-10_front.txt").read_text(encoding="utf-8")
    original = read_paths([str(SAMPLE_SEEDS / "2025-11-10_front.txt")]).articles
    title = original[0].title
    cut = title.index(" ", len(title) // 2)
    changed = tmp_path / "2025-11-10_front.txt"
    changed.write_text(
        page.replace(title, title[:cut] + inside + title[cut + 1 :], 1),
        encoding="utf-8",
        newline="",
    )
    for data in (changed.read_bytes(), page.replace("\n", "\r\n").encode()):
        changed.write_bytes(data)
        read = read_paths([str(changed)])
        assert [a.title for a in read.articles] == [a.title for a in original]
        assert [a.text for a in read.articles] == [a.text for a in original]


def test_a_huge_entry_link_is_dropped_and_said(tmp_path):
    """A 100,000-character <link> (a broken or hostile feed) made a 135 KB digest, past
    Gmail's ~102 KB clip: it is dropped, the story kept without it, the source named."""
    feed = tmp_path / "linked.xml"
    huge = "https://x.example/" + "a" * 100_000
    feed.write_bytes(_rss(_items(2).replace("https://x.example/1", huge)))
    result = read_paths([str(feed)])
    assert [a.url for a in result.articles] == ["https://x.example/0", None]
    (problem,) = result.problems
    assert problem.source == str(feed)
    assert "link of 100,018 characters (over 2,048) dropped" in problem.message
    assert "'Story Number 1'" in problem.message


def test_a_wordpress_feed_with_blank_lines_before_its_declaration_reads_without_a_problem(
    tmp_path,
):
    """A theme's or plugin's stray blank lines before `<?xml` (XML forbids them, WordPress
    sends them): the feed was read leniently and every run said "feed is not well-formed
    XML"; its declared windows-1251 then held only by feedparser's guess."""
    feed = tmp_path / "wp.xml"
    feed.write_bytes(
        b"\n\n"
        + (
            '<?xml version="1.0" encoding="windows-1251"?><rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
            "<title>Новости Оша</title><link>https://osh.example/</link><item>"
            "<title>В Оше открыли новый мост</title><link>https://osh.example/most/</link>"
            "<content:encoded><![CDATA[<p>Мост через реку Ак-Буура открыли в субботу.</p>]]>"
            "</content:encoded></item></channel></rss>"
        ).encode("cp1251")
    )
    read = read_paths([str(feed)])
    assert read.problems == []
    [article] = read.articles
    assert (article.title, article.text) == (
        "В Оше открыли новый мост",
        "Мост через реку Ак-Буура открыли в субботу.",
    )


def test_a_twelve_hour_time_is_read_with_its_am_or_pm():
    """feedparser reads "5:00:00 PM GMT" as 05:00 and leaves the PM unread: twelve hours early,
    with no word said (and "12:30 AM" as half past noon)."""
    utc, problems = dates_read(
        {
            "pm": "Mon, 07 Dec 2026 5:00:00 PM GMT",
            "pm west": "Mon, 07 Dec 2026 05:00:00 PM -0800",
            "am": "Mon, 07 Dec 2026 9:15:00 AM +0000",
            "past midnight": "Mon, 07 Dec 2026 12:30:00 AM GMT",
            "noon": "Mon, 07 Dec 2026 12:30:00 PM GMT",
            "24 hours": "Mon, 07 Dec 2026 17:00:00 GMT",
        }
    )
    assert problems == []
    assert utc == {
        "pm": "07 17:00",
        "pm west": "08 01:00",
        "am": "07 09:15",
        "past midnight": "07 00:30",
        "noon": "07 12:30",
        "24 hours": "07 17:00",
    }


def test_a_twelve_hour_time_is_read_in_the_zones_feedparser_knows():
    """a75fff6 read a twelve-hour time by email.utils, which knows only GMT and the American
    zones: "5:00 PM MSK", "5:00 PM ALMT" (as "17:00 MSK" is read) and an ISO date's "5:00
    PM" were still read twelve hours and more off, with no word said."""
    utc, _ = dates_read(
        {
            "msk": "Mon, 07 Dec 2026 5:00 PM MSK",
            "almt": "Mon, 07 Dec 2026 5:00:00 PM ALMT",
            "ist": "Mon, 07 Dec 2026 5:30 PM IST",
            "iso": "2026-12-07 5:00 PM",
            "gmt": "Mon, 07 Dec 2026 5:00:00 PM GMT",
        }
    )
    assert utc == {
        "msk": "07 14:00",
        "almt": "07 12:00",
        "ist": "07 12:00",
        "iso": "07 17:00",
        "gmt": "07 17:00",
    }
