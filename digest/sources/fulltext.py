"""Full text: for sources with `full_text: true`, each new candidate's page is fetched and its
main text extracted, so leads and story matching work on the article, not on a one-line teaser.

The extractor is trafilatura: made for exactly this (boilerplate, menus, comments and
related-links lists left out), with the best scores of the open extractors in the published
comparisons (its own benchmark and ScrapingHub's article-extraction benchmark) and no model
to download; it needs `lxml_html_clean` beside lxml >= 5.

Pages are fetched with the feeds' manners (digest.sources.fetch: per-host limits, deadline,
byte cap), never for an article an earlier digest sent, and each URL once: what a page gave
(its paragraphs, or why none) is cached in the state by URL; a fetch that failed only this
time (a 5xx, a timeout) is not, and is tried again next run. A page that cannot be fetched
or gives no more text than the feed falls back to the feed's text, with a note.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from ..config import FetchConfig
from ..encoding import utf8_with_strays
from ..models import Article, Paragraph
from ..text import clean_text, content_words, headline
from .fetch import DEFAULT_FETCH, Fetched, fetch_all
from .limits import cap_article
from .snapshot import paragraph_kind

if TYPE_CHECKING:
    from ..state.storage import Storage

MIN_WORDS = 40  # an extraction shorter than this is no article (a paywall, a video page) ...
TEASER_SHARE = 3  # ... unless the feed's text is a teaser of a third of its words or fewer


def extract(html: bytes, url: str | None = None, title: str = "") -> list[str]:
    """The main text of a page, as paragraphs, without its headline (`title`, which the
    extractor keeps as the first line); [] when none can be found."""
    import trafilatura

    page = _page(html)
    text = trafilatura.extract(
        page,
        url=url,
        output_format="txt",
        include_comments=False,
        include_tables=False,
        include_images=False,
        deduplicate=False,  # its memory spans pages: a second copy of a wire story would lose its text
    )
    if not text:
        return []
    paragraphs = [p for p in (clean_text(line) for line in text.split("\n")) if p]
    heading = clean_text(title)
    if paragraphs and title and headline(paragraphs[0]) == headline(title):
        paragraphs = paragraphs[1:]
    elif len(paragraphs) == 1 and heading and _glued(paragraphs[0], heading):
        paragraphs[0] = _without_heading(paragraphs[0], heading, page, url)
    return [p for p in paragraphs if p]


def _page(html: bytes) -> bytes | str:
    """The page for the extractor: a UTF-8 page with a few stray bytes (a Windows-1252 quote
    pasted into one paragraph) as text, those bytes read as Windows-1252, as the feeds read
    it; the extractor's own guess took such a page for Mac Roman, every other quote in it
    garbled ("Kazakhstan\u201a\u00c4\u00f4s"). Else the bytes, for it to read."""
    utf8 = utf8_with_strays(html)
    return utf8.text if utf8 is not None and utf8.stray_line is not None else html


def _glued(line: str, title: str) -> bool:
    """Whether the page's one line opens with its headline glued to what follows it (a byline
    or a sentence, capitalised): "Storm Ciaran hits Britain with winds of 100mph" is a lede."""
    rest = line[len(title) :] if line.startswith(title + " ") else ""
    return rest.strip()[:1].isupper()


def _without_heading(line: str, title: str, html: bytes | str, url: str | None) -> str:
    """A short page's <article> can come out as one line, its headline and byline first
    ("«Газпром» сократил добычу газа на 6% Дмитрий Козлов Как стало известно ..."): the line
    without them. The page's byline is read only then: reading a page's metadata costs
    seven times its text (31 ms against 4)."""
    import trafilatura

    line = line[len(title) :].lstrip()
    author = trafilatura.extract_metadata(html, default_url=url, extensive=False).author
    byline = author and re.match(rf"(?i:by\s+)?{re.escape(clean_text(author))}\s", line)
    return line[byline.end() :] if byline else line


def with_full_text(
    articles: Sequence[Article],
    wanted: Callable[[Article], bool],
    store: Storage | None,
    write: bool,
    settings: FetchConfig = DEFAULT_FETCH,
    progress: Callable[[int, int], None] | None = None,
    resting: dict[str, str] | None = None,
) -> tuple[list[Article], list[str]]:
    """The articles, those `wanted` with their page's main text; and a note for each page
    that fell back to the feed's text. `resting`: the hosts the run's feeds found resting
    (fetch_all), not asked for pages either."""
    pending = [a for a in articles if wanted(a) and a.url]
    urls = list(dict.fromkeys(a.url for a in pending))
    if not urls:
        return list(articles), []
    sent = store.sent_urls(urls) if store is not None else set()
    urls = [u for u in urls if u not in sent]
    pages = store.page_texts(urls) if store is not None else {}
    new: dict[str, tuple[list[str] | None, str | None]] = {}
    passing: set[str] = set()  # failed this time only: not cached, asked again next run
    to_fetch = [u for u in urls if u not in pages]
    titles = {a.url: a.title for a in pending}
    for url, got in fetch_all(
        to_fetch, settings=settings, progress=progress, resting=resting
    ).items():
        if got.error:
            new[url] = (None, got.error)
            if not _lasting(got):
                passing.add(url)
            continue
        paragraphs = extract(got.body or b"", url, titles.get(url, ""))
        new[url] = (paragraphs, None) if paragraphs else (None, "no article text found on the page")
    kept = {url: page for url, page in new.items() if url not in passing}
    if write and store is not None and kept:
        store.save_page_texts(kept, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    pages.update(new)
    headlines: dict[str, set[str]] = {}
    for a in pending:
        headlines.setdefault(a.url, set()).add(headline(a.title))
    out, notes = [], []
    for a in articles:
        page = pages.get(a.url) if a.url and wanted(a) else None
        if page is None:
            out.append(a)
            continue
        paragraphs, problem = page
        if paragraphs is not None and len(headlines.get(a.url, ())) > 1:
            problem = f"{len(headlines[a.url])} entries of other titles link to it"
        elif paragraphs is not None and not tells(a, paragraphs):
            problem = "the page does not tell the entry's story (a login, consent or home page?)"
        elif paragraphs is not None and _short(paragraphs, a):
            problem = f"no article text found on the page ({_words(paragraphs)} words)"
        if problem or paragraphs is None or _words(paragraphs) <= len(a.text.split()):
            why = problem or "the page gave no more text than the feed"
            notes.append(f"{a.url}: full text not used ({why}); the feed's text kept")
            out.append(a)
            continue
        body = tuple(Paragraph(p, paragraph_kind(p)) for p in paragraphs)
        out.append(cap_article(replace(a, paragraphs=body, excerpt=False))[0])
    return out, list(dict.fromkeys(notes))  # a page many entries link to: one note


def _lasting(got: Fetched) -> bool:
    """A page's failed fetch that asking again will not mend, so it is cached: the server's
    own 4xx answer (gone, forbidden, a paywall's 401), not 408 or 429. A 5xx, a timeout or a
    broken connection is a passing one: cached, it cost the article its text for good."""
    status = got.cache.status or ""
    return status.isdigit() and 400 <= int(status) < 500 and int(status) not in (408, 429)


def tells(article: Article, paragraphs: list[str]) -> bool:
    """The page tells the entry's story: a quarter of its title's words are in it (each by
    its first five letters: "checks" and "checked"), or half of its teaser's. A title of no
    such words (a date) says nothing against it. ECB+ dev, each real article's own text: 444
    of 460 pass by title alone; a login and cookie-consent page passes for 2 of the 460
    titles."""
    page = _word_stems(" ".join(paragraphs))
    title = _word_stems(article.title)
    if not title or len(title & page) >= 0.25 * len(title):
        return True
    teaser = _word_stems(article.text)
    return len(teaser) >= 5 and len(teaser & page) >= 0.5 * len(teaser)


def _word_stems(text: str) -> set[str]:
    """Each content word's first five letters (letters, not UTF-8 bytes: a Russian word's
    five bytes are two and a half letters)."""
    return {w.decode()[:5] for w in content_words(text) if not w.isdigit()}


def _short(paragraphs: list[str], article: Article) -> bool:
    """Too short for an article, unless the feed gave a teaser of it a third as long (with no
    text at all in the feed, a 14-word "subscribe to unlock" page is no article)."""
    words = _words(paragraphs)
    teaser = len(article.text.split())
    return words < MIN_WORDS and (not teaser or words < TEASER_SHARE * teaser)


def _words(paragraphs: list[str]) -> int:
    return sum(len(p.split()) for p in paragraphs)
