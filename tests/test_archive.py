"""The archive: real runs, then `digest archive`; what a reader of the site and the feed sees."""

from __future__ import annotations

import datetime as dt
import html
import json
import multiprocessing
import re
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import feedparser
import pytest
from conftest import ROOT, SAMPLE_SEEDS, digest_command

from digest import archive as archive_mod
from digest.config import load_config
from digest.state import Store

ATOM = "{http://www.w3.org/2005/Atom}"
URL = "https://news.example.com/archive/"
HOSTILE = '<script>alert(1)</script> & "Tom\'s"'  # as tests/test_render.py uses for the e-mail
READERS = ("reader@example.com", "editor@example.com")


def digest(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*digest_command(), *map(str, args)], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


def write_config(tmp_path: Path, sources: str, archive: str | None = f"  url: {URL}") -> Path:
    lines = [
        "title: Central Asia Daily",
        "timezone: Asia/Almaty",
        "sources:",
        f"  - {sources}",
        f"state: {tmp_path / 'state.sqlite3'}",
        "selection:",
        "  max_articles: 50",
        "  lookback_days: 100000",
        "delivery:",
        '  from: "Central Asia Daily <digest@example.com>"',
        f"  to: [{', '.join(READERS)}]",
        f"  outbox: {tmp_path / 'outbox'}",
        '  unsubscribe_url: "https://example.com/unsubscribe?token={token}"',
    ]
    if archive is not None:
        lines += ["archive:", archive, f"  folder: {tmp_path / 'site'}"]
    config = tmp_path / "digest.yaml"
    config.write_text("\n".join(lines) + "\n")
    return config


def run_json(*args: object) -> dict:
    result = digest(*args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


class Page(HTMLParser):
    """What a browser would see: the text, the tags, the links."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.chunks.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.chunks).split())

    @property
    def links(self) -> list[str]:
        return [a["href"] for t, a in self.tags if t == "a" and "href" in a]


def two_runs(tmp_path: Path, archive: str | None = f"  url: {URL}") -> tuple[Path, list[dict]]:
    """Two real deliveries into the outbox: the first two sample pages, then the rest."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    pages = sorted(SAMPLE_SEEDS.glob("*.txt"))
    config = write_config(tmp_path, str(inbox / "*.txt"), archive)
    reports = []
    for batch in (pages[:2], pages[2:]):
        for p in batch:
            shutil.copy(p, inbox)
        report = run_json("--config", config, "run")
        assert report["status"] == "delivered", report
        reports.append(report)
    return config, reports


def names_in_state(state: Path) -> list[str]:
    conn = sqlite3.connect(state)
    rows = conn.execute("SELECT digest_date, run_id FROM issues ORDER BY id").fetchall()
    conn.close()
    return [f"{d}-{r}" for d, r in rows]


def tokens_in_state(state: Path) -> list[str]:
    conn = sqlite3.connect(state)
    tokens = [r[0] for r in conn.execute("SELECT token FROM subscribers")]
    conn.close()
    return tokens


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# --- Atom, as RFC 4287 says it must be ------------------------------------------------------------

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


def assert_valid_atom(data: bytes) -> ET.Element:
    """The RFC 4287 rules a validator checks for what we write: one id (an absolute IRI),
    title and updated (RFC 3339) per feed and entry, an author, links with href, at most one
    alternate link per type, content types it knows, unique entry ids."""
    root = ET.fromstring(data)
    assert root.tag == f"{ATOM}feed"

    def one(el: ET.Element, tag: str) -> ET.Element:
        found = el.findall(f"{ATOM}{tag}")
        assert len(found) == 1, (el.tag, tag, len(found))
        return found[0]

    def check_common(el: ET.Element) -> None:
        assert IRI.match(one(el, "id").text or ""), one(el, "id").text
        assert (one(el, "title").text or "").strip()
        assert RFC3339.match(one(el, "updated").text or "")
        for link in el.findall(f"{ATOM}link"):
            assert link.get("href"), link.attrib
        alternates = [
            link.get("type") for link in el.findall(f"{ATOM}link") if link.get("rel") == "alternate"
        ]
        assert len(alternates) == len(set(alternates))

    check_common(root)
    assert root.findall(f"{ATOM}author/{ATOM}name"), "a feed needs an author"
    assert [x for x in root.findall(f"{ATOM}link") if x.get("rel") == "self"]
    ids = []
    for entry in root.findall(f"{ATOM}entry"):
        check_common(entry)
        ids.append(one(entry, "id").text)
        assert [x for x in entry.findall(f"{ATOM}link") if x.get("rel") == "alternate"]
        content = one(entry, "content")
        assert content.get("type") in ("text", "html", "xhtml")
        for tag in ("published",):
            for el in entry.findall(f"{ATOM}{tag}"):
                assert RFC3339.match(el.text or "")
    assert len(ids) == len(set(ids))
    return root


# --- the whole story ------------------------------------------------------------------------------


@pytest.mark.slow
def test_two_runs_then_archive_index_pages_and_feed(tmp_path):
    config, reports = two_runs(tmp_path)
    site = tmp_path / "site"
    names = names_in_state(tmp_path / "state.sqlite3")
    assert len(names) == 2

    result = digest("--config", config, "archive")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith(names[1])  # newest first, by name
    assert "2 issues" in result.stdout

    index = Page((site / "index.html").read_text(encoding="utf-8"))
    issue_links = [h for h in index.links if h.startswith("issues/")]
    assert issue_links == [f"issues/{names[1]}.html", f"issues/{names[0]}.html"]
    for name, report in zip(names, reports, strict=True):
        page = Page((site / "issues" / f"{name}.html").read_text(encoding="utf-8"))
        for chosen in report["chosen"]:
            assert chosen["title"] in page.text
            assert chosen["title"] in index.text or len(report["chosen"]) > 5
        assert report["chosen"][0]["title"] in index.text  # the top story heads its issue
        assert "../index.html" in page.links and "../feed.xml" in page.links
        assert "Unsubscribe" not in page.text

    data = (site / "feed.xml").read_bytes()
    root = assert_valid_atom(data)
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "Central Asia Daily"
    assert [e.title for e in parsed.entries] == [r["subject"] for r in reversed(reports)]
    assert [e.link for e in parsed.entries] == [f"{URL}issues/{n}.html" for n in reversed(names)]
    for entry, report in zip(parsed.entries, reversed(reports), strict=True):
        content = Page(entry.content[0].value)
        for chosen in report["chosen"]:
            assert chosen["title"] in content.text and chosen["lead"] in content.text
        assert entry.updated_parsed and entry.id.startswith("urn:uuid:")
    assert root.find(f"{ATOM}link[@rel='self']").get("href") == f"{URL}feed.xml"


@pytest.mark.slow
def test_nothing_of_a_reader_anywhere_in_the_archive(tmp_path):
    config, _ = two_runs(tmp_path)
    assert digest("--config", config, "archive").returncode == 0
    tokens = tokens_in_state(tmp_path / "state.sqlite3")
    assert len(tokens) == 2
    # The sent messages do carry them: the check below looks for something that is there.
    sent = b"".join(p.read_bytes() for p in (tmp_path / "outbox").glob("*.eml"))
    assert all(t.encode() in sent for t in tokens)
    files = [p for p in (tmp_path / "site").rglob("*") if p.is_file()]
    assert len(files) == 5  # index, feed, two pages, and the empty .lock of its writers
    for path in files:
        data = path.read_bytes()
        for secret in [*tokens, *READERS, "token=", "{unsubscribe_url}", "unsubscribe"]:
            assert secret.encode() not in data.lower(), (path, secret)


@pytest.mark.slow
def test_the_run_refreshes_the_archive_and_a_second_archive_rewrites_nothing(tmp_path):
    config, _ = two_runs(tmp_path)
    site = tmp_path / "site"
    names = names_in_state(tmp_path / "state.sqlite3")
    # `archive:` is configured: each run brought the site up to date itself.
    assert sorted(p.stem for p in (site / "issues").glob("*.html")) == sorted(names)
    before = snapshot(site)
    state = (tmp_path / "state.sqlite3").read_bytes()
    result = digest("--config", config, "archive")
    assert result.returncode == 0, result.stderr
    assert "0 files written, 4 unchanged" in result.stdout
    assert snapshot(site) == before  # same bytes, same mtimes
    assert (tmp_path / "state.sqlite3").read_bytes() == state  # nothing written to the state
    assert not Path(f"{tmp_path / 'state.sqlite3'}-wal").exists()


@pytest.mark.slow
def test_remove_unpublishes_an_issue_and_it_stays_off(tmp_path):
    config, reports = two_runs(tmp_path)
    site = tmp_path / "site"
    old, new = names_in_state(tmp_path / "state.sqlite3")
    state = (tmp_path / "state.sqlite3").read_bytes()

    result = digest("--config", config, "archive", "--remove", old)
    assert result.returncode == 0, result.stderr
    assert f"unpublished {old}" in result.stdout
    assert not (site / "issues" / f"{old}.html").exists()
    assert (site / "issues" / f"{new}.html").exists()
    index = Page((site / "index.html").read_text(encoding="utf-8"))
    assert f"issues/{old}.html" not in index.links and reports[0]["subject"] not in index.text
    parsed = feedparser.parse((site / "feed.xml").read_bytes())
    assert [e.title for e in parsed.entries] == [reports[1]["subject"]]
    assert (tmp_path / "state.sqlite3").read_bytes() == state  # the state still has it
    assert old in (site / ".unpublished").read_text()

    # It stays off: the next archive (which a run's refresh is too) leaves it out.
    assert digest("--config", config, "archive").returncode == 0
    assert not (site / "issues" / f"{old}.html").exists()

    # By run number too, as `digest history` shows it; an unknown issue is a usage error.
    run_number = new.rsplit("-", 1)[1]
    assert digest("--config", config, "archive", "--remove", run_number).returncode == 0
    assert not (site / "issues" / f"{new}.html").exists()
    bad = digest("--config", config, "archive", "--remove", "2020-01-01-99")
    assert bad.returncode == 2
    assert "--remove '2020-01-01-99': no delivered issue" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.slow
def test_keep_publishes_only_the_newest_issues(tmp_path):
    config, reports = two_runs(tmp_path, archive="  keep: 1")
    site = tmp_path / "site"
    old, new = names_in_state(tmp_path / "state.sqlite3")
    assert digest("--config", config, "archive").returncode == 0
    assert sorted(p.stem for p in (site / "issues").glob("*.html")) == [new]
    parsed = feedparser.parse((site / "feed.xml").read_bytes())
    assert [e.title for e in parsed.entries] == [reports[1]["subject"]]
    # No archive.url: every link is relative, so the folder can move.
    assert parsed.entries[0].link.endswith(f"issues/{new}.html")
    assert "https://news.example.com" not in (site / "feed.xml").read_text()
    moved = tmp_path / "moved"
    shutil.move(site, moved)
    index = Page((moved / "index.html").read_text(encoding="utf-8"))
    for href in index.links:
        if not href.startswith(("http://", "https://")):
            assert (moved / href).is_file(), href


@pytest.mark.slow
def test_the_feed_carries_the_newest_issues_and_the_index_all(tmp_path, monkeypatch):
    """With `keep: all` the feed grew by a whole issue (about 6 KB) each time, and every feed
    reader fetched all of it at each poll: after years, megabytes. The feed now carries the
    newest FEED_ENTRIES issues (here 1, of 2), the index and the pages every one."""
    config, reports = two_runs(tmp_path, archive="  keep: all")
    old, new = names_in_state(tmp_path / "state.sqlite3")
    monkeypatch.setattr(archive_mod, "FEED_ENTRIES", 1)
    site = tmp_path / "site"
    with Store.open(tmp_path / "state.sqlite3", readonly=True) as store:
        archive_mod.write_archive(store, site, title="Daily")
    assert sorted(p.stem for p in (site / "issues").glob("*.html")) == sorted([old, new])
    index = Page((site / "index.html").read_text(encoding="utf-8")).links
    assert f"issues/{old}.html" in index and f"issues/{new}.html" in index
    parsed = feedparser.parse((site / "feed.xml").read_bytes())
    assert [e.title for e in parsed.entries] == [reports[1]["subject"]]


@pytest.mark.slow
def test_an_issue_sent_while_the_clock_was_wrong_does_not_stay_on_top(tmp_path):
    """The machine's clock was years ahead for the first issue, then put right: the newest
    issue is still the one made last (on top, kept by `keep`), as its number says."""
    config, reports = two_runs(tmp_path, archive="  keep: 1")
    old, new = names_in_state(tmp_path / "state.sqlite3")
    conn = sqlite3.connect(tmp_path / "state.sqlite3")
    with conn:
        conn.execute(
            "UPDATE deliveries SET updated_at = '2099-01-01T00:00:00+00:00' "
            "WHERE issue_id = (SELECT min(id) FROM issues)"
        )
    conn.close()
    site = tmp_path / "site"
    assert digest("--config", config, "archive").returncode == 0
    assert sorted(p.stem for p in (site / "issues").glob("*.html")) == [new]
    index = Page((site / "index.html").read_text(encoding="utf-8"))
    assert [h for h in index.links if h.startswith("issues/")] == [f"issues/{new}.html"]
    assert "No. 2" in index.text
    parsed = feedparser.parse((site / "feed.xml").read_bytes())
    assert [e.title for e in parsed.entries] == [reports[1]["subject"]]


@pytest.mark.slow
def test_one_writer_at_a_time_brings_the_archive_up_to_date(tmp_path):
    """A writer reads the delivered issues, then deletes the pages it does not know: two at
    once (two senders of one PostgreSQL state on one machine) could delete the other's newer
    page. A second writer waits while the first holds the archive's lock."""
    import fcntl
    import threading

    config, _ = two_runs(tmp_path, archive="  keep: all")
    site = tmp_path / "site"
    shutil.rmtree(site)  # the runs' own archive
    site.mkdir()
    done = threading.Event()

    def write() -> None:
        with Store.open(tmp_path / "state.sqlite3", readonly=True) as store:
            archive_mod.write_archive(store, site, title="Daily")
        done.set()

    with open(site / archive_mod.LOCK, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another writer at work
        writer = threading.Thread(target=write)
        writer.start()
        assert not done.wait(1.0) and not (site / "index.html").exists()
    writer.join(30)
    assert done.is_set() and (site / "index.html").is_file()


@pytest.mark.slow
def test_an_empty_issue_without_rates_does_not_promise_them(tmp_path):
    """A digest of feeds alone (no rates) with skip_empty: false sends "nothing new" issues;
    the index and the page's description said "Nothing new since the last digest; the
    day's rates." of an issue that carries none."""
    feed = ROOT / "tests" / "fixtures" / "feeds" / "atom.xml"
    config = write_config(tmp_path, f"feed: {feed}")
    config.write_text(config.read_text() + "skip_empty: false\n")
    assert run_json("--config", config, "run")["status"] == "delivered"
    again = run_json("--config", config, "run")
    assert again["status"] == "delivered" and again["chosen"] == []
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "Nothing new since the last digest." in index and "rates" not in Page(index).text
    [empty] = [
        p for p in (tmp_path / "site" / "issues").glob("*.html") if "Nothing new" in p.read_text()
    ]
    assert "the day&#39;s rates" not in empty.read_text() and "day's rates" not in empty.read_text()


def _write_often(tag: str, path: Path, barrier, failures) -> None:
    barrier.wait()
    for n in range(1500):
        try:
            archive_mod.write_if_changed(path, f"{tag}{n}".encode() * 5000)
        except OSError as e:
            failures.put(f"{tag}: {e}")
            return
    failures.put("")


@pytest.mark.slow
def test_two_processes_writing_one_archive_at_once_both_succeed(tmp_path):
    """Two senders of one PostgreSQL state on one machine finish an issue together and both
    bring the archive up to date: neither may take the other's half-written file."""
    context = multiprocessing.get_context("fork")
    barrier, failures = context.Barrier(2), context.Queue()
    writers = [
        context.Process(target=_write_often, args=(tag, tmp_path / "index.html", barrier, failures))
        for tag in "AB"
    ]
    for w in writers:
        w.start()
    said = [failures.get(timeout=120) for _ in writers]
    for w in writers:
        w.join(30)
    assert said == ["", ""]
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]  # no temporary file left


@pytest.mark.slow
def test_archive_with_nothing_delivered_says_so_and_is_a_valid_feed(tmp_path):
    config = write_config(tmp_path, str(SAMPLE_SEEDS / "*.txt"))
    result = digest("--config", config, "archive", "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert "0 issues" in result.stdout
    assert "No issue has been sent yet" in (tmp_path / "out" / "index.html").read_text()
    data = (tmp_path / "out" / "feed.xml").read_bytes()
    assert_valid_atom(data)
    assert not feedparser.parse(data).bozo
    assert not (tmp_path / "state.sqlite3").exists()  # read-only: no state file made


@pytest.mark.slow
def test_a_failure_to_write_the_archive_is_a_warning_and_nothing_is_sent_again(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(sorted(SAMPLE_SEEDS.glob("*.txt"))[0], inbox)
    config = write_config(tmp_path, str(inbox / "*.txt"))
    (tmp_path / "site").write_text("a file where the archive's folder should be")
    result = digest("--config", config, "run")
    assert result.returncode == 0, result.stderr
    assert "sent to 2 of 2" in result.stdout
    assert "warning: the archive was not updated" in result.stderr
    assert "Traceback" not in result.stderr
    again = digest("--config", config, "run")
    assert again.returncode == 0 and "nothing new" in again.stdout
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2  # nobody got it twice
    conn = sqlite3.connect(tmp_path / "state.sqlite3")
    assert conn.execute("SELECT status FROM runs ORDER BY id").fetchall()[0] == ("delivered",)
    conn.close()


@pytest.mark.slow
def test_an_archive_that_cannot_be_written_is_said_once_on_a_long_list(tmp_path):
    """A list of more than one batch publishes once its first batch went out and again at
    the end: a folder that cannot be written is still one warning."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(sorted(SAMPLE_SEEDS.glob("*.txt"))[0], inbox)
    config = write_config(tmp_path, str(inbox / "*.txt"))
    readers = tmp_path / "readers.csv"
    readers.write_text("email\n" + "".join(f"r{n}@example.org\n" for n in range(150)))
    text = config.read_text()
    config.write_text(text.replace(f"  to: [{', '.join(READERS)}]", f"  recipients: {readers}"))
    (tmp_path / "site").write_text("a file where the archive's folder should be")
    result = digest("--config", config, "run")
    assert result.returncode == 0, result.stderr
    assert "sent to 150 of 150" in result.stdout
    said = result.stdout + result.stderr
    assert said.count("the archive was not updated") == 1, said


# --- untrusted text -------------------------------------------------------------------------------


def hostile_feed(path: Path) -> Path:
    item = html.escape(HOSTILE, quote=False)
    path.write_text(
        f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Wire &lt;b&gt;</title><link>https://wire.example/</link>
<description>x</description>
<item><title>{item}</title><link>https://wire.example/1</link><guid>w-1</guid>
<pubDate>Mon, 03 Nov 2025 08:15:00 +0500</pubDate>
<description>Lead &lt;img src=x onerror="alert(2)"&gt; &amp;amp; more. The second sentence
of the lead says what happened in Almaty on Monday.</description></item>
<item><title>Second story ]]&gt; &lt;/content&gt; &amp;lt;</title><link>https://wire.example/2?a=1&amp;b=2</link>
<guid>w-2</guid><pubDate>Mon, 03 Nov 2025 09:15:00 +0500</pubDate>
<description>Another ordinary lead about Bishkek and its new buses for the city.</description></item>
</channel></rss>
""",
        encoding="utf-8",
    )
    return path


@pytest.mark.slow
def test_hostile_titles_are_escaped_on_the_pages_and_in_the_feed(tmp_path):
    feed = hostile_feed(tmp_path / "wire.xml")
    config = write_config(tmp_path, f"feed: {feed}")
    report = run_json("--config", config, "run")
    assert report["status"] == "delivered"
    assert HOSTILE in [c["title"] for c in report["chosen"]]
    result = digest("--config", config, "archive")
    assert result.returncode == 0, result.stderr
    site = tmp_path / "site"
    (name,) = names_in_state(tmp_path / "state.sqlite3")
    for path in (site / "index.html", site / "issues" / f"{name}.html"):
        page = Page(path.read_text(encoding="utf-8"))
        assert not [t for t, _ in page.tags if t in ("script", "img")], path
        assert not [k for _, attrs in page.tags for k in attrs if k.startswith("on")], path
        assert HOSTILE in page.text, path
    data = (site / "feed.xml").read_bytes()
    assert_valid_atom(data)
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    (entry,) = parsed.entries
    assert HOSTILE in entry.title  # the subject: plain text, shown as written
    content = entry.content[0].value  # feedparser's own sanitizer has not had to remove tags
    assert "<script" not in content and "onerror=" not in content.replace("onerror=&quot;", "")
    shown = Page(content)
    assert HOSTILE in shown.text
    # RSS titles are HTML: "&amp;lt;" in the XML is "&lt;" in HTML, that is "<"
    assert "Second story ]]> </content> <" in shown.text
    assert "https://wire.example/2?a=1&b=2" in shown.links
    root = ET.fromstring(data)
    raw_content = root.find(f"{ATOM}entry/{ATOM}content").text
    assert html.escape(HOSTILE) in raw_content  # escaped HTML inside the escaped XML


# --- pieces ---------------------------------------------------------------------------------------


def test_public_html_drops_only_the_footer_links_of_one_reader():
    frozen = (
        "<body><p>An article quoting {unsubscribe_url} as text</p>"
        '<div>Why you get this<br><a href="https://x.example/view" style="c">View in browser</a>'
        ' · <a href="{unsubscribe_url}" style="color:#5c6672;">Unsubscribe</a></div></body>'
    )
    page = archive_mod.public_html(frozen, "https://x.example/view")
    assert page == (
        "<body><p>An article quoting {unsubscribe_url} as text</p>"
        "<div>Why you get this<br></div></body>"
    )
    # Without a view link, the unsubscribe link alone goes.
    page = archive_mod.public_html(frozen.replace("https://x.example/view", "https://other/"))
    assert page.endswith('<a href="https://other/" style="c">View in browser</a></div></body>')
    # A placeholder that is not a link's whole address is neutralised, not left to be filled.
    assert archive_mod.public_html("<p>see {unsubscribe_url}</p>") == "<p>see #</p>"


@pytest.mark.slow
def test_view_url_is_the_page_the_archive_writes(tmp_path):
    from digest import pipeline
    from digest.state import Store

    config = load_config(write_config(tmp_path, str(SAMPLE_SEEDS / "*.txt")))
    with Store.open(config.state, readonly=True) as store:
        prepared = pipeline.prepare(config, store, run_id=7)
        previewed = pipeline.prepare(config, store)
    day = prepared.digest.date.isoformat()
    assert prepared.digest.view_url == f"{URL}issues/{day}-7.html"
    assert previewed.digest.view_url is None  # preview and dry runs have no issue yet
    assert archive_mod.page_url(URL, prepared.digest.date, 7) == prepared.digest.view_url


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("  url: ftp://x.example/a/", "archive.url: must be the http(s) address"),
        ('  url: "https://x.example/a/?q=<b>"', "archive.url: must be the http(s) address"),
        ("  keep: 0", "archive.keep: must be at least 1"),
        ("  keep: some", "archive.keep: must be `all` or a number"),
        ("  colour: blue", "archive.colour: unknown key"),
    ],
)
@pytest.mark.slow
def test_bad_archive_settings_name_the_line_and_key(tmp_path, value, message):
    config = write_config(tmp_path, str(SAMPLE_SEEDS / "*.txt"), archive=value)
    result = digest("--config", config, "archive")
    assert result.returncode == 2
    line = config.read_text().splitlines().index(value) + 1
    assert f"{config}:{line}: {message}" in result.stderr, result.stderr


def test_archive_settings_are_read(tmp_path):
    config = load_config(write_config(tmp_path, str(SAMPLE_SEEDS / "*.txt"), "  keep: all"))
    assert config.archive.keep is None and config.archive.url is None
    assert config.archive.folder == tmp_path / "site"
    config = load_config(
        write_config(tmp_path, str(SAMPLE_SEEDS / "*.txt"), "  url: https://a.example/x")
    )
    assert config.archive.url == "https://a.example/x/"
    assert load_config(write_config(tmp_path, str(SAMPLE_SEEDS / "*.txt"), None)).archive is None
    shipped = load_config(ROOT / "config" / "digest.yaml")
    assert shipped.archive is not None


@pytest.mark.slow
def test_preview_serve_serves_the_archive_and_text_with_its_charset(tmp_path):
    import signal
    import urllib.request

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    pages = sorted(SAMPLE_SEEDS.glob("*.txt"))
    shutil.copy(pages[0], inbox)
    config = write_config(tmp_path, str(inbox / "*.txt"))
    assert run_json("--config", config, "run")["status"] == "delivered"
    shutil.copy(pages[-1], inbox)  # something new for the preview
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
        root = None
        for line in server.stdout:
            match = re.search(r"the archive: (http://127\.0\.0\.1:\d+)/archive/", line)
            if match:
                root = match[1]
                break
        assert root, server.stderr.read()

        def get(path: str):
            with urllib.request.urlopen(root + path, timeout=10) as response:
                return response.headers["Content-Type"], response.read()

        kind, body = get("/archive/")
        assert kind == "text/html; charset=utf-8" and b"Central Asia Daily" in body
        kind, body = get("/archive/feed.xml")
        assert kind.startswith("application/atom+xml") and not feedparser.parse(body).bozo
        name = names_in_state(tmp_path / "state.sqlite3")[0]
        kind, body = get(f"/archive/issues/{name}.html")
        assert kind == "text/html; charset=utf-8"
        kind, body = get("/digest.txt")
        assert kind == "text/plain; charset=utf-8"
        assert body.decode("utf-8") == (tmp_path / "p" / "digest.txt").read_text(encoding="utf-8")
        kind, body = get("/archive")  # redirected to the folder
        assert b"Central Asia Daily" in body
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)


def test_send_times_from_the_state_are_read_as_utc():
    assert archive_mod.stored_time("2026-01-02 03:04:05") == dt.datetime(
        2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC
    )
    assert archive_mod.stored_time("2026-01-02T08:04:05+05:00") == dt.datetime(
        2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC
    )


@pytest.mark.slow
def test_the_sent_email_links_to_its_page_in_the_archive(tmp_path):
    import email
    import email.policy

    if "view_url" not in (ROOT / "templates" / "digest.mjml.j2").read_text():
        pytest.skip("the e-mail template has no View in browser link yet (issue 13's footer)")
    config, _ = two_runs(tmp_path)
    names = names_in_state(tmp_path / "state.sqlite3")
    for number, name in enumerate(names, start=1):
        (eml,) = (tmp_path / "outbox").glob(f"issue-{number:05d}-reader@example.com.eml")
        message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        page = Page(message.get_body(("html",)).get_content())
        url = f"{URL}issues/{name}.html"
        assert url in page.links
        assert (tmp_path / "site" / "issues" / f"{name}.html").is_file()
        assert url in message.get_body(("plain",)).get_content()


# --- the archive as a website (issue 21) -------------------------------------------------------


def _meta(text: str, attr: str, name: str) -> str | None:
    found = re.search(rf'<meta {attr}="{re.escape(name)}" content="([^"]*)"', text)
    return html.unescape(found.group(1)) if found else None


@pytest.mark.slow
def test_the_archive_reads_as_a_website(tmp_path):
    config, reports = two_runs(tmp_path)
    with config.open("a") as f:
        f.write("web:\n  url: https://news.example.com/\n")
    result = digest("--config", config, "archive")
    assert result.returncode == 0, result.stderr
    site = tmp_path / "site"
    names = names_in_state(tmp_path / "state.sqlite3")
    index_html = (site / "index.html").read_text(encoding="utf-8")
    index = Page(index_html)

    # headlines as headings, newest first, each issue numbered; the subject's "+ N more" gone
    headings = [
        html.unescape(h) for h in re.findall(r"<h2[^>]*><a [^>]*>(.*?)</a></h2>", index_html)
    ]
    assert headings == [r["chosen"][0]["title"] for r in reversed(reports)]
    assert "more</a>" not in index_html
    assert re.findall(r"No\. (\d+) · <time", index_html) == ["2", "1"]
    for report in reports:  # the headline is not repeated as the first bullet under it
        assert index_html.count(html.escape(report["chosen"][0]["title"], quote=False)) == 1

    # distinct titles, descriptions and Open Graph tags on every page
    titles = []
    for n, (name, report) in enumerate(zip(names, reports, strict=True), 1):
        page = (site / "issues" / f"{name}.html").read_text(encoding="utf-8")
        (title,) = [html.unescape(t) for t in re.findall(r"<title>(.*?)</title>", page, re.S)]
        titles.append(title)
        assert title.startswith(f"Central Asia Daily No. {n}, ")
        assert title.endswith(report["chosen"][0]["title"])
        description = _meta(page, "name", "description")
        assert description and report["chosen"][1]["title"] in description
        assert _meta(page, "property", "og:title") == title
        assert _meta(page, "property", "og:description") == description
        assert _meta(page, "property", "og:url") == f"{URL}issues/{name}.html"
        assert _meta(page, "property", "og:type") == "article"
        text = Page(page).text
        assert "You receive this" not in text and "Unsubscribe" not in text
        assert f"No. {n}" in text
        assert "https://news.example.com/subscribe" in Page(page).links
        assert "Get Central Asia Daily by e-mail" in text
    assert len(set(titles)) == len(titles)
    assert (
        _meta(index_html, "name", "description")
        == "Every issue of Central Asia Daily, newest first."
    )
    assert _meta(index_html, "property", "og:title") == "Central Asia Daily: archive"
    assert "https://news.example.com/subscribe" in index.links

    # the feed means what it meant: one entry per issue, its subject, its page, its stories
    parsed = feedparser.parse((site / "feed.xml").read_bytes())
    assert [e.title for e in parsed.entries] == [r["subject"] for r in reversed(reports)]
    assert [e.link for e in parsed.entries] == [f"{URL}issues/{n}.html" for n in reversed(names)]


@pytest.mark.slow
def test_without_web_url_the_archive_offers_no_subscribe_link_and_no_email_footer(tmp_path):
    config, _ = two_runs(tmp_path)
    assert digest("--config", config, "archive").returncode == 0
    for path in (tmp_path / "site" / "issues").glob("*.html"):
        text = Page(path.read_text(encoding="utf-8")).text
        assert "subscribe" not in text.lower() and "You receive this" not in text


@pytest.mark.slow
def test_two_issues_of_one_day_have_distinct_titles(tmp_path):
    config, reports = two_runs(tmp_path)
    assert digest("--config", config, "archive").returncode == 0
    names = names_in_state(tmp_path / "state.sqlite3")
    assert len({n.rsplit("-", 1)[0] for n in names}) == 1  # both sent today
    titles = {
        re.search(r"<title>(.*?)</title>", p.read_text(encoding="utf-8"), re.S).group(1)
        for p in (tmp_path / "site" / "issues").glob("*.html")
    }
    assert len(titles) == 2


@pytest.mark.slow
def test_a_russian_archive_speaks_russian(tmp_path):
    config, _ = two_runs(tmp_path)
    with config.open("a") as f:
        f.write("language: ru\n")
    assert digest("--config", config, "archive").returncode == 0
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert '<html lang="ru">' in index and "Все выпуски, сначала новые · 2 выпуска" in index
    assert "№ 2 · <time" in index and "Лента Atom" in index
    feed = (tmp_path / "site" / "feed.xml").read_bytes()
    assert ET.fromstring(feed).get("{http://www.w3.org/XML/1998/namespace}lang") == "ru"
    assert feedparser.parse(feed).feed.language == "ru"


ARABIC = "مجلس الوزراء يوافق على خطة المياه الجديدة"
ENTRY = (
    "<entry><id>urn:x:{n}</id><title>{title}</title><link href='https://ex.example/{n}'/>"
    "<updated>{day}T0{n}:00:00Z</updated><content type='text'>{text}</content></entry>"
)


@pytest.mark.slow
def test_right_to_left_headlines_keep_their_direction_on_the_index_and_in_the_feed(tmp_path):
    """An Arabic story in an English digest: the e-mail sets it right to left; the index
    and the feed's entry let the browser (or feed reader) find its direction too."""
    day = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    texts = [
        (
            "Wind farm opens near Zhanatas",
            "A new wind farm near Zhanatas started producing "
            "power on Tuesday, the operator said. The 100 megawatt plant cost 150 million dollars.",
        ),
        (
            ARABIC,
            "وافق مجلس الوزراء يوم الثلاثاء على خطة جديدة لإدارة المياه في المناطق "
            "الجنوبية. وقال الوزير إن الخطة ستكلف مليار دولار وستنفذ على مدى خمس سنوات.",
        ),
    ]
    entries = "".join(
        ENTRY.format(n=n, title=html.escape(t), day=day, text=html.escape(x))
        for n, (t, x) in enumerate(texts)
    )
    feed_file = tmp_path / "feed.xml"
    feed_file.write_text(
        "<feed xmlns='http://www.w3.org/2005/Atom'><title>Ex</title><id>urn:x</id>"
        f"<updated>{day}T09:00:00Z</updated>{entries}</feed>",
        encoding="utf-8",
    )
    config = write_config(tmp_path, f"feed: {feed_file}")
    assert run_json("--config", config, "run")["status"] == "delivered"
    site = tmp_path / "site"
    index = (site / "index.html").read_text(encoding="utf-8")
    # as the issue's heading, or one of its next headlines: its direction from its text
    heading = re.search(rf'<h2 dir="auto"><a [^>]*>{ARABIC}</a></h2>', index)
    assert heading or f"<li><bdi>{ARABIC}</bdi></li>" in index, index
    feed = (site / "feed.xml").read_bytes()
    assert ET.fromstring(feed).get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    content = feedparser.parse(feed).entries[0].content[0].value
    assert re.search(rf'<li dir="auto"><strong><a [^>]*>{ARABIC}</a>', content)
