"""Whole cycles through the command line, on the real pages and the shipped samples."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from conftest import IN_CI, ROOT, SAMPLE_SEEDS, digest_command, page

from digest.i18n import catalogue


def digest(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*digest_command(), *map(str, args)], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


def write_config(tmp_path: Path, sources: list[Path], **extra: str) -> Path:
    lines = [
        "title: Central Asia Daily",
        "timezone: Asia/Almaty",
        "sources:",
        *[f"  - {s}" for s in sources],
        f"state: {tmp_path / 'state.sqlite3'}",
        "selection:",
        f"  max_articles: {extra.pop('max_articles', '50')}",
        f"  lookback_days: {extra.pop('lookback_days', '100000')}",
        "delivery:",
        '  from: "Central Asia Daily <digest@example.com>"',
        "  to: [reader@example.com, editor@example.com]",
        f"  outbox: {tmp_path / 'outbox'}",
        '  unsubscribe_url: "https://example.com/unsubscribe?token={token}"',
    ]
    config = tmp_path / "digest.yaml"
    config.write_text("\n".join(lines) + "\n")
    return config


def run_json(*args) -> dict:
    result = digest(*args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_real_pages_one_at_a_time_choose_6_5_6_0_5(tmp_path, shared_seeds):
    """The pages arrive one run at a time; nothing is ever sent twice."""
    sent_titles: list[str] = []
    for key, expected in (("000", 6), ("002", 5), ("004", 6), ("001", 0), ("003", 5)):
        folder = tmp_path / key
        folder.mkdir()
        shutil.copy(page(key), folder)
        config = write_config(tmp_path, [folder / "*.txt"])
        report = run_json("--config", config, "run")
        chosen = [c["title"] for c in report["chosen"]]
        assert len(chosen) == expected, (key, chosen, report["skipped"])
        assert not set(chosen) & set(sent_titles)
        sent_titles += chosen
        if expected == 0:
            assert report["status"] == "empty" and report["delivered"] == []
            assert "nothing new" in report["message"]
        else:
            assert {d["status"] for d in report["delivered"]} == {"sent"}
    assert len(sent_titles) == 22


@pytest.mark.slow
def test_all_real_pages_at_once_give_22_stories(tmp_path, shared_seeds):
    config = write_config(tmp_path, [shared_seeds / "*.txt"])
    report = run_json("--config", config, "preview", "--out", tmp_path / "preview")
    titles = [c["title"] for c in report["chosen"]]
    assert len(titles) == 22
    for hard_case in (
        "U.S. Companies Seek Export Opportunities in Uzbekistan",
        "Uzbekistan Hosts 336 U.S. Companies",
        "Kazakhstan and Turkey to Increase Agricultural Trade",
        "Uzbekistan and Turkey Set $5 Billion Trade Target at Strategic Council Meeting in Ankara",
        "Border Violence Between Afghanistan and Pakistan: A New Risk for Central Asia",
    ):
        assert hard_case in titles
    same_story = [s for s in report["skipped"] if s["reason"] == "same-story"]
    assert len(same_story) == 1 and "Israel" in same_story[0]["title"]
    for item in report["chosen"]:
        assert set(item) >= {"title", "lead", "source", "line", "url", "section"}
    for rate in report["rates"]:
        assert set(rate) >= {"pair", "rate", "change_pct", "per_usd", "since_last_pct"}


@pytest.mark.slow
def test_preview_twice_then_run_choose_the_same_and_preview_writes_no_state(tmp_path):
    config = write_config(tmp_path, [SAMPLE_SEEDS / "*.txt"])
    state = tmp_path / "state.sqlite3"
    digest("--config", config, "history")  # reading history creates nothing either
    assert not state.exists()
    first = run_json("--config", config, "preview", "--out", tmp_path / "p1")
    assert not state.exists()
    second = run_json("--config", config, "preview", "--out", tmp_path / "p2")
    ran = run_json("--config", config, "run")
    assert first["chosen"] == second["chosen"] == ran["chosen"] and first["chosen"]
    before = sha(state)
    files = sorted(p.name for p in tmp_path.iterdir())
    third = run_json("--config", config, "preview", "--out", tmp_path / "p3")
    assert sha(state) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == files  # no -shm, no -wal
    assert third["chosen"] == [] and "nothing new" in third["message"]


@pytest.mark.slow
def test_preview_writes_html_text_and_the_full_message(tmp_path):
    config = write_config(tmp_path, [SAMPLE_SEEDS / "*.txt"])
    out = tmp_path / "preview"
    result = digest("--config", config, "preview", "--out", out)
    assert result.returncode == 0, result.stderr
    for name in ("digest.html", "digest.txt", "digest.eml"):
        assert str(out / name) in result.stdout
    message = email.message_from_bytes((out / "digest.eml").read_bytes())
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.get_payload()] == ["text/plain", "text/html"]
    # the title is the From name; the subject is the lead headline (issue 13)
    assert "Central Asia Daily" in message["From"]
    assert not message["Subject"].startswith("Central Asia Daily")


@pytest.mark.slow
def test_run_records_then_nothing_new_sends_nothing(tmp_path):
    config = write_config(tmp_path, [SAMPLE_SEEDS / "*.txt"])
    first = run_json("--config", config, "run")
    assert first["status"] == "delivered"
    outbox = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(outbox) == 2  # one message per recipient
    again = run_json("--config", config, "run")
    assert again["status"] == "empty" and again["chosen"] == []
    assert sorted((tmp_path / "outbox").glob("*.eml")) == outbox
    history = json.loads(digest("--config", config, "history", "--json").stdout)
    assert [h["status"] for h in history] == ["empty", "delivered"]
    assert {d["status"] for d in history[1]["deliveries"]} == {"sent"}


@pytest.mark.slow
def test_a_feed_file_named_in_latin_1_is_read_sent_and_remembered(tmp_path):
    """A file copied from Windows or a zip as "café.rss" in Latin-1 has a name that is no
    UTF-8, which Python holds with a lone surrogate ("caf\\udce9.rss"): every article of it
    was "left out: selection failed on it". They go out now, and are not sent again."""
    folder = tmp_path / "feeds"
    folder.mkdir()
    items = "".join(
        f"<item><title>{title}</title><link>https://kabar.example/{n}</link>"
        f"<description>{title}, the ministry said on Monday.</description></item>"
        for n, title in enumerate(["Snow Closes the Too-Ashuu Pass", "Bank Keeps Its Rate"])
    )
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Kabar</title>{items}'
    with open(os.path.join(os.fsencode(folder), b"caf\xe9.rss"), "wb") as f:
        f.write(feed.encode() + b"</channel></rss>")
    config = write_config(tmp_path, [folder])
    first = run_json("--config", config, "run")
    assert first["status"] == "delivered" and not first["problems"]
    assert len(first["chosen"]) == 2
    assert run_json("--config", config, "run")["status"] == "empty"


@pytest.mark.slow
def test_dry_run_sends_and_records_nothing(tmp_path):
    config = write_config(tmp_path, [SAMPLE_SEEDS / "*.txt"])
    report = run_json("--config", config, "run", "--dry-run")
    assert report["chosen"] and report["status"] == "dry-run"
    assert not (tmp_path / "state.sqlite3").exists()
    assert not (tmp_path / "outbox").exists()


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["not-sqlite", "truncated"])
def test_bad_state_file_is_exit_2_and_left_as_it_was(tmp_path, damage):
    config = write_config(tmp_path, [SAMPLE_SEEDS / "*.txt"])
    state = tmp_path / "state.sqlite3"
    if damage == "not-sqlite":
        state.write_bytes(b"PK\x03\x04 a zip file, not a database" * 100)
    else:
        assert digest("--config", config, "run").returncode == 0
        state.write_bytes(state.read_bytes()[:2048])
    before = sha(state)
    for command in (["run"], ["preview", "--out", tmp_path / "p"], ["history"]):
        result = digest("--config", config, *command)
        assert result.returncode == 2, (command, result.stderr)
        assert str(state) in result.stderr and "Traceback" not in result.stderr
    assert sha(state) == before


@pytest.mark.slow
def test_as_of_moves_the_lookback_window(tmp_path):
    config = write_config(tmp_path, [SAMPLE_SEEDS / "*.txt"], lookback_days="1")
    latest = run_json("--config", config, "preview", "--out", tmp_path / "a")
    early = run_json(
        "--config", config, "preview", "--out", tmp_path / "b", "--as-of", "2025-11-05"
    )
    assert latest["chosen"] and early["chosen"]
    assert {c["title"] for c in latest["chosen"]} != {c["title"] for c in early["chosen"]}
    assert any(s["reason"] == "too-old" for s in latest["skipped"])


@pytest.mark.slow
def test_unsubscribed_reader_gets_nothing_more(tmp_path):
    config = write_config(tmp_path, [SAMPLE_SEEDS / "*.txt"])
    result = digest("--config", config, "unsubscribe", "--email", "editor@example.com")
    assert result.returncode == 0 and "editor@example.com" in result.stdout
    report = run_json("--config", config, "run")
    assert [d["recipient"] for d in report["delivered"]] == ["reader@example.com"]


@pytest.mark.slow
def test_unsubscribing_an_international_address_stops_its_mail(tmp_path):
    config = write_config(tmp_path, [SAMPLE_SEEDS / "*.txt"])
    config.write_text(config.read_text().replace("editor@example.com", "leser@exämple.com"))
    assert digest("--config", config, "unsubscribe", "--email", "leser@exämple.com").returncode == 0
    report = run_json("--config", config, "run", "--dry-run")
    assert [d["recipient"] for d in report["delivered"]] == ["reader@example.com"]


@pytest.mark.slow
def test_shipped_config_previews_and_runs_out_of_the_box(tmp_path):
    """As on a fresh clone: the shipped config and samples, paths relative to the config."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    shutil.copytree(SAMPLE_SEEDS, tmp_path / "seeds")
    config = tmp_path / "config" / "digest.yaml"
    result = digest("--config", config, "preview", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["chosen"] and len(report["rates"]) == 5
    assert (tmp_path / "var" / "preview" / "digest.html").stat().st_size > 0
    ran = run_json("--config", config, "run")
    assert ran["status"] == "delivered"
    assert len(list((tmp_path / "var" / "outbox").glob("*.eml"))) == 1


@pytest.mark.slow
def test_preview_serve_serves_the_digest_on_loopback(tmp_path):
    import re
    import signal
    import urllib.request

    config = write_config(tmp_path, [SAMPLE_SEEDS / "*.txt"])
    server = subprocess.Popen(
        [
            *digest_command(),
            "--config",
            str(config),
            "preview",
            "--out",
            str(tmp_path / "p"),
            "--serve",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        url = None
        for line in server.stdout:
            match = re.search(r"serving (http://127\.0\.0\.1:\d+/digest\.html)", line)
            if match:
                url = match[1]
                break
        assert url, server.stderr.read()
        with urllib.request.urlopen(url, timeout=10) as response:
            body = response.read().decode()
        assert response.status == 200 and "Central Asia Daily" in body
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)
    assert not (tmp_path / "state.sqlite3").exists()


@pytest.mark.slow
def test_preview_open_without_a_browser_says_so(tmp_path):
    import os

    config = write_config(tmp_path, [SAMPLE_SEEDS / "*.txt"])
    env = {**os.environ, "PATH": str(Path(digest_command()[0]).parent), "BROWSER": ""}
    result = subprocess.run(
        [
            *digest_command(),
            "--config",
            str(config),
            "preview",
            "--out",
            str(tmp_path / "p"),
            "--open",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "no browser found on this machine" in result.stdout
    assert (tmp_path / "p" / "digest.html").resolve().as_uri() in result.stdout


FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>Early Morning Flood Warning Issued for Almaty</title>
<link>https://news.example/flood</link><guid>flood-1</guid>
<pubDate>Tue, 11 Nov 2025 02:00:00 +0500</pubDate>
<description>Almaty authorities issued a flood warning for the Big Almaty river before dawn on
Tuesday as warm weather melted early snow in the mountains.</description></item>
<item><title>Mis-Dated Item From the Far Future</title><guid>future-1</guid>
<pubDate>Sat, 01 Jan 2099 00:00:00 GMT</pubDate>
<description>This item carries a wrong date and must not push the rest out.</description></item>
</channel></rss>"""


@pytest.mark.slow
def test_feed_dates_are_days_in_the_config_zone_and_a_future_date_is_reported(tmp_path):
    feed = tmp_path / "feed.xml"
    feed.write_text(FEED)
    config = write_config(tmp_path, [SAMPLE_SEEDS / "*.txt"], lookback_days="7")
    config.write_text(config.read_text().replace("sources:\n", f"sources:\n  - feed: {feed}\n"))
    report = run_json("--config", config, "preview", "--out", tmp_path / "p")
    titles = [c["title"] for c in report["chosen"]]
    assert "Early Morning Flood Warning Issued for Almaty" in titles
    assert len(titles) > 10  # the sample pages are not pushed out as too old
    assert any("in the future" in p and "2099" in p for p in report["problems"])
    parsed = digest("--config", config, "parse", feed, "--json")
    assert json.loads(parsed.stdout)["articles"][0]["date"].startswith("2025-11-10T21:00")
    html = (tmp_path / "p" / "digest.html").read_text()
    assert "11 Nov 2025" in html  # the story keeps its date: the flood item's day in Almaty


@pytest.mark.slow
def test_skip_empty_false_still_sends_the_rates_and_says_nothing_is_new(tmp_path):
    config = write_config(tmp_path, [SAMPLE_SEEDS / "*.txt"])
    assert run_json("--config", config, "run")["status"] == "delivered"
    quiet = run_json("--config", config, "run")
    assert quiet["status"] == "empty" and quiet["delivered"] == []
    config.write_text(config.read_text() + "skip_empty: false\n")
    report = run_json("--config", config, "run")
    assert report["status"] == "delivered" and report["chosen"] == []
    newest = max((tmp_path / "outbox").glob("*.eml"), key=lambda p: p.stat().st_mtime)
    message = email.message_from_bytes(newest.read_bytes(), policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()
    assert "Nothing new since the last digest." in text and "Kyrgyz som: 87.4" in text
    assert [r["since_last_pct"] for r in report["rates"]] == [0.0] * 5  # same page as before
    # what the change compares with is dated: the first issue (the second run sent none)
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        first = db.execute("SELECT digest_date FROM issues ORDER BY id LIMIT 1").fetchone()[0]
    day = catalogue("en").date(dt.date.fromisoformat(first), "short")
    assert f"change since the last digest ({day})" in text


@pytest.mark.slow
def test_a_digest_too_big_for_gmail_shows_its_last_stories_as_headlines(tmp_path):
    """Real news (ECB+ dev: 460 articles, about 60 stories) with room for every story and
    120-word leads makes an HTML over Gmail's clip (about 102 KB: the rest of the message,
    the unsubscribe link with it, hidden). Every story is still sent, none held back: the
    fewest, last in the selection's order, are shown as their headline alone, up to 100,000
    bytes, and a note says so."""
    import html as html_module

    from digest.plan import MAX_HTML_BYTES

    data = ROOT.parent / "shared" / "data" / "ecbplus_dev.json"
    if not data.exists():
        pytest.fail(f"needs {data}") if IN_CI else pytest.skip(f"needs {data}")
    entries = []
    for n, a in enumerate(json.loads(data.read_text(encoding="utf-8"))["articles"]):
        body = "".join(f"<p>{html_module.escape(p)}</p>" for p in a["text"].split("\n\n"))
        entries.append(
            f"<entry><id>urn:ecb:{a['id']}</id><title>{html_module.escape(a['title'])}</title>"
            f'<link href="https://news{n % 7}.example/{a["id"]}"/>'
            f"<updated>2024-03-04T{6 + n % 12:02d}:00:00Z</updated>"
            f'<content type="html">{html_module.escape(body)}</content></entry>'
        )
    feed = tmp_path / "wire.xml"
    feed.write_text(
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Wire</title><id>urn:wire</id><updated>2024-03-04T23:00:00Z</updated>"
        + "".join(entries)
        + "</feed>",
        encoding="utf-8",
    )
    config = write_config(tmp_path, [f"feed: {feed}"], max_articles="1000")
    config.write_text(config.read_text() + "summary: {max_words: 120}\n")

    preview = run_json("--config", config, "preview", "--out", tmp_path / "preview")
    assert not [s for s in preview["skipped"] if s["reason"] == "over-limit"]
    [note] = [n for n in preview["notes"] if "Gmail" in n]
    brief = int(note.split(" of ")[0])
    assert 0 < brief < len(preview["chosen"]) - 10
    html = (tmp_path / "preview" / "digest.html").read_text(encoding="utf-8")
    assert len(html.encode()) <= MAX_HTML_BYTES
    assert html.count('class="lead"') <= len(preview["chosen"]) - brief
    top = preview["chosen"][0]
    assert top["lead"] and html_module.escape(top["lead"][:40]) in html

    first = run_json("--config", config, "run")
    assert [c["url"] for c in first["chosen"]] == [c["url"] for c in preview["chosen"]]
    for eml in (tmp_path / "outbox").glob("*.eml"):
        message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        assert len(message.get_body(("html",)).get_content().encode()) <= MAX_HTML_BYTES + 200
    assert run_json("--config", config, "run")["chosen"] == []  # every story went out


def _text_part(out: Path) -> str:
    message = email.message_from_bytes(
        (out / "digest.eml").read_bytes(), policy=email.policy.default
    )
    return message.get_body(("plain",)).get_content()


@pytest.mark.slow
def test_as_of_shows_the_rates_of_that_day_not_a_later_pages(tmp_path, shared_seeds):
    """`preview --as-of 2025-12-08` on the real pages chose that day's stories under the rates
    of 21 Feb 2026, a page published after it (KZT 0.00200, TJS 0.10593)."""
    config = write_config(tmp_path, [shared_seeds / "*.txt"], lookback_days="7")
    out = tmp_path / "p"
    report = run_json("--config", config, "preview", "--out", out, "--as-of", "2025-12-08")
    rates = {r["pair"]: r["rate"] for r in report["rates"]}
    assert rates["KZT/USD"] == 0.00196 and rates["TJS/USD"] in (0.10899, 0.10904), rates
    assert "1 US dollar buys · 8 Dec 2025:" in _text_part(out)


STALE_RATES_FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>Kun.uz</title>
<link>https://kun.uz/en</link>
<item><title>Tashkent Opens a New Metro Line</title>
<link>https://kun.uz/en/news/2026/03/02/metro</link>
<pubDate>Mon, 02 Mar 2026 11:00:00 +0500</pubDate>
<description>Tashkent opened a new metro line on Monday, linking the Yunusabad district to the
centre, the city's mayor said.</description></item>
</channel></rss>"""


@pytest.mark.slow
def test_rates_older_than_the_lookback_are_not_shown_as_todays(tmp_path):
    """The only rate ticker is a page of 21 Feb 2026 and the news is of 2 March: the digest
    headed its news with "1 US dollar buys · 21 Feb 2026" and its preheader said "$1 buys
    87.5 KGS, ≈500 KZT, …" with no date. Rates older than the lookback, like stories, are not
    shown; a note says why."""
    feed = tmp_path / "feed.xml"
    feed.write_text(STALE_RATES_FEED)
    config = write_config(tmp_path, [page("003"), f"feed: {feed}"], lookback_days="7")
    out = tmp_path / "p"
    report = run_json("--config", config, "preview", "--out", out)
    assert [c["title"] for c in report["chosen"]] == ["Tashkent Opens a New Metro Line"]
    assert report["rates"] == []
    assert any("no rates shown" in n and "2026-02-23" in n for n in report["notes"])
    assert "dollar" not in _text_part(out)
    assert "$1 buys" not in (out / "digest.html").read_text()


@pytest.mark.slow
def test_a_page_dated_in_the_future_does_not_give_the_days_rates(tmp_path):
    """One sample page dated "08 November 2027" (a year mistyped) among pages of November
    2025: its stories were said to be in the future, but its ticker headed the digest as the
    day's rates ("$1 buys 10 KGS" from a made-up 0.09999), over the newest real page's."""
    report = _preview_with_a_page_of_2027(tmp_path)
    rates = {r["pair"]: r["rate"] for r in report["rates"]}
    assert rates["KGS/USD"] == 0.01144 and rates["KZT/USD"] == 0.00196, rates
    assert any("in the future" in p for p in report["problems"])


@pytest.mark.slow
def test_a_story_dated_in_the_future_does_not_lead_the_digest(tmp_path):
    """The same page's "Kazakhstan and China Expand Copper ..." was the top story and the
    Subject: the newest, by its mistyped date."""
    report = _preview_with_a_page_of_2027(tmp_path)
    top = report["chosen"][0]
    assert top["date"] == "2025-11-10", top


def _preview_with_a_page_of_2027(tmp_path: Path) -> dict:
    """A preview of the sample pages, one of them dated "08 November 2027" (a year mistyped)
    and its KGS quote made up (0.09999)."""
    pages = tmp_path / "pages"
    shutil.copytree(SAMPLE_SEEDS, pages)
    future = pages / "2025-11-08_front.txt"
    text = future.read_text(encoding="utf-8")
    text = text.replace("08 November 2025", "08 November 2027")
    future.write_text(text.replace("KGS/USD = 0.01145", "KGS/USD = 0.09999"), encoding="utf-8")
    config = write_config(tmp_path, [pages / "*.txt"], lookback_days="7")
    return run_json("--config", config, "preview", "--out", tmp_path / "p")


DATE_ONLY_RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Gazeta</title>
<link>https://gazeta.uz/</link>
<item><title>Uzbekistan Adopts Its 2026 Budget</title><link>https://gazeta.uz/a/1</link>
<dc:date>2025-11-09</dc:date><description>Uzbekistan's parliament adopted the 2026 state budget
on Sunday, raising spending on schools by a fifth.</description></item>
</channel></rss>"""
DATE_ONLY_JSON = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "Kun.uz",
    "home_page_url": "https://kun.uz/",
    "items": [
        {
            "id": "1",
            "url": "https://kun.uz/news/1",
            "title": "Samarkand Opens a Winter Festival",
            "content_text": "Samarkand opened its first winter festival on Sunday with concerts "
            "on the Registan square.",
            "date_published": "2025-11-09",
        }
    ],
}


@pytest.mark.slow
@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Almaty"])
def test_a_date_written_without_a_time_is_that_day_in_any_zone(tmp_path, zone):
    """A feed that dates its entries by day alone (dc:date "2025-11-09", a JSON Feed's
    "2025-11-09") was read as midnight UTC: in New York the digest dated both stories
    "8 Nov 2025", the day before the one the feed wrote."""
    rss, jsonfeed = tmp_path / "gazeta.xml", tmp_path / "kun.json"
    rss.write_text(DATE_ONLY_RSS, encoding="utf-8")
    jsonfeed.write_text(json.dumps(DATE_ONLY_JSON), encoding="utf-8")
    config = write_config(tmp_path, [f"feed: {rss}", f"feed: {jsonfeed}"])
    config.write_text(config.read_text().replace("Asia/Almaty", zone))
    report = run_json("--config", config, "preview", "--out", tmp_path / "p")
    assert {c["title"]: c["date"] for c in report["chosen"]} == {
        "Uzbekistan Adopts Its 2026 Budget": "2025-11-09",
        "Samarkand Opens a Winter Festival": "2025-11-09",
    }
