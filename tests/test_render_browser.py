"""The rendered e-mail in a real browser: phone and desktop widths, light and dark.

Debian's chromium driven by the playwright package (never `playwright install`: it downloads).
Screenshots go to var/screenshots/ for a human (and CI's artifacts) to look at.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from digest.models import DigestItem, DigestSection
from digest.render import render

try:
    from test_render import STORIES, big_digest, sample_digest, seed_digests
except ImportError:  # tests/ made a package
    from tests.test_render import STORIES, big_digest, sample_digest, seed_digests

ROOT = Path(__file__).resolve().parents[1]
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


def _luminance(css_colour: str) -> float:
    """Relative luminance (0 black .. 1 white) of a computed rgb()/rgba() colour."""
    parts = css_colour[css_colour.index("(") + 1 : -1].replace("/", ",").split(",")
    r, g, b = (float(v) / 255 for v in parts[:3])
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _digest(kind: str):
    """The busiest real page (skips when the pages are absent), or the hand-written sample
    (sections, linked and unlinked titles, an empty lead, rates with changes since last)."""
    if kind == "sample":
        return "sample", sample_digest()
    return max(seed_digests(), key=lambda nd: len(nd[1].items))


LAYOUT = """() => {
  const box = (el) => { const r = el.getBoundingClientRect();
    return {x: r.left, y: r.top, w: r.width, h: r.height, right: r.right}; };
  const style = (el) => getComputedStyle(el);
  const lines = (el) => { const r = document.createRange(); r.selectNodeContents(el);
    return new Set([...r.getClientRects()].map((x) => Math.round(x.bottom))).size; };
  const card = document.querySelector('.card:not(.mast)');
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    titles: [...document.querySelectorAll('.it h3')].map((h) => ({text: h.innerText, ...box(h)})),
    leads: [...document.querySelectorAll('.it p:not(.meta)')].map((p) => parseFloat(style(p).fontSize)),
    rows: [...document.querySelectorAll('tr.rate')].map((tr) => ({
      text: tr.innerText, ...box(tr),
      sizes: [...tr.querySelectorAll('td, td *')].map((c) => parseFloat(style(c).fontSize)),
      // numbers, and each half of "1 USD ≈ | 12,500 UZS", must never break inside
      unbroken: [...tr.querySelectorAll('td:not(:first-child), td span span')].map(lines),
    })),
    headLines: [...document.querySelectorAll('.rates th')].map(lines),
    bodyBg: style(document.body).backgroundColor,
    cardBg: style(card).backgroundColor,
    leadColour: style(document.querySelector('.it p')).color,
    titleColour: style(document.querySelector('.it h3')).color,
    rateColour: style(document.querySelector('tr.rate td')).color,
  };
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [375, 1024])
@pytest.mark.parametrize("kind", ["pages", "sample"])
def test_digest_reads_well_in_a_browser(browser, kind, width, scheme):
    name, digest = _digest(kind)
    html = render(digest).html
    page = browser.new_page(viewport={"width": width, "height": 800}, color_scheme=scheme)
    try:
        page.set_content(html, wait_until="load")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"digest-{kind}-{width}-{scheme}.png"), full_page=True)
        got = page.evaluate(LAYOUT)
    finally:
        page.close()

    assert got["scrollWidth"] <= got["innerWidth"], f"{name}: scrolls sideways at {width}px"
    assert [t["text"] for t in got["titles"]] == [i.title for i in digest.items]
    for t in got["titles"]:
        assert t["w"] > 0 and t["h"] > 0, t
        assert t["x"] >= 0 and t["right"] <= width, t
    assert got["leads"] and min(got["leads"]) >= 14
    assert len(got["rows"]) == len(digest.rates) == 5
    for row, rate in zip(got["rows"], digest.rates, strict=True):
        assert row["text"].startswith(rate.pair)
        assert row["w"] > 0 and row["h"] > 0 and row["right"] <= width, row
        assert min(row["sizes"]) >= 12, row
        assert set(row["unbroken"]) == {1}, row
    assert set(got["headLines"]) == {1}, got["headLines"]
    text_colours = (got["leadColour"], got["titleColour"], got["rateColour"])
    if scheme == "dark":
        assert _luminance(got["bodyBg"]) < 0.05 and _luminance(got["cardBg"]) < 0.05, got
        assert all(_luminance(c) > 0.5 for c in text_colours), got
    else:
        assert _luminance(got["bodyBg"]) > 0.8 and _luminance(got["cardBg"]) > 0.9, got
        assert all(_luminance(c) < 0.1 for c in text_colours), got


@pytest.mark.parametrize("width", [320, 375])
def test_long_words_and_many_articles_never_scroll_sideways(browser, width):
    long_word = "Transcaspian" * 8  # 96 letters without a break
    odd = DigestItem(f"{long_word} {STORIES[0][0]}", f"{long_word} and more", "a.txt")
    items = (odd, *big_digest(50).items)
    digest = sample_digest(sections=(DigestSection("Kazakhstan", items),))
    page = browser.new_page(viewport={"width": width, "height": 800})
    try:
        page.set_content(render(digest).html, wait_until="load")
        if width == 375:
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "digest-50-375-light.png"), full_page=False)
        got = page.evaluate(LAYOUT)
    finally:
        page.close()
    assert got["scrollWidth"] <= got["innerWidth"]
    assert all(set(row["unbroken"]) == {1} for row in got["rows"]), got["rows"]
    assert len(got["titles"]) == 51
    assert all(t["right"] <= width for t in got["titles"])
