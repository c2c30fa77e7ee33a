"""Render a Digest into the e-mail: subject, preheader, HTML part and text part.

Jinja2 fills templates/digest.mjml.j2 (autoescaped) and mjml-python turns the MJML into
e-mail HTML; templates/digest.txt.j2 gives the text/plain part. Everything the templates show
is prepared here as plain strings, so the templates only lay things out.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import textwrap
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup
from mjml import mjml2html

from digest.models import DEFAULT_SECTION, Digest, DigestItem, RateRow, RenderedDigest

SUBJECT_MAX = 78  # RFC 5322's recommended line length; longer subjects get cut in inboxes
PREHEADER_MAX = 140  # about what inbox lists show after the subject
TEXT_WIDTH = 72

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Words a cut subject should not end on ("… Production of…").
_DANGLING = frozenset("a an and at by for from in into of on or the to with as its".split())
_KEEP_FORMAT_CHARS = "\u200c\u200d"  # ZWNJ/ZWJ: needed by Persian script and emoji sequences
_SPLIT_TAGS = re.compile(r">\s*\n\s*<")
_INDENT = re.compile(r"\n\s+")


def make_subject(title: str, date: dt.date, top_headline: str | None) -> str:
    """The subject: "Title, 8 Dec 2025: Top headline", one line, cut at a word if too long."""
    head = ", ".join(part for part in (clean_text(title), short_date(date)) if part)
    headline = clean_text(top_headline or "")
    return shorten(f"{head}: {headline}" if headline else head, SUBJECT_MAX)


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


def clean_text(text: str) -> str:
    """One line of displayable text: control and format characters gone, whitespace collapsed."""
    if not text.isprintable():  # the rare slow path: only for text with odd characters
        chars = []
        for ch in text:
            cat = unicodedata.category(ch)
            if cat == "Cc" or cat[0] == "Z":
                chars.append(" ")
            elif cat == "Cs":
                chars.append("\ufffd")  # a lone surrogate cannot be encoded in the message
            elif cat != "Cf" or ch in _KEEP_FORMAT_CHARS:  # Cf: bidi overrides, BOM, soft hyphen
                chars.append(ch)
        text = "".join(chars)
    return " ".join(text.split())


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


def long_date(date: dt.date) -> str:
    """Monday, 8 December 2025."""
    return f"{_WEEKDAYS[date.weekday()]}, {date.day} {_MONTHS[date.month - 1]} {date.year}"


def short_source(source: str) -> str:
    """What a reader needs to know of a source: the feed's host or the file's name."""
    source = clean_text(source)
    parts = urlsplit(source)
    if parts.scheme in ("http", "https") and parts.hostname:
        return parts.hostname.removeprefix("www.")
    if parts.scheme == "file":
        source = parts.path
    return PurePosixPath(source.replace("\\", "/")).name or source


def safe_href(url: str | None) -> str | None:
    """The URL when it is a plain http(s) link, else None (no link is shown)."""
    if not url:
        return None
    url = url.strip()
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


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


def since_last(pct: Decimal | None) -> tuple[str, str, str]:
    """(trend, arrow, text) for the change since the previous digest; readable without colour."""
    if pct is None:
        return "none", "", "—"  # first digest: nothing to compare with
    if pct.quantize(Decimal("0.01")) == 0:
        return "flat", "=", "0%"
    if pct > 0:
        return "up", "▲", f"+{_pct(pct)}%"
    return "down", "▼", f"\u2212{_pct(-pct)}%"


def per_usd(row: RateRow) -> tuple[str, str]:
    """("1 USD =", "87.4 KGS"), or ("1 USD ≈", "12,500 UZS") when the quote is too coarse.

    Two halves so the HTML can let a narrow screen break the line between them only.
    """
    if row.per_usd is None:
        return "—", ""
    return f"1 USD {'≈' if row.per_usd_approx else '='}", f"{row.per_usd:,f} {row.currency}"


@dataclass(frozen=True)
class _Rate:
    pair: str
    rate: str
    per_usd_head: str
    per_usd_tail: str
    change: str
    trend: str
    arrow: str
    since: str

    @property
    def per_usd(self) -> str:
        return f"{self.per_usd_head} {self.per_usd_tail}".strip()


def _rate(row: RateRow) -> _Rate:
    trend, arrow, since = since_last(row.since_last_pct)
    head, tail = per_usd(row)
    return _Rate(
        pair=clean_text(row.pair),
        rate=f"{row.rate:f}",
        per_usd_head=head,
        per_usd_tail=tail,
        change=f"{row.change_pct:f}%",  # as published: "-0%" keeps its sign
        trend=trend,
        arrow=arrow,
        since=since,
    )


# --- view -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    title: str
    lead: str
    source: str
    href: str | None
    date: str


@dataclass(frozen=True)
class _Section:
    name: str
    show_name: bool
    items: tuple[_Item, ...]


def _item(item: DigestItem, day: dt.date) -> _Item:
    return _Item(
        title=clean_text(item.title) or "Untitled",
        lead=clean_text(item.lead),
        source=short_source(item.source),
        href=safe_href(item.url),
        date=short_date(item.date) if item.date and item.date != day else "",  # else: noise
    )


def _view(digest: Digest) -> dict[str, object]:
    sections = [s for s in digest.sections if s.items]
    show_names = len(sections) > 1 or any(s.name != DEFAULT_SECTION for s in sections)
    view_sections = [
        _Section(clean_text(s.name), show_names, tuple(_item(i, digest.date) for i in s.items))
        for s in sections
    ]
    items = [i for s in view_sections for i in s.items]
    title = clean_text(digest.title)
    rates = [_rate(r) for r in digest.rates]
    return {
        "title": title,
        "date_long": long_date(digest.date),
        "date_short": short_date(digest.date),
        "subject": make_subject(digest.title, digest.date, items[0].title if items else None),
        "preheader": shorten(" · ".join(i.title for i in items[:4]), PREHEADER_MAX),
        "sections": view_sections,
        "count": len(items),
        "rates": rates,
        "rates_date": short_date(digest.rates_date) if digest.rates_date else "",
        "rates_source": short_source(digest.rates_source) if digest.rates_source else "",
        "rates_width": _text_widths(rates),
        "unsubscribe_url": _unsubscribe_href(digest.unsubscribe_url),
        "reason": clean_text(digest.reason_line)
        or f"You receive this because you subscribed to {title}.",
    }


def _text_widths(rates: list[_Rate]) -> dict[str, int]:
    """Column widths of the text part's rate table."""
    heads = {"pair": "Pair", "rate": "Rate", "per_usd": "Per dollar", "change": "Change"}
    return {k: max([len(h)] + [len(getattr(r, k)) for r in rates]) for k, h in heads.items()}


# --- templates --------------------------------------------------------------------------------


def _template_dir() -> Traversable:
    try:
        return resources.files("digest.templates")
    except ModuleNotFoundError:  # a source checkout used without installing: templates/ is beside
        return Path(__file__).resolve().parents[1] / "templates"


def _wrap(text: str, width: int = TEXT_WIDTH) -> str:
    """Plain-text wrapping that never breaks a word or a URL."""
    return (
        "\n".join(textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False))
        or text
    )


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
