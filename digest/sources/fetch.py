"""Fetching over HTTP: many URLs at once, politely, each within a real deadline.

The client is aiohttp, chosen over the standard library with threads, urllib3 and httpx:
one event loop keeps hundreds of requests in flight without a thread each, it decodes
gzip/deflate by the answer's Content-Encoding (also when the server sends it unasked), and it
reads the body in the pieces that arrive, so our clock is checked after each piece. The
deadline itself is ours (`asyncio.timeout` around connect, redirects and the whole body): a
server that hangs or trickles a byte at a time cannot stretch it, which a socket timeout on
each read (urllib, urllib3, httpx) does not give.

Manners: at most `per_host` requests to one host at a time and `concurrency` in all; a
User-Agent naming the config's contact URL; `If-None-Match` / `If-Modified-Since` from the
last answer; `Retry-After` (429, 503) and `Cache-Control: max-age` kept as the time before
which the URL is not asked again; a host's 429, or two of its URLs left unanswered, heeded by
all its URLs in the run (`_Hosts`); redirects followed by hand, so a permanent one (301, 308)
is remembered and reported while temporary ones (302, 303, 307) are not. Nothing is read
past the byte cap: a Content-Length above it is refused before the body is read.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import re
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from ..config import FetchConfig
from ..encoding import opening
from ..errors import reason
from ..state.models import CacheInfo
from ..text import clean_text, is_web_url
from .jsonfeed import looks_like_json
from .webpage import looks_like_html, web_page_problem

DEFAULT_FETCH = FetchConfig()
CONNECT_TIMEOUT = 10.0  # within the URL's whole deadline (`fetch.timeout`)
MAX_REDIRECTS = 5
HUNG_AFTER = 2  # URLs of one host left unanswered in a run before its others are not asked
MAX_WAIT = dt.timedelta(days=7)  # a Retry-After or max-age further away is taken as this
MAX_AGE_SLACK = 3600.0  # seconds a max-age wait is shortened by, at most (see _wait)
PERMANENT = (301, 308)
TEMPORARY = (302, 303, 307)


@dataclass
class Fetched:
    """One URL's outcome. `body` is what to read (new, or the cached one after a 304 or while
    the server asked to wait); `error` says what failed; `cache` is what to remember."""

    url: str
    cache: CacheInfo
    body: bytes | None = None
    content_type: str | None = None
    error: str | None = None
    fresh: bool = False  # the body came from the network this time
    not_modified: bool = False
    waited: bool = False  # not asked: the server asked to wait until cache.not_before
    moved: str | None = None  # a permanent redirect met this time: the new address
    notes: list[str] = field(default_factory=list)
    read: Any = None  # what `then` (fetch_all) made of it, once it arrived


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class FetchError(Exception):
    """One URL could not be read; the message says why, in the editor's words."""


def fetch_all(
    urls: Iterable[str],
    cache: dict[str, CacheInfo] | None = None,
    settings: FetchConfig = DEFAULT_FETCH,
    progress: Callable[[int, int], None] | None = None,
    conditional: bool = True,
    then: Callable[[Fetched], Any] | None = None,
    feeds: bool = False,
    resting: dict[str, str] | None = None,
) -> dict[str, Fetched]:
    """Fetch every URL (each once) concurrently; never raises for a bad URL or server.
    `then(fetched)`, when given, runs on each as soon as it arrives, in one worker thread
    while the others are still on their way (its result in `Fetched.read`): reading the
    feeds overlaps waiting for the slow ones. `feeds`: the URLs are feeds, and a web page or
    an empty body answered for one is a failed fetch (`_not_a_feed`): its last copy, with
    the stories still waiting, is kept and read. `resting`: the hosts not to be asked (host:
    why), filled by this fetch, shared by a run's fetches (its feeds', then its pages')."""
    urls = list(dict.fromkeys(urls))
    if not urls:
        return {}
    hosts = _Hosts(settings.per_host, resting=resting if resting is not None else {})
    return asyncio.run(
        _fetch_all(urls, cache or {}, settings, progress, conditional, then, feeds, hosts)
    )


def fetch_bytes(url: str, settings: FetchConfig = DEFAULT_FETCH) -> bytes:
    """One URL's body (no cache); OSError says what failed."""
    got = fetch_all([url], settings=settings, conditional=False)[url]
    if got.error:
        raise OSError(got.error)
    return got.body or b""


async def _fetch_all(
    urls, cache, settings, progress, conditional, then, feeds, hosts: _Hosts
) -> dict[str, Fetched]:
    import aiohttp

    loop = asyncio.get_running_loop()
    worker = ThreadPoolExecutor(1, thread_name_prefix="digest-read") if then else None

    total_limit = asyncio.Semaphore(settings.concurrency)
    done = 0
    out: dict[str, Fetched] = {}
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, ttl_dns_cache=300)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT)
    async with aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        headers={"User-Agent": settings.user_agent},
        auto_decompress=True,
    ) as session:

        async def one(url: str) -> None:
            nonlocal done
            known = cache.get(url) or CacheInfo(url)
            got = await _one(session, url, known, settings, total_limit, hosts, conditional)
            if feeds and got.fresh and (wrong := _not_a_feed(url, got.body or b"")):
                started = dt.datetime.fromisoformat(got.cache.last_fetch or "")
                moved_to = got.cache.moved_to
                got = _failed(url, known, started, wrong[0], status=wrong[1], moved_to=moved_to)
            if worker is not None:
                try:
                    got.read = await loop.run_in_executor(worker, then, got)
                except Exception:  # read again later, in config order, where it can be told
                    got.read = None
            out[url] = got
            done += 1
            if progress is not None:
                progress(done, len(urls))

        try:
            await asyncio.gather(*(one(u) for u in urls))
        finally:
            if worker is not None:
                worker.shutdown()
    return out


def _not_a_feed(url: str, body: bytes) -> tuple[str, str] | None:
    """Why a feed's 200 answer is no feed, and its status, if it is none: a web page (a
    maintenance page, the home page after a redesign) or nothing at all (WordPress's blank
    page after a PHP error, a CDN's hiccup)."""
    if not body.strip():
        return "answered with an empty body, not a feed", "200, empty"
    root = _XML_ROOT.match(opening(body))
    name = root.group(1).rsplit(b":", 1)[-1].lower() if root else None
    if looks_like_html(body) or name == b"html":  # XHTML too
        why = web_page_problem(url, body).message.replace("this is", "answered with", 1)
        return why, "200, a web page"
    # no feed's element in it at all: a PHP notice printed before the feed ("<br />\n<b>Notice
    # </b>: ... <?xml ...?><rss>", which the lenient reader reads) is not an error document
    if root and name not in FEED_ROOTS and not _FEED_ELEMENT.search(opening(body, len(body))):
        return f"answered with an XML document <{root.group(1).decode()}>, not a feed", "200, XML"
    # a gateway's {"message": ...} (read as text: a JSON Feed may be UTF-16 with its mark)
    if looks_like_json(body) and b"jsonfeed.org" not in opening(body, len(body)):
        return "answered with JSON that is no JSON Feed (no jsonfeed.org `version`)", "200, JSON"
    return None


# A document's first element, after its declaration, comments, processing instructions and a
# DOCTYPE without an internal subset. A feed's is one of FEED_ROOTS (RSS, Atom, RSS 1.0's
# rdf:RDF, RSS 0.9's channel); a storage service's <Error><Code>AccessDenied</Code> is none.
_XML_ROOT = re.compile(rb"(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*>|\s)*<([A-Za-z_][\w:.-]*)", re.S)
FEED_ROOTS = (b"rss", b"feed", b"rdf", b"channel")
_FEED_ELEMENT = re.compile(rb"<(?:[\w.-]+:)?(?:%s)[\s/>]" % b"|".join(FEED_ROOTS), re.I)


@dataclass
class _Hosts:
    """The hosts of one fetch_all: each one's limit of requests at once, and why a host is
    not asked again in this run, once it is so."""

    per_host: int
    limits: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    resting: dict[str, str] = field(default_factory=dict)
    unanswered: dict[str, int] = field(default_factory=dict)

    def limit(self, host: str) -> asyncio.Semaphore:
        return self.limits.setdefault(host, asyncio.Semaphore(self.per_host))

    def answered(self, host: str, url: str, got: Fetched) -> None:
        """A host's "too many requests" is said to us, not to one URL: its other URLs are
        not asked in this run either."""
        if got.cache.status == "429" or (got.cache.status == "503" and got.cache.not_before):
            self.resting[host] = f"not asked: {host} answered HTTP {got.cache.status} to {url}"

    def timed_out(self, host: str, seconds: float) -> None:
        """One URL left unanswered may be its own (a huge feed); a second one is the host's
        (overloaded, hanging): its other URLs would each cost the deadline too."""
        n = self.unanswered[host] = self.unanswered.get(host, 0) + 1
        if n >= HUNG_AFTER:
            self.resting[host] = f"not asked: {host} left {n} URLs unanswered within {seconds:g} s"


async def _one(session, url, known: CacheInfo, settings, total_limit, hosts: _Hosts, conditional):
    started = now_utc()
    if known.not_before and dt.datetime.fromisoformat(known.not_before) > started:
        why = known.asked_because or "the server"
        return _not_asked(url, known, f"not asked before {known.not_before} ({why})")
    ask = known.moved_to or url
    host = _host(ask)
    limit = hosts.limit(host)
    headers = {}
    if conditional and known.body is not None:
        if known.etag:
            headers["If-None-Match"] = known.etag
        if known.last_modified:
            headers["If-Modified-Since"] = known.last_modified
    # each address asked, the last the one that answered or hung: the host a rest is for (an
    # aggregator's link is not rested for its publisher's 429)
    asked = [ask]
    async with limit, total_limit:  # the host first: a feed waiting for its host holds no slot
        if host in hosts.resting:
            return _not_asked(url, known, hosts.resting[host])
        try:
            async with asyncio.timeout(settings.timeout):
                got = await _get(session, url, asked, headers, known, settings, started)
            hosts.answered(_host(asked[-1]), asked[-1], got)
            return got
        except TimeoutError:
            error = f"no complete answer within {settings.timeout:g} s; gave up"
            hosts.timed_out(_host(asked[-1]), settings.timeout)
        except FetchError as e:
            error = str(e)
        except Exception as e:  # aiohttp's ClientError family, OSError, bad URLs
            error = _connection_error(e)
    return _failed(url, known, started, error)


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _not_asked(url: str, known: CacheInfo, why: str) -> Fetched:
    """Not asked (`why`): its last copy is read; with none, that is the error."""
    got = Fetched(url, known, known.body, known.content_type, waited=True)
    got.notes.append(
        f"{why}; " + ("its last copy read" if known.body is not None else "nothing read")
    )
    if known.body is None:
        got.error = why
    return got


_UNREAD_ENCODING = re.compile(r"Can not decode content-encoding: ([^.]+)", re.I)


def _connection_error(e: Exception) -> str:
    import aiohttp

    if isinstance(e, aiohttp.InvalidURL):
        return f"not a usable address ({reason(e)})"
    if isinstance(e, aiohttp.ClientConnectorError):
        return f"could not connect ({e.os_error.strerror or e.os_error})"
    if isinstance(e, aiohttp.ClientResponseError) and (
        unread := _UNREAD_ENCODING.search(e.message or "")
    ):
        # not aiohttp's advice to install a decoder: Brotli's would unpack with no cap
        return f"sent in {unread.group(1)}, a Content-Encoding digest does not ask for or read"
    if isinstance(e, aiohttp.ClientPayloadError):
        # the decoder's own words, without the status aiohttp puts first ("400, message:\n")
        said = getattr(e.__cause__, "message", None)
        return f"the answer broke off or could not be decoded ({reason(said or e)})"
    return f"broken HTTP answer ({reason(e)})"


def _failed(url: str, known: CacheInfo, started: dt.datetime, error: str, **changes) -> Fetched:
    # on one line, without what a server's words may hide (its reason phrase, its library's
    # message): "HTTP 404 \x1b[2J..." cleared the operator's terminal, in every run's warnings
    # and in `digest sources`
    error = clean_text(error)
    cache = replace(
        known,
        last_fetch=started.isoformat(),
        status=changes.pop("status", error),
        failures=known.failures + 1,
        **changes,
    )
    # the last body still holds the stories that wait for the next digest: it is read again
    return Fetched(url, cache, known.body, known.content_type, error=error)


# What no URL holds as it is (controls, spaces, other characters not printable such as bidi
# overrides, and bytes no UTF-8, which the header gives as lone surrogates): percent-encoded,
# as browsers do with a Location. Raw, a server's ESC and BEL reached the terminal in "moved
# permanently to ...".
def _encoded_controls(location: str) -> str:
    return "".join(
        c if c.isprintable() and c != " " else quote(c.encode("utf-8", "surrogateescape"))
        for c in location.strip()
    )


async def _get(
    session, url, asked: list[str], headers, known: CacheInfo, settings, started
) -> Fetched:
    """The answer to `url`, asked at asked[0], its redirects followed (each added to `asked`)."""
    ask = asked[0]
    moved: str | None = None
    permanent = True
    for _hop in range(MAX_REDIRECTS + 1):
        async with session.get(ask, headers=headers, allow_redirects=False) as resp:
            if resp.status in PERMANENT + TEMPORARY:
                location = resp.headers.get("Location")
                if not location:
                    raise FetchError(f"HTTP {resp.status} redirect without a Location")
                ask = urljoin(ask, _encoded_controls(location))
                asked.append(ask)
                if not is_web_url(ask):
                    raise FetchError(f"redirected to {ask!r}, which is not a web address")
                permanent = permanent and resp.status in PERMANENT
                if permanent:
                    moved = ask
                continue
            return await _answer(resp, url, known, settings, started, moved, ask)
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


async def _answer(resp, url, known: CacheInfo, settings, started, moved, at: str) -> Fetched:
    """`resp`, the answer at `at` (the last redirect's target)."""
    stamp = started.isoformat()
    wait = _wait(resp, started)
    moved_to = moved or known.moved_to
    if moved == url:  # the address remembered sends back to `feed:`'s: the move is undone
        moved_to = moved = None
    if resp.status == 304 and known.body is None:
        # nothing was asked conditionally (no copy is kept): a broken server or cache in
        # front of it; read as a success with nothing to read, the feed was never read and
        # `sources` called it healthy
        return _failed(
            url, known, started, "answered 304 Not Modified, but no copy was asked about"
        )
    if resp.status == 304:
        cache = replace(
            known,
            last_fetch=stamp,
            status="304",
            last_success=stamp,
            failures=0,
            moved_to=moved_to,
            not_before=wait[0],
            asked_because=wait[1],
            etag=resp.headers.get("ETag") or known.etag,
        )
        return Fetched(url, cache, known.body, known.content_type, not_modified=True, moved=moved)
    if resp.status != 200:
        why = f"the server answered HTTP {resp.status} {resp.reason or ''}".rstrip()
        if resp.status in (404, 410) and moved_to:
            # Not at the address it moved to (any more): a move its site undid, a new address
            # retired. Remembered, the move kept the feed from `feed:`'s address for good.
            why += f" at {moved_to}, where it had moved"
            if at != moved_to:  # a temporary redirect from there named the address that failed
                why += f" (redirected from there to {at})"
            if known.moved_to:  # asked there alone: `feed:` itself may work
                why += "; `feed:` is asked again next run"
            moved_to = moved = None
        if resp.status == 410 and not known.moved_to:
            # a publisher's word that the feed is not coming back, reached from `feed:` itself
            why += ": the feed is gone for good; take it out of `feed:`"
        if resp.status in (429, 503) and wait[0]:
            why += f"; not asked again before {wait[0]} (Retry-After)"
        return _failed(
            url,
            known,
            started,
            why,
            status=str(resp.status),
            not_before=wait[0],
            asked_because=wait[1],
            moved_to=moved_to,
        )
    length = resp.content_length
    encoded = resp.headers.get("Content-Encoding", "identity").lower() not in ("identity", "")
    if length is not None and length > settings.max_bytes and not encoded:
        raise FetchError(
            f"{_mb(length)} by its Content-Length, over the cap of {_mb(settings.max_bytes)}; not read"
        )
    chunks, size = [], 0
    async for chunk in resp.content.iter_any():
        size += len(chunk)
        if size > settings.max_bytes:
            raise FetchError(f"larger than the cap of {_mb(settings.max_bytes)}; not read further")
        chunks.append(chunk)
    body = _gunzip(b"".join(chunks), settings.max_bytes)
    content_type = resp.headers.get("Content-Type")
    cache = replace(
        known,
        etag=resp.headers.get("ETag"),
        last_modified=resp.headers.get("Last-Modified"),
        moved_to=moved_to,
        not_before=wait[0],
        asked_because=wait[1],
        last_fetch=stamp,
        status="200",
        last_success=stamp,
        failures=0,
        bytes=len(body),
        body=body,
        content_type=content_type,
    )
    return Fetched(url, cache, body, content_type, fresh=True, moved=moved)


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def _gunzip(body: bytes, cap: int) -> bytes:
    """A gzip file served as is (no Content-Encoding: a feed.xml.gz), unpacked within the cap."""
    if not body.startswith(b"\x1f\x8b"):
        return body
    unpack = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = unpack.decompress(body, cap + 1)
    except zlib.error:
        return body
    if len(out) > cap:
        raise FetchError(f"unpacks to more than the cap of {_mb(cap)}; not read")
    return out


_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.I)


def _wait(resp, started: dt.datetime) -> tuple[str | None, str | None]:
    """(ISO time before which the URL is not asked again, what asked for it)."""
    seconds: float | None = None
    why = None
    retry = resp.headers.get("Retry-After")
    if retry and resp.status in (429, 503):
        seconds, why = _retry_after(retry.strip(), started), "Retry-After"
    elif resp.status in (200, 304):
        match = _MAX_AGE.search(resp.headers.get("Cache-Control", ""))
        if match and "no-cache" not in resp.headers.get("Cache-Control", "").lower():
            # A copy this old is still fresh, not one that must not be asked for: a run a
            # day later, a second earlier than this one, skipped a max-age=86400 feed and
            # its day's news. A tenth of the age (at most an hour) is left to a cadence.
            # A cache on the way (a CDN) says in `Age` how long its copy has been fresh.
            age = float(match.group(1))
            seconds = age - min(age / 10, MAX_AGE_SLACK) - _seconds(resp.headers.get("Age"))
            why = "max-age"
    if not seconds or seconds <= 0:
        return None, None
    until = started + dt.timedelta(seconds=min(seconds, MAX_WAIT.total_seconds()))
    return until.isoformat(), why


def _seconds(value: str | None) -> float:
    """A header's whole seconds (`Age`), 0 when absent or unreadable, at most MAX_WAIT."""
    value = (value or "").strip()
    return min(float(value), MAX_WAIT.total_seconds()) if _whole_seconds(value) else 0.0


def _whole_seconds(value: str) -> bool:
    """HTTP's delta-seconds, ASCII digits: str.isdigit also takes "²", which float() refuses,
    and a feed answered with `Age: ³` was "broken HTTP answer", its body unread."""
    return value.isascii() and value.isdigit()


def _retry_after(value: str, started: dt.datetime) -> float | None:
    if _whole_seconds(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return (when - started).total_seconds()
