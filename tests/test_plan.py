"""Planning a digest: each story placed once, in the section its title (else its lead)
names, with its lead beside it; one reference day for the lookback."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from conftest import page

from digest.config import Config, SelectionConfig
from digest.lookback import in_the_future, reference_day, window_start
from digest.models import DEFAULT_SECTION, OTHER_SECTION, Article, Paragraph
from digest.plan import place
from digest.select.choose import select
from digest.select.sent import History
from digest.sources import read_paths
from digest.state import Store
from digest.summarize import extractive_lead

SECTIONS = (
    ("Kazakhstan", ("Kazakhstan", "Astana", "Tokayev")),
    ("Uzbekistan", ("Uzbekistan", "Tashkent", "Mirziyoyev")),
    ("Tajikistan", ("tajikistan", "Dushanbe")),
)


def placed(sections) -> list[tuple[str, str, str]]:
    config = Config(
        path=Path("config/digest.yaml"), selection=SelectionConfig(50, 100_000, sections=sections)
    )
    with Store.open(":memory:", readonly=True) as store:
        selection = select(
            read_paths([str(page("000"))]).articles, History(store), config.selection
        )
    leads = [extractive_lead(c.article, 40) for c in selection.chosen]
    return [(s.section, s.article.title, s.lead) for s in place(config, selection.chosen, leads)]


def test_stories_go_where_their_title_else_their_lead_says_never_their_body():
    got = placed(SECTIONS)
    assert [(section, title) for section, title, _ in got] == [
        ("Kazakhstan", "Thai Company to Build Fish-Processing Plant in Kazakhstan"),
        ("Kazakhstan", "USAID Modernizes Kazakhstan’s Customs System"),
        # Both countries in the title: the one it names first.
        ("Uzbekistan", "Uzbekistan and Kazakhstan Explore Use of ID Cards at Border Crossings"),
        ("Uzbekistan", "U.S. Companies Seek Export Opportunities in Uzbekistan"),
        (
            "Tajikistan",
            "Tajikistan Intends To Expand Production of Armored Vehicles and Special Equipment",
        ),
        # The body names Kazakhstan once, in passing: that does not make it Kazakh news.
        (OTHER_SECTION, "UNICEF: Central Asia Must Work To Keep Children Out Of Alternative Care"),
    ]
    assert all(lead for _, _, lead in got)  # each story carries its own lead


def test_no_sections_configured_puts_everything_in_top_stories():
    assert {section for section, _, _ in placed(())} == {DEFAULT_SECTION}


def dated(title: str, day: dt.date) -> Article:
    return Article(title, (Paragraph(f"{title} was reported in Almaty."),), "x.txt", 1, day)


def test_one_reference_day_a_mis_dated_article_does_not_push_the_others_out():
    today = dt.date(2026, 3, 5)
    a = [dated("Wheat Harvest Ends", today), dated("Typo Year", dt.date(2062, 3, 5))]
    assert reference_day(a, None, today) == today
    assert reference_day(a, dt.date(2026, 1, 1), today) == dt.date(2026, 1, 1)
    assert reference_day([], None, today) is None
    # one day's leeway for the sources' zones: tomorrow is a day, the day after is a typo, and
    # the plan reports as "in the future" exactly what the reference day leaves aside
    tomorrow, after = today + dt.timedelta(days=1), today + dt.timedelta(days=2)
    assert reference_day([*a, dated("Early Edition", tomorrow)], None, today) == tomorrow
    assert reference_day([*a, dated("Too Early", after)], None, today) == today
    assert (in_the_future(tomorrow, today), in_the_future(after, today)) == (False, True)
    config = SelectionConfig(50, 7)
    with Store.open(":memory:", readonly=True) as store:
        selection = select(a, History(store), config)  # no as_of: the same rule
    assert "Wheat Harvest Ends" in [c.article.title for c in selection.chosen]


def test_a_window_reaching_back_before_year_one_starts_on_its_first_day():
    """A reader leaves placeholder dates out (test_sources), but any date may come: an article
    dated in year 1 is the reference day of a batch of its own, and the lookback before it
    begins on the first day there is (it once raised, and no article was named)."""
    first = dt.date.min + dt.timedelta(days=3)
    assert window_start(first, 30) == dt.date.min
    assert window_start(dt.date(2026, 3, 5), 30) == dt.date(2026, 2, 3)
    with Store.open(":memory:", readonly=True) as store:
        selection = select([dated("Year One", first)], History(store), SelectionConfig(50, 30))
    assert [c.article.title for c in selection.chosen] == ["Year One"]
