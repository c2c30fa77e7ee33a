"""Whole cycles over feeds served on loopback: a second run over unchanged feeds is all 304s
and loses none of the stories that wait; preview never writes the feed cache; a feed that
keeps failing is a warning; `digest sources` shows each feed's health; the digest's links are
the articles' own."""

from __future__ import annotations

import datetime as dt
import html
import json
import subprocess
from email.utils import format_datetime
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLE_SEEDS, digest_command
from test_feeds_wild import BING_NEWS, ROSATOM, reddit, wordpress
from web_server import Page, Site, redirect

from digest.config import load_config
from digest.pipeline import preview, run
from digest.sources import read_paths
from digest.state import Store

pytestmark = pytest.mark.slow  # real servers on loopback


def sample_articles():
    return read_paths(sorted(str(p) for p in SAMPLE_SEEDS.glob("*.txt"))).articles


def rss(name: str, articles) -> bytes:
    items = "".join(
        "<item><title>{}</title><link>https://{}.example/{}</link><guid>{}-{}</guid>"
        "<pubDate>{}</pubDate><description>{}</description></item>".format(
            html.escape(a.title),
            name,
            n,
            name,
            n,
            format_datetime(dt.datetime.combine(a.date, dt.time(8), dt.UTC)),
            html.escape("".join(f"<p>{html.escape(p)}</p>" for p in a.text.split("\n\n"))),
        )
        for n, a in enumerate(articles)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{name}</title><link>https://{name}.example/</link>{items}</channel></rss>"
    ).encode()


def write_config(tmp_path: Path, feeds: list[str], extra: str = "", max_articles: int = 4) -> Path:
    config = tmp_path / "digest.yaml"
    config.write_text(
        "title: Feeds Daily\n"
        "timezone: UTC\n"
        "sources:\n"
        + "".join(f"  - feed: {u}\n" for u in feeds)
        + f"state: {tmp_path / 'state.sqlite3'}\n"
        + f"selection:\n  max_articles: {max_articles}\n  lookback_days: 100000\n"
        + "delivery:\n"
        '  from: "Feeds Daily <digest@example.com>"\n'
        "  to: [reader@example.com]\n"
        f"  outbox: {tmp_path / 'outbox'}\n"
        '  unsubscribe_url: "https://example.com/unsubscribe?token={token}"\n' + extra
    )
    return config


@pytest.fixture
def site():
    s = Site("127.0.0.1")
    yield s
    s.close()


def test_a_second_run_over_unchanged_feeds_is_all_304_and_loses_no_waiting_story(tmp_path, site):
    articles = sample_articles()
    names = ["steppe", "caspian", "pamir"]
    for n, name in enumerate(names):
        site.routes[f"/{name}.xml"] = Page(rss(name, articles[n::3]), etag=f'"{name}-1"')
    config = load_config(write_config(tmp_path, [site.url(f"/{n}.xml") for n in names]))

    shown = preview(config, tmp_path / "preview")[0].to_json()
    assert len(shown["chosen"]) == 4
    with Store.open(tmp_path / "state.sqlite3", readonly=True) as store:
        assert store.feed_caches() == {}

    first = run(config).to_json()
    second = run(config).to_json()
    assert first["problems"] == second["problems"] == []
    for name in names:
        answers = site.asked(f"/{name}.xml")
        assert "If-None-Match" not in answers[0]  # the preview remembered nothing
        assert "If-None-Match" not in answers[1]
        assert answers[2]["If-None-Match"] == f'"{name}-1"'
    titles = [c["title"] for c in first["chosen"] + second["chosen"]]
    assert len(titles) == len(set(titles)) == 8  # the stories waiting came in the second run
    with Store.open(tmp_path / "state.sqlite3", readonly=True) as store:
        cache = store.feed_caches()
    assert {c.status for c in cache.values()} == {"304"}
    assert all(c.body and c.entries >= 9 for c in cache.values())

    result = subprocess.run(
        [*digest_command(), "--config", str(config.path), "sources", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    health = json.loads(result.stdout)["sources"]
    assert [h["source"] for h in health] == [site.url(f"/{n}.xml") for n in names]
    assert all(h["status"] == "304" and h["failures"] == 0 for h in health)
    assert [h["entries"] for h in health] == [len(articles[n::3]) for n in range(3)]
    text = subprocess.run(
        [*digest_command(), "--config", str(config.path), "sources"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    ).stdout.splitlines()
    assert text[0] == site.url("/steppe.xml")
    assert text[1].startswith(f"    last fetch {health[0]['last_fetch']}: 304; last success ")
    assert text[1].endswith(f"0 failures in a row; 10 entries, {health[0]['bytes']:,} bytes")


def test_a_feed_failing_runs_in_a_row_is_a_warning_and_the_others_are_read(tmp_path, site):
    articles = sample_articles()
    site.routes["/ok.xml"] = Page(rss("ok", articles[:5]))
    site.routes["/broken.xml"] = Page(b"oops", 500)
    config = load_config(
        write_config(tmp_path, [site.url("/ok.xml"), site.url("/broken.xml")], max_articles=1)
    )
    reports = [run(config).to_json() for _ in range(3)]
    broken = site.url("/broken.xml")
    assert reports[0]["problems"] == [  # a feed never read may be a typo in the config
        f"{broken}: the server answered HTTP 500 Internal Server Error; "
        "never read yet: is its address in `feed:` right?"
    ]
    assert reports[2]["problems"] == [
        f"{broken}: the server answered HTTP 500 Internal Server Error; "
        "warning: failed 3 fetches in a row (never read)"
    ]
    assert all(len(r["chosen"]) == 1 for r in reports)


def test_a_moved_feed_is_reported_until_the_config_is_updated(tmp_path, site):
    moved = redirect(301, "/new.xml")
    site.routes["/old.xml"] = moved
    site.routes["/new.xml"] = Page(rss("new", sample_articles()[:3]))
    config = load_config(write_config(tmp_path, [site.url("/old.xml")]))
    first = run(config).to_json()
    second = run(config).to_json()
    expected = (
        f"{site.url('/old.xml')}: moved permanently to {site.url('/new.xml')}: "
        "update `feed:` in the config"
    )
    assert first["problems"] == second["problems"] == [expected]
    assert len(site.asked("/old.xml")) == 1


@pytest.mark.parametrize(
    ("status", "said"),
    [
        (503, "HTTP 503 Service Unavailable"),
        # a feed gone for good says to take it out of the config
        (410, "HTTP 410 Gone: the feed is gone for good; take it out of `feed:`"),
    ],
)
def test_a_feed_that_fails_after_a_good_run_is_read_from_its_last_copy(
    tmp_path, site, status, said
):
    articles = sample_articles()
    site.routes["/f.xml"] = Page(rss("f", articles[:6]))
    config = load_config(write_config(tmp_path, [site.url("/f.xml")], max_articles=2))
    first = run(config).to_json()
    site.routes["/f.xml"] = Page(b"<html><body><h1>down</h1></body></html>", status)
    second = run(config).to_json()
    with Store.open(tmp_path / "state.sqlite3", readonly=True) as store:
        cache = store.feed_caches()[site.url("/f.xml")]
    assert second["problems"] == [
        f"{site.url('/f.xml')}: the server answered {said}; its last copy ({cache.last_success}) "
        "read"
    ]
    assert (cache.status, cache.failures) == (str(status), 1)
    assert len(second["chosen"]) == 2
    assert not {c["title"] for c in first["chosen"]} & {c["title"] for c in second["chosen"]}


def test_the_digest_links_each_story_to_its_article_clean_under_its_outlet(tmp_path, site):
    """A WordPress feed (utm_* on every link), a subreddit (link posts: the entry links to
    its comments page) and Bing News (a click counter for a link, the outlet in
    <News:Source>), served as their services serve them: every story links to the article,
    without tracking parameters, under the outlet that wrote it."""
    kaspi = "https://kursiv.media/en/2026-12-06/kaspi-q3/"
    site.routes["/astanatimes.xml"] = Page(wordpress(
        "Kazakhstan picks Rosatom to lead construction of its first nuclear power plant",
        "kazakhstan-picks-rosatom", ROSATOM,
    ))  # fmt: skip
    site.routes["/r/Kazakhstan/.rss"] = Page(reddit((
        "1h8xk9z", "Kaspi's quarterly profit beats forecasts as lending grows 30%",
        f"{kaspi}?utm_source=share&utm_medium=web3x&utm_name=web3xcss", "tenge_watcher",
    )))  # fmt: skip
    site.routes["/bing.xml"] = Page(BING_NEWS)
    feeds = [site.url(p) for p in ("/astanatimes.xml", "/r/Kazakhstan/.rss", "/bing.xml")]
    config = load_config(write_config(tmp_path, feeds))
    report, _ = preview(config, tmp_path / "preview")
    reuters = "https://www.reuters.com/business/energy/kazakhstan-chooses-rosatom-2026-12-06/"
    told = [
        (c["source"], c["url"], [(a["source"], a["url"]) for a in c["also"]])
        for c in report.to_json()["chosen"]
    ]
    assert told == [
        (
            "The Astana Times",
            "https://astanatimes.com/2026/12/kazakhstan-picks-rosatom/",
            [("Reuters", reuters)],
        ),
        ("Kazakhstan", kaspi, []),  # the subreddit tells it; its link is the article
    ]
    text = (tmp_path / "preview" / "digest.txt").read_text()
    assert kaspi in text and "utm_" not in text and "reddit.com/r/Kazakhstan/comments" not in text


def test_an_article_two_section_feeds_of_its_site_carry_is_not_also_reported_by_the_other(
    tmp_path, site
):
    """A site's "World" and "Asia" feeds both carry its article, under one link: the story
    said "Also reported by: BBC News - Asia", linking the very article shown."""
    link = "https://www.bbc.example/news/articles/c8rosatom"
    text = (
        "Kazakhstan has chosen Russia's Rosatom to lead the building of its first nuclear power "
        "plant, near the village of Ulken on Lake Balkhash, the Agency for Atomic Energy said."
    )
    for section in ("World", "Asia"):
        item = (
            f"<item><title>Kazakhstan picks Rosatom to build its first nuclear plant</title>"
            f"<link>{link}</link><guid isPermaLink='false'>c8rosatom</guid>"
            f"<pubDate>{format_datetime(dt.datetime(2026, 12, 6, 9, tzinfo=dt.UTC))}</pubDate>"
            f"<description>{text}</description></item>"
        )
        site.routes[f"/{section}.xml"] = Page(
            f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>BBC News - {section}</title><link>https://www.bbc.example/news</link>"
            f"{item}</channel></rss>".encode()
        )
    config = load_config(write_config(tmp_path, [site.url("/World.xml"), site.url("/Asia.xml")]))
    report, _ = preview(config, tmp_path / "preview")
    told = [(c["source"], c["url"], c["also"]) for c in report.to_json()["chosen"]]
    assert told == [("BBC News - World", link, [])]
    assert "Also reported by" not in (tmp_path / "preview" / "digest.txt").read_text()


def test_a_telegram_bridge_titling_every_post_with_its_channel_sends_each_post_as_it_comes(
    tmp_path, site
):
    """A bridge's feed whose every post is titled with the channel's name, two runs a day
    apart through a relay: each post is sent once, headlined by its first sentence, and none
    is taken for another (the channel's name made them one story: posts lost that day and
    the next)."""
    from smtp_server import SmtpServer

    posts = [
        "Almaty's metro will run until 1 a.m. from 15 December, the akimat said. Fares stay.",
        "Astana airport closed for four hours on Tuesday because of fog; 23 flights diverted.",
        "Kazakhstan will raise the minimum wage to 93,000 tenge from January 1, the ministry said.",
        "Roads between Shymkent and Taraz are closed to trucks after heavy snow, officials said.",
        "Air Astana will fly from Almaty to Tokyo Narita from April, three times a week.",
    ]

    def channel(count: int) -> bytes:
        entries = "".join(
            f"<entry><title>Orda.kz</title><id>https://t.me/ordakz/{5000 + n}</id>"
            f'<link href="https://t.me/ordakz/{5000 + n}"/>'
            f"<updated>2026-12-0{n + 1}T09:00:00+05:00</updated>"
            f'<content type="html">{html.escape(f"<p>{posts[n]}</p>")}</content></entry>'
            for n in reversed(range(count))
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            "<title>Orda.kz</title><id>https://t.me/s/ordakz</id>"
            f'<link href="https://t.me/s/ordakz"/>{entries}</feed>'
        ).encode()

    with SmtpServer() as relay:
        smtp = f"  smtp:\n    host: 127.0.0.1\n    port: {relay.port}\n    security: none\n"
        path = write_config(tmp_path, [site.url("/ordakz.xml")], smtp, max_articles=10)
        path.write_text(path.read_text().replace(f"  outbox: {tmp_path / 'outbox'}\n", ""))
        config = load_config(path)
        site.routes["/ordakz.xml"] = Page(channel(3))
        first = run(config).to_json()
        site.routes["/ordakz.xml"] = Page(channel(5))
        second = run(config).to_json()
        subjects = [m.message["Subject"] for m in relay.messages]
    sent = [c["title"] for c in first["chosen"] + second["chosen"]]
    assert sorted(sent) == [
        "Air Astana will fly from Almaty to Tokyo Narita from April, three times a week",
        "Almaty's metro will run until 1 a.m. from 15 December, the akimat said",
        "Astana airport closed for four hours on Tuesday because of fog; 23 flights diverted",
        "Kazakhstan will raise the minimum wage to 93,000 tenge from January 1, the ministry said",
        "Roads between Shymkent and Taraz are closed to trucks after heavy snow, officials said",
    ]
    assert [s["reason"] for s in second["skipped"]] == ["already-sent"] * 3
    assert len(subjects) == 2 and not any(s.startswith("Orda.kz") for s in subjects)


def test_a_long_feed_history_read_again_after_a_304_gives_the_same_articles(tmp_path, site):
    """A site's whole history (400 items, one every six hours, a footer under each, some
    with a photo credit or a call to click): what a 304 reads again from the state is what
    the first fetch read, the stories in the window are each sent once, none lost."""
    articles = sample_articles()
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    items = []
    for k in range(400):
        a = articles[k % len(articles)]
        paragraphs = [f"{p} ({k})" for p in a.text.split("\n\n")[:3]]
        paragraphs += ["Photo: Steppe Archive" if k % 3 else "For the full story, click here."]
        paragraphs += ["Subscribe to our newsletter for the week's stories, every Friday."]
        body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
        items.append(
            f"<item><title>{html.escape(a.title)} ({k})</title>"
            f"<link>https://history.example/{k}</link><guid>history-{k}</guid>"
            f"<pubDate>{format_datetime(now - dt.timedelta(hours=6 * k))}</pubDate>"
            f"<description>{html.escape(body)}</description></item>"
        )
    feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>History'
        f"</title><link>https://history.example/</link>{''.join(items)}</channel></rss>"
    ).encode()
    site.routes["/history.xml"] = Page(feed, etag='"history-1"')
    path = write_config(tmp_path, [site.url("/history.xml")], max_articles=8)
    path.write_text(path.read_text().replace("lookback_days: 100000", "lookback_days: 3"))
    config = load_config(path)

    def read(shown: dict) -> list[tuple[str, str | None]]:
        """Every article the run read: its title, and its lead or why it was skipped."""
        return sorted(
            [(c["title"], c["lead"]) for c in shown["chosen"]]
            + [(s["title"], s["reason"]) for s in shown["skipped"]]
        )

    fetched = preview(config, tmp_path / "preview")[0].to_json()  # 200, nothing remembered
    first = run(config).to_json()
    again = preview(config, tmp_path / "preview")[0].to_json()  # 304: the body remembered
    second = run(config).to_json()
    answers = site.asked("/history.xml")
    assert [("If-None-Match" in a) for a in answers] == [False, False, True, True]
    assert first["problems"] == again["problems"] == second["problems"] == []
    assert read(fetched) == read(first)  # nothing sent yet: the same reasons
    assert len(read(again)) == len(read(fetched)) == 400
    old = {s["title"] for s in fetched["skipped"] if s["reason"] == "too-old"}
    assert old == {s["title"] for s in again["skipped"] if s["reason"] == "too-old"}
    assert len(old) >= 380
    leads = [c["lead"] for c in first["chosen"] + second["chosen"]]
    assert not [lead for lead in leads if "Subscribe" in lead or "Photo:" in lead]
    assert not [lead for lead in leads if "click here" in lead]
    sent = [c["title"] for c in first["chosen"]]
    assert len(sent) == 8
    assert {s["title"] for s in again["skipped"] if s["reason"] == "already-sent"} >= set(sent)
    assert [c["title"] for c in again["chosen"]] == [c["title"] for c in second["chosen"]]
    assert second["chosen"] and not {c["title"] for c in second["chosen"]} & set(sent)
    assert not [s for s in second["skipped"] if s["reason"] == "over-limit"]  # none waits
