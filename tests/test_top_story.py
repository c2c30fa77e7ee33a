"""What comes first and when it happened (issue 21): the top story, story dates, stale listings,
and "Also reported by" without the same outlet's copies. On the real pages and real runs."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import ROOT, digest_command, need_real_pages

from digest.config import load_config
from digest.models import NEAR_DUPLICATE, SAME_STORY, Chosen, Paragraph
from digest.plan import PlannedStory, build_digest, top_story_first
from digest.sources import read_file


def digest(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*digest_command(), *map(str, args)], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


def write_config(tmp_path: Path, pages: str, lookback: int = 100000) -> Path:
    path = tmp_path / "digest.yaml"
    path.write_text(
        "\n".join(
            [
                "title: Central Asia Daily",
                "timezone: Asia/Almaty",
                "sources:",
                f"  - path: {pages}",
                "    name: The Times of Central Asia",
                "    link: https://timesca.com/",
                f"state: {tmp_path / 'state.sqlite3'}",
                "selection:",
                "  max_articles: 50",
                f"  lookback_days: {lookback}",
                "delivery:",
                '  from: "Central Asia Daily <digest@example.com>"',
                "  to: [reader@example.com]",
                f"  outbox: {tmp_path / 'outbox'}",
            ]
        )
        + "\n"
    )
    return path


def preview_json(config: Path, *args: str) -> dict:
    result = digest("--config", config, "preview", "--out", config.parent / "out", "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def read_page(path: Path):
    return read_file(str(path))


def real_articles():
    seeds = need_real_pages()
    out = []
    for page in sorted(seeds.glob("*.txt")):
        out.extend(read_page(page).articles)
    return out


# --- story dates -------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_story_is_dated_by_its_earliest_telling_and_a_page_date_is_a_listing(tmp_path):
    """The 11 December page repeats six 8 December stories byte for byte: they are stories of
    8 December, listed then, not published on 11 December."""
    seeds = need_real_pages()
    report = preview_json(write_config(tmp_path, str(seeds / "*.txt")))
    dates = {c["title"]: c["date"] for c in report["chosen"]}
    eleventh = [a.title for a in read_page(next(seeds.glob("001_*.txt"))).articles]
    assert len(eleventh) == 6
    for title in eleventh:
        assert dates[title] == "2025-12-08", title
    for c in report["chosen"]:
        dt.date.fromisoformat(c["date"])  # ISO 8601
        assert c["listed"] is True  # every date on these pages is a listing's
    html = (tmp_path / "out" / "digest.html").read_text(encoding="utf-8")
    assert "Listed 8 Dec 2025" in html and "Listed 11 Dec 2025" not in html


@pytest.mark.slow
def test_a_page_listing_an_old_story_today_does_not_make_it_news(tmp_path):
    """With a two-day lookback from 11 December, the 11 December page's six stories were on
    the 8 December pages already: too old, though the newer page lists them."""
    seeds = need_real_pages()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for key in ("000", "002", "004", "001"):
        shutil.copy(next(seeds.glob(f"{key}_*.txt")), inbox)
    config = write_config(tmp_path, str(inbox / "*.txt"), lookback=2)
    result = digest("--config", config, "preview", "--out", tmp_path / "out", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["chosen"] == [], [c["title"] for c in report["chosen"]]
    eleventh = {a.title for a in read_page(next(seeds.glob("001_*.txt"))).articles}
    too_old = {s["title"] for s in report["skipped"] if s["reason"] == "too-old"}
    assert eleventh <= too_old
    # and with the 11 December page alone, its stories are news as far as the sources tell
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(next(seeds.glob("001_*.txt")), alone)
    report = preview_json(write_config(alone, str(alone / "*.txt"), lookback=2))
    assert {c["title"] for c in report["chosen"]} == eleventh


@pytest.mark.slow
def test_a_stale_story_is_not_remembered_as_sent(tmp_path):
    seeds = need_real_pages()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for key in ("000", "001", "003"):
        shutil.copy(next(seeds.glob(f"{key}_*.txt")), inbox)
    config = write_config(tmp_path, str(inbox / "*.txt"), lookback=2)
    result = digest("--config", config, "run", "--json", "--as-of", "2025-12-11")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    # 000 (8 Dec) is too old; what 001 shares with it is stale; the rest of 001 is news
    page0 = {a.title for a in read_page(next(seeds.glob("000_*.txt"))).articles}
    chosen = {c["title"] for c in report["chosen"]}
    assert chosen and not chosen & page0
    assert report["status"] == "delivered"
    # the stale stories were not sent, so nothing of them is in the state: with a long
    # lookback they are chosen (not "already-sent") the next time
    later = write_config(tmp_path, str(inbox / "*.txt"))
    result = digest("--config", later, "preview", "--out", tmp_path / "out", "--json")
    report = json.loads(result.stdout)
    again = {c["title"] for c in report["chosen"]}
    assert page0 & again


# --- the top story -------------------------------------------------------------------------------


TODAY = dt.date(2026, 12, 7)


def test_the_top_story_is_the_one_most_outlets_carried_then_the_newest():
    articles = real_articles()
    by_day: dict[dt.date, list] = {}
    for a in articles:
        by_day.setdefault(a.date, []).append(a)
    old = by_day[dt.date(2025, 12, 8)]
    new = by_day[dt.date(2026, 2, 21)]
    other_outlet = replace(old[3], source_name="Asia-Plus", url="https://asiaplus.tj/x")
    chosen = [
        Chosen(new[0]),
        Chosen(old[2]),
        Chosen(old[3], tellings=(other_outlet,)),
        Chosen(new[1]),
    ]
    stories = [PlannedStory(c, lead, "Top stories") for c, lead in zip(chosen, "abcd", strict=True)]
    ordered = top_story_first(stories, TODAY, "en")
    assert ordered[0].article is old[3]  # two outlets beat a newer story of one
    assert [s.lead for s in ordered] == ["c", "a", "b", "d"]  # the others keep their order
    chosen = [Chosen(old[2]), Chosen(new[1]), Chosen(new[0])]
    stories = [PlannedStory(c, lead, "Top stories") for c, lead in zip(chosen, "abc", strict=True)]
    assert top_story_first(stories, TODAY, "en")[0].article is new[1]  # one outlet: the newest


def test_one_article_two_section_feeds_of_its_site_carry_counts_as_one_outlet():
    """A site's "World" and "Asia" feeds both carry its article, under one link: "Also
    reported by" lists no other outlet for it (Chosen.also), yet it counted as two outlets
    and beat a newer story of one outlet as the top story, its headline the subject."""
    articles = real_articles()
    old = next(a for a in articles if a.date == dt.date(2025, 12, 8))
    old = replace(old, source_name="TCA - World", url="https://timesca.com/news/armored")
    new = next(a for a in articles if a.date == dt.date(2026, 2, 21))
    section = replace(old, source_name="TCA - Asia")
    assert section.url == old.url and section.shown_source != old.shown_source
    chosen = [Chosen(old, tellings=(section,)), Chosen(new)]
    assert chosen[0].also == ()
    stories = [PlannedStory(c, lead, "Top stories") for c, lead in zip(chosen, "ab", strict=True)]
    assert top_story_first(stories, TODAY, "en")[0].article is new  # one outlet each: the newest


def test_of_stories_alike_the_top_story_is_one_in_the_digests_language():
    """The top story's headline is the subject: of two stories carried by as many outlets on
    one day, a Russian one came first in an English digest because its feed's file sorted
    first."""
    english = real_articles()[0]
    told = json.loads((ROOT / "tests" / "fixtures" / "languages" / "ru_news.json").read_text())[0]
    russian = replace(
        english,
        title=told["title"],
        paragraphs=tuple(Paragraph(t) for t in told["paragraphs"]),
        url="https://ru.example/1",
        language="ru",
    )
    stories = [PlannedStory(Chosen(a), "", "Top stories") for a in (russian, english)]
    assert top_story_first(stories, TODAY, "en")[0].article is english
    assert top_story_first(stories, TODAY, "ru")[0].article is russian


@pytest.mark.slow
def test_the_top_story_comes_first_in_the_json_and_the_digest(tmp_path):
    seeds = need_real_pages()
    report = preview_json(write_config(tmp_path, str(seeds / "*.txt")))
    first = report["chosen"][0]
    assert first["date"] == max(c["date"] for c in report["chosen"])
    told = max(len(c["also"]) for c in report["chosen"] if c["date"] == first["date"])
    assert len(first["also"]) == told  # of the newest, the story told most often
    html = (tmp_path / "out" / "digest.html").read_text(encoding="utf-8")
    text = (tmp_path / "out" / "digest.txt").read_text(encoding="utf-8")
    assert html.index("Top story") < html.index("In this issue")
    assert text.index("TOP STORY") < text.index(first["title"][:30]) < text.index("IN THIS ISSUE")
    assert text.index("1 US dollar buys") < text.index("TOP STORY")


@pytest.mark.slow
def test_pages_of_one_unnamed_source_are_one_outlet_for_the_top_story(tmp_path):
    """With the real pages given as `path:` alone (no name), each page file counted as an
    outlet: a December story listed on three of them, shown under no name and with no "Also
    reported by", beat every February story as "the story most outlets carried". Outlets are
    what readers see, as in "Also reported by": one unnamed source is one."""
    seeds = need_real_pages()
    config = write_config(tmp_path, str(seeds / "*.txt"))
    config.write_text(
        "\n".join(
            line
            for line in config.read_text().splitlines()
            if not line.lstrip().startswith(("name:", "link:"))
        )
        + "\n"
    )
    report = preview_json(config)
    assert all(not c["source"] and not c["also"] for c in report["chosen"][:3]), report["chosen"]
    assert report["chosen"][0]["date"] == max(c["date"] for c in report["chosen"])


# --- also reported by ---------------------------------------------------------------------------


def test_also_reported_by_leaves_out_the_same_outlets_copies():
    articles = real_articles()
    story = articles[0]
    edited = replace(
        story,
        title=story.title + " (updated)",
        paragraphs=(*story.paragraphs, Paragraph("An added sentence.")),
        url="https://timesca.com/copy",
    )
    other = replace(story, source_name="Asia-Plus", url="https://asiaplus.tj/y")
    sibling = replace(articles[1], url="https://timesca.com/sibling")  # another piece: kept
    kinds = {id(edited): NEAR_DUPLICATE, id(other): NEAR_DUPLICATE, id(sibling): SAME_STORY}
    copies = {i for i, kind in kinds.items() if kind == NEAR_DUPLICATE}
    planned = PlannedStory(Chosen(story, tellings=(edited, other, sibling)), "lead", "Top")
    config = load_config(ROOT / "config" / "digest.yaml")
    (item,) = build_digest(config, [planned], [], copies=copies).items
    assert [t.url for t in item.also] == ["https://asiaplus.tj/y", "https://timesca.com/sibling"]
