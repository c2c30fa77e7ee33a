"""Fetching over HTTP against real servers on loopback (several 127.0.0.x hosts): deadlines
hanging and trickling servers cannot stretch, byte caps, gzip, charsets, redirects,
Retry-After, max-age, ETag/304, per-host limits; and what the state remembers of it."""

from __future__ import annotations

import codecs
import datetime as dt
import gzip
import json
import time

import pytest
from web_server import Page, Site, hang, loopback_hosts, redirect, trickle

from digest.config import FetchConfig, SourceSpec
from digest.sources import read_fetched, read_specs
from digest.sources.feed import read_feed
from digest.sources.fetch import fetch_all
from digest.state import Store

pytestmark = pytest.mark.slow  # real servers on loopback


def rss(title: str, items: list[tuple[str, str]], encoding: str | None = "utf-8") -> str:
    decl = f'<?xml version="1.0" encoding="{encoding}"?>' if encoding else ""
    entries = "".join(
        f"<item><title>{t}</title><link>https://news.example/{n}</link><guid>{n}</guid>"
        f"<description>{d}</description><pubDate>Mon, 03 Nov 2025 08:00:00 GMT</pubDate></item>"
        for n, (t, d) in enumerate(items)
    )
    return f'{decl}<rss version="2.0"><channel><title>{title}</title>{entries}</channel></rss>'


FEED = rss("Steppe Wire", [("Almaty opens metro line", "The line has four stations.")]).encode()


@pytest.fixture
def site():
    s = Site("127.0.0.1")
    yield s
    s.close()


@pytest.fixture
def two_sites():
    hosts = loopback_hosts(2)
    if len(hosts) < 2:
        pytest.skip("needs two loopback addresses 127.0.0.x")
    sites = [Site(h) for h in hosts]
    yield sites
    for s in sites:
        s.close()


def test_a_hanging_and_a_trickling_server_cost_one_deadline_and_one_problem_each(site):
    site.routes = {"/hang": hang, "/trickle": trickle, "/ok": Page(FEED)}
    urls = [site.url(p) for p in ("/hang", "/trickle", "/ok")]
    started = time.monotonic()
    got = fetch_all(urls, settings=FetchConfig(timeout=1.5, per_host=3))
    elapsed = time.monotonic() - started
    assert elapsed < 10  # not the minute either server would take
    for url in urls[:2]:
        assert got[url].error == "no complete answer within 1.5 s; gave up"
        assert got[url].cache.failures == 1
    read = read_specs([SourceSpec("feed", u) for u in urls], fetched=got)
    assert [a.title for a in read.articles] == ["Almaty opens metro line"]
    assert [p.source for p in read.problems] == urls[:2]


def test_a_content_length_over_the_cap_is_refused_before_the_body_is_read(site):
    sent = []

    def huge(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(50_000_000))
        handler.end_headers()
        try:
            for _ in range(50):
                handler.wfile.write(b"x" * 1_000_000)
                sent.append(1)
        except OSError:
            pass

    def unsized(handler):  # no Content-Length: the body ends when the connection closes
        handler.send_response(200)
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        try:
            handler.wfile.write(b"<rss>" + b" " * 300_000)
        except OSError:
            pass

    site.routes = {"/huge": huge, "/big": unsized}
    got = fetch_all([site.url("/huge"), site.url("/big")], settings=FetchConfig(max_bytes=200_000))
    assert got[site.url("/huge")].error == (
        "50.0 MB by its Content-Length, over the cap of 0.2 MB; not read"
    )
    assert got[site.url("/big")].error == "larger than the cap of 0.2 MB; not read further"


def test_gzip_is_asked_for_and_decoded_also_when_sent_unasked(site):
    site.routes = {"/gz": Page(FEED, gzip_always=True)}
    got = fetch_all([site.url("/gz")])[site.url("/gz")]
    assert got.body == FEED and got.error is None
    assert "gzip" in site.asked("/gz")[0]["Accept-Encoding"]
    assert "digest/" in site.asked("/gz")[0]["User-Agent"]


def test_a_body_that_is_not_the_content_encoding_it_claims_is_one_line_naming_it(site):
    """A server that says `Content-Encoding: gzip` over a plain body: the problem was two
    lines, aiohttp's "400, message:" on the first."""
    site.routes = {"/f": Page(FEED, headers={"Content-Encoding": "gzip"})}
    got = fetch_all([site.url("/f")])[site.url("/f")]
    assert got.error == (
        "the answer broke off or could not be decoded (Can not decode content-encoding: gzip)"
    )


@pytest.mark.parametrize("encoding", ["br", "zstd"])
def test_a_body_in_an_encoding_digest_does_not_read_is_one_clear_line(site, encoding):
    """A server that sends Brotli unasked: the problem was "broken HTTP answer (400,
    message='Can not decode content-encoding: brotli (br). Please install `Brotli`', url=
    ...)", advice that would unpack a Brotli bomb with no cap (README: not asked for)."""
    site.routes = {"/f": Page(b"\x1b\x00\x00\x00", headers={"Content-Encoding": encoding})}
    got = fetch_all([site.url("/f")])[site.url("/f")]
    assert got.error.startswith("sent in ")
    assert got.error.endswith(f"({encoding}), a Content-Encoding digest does not ask for or read")


def test_a_gzip_file_served_as_is_is_unpacked(site):
    site.routes = {
        "/feed.xml.gz": Page(gzip.compress(FEED), headers={"Content-Type": "application/gzip"})
    }
    got = fetch_all([site.url("/feed.xml.gz")])[site.url("/feed.xml.gz")]
    assert got.body == FEED


def test_the_user_agent_names_the_configured_contact(site):
    site.routes = {"/f": Page(FEED)}
    fetch_all([site.url("/f")], settings=FetchConfig(contact="https://news.example/about"))
    assert "+https://news.example/about" in site.asked("/f")[0]["User-Agent"]


def test_a_charset_given_only_in_the_http_header_is_used(site):
    body = rss("Вести", [("Алматы открыл метро", "Четыре станции.")], encoding=None)
    site.routes = {
        "/cp": Page(
            body.encode("cp1251"), headers={"Content-Type": "text/xml; charset=windows-1251"}
        )
    }
    got = fetch_all([site.url("/cp")])[site.url("/cp")]
    read = read_feed(got.url, got.body, got.content_type)
    assert read.problems == []
    assert read.articles[0].title == "Алматы открыл метро"


@pytest.mark.parametrize("code", [301, 308])
def test_a_permanent_redirect_is_followed_remembered_and_reported(site, code):
    moved = redirect(code, "/new")
    site.routes = {"/old": moved, "/new": Page(FEED)}
    old = site.url("/old")
    first = fetch_all([old])[old]
    assert first.body == FEED and first.cache.moved_to == site.url("/new")
    read = read_specs([SourceSpec("feed", old)], fetched={old: first})
    assert [str(p) for p in read.problems] == [
        f"{old}: moved permanently to {site.url('/new')}: update `feed:` in the config"
    ]
    again = fetch_all([old], cache={old: first.cache})[old]
    assert again.body == FEED
    assert len(site.asked("/old")) == 1 and len(site.asked("/new")) == 2


def test_a_redirect_to_an_address_holding_control_characters_brings_none_to_the_terminal(site):
    """A Location holding ESC and BEL ("...?\\x1b]0;pwned\\x07", a terminal's set-title
    sequence) was followed and named as it was in the problem printed on stderr, and kept to
    be named again by every run and by `digest history`: a hostile server wrote to the
    operator's terminal. It is percent-encoded, as browsers do (a byte that is no UTF-8 too)."""
    site.routes = {"/old": redirect(301, "/new?\x1b]0;pwned\x07x \x85")}
    old = site.url("/old")
    got = fetch_all([old])[old]
    assert "/new?%1B]0;pwned%07x%20%85, where it had moved" in got.error  # the byte 0x85
    assert got.error.isprintable()


def test_a_move_undone_is_forgotten_and_no_longer_reported(site):
    """A feed moved from /old to /new, then /new sent back to /old (the site reverted):
    every run still told the editor to update `feed:` to /new, and asked /new first."""
    site.routes = {"/old": redirect(301, "/new"), "/new": Page(FEED)}
    old = site.url("/old")
    first = fetch_all([old])[old]
    site.routes = {"/new": redirect(301, "/old"), "/old": Page(FEED)}
    back = fetch_all([old], cache={old: first.cache})[old]
    assert back.body == FEED and back.cache.moved_to is None
    assert read_specs([SourceSpec("feed", old)], fetched={old: back}).problems == []
    fetch_all([old], cache={old: back.cache})
    assert len(site.asked("/new")) == 2  # the first run's and the second's, not the third's


@pytest.mark.parametrize("code", [404, 410])
def test_a_move_whose_new_address_is_not_there_is_forgotten(site, code):
    """A feed moved from /old to /new; then /new went away and /old served the feed again
    (a wrong redirect taken down, the new address retired): every run asked /new alone and
    said /old answered 404, while /old worked in the editor's browser."""
    site.routes = {"/old": redirect(301, "/new"), "/new": Page(FEED)}
    old, new = site.url("/old"), site.url("/new")
    first = fetch_all([old])[old]
    site.routes = {"/old": Page(FEED), "/new": Page(b"", status=code)}
    gone = fetch_all([old], cache={old: first.cache})[old]
    assert gone.error.endswith(f" at {new}, where it had moved; `feed:` is asked again next run")
    assert (gone.body, gone.cache.moved_to) == (FEED, None)  # the last copy read meanwhile
    [problem] = read_specs([SourceSpec("feed", old)], fetched={old: gone}).problems
    assert "moved permanently" not in problem.message
    back = fetch_all([old], cache={old: gone.cache})[old]
    assert (back.body, back.error, back.cache.moved_to) == (FEED, None, None)
    assert (len(site.asked("/old")), len(site.asked("/new"))) == (2, 2)


def test_a_moved_feed_failing_after_a_temporary_redirect_names_the_address_that_failed(site):
    """The address a feed moved to (remembered) redirects on with a 302 to one that answers
    404: the problem named the remembered address as the one that answered 404, where the
    editor's browser showed a redirect."""
    site.routes = {"/old": redirect(301, "/new"), "/new": Page(FEED)}
    old, new, later = site.url("/old"), site.url("/new"), site.url("/later")
    first = fetch_all([old])[old]
    site.routes = {"/new": redirect(302, "/later"), "/later": Page(b"", status=404)}
    gone = fetch_all([old], cache={old: first.cache})[old]
    assert f"404 Not Found at {new}, where it had moved (redirected from there to {later})" in (
        gone.error
    )
    assert gone.error.endswith("`feed:` is asked again next run") and gone.cache.moved_to is None


def test_a_feed_moved_then_gone_for_good_says_so(site):
    """`feed:` moves (301) to an address that answers 410 Gone: the publisher's word that the
    feed is not coming back, reached from `feed:` itself. Every run said "`feed:` is asked
    again next run", and never "take it out of `feed:`"."""
    site.routes = {"/old": redirect(301, "/new"), "/new": Page(b"", status=410)}
    old, new = site.url("/old"), site.url("/new")
    gone = fetch_all([old])[old]
    assert f"410 Gone at {new}, where it had moved: the feed is gone for good" in gone.error
    assert "asked again" not in gone.error and gone.cache.moved_to is None
    again = fetch_all([old], cache={old: gone.cache})[old]
    assert "the feed is gone for good; take it out of `feed:`" in again.error


@pytest.mark.parametrize("code", [302, 303, 307])
def test_a_temporary_redirect_is_followed_and_not_remembered(site, code):
    moved = redirect(code, "/today")
    site.routes = {"/feed": moved, "/today": Page(FEED)}
    got = fetch_all([site.url("/feed")])[site.url("/feed")]
    assert got.body == FEED and got.cache.moved_to is None and got.moved is None


def test_429_with_retry_after_is_not_asked_again_before_then(site):
    site.routes = {"/busy": Page(b"slow down", 429, {"Retry-After": "3600"})}
    url = site.url("/busy")
    first = fetch_all([url])[url]
    assert first.error.startswith("the server answered HTTP 429 Too Many Requests; not asked")
    assert first.cache.asked_because == "Retry-After" and first.cache.failures == 1
    second = fetch_all([url], cache={url: first.cache})[url]
    assert len(site.asked("/busy")) == 1  # not asked again
    assert second.waited and "Retry-After" in second.notes[0]
    # a new feed's server asking to wait is there: no "is its address right?" (a typo's hint)
    for got in (first, second):
        assert [p.message for p in read_fetched(got).problems] == [got.error]


def test_retry_after_as_an_http_date_on_503(site):
    site.routes = {
        "/down": Page(b"", 503, {"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}),
    }
    url = site.url("/down")
    first = fetch_all([url])[url]
    assert first.cache.not_before is not None  # capped at a week ahead
    fetch_all([url], cache={url: first.cache})
    assert len(site.asked("/down")) == 1


def test_cache_control_max_age_is_honoured_and_the_last_copy_read(site):
    site.routes = {"/f": Page(FEED, headers={"Cache-Control": "public, max-age=600"})}
    url = site.url("/f")
    first = fetch_all([url])[url]
    second = fetch_all([url], cache={url: first.cache})[url]
    assert len(site.asked("/f")) == 1
    assert second.body == FEED and second.waited
    assert second.notes == [
        f"not asked before {first.cache.not_before} (max-age); its last copy read"
    ]


def test_a_wait_past_all_bounds_is_a_week_and_the_body_is_read(site):
    """A max-age or Retry-After too large for a time span once threw the good feed away."""
    huge = "9" * 30
    site.routes = {
        "/f": Page(FEED, headers={"Cache-Control": f"max-age={huge}"}),
        "/busy": Page(b"slow down", 429, {"Retry-After": huge}),
    }
    got = fetch_all([site.url("/f"), site.url("/busy")])
    feed, busy = got[site.url("/f")], got[site.url("/busy")]
    assert feed.body == FEED and feed.error is None
    assert busy.error.startswith("the server answered HTTP 429 Too Many Requests; not asked")
    for got in (feed, busy):
        ahead = dt.datetime.fromisoformat(got.cache.not_before) - dt.datetime.now(dt.UTC)
        assert dt.timedelta(days=6, hours=23) < ahead <= dt.timedelta(days=7)


def test_etag_is_sent_back_and_a_304_reads_the_last_body(site):
    site.routes = {
        "/f": Page(FEED, etag='"v1"', headers={"Last-Modified": "Mon, 03 Nov 2025 08:00:00 GMT"})
    }
    url = site.url("/f")
    first = fetch_all([url])[url]
    assert first.fresh and first.cache.etag == '"v1"'
    second = fetch_all([url], cache={url: first.cache})[url]
    asked = site.asked("/f")[1]
    assert asked["If-None-Match"] == '"v1"'
    assert asked["If-Modified-Since"] == "Mon, 03 Nov 2025 08:00:00 GMT"
    assert second.not_modified and not second.fresh and second.body == FEED
    read = read_specs([SourceSpec("feed", url)], fetched={url: second})
    assert [a.title for a in read.articles] == ["Almaty opens metro line"]


def test_at_most_per_host_requests_to_one_host_while_hosts_run_in_parallel(two_sites):
    for s in two_sites:
        s.latency = 0.2
        s.routes = {f"/{n}": Page(FEED) for n in range(8)}
    urls = [s.url(f"/{n}") for s in two_sites for n in range(8)]
    got = fetch_all(urls, settings=FetchConfig(per_host=2, concurrency=32))
    assert all(g.error is None for g in got.values())
    assert [s.most_in_flight for s in two_sites] == [2, 2]


def test_a_not_modified_answer_to_a_plain_request_is_a_failed_fetch(site):
    """A server (or a cache before it) answering 304 when nothing was asked conditionally:
    the feed read as fetched, with nothing in it, and no word said."""
    site.routes = {"/f": Page(status=304)}
    got = fetch_all([site.url("/f")], feeds=True)[site.url("/f")]
    assert got.error == "answered 304 Not Modified, but no copy was asked about"
    assert got.cache.failures == 1 and got.cache.last_success is None


def test_what_a_server_says_reaches_no_terminal_as_control_characters(site):
    """A reason phrase "\x1b[2J..." (clear the screen) or a redirect to "/x\x1b[31m" went as
    written into every run's warnings, and the state (`digest sources`)."""

    def hostile(handler) -> None:
        handler.send_response(404, "\x1b[2J\x1b[31mOWNED\x07")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    site.routes = {"/reason": hostile, "/moved": redirect(301, "/x\x1b[31mred")}
    got = fetch_all([site.url("/reason"), site.url("/moved")], feeds=True)
    for fetched in got.values():
        assert fetched.error and fetched.error.isprintable(), fetched.error
        assert "\x1b" not in fetched.cache.status
    assert got[site.url("/reason")].error == "the server answered HTTP 404 [2J [31mOWNED"
    assert "/x%1B[31mred" in got[site.url("/moved")].error  # as browsers encode it


def test_a_header_of_seconds_in_other_digits_loses_no_feed(site):
    """`Age: ³` (str.isdigit takes it, float() does not): the feed's answer was "broken HTTP
    answer" and its body unread."""

    def answer(handler) -> None:  # the header in UTF-8, as a server's framework may write it
        head = b"HTTP/1.1 200 OK\r\nCache-Control: max-age=600\r\nAge: \xc2\xb3\r\n"
        handler.wfile.write(head + b"Content-Length: %d\r\n\r\n" % len(FEED) + FEED)

    site.routes = {"/f": answer}
    got = fetch_all([site.url("/f")], feeds=True)[site.url("/f")]
    assert got.error is None and got.body == FEED


def test_a_refused_connection_is_one_problem_naming_the_feed():
    got = fetch_all(["http://127.0.0.1:9/feed"])["http://127.0.0.1:9/feed"]
    assert got.error.startswith("could not connect")


def test_an_html_page_given_as_a_feed_names_the_feed_it_links_to(site):
    page = (
        b"<!DOCTYPE html><html><head><title>News</title>"
        b'<link rel="alternate" type="application/rss+xml" href="/rss.xml"></head>'
        b"<body>hello</body></html>"
    )
    site.routes = {"/": Page(page, headers={"Content-Type": "text/html"})}
    got = fetch_all([site.url("/")], feeds=True)[site.url("/")]
    assert got.error == (
        f"answered with a web page, not a feed; it names its feed: {site.url('/rss.xml')} "
        "- put that address in `feed:`"
    )
    assert got.cache.failures == 1 and got.body is None  # nothing read before


def test_a_web_page_linking_a_feed_by_no_address_loses_none_of_the_other_feeds(site):
    """A page answered for a feed, its alternate link "http://[:" (a bracket never closed):
    urljoin raised while the page was named, and that stopped the fetch of every feed."""
    page = (
        b"<!DOCTYPE html><html><head>"
        b"<link rel=alternate type=application/rss+xml href='http://[:'></head></html>"
    )
    site.routes = {"/page": Page(page, headers={"Content-Type": "text/html"}), "/f": Page(FEED)}
    got = fetch_all([site.url("/page"), site.url("/f")], feeds=True)
    assert (
        got[site.url("/page")].error == "answered with a web page, not a feed, and it names no feed"
    )
    assert got[site.url("/f")].error is None and got[site.url("/f")].body == FEED


def test_a_feed_that_turns_into_a_web_page_is_a_failing_feed_whose_last_copy_is_read(site):
    """A feed URL answering 200 with a page (a maintenance page, the home page after a
    redesign) was a success: its last copy, with the stories still waiting, was replaced by
    the page and never read, and three such runs in a row gave no warning."""
    url = site.url("/f")
    site.routes = {"/f": Page(FEED)}
    first = fetch_all([url])[url]
    site.routes = {"/f": Page(b"<!DOCTYPE html><html><body>Down for maintenance</body></html>")}
    known = first.cache
    for run in (1, 2, 3):
        got = fetch_all([url], {url: known}, feeds=True)[url]
        known = got.cache
        assert got.error and "web page" in got.error
        assert got.body == FEED and known.body == FEED and known.failures == run
    read = read_fetched(got)
    assert len(read.articles) == len(read_feed(url, FEED).articles) > 0
    assert "failed 3 fetches in a row" in read.problems[-1].message


def test_a_feed_answering_an_empty_body_is_a_failing_feed_whose_last_copy_is_read(site):
    """WordPress answers 200 with nothing after a PHP error: that was a success, its last
    copy replaced by nothing ("empty feed"), the stories waiting in it not read."""
    url = site.url("/f")
    site.routes = {"/f": Page(FEED)}
    first = fetch_all([url])[url]
    site.routes = {"/f": Page(b"\n", headers={"Content-Type": "application/rss+xml"})}
    got = fetch_all([url], {url: first.cache}, feeds=True)[url]
    assert got.error == "answered with an empty body, not a feed"
    assert (got.body, got.cache.body, got.cache.failures) == (FEED, FEED, 1)
    assert got.cache.status == "200, empty"
    assert [a.title for a in read_fetched(got).articles] == ["Almaty opens metro line"]


@pytest.mark.parametrize(
    ("denied", "error"),
    [
        (
            b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
            b"<Message>Access Denied</Message></Error>",
            "answered with an XML document <Error>, not a feed",
        ),
        (
            b'{"message": "Forbidden"}',
            "answered with JSON that is no JSON Feed (no jsonfeed.org `version`)",
        ),
    ],
)
def test_a_feed_answering_an_error_document_is_a_failing_feed_whose_last_copy_is_read(
    site, denied, error
):
    """A feed on a storage service whose bucket turned private answers 200 with its
    <Error><Code>AccessDenied</Code>, one behind an API gateway with its {"message": ...}:
    that was a success ("not an RSS or Atom feed"), the last copy replaced by it, and runs in
    a row of it never counted as failures."""
    url = site.url("/f")
    site.routes = {"/f": Page(FEED)}
    first = fetch_all([url])[url]
    site.routes = {"/f": Page(denied, headers={"Content-Type": "application/xml"})}
    got = fetch_all([url], {url: first.cache}, feeds=True)[url]
    assert got.error == error
    assert (got.body, got.cache.body, got.cache.failures) == (FEED, FEED, 1)
    assert [a.title for a in read_fetched(got).articles] == ["Almaty opens metro line"]


def test_a_feed_after_a_php_notice_is_a_feed(site):
    """WordPress with `display_errors` on prints a notice before the feed; the lenient reader
    reads the feed after it, but its first element, <br>, was taken for an error document's
    root: "answered with an XML document <br>, not a feed" at every run."""
    notice = (
        b"<br />\n<b>Notice</b>:  Undefined index: HTTP_HOST in <b>/var/www/html/wp-content/"
        b"plugins/seo/seo.php</b> on line <b>12</b><br />\n"
    )
    site.routes = {"/f": Page(notice + FEED, headers={"Content-Type": "application/rss+xml"})}
    got = fetch_all([site.url("/f")], feeds=True)[site.url("/f")]
    assert got.error is None
    assert [a.title for a in read_fetched(got).articles] == ["Almaty opens metro line"]


def test_a_utf16_json_feed_with_its_mark_is_a_feed(site):
    """What tells a JSON Feed from a gateway's JSON is read as text, not as UTF-8 bytes."""
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "Лента", "items": [
        {"id": "1", "title": "Курс сома укрепился", "content_text": "Сом укрепился."}
    ]}  # fmt: skip
    body = codecs.BOM_UTF16_LE + json.dumps(doc, ensure_ascii=False).encode("utf-16-le")
    site.routes = {"/f.json": Page(body, headers={"Content-Type": "application/feed+json"})}
    got = fetch_all([site.url("/f.json")], feeds=True)[site.url("/f.json")]
    assert got.error is None
    assert [a.title for a in read_fetched(got).articles] == ["Курс сома укрепился"]


def test_the_feed_cache_round_trips_through_sqlite(tmp_path, site):
    site.routes = {"/f": Page(FEED, etag='"v1"')}
    url = site.url("/f")
    got = fetch_all([url])[url]
    with Store.open(tmp_path / "s.sqlite3") as store:
        store.save_feed_caches([got.cache])
    with Store.open(tmp_path / "s.sqlite3", readonly=True) as store:
        assert store.feed_caches([url]) == {url: got.cache}


def test_the_feed_cache_round_trips_through_postgresql(pg_url, site):
    site.routes = {"/f": Page(FEED, etag='"v1"')}
    url = site.url("/f")
    got = fetch_all([url])[url]
    with Store.open(pg_url, password_env="DIGEST_TEST_PG_PASSWORD") as store:
        store.save_feed_caches([got.cache])
        store.save_feed_caches([got.cache])  # an upsert
        store.save_page_texts(
            {"https://x.example/a": (["One.", "Two."], None)}, "2025-11-03T08:00:00+00:00"
        )
    with Store.open(pg_url, readonly=True, password_env="DIGEST_TEST_PG_PASSWORD") as store:
        assert store.feed_caches() == {url: got.cache}
        assert store.page_texts(["https://x.example/a"]) == {
            "https://x.example/a": (["One.", "Two."], None)
        }
        assert store.sent_urls(["https://x.example/a"]) == set()  # nothing sent yet


def test_a_utf8_feed_with_a_stale_declaration_is_read_as_the_server_says(site):
    """Any bytes read in a single-byte charset: a UTF-8 feed served as UTF-8 whose
    declaration still said windows-1251 was read as windows-1251 ("CafГ©")."""
    body = (
        '<?xml version="1.0" encoding="windows-1251"?><rss version="2.0"><channel>'
        "<title>W</title><item><title>Café — Курс сома</title></item></channel></rss>"
    ).encode()
    site.routes = {"/f": Page(body, headers={"Content-Type": "application/rss+xml; charset=utf-8"})}
    got = fetch_all([site.url("/f")], feeds=True)[site.url("/f")]
    read = read_feed(got.url, got.body, got.content_type)
    assert [a.title for a in read.articles] == ["Café — Курс сома"]
    assert ["read as utf-8" in p.message for p in read.problems] == [True]


@pytest.mark.parametrize(
    ("content_type", "said"),
    [
        ("application/rss+xml", "the feed declares windows-1251"),
        (
            "text/xml; charset=windows-1251",
            "the server says charset=windows-1251, as the feed declares",
        ),
    ],
)
def test_a_utf8_feed_declared_windows_1251_by_itself_or_its_server_is_read_as_utf8(
    site, content_type, said
):
    """A site moved to UTF-8 whose feed template (or server) still says windows-1251, with no
    other word: every letter came out as mojibake ("Р’ Р‘РёС€РєРµРєРµ"), without a problem."""
    body = (
        '<?xml version="1.0" encoding="windows-1251"?><rss version="2.0"><channel>'
        "<title>Новости Бишкека</title><item><title>В Бишкеке открыли новый мост</title>"
        "<description>Мэрия открыла мост через Ала-Арчу.</description></item></channel></rss>"
    ).encode()
    site.routes = {"/f": Page(body, headers={"Content-Type": content_type})}
    got = fetch_all([site.url("/f")], feeds=True)[site.url("/f")]
    read = read_feed(got.url, got.body, got.content_type)
    [article] = read.articles
    assert (article.title, article.text, article.source_name) == (
        "В Бишкеке открыли новый мост",
        "Мэрия открыла мост через Ала-Арчу.",
        "Новости Бишкека",
    )
    [problem] = read.problems
    assert problem.message == f"{said}, but its text is UTF-8; read as utf-8: check its text"


@pytest.mark.parametrize("content_type", ["text/xml; charset=utf-8", "text/xml; charset=utf-16"])
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig"])
def test_a_feeds_byte_order_mark_wins_over_the_servers_charset(site, content_type, encoding):
    """A feed a Windows tool saved as "Unicode" (UTF-16 with a byte-order mark), served with
    the site's charset=utf-8, or big-endian under charset=utf-16: "not a readable RSS/Atom
    feed". The mark says the encoding, as browsers read it."""
    body = (
        f'<?xml version="1.0" encoding="{encoding.removesuffix("-sig")}"?><rss version="2.0">'
        "<channel><title>Лента</title><item><title>Курс сома укрепился</title>"
        "<description>Сом укрепился.</description></item></channel></rss>"
    ).encode(encoding)
    if encoding == "utf-16-be":
        body = codecs.BOM_UTF16_BE + body
    site.routes = {"/f": Page(body, headers={"Content-Type": content_type})}
    got = fetch_all([site.url("/f")], feeds=True)[site.url("/f")]
    read = read_feed(got.url, got.body, got.content_type)
    assert [a.title for a in read.articles] == ["Курс сома укрепился"]
    assert read.problems == []


@pytest.mark.parametrize(
    ("content_type", "problem"),
    [
        ("text/xml", None),  # RFC 3023's US-ASCII: a false warning on a correct feed
        ("text/html; charset=windows-1251", None),  # feedparser then called it not well-formed
        ("application/xml; charset=windows-1252", "says charset=windows-1252, the feed declares"),
    ],
)
def test_a_feeds_declared_encoding_is_read_whatever_the_server_says(site, content_type, problem):
    """Servers send feeds with a site-wide Content-Type: a correct windows-1251 feed was
    warned about as US-ASCII, called not well-formed, or read as windows-1252 without a word
    ("Êóðñ ñîìà")."""
    body = (
        '<?xml version="1.0" encoding="windows-1251"?><rss version="2.0"><channel>'
        "<title>Новости Бишкека</title><item><title>Курс сома укрепился</title>"
        "<description>Сом укрепился к доллару.</description></item></channel></rss>"
    ).encode("cp1251")
    site.routes = {"/f": Page(body, headers={"Content-Type": content_type})}
    got = fetch_all([site.url("/f")], feeds=True)[site.url("/f")]
    read = read_feed(got.url, got.body, got.content_type)
    [article] = read.articles
    assert (article.title, article.source_name) == ("Курс сома укрепился", "Новости Бишкека")
    messages = [p.message for p in read.problems]
    assert messages == ([] if problem is None else [messages[0]])
    assert problem is None or problem in messages[0]


@pytest.mark.parametrize("title", ["Almaty opens metro line", "Алматы открыл метро"])
def test_a_utf8_feed_under_apaches_default_charset_reads_without_a_problem(site, title):
    """Apache's default `charset=ISO-8859-1` over a WordPress feed declaring UTF-8, its bytes
    plain ASCII or UTF-8 beyond it: read right, yet "the server says charset=ISO-8859-1, the
    feed declares utf-8 ... check its text" at every run, for every such feed."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>W</title>'
        f"<item><title>{title}</title><description>Text.</description></item></channel></rss>"
    ).encode()
    site.routes = {"/f": Page(body, headers={"Content-Type": "text/xml; charset=ISO-8859-1"})}
    got = fetch_all([site.url("/f")], feeds=True)[site.url("/f")]
    read = read_feed(got.url, got.body, got.content_type)
    assert ([a.title for a in read.articles], read.problems) == ([title], [])


def test_a_daily_max_age_leaves_the_next_days_run_room_to_ask(site):
    """max-age=86400 kept the feed from being asked until the very second a day later: a
    daily run that started a little earlier than the day before skipped the feed, and its day
    of news came a day late. A copy that old is only stale; a tenth of the age, at most an
    hour, is left to the cadence."""
    site.routes = {"/f": Page(FEED, headers={"Cache-Control": "max-age=86400"})}
    url = site.url("/f")
    got = fetch_all([url])[url]
    fetched = dt.datetime.fromisoformat(got.cache.last_fetch)
    assert dt.datetime.fromisoformat(got.cache.not_before) - fetched == dt.timedelta(hours=23)


def test_a_json_array_served_as_a_feed_says_what_it_is(site):
    """An API's list served at a feed's address was "not a readable RSS/Atom feed": it is
    JSON, only not a JSON Feed."""
    body = b'[{"title": "Almaty opens metro line", "url": "https://x.example/1"}]'
    site.routes = {"/api/news": Page(body, headers={"Content-Type": "application/json"})}
    url = site.url("/api/news")
    read = read_specs([SourceSpec("feed", url)], fetched=fetch_all([url]))
    assert read.articles == []
    assert [(p.source, p.message) for p in read.problems] == [
        (url, "JSON, but not a JSON Feed: an array, not an object with `version` and `items`")
    ]


def test_max_age_counts_the_age_a_cdn_says_its_copy_has(site):
    """A CDN's copy of a max-age=86400 feed 20 hours old (Age: 72000) is fresh 4 hours more;
    the feed was not asked again for 23 hours, and a run 12 hours later read the old copy."""
    site.routes = {"/f": Page(FEED, headers={"Cache-Control": "max-age=86400", "Age": "72000"})}
    url = site.url("/f")
    got = fetch_all([url])[url]
    fetched = dt.datetime.fromisoformat(got.cache.last_fetch)
    assert dt.datetime.fromisoformat(got.cache.not_before) - fetched == dt.timedelta(hours=3)
    site.routes = {"/f": Page(FEED, headers={"Cache-Control": "max-age=3600", "Age": "3500"})}
    assert fetch_all([url])[url].cache.not_before is None  # as good as stale: asked next run


def test_a_host_that_answers_429_is_not_asked_again_in_that_run(two_sites):
    """Twenty subreddits' feeds on one host that limits each client: after its first 429 the
    other feeds were asked all the same, each answered 429, and the host took us for a bot.
    Its other feeds are read from their last copies; another host is asked as ever."""
    limited, other = two_sites
    answers = iter([Page(FEED), Page(FEED)])  # the last run's and this run's first

    def limiting(handler):
        handler._send(next(answers, Page(b"Too Many Requests", 429, {"Retry-After": "600"})))

    limited.routes = {f"/r/{n}": limiting for n in range(6)}
    other.routes = {"/f": Page(FEED)}
    urls = [limited.url(f"/r/{n}") for n in range(6)]
    last = fetch_all([urls[5]], settings=FetchConfig(per_host=1))[urls[5]].cache
    got = fetch_all([*urls, other.url("/f")], {urls[5]: last}, FetchConfig(per_host=1))
    assert [path for path, _ in limited.requests] == ["/r/5", "/r/0", "/r/1"]
    assert got[urls[1]].cache.status == "429"
    why = f"not asked: {limited.host} answered HTTP 429 to {urls[1]}"
    assert [got[u].error for u in urls[2:5]] == [why] * 3
    assert got[urls[5]].error is None and got[urls[5]].body == FEED
    assert got[urls[5]].notes == [f"{why}; its last copy read"]
    assert got[other.url("/f")].body == FEED


def test_a_429_behind_a_redirect_rests_the_host_that_answered_it(two_sites):
    """An aggregator's links (a redirector's host) to many publishers: one publisher's 429
    rested the redirector, and every other link of it, to publishers that never limited us,
    was not asked ("not asked: <redirector> answered HTTP 429"). The host that said it rests."""
    redirector, publisher = two_sites
    redirector.routes = {"/go/1": redirect(302, publisher.url("/p/1")), "/go/2": Page(FEED)}
    publisher.routes = {"/p/1": Page(b"Too Many Requests", 429, {"Retry-After": "600"})}
    urls = [redirector.url("/go/1"), redirector.url("/go/2")]
    got = fetch_all(urls, settings=FetchConfig(per_host=1))
    assert got[urls[0]].cache.status == "429"
    assert got[urls[1]].error is None and got[urls[1]].body == FEED
    assert [path for path, _ in redirector.requests] == ["/go/1", "/go/2"]


def test_a_host_leaving_two_urls_unanswered_is_not_asked_for_its_others(two_sites):
    """An overloaded newspaper host that accepts and answers nothing, twenty of its section
    feeds in the config: each cost the whole deadline, two at a time: 200 s at the default
    20 s. After two unanswered URLs its others are not asked; one feed of a host that hangs
    alone (a huge feed) costs the others of its host nothing."""
    hung, fine = two_sites
    hung.routes = {f"/s/{n}": hang for n in range(6)}
    fine.routes = {"/huge": hang, **{f"/f/{n}": Page(FEED) for n in range(3)}}
    urls = [hung.url(f"/s/{n}") for n in range(6)]
    others = [fine.url(p) for p in ("/huge", "/f/0", "/f/1", "/f/2")]
    got = fetch_all(urls + others, settings=FetchConfig(timeout=1.5, per_host=1))
    assert len(hung.requests) == 2
    why = f"not asked: {hung.host} left 2 URLs unanswered within 1.5 s"
    timed_out = "no complete answer within 1.5 s; gave up"
    assert [got[u].error for u in urls] == [timed_out] * 2 + [why] * 4
    assert [got[u].body for u in others[1:]] == [FEED] * 3
