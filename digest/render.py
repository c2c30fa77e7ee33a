"""Render a Digest into the e-mail: subject, preheader, HTML part and text part.

Jinja2 fills templates/digest.mjml.j2 (autoescaped) and mjml-python turns the MJML into
e-mail HTML; templates/digest.txt.j2 gives the text/plain part. Everything the templates show
is prepared here as plain strings, so the templates only lay things out.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup
from mjml import mjml2html

from digest.models import DEFAULT_SECTION, Digest, DigestItem, RateRow, RenderedDigest
from digest.text import clean_text, long_date, safe_href

SUBJECT_MAX = 78  # RFC 5322's recommended line length; longer subjects get cut in inboxes
PREHEADER_MAX = 140  # about what inbox lists show after the subject
TEXT_WIDTH = 72

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip
# Words a cut subject should not end on ("… Production of…").
_DANGLING = frozenset("a an and at by for from in into of on or the to with as its".split())
_SPLIT_TAGS = re.compile(r">\s*\n\s*<")
_INDENT = re.compile(r"\n\s+")


def make_subject(
    top_headline: str | None, more: int = 0, title: str = "", date: dt.date | None = None
) -> str:
    """The subject: the lead headline (the title is the From name already), plus "+ N more"
    when that fits in 78 characters; a long headline is cut at a word. With no story: the
    title and the date."""
    headline = clean_text(top_headline or "")
    if not headline:
        head = [clean_text(title) or "Digest"] + ([short_date(date)] if date else [])
        return shorten(", ".join(head), SUBJECT_MAX)
    if len(headline) > SUBJECT_MAX:
        return shorten(headline, SUBJECT_MAX)
    with_more = f"{headline} + {more} more"
    return with_more if more and len(with_more) <= SUBJECT_MAX else headline


def make_preheader(headlines: list[str], fallback: str = "") -> str:
    """The preview line after the subject: the next headlines, whole, as many as fit in 140
    characters (never the subject's own); with none, `fallback` (the lead story's lead)."""
    shown: list[str] = []
    for headline in filter(None, (clean_text(h) for h in headlines)):
        candidate = " · ".join([*shown, headline])
        if len(candidate) > PREHEADER_MAX:
            break
        shown.append(headline)
    if shown:
        return " · ".join(shown)
    first = next(filter(None, (clean_text(h) for h in headlines)), "") or clean_text(fallback)
    return shorten(first, PREHEADER_MAX)


def render(digest: Digest) -> RenderedDigest:
    """The whole e-mail for one digest."""
    view = _view(digest)
    mjml = _env().get_template("digest.mjml.j2").render(view)
    html = _minify(mjml2html(mjml, fonts={}))
    text = _env().get_template("digest.txt.j2").render(view)
    return RenderedDigest(
        subject=view["subject"], preheader=view["preheader"], html=html, text=text
    )


# --- text helpers -----------------------------------------------------------------------------


def shorten(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters at a word boundary, ending in "…" when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:  # a single very long word is cut inside instead
        cut = cut[:space]
    words = cut.rstrip(" ,;:·-–—|/").split(" ")
    while len(words) > 1 and words[-1].lower() in _DANGLING:
        words.pop()
    return " ".join(words).rstrip(" ,;:·-–—|/") + "…"


def short_date(date: dt.date) -> str:
    """8 Dec 2025 (English, whatever the process locale)."""
    return f"{date.day} {_MONTHS[date.month - 1][:3]} {date.year}"


_FILE_NAME = re.compile(r"^\S*[/\\]\S*$|\.(?:txt|xml|rss|atom|rdf|html?|json|csv)$", re.I)


def reader_source(source: str | None) -> str:
    """A source's name as a reader may see it: a feed URL becomes its host, and a file path
    or file name (what a reader must never see) becomes nothing."""
    source = clean_text(source or "")
    parts = urlsplit(source)
    if parts.scheme in ("http", "https") and parts.hostname:
        return parts.hostname.removeprefix("www.")
    if parts.scheme == "file" or _FILE_NAME.search(source):
        return ""
    return source


def _unsubscribe_href(url: str) -> Markup:
    """The unsubscribe URL or placeholder, verbatim: delivery finds and replaces it as given."""
    if not url or any(ch in '"<>\\' or ch.isspace() or not ch.isprintable() for ch in url):
        raise ValueError(f"unsubscribe_url {url!r} cannot go into a link as it is")
    scheme = urlsplit(url).scheme.lower()
    if scheme and scheme not in ("http", "https", "mailto"):
        raise ValueError(f"unsubscribe_url {url!r}: only http(s), mailto or a placeholder")
    return Markup(url)  # safe verbatim: no quote or angle bracket, checked above


# --- rates ------------------------------------------------------------------------------------


def _pct(value: Decimal) -> str:
    """A percentage at most to two decimals, without trailing zeros: 0.5, 12, 0.25."""
    text = f"{value.quantize(Decimal('0.01')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


_TRENDS = {  # trend: (arrow, words for a screen reader, colour)
    "up": ("▲", "up", "#17803d"),
    "down": ("▼", "down", "#b42318"),
    "flat": ("=", "unchanged", "#5c6672"),
}


def change(pct: Decimal | None) -> tuple[str, str, str]:
    """(trend, shown text, words) for a change in percent; readable without colour and read
    out in words: ("down", "−0.19%", "down 0.19 percent"). "-0%" as published is unchanged."""
    if pct is None:
        return "none", "", ""
    if pct.quantize(Decimal("0.01")) == 0:
        return "flat", "0%", "unchanged"
    if pct > 0:
        return "up", f"+{_pct(pct)}%", f"up {_pct(pct)} percent"
    return "down", f"\u2212{_pct(-pct)}%", f"down {_pct(-pct)} percent"


def since_last(pct: Decimal | None) -> tuple[str, str, str]:
    """(trend, arrow, text) for a change, as the earlier table showed it."""
    trend, text, _ = change(pct)
    if trend == "none":
        return "none", "", "—"
    return trend, _TRENDS[trend][0], text


def _number(value: Decimal) -> str:
    return f"{value:,f}"


def per_usd(row: RateRow) -> tuple[str, str]:
    """("=", "87.4 KGS"), ("≈", "510 KZT"), or ("≈", "11,800–13,300 UZS") when the quote is
    too coarse for one figure: what one US dollar buys, claiming no more than the quote."""
    if row.per_usd_range:
        low, high = row.per_usd_range
        return "≈", f"{_number(low)}–{_number(high)} {row.currency}"
    if row.per_usd is None:
        return "", ""
    return ("≈" if row.per_usd_approx else "="), f"{_number(row.per_usd)} {row.currency}"


@dataclass(frozen=True)
class _Rate:
    pair: str
    rate: str  # the quote as published: "0.01144"
    quote: str  # "1 KGS = 0.01144 USD"
    sign: str  # "=" or "≈"
    figure: str  # "87.4 KGS": what one US dollar buys
    span: bool  # the figure is a range ("11,800–13,300 UZS"): approximate by itself
    trend: str  # up | down | flat | none
    arrow: str
    colour: str
    change: str  # "+0.52%"
    words: str  # "up 0.52 percent since the last digest"

    @property
    def per_usd(self) -> str:
        return f"1 USD {self.sign} {self.figure}" if self.figure else "—"

    @property
    def change_text(self) -> str:
        return f"{self.arrow} {self.change}" if self.arrow else "—"


def _rate(row: RateRow) -> _Rate:
    since = row.since_last_pct is not None
    trend, text, words = change(row.since_last_pct if since else row.change_pct)
    arrow, _, colour = _TRENDS.get(trend, ("", "", "#5c6672"))
    sign, figure = per_usd(row)
    base, _, quote_in = clean_text(row.pair).partition("/")
    return _Rate(
        pair=clean_text(row.pair),
        rate=f"{row.rate:f}",
        quote=f"1 {base} = {row.rate:f} {quote_in or 'USD'}",
        sign=sign,
        figure=figure,
        span=row.per_usd_range is not None,
        trend=trend,
        arrow=arrow,
        colour=colour,
        change=text,
        words=f"{words} {'since the last digest' if since else 'on the day'}" if words else "",
    )


def _rates_note(digest: Digest, rows: list[RateRow]) -> str:
    """Where the rates come from and what the change column compares."""
    head = "Rates"
    if digest.rates_date:
        head += f" of {short_date(digest.rates_date)}"
    source = reader_source(digest.rates_source)
    if source:
        head += f" from {source}"
    since = [r.since_last_pct is not None for r in rows]
    if all(since):
        basis = "since the last digest"
        if digest.rates_since:
            basis += f" ({short_date(digest.rates_since)})"
    elif any(since):
        basis = "since the last digest; for a pair new since then, on the day"
    else:
        basis = "on the day, as published"
    note = f"{head}: what one US dollar buys, and the quote. Change: {basis}."
    if any(r.per_usd_range or r.per_usd_approx for r in rows):
        note += " ≈ and ranges: the quote gives too few digits for an exact figure."
    return note


# --- view -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Link:
    text: str
    href: str | None


@dataclass(frozen=True)
class _Item:
    title: str
    lead: str
    source: _Link | None
    href: str | None
    date: str
    also: tuple[_Link, ...]  # other sources' tellings: "Also reported by"
    more: tuple[_Link, ...]  # the same source's other pieces: "More on this"
    anchor: str
    first: bool  # the lead story: shown larger


@dataclass(frozen=True)
class _Section:
    name: str
    show_name: bool
    items: tuple[_Item, ...]


INDEX_AFTER = 8  # more stories than this get an "In this issue" list at the top


def _item(item: DigestItem, day: dt.date, number: int) -> _Item:
    source = reader_source(item.source)
    also = []
    more = []  # the same source's other pieces on the story, by title
    for telling in item.also:
        name = reader_source(telling.source)
        href = safe_href(telling.url)
        if not name or name == source:
            link = _Link(clean_text(telling.title), href)
            if link.text and link not in more:
                more.append(link)
        elif _Link(name, href) not in also:
            also.append(_Link(name, href))
    return _Item(
        title=clean_text(item.title) or "Untitled",
        lead=clean_text(item.lead),
        source=_Link(source, safe_href(item.source_link)) if source else None,
        href=safe_href(item.url),
        date=short_date(item.date) if item.date and item.date != day else "",  # else: noise
        also=tuple(also),
        more=tuple(more),
        anchor=f"story-{number}",
        first=number == 1,
    )


def _view(digest: Digest) -> dict[str, object]:
    sections = [s for s in digest.sections if s.items]
    show_names = len(sections) > 1 or any(s.name != DEFAULT_SECTION for s in sections)
    view_sections = []
    number = 0
    for s in sections:
        items = []
        for i in s.items:
            number += 1
            items.append(_item(i, digest.date, number))
        view_sections.append(_Section(clean_text(s.name), show_names, tuple(items)))
    items = [i for s in view_sections for i in s.items]
    title = clean_text(digest.title)
    rates = [_rate(r) for r in digest.rates]
    return {
        "title": title,
        "date_long": long_date(digest.date),
        "date_short": short_date(digest.date),
        "subject": make_subject(
            items[0].title if items else None, len(items) - 1, digest.title, digest.date
        ),
        "preheader": make_preheader(
            [i.title for i in items[1:]], items[0].lead if items else _nothing_new(rates)
        ),
        "sections": view_sections,
        "count": len(items),
        "index": items if len(items) > INDEX_AFTER else [],
        "rates": rates,
        "rates_note": _rates_note(digest, list(digest.rates)) if rates else "",
        "rates_width": _text_widths(rates),
        "unsubscribe_url": _unsubscribe_href(digest.unsubscribe_url),
        "view_url": safe_href(digest.view_url),
        "postal_address": clean_text(digest.postal_address or ""),
        "reason": clean_text(digest.reason_line)
        or f"You receive this because you subscribed to {title}.",
    }


def _nothing_new(rates: list[_Rate]) -> str:
    shown = ", ".join(r.per_usd for r in rates[:3] if r.figure)
    return "Nothing new since the last digest." + (f" Rates: {shown}." if shown else "")


def _text_widths(rates: list[_Rate]) -> dict[str, int]:
    """Column widths of the text part's rate table."""
    heads = {"per_usd": "1 US dollar buys", "quote": "Quoted", "change_text": "Change"}
    return {k: max([len(h)] + [len(getattr(r, k)) for r in rates]) for k, h in heads.items()}


# --- templates --------------------------------------------------------------------------------


def _template_dir() -> Traversable:
    try:
        return resources.files("digest.templates")
    except ModuleNotFoundError:  # a source checkout used without installing: templates/ is beside
        return Path(__file__).resolve().parents[1] / "templates"


def _wrap(text: str, width: int = TEXT_WIDTH) -> str:
    """Plain-text wrapping that never breaks a word or a URL (greedy, as textwrap with
    break_long_words and break_on_hyphens off, on one line of text; a tenth of the time)."""
    if len(text) <= width:
        return text
    lines: list[str] = []
    line = ""
    for word in text.split():
        if not line:
            line = word
        elif len(line) + 1 + len(word) <= width:
            line = f"{line} {word}"
        else:
            lines.append(line)
            line = word
    lines.append(line)
    return "\n".join(lines)


def _bullet(text: str, width: int = TEXT_WIDTH) -> str:
    """A list item: "- " and the text wrapped under itself."""
    return "- " + _wrap(text, width - 2).replace("\n", "\n  ")


def _make_env() -> jinja2.Environment:
    root = _template_dir()
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: (root / name).read_text("utf-8")),
        # select_autoescape() only knows .html/.xml names: escape the MJML, never the text part
        autoescape=lambda name: bool(name) and name.endswith((".mjml.j2", ".html.j2")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["wrap"] = _wrap
    env.filters["bullet"] = _bullet
    return env


@functools.cache
def _env() -> jinja2.Environment:
    """The Jinja environment, built once per process; it caches the compiled templates."""
    return _make_env()


def _minify(html: str) -> str:
    """Drop the line breaks and indentation between tags (Outlook's conditional comments stay).

    Only whitespace that holds a line break goes between tags, so spaces between inline tags on
    one line of the template (which show as spaces) are kept; elsewhere (text, CSS) a line break
    and its indentation become one line break, which HTML and CSS read as the same space.
    """
    return _INDENT.sub("\n", _SPLIT_TAGS.sub("><", html))
