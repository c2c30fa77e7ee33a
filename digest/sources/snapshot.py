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
import functools
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ..encoding import marked_encoding, utf8_with_strays
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
from ..text import (
    CAPTIONS,
    CHROME_CALL,
    CHROME_PHRASES,
    EN_WEEKDAYS,
    LISTING_COUNTER,
    MONTHS,
    RU_WEEKDAYS,
    clean_text,
    is_interviewer_line,
    is_only_a_stamp,
)

TICKER = re.compile(
    r"^\s*[•·*]?\s*(?P<pair>[A-Z]{3}/[A-Z]{3})\s*=\s*(?P<rate>\d[\d,]*(?:\.\d+)?)"
    r"\s+(?P<change>[-+−]?\d+(?:[.,]\d+)?)\s*%\s*$"
)
# A comma groups thousands ("2,650.12", "97,250") only so; else it is a decimal comma, as
# Russian writes figures ("0,00196", "-0,12").
THOUSANDS = re.compile(r"[-+]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?")
# A ticker line whose figures cannot be read ("UZS/USD = — 0%", a negative rate): a problem,
# never a paragraph (it would end the ticker, and the page date after it would be a title).
TICKER_PAIR = re.compile(r"^\s*[•·*]?\s*[A-Z]{3}/[A-Z]{3}\s*=")
# A page dates itself "08 December 2025", "Dec. 5, 2025", "05 декабря 2025" or "5 дек. 2025
# г.": a day, a month word of text.MONTHS and a year, in either order; or "2025-12-08".
WRITTEN_DATES = (
    re.compile(r"(?P<day>\d{1,2})\s+(?P<month>\w+)\.?\s+(?P<year>\d{4})(?:\s*г(?:\.|ода))?"),
    re.compile(r"(?P<month>\w+)\.?\s+(?P<day>\d{1,2}),\s+(?P<year>\d{4})"),
)
# ... after the weekday most sites' headers put first: "Friday, 5 December 2025", "Fri. Dec. 5,
# 2025", "Tues., Dec. 2, 2025" (AP style cuts a name after 3 or 4 letters, "Thurs."),
# "пятница, 5 декабря 2025", "Пт, 5 декабря 2025" (else the date line was read as a title).
_WEEKDAY_WORDS = {day[:n] for day in EN_WEEKDAYS for n in range(3, len(day) + 1)}
_RU_WEEKDAY_SHORT = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")
WEEKDAY = re.compile(
    rf"(?:{'|'.join(sorted({*_WEEKDAY_WORDS, *RU_WEEKDAYS, *_RU_WEEKDAY_SHORT}))})\.?,?\s+", re.I
)
LISTING_CHROME = re.compile(LISTING_COUNTER + "$", re.I)
CHROME_LINE = re.compile(
    CHROME_CALL + r"|^find out more about .* here\.?$|^(to )?read (part|the full)\b.*\bhere\b",
    re.I,
)
CAPTION_LINE = re.compile(CAPTIONS, re.I)
_CALL = re.compile("|".join(CHROME_PHRASES), re.I)


# Searched through, both cost 50 µs on a paragraph of prose: past the line's start only a
# call ("..., click here.") makes a line chrome, and a credit's colon ("...; Photo: AP") a
# caption. A line with neither is tried at its start alone (the same answer, 50 times sooner).
def is_chrome_line(text: str) -> bool:
    return bool(CHROME_LINE.match(text) or (_CALL.search(text) and CHROME_LINE.search(text)))


def is_caption_line(text: str) -> bool:
    return bool((CAPTION_LINE.search if ":" in text else CAPTION_LINE.match)(text))


INNER_SENTENCE_END = re.compile(r"[.!?…][\"'”’»)]*\s+(?=[\"“«(]?[A-ZА-ЯЁ])")
# The page's own furniture between two articles. A title-case one ("Follow Us on Telegram",
# "Latest News", "Comments (3)") right above the next article's title was read as that
# article's title, and the real title and text as its paragraphs.
CHROME_WORDS = re.compile(
    r"^(?:(advertisement|sponsored( content)?|related( articles| stories| news)?|share( this)?"
    r"( article| story)?|tags?|read next|most read|more news|share on \w+|print( this)?"
    r"( article| story| page)?|comments?( \(\d+\))?|follow us( on \w+)?|subscribe( to our "
    r"newsletter)?|(top|latest|main|more|breaking) (stories|news)|most (popular|viewed|shared)"
    r"|editor[’']s picks?|you may also like|recommended( for you)?|(previous|next) (article"
    r"|story|post)|поделиться|главные новости|последние новости)\s*:?"
    r"|(tags?|теги|author|автор|views|просмотров|просмотры)\s*:.*|(next|previous)\s*:.*)$",
    re.I,
)
BULLET_LINE = re.compile(r"^\s*(?:[•·▪◦*–-]|\d{1,2}[.)])\s+\S")
SENTENCE_END = re.compile(r"[.!?…:;,]['\"’”)\]]*$")
SMALL_WORDS = frozenset(
    "a an the and or nor but of in on at to for with by from as vs via per into onto over "
    "amid upon off out up than is are be its".split()
)
MAX_TITLE_CHARS = 160
NBSP_SPACES = "\u00a0\u2007\u202f\ufeff"


@dataclass
class Block:
    """One non-blank line of the page below the ticker and the date."""

    line: int
    text: str
    after_blank: bool  # a blank line (or the ticker, or the date) comes right before it
    spacer_follows: bool = False  # a line of non-breaking spaces follows: an image was there


def _is_blank(line: str) -> bool:
    return not line.strip(" \t" + NBSP_SPACES)


def _is_spacer(line: str) -> bool:
    """A line holding only non-breaking spaces: where the page had an image."""
    return _is_blank(line) and any(ch in NBSP_SPACES for ch in line)


def parse_page_date(text: str) -> dt.date | None:
    text = clean_text(text)
    try:
        return dt.datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        pass
    text = text[weekday.end() :] if (weekday := WEEKDAY.match(text)) else text
    for pattern in WRITTEN_DATES:
        written = pattern.fullmatch(text)
        month = written and MONTHS.get(written["month"].lower())
        if written and month:
            try:
                return dt.date(int(written["year"]), month, int(written["day"]))
            except ValueError:
                return None
    return None


MARKUP = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>|\*\*|__")
# The end of a sentence or clause: no title ends so ("?" and "!" may end a title).
CLAUSE_END = re.compile(r"(?:[.,;:…]|\.\.\.)['\"’”)\]]*$")
QUESTION_OR_EXCLAMATION = re.compile(r"[?!]['\"’”)\]]*$")
MIN_TITLE_WORDS = 3


def strip_markup(text: str) -> str:
    """A title without the HTML tags or **bold** marks a copied page may carry."""
    return clean_text(MARKUP.sub("", text))


def is_title_case(text: str) -> bool:
    """Most words capitalised, as in "Is Uzbekistan Ready for Nuclear Power?"."""
    words = [w.strip("“”\"'‘’()[]") for w in strip_markup(text).split()]
    content = [w for w in words if any(c.isalpha() for c in w) and w.lower() not in SMALL_WORDS]
    if not content or not words[0][:1].isupper() and not words[0][:1].isdigit():
        return False
    capitalised = sum(1 for w in content if w[0].isupper() or w[0].isdigit() or w[0] == "$")
    return capitalised / len(content) >= 0.8


SURE, UNSURE = "sure", "unsure"


def heading_kind(text: str) -> str | None:
    """Whether a line, by itself, can be a title: None (it cannot), SURE or UNSURE.

    A title is short and does not end a sentence or clause; its case, a final "?" or "!",
    colons, quotes and markup do not matter. A short sentence-case line ending in "?" or
    "!" may be a title or a one-line paragraph (UNSURE), and so may a line of one or two
    words (a subheading?). Lists, captions, page chrome and an interviewer's questions
    ("TCA: What drew you ...?") are never titles."""
    plain = strip_markup(text)
    if not plain or len(plain) > MAX_TITLE_CHARS or CLAUSE_END.search(plain):
        return None
    if BULLET_LINE.match(plain) or LISTING_CHROME.match(plain) or is_chrome_line(plain):
        return None
    if is_caption_line(plain) or CHROME_WORDS.match(plain) or is_only_a_stamp(plain):
        return None
    title_case = is_title_case(plain)
    if is_interviewer_line(plain) and not title_case:
        return None
    if len(plain.split()) < MIN_TITLE_WORDS:
        return UNSURE
    if QUESTION_OR_EXCLAMATION.search(plain) and not title_case:
        return UNSURE
    return SURE


# A feed's history repeats its footer or blurb under every entry: each text's kind is found
# once (a 6,000-entry feed's paragraphs were a third of its reading). The footer comes back
# at every entry, so a few recent texts are enough (and hold little memory).
@functools.lru_cache(maxsize=256)
def paragraph_kind(text: str) -> str:
    if LISTING_CHROME.match(text) or is_chrome_line(text) or CHROME_WORDS.match(text):
        return CHROME
    if is_only_a_stamp(text):  # "Updated 5 December 2025, 14:05": the page's, not news
        return CHROME
    # A caption is a sentence or two and its credit; more is article text with a credit in it
    # (a short page's article extracted as one line).
    if is_caption_line(text) and len(INNER_SENTENCE_END.findall(text)) < 2:
        return CAPTION
    if is_interviewer_line(text):
        return QUESTION
    if BULLET_LINE.match(text):
        return BULLET
    return PROSE


def _decimal(text: str, decimal_comma: bool = False) -> Decimal:
    text = text.replace("−", "-")
    if THOUSANDS.fullmatch(text) and not decimal_comma:
        return Decimal(text.replace(",", ""))
    return Decimal(text.replace(",", "."))


# Figures no currency's quote has: a garbled line (a rate of 1E-37 USD, a change of 10^50 %).
# What one USD buys and the change since the last digest are figured in decimal's 28 digits,
# which such a figure overflowed (InvalidOperation: a traceback for every preview and run).
RATE_RANGE = (Decimal("1e-9"), Decimal("1e9"))  # US dollars; 0: no figure, "n/a"
MAX_CHANGE_PCT = Decimal("1e6")
MAX_FIGURE_DIGITS = 20  # a ticker a program writes gives a float's 17 ("0.011441647597254004")


def _quote_figures(ticker: re.Match[str]) -> tuple[Decimal, Decimal]:
    """A ticker line's rate and change. A change with a decimal comma ("+0,12%") says the
    rate's is one too: "EUR/USD = 1,085 +0,12%" is 1.085, not 1085 (it groups as thousands).
    InvalidOperation for figures no currency's quote has."""
    decimal_comma = "," in ticker["change"]
    rate = _decimal(ticker["rate"], decimal_comma)
    change = _decimal(ticker["change"], decimal_comma)
    low, high = RATE_RANGE
    if (
        not (rate == 0 or low <= rate <= high)
        or abs(change) >= MAX_CHANGE_PCT
        or max(len(rate.as_tuple().digits), len(change.as_tuple().digits)) > MAX_FIGURE_DIGITS
    ):
        raise InvalidOperation(f"figures out of range: {rate} {change}%")
    return rate, change


def page_lines(text: str) -> list[str]:
    """The page's lines: split at its line ends (LF, CRLF, or CR alone in a file that has
    no LF), never at the other characters str.splitlines takes for one (U+2028, a form feed,
    a CR inside a line): one of those inside a title cut it in two without a word."""
    if "\n" not in text:
        return text.split("\r")
    return text.replace("\r\n", "\n").split("\n")


def read_snapshot(path: str, data: bytes) -> ReadResult:
    """Read one page snapshot. Problems are reported, never raised."""
    result = ReadResult()
    if not data.strip():
        result.problems.append(Problem(path, "empty file: no ticker, date or articles"))
        return result
    encoding, skip = marked_encoding(data) or ("utf-8", 0)  # a Windows "Unicode" file: UTF-16
    if encoding == "utf-8" and b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        result.problems.append(Problem(path, "binary data (NUL byte), not a text snapshot", line))
        return result
    utf8 = utf8_with_strays(data[skip:]) if encoding == "utf-8" else None
    try:
        text = utf8.text if utf8 else data[skip:].decode(encoding)
    except UnicodeDecodeError as e:
        at = skip + e.start
        line = data[:at].count(b"\n") + 1
        message = f"not {encoding.upper()} text (byte 0x{data[at]:02x} at offset {at})"
        result.problems.append(Problem(path, message, line))
        return result
    if utf8 and utf8.stray_line:
        result.problems.append(Problem(path, utf8.stray_problem, utf8.stray_line))

    lines = page_lines(text)
    page_date: dt.date | None = None
    date_line = None
    seen_pairs: dict[str, RateQuote] = {}
    rates: list[RateQuote] = []
    blocks: list[Block] = []
    after_blank = True  # the line before was blank (or the ticker or the page date)

    for number, raw in enumerate(lines, start=1):
        if _is_blank(raw):
            if _is_spacer(raw) and blocks:
                blocks[-1].spacer_follows = True
            after_blank = True
            continue
        line = clean_text(raw)
        ticker = TICKER.match(line)
        if not ticker and TICKER_PAIR.match(line):
            result.problems.append(Problem(path, f"unreadable rate quote {raw.strip()!r}", number))
            after_blank = True
            continue
        if ticker:
            pair = ticker["pair"]
            if not pair.endswith("/USD") or pair == "USD/USD":
                message = f"{pair} left out: the rate table shows prices in US dollars (XXX/USD)"
                result.problems.append(Problem(path, message, number))
                after_blank = True
                continue
            try:
                rate, change = _quote_figures(ticker)
                quote = RateQuote(
                    pair=pair,
                    rate=rate,
                    change_pct=change,
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
            after_blank = True
            continue
        if page_date is None and not blocks:
            page_date = parse_page_date(raw)
            if page_date is not None:
                date_line = number
                after_blank = True
                continue
        blocks.append(Block(number, line, after_blank))
        after_blank = False

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

    articles, doubts = _articles(path, blocks, page_date)
    result.problems.extend(doubts)
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


def _titles(blocks: list[Block]) -> tuple[list[bool], dict[int, str]]:
    """Which blocks are titles, by the page's structure, and a doubt for each line the
    reader could not be sure about (by block index).

    A title is a line that can be one by itself (`heading_kind`), after a blank line, not
    right above an image spacer, and followed by a paragraph. Of several such lines in a
    row, the one in title case (else the first) is the title. A sentence-case question
    between two paragraphs is read as a paragraph, and said so."""
    kinds = [
        heading_kind(b.text) if b.after_blank and not b.spacer_follows else None for b in blocks
    ]
    is_title = [False] * len(blocks)
    doubts: dict[int, str] = {}
    seen_title = False
    i = 0
    while i < len(blocks):
        if kinds[i] is None:
            i += 1
            continue
        run_end = i
        while run_end + 1 < len(blocks) and kinds[run_end + 1] is not None:
            run_end += 1
        run = list(range(i, run_end + 1))
        if run_end + 1 >= len(blocks):  # nothing follows: no paragraph for a title
            for k in run:
                doubts[k] = "reads like a title but no paragraph follows it"
            break
        chosen = next((k for k in run if is_title_case(blocks[k].text)), run[0])
        if len(run) == 1 and kinds[chosen] == UNSURE and seen_title:
            doubts[chosen] = "may be a title (a short line before a paragraph)"
        else:
            is_title[chosen] = True
            seen_title = True
            for k in run:
                if k != chosen:
                    doubts[k] = (
                        f"could be a title too, right next to the title at line "
                        f"{blocks[chosen].line}"
                    )
        i = run_end + 1
    return is_title, doubts


def _articles(
    path: str, blocks: list[Block], page_date: dt.date | None
) -> tuple[list[Article], list[Problem]]:
    title_at, doubts = _titles(blocks)
    articles: list[Article] = []
    problems: list[Problem] = []
    current: tuple[int, str] | None = None
    body: list[Paragraph] = []
    # A listing page ("Viewing results 1 - 6 of 181") shows teasers, even those that happen
    # to end on a full stop.
    listing = any(LISTING_CHROME.match(b.text) for b in blocks[:3])

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
                listed=True,  # a page's date is when it listed the article, not its own
            )
        )

    for index, (block, is_title) in enumerate(zip(blocks, title_at, strict=True)):
        number, text = block.line, block.text
        if is_title:
            close()
            current, body = (number, strip_markup(text)), []
            continue
        kind = paragraph_kind(text)
        if current is None:
            # Listing chrome before the first title ("Viewing results 1 - 6 of 181") is
            # expected; anything else there belongs to no article and is said so.
            if kind != CHROME:
                problems.append(
                    Problem(path, f"{_quote(text)} comes before any title: left out", number)
                )
            continue
        if index in doubts:
            problems.append(
                Problem(
                    path,
                    f"{_quote(text)} {doubts[index]}; read as a paragraph of {_quote(current[1])}",
                    number,
                )
            )
        if kind == PROSE and block.spacer_follows and not SENTENCE_END.search(text):
            kind = CAPTION  # a short unpunctuated line right above an image spacer
        body.append(Paragraph(text, kind, number))
    close()
    return articles, problems


def _quote(text: str, limit: int = 60) -> str:
    short = text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
    return f"'{short}'"
