"""The rendered e-mail in a real browser: phone and desktop widths, light and dark.

Debian's chromium driven by the playwright package (never `playwright install`: it downloads).
Screenshots go to var/screenshots/ for a human (and CI's artifacts) to look at: the digest of
the real pages as `digest preview` writes it, and a 50-story digest, at 320, 375 and 1024 px,
light and dark.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from html import escape
from pathlib import Path

import pytest
from conftest import ROOT, SHARED_SEEDS, digest_command

from digest.config import DeliveryConfig
from digest.message import build_message
from digest.models import DigestItem, DigestSection, Telling
from digest.render import render

pytestmark = [pytest.mark.slow, pytest.mark.browser]

try:
    from test_render import DAY, STORIES, TCA, big_digest, sample_digest
except ImportError:  # tests/ made a package
    from tests.test_render import DAY, STORIES, TCA, big_digest, sample_digest

SHOTS = ROOT / "var" / "screenshots"
CHROMIUM = os.environ.get("DIGEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDTHS = (320, 375, 1024)


def _ci() -> bool:
    return bool(os.environ.get("CI"))  # as tests/conftest.py reads it


def _missing(reason: str) -> None:
    if _ci():
        pytest.fail(f"{reason} (CI is set, so the browser test must run)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed")
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        _missing(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def pages_html(tmp_path_factory) -> str:
    """The digest of all the real pages, as `digest preview` writes it."""
    if not sorted(SHARED_SEEDS.glob("*.txt")):
        _missing(f"the real pages are not here: {SHARED_SEEDS}")
    tmp = tmp_path_factory.mktemp("pages")
    config = tmp / "digest.yaml"
    config.write_text(
        "\n".join(
            [
                "title: Central Asia Daily",
                "timezone: Asia/Almaty",
                "sources:",
                f"  - path: {SHARED_SEEDS / '*.txt'}",
                "    name: The Times of Central Asia",
                "    link: https://timesca.com/",
                '    article_url: "https://timesca.com/?s={title}"',
                f"state: {tmp / 'state.sqlite3'}",
                "selection:",
                "  max_articles: 50",
                "  lookback_days: 100000",
                "  sections:",
                "    Kazakhstan: [Kazakhstan, Astana, Almaty, Tokayev]",
                "    Uzbekistan: [Uzbekistan, Tashkent, Samarkand, Mirziyoyev]",
                "    Kyrgyzstan: [Kyrgyzstan, Bishkek, Japarov]",
                "    Tajikistan: [Tajikistan, Dushanbe, Rahmon]",
                "    Turkmenistan: [Turkmenistan, Ashgabat, Berdimuhamedov]",
                "delivery:",
                '  from: "Central Asia Daily <digest@example.com>"',
                "  to: [reader@example.com]",
                '  unsubscribe_url: "https://example.com/unsubscribe?token={token}"',
                '  postal_address: "Central Asia Daily, 1 Abay Avenue, Almaty"',
            ]
        )
        + "\n"
    )
    run = subprocess.run(
        [*digest_command(), "--config", str(config), "preview", "--out", str(tmp / "out")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    return (tmp / "out" / "digest.html").read_text(encoding="utf-8")


def _luminance(css_colour: str) -> float:
    """Relative luminance (0 black .. 1 white) of a computed rgb()/rgba() colour."""
    parts = css_colour[css_colour.index("(") + 1 : -1].replace("/", ",").split(",")
    r, g, b = (float(v) / 255 for v in parts[:3])
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two computed colours (1 .. 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


LAYOUT = """() => {
  const box = (el) => { const r = el.getBoundingClientRect();
    return {x: r.left, y: r.top + window.scrollY, w: r.width, h: r.height, right: r.right,
            bottom: r.bottom + window.scrollY}; };
  const style = (el) => getComputedStyle(el);
  const bg = (el) => { while (el) { const c = style(el).backgroundColor;
      if (c && c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c; el = el.parentElement; }
    return 'rgb(255, 255, 255)'; };
  const card = document.querySelector('.card:not(.mast)');
  const mastTitle = document.querySelector('.mast h1');
  const top = document.querySelector('.it.lead-story');
  const index = [...document.querySelectorAll('h2.sec')].find((h) => h.closest('.ix'));
  const strip = document.querySelector('.fx');
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    titles: [...document.querySelectorAll('.it h3')].map((h) => ({
      text: h.innerText, href: h.querySelector('a') ? h.querySelector('a').href : null,
      size: parseFloat(style(h).fontSize), ...box(h)})),
    leads: [...document.querySelectorAll('.it p.lead')].map((p) => parseFloat(style(p).fontSize)),
    also: [...document.querySelectorAll('.it .meta a')].map((a) => a.href),
    index: [...document.querySelectorAll('a[href^="#"]')].map((a) => a.getAttribute('href')),
    mast: box(document.querySelector('.mast h1')),
    strip: strip ? box(strip) : null,
    stripHead: box(document.querySelector('.fxh')),
    rates: [...document.querySelectorAll('.fx .rate')].map((r) => ({
      // an inline-block: its height in lines of the strip's line height
      text: r.innerText, lines: Math.round(r.getBoundingClientRect().height / parseFloat(style(r).lineHeight)),
      size: parseFloat(style(r).fontSize), ...box(r)})),
    changes: [...document.querySelectorAll('.fx .chg')].map((c) => style(c).color),
    top: top ? {title: box(top.querySelector('h3')), text: top.querySelector('h3').innerText,
                lead: top.querySelector('p.lead') ? box(top.querySelector('p.lead')) : null,
                kicker: top.parentElement.querySelector('h2').innerText} : null,
    indexTop: index ? box(index).y : null,
    metaColours: [...document.querySelectorAll('.it .meta')].map((m) => style(m).color),
    metaLinkColours: [...document.querySelectorAll('.it .meta a')].map((a) => style(a).color),
    sources: [...document.querySelectorAll('.it .meta .src')].map((a) => a.innerText),
    bodyBg: style(document.body).backgroundColor,
    cardBg: style(card).backgroundColor,
    mastBg: bg(mastTitle),
    mastTitle: style(mastTitle).color,
    mastSub: style(document.querySelector('.mast .sub')).color,
    pageBg: bg(document.querySelector('.mast').parentElement),
    leadColour: style(document.querySelector('.it p')).color,
    titleColour: style(document.querySelector('.it h3')).color,
    titleLinkColour: document.querySelector('.it h3 a') ? style(document.querySelector('.it h3 a')).color : null,
    rateColour: style(document.querySelector('.fx')).color,
  };
}"""


def _rgb(css_colour: str) -> tuple[float, float, float]:
    parts = css_colour[css_colour.index("(") + 1 : -1].replace("/", ",").split(",")
    return tuple(float(v) for v in parts[:3])


def _neutral(css_colour: str) -> bool:
    """Grey-ish: no channel far from the others (no green for up, no red for down)."""
    r, g, b = _rgb(css_colour)
    return max(r, g, b) - min(r, g, b) <= 30


def _strip_style(html: str) -> str:
    """The HTML as a client that drops <style> (Gmail in some cases) shows it."""
    return re.sub(r"<style[^>]*>.*?</style>", "", html, flags=re.S)


def _check_layout(got: dict, width: int, scheme: str, rates: int) -> None:
    assert got["scrollWidth"] <= got["innerWidth"], f"scrolls sideways at {width}px"
    for t in got["titles"]:
        assert t["w"] > 0 and t["h"] > 0, t
        assert t["x"] >= 0 and t["right"] <= width, t
    assert got["leads"] and min(got["leads"]) >= 14
    assert got["titles"][0]["size"] > max(t["size"] for t in got["titles"][1:])  # top story
    assert got["leads"][0] > got["leads"][1]
    # the rates: one strip between the masthead and the top story, each currency on one line
    assert len(got["rates"]) == rates
    assert got["mast"]["bottom"] < got["strip"]["y"] < got["top"]["title"]["y"], got["strip"]
    for rate in got["rates"]:
        assert rate["lines"] == 1 and rate["right"] <= width and rate["size"] >= 14, rate
    assert got["changes"] and all(_neutral(c) for c in got["changes"]), got["changes"]
    assert len(set(got["changes"])) == 1  # one colour whichever way it moved
    # the top story first, under its own heading; the index (if any) after it
    assert got["top"]["kicker"].lower() == "top story"
    assert got["top"]["title"]["y"] == min(t["y"] for t in got["titles"])
    if got["indexTop"] is not None:
        assert got["indexTop"] > (got["top"]["lead"] or got["top"]["title"])["bottom"]
    # the source line is quiet: grey like the rest of the line, never link-blue
    if got["titleLinkColour"]:
        for colour in got["metaLinkColours"]:
            assert colour in got["metaColours"] and colour != got["titleLinkColour"], colour
            assert _neutral(colour), colour
    text_colours = (got["leadColour"], got["titleColour"], got["rateColour"])
    if scheme == "dark":
        assert _luminance(got["bodyBg"]) < 0.05 and _luminance(got["cardBg"]) < 0.05, got
        assert all(_luminance(c) > 0.5 for c in text_colours), got
    else:
        assert _luminance(got["bodyBg"]) > 0.8 and _luminance(got["cardBg"]) > 0.9, got
        assert all(_luminance(c) < 0.1 for c in text_colours), got
    for colour in got["metaColours"] + got["changes"]:  # quiet, and still readable (AA)
        assert _contrast(colour, got["cardBg"]) >= 4.5, (colour, got["cardBg"])
    # The masthead stays a visible band, its title readable, in either scheme.
    assert _contrast(got["mastTitle"], got["mastBg"]) >= 7, got
    assert _contrast(got["mastSub"], got["mastBg"]) >= 4.5, got
    assert _contrast(got["mastBg"], got["cardBg"]) >= 1.5, got  # not lost against the card
    assert _contrast(got["mastBg"], got["pageBg"]) >= 1.5, got


def _shoot(browser, html: str, name: str, width: int, scheme: str) -> dict:
    page = browser.new_page(viewport={"width": width, "height": 800}, color_scheme=scheme)
    try:
        page.set_content(html, wait_until="load")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}-{width}-{scheme}.png"), full_page=True)
        return page.evaluate(LAYOUT)
    finally:
        page.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", WIDTHS)
def test_real_page_digest_reads_well(browser, pages_html, width, scheme):
    got = _shoot(browser, pages_html, "digest-pages", width, scheme)
    _check_layout(got, width, scheme, rates=5)
    assert len(got["titles"]) > 8
    for t in got["titles"]:  # every story links to its article
        assert t["href"] and t["href"].startswith("https://timesca.com/?s="), t
    assert got["index"] == [f"#story-{i}" for i in range(2, len(got["titles"]) + 1)]
    assert got["sources"] == []  # one source: not named under every story
    assert [r["text"].split()[-1] for r in got["rates"] if "n/a" in r["text"]] == ["n/a"]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", WIDTHS)
def test_fifty_story_digest_reads_well(browser, width, scheme):
    digest = big_digest(50, also=2)
    got = _shoot(browser, render(digest).html, "digest-50", width, scheme)
    _check_layout(got, width, scheme, rates=5)
    assert [t["text"] for t in got["titles"]] == [i.title for i in digest.items]
    assert [t["href"] for t in got["titles"]] == [i.url for i in digest.items]
    for item in digest.items:
        for telling in item.also:
            assert telling.url in got["also"]
    assert got["index"] == [f"#story-{i}" for i in range(2, 51)]
    assert len(got["sources"]) == 50  # several sources: each story names its own


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("style", [True, False], ids=["style", "no-style"])
@pytest.mark.parametrize("which", ["pages", "fifty"])
def test_a_phones_first_screen_holds_the_masthead_the_rates_and_the_top_story(
    browser, pages_html, which, style, scheme
):
    """375×667: the masthead, the rates and the top story's headline and whole lead, before
    any index or section; with <style> dropped too."""
    html = pages_html if which == "pages" else render(big_digest(50, also=2)).html
    if not style:
        html = _strip_style(html)
    page = browser.new_page(viewport={"width": 375, "height": 667}, color_scheme=scheme)
    try:
        page.set_content(html, wait_until="load")
        SHOTS.mkdir(parents=True, exist_ok=True)
        name = f"digest-first-screen-{which}-{'style' if style else 'nostyle'}-375-{scheme}.png"
        page.screenshot(path=str(SHOTS / name))  # the first screen only
        got = page.evaluate(LAYOUT)
    finally:
        page.close()
    assert got["scrollWidth"] <= got["innerWidth"]
    assert got["mast"]["y"] >= 0 and got["strip"]["bottom"] < got["top"]["title"]["y"]
    assert got["top"]["lead"] is not None and got["top"]["lead"]["bottom"] <= 667, got["top"]
    assert all(r["bottom"] <= 667 and r["lines"] == 1 for r in got["rates"]), got["rates"]
    assert got["indexTop"] is None or got["indexTop"] > got["top"]["lead"]["bottom"]


def test_index_links_jump_to_their_story(browser):
    page = browser.new_page(viewport={"width": 375, "height": 700})
    try:
        page.set_content(render(big_digest(50)).html, wait_until="load")
        for n in (2, 27, 48):  # (the last ones cannot scroll to the top: the page ends)
            page.evaluate("window.scrollTo(0, 0)")
            page.click(f'a[href="#story-{n}"]')
            page.wait_for_function(
                f"document.getElementById('story-{n}').getBoundingClientRect().top < 5"
            )
            top = page.evaluate(f"document.getElementById('story-{n}').getBoundingClientRect().top")
            assert -5 < top < 5, (n, top)
    finally:
        page.close()


@pytest.mark.parametrize("width", [320, 375, 1024])
def test_without_style_the_rates_and_the_top_story_still_read_well(browser, width):
    """Gmail sometimes drops <style>: the inline styles alone keep the strip on screen, each
    currency on one line, the top story first and the source line quiet."""
    html = _strip_style(render(sample_digest()).html)
    page = browser.new_page(viewport={"width": width, "height": 800})
    try:
        page.set_content(html, wait_until="load")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"digest-nostyle-{width}-light.png"), full_page=True)
        got = page.evaluate(LAYOUT)
    finally:
        page.close()
    assert got["scrollWidth"] <= got["innerWidth"]
    assert all(r["lines"] == 1 and r["right"] <= width for r in got["rates"]), got["rates"]
    assert [r["text"].replace("\u00a0", " ") for r in got["rates"]] == [
        "Kyrgyz som 87.4 ±0%",
        "Kazakh tenge ≈ 510 ▼ −0.5%",
        "Tajik somoni 9.19 ▲ +0.19%",
        "Uzbek sum n/a",
        "Turkmen manat 3.51 ▼ −1.19%",
    ]
    assert all(_neutral(c) for c in got["changes"])
    assert got["top"]["text"] == "Kazakhstan to Block Foreign Marketplaces for Unpaid Taxes"
    assert got["strip"]["bottom"] < got["top"]["title"]["y"]
    for colour in got["metaLinkColours"]:
        assert _neutral(colour) and colour != got["titleLinkColour"], colour


@pytest.mark.parametrize("width", [320, 1024])
def test_a_russian_digest_reads_well(browser, width):
    """Issue 23: the digest's own words in Russian, at a phone's and a desktop's width."""
    html = render(sample_digest(language="ru")).html
    for scheme in ("light", "dark"):
        got = _shoot(browser, html, "digest-ru", width, scheme)
        assert got["scrollWidth"] <= got["innerWidth"]
        assert all(r["lines"] == 1 and r["right"] <= width for r in got["rates"]), got["rates"]
        assert got["top"]["kicker"].lower() == "главное"
        assert got["rates"][0]["text"].replace("\u00a0", " ") == "Кыргызский сом 87,4 ±0%"
        assert got["mast"]["bottom"] < got["strip"]["y"] < got["top"]["title"]["y"]


@pytest.mark.parametrize("width", [320, 375])
def test_long_words_and_many_stories_never_scroll_sideways(browser, width):
    long_word = "Transcaspian" * 8  # 96 letters without a break
    odd = DigestItem(f"{long_word} {STORIES[0][0]}", f"{long_word} and more", TCA)
    items = (odd, *big_digest(50).items)
    digest = sample_digest(sections=(DigestSection("Kazakhstan", items),))
    page = browser.new_page(viewport={"width": width, "height": 800})
    try:
        page.set_content(render(digest).html, wait_until="load")
        got = page.evaluate(LAYOUT)
    finally:
        page.close()
    assert got["scrollWidth"] <= got["innerWidth"]
    assert all(r["lines"] == 1 and r["right"] <= width for r in got["rates"]), got["rates"]
    assert len(got["titles"]) == 51
    assert all(t["right"] <= width for t in got["titles"])


@pytest.mark.parametrize("width", [375, 1024])
def test_arabic_and_hebrew_stories_read_right_to_left(browser, width):
    """The message is dir="ltr": an Arabic or Hebrew headline and lead were laid out left to
    right, the full stop on the wrong side and mixed phrases out of order. Each reads right to
    left and is aligned right (with or without the style sheet); a Latin story beside them
    stays left to right."""
    stories = (
        DigestItem(
            "إيران تعلن صفقة بقيمة 5 مليارات دولار مع Kazakhstan",
            "أعلنت الحكومة الإيرانية يوم الأحد عن صفقة بقيمة 5 مليارات دولار.",
            TCA,
        ),
        DigestItem(
            "ישראל חותמת על הסכם מים עם Uzbekistan",
            "ממשלת ישראל חתמה ביום שלישי על הסכם מים עם Uzbekistan.",
            TCA,
        ),
        DigestItem(STORIES[0][0], STORIES[0][1], TCA),
    )
    digest = sample_digest(sections=(DigestSection("Kazakhstan", stories),))
    for html in (render(digest).html, _strip_style(render(digest).html)):
        page = browser.new_page(viewport={"width": width, "height": 800})
        try:
            page.set_content(html, wait_until="load")
            got = page.evaluate(
                """() => [...document.querySelectorAll('div.it h3, div.it p.lead')].map(el => {
                  const s = getComputedStyle(el);
                  return [el.textContent.trim().slice(0, 12), s.direction, s.textAlign];
                })"""
            )
        finally:
            page.close()
        ways = [(d, a in ("right", "end")) for _, d, a in got]
        assert ways == [("rtl", True)] * 4 + [("ltr", False)] * 2, got


BIDI_BOXES = """(needles) => {
  // The boxes a browser draws each needle in: one box per run it is split into.
  const boxes = (range) => [...range.getClientRects()].map((r) => [r.left, r.right]);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const found = {};
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const needle of needles) {
      const at = node.data.indexOf(needle);
      if (at >= 0 && !(needle in found)) {
        const range = document.createRange();
        range.setStart(node, at);
        range.setEnd(node, at + needle.length);
        found[needle] = boxes(range);
      }
    }
  }
  return found;
}"""


@pytest.mark.parametrize("part", ["html", "text"])
def test_a_right_to_left_source_name_keeps_the_date_and_names_after_it_in_order(browser, part):
    """A Persian outlet's name ("BBC News فارسی - ایران") drew the date after it into its
    right-to-left run: the line read "BBC News 6 · ایران - فارسی Dec 2026", and "Also reported
    by BBC فارسی, 24.kg" split "24" from ".kg". The date and the next name stay whole, after
    the name, in the HTML and in the text part as a mail reader lays it out (left to right)."""
    persian = "BBC News فارسی - ایران"
    story = DigestItem(
        "تاجیکستان و ایران توافق‌نامه انرژی امضا کردند",
        "وزیران انرژی تاجیکستان و ایران روز یکشنبه توافق‌نامه‌ای امضا کردند.",
        persian,
        "https://www.bbc.com/persian/articles/c1x2y3z4",
        DAY - dt.timedelta(days=1),
        "https://www.bbc.com/persian",
        (
            Telling("همان خبر", "BBC فارسی", "https://www.bbc.com/persian/a", DAY),
            Telling("Same story", "24.kg", "https://24.kg/a", DAY),
        ),
    )
    digest = sample_digest(
        sections=(
            DigestSection("Tajikistan", (story, DigestItem(STORIES[0][0], STORIES[0][1], TCA))),
        )
    )
    rendered = render(digest)
    if part == "html":
        html = rendered.html
    else:  # a mail reader shows the text part as it is, left to right, one line a paragraph
        lines = "".join(
            f"<div>{escape(line) or '&nbsp;'}</div>" for line in rendered.text.split("\n")
        )
        html = f'<body style="font-family:monospace" dir="ltr">{lines}</body>'
    page = browser.new_page(viewport={"width": 1024, "height": 800})
    try:
        page.set_content(html, wait_until="load")
        got = page.evaluate(BIDI_BOXES, [persian, "7 Dec 2025", "BBC فارسی", "24.kg"])
    finally:
        page.close()
    name, date = got[persian], got["7 Dec 2025"]
    assert len(date) == 1, f"the date is split in {len(date)} pieces: {date}"
    assert date[0][0] >= max(right for _, right in name) - 1, got
    if part == "html":  # the text part lists each other outlet on a line of its own
        assert len(got["24.kg"]) == 1, got
        assert got["24.kg"][0][0] >= max(right for _, right in got["BBC فارسی"]) - 1, got


def test_a_right_to_left_headline_keeps_the_subject_and_preheader_in_order(browser):
    """An inbox shows the subject (as the message carries it) and the preheader on one
    left-to-right line: after a Persian
    top headline, "+ 2 more" was laid out "2 + <headline> more", and after a Persian headline
    in the preheader, "$1 buys" came out as "$1 · <headline> buys". What follows a headline
    stays after it, whole."""
    persian = "تاجیکستان و ایران توافق‌نامه انرژی امضا کردند"
    second = DigestItem("افغانستان و ازبکستان راه‌آهن می‌سازند", "سه شنبه.", TCA)
    top = DigestItem(persian, "وزیران انرژی روز یکشنبه توافق‌نامه‌ای امضا کردند.", TCA)
    digest = sample_digest(
        sections=(DigestSection("Tajikistan", (top, second, DigestItem(*STORIES[0][:2], TCA))),)
    )
    rendered = render(digest)
    delivery = DeliveryConfig(from_addr="Central Asia Daily <digest@example.com>")
    subject = build_message(rendered, delivery, "reader@example.com", "t")["Subject"]
    lines = "".join(f"<div>{escape(x)}</div>" for x in (subject, rendered.preheader))
    page = browser.new_page(viewport={"width": 1600, "height": 400})
    try:
        page.set_content(f'<body dir="ltr">{lines}</body>', wait_until="load")
        got = page.evaluate(BIDI_BOXES, [persian, "+ 2 more", second.title, "$1 buys"])
    finally:
        page.close()
    for before, after in ((persian, "+ 2 more"), (second.title, "$1 buys")):
        assert len(got[after]) == 1, got
        assert got[after][0][0] >= max(right for _, right in got[before]) - 1, (before, got)
