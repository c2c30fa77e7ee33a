"""Source rules (digest/rules.py): include/exclude words and /regex/, max_per_source,
section, lookback_days, per source and global; each article a rule leaves out is skipped as
`excluded` (or `too-old`) naming the rule."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import replace
from email.utils import format_datetime
from pathlib import Path

import pytest
from conftest import SAMPLE_SEEDS

from digest.config import load_config
from digest.errors import ConfigError
from digest.models import Article, Paragraph
from digest.pipeline import preview
from digest.rules import RULE_SECONDS, Rules, SourceRules, pattern
from digest.sources import read_paths


def art(title: str, text: str = "") -> Article:
    return Article(title, (Paragraph(text),) if text else (), "f.xml")


def test_a_word_matches_whole_words_in_any_case_on_title_and_text():
    gas = pattern("gas")
    assert gas.search(art("Gas prices rise"))
    assert gas.search(art("Prices", "Natural GAS is cheaper."))
    assert not gas.search(art("Gasprom results"))
    assert pattern("wind farm").search(art("A Wind Farm opens"))


def test_a_regex_between_slashes_with_the_i_flag():
    assert pattern(r"/wind\s+farm/i").search(art("WIND   FARM"))
    assert not pattern(r"/wind\s+farm/").search(art("WIND FARM"))
    with pytest.raises(ValueError, match="not a valid regular expression"):
        pattern("/(unclosed/")
    with pytest.raises(ValueError, match="unknown regex flag 'x'"):
        pattern("/a/x")
    for everything in ("//", "/.*/i", "/(sponsored)?/", "/^/"):  # as an empty word would
        with pytest.raises(ValueError, match="matches an empty text, so every article"):
            pattern(everything)
    assert pattern(r"/\bgas\b/i").search(art("Gas prices"))


def test_any_case_takes_the_dotless_i_for_an_i_as_before():
    """An editor types "Diyarbakir" (no Turkish keyboard) for news that writes Diyarbakır:
    Python's re, which rules ran on, takes i and ı for one letter in any case; the regex
    package folds them apart, and the rule stopped matching. Case-sensitive rules tell them
    apart, as re did."""
    assert pattern("Diyarbakir").search(art("Diyarbakır'da seçim"))
    assert pattern("diyarbakır").search(art("Diyarbakir", "x"))
    assert pattern("/işçi/i").search(art("Işçı haberleri"))
    assert pattern("/ışık/i").search(art("IŞIK", "x")) and pattern("istanbul").search(
        art("İSTANBUL")
    )
    assert not pattern("/Diyarbakir/").search(art("Diyarbakır"))
    assert not pattern("kilic").search(art("kılıç"))  # c and ç stay apart, as in re


def test_a_rule_that_backtracks_without_end_is_given_up_and_the_run_goes_on():
    """A pattern fine on most text that blows up on one article (any feed can send it): that
    article is left out naming the rule, and every later article the rule meets is left out
    at once instead of costing the run its time again; other sources' articles are kept."""
    bad = pattern("/(a|aa)+$/")
    rules = SourceRules({"f.xml": ("f", Rules(exclude=(bad,))), "g.xml": ("g", Rules())})
    calm = art("Calm news", "Nothing in here backtracks.")
    hostile = art("Hostile", "a" * 60 + "b")
    later = art("Later news", "Nothing here either.")
    elsewhere = replace(later, source="g.xml")
    kept, skipped = rules.excluded([calm, hostile, later, elsewhere])
    assert kept == [calm, elsewhere]
    assert [(s.article, s.rule) for s in skipped] == [
        (hostile, f"exclude: /(a|aa)+$/ (gave up after {RULE_SECONDS} s: rewrite it) (f)"),
        (later, "exclude: /(a|aa)+$/ (gave up on an earlier article) (f)"),
    ]
    assert rules.gave_up == {bad}
    # A global rule that gives up holds back every source's later articles.
    everywhere = SourceRules({}, Rules(exclude=(bad,)))
    kept, skipped = everywhere.excluded([calm, hostile, elsewhere])
    assert kept == [calm] and [s.article for s in skipped] == [hostile, elsewhere]
    assert skipped[0].rule.startswith("selection exclude: /(a|aa)+$/ (gave up after")


def test_an_include_that_gave_up_leaves_out_only_what_no_other_include_keeps():
    """`include: [/(a|aa)+$/, wind]` keeps an article either matches: one that matches
    "wind" is kept whether the other rule gives up on it or gave up before; one that matches
    neither, once the rule has given up, is left out naming it."""
    bad, wind = pattern("/(a|aa)+$/"), pattern("wind")
    rules = SourceRules({"f.xml": ("f", Rules(include=(bad, wind)))})
    hostile = "a" * 60 + "b"
    windy = art("Wind farm", hostile)
    plain = art("Hostile", hostile)
    later_wind = art("More wind", "Turbines.")
    later_calm = art("Calm news", "Nothing here.")
    kept, skipped = rules.excluded([windy, plain, later_wind, later_calm])
    assert kept == [windy, later_wind]
    assert [(s.article, s.rule) for s in skipped] == [
        (plain, "include: /(a|aa)+$/ (gave up on an earlier article) (f)"),
        (later_calm, "include: /(a|aa)+$/ (gave up on an earlier article) (f)"),
    ]
    assert rules.gave_up == {bad}
    fresh = SourceRules({"f.xml": ("f", Rules(include=(bad, wind)))})
    _, skipped = fresh.excluded([plain])
    assert (
        skipped[0].rule == f"include: /(a|aa)+$/ (gave up after {RULE_SECONDS} s: rewrite it) (f)"
    )


def sample():
    return read_paths(sorted(str(p) for p in SAMPLE_SEEDS.glob("*.txt"))).articles


def feed_file(path: Path, name: str, articles) -> Path:
    items = "".join(
        f"<item><title>{html.escape(a.title)}</title><guid>{name}-{n}</guid>"
        f"<link>https://{name}.example/{n}</link>"
        f"<pubDate>{format_datetime(dt.datetime.combine(a.date, dt.time(8), dt.UTC))}</pubDate>"
        f"<description>{html.escape(a.text)}</description></item>"
        for n, a in enumerate(articles)
    )
    path.write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>{items}'
        "</channel></rss>",
        encoding="utf-8",
    )
    return path


def config_with(tmp_path: Path, sources: str, selection: str = "") -> Path:
    path = tmp_path / "digest.yaml"
    path.write_text(
        "title: Rules Daily\ntimezone: UTC\nsources:\n"
        + sources
        + f"state: {tmp_path / 'state.sqlite3'}\n"
        + "selection:\n  max_articles: 50\n  lookback_days: 100000\n"
        + selection
        + "delivery:\n  from: d@example.com\n  to: [r@example.com]\n"
        + f"  outbox: {tmp_path / 'outbox'}\n"
    )
    return path


def preview_json(path: Path, tmp_path: Path) -> dict:
    return preview(load_config(path), tmp_path / "out")[0].to_json()


def test_include_exclude_cap_section_and_lookback_per_source(tmp_path):
    articles = sample()
    a = feed_file(tmp_path / "a.xml", "alpha", articles[:15])
    b = feed_file(tmp_path / "b.xml", "beta", articles[15:])
    config = config_with(
        tmp_path,
        f"  - feed: {a}\n"
        "    exclude: [/rail|train/i]\n"
        "    section: Alpha desk\n"
        "    max_per_source: 3\n"
        f"  - feed: {b}\n"
        "    include: [Uzbekistan, Kazakhstan]\n"
        "    lookback_days: 1\n",
    )
    report = preview_json(config, tmp_path)
    skipped = report["skipped"]
    alpha = [c for c in report["chosen"] if c["source"] == "alpha"]
    beta = [c for c in report["chosen"] if c["source"] == "beta"]
    assert len(alpha) == 3 and {c["section"] for c in alpha} == {"Alpha desk"}
    assert all(c["section"] != "Alpha desk" for c in beta)
    excluded = [s for s in skipped if s["reason"] == "excluded"]
    rules = {s["rule"] for s in excluded}
    assert f"exclude: /rail|train/i ({a})" in rules
    assert f"include: Uzbekistan, Kazakhstan ({b})" in rules
    assert f"max_per_source: 3 ({a})" in rules
    rail = pattern("/rail|train/i")
    assert {s["title"] for s in excluded if s["rule"].startswith("exclude")} == {
        x.title for x in articles[:15] if rail.search(x)
    }
    by_title = {x.title: x for x in articles}
    wanted = pattern("Uzbekistan"), pattern("Kazakhstan")
    assert beta and all(any(p.search(by_title[c["title"]]) for p in wanted) for c in beta)
    newest = max(x.date for x in articles)
    old = [s for s in skipped if s["reason"] == "too-old"]
    assert {s["title"] for s in old} == {
        x.title for x in articles[15:] if x.date < newest - dt.timedelta(days=1)
    }
    assert all(s["rule"] == f"lookback_days: 1 ({b})" for s in old)


def test_global_rules_under_selection(tmp_path):
    articles = sample()
    a = feed_file(tmp_path / "a.xml", "alpha", articles)
    config = config_with(
        tmp_path,
        f"  - feed: {a}\n",
        "  exclude: [Kazakhstan]\n  max_per_source: 2\n",
    )
    report = preview_json(config, tmp_path)
    assert len(report["chosen"]) == 2
    assert all("Kazakhstan" not in c["title"] for c in report["chosen"])
    rules = {s["rule"] for s in report["skipped"] if s["reason"] == "excluded"}
    assert rules == {"selection exclude: Kazakhstan", f"selection max_per_source: 2 ({a})"}


def test_a_bad_rule_is_a_config_error_naming_the_line(tmp_path):
    (tmp_path / "x.xml").write_text("<rss/>")
    path = config_with(tmp_path, f"  - feed: {tmp_path / 'x.xml'}\n    include: ['/(a/']\n")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert str(e.value) == (
        f"{path}:5: sources[0].include[0]: not a valid regular expression (missing ) at position 2)"
    )


def test_fetch_settings_and_their_bad_values(tmp_path):
    (tmp_path / "x.xml").write_text("<rss/>")
    path = config_with(tmp_path, f"  - feed: {tmp_path / 'x.xml'}\n    full_text: true\n")
    text = path.read_text()
    path.write_text(
        text + "fetch:\n  concurrency: 64\n  per_host: 3\n  timeout: 5\n"
        "  contact: https://news.example/about\n"
    )
    config = load_config(path)
    assert (config.fetch.concurrency, config.fetch.per_host, config.fetch.timeout) == (64, 3, 5.0)
    assert config.fetch.user_agent.endswith("+https://news.example/about)")
    assert config.sources[0].rules.full_text
    path.write_text(text + "fetch:\n  per_host: 0\n")
    with pytest.raises(ConfigError, match=r":15: fetch.per_host: must be at least 1, not 0"):
        load_config(path)
    path.write_text(text + "fetch:\n  retries: 3\n")
    with pytest.raises(ConfigError, match="retries"):
        load_config(path)
