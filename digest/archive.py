"""The archive: every delivered issue on a static site, with an Atom feed.

`write_archive` turns the delivered issues (read through the narrow `DeliveredIssues`
interface; the state layer implements it) into a folder that opens from disk and that any
web server can serve:

    DIR/index.html            every issue, newest first, linking to its page
    DIR/issues/NAME.html      the issue's HTML as sent, without the per-reader parts
    DIR/feed.xml              Atom, one entry per issue: subject, page, send time, stories
    DIR/.unpublished          issues taken off the site (`digest archive --remove`)

NAME is `<digest date>-<run number>` (`2025-11-10-7`): known before the issue is frozen, so
the e-mail's "View in browser" link can point at it. Links between the files are relative
(the folder can move); with `archive.url` the feed's links are absolute. A file is written
only when its bytes change, so a second archive with nothing new rewrites nothing.
The archive writes nothing to the state and nothing under DIR belongs to a reader: the
frozen HTML's unsubscribe placeholder (filled per reader when sent) is taken out.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import functools
import html
import os
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Protocol

import jinja2

from .errors import UsageError
from .i18n import Catalogue, catalogue
from .models import around_footer_link
from .text import clean_text, counted, safe_href

PAGES = "issues"  # the issue pages' sub-folder
REMOVED = ".unpublished"  # names of the issues taken off the site, one per line
LOCK = ".lock"  # held by the one writer at a time
ATOM = "http://www.w3.org/2005/Atom"
FEED = "feed.xml"
FEED_TYPE = "application/atom+xml; charset=utf-8"  # RFC 4287's own media type
XML = "http://www.w3.org/XML/1998/namespace"  # xml:lang
_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}-\d+$")
_SEPARATOR_BEFORE = re.compile(r"\s*·\s*$")
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class IssueRecord(Protocol):
    """One delivered issue, as frozen before sending."""

    @property
    def run_id(self) -> int: ...
    @property
    def digest_date(self) -> str: ...  # ISO date
    @property
    def subject(self) -> str: ...
    @property
    def sent_at(self) -> str: ...  # ISO time the first reader's copy was accepted
    @property
    def html(self) -> str: ...  # holds the {unsubscribe_url} placeholder
    @property
    def stories(self) -> Sequence[ShownStory]: ...  # as frozen with the issue


class ShownStory(Protocol):
    """A story of a delivered issue: what its archive page lists."""

    @property
    def title(self) -> str: ...
    @property
    def lead(self) -> str: ...
    @property
    def url(self) -> str | None: ...


class DeliveredIssues(Protocol):
    """What the archive needs from the state: read only."""

    def delivered_issues(self) -> Sequence[IssueRecord]:
        """Every issue at least one reader has, oldest first."""
        ...


@dataclass(frozen=True)
class Page:
    """One issue on the site."""

    name: str
    subject: str
    date: dt.date
    sent_at: dt.datetime
    stories: tuple[tuple[str, str, str | None], ...]  # (headline, lead, article URL)
    html: str  # the page, ready to write
    number: int = 0  # the issue's number: 1 for the first issue ever delivered
    title: str = ""  # the page's own <title>: the digest, the number, the date, the headline
    description: str = ""  # the headlines, for search results and link previews
    rates: bool = True  # the issue carries the rates strip (an issue of feeds alone has none)

    @property
    def headline(self) -> str:
        """The top story's headline: what the issue is about (the subject adds "+ N more")."""
        return self.stories[0][0] if self.stories else self.subject


@dataclass
class ArchiveReport:
    folder: Path
    pages: list[Page] = field(default_factory=list)  # newest first
    written: list[Path] = field(default_factory=list)
    unchanged: int = 0
    deleted: list[Path] = field(default_factory=list)
    unpublished: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        issues = counted(len(self.pages), "issue")
        parts = [f"{counted(len(self.written), 'file')} written", f"{self.unchanged} unchanged"]
        if self.deleted:
            parts.append(f"{len(self.deleted)} deleted")
        if self.unpublished:
            parts.append(f"{len(self.unpublished)} unpublished")
        return f"{self.folder}: {issues} ({', '.join(parts)})"


# --- names and addresses ------------------------------------------------------------------------


def page_name(digest_date: str | dt.date, run_id: int) -> str:
    """The issue's page name: its digest date and the run that froze it."""
    day = digest_date if isinstance(digest_date, str) else digest_date.isoformat()
    return f"{day}-{run_id}"


def page_url(base_url: str | None, digest_date: str | dt.date, run_id: int) -> str | None:
    """The issue's public address under `archive.url` ("View in browser"), if one is set."""
    if not base_url:
        return None
    return f"{base_url}{PAGES}/{page_name(digest_date, run_id)}.html"


def issue_name(text: str) -> str | None:
    """`--remove` takes the page's name as `digest archive` lists it, its file name or its
    path (or the run's number, as `digest history` shows it)."""
    name = text.strip().rsplit("/", 1)[-1].removesuffix(".html")
    return name if _NAME.match(name) else None


# --- the site -----------------------------------------------------------------------------------


def write_archive(
    source: DeliveredIssues,
    folder: Path,
    *,
    title: str,
    url: str | None = None,
    keep: int | None = None,
    remove: Sequence[str] = (),
    language: str = "en",
    web_url: str | None = None,
) -> ArchiveReport:
    """Write (or bring up to date) the archive in `folder`; returns what it did.

    `remove` names issues to take off the site for good (remembered in DIR/.unpublished);
    `keep` keeps only the newest N issues on it. `language` picks the site's own words (a
    catalogue in digest/i18n/); with `web_url` (`web.url`) web visitors are offered its
    subscribe page.
    Raises UsageError when the folder cannot be written or a name in `remove` is not a
    delivered issue."""
    with _one_writer(folder):
        return _write_archive(source, folder, title, url, keep, remove, language, web_url)


@contextmanager
def _one_writer(folder: Path) -> Iterator[None]:
    """One writer of `folder` at a time (two senders of one PostgreSQL state on one machine,
    or `digest archive` beside a run): a writer reads the delivered issues, then deletes the
    pages it does not know, so another's newer page written meanwhile would be lost."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / LOCK, "a")  # noqa: SIM115 - closed below, after the unlock
    except OSError as e:
        raise _unwritable(folder, e) from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        handle.close()  # frees the lock


def _unwritable(folder: Path, e: OSError) -> UsageError:
    return UsageError(
        f"{folder}: cannot write the archive there ({e.strerror})",
        "pass --out DIR, or set archive.folder to a folder you can write to",
    )


def _write_archive(
    source: DeliveredIssues,
    folder: Path,
    title: str,
    url: str | None,
    keep: int | None,
    remove: Sequence[str],
    language: str,
    web_url: str | None,
) -> ArchiveReport:
    words = catalogue(language)
    title = clean_text(title) or words.t("digest")
    site = _Site(title, url, words, safe_href(f"{web_url}subscribe") if web_url else None)
    report = ArchiveReport(folder)
    issues = list(source.delivered_issues())
    numbers = {page_name(i.digest_date, i.run_id): n for n, i in enumerate(issues, 1)}
    known = {page_name(i.digest_date, i.run_id) for i in issues}
    unpublished = _read_removed(folder)
    by_run = {str(i.run_id): page_name(i.digest_date, i.run_id) for i in issues}
    for text in remove:
        name = by_run.get(text.strip().lstrip("#")) or issue_name(text)
        if name is None or name not in known:
            raise UsageError(
                f"--remove {text!r}: no delivered issue has that name",
                "`digest archive` lists the issues by name (like 2025-11-10-7)",
            )
        if name not in unpublished:
            unpublished.append(name)
            report.unpublished.append(name)
    # Newest first in the order the issues were made, as they are numbered: not by send
    # time, which a clock set wrong (a year ahead, then put right) would keep on top for good.
    shown = [i for i in reversed(issues) if page_name(i.digest_date, i.run_id) not in unpublished]
    if keep is not None:
        shown = shown[:keep]
    report.pages = [_page(i, site, numbers[page_name(i.digest_date, i.run_id)]) for i in shown]

    # Pages first, then what links to them: a write that fails half-way leaves no dead link.
    files: dict[Path, bytes] = {
        **{folder / PAGES / f"{p.name}.html": p.html.encode() for p in report.pages},
        folder / "feed.xml": _feed(report.pages, title, url, words),
        folder / "index.html": _index(report.pages, site).encode(),
    }
    if unpublished:
        files[folder / REMOVED] = _removed_text(unpublished).encode()
    try:
        (folder / PAGES).mkdir(parents=True, exist_ok=True)
        for path, data in files.items():
            if write_if_changed(path, data):
                report.written.append(path)
            else:
                report.unchanged += 1
        for old in sorted((folder / PAGES).glob("*.html")):
            if _NAME.match(old.stem) and old not in files:  # unpublished, or past `keep`
                old.unlink(missing_ok=True)  # or another writer just did
                report.deleted.append(old)
    except OSError as e:
        raise _unwritable(folder, e) from None
    return report


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write `data` to `path` unless it already holds exactly that (its mtime stays then).
    A new file is put in place whole (rename), so a web server never serves half of one; the
    file it is made in is this process's own, as two senders may write one archive at once."""
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return True


def _read_removed(folder: Path) -> list[str]:
    try:
        text = (folder / REMOVED).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{folder / REMOVED}: cannot read it ({e})") from None
    names = []
    for line in text.splitlines():
        name = line.split("#", 1)[0].strip()
        if name and name not in names:
            names.append(name)
    return names


def _removed_text(names: list[str]) -> str:
    head = (
        "# Issues taken off the archive (`digest archive --remove NAME`), one per line.\n"
        "# Delete a line and run `digest archive` to publish that issue again.\n"
    )
    return head + "".join(f"{n}\n" for n in names)


def stored_time(text: str) -> dt.datetime:
    """An ISO time from the state, aware (UTC when it carries no offset)."""
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _stories(
    stories: Sequence[ShownStory], untitled: str
) -> tuple[tuple[str, str, str | None], ...]:

    return tuple(
        (
            clean_text(str(s.title or "")) or untitled,
            clean_text(str(s.lead or "")),
            safe_href(s.url if isinstance(s.url, str) else None),
        )
        for s in stories
    )


@dataclass(frozen=True)
class _Site:
    title: str
    url: str | None  # `archive.url`
    words: Catalogue
    subscribe_url: str | None  # `web.url`'s subscribe page


def _page(issue: IssueRecord, site: _Site, number: int) -> Page:
    name = page_name(issue.digest_date, issue.run_id)
    sent_at = stored_time(issue.sent_at).astimezone(dt.UTC)
    try:
        day = dt.date.fromisoformat(issue.digest_date)
    except ValueError:
        day = sent_at.date()
    words = site.words
    stories = _stories(issue.stories, words.t("untitled"))
    subject = clean_text(issue.subject) or words.t("untitled")
    # the strip's heading, as the template writes it: source text cannot make the attribute
    rates = 'id="rates"' in issue.html
    info = Page(name, subject, day, sent_at, stories, html="", number=number, rates=rates)
    when = words.date(day, "short")
    page_title = (
        words.t("issue_title", title=site.title, n=number, date=when, headline=info.headline)
        if stories
        else words.t("issue_title_empty", title=site.title, n=number, date=when)
    )
    description = _description(stories, words, rates)
    info = replace(info, title=page_title, description=description)
    own = page_url(site.url, issue.digest_date, issue.run_id)
    body = public_html(issue.html, own)
    body = _web_footer(body, site)
    bar = (
        _env()
        .get_template("archive_bar.html.j2")
        .render(page=info, title=site.title, t=words.t, subscribe_url=site.subscribe_url)
    )
    head = (
        _env()
        .get_template("archive_head.html.j2")
        .render(page=info, canonical=own, site_name=site.title, lang=words.language)
    )
    body = _TITLE.sub("", body, count=1)  # the page's own title goes in with the head below
    body = _insert_after(body, re.compile(r"<body\b[^>]*>", re.I), bar)
    body = _insert_before(body, re.compile(r"</head\s*>", re.I), head)
    return replace(info, html=body)


_TITLE = re.compile(r"<title\b[^>]*>.*?</title\s*>", re.I | re.S)
_REASON = re.compile(r'<span class="reason">.*?</span>(<br\s*/?>)?', re.S)
_OLD_REASON = re.compile(r"You receive this because you subscribed to [^<]*?\.(<br\s*/?>)?")


def _description(
    stories: tuple[tuple[str, str, str | None], ...], words: Catalogue, rates: bool
) -> str:
    """The issue in one line for search results and previews: its headlines, or the top
    story's lead when it has one story."""
    if not stories:
        return words.t("rates_only" if rates else "nothing_new")
    if len(stories) == 1:
        return stories[0][1] or stories[0][0]
    heads = " · ".join(s[0] for s in stories[:4])
    more = len(stories) - 4
    return words.t("issue_description", headlines=heads) + (
        f" · {words.n('and_more', more)}" if more > 0 else ""
    )


def _web_footer(body: str, site: _Site) -> str:
    """The e-mail's "you receive this because you subscribed" is not true of a web visitor:
    it becomes a way to subscribe (`web.url`), or goes."""
    link = ""
    if site.subscribe_url:
        link = (
            f'<a class="subscribe" href="{html.escape(site.subscribe_url, quote=True)}" '
            'style="color:inherit;text-decoration:underline;font-weight:600;">'
            f"{html.escape(site.words.t('subscribe_line', title=site.title))}</a><br>"
        )
    if _REASON.search(body):
        return _REASON.sub(lambda _: link, body, count=1)
    return _OLD_REASON.sub(lambda _: link, body, count=1)


def public_html(frozen: str, own_url: str | None = None) -> str:
    """The issue's HTML as sent, minus what belongs to one reader: the unsubscribe link
    (its placeholder is the last one: source text comes before the footer) goes, and so
    does a "View in browser" link to the page itself."""
    around = around_footer_link(frozen)
    if around is not None:
        head, tail = around
        start = head.rfind("<a ")
        end = tail.find("</a>")
        opening = head[start:] if start >= 0 else ""
        if start >= 0 and end >= 0 and ">" not in opening and re.search(r"href=[\"']$", opening):
            # with the separator from a link before it ("View in browser · Unsubscribe")
            frozen = _SEPARATOR_BEFORE.sub("", head[:start]) + tail[end + len("</a>") :]
        else:
            frozen = head + "#" + tail
    if own_url:
        escaped = re.escape(html.escape(own_url, quote=True))
        link = rf"<a\b[^>]*\bhref=[\"']{escaped}[\"'][^>]*>.*?</a>(\s*·\s*)?"
        frozen = re.sub(link, "", frozen, flags=re.S)
    return frozen


def _insert_after(text: str, pattern: re.Pattern[str], piece: str) -> str:
    match = pattern.search(text)
    return text[: match.end()] + piece + text[match.end() :] if match else piece + text


def _insert_before(text: str, pattern: re.Pattern[str], piece: str) -> str:
    match = pattern.search(text)
    return text[: match.start()] + piece + text[match.start() :] if match else text


# --- the index page -----------------------------------------------------------------------------


def _index(pages: list[Page], site: _Site) -> str:
    url = site.url
    return (
        _env()
        .get_template("archive_index.html.j2")
        .render(
            title=site.title,
            pages=pages,
            t=site.words.t,
            tn=site.words.n,
            date=site.words.date,
            lang=site.words.language,
            description=site.words.t("archive_description", title=site.title),
            subscribe_url=site.subscribe_url,
            feed_href=f"{url}feed.xml" if url else "feed.xml",
            canonical=f"{url}index.html" if url else None,
            pages_dir=PAGES,
        )
    )


# --- the Atom feed ------------------------------------------------------------------------------


# The feed carries the newest issues only: each entry holds its whole issue (about 6 KB), and
# every feed reader fetches the whole file at each poll. The index and the pages keep them all.
FEED_ENTRIES = 50


def _feed(pages: list[Page], title: str, url: str | None, words: Catalogue) -> bytes:
    """Atom 1.0 (RFC 4287), the newest FEED_ENTRIES issues. Written with ElementTree, which
    escapes every text and attribute; characters XML cannot carry at all are dropped first."""
    ET.register_namespace("", ATOM)

    def add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", {k: _xml(v) for k, v in attrs.items()})
        if text is not None:
            el.text = _xml(text)
        return el

    base = url or ""
    feed = ET.Element(f"{{{ATOM}}}feed", {f"{{{XML}}}lang": words.language})
    add(feed, "id", _urn(title, "feed"))
    add(feed, "title", title)
    add(feed, "subtitle", words.t("archive_description", title=title))
    newest = pages[0].sent_at if pages else dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    add(feed, "updated", _rfc3339(newest))
    author = add(feed, "author")
    add(author, "name", title)
    add(feed, "link", rel="self", type="application/atom+xml", href=f"{base}feed.xml")
    add(feed, "link", rel="alternate", type="text/html", href=f"{base}index.html")
    add(feed, "generator", "digest")
    for page in pages[:FEED_ENTRIES]:
        entry = add(feed, "entry")
        add(entry, "id", _urn(title, page.name))
        add(entry, "title", page.subject)
        add(entry, "updated", _rfc3339(page.sent_at))
        add(entry, "published", _rfc3339(page.sent_at))
        href = f"{base}{PAGES}/{page.name}.html"
        add(entry, "link", rel="alternate", type="text/html", href=href)
        headlines = " · ".join(s[0] for s in page.stories[:4])
        add(entry, "summary", headlines or words.t("nothing_new"))
        add(entry, "content", _content_html(page, words), type="html")
    ET.indent(feed, space="  ")
    return (
        b'<?xml version="1.0" encoding="utf-8"?>\n'
        + ET.tostring(feed, encoding="utf-8", xml_declaration=False)
        + b"\n"
    )


def _content_html(page: Page, words: Catalogue) -> str:
    """The entry's content: each story's headline (linked) and lead, as escaped HTML."""
    if not page.stories:
        return f"<p>{html.escape(words.t('nothing_new'))}</p>"
    items = []
    for headline, lead, href in page.stories:
        head = html.escape(headline)
        if href:
            head = f'<a href="{html.escape(href, quote=True)}">{head}</a>'
        items.append(
            f'<li dir="auto"><strong>{head}</strong>'
            + (f"<br>{html.escape(lead)}" if lead else "")
            + "</li>"
        )
    return "<ul>" + "".join(items) + "</ul>"


def _urn(title: str, name: str) -> str:
    """A permanent id: the same whatever `archive.url` says (adding a URL later does not make
    every feed reader show the old issues again as new)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"digest-archive:{title}:{name}").urn


def _rfc3339(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _xml(text: str) -> str:
    return _XML_INVALID.sub("", text)


# --- templates ----------------------------------------------------------------------------------


@functools.cache
def _env():
    try:
        root = resources.files("digest.templates")
    except ModuleNotFoundError:  # a source checkout used without installing
        root = Path(__file__).resolve().parents[1] / "templates"
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: (root / name).read_text("utf-8")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
