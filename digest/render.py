"""Render a Digest into the e-mail: subject, preheader, HTML part and text part.

Jinja2 fills templates/digest.mjml.j2 (autoescaped) and mjml-python turns the MJML into
e-mail HTML; templates/digest.txt.j2 gives the text/plain part. Everything the templates show
is prepared here as plain strings, so the templates only lay things out.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup
from mjml import mjml2html

from digest.i18n import Catalogue, catalogue
from digest.models import (
    DEFAULT_SECTION,
    OTHER_SECTION,
    Digest,
    DigestItem,
    RateRow,
    RenderedDigest,
)
from digest.rates import inverse_change, reader_figure
from digest.text import clean_text, dangles, direction, safe_href

SUBJECT_MAX = 78  # RFC 5322's recommended line length; longer subjects get cut in inboxes
PREHEADER_MAX = 140  # about what inbox lists show after the subject
TEXT_WIDTH = 72
INDEX_AFTER = 8  # more stories than this get an "In this issue" list (after the top story)
NEUTRAL = "#5c6672"  # a currency moving is not good or bad news: one quiet colour for every change

_SPLIT_TAGS = re.compile(r">\s*\n\s*<")
_INDENT = re.compile(r"\n\s+")


LRM = "\u200e"  # LEFT-TO-RIGHT MARK: invisible, a strong left-to-right letter to the layout


def closed_ltr(name: str) -> str:
    """A name set inside a left-to-right line (an outlet's name before " · 6 Dec 2026", one
    of a list), with a left-to-right mark after it when it holds right-to-left letters: else
    the neutral " · " and the digits after it join its right-to-left run, and "BBC News فارسی
    · 6 Dec 2026" is laid out "BBC News 6 · فارسی Dec 2026". A mark, not dir="auto" or <bdi>:
    plain text and every mail client's layout honour it."""
    if any(unicodedata.bidirectional(char) in ("R", "AL") for char in name):
        return name + LRM
    return name


def make_subject(
    top_headline: str | None,
    more: int = 0,
    title: str = "",
    date: dt.date | None = None,
    words: Catalogue | None = None,
) -> str:
    """The subject: the top story's headline (the title is the From name already) and
    "+ N more" when both fit in 78 characters. A headline that fits alone is never cut for
    the "+ N more" (a headline cut short can say what it does not: "trade to $5…"); one too
    long even alone is cut at a word, before the "+ N more". With no story: the title and
    the date."""
    words = words or catalogue()
    headline = clean_text(top_headline or "")
    if not headline:
        head = [clean_text(title) or words.t("digest")] + (
            [words.date(date, "short")] if date else []
        )
        return shorten(", ".join(head), SUBJECT_MAX)
    if more <= 0:
        return shorten(headline, SUBJECT_MAX)
    suffix = f" {words.t('subject_more', n=more)}"
    if len(headline) + len(suffix) > SUBJECT_MAX >= len(headline):
        return headline  # whole: the "+ N more" gives way
    # the mark after a right-to-left headline is invisible: it takes none of the 78
    return closed_ltr(shorten(headline, SUBJECT_MAX - len(suffix))) + suffix


def make_preheader(
    headlines: list[str], fallback: str = "", rates: str = "", limit: int = PREHEADER_MAX
) -> str:
    """The preview line after the subject, using its room: the next headlines, whole (one
    that does not fit is passed over for a shorter one after it; a headline cut short can
    say something it does not: "Turkey Set $5…"), then the rates. With no other story:
    `fallback` (the top story's lead) and the rates."""
    heads = [closed_ltr(h) for h in (clean_text(h) for h in headlines) if h]
    tail = [rates] if rates else []
    room = limit - (len(rates) + 3 if rates else 0)
    shown: list[str] = []
    for headline in heads:
        if len(" · ".join([*shown, headline])) <= room:
            shown.append(headline)
    if not heads:
        lead = clean_text(fallback)
        if lead:
            shown.append(closed_ltr(shorten(lead, max(room, 20))))
    return shorten(" · ".join([*shown, *tail]), limit)


def render(digest: Digest) -> RenderedDigest:
    """The whole e-mail for one digest."""
    view = digest_view(digest)
    mjml = jinja_env().get_template("digest.mjml.j2").render(view)
    html = minify_html(mjml2html(mjml, fonts={}))
    text = jinja_env().get_template("digest.txt.j2").render(view)
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
    while len(words) > 1 and dangles(words[-1]):
        words.pop()
    return " ".join(words).rstrip(" ,;:·-–—|/") + "…"


def _unsubscribe_href(url: str) -> Markup:
    """The unsubscribe URL or placeholder, verbatim: delivery finds and replaces it as given."""
    if not url or any(ch in '"<>\\' or ch.isspace() or not ch.isprintable() for ch in url):
        raise ValueError(f"unsubscribe_url {url!r} cannot go into a link as it is")
    scheme = urlsplit(url).scheme.lower()
    if scheme and scheme not in ("http", "https", "mailto"):
        raise ValueError(f"unsubscribe_url {url!r}: only http(s), mailto or a placeholder")
    return Markup(url)  # safe verbatim: no quote or angle bracket, checked above


# --- rates ------------------------------------------------------------------------------------

_ARROWS = {"up": "▲", "down": "▼"}  # unchanged: "±0%" alone


def change(pct: Decimal | None, words: Catalogue | None = None) -> tuple[str, str, str]:
    """(trend, shown text, words) for a change in percent; readable without colour and read
    out in words: ("down", "−0.19%", "down 0.19 percent"). "-0%" as published is unchanged."""
    words = words or catalogue()
    if pct is None:
        return "none", "", ""
    if pct.quantize(Decimal("0.01")) == 0:
        return "flat", "±0%", words.t("unchanged")
    shown = abs(pct).quantize(Decimal("0.01")).normalize()
    size = words.number(shown)
    if pct > 0:
        return "up", f"+{size}%", words.n("up", shown, pct=size)
    return "down", f"\u2212{size}%", words.n("down", shown, pct=size)


@dataclass(frozen=True)
class _Rate:
    code: str  # "KGS"
    name: str  # "Kyrgyz som", as the catalogue calls it
    figure: str  # "87.4": what one US dollar buys; "n/a" when the quote supports no figure
    approx: bool  # "≈ 510": the quote supports two digits of the figure only
    available: bool
    trend: str  # up | down | flat | none: of the figure (what a dollar buys)
    arrow: str
    change: str  # "+0.09%"
    words: str  # "up 0.09 percent since the last digest"

    @property
    def shown(self) -> str:
        """ "≈ 510" or "87.4" or "n/a"."""
        return f"≈\u00a0{self.figure}" if self.approx else self.figure

    @property
    def change_text(self) -> str:
        return f"{self.arrow}\u00a0{self.change}" if self.arrow else self.change


def _rate(row: RateRow, words: Catalogue) -> _Rate:
    """A row as readers see it: what one dollar buys and that figure's own change (since the
    last digest when known, else on the day as published: the quote's change inverted)."""
    since = row.since_last_pct is not None
    pct = row.per_usd_since_pct if since else inverse_change(row.change_pct)
    if since and pct is None:
        pct = inverse_change(row.since_last_pct)
    code = clean_text(row.currency)
    figure, approx = reader_figure(row.rate)
    trend, text, said = change(pct, words)
    if figure is None:  # no figure, so no change of it either
        trend, text, said = "none", "", ""
    basis = words.t("since_last_digest" if since else "on_the_day")
    name = words.currency(code) if len(code) == 3 and code.isalpha() else code
    return _Rate(
        code=code,
        name=name[:1].upper() + name[1:],  # it starts an entry of the strip
        figure=(
            words.number(figure, max(0, -figure.as_tuple().exponent))
            if figure is not None
            else words.t("not_available")
        ),
        approx=approx,
        available=figure is not None,
        trend=trend,
        arrow=_ARROWS.get(trend, ""),
        change=text,
        words=f"{said} {basis}" if said else "",
    )


def _rates_note(digest: Digest, rows: list[RateRow], shown: list[_Rate], words: Catalogue) -> str:
    """What the change compares, where the rates come from, what n/a and ≈ mean."""
    since = [r.since_last_pct is not None for r in rows]
    if all(since):
        basis = (
            words.t("change_since", date=words.date(digest.rates_since, "short"))
            if digest.rates_since
            else words.t("change_since_last")
        )
    elif any(since):
        basis = words.t("change_mixed")
    else:
        basis = words.t("change_on_day")
    parts = [basis]
    source = clean_text(digest.rates_source or "")
    if source:
        parts.append(words.t("rates_from", source=source))
    note = " · ".join(parts) + "."
    if any(not r.available for r in shown):
        note += " " + words.t("not_available_note")
    if any(r.approx for r in shown):
        note += " " + words.t("approx_note")
    return note


def _line_start(text: str) -> str:
    """Text that opens a line, capitalised: CLDR writes Russian weekdays in lower case
    ("понедельник, 8 декабря"), as inside a sentence."""
    return text[:1].upper() + text[1:]


def _rates_preheader(rates: list[_Rate], words: Catalogue, limit: int = PREHEADER_MAX // 2) -> str:
    """ "$1 buys 87.4 KGS, ≈510 KZT, 9.18 TJS": the rates in a few characters, the first in
    ticker order that fit in `limit` (a long ticker would leave the next headlines no room)."""
    shown = [f"{'≈' if r.approx else ''}{r.figure} {r.code}" for r in rates if r.available]
    line = ""
    for n in range(1, len(shown) + 1):
        longer = words.t("preheader_rates", rates=", ".join(shown[:n]))
        if line and len(longer) > limit:
            break
        line = longer
    return line


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
    date: str  # "8 Dec 2025", or "listed 8 Dec 2025" for a listing page's date
    iso_date: str
    also: tuple[_Link, ...]  # other outlets' tellings: "Also reported by"
    more: tuple[_Link, ...]  # the same outlet's other articles on the story: "More on this"
    anchor: str
    first: bool  # the top story: its own block, larger
    lang: str  # the story's language when not the digest's (lang=: a screen reader's voice)

    @property
    def title_dir(self) -> str:
        return direction(self.title)

    @property
    def lead_dir(self) -> str:
        return direction(self.lead)

    @property
    def meta(self) -> str:
        """The source and date line as plain text."""
        if self.source:
            return " · ".join(x for x in (self.source.text, self.date) if x)
        return self.date[:1].upper() + self.date[1:]  # "Listed 8 Dec 2025"


@dataclass(frozen=True)
class _Section:
    name: str
    show_name: bool
    items: tuple[_Item, ...]


def _item(
    item: DigestItem, digest: Digest, number: int, show_source: bool, words: Catalogue
) -> _Item:
    source = clean_text(item.source or "")
    also = []  # each other outlet once, by its first telling (an update is no new outlet)
    more = []  # the same source's other articles on the story, by title
    for telling in item.also:
        name = clean_text(telling.source or "")
        href = safe_href(telling.url)
        if not name or name == source:
            title = clean_text(telling.title)
            link = _Link(closed_ltr(title), href)
            if title and link not in more:
                more.append(link)
        elif all(a.text != closed_ltr(name) for a in also):
            also.append(_Link(closed_ltr(name), href))
    date = ""
    if item.date and item.date != digest.date:  # today's date on every story is noise
        shown = words.date(item.date, "short")
        date = words.t("listed_on" if item.listed else "published_on", date=shown)
    return _Item(
        title=clean_text(item.title) or words.t("untitled"),
        lead=clean_text(item.lead),
        source=(
            _Link(closed_ltr(source), safe_href(item.source_link))
            if source and show_source
            else None
        ),
        href=safe_href(item.url),
        date=date,
        iso_date=item.date.isoformat() if item.date else "",
        also=tuple(also),
        more=tuple(more),
        anchor=f"story-{number}",
        first=number == 1,
        lang=item.language if item.language and item.language != words.language else "",
    )


def _one_source(digest: Digest) -> bool:
    """Every story and every telling from one source: naming it under each says nothing."""
    names = {clean_text(i.source or "") for i in digest.items}
    names |= {clean_text(t.source or "") for i in digest.items for t in i.also}
    return len(names) <= 1


def digest_view(digest: Digest) -> dict[str, object]:
    words = catalogue(digest.language)
    show_source = not _one_source(digest)
    default_names = {DEFAULT_SECTION: words.t("top_stories"), OTHER_SECTION: words.t("more_news")}
    sections = [s for s in digest.sections if s.items]
    view_sections = []
    number = 0
    top = None
    for s in sections:
        items = []
        for i in s.items:
            number += 1
            item = _item(i, digest, number, show_source, words)
            if number == 1:
                top = item  # the top story has its own block, under no section
            else:
                items.append(item)
        show = len(sections) > 1 or s.name != DEFAULT_SECTION
        name = default_names.get(s.name, clean_text(s.name))
        if items:
            view_sections.append(_Section(name, show, tuple(items)))
    items = [top] if top else []
    items += [i for s in view_sections for i in s.items]
    title = clean_text(digest.title)
    rates = [_rate(r, words) for r in digest.rates]
    rates_line = _rates_preheader(rates, words)
    return {
        "t": words.t,
        "tn": words.n,
        "lang": words.language,
        "title": title,
        "date_long": _line_start(words.date(digest.date, "full")),
        "date_short": words.date(digest.date, "short"),
        "subject": make_subject(
            items[0].title if items else None, len(items) - 1, digest.title, digest.date, words
        ),
        "preheader": make_preheader(
            [i.title for i in items[1:]],
            items[0].lead if items else words.t("nothing_new"),
            rates_line,
        ),
        "top": top,
        "sections": view_sections,
        "count": len(items),
        "index": items[1:] if len(items) > INDEX_AFTER else [],
        "rates": rates,
        "rates_date": words.date(digest.rates_date, "short") if digest.rates_date else "",
        "rates_note": _rates_note(digest, list(digest.rates), rates, words) if rates else "",
        "neutral": NEUTRAL,
        "unsubscribe_url": _unsubscribe_href(digest.unsubscribe_url),
        "view_url": safe_href(digest.view_url),
        "postal_address": clean_text(digest.postal_address or ""),
        "reason": clean_text(digest.reason_line) or words.t("reason", title=title),
    }


# --- templates --------------------------------------------------------------------------------


def template_dir() -> Traversable:
    """The shipped templates (package data), or templates/ in a source checkout."""
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
    root = template_dir()
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
    # right-to-left text aligned right also where a client ignores dir (Outlook's Word engine)
    env.filters["aligned"] = lambda way: "text-align:right;" if way == "rtl" else ""
    env.filters["bullet"] = _bullet
    return env


@functools.cache
def jinja_env() -> jinja2.Environment:
    """The Jinja environment, built once per process; it caches the compiled templates."""
    return _make_env()


def minify_html(html: str) -> str:
    """Drop the line breaks and indentation between tags (Outlook's conditional comments stay).

    Only whitespace that holds a line break goes between tags, so spaces between inline tags on
    one line of the template (which show as spaces) are kept; elsewhere (text, CSS) a line break
    and its indentation become one line break, which HTML and CSS read as the same space.
    """
    return _INDENT.sub("\n", _SPLIT_TAGS.sub("><", html))
