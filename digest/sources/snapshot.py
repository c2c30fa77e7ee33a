"""Reader for front-page snapshots: a rate ticker, the page date, then articles.

The format, as the site's pages are saved:

    • KGS/USD = 0.01144 0%          <- ticker, repeated many times; the first line unindented
      • KZT/USD = 0.00196 -0%
    08 December 2025                <- page date
                                    <- blocks separated by blank lines
    Title In Title Case             <- a title: one short line, no closing punctuation
    First paragraph. ...            <- body paragraphs until the next title

Titles are told from paragraphs by the page's structure: a title is a short line in title
case with no sentence-ending punctuation, followed by a body paragraph. A short title-case
line followed by a spacer line (only non-breaking spaces, where the page had an image) is
an image caption, not a title.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from ..models import (
    BULLET,
    CAPTION,
    CHROME,
    PROSE,
    QUESTION,
    Article,
    Paragraph,
    Problem,
    RateQuote,
    ReadResult,
)

TICKER = re.compile(
    r"^\s*[•·*]?\s*(?P<pair>[A-Z]{3}/[A-Z]{3})\s*=\s*(?P<rate>\d[\d,]*(?:\.\d+)?)"
    r"\s+(?P<change>[-+−]?\d+(?:\.\d+)?)\s*%\s*$"
)
DATE_FORMATS = ("%d %B %Y", "%B %d, %Y", "%d %b %Y", "%b %d, %Y", "%Y-%m-%d")
LISTING_CHROME = re.compile(r"^(viewing|showing) results \d+\s*[-–]\s*\d+ of \d+$", re.I)
CHROME_LINE = re.compile(
    r"\bclick here\b|\bread more\b|\bcontinue reading\b|^find out more about .* here\.?$"
    r"|^(to )?read (part|the full)\b.*\bhere\b",
    re.I,
)
CAPTION_LINE = re.compile(
    r"(;|\s)\s*(image|photo|photograph|credit|source)\s*:\s*\S"
    r"|^(still from|sketch of|map of|photo( by|:)|image( by|:)|illustration( by|:)|pictured\b)",
    re.I,
)
BULLET_LINE = re.compile(r"^\s*(?:[•·▪◦*–-]|\d{1,2}[.)])\s+\S")
# An interviewer's line: a short all-capitals label ("TCA:", "Q:") before the question.
QUESTION_LINE = re.compile(r"^(?:[A-Z]{1,5}|Q)\s*:\s+\S")
SENTENCE_END = re.compile(r"[.!?…:;,]['\"’”)\]]*$")
SMALL_WORDS = frozenset(
    "a an the and or nor but of in on at to for with by from as vs via per into onto over "
    "amid upon off out up than is are be its".split()
)
MAX_TITLE_CHARS = 160
NBSP_SPACES = "\u00a0\u2007\u202f\ufeff"


def _is_blank(line: str) -> bool:
    return not line.strip(" \t" + NBSP_SPACES)


def _is_spacer(line: str) -> bool:
    """A line holding only non-breaking spaces: where the page had an image."""
    return _is_blank(line) and any(ch in NBSP_SPACES for ch in line)


def clean(text: str) -> str:
    """Non-breaking and repeated spaces become one plain space; the ends are trimmed."""
    text = re.sub(f"[{NBSP_SPACES}]", " ", text)
    return re.sub(r"[ \t]+", " ", text).strip()


def parse_page_date(text: str) -> dt.date | None:
    text = clean(text)
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def looks_like_title(text: str) -> bool:
    """Title case, short, one line, no sentence-ending punctuation."""
    if not text or len(text) > MAX_TITLE_CHARS or SENTENCE_END.search(text):
        return False
    if BULLET_LINE.match(text) or LISTING_CHROME.match(text) or CAPTION_LINE.search(text):
        return False
    words = [w.strip("“”\"'‘’()[]") for w in text.split()]
    content = [w for w in words if any(c.isalpha() for c in w) and w.lower() not in SMALL_WORDS]
    if not content or not words[0][:1].isupper() and not words[0][:1].isdigit():
        return False
    capitalised = sum(1 for w in content if w[0].isupper() or w[0].isdigit() or w[0] == "$")
    return capitalised / len(content) >= 0.8


def paragraph_kind(text: str) -> str:
    if LISTING_CHROME.match(text) or CHROME_LINE.search(text):
        return CHROME
    if CAPTION_LINE.search(text):
        return CAPTION
    if QUESTION_LINE.match(text):
        return QUESTION
    if BULLET_LINE.match(text):
        return BULLET
    return PROSE


def _decimal(text: str) -> Decimal:
    return Decimal(text.replace(",", "").replace("−", "-"))


def read_snapshot(path: str, data: bytes) -> ReadResult:
    """Read one page snapshot. Problems are reported, never raised."""
    result = ReadResult()
    if not data.strip():
        result.problems.append(Problem(path, "empty file: no ticker, date or articles"))
        return result
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        result.problems.append(Problem(path, "binary data (NUL byte), not a text snapshot", line))
        return result
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        result.problems.append(
            Problem(path, f"not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})", line)
        )
        return result

    lines = text.splitlines()
    page_date: dt.date | None = None
    date_line = None
    seen_pairs: dict[str, RateQuote] = {}
    rates: list[RateQuote] = []
    blocks: list[tuple[int, str, bool]] = []  # (line, text, followed by a spacer)

    for number, raw in enumerate(lines, start=1):
        if _is_blank(raw):
            if _is_spacer(raw) and blocks:
                line_no, block_text, _ = blocks[-1]
                blocks[-1] = (line_no, block_text, True)
            continue
        ticker = TICKER.match(clean(raw))
        if ticker:
            pair = ticker["pair"]
            try:
                quote = RateQuote(
                    pair=pair,
                    rate=_decimal(ticker["rate"]),
                    change_pct=_decimal(ticker["change"]),
                    source=path,
                    line=number,
                )
            except InvalidOperation:
                result.problems.append(
                    Problem(path, f"unreadable rate quote {raw.strip()!r}", number)
                )
                continue
            earlier = seen_pairs.get(pair)
            if earlier is None:
                seen_pairs[pair] = quote
                rates.append(quote)
            elif (earlier.rate, str(earlier.change_pct)) != (quote.rate, str(quote.change_pct)):
                result.problems.append(
                    Problem(
                        path,
                        f"{pair} quoted again with other figures; kept line {earlier.line}",
                        number,
                    )
                )
            continue
        if page_date is None and not blocks:
            page_date = parse_page_date(raw)
            if page_date is not None:
                date_line = number
                continue
        blocks.append((number, clean(raw), False))

    if page_date is None and not rates:
        result.problems.append(
            Problem(
                path,
                "not a page snapshot: no rate ticker and no page date "
                "(a line like '08 December 2025')",
            )
        )
        return result
    if page_date is None:
        result.problems.append(
            Problem(
                path,
                "no page date line (like '08 December 2025') "
                "before the articles; articles left undated",
                1,
            )
        )

    articles = _articles(path, blocks, page_date)
    if not articles:
        where = date_line or (rates[0].line if rates else None)
        result.problems.append(
            Problem(path, "page has no articles (no title line followed by a paragraph)", where)
        )
    result.articles = articles
    result.rates = [
        RateQuote(q.pair, q.rate, q.change_pct, q.source, q.line, page_date) for q in rates
    ]
    result.sources_read = 1 if (articles or rates) else 0
    return result


def _articles(
    path: str, blocks: list[tuple[int, str, bool]], page_date: dt.date | None
) -> list[Article]:
    title_at = [
        looks_like_title(text)
        and not spacer_follows
        and i + 1 < len(blocks)
        and not looks_like_title(blocks[i + 1][1])
        for i, (_, text, spacer_follows) in enumerate(blocks)
    ]
    articles: list[Article] = []
    current: tuple[int, str] | None = None
    body: list[Paragraph] = []
    # A listing page ("Viewing results 1 - 6 of 181") shows teasers, even those that happen
    # to end on a full stop.
    listing = any(LISTING_CHROME.match(text) for _, text, _ in blocks[:3])

    def close() -> None:
        if current is None:
            return
        paragraphs = tuple(body)
        prose = [p for p in paragraphs if p.kind == PROSE]
        excerpt = listing or (
            len(prose) == 1 and prose[0].text.rstrip('”"’').endswith(("...", "…"))
        )
        articles.append(
            Article(
                title=current[1],
                paragraphs=paragraphs,
                source=path,
                line=current[0],
                date=page_date,
                excerpt=excerpt,
            )
        )

    for (number, text, spacer_follows), is_title in zip(blocks, title_at, strict=True):
        if is_title:
            close()
            current, body = (number, text), []
            continue
        if current is None:
            continue  # listing chrome before the first title ("Viewing results 1 - 6 of 181")
        kind = paragraph_kind(text)
        if kind == PROSE and spacer_follows and not SENTENCE_END.search(text):
            kind = CAPTION  # a short unpunctuated line right above an image spacer
        body.append(Paragraph(text, kind, number))
    close()
    return articles
