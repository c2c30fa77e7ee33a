"""The e-mail the reader gets: content, escaping, links, size, subject and client support."""

from __future__ import annotations

import datetime as dt
import email
import json
import os
import re
import shutil
import subprocess
import tomllib
from dataclasses import replace
from decimal import Decimal as D
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from fnmatch import fnmatch
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import SHARED_SEEDS, need_real_pages
from mjml import mjml2html

from digest.i18n import catalogue
from digest.models import (
    DEFAULT_SECTION,
    OTHER_SECTION,
    Digest,
    DigestItem,
    DigestSection,
    RateRow,
    Telling,
)
from digest.render import make_preheader, make_subject, render

ROOT = Path(__file__).resolve().parents[1]
SEEDS = SHARED_SEEDS
EMAILLINT = ROOT / "tests" / "emaillint"
DAY = dt.date(2025, 12, 8)
HOSTILE = '<script>alert(1)</script> & "Tom\'s"'


# --- digests to render --------------------------------------------------------------------------

STORIES = [
    (
        "Tajikistan Intends To Expand Production of Armored Vehicles and Special Equipment",
        "Tajikistan’s Sipar Group plans to significantly expand the production of armored "
        "vehicles and special equipment at its plant in Tursunzade, backed by a foreign "
        "investment of $15 million that lets it build 17 types of special vehicles.",
        "https://timesca.com/tajikistan-intends-to-expand-production-of-armored-vehicles/",
    ),
    (
        "UNICEF: Central Asia Must Work To Keep Children Out Of Alternative Care",
        "About 60,000 children across the five Central Asian countries remain in alternative "
        "care despite the known effects of family separation, according to a new UNICEF report.",
        None,
    ),
    (
        "Uzbekistan and Kazakhstan Explore Use of ID Cards at Border Crossings",
        "Officials discussed letting citizens cross the border with national ID cards instead "
        "of passports, a step meant to ease trade and family visits between the two countries.",
        "https://timesca.com/uzbekistan-and-kazakhstan-explore-use-of-id-cards/?utm=a&b=1",
    ),
    ("Kazakhstan to Block Foreign Marketplaces for Unpaid Taxes", "", None),
    (
        "Astana–Israel Talks Span Technology, Trade, and Holocaust Remembrance",
        "The talks in Astana covered water technology, farm trade and a joint remembrance "
        "programme — ‘a new chapter’, as one minister put it.",
        "https://example.org/astana-israel",
    ),
]


TCA = "The Times of Central Asia"
TCA_LINK = "https://timesca.com/"
TCA_SEARCH = "https://timesca.com/?s={title}"
ALSO = (
    Telling(
        "Tajik Plant to Build 17 Types of Armored Vehicles",
        "Asia-Plus",
        "https://asiaplus.tj/a/1",
        DAY,
    ),
    Telling("Sipar Group Expands in Tursunzade", "Kun.uz", None, DAY),
)


def rate_rows() -> tuple[RateRow, ...]:
    """The real pages' kind of table, the second issue: changes since the last digest."""
    return (
        RateRow("KGS/USD", D("0.01144"), D("0"), D("87.4"), False, None, "seeds/000.txt", DAY),
        RateRow("KZT/USD", D("0.00196"), D("-0"), D("510"), True, D("0.5"), "seeds/000.txt", DAY),
        RateRow(
            "TJS/USD", D("0.10876"), D("0.55"), D("9.194"), False, D("-0.19"), "seeds/000.txt", DAY
        ),
        RateRow(
            "UZS/USD", D("0.00008"), D("-0"), D("12500"), True, D("0"), "seeds/000.txt", DAY,
            (D("11800"), D("13300")),
        ),
        RateRow("TMT/USD", D("0.28490"), D("0"), D("3.510"), False, D("1.2"), "seeds/000.txt", DAY),
    )  # fmt: skip


def sample_digest(**changes) -> Digest:
    """A realistic digest written by hand: two sections, links and not, an empty lead, one
    story told by three sources."""
    items = [
        DigestItem(title, lead, TCA, url, DAY, TCA_LINK, ALSO if i == 0 else ())
        for i, (title, lead, url) in enumerate(STORIES)
    ]
    fields = dict(
        title="Central Asia Daily",
        date=DAY,
        sections=(
            DigestSection("Kazakhstan", tuple(items[3:])),
            DigestSection(OTHER_SECTION, tuple(items[:3])),
        ),
        rates=rate_rows(),
        rates_date=DAY,
        rates_source=TCA,
    )
    fields.update(changes)
    return Digest(**fields)


def big_digest(n: int = 50, words: int = 40, also: int = 1) -> Digest:
    """n stories with leads of `words` words, all linked, each also told by `also` other
    sources, as a busy day would give."""
    text = (
        "Officials in Astana and Tashkent said on Monday that the new corridor would cut "
        "freight times by a third, open the route to Chinese and European carriers, and bring "
        "customs checks for rail cargo under one roof by the end of next year, pending approval."
    ).split()
    items = tuple(
        DigestItem(
            f"Story {i}: Kazakhstan and Uzbekistan Agree on a New Trade Corridor Through the Region",
            " ".join((text * 3)[i % 7 : i % 7 + words]),
            f"Region News {i % 3}",
            f"https://news.example.com/2025/12/08/kazakhstan-uzbekistan-trade-corridor-{i}/",
            DAY,
            "https://news.example.com/",
            tuple(
                Telling(
                    f"Corridor deal {i}",
                    f"Wire Service {k}",
                    f"https://wire{k}.example.com/2025/12/08/corridor-{i}/",
                    DAY,
                )
                for k in range(also)
            ),
        )
        for i in range(n)
    )
    return Digest(
        "Central Asia Daily",
        DAY,
        (DigestSection(DEFAULT_SECTION, items),),
        rate_rows(),
        DAY,
        TCA,
        postal_address="Central Asia Daily, 1 Abay Avenue, Almaty 050000, Kazakhstan",
    )


def seed_digests() -> list[tuple[str, Digest]]:
    """One digest per real page, as the pipeline builds it: the readers, the source named as
    the config names it (with article_url for pages without links), extractive leads,
    sections from title or lead."""
    need_real_pages()
    from digest.config import Config, SelectionConfig, SourceSpec
    from digest.models import Chosen
    from digest.plan import build_digest, place
    from digest.rates import newest_ticker
    from digest.rates import rate_rows as rows_for
    from digest.sources import read_specs
    from digest.summarize import extractive_lead

    config = Config(
        path=ROOT / "config" / "digest.yaml",
        title="Central Asia Daily",
        timezone="Asia/Almaty",
        selection=SelectionConfig(sections=SECTIONS),
    )
    digests = []
    for page in sorted(SEEDS.glob("*.txt")):
        spec = SourceSpec("glob", str(page), TCA, TCA_LINK, TCA_SEARCH)
        read = read_specs([spec])
        assert read.articles, f"{page.name}: the reader found no article"
        leads = [extractive_lead(a, 40) for a in read.articles]
        stories = place(config, [Chosen(a) for a in read.articles], leads)
        rows = rows_for(newest_ticker(read.rates))
        names = {a.source: a.source_name for a in read.articles}
        digest = build_digest(config, stories, rows, source_names=names, today=DAY)
        digests.append((page.name, digest))
    return digests


SECTIONS = (
    ("Kazakhstan", ("Kazakhstan", "Astana", "Almaty", "Tokayev")),
    ("Uzbekistan", ("Uzbekistan", "Tashkent", "Samarkand", "Mirziyoyev")),
    ("Kyrgyzstan", ("Kyrgyzstan", "Bishkek", "Japarov")),
    ("Tajikistan", ("Tajikistan", "Dushanbe", "Rahmon")),
    ("Turkmenistan", ("Turkmenistan", "Ashgabat", "Berdimuhamedov")),
)


# --- reading the HTML back ----------------------------------------------------------------------


_INLINE = frozenset({"a", "span", "strong", "b", "em", "i"})


class _Reader(HTMLParser):
    """What a reader sees (text outside <head>, <style> and the hidden preheader) and the links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.hrefs: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.skip = 0  # depth inside head/style/preheader
        self.stack: list[bool] = []

    def handle_starttag(self, tag, attrs):
        attrs_d = dict(attrs)
        self.tags.append((tag, attrs_d))
        if tag not in _INLINE:
            self.text.append(" ")
        if tag == "a" and attrs_d.get("href") is not None:
            self.hrefs.append(attrs_d["href"])
        if tag in ("br", "meta", "img", "hr", "input", "link"):
            return
        hidden = tag in ("head", "style", "title") or "preheader" in (attrs_d.get("class") or "")
        self.stack.append(hidden)
        self.skip += hidden

    def handle_endtag(self, tag):
        if tag not in _INLINE:
            self.text.append(" ")
        if tag in ("br", "meta", "img", "hr", "input", "link") or not self.stack:
            return
        self.skip -= self.stack.pop()

    def handle_data(self, data):
        if not self.skip:
            self.text.append(data)


def read_html(html: str) -> _Reader:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader


def seen(html: str) -> str:
    """The visible text, whitespace (and no-break spaces) collapsed."""
    return " ".join("".join(read_html(html).text).split())


def flat(text: str) -> str:
    return " ".join(text.split())


# --- content --------------------------------------------------------------------------------------


def test_text_part_lines_fit_a_mail_reader():
    text = render(big_digest(12)).text
    long = [line for line in text.splitlines() if len(line) > 78 and "://" not in line]
    assert not long


def test_empty_lead_shows_the_title_alone():
    item = DigestItem("Kazakhstan to Block Foreign Marketplaces", "", TCA, None, DAY)
    digest = sample_digest(sections=(DigestSection(DEFAULT_SECTION, (item,)),))
    rendered = render(digest)
    block = re.search(r'<div class="it[^"]*"[^>]*>(.*?)</div>', rendered.html, re.S).group(1)
    assert 'class="lead"' not in block  # no empty lead paragraph
    assert "Kazakhstan to Block Foreign Marketplaces" in seen(rendered.html)


@pytest.mark.parametrize(
    ("sections", "shown"),
    [
        ((DEFAULT_SECTION,), []),
        (("Kazakhstan",), ["Kazakhstan"]),
        ((DEFAULT_SECTION, "Kazakhstan"), [DEFAULT_SECTION, "Kazakhstan"]),
    ],
)
def test_section_names_show_when_they_tell_something(sections, shown):
    item = DigestItem("A title", "A lead.", "a.txt")
    digest = sample_digest(sections=tuple(DigestSection(n, (item, item)) for n in sections))
    headings = re.findall(r'<h2 class="sec"[^>]*>(.*?)</h2>', render(digest).html)
    assert headings == ["Top story", *shown]  # the top story under no section


def test_no_rate_table_without_rates():
    html = render(sample_digest(rates=(), rates_date=None, rates_source=None)).html
    assert "Exchange rates" not in html


# --- the real pages ---------------------------------------------------------------------------------


# --- untrusted text ---------------------------------------------------------------------------------


def test_hostile_title_shows_literally_and_runs_nowhere():
    item = DigestItem(
        HOSTILE,
        'Lead <img src=x onerror="alert(2)"> &amp; more',
        '"><script>alert(3)</script> News',
        None,
        DAY,
        also=(Telling(HOSTILE, '<b onclick="x()">Wire</b>', 'https://e.example/"><x', DAY),),
    )
    digest = sample_digest(
        title="Daily <b>bold</b>",
        sections=(DigestSection("<i>Sec</i>", (item, item)),),
        postal_address="<address>1 Main St</address>",
    )
    rendered = render(digest)
    reader = read_html(rendered.html)
    assert not [t for t, _ in reader.tags if t in ("script", "img", "b", "i", "x", "address")]
    assert not [a for _, attrs in reader.tags for a in attrs if a.startswith("on")]
    text = seen(rendered.html)
    assert HOSTILE in text
    assert 'Lead <img src=x onerror="alert(2)"> &amp; more' in text
    assert "Daily <b>bold</b>" in text and "<i>Sec</i>" in text
    assert '"><script>alert(3)</script> News' in text
    assert '<b onclick="x()">Wire</b>' in text and "<address>1 Main St</address>" in text
    assert HOSTILE in rendered.text  # the text part is plain text: shown as is
    assert HOSTILE in rendered.subject
    assert HOSTILE in rendered.preheader  # the next headline


def test_mjml_keeps_escaped_entities_escaped():
    # Pins mjml-python's behaviour the template relies on: it copies entities through as written.
    html = mjml2html(
        "<mjml><mj-body><mj-section><mj-column>"
        "<mj-text>&lt;script&gt; &amp;amp; &#34;q&#39;</mj-text>"
        '<mj-button href="https://x.example/?a=1&amp;b=&#34;&lt;">&lt;b&gt;</mj-button>'
        "<mj-table><tr><td>&lt;i&gt;</td></tr></mj-table>"
        "</mj-column></mj-section></mj-body></mjml>",
        fonts={},
    )
    assert "&lt;script&gt; &amp;amp; &#34;q&#39;" in html
    assert 'href="https://x.example/?a=1&amp;b=&#34;&lt;"' in html
    assert ">&lt;b&gt;</a>" in html
    assert "<td>&lt;i&gt;</td>" in html
    assert "<script>" not in html


def test_control_characters_never_reach_the_mail():
    item = DigestItem("Bad\x00 title\x1b[31m\u202eevil", "Lead\r\nwith\x07 bells", "a.txt")
    rendered = render(sample_digest(sections=(DigestSection(DEFAULT_SECTION, (item,)),)))
    for part in (rendered.html, rendered.text, rendered.subject, rendered.preheader):
        assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e]", part)
    assert "Bad title [31mevil" in seen(rendered.html)
    assert "Lead with bells" in seen(rendered.html)


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("https://example.com/a?b=1&c=2", True),
        ("http://example.com/", True),
        ("HTTPS://EXAMPLE.COM/x", True),
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("ftp://example.com/file", False),
        ("//example.com/protocol-relative", False),
        ("https://exa mple.com/space", False),
        ('https://example.com/"onmouseover="alert(1)', True),  # quotes escaped, link kept
        ("https:///no-host", False),
        ("", False),
    ],
)
def test_only_http_links_become_links(url, linked):
    item = DigestItem("Linked title", "Lead.", "a.txt", url or None, DAY)
    rendered = render(sample_digest(sections=(DigestSection(DEFAULT_SECTION, (item,)),)))
    hrefs = read_html(rendered.html).hrefs
    assert (url in hrefs) is linked
    assert hrefs[-1] == "{unsubscribe_url}"
    assert len(hrefs) == 1 + linked
    assert not re.search(r'href="(?!https?://|\{)', rendered.html, re.I)
    assert (url in rendered.text.split()) is linked


# --- footer -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "placeholder",
    ["{unsubscribe_url}", "https://example.com/unsubscribe?list=daily&token={token}", "%%UNSUB%%"],
)
def test_unsubscribe_placeholder_survives_verbatim(placeholder):
    rendered = render(sample_digest(unsubscribe_url=placeholder))
    assert f'href="{placeholder}"' in rendered.html
    assert f"Unsubscribe: {placeholder}" in rendered.text


@pytest.mark.parametrize("url", ['x" onclick="alert(1)', "javascript:alert(1)", "a b", ""])
def test_unsubscribe_url_that_cannot_be_a_link_is_refused(url):
    with pytest.raises(ValueError, match="unsubscribe_url"):
        render(sample_digest(unsubscribe_url=url))


def test_footer_says_why_the_reader_gets_this():
    default = render(sample_digest())
    reason = "You receive this because you subscribed to Central Asia Daily."
    assert reason in seen(default.html) and reason in flat(default.text)
    custom = render(sample_digest(reason_line="You asked for it at the <Expo> & fair."))
    assert "You asked for it at the <Expo> & fair." in seen(custom.html)
    assert "You asked for it at the <Expo> & fair." in custom.text


# --- size, markup, dark mode --------------------------------------------------------------------------


def test_minified_html_keeps_outlook_conditional_comments():
    html = render(sample_digest()).html
    assert "<!--[if mso | IE]>" in html and "<![endif]-->" in html
    assert "<!--[if mso]>" in html
    assert not re.search(r">\s*\n\s*<", html)


def test_dark_mode_and_mobile_are_declared():
    html = render(sample_digest()).html
    assert '<meta name="color-scheme" content="light dark"' in html
    assert '<meta name="supported-color-schemes" content="light dark"' in html
    assert "@media (prefers-color-scheme: dark)" in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1"' in html
    assert "fonts.googleapis.com" not in html  # fonts={}: no web font is pulled in


def test_templates_ship_as_package_data():
    # A non-editable install only carries what pyproject's package-data names.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["digest.templates"]
    for template in ("digest.mjml.j2", "digest.txt.j2"):
        assert (ROOT / "templates" / template).is_file()
        assert any(fnmatch(template, p) for p in patterns), template
    assert (ROOT / "templates" / "__init__.py").is_file()


# --- subject ----------------------------------------------------------------------------------------------


def test_subject_is_one_clean_line():
    subject = make_subject("A\x00 b\x1b \u202e  c\u2028d\te\r\nBcc: x@example.com", 2)
    assert subject == "A b c d e Bcc: x@example.com + 2 more"
    assert not re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", subject)


# --- e-mail client support (caniemail data) ---------------------------------------------------------------

# The clients we promise: Gmail, Outlook and Apple Mail, all their apps and webmails.
CLIENTS = ["gmail.*", "outlook.*", "apple-mail.*"]
# "not supported" findings we accept, each because something else covers the gap. Partial support
# ("only partially supported") is not a failure: MJML's markup is built around those gaps.
ALLOWED = {
    # Every <style> rule is progressive enhancement (dark mode, small-screen padding, MJML's
    # column widths); colours and layout are inline. Gmail's mobile webmail drops <style>.
    ("Class selector", "gmail.mobile-webmail"): "inline styles carry the design",
    ("Type selector", "gmail.mobile-webmail"): "MJML's reset rules; inline styles carry it",
    ("ID selector", "gmail.mobile-webmail"): "MJML's #outlook a reset, for Outlook.com only",
    ("Descendant combinator", "gmail.mobile-webmail"): "dark-mode rules only",
    ("Chaining selectors", "gmail.mobile-webmail"): "dark-mode rules only",
    ("Chaining selectors", "outlook.windows*"): "MJML's Thunderbird fix and our @media rules",
    ("@media", "gmail.mobile-webmail"): "fixed 600px tables fall back to full width",
    ("@media", "outlook.windows*"): "Outlook desktop renders MJML's fixed-width mso tables",
    # Dark mode is an enhancement: the light design is the default everywhere, and Gmail's apps
    # and Outlook apply their own dark-mode colour inversion instead.
    ("@media (prefers-color-scheme)", "gmail.*"): "light design stays; Gmail inverts itself",
    ("@media (prefers-color-scheme)", "outlook.windows*"): "light design stays",
    # The hidden preheader: display:none hides it almost everywhere, mso-hide:all in Outlook
    # desktop; where neither holds, the reader sees the first headlines once more at the top.
    ("display:none", "gmail.mobile-webmail"): "preheader shows as a line of headlines",
    ("overflow", "outlook.*"): "preheader: display:none / mso-hide:all hide it there",
    # MJML's own markup, harmless where ignored.
    ("<body> element", "outlook.ios"): "MJML repeats the background on a wrapper div",
    ("<body> element", "outlook.android"): "MJML repeats the background on a wrapper div",
    ("outline", "outlook.windows*"): "MJML's img reset; the digest has no images",
    ("table-layout", "outlook.windows*"): "mj-table's default; Outlook lays tables out itself",
    ("word-break", "outlook.windows-mail"): "MJML's long-word guard; Outlook's width is fixed",
    ("role attribute", "outlook.windows-mail"): "accessibility hint, ignored where unknown",
    ("aria-label attribute", "outlook.windows-mail"): "accessibility hint, ignored where unknown",
    # "In this issue" links to anchors below; where an app does not jump, the list still says
    # what the issue holds and each headline below links to its article.
    ("Local anchors", "gmail.ios"): "the index still reads as a table of contents",
    ("Local anchors", "outlook.android"): "the index still reads as a table of contents",
    ("Local anchors", "outlook.ios"): "the index still reads as a table of contents",
    # A story's date is <time datetime="2025-12-08">8 Dec 2025</time>, unstyled: where the
    # element is unknown (Word's engine) its text shows inline, as a <span>'s would.
    ("HTML5 semantics", "outlook.windows*"): "a story's <time> shows its text",
    # Keeps "≈ 11,800–13,300 UZS" on one line on phones; Outlook desktop is 600px wide anyway.
    ("white-space", "outlook.windows*"): "the rate cell fits at 600px without it",
}


def _ci() -> bool:
    return bool(os.environ.get("CI"))  # as tests/conftest.py reads it


def _tool_missing(reason: str) -> None:
    if _ci():
        pytest.fail(f"{reason} (CI is set, so this check must run)")
    pytest.skip(reason)


def _lint_failures(html: str, tmp_path: Path) -> list[str]:
    """caniemail findings "not supported" in a promised client, minus the allow-list."""
    node = shutil.which("node")
    if node is None or not (EMAILLINT / "node_modules" / "doiuse-email").is_dir():
        _tool_missing("email lint needs node and `npm ci --prefix tests/emaillint`")
    page = tmp_path / "digest.html"
    page.write_text(html, encoding="utf-8")
    run = subprocess.run(
        [node, str(EMAILLINT / "lint.mjs"), str(page), *CLIENTS],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    pattern = re.compile(r"^`(.+)` is not supported by `(.+)`$")
    failures = []
    for message in json.loads(run.stdout)["errors"]:
        feature, client = pattern.match(message).groups()
        if not any(feature == f and fnmatch(client, c) for f, c in ALLOWED):
            failures.append(message)
    return failures


def page_sent_later() -> Digest:
    """The digest of a real page as readers get it: sent on a later day than the page's date
    (the issue date is the day it is sent), so every story shows its own date."""
    return replace(seed_digests()[0][1], date=DAY + dt.timedelta(days=1))


@pytest.mark.slow
@pytest.mark.parametrize(
    "digest",
    [sample_digest, big_digest, lambda: seed_digests()[0][1], page_sent_later],
    ids=["sample", "fifty-with-index", "page", "page-sent-later"],
)
def test_html_uses_only_features_the_promised_clients_support(tmp_path, digest):
    failures = _lint_failures(render(digest()).html, tmp_path)
    assert not failures, failures


@pytest.mark.slow
def test_apple_mail_supports_everything_without_excuses(tmp_path):
    """The allow-list excuses Gmail and Outlook only: Apple Mail gets the whole design."""
    html = render(big_digest(50)).html
    assert not any(fnmatch("apple-mail.macos", c) for _, c in ALLOWED)
    assert not any(fnmatch("apple-mail.ios", c) for _, c in ALLOWED)
    assert not _lint_failures(html, tmp_path)


@pytest.mark.slow
def test_email_lint_catches_an_unsupported_feature(tmp_path):
    html = render(sample_digest()).html.replace(
        '<div class="it"', '<div style="position:absolute;" class="it"', 1
    )
    assert "`position` is not supported by `gmail.desktop-webmail`" in _lint_failures(
        html, tmp_path
    )


# --- spam filters -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "digest",
    [sample_digest, big_digest, lambda: seed_digests()[0][1]],
    ids=["sample", "fifty", "page"],
)
@pytest.mark.slow
def test_spamassassin_finds_no_html_trick_and_parts_that_agree(digest):
    # The hidden preheader must not read as a low-contrast text trick (mj-preview does), and the
    # text part must say what the HTML says (MPART_ALT_DIFF).
    spamassassin = shutil.which("spamassassin")
    if spamassassin is None:
        _tool_missing("spamassassin is not installed (apt-get install spamassassin)")
    rendered = render(digest())
    message = EmailMessage()
    message["From"] = "Central Asia Daily <digest@example.com>"
    message["To"] = "reader@example.com"
    message["Subject"] = rendered.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain="example.com")
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    run = subprocess.run(
        [spamassassin, "-L", "-t"], input=bytes(message), capture_output=True, timeout=300
    )
    status = email.message_from_bytes(run.stdout)["X-Spam-Status"]
    assert status, run.stderr.decode()[-500:]
    status = re.sub(r",\s+", ",", " ".join(status.split()))
    tests = set(re.search(r"tests=(\S*)", status).group(1).split(","))
    tricks = {t for t in tests if ("HTML" in t and t != "HTML_MESSAGE") or "MPART_ALT" in t}
    assert not tricks, status
    assert float(re.search(r"score=(-?[\d.]+)", status).group(1)) < 1.0, status


def test_html_shows_every_title_lead_source_and_rate():
    digest = sample_digest()
    html = seen(render(digest).html)
    for item in digest.items:
        assert item.title in html
        assert item.lead in html
    assert html.count(TCA) == len(digest.items) + 1  # under each story and in the rates note
    assert ".txt" not in html and "/srv/digest" not in html
    for name in ("Kyrgyz som", "Kazakh tenge", "Tajik somoni", "Uzbek sum", "Turkmen manat"):
        assert name in html
    assert "Central Asia Daily" in html and "Monday, 8 December 2025" in html


def test_readers_never_see_a_file_name():
    """The name readers see is made once (models.shown_source), for the JSON and the digest
    alike: a page read from a file that has no name shows none, a feed without a name its
    site, a name that is a URL its host; an outlet whose name holds a slash keeps it."""
    from digest.config import Config
    from digest.models import Article, Chosen, Paragraph
    from digest.plan import PlannedStory, build_digest

    def story(title: str, source: str, name: str | None = None) -> PlannedStory:
        article = Article(title, (Paragraph("A lead."),), source, source_name=name)
        return PlannedStory(Chosen(article), "A lead.", DEFAULT_SECTION)

    stories = [
        story("A title", "/srv/digest/seeds/000_f3e380145ce5061f.txt"),
        story("B title", "https://www.example.com/feeds/rss.xml"),
        story("C title", "c.xml", "https://news.example.org/rss"),
        story("D title", "d.xml", "RFE/RL"),
        story("E title", "e.xml", "rss.xml"),
    ]
    config = Config(path=ROOT / "config" / "digest.yaml", title="Central Asia Daily")
    digest = build_digest(config, stories, list(rate_rows()), today=DAY)
    assert [i.source for i in digest.items] == ["", "example.com", "news.example.org", "RFE/RL", ""]
    assert [s.article.shown_source for s in stories] == [i.source for i in digest.items]  # JSON
    assert digest.rates_source is None  # the table read from seeds/000.txt
    rendered = render(digest)
    for part in (seen(rendered.html), rendered.text):
        assert "000_f3e380145ce5061f" not in part and ".txt" not in part and "rss" not in part
        assert "example.com" in part and "news.example.org" in part and "RFE/RL" in part


def test_text_part_shows_every_title_lead_link_and_rate():
    digest = sample_digest()
    text = render(digest).text
    for item in digest.items:
        assert flat(item.title) in flat(text)
        assert flat(item.lead) in flat(text)
        if item.url:
            assert item.url in text.split()
    assert "1 US dollar buys · 8 Dec 2025:" in text
    assert "- Kyrgyz som: 87.4 ±0%\n" in text
    assert "- Kazakh tenge: ≈ 510 ▼ −0.5%\n" in text  # the quote rose 0.5%: a dollar buys less
    assert "- Uzbek sum: n/a\n" in text and "11,800" not in text


def test_text_part_puts_the_url_under_each_headline_and_a_blank_line_between_items():
    digest = sample_digest()
    lines = render(digest).text.splitlines()
    for item in digest.items:
        first_word = item.title.split()[0]
        start = next(i for i, line in enumerate(lines) if line.startswith(first_word))
        assert lines[start - 1] == "" or lines[start - 1].startswith("="), item.title
        if item.url:
            after = lines[start : start + 4]
            assert item.url in after, after
            assert after.index(item.url) == len(_wrapped(item.title)), after


def _wrapped(title: str) -> list[str]:
    import textwrap

    return textwrap.wrap(title, 72, break_long_words=False, break_on_hyphens=False)


def test_rates_strip_shows_what_a_dollar_buys_and_that_figures_change():
    text = seen(render(sample_digest()).html)
    assert "1 US dollar buys · 8 Dec 2025" in text
    # the figure, then ITS change: the quote (what one unit costs in USD) moves the other way
    assert "Kyrgyz som 87.4 ±0%" in text  # a new pair: the day's change, "0%" as published
    assert "Kazakh tenge ≈ 510 ▼ −0.5%" in text  # KZT quote +0.5%: a dollar buys 0.5% less
    assert "Tajik somoni 9.19 ▲ +0.19%" in text  # bank-style: two decimals, not 9.194
    assert "Uzbek sum n/a" in text  # a one-digit quote supports no figure: not a 12% range
    assert "Turkmen manat 3.51 ▼ −1.19%" in text
    assert "11,800" not in text and "12,500" not in text and "UZS/USD" not in text
    assert "1 KGS = 0.01144 USD" not in text  # the quote itself: nobody in Bishkek needs it
    assert "-0%" not in text and "-1" not in text
    assert f"from {TCA}" in text
    assert "change since the last digest (on the day for a currency new since then)" in text


def test_a_falling_quote_is_a_dollar_buying_more():
    """The issue's case: KGS/USD 0.01145 -> 0.01144 is a dollar buying 87.336 -> 87.413."""
    from digest.models import RateQuote
    from digest.rates import rate_rows as rows_for

    quote = RateQuote("KGS/USD", D("0.01144"), D("-0.08"), "p.txt", None, DAY)
    (row,) = rows_for([quote], {"KGS/USD": D("0.01145")})
    assert row.since_last_pct == D("-0.09") and row.per_usd_since_pct == D("0.09")
    rendered = render(sample_digest(rates=(row,), rates_since=DAY - dt.timedelta(days=1)))
    assert "Kyrgyz som 87.4 ▲ +0.09%" in seen(rendered.html)
    assert re.findall(r'role="img" aria-label="([^"]+)"', rendered.html) == [
        "up 0.09 percent since the last digest"
    ]
    assert "- Kyrgyz som: 87.4 ▲ +0.09%" in rendered.text
    assert "change since the last digest (7 Dec 2025)" in seen(rendered.html)
    (first,) = rows_for([quote])  # first issue: the day's change, inverted too
    assert "Kyrgyz som 87.4 ▲ +0.08%" in seen(render(sample_digest(rates=(first,))).html)


def test_a_zero_the_quote_gives_after_the_point_is_shown():
    """KGS/USD 0.01143 then 0.01150 (the som near 87, as in 2025): the strip went from
    "87.5" to "87 ▼ −0.61%", the second figure one digit short of what its quote supports
    (86.92 to 86.99: 87.0), beside a change that "87.5 to 87" does not make."""
    from digest.models import RateQuote
    from digest.rates import rate_rows as rows_for

    quotes = [
        RateQuote("KGS/USD", D("0.01150"), D("0.61"), "p.txt", None, DAY),
        RateQuote("TJS/USD", D("0.10000"), D("0"), "p.txt", None, DAY),
    ]
    rows = rows_for(quotes, {"KGS/USD": D("0.01143"), "TJS/USD": D("0.10000")})
    rendered = render(sample_digest(rates=rows, rates_since=DAY - dt.timedelta(days=1)))
    assert "Kyrgyz som 87.0 ▼ −0.61%" in seen(rendered.html)
    assert "- Kyrgyz som: 87.0 ▼ −0.61%" in rendered.text
    assert "- Tajik somoni: 10.00 ±0%" in rendered.text  # as an exchange board writes it


def test_rate_changes_are_neutral_in_colour():
    html = render(sample_digest()).html
    colours = re.findall(r'<span class="chg"[^>]*style="[^"]*color:(#[0-9a-f]+)', html)
    assert len(colours) == 4 and set(colours) == {"#5c6672"}  # UZS: no figure, no change
    assert "#17803d" not in html and "#b42318" not in html  # no green/red good-or-bad news


def test_first_issue_shows_the_days_change_not_a_column_of_dashes():
    rows = tuple(replace(r, since_last_pct=None) for r in rate_rows())
    html = render(sample_digest(rates=rows)).html
    text = seen(html)
    assert "Tajik somoni 9.19 ▼ −0.55%" in text  # the ticker's own change, of the figure
    assert "Kazakh tenge ≈ 510 ±0%" in text  # "-0%" as published: unchanged
    assert "change on the day, as published · from" in text
    assert "—" not in text.split("Top story")[0]  # no dashes for a change


def test_rate_changes_are_told_in_words_to_screen_readers():
    html = render(sample_digest()).html
    labels = re.findall(r'role="img" aria-label="([^"]+)"', html)
    assert labels == [
        "unchanged on the day",
        "down 0.5 percent since the last digest",
        "up 0.19 percent since the last digest",
        "down 1.19 percent since the last digest",
    ]


def test_real_pages_render_every_title_lead_and_rate():
    for name, digest in seed_digests():
        rendered = render(digest)
        html, text = seen(rendered.html), flat(rendered.text)
        for item in digest.items:
            assert item.title in html, name
            assert item.lead in html, name
            assert flat(item.title) in text, name
            assert flat(item.lead) in text, name
        assert len(digest.rates) == 5, name
        assert re.search(r"Kyrgyz som 87\.\d ", html) and "Uzbek sum n/a" in html, name
        assert re.search(r"Kyrgyz som: 87\.\d ", text), name
        assert name.removesuffix(".txt") not in html + text, name
        assert len(rendered.html.encode()) < 100_000, name


def test_every_story_of_the_real_pages_links_to_its_article():
    for name, digest in seed_digests():
        rendered = render(digest)
        hrefs = read_html(rendered.html).hrefs
        for item in digest.items:
            assert item.url and item.url.startswith("https://timesca.com/?s="), name
            assert item.url in hrefs, (name, item.title)
            assert item.url in rendered.text.split(), (name, item.title)
        assert TCA not in seen(rendered.html).split("Exchange rates:")[0], name  # one source


def test_fifty_stories_stay_under_gmails_clip():
    rendered = render(big_digest(50, 40, also=2))
    size = len(rendered.html.encode())
    assert size < 100_000, size
    # every story once, and in the index all but the top story, which is above it
    assert seen(rendered.html).count("Kazakhstan and Uzbekistan Agree") == 99


def test_preheader_is_the_next_headlines_hidden_without_colour_tricks():
    rendered = render(sample_digest())
    first = "Kazakhstan to Block Foreign Marketplaces for Unpaid Taxes"  # the lead story
    assert rendered.subject.startswith(first)
    assert rendered.preheader == (
        "Astana–Israel Talks Span Technology, Trade, and Holocaust Remembrance"
        " · $1 buys 87.4 KGS, ≈510 KZT, 9.19 TJS, 3.51 TMT"
    )
    assert first not in rendered.preheader
    div = re.search(r'<div class="preheader" style="([^"]*)">([^<]*)</div>', rendered.html)
    assert div.group(1) == "display:none;max-height:0;overflow:hidden;mso-hide:all;"
    assert div.group(2).startswith("Astana–Israel")
    assert "color" not in div.group(1)


def test_preheader_uses_its_room_and_names_the_rates():
    heads = [f"Headline number {i} about the region" for i in range(10)]  # 34 characters
    rates = "$1 buys 87.4 KGS, 9.19 TJS"
    pre = make_preheader(heads, rates=rates)
    assert pre == " · ".join([*heads[:3], rates])  # 3 * 34 + 6 + 3 + 26 = 137
    short = [f"Headline number {i} about the region" for i in range(3)]
    long = ("A very long headline " * 5).strip()
    pre = make_preheader([short[0], long, short[1], short[2]])
    assert pre == " · ".join(short) and "…" not in pre  # never a headline cut short


def test_preheader_on_real_pages_uses_most_of_its_room():
    for name, digest in seed_digests():
        rendered = render(digest)
        assert 90 <= len(rendered.preheader) <= 140, (name, rendered.preheader)
        assert "$1 buys" in rendered.preheader and "KGS" in rendered.preheader, name


def test_preheader_of_a_long_ticker_still_gives_the_next_headline():
    """A ticker of 20 currencies made a 200-character rates line: it took the preheader's
    whole room, no headline was left in it and the inbox line ended "…, 1.70…" (with one
    story, its lead was cut to 20 characters). The rates get at most half the room, in
    whole figures, first in ticker order."""
    from digest.models import RateQuote
    from digest.rates import rate_rows as rows_for

    quotes = [
        RateQuote(f"{code}/USD", D(rate), D("0"), "ticker.txt", 1)
        for code, rate in [
            ("KGS", "0.01143"), ("KZT", "0.00200"), ("TJS", "0.10593"), ("TMT", "0.28575"),
            ("RUB", "0.01262"), ("EUR", "1.0842"), ("GBP", "1.2675"), ("CNY", "0.13810"),
            ("JPY", "0.006650"), ("TRY", "0.02870"), ("INR", "0.01198"), ("AED", "0.27229"),
            ("KRW", "0.000690"), ("GEL", "0.36900"), ("AZN", "0.58824"), ("AFN", "0.01470"),
        ]
    ]  # fmt: skip
    pre = render(sample_digest(rates=tuple(rows_for(quotes)))).preheader
    assert pre.startswith("Astana–Israel Talks Span Technology, Trade, and Holocaust Remembrance")
    assert pre.endswith(" · $1 buys 87.5 KGS, ≈500 KZT, 9.44 TJS, 3.50 TMT, 79.2 RUB, 0.92 EUR")
    assert len(pre) <= 140 and "…" not in pre
    story = next(replace(i, also=()) for i in sample_digest().items if i.lead)
    one = sample_digest(sections=(DigestSection(OTHER_SECTION, (story,)),), rates=rows_for(quotes))
    assert render(one).preheader.startswith(story.lead[:60])


def test_subject_is_the_lead_headline_and_how_many_more():
    assert make_subject("Kazakhstan Starts Building 1 GW Wind Farm", 11) == (
        "Kazakhstan Starts Building 1 GW Wind Farm + 11 more"
    )
    assert make_subject("Kazakhstan Starts Building 1 GW Wind Farm", 0) == (
        "Kazakhstan Starts Building 1 GW Wind Farm"
    )
    long = "Uzbekistan and Turkey Set $5 Billion Trade Target at Strategic Council Meeting"
    assert make_subject(long, 5) == long  # 78 alone: whole, the "+ 5 more" gives way


def test_a_headline_that_fits_alone_is_never_cut_for_the_count():
    """A feed's top headline of 70 characters went out as "Mirziyoyev and Erdoğan agree to
    lift Uzbek-Turkish trade to $5… + 7 more": the figure torn from its "billion" to make
    room for the count. The count goes when both do not fit; the headline stays whole."""
    headline = "Mirziyoyev and Erdoğan agree to lift Uzbek-Turkish trade to $5 billion"
    assert make_subject(headline, 7) == headline
    assert make_subject(headline, 7, words=catalogue("ru")) == f"{headline} + ещё 7"  # both fit
    ru = json.loads((ROOT / "tests/fixtures/languages/ru_news.json").read_text(encoding="utf-8"))
    fits = [a["title"] for a in ru if 70 <= len(a["title"]) <= 78]
    assert len(fits) >= 8
    assert [make_subject(t, 12) for t in fits] == fits


def digest_title(i: int) -> str:
    return f"Story {i}: Kazakhstan and Uzbekistan Agree on a New Trade Corridor Through the Region"


def test_subject_without_headline():
    assert make_subject(None, 0, "Central Asia Daily", DAY) == "Central Asia Daily, 8 Dec 2025"


def test_a_long_headline_is_cut_at_a_word():
    headline = "Tajikistan Intends To Expand Production of Armored Vehicles and Special Equipment"
    subject = make_subject(headline, 4)
    assert subject == "Tajikistan Intends To Expand Production of Armored Vehicles… + 4 more"
    assert len(subject) <= 78
    assert make_subject(headline, 0).endswith("and Special…")
    assert make_subject("x" * 200).endswith("…") and len(make_subject("x" * 200)) == 78


# --- also reported by, lead story, index, footer (issue 13) -------------------------------


def test_also_reported_by_links_every_other_telling():
    rendered = render(sample_digest())
    html = seen(rendered.html)
    assert "Also reported by: Asia-Plus, Kun.uz" in html
    hrefs = read_html(rendered.html).hrefs
    assert "https://asiaplus.tj/a/1" in hrefs
    text = rendered.text
    assert "Also reported by:\n  Asia-Plus: https://asiaplus.tj/a/1\n  Kun.uz\n" in text


def test_the_lead_story_is_larger_than_the_rest():
    html = render(sample_digest()).html
    sizes = re.findall(r'<div class="it([^"]*)"[^>]*><h3 [^>]*style="[^"]*font-size:(\d+)px', html)
    assert sizes[0] == (" lead-story", "24")
    assert {size for cls, size in sizes[1:]} == {"20"} and all(not c for c, _ in sizes[1:])
    assert html.count(" lead-story") == 1  # the story (the small-screen rules aside)


@pytest.mark.parametrize(("stories", "index"), [(8, False), (9, True), (50, True)])
def test_in_this_issue_lists_every_story_past_eight(stories, index):
    rendered = render(big_digest(stories))
    html = rendered.html
    ids = re.findall(r'<div class="it[^"]*" id="([^"]+)"', html)
    assert len(ids) == stories and len(set(ids)) == stories
    anchors = [h[1:] for h in read_html(html).hrefs if h.startswith("#")]
    assert ("In this issue" in seen(html)) is index
    assert ("IN THIS ISSUE" in rendered.text) is index
    assert anchors == (ids[1:] if index else [])  # the top story is above the index
    text = seen(html)
    if index:  # the index comes after the top story, never before it
        assert text.index("Top story") < text.index(digest_title(0)) < text.index("In this issue")


def test_footer_has_postal_address_unsubscribe_and_view_in_browser():
    digest = sample_digest(
        postal_address="Central Asia Daily, 1 Abay Avenue, Almaty",
        view_url="https://news.example.com/archive/2025-12-08/",
    )
    rendered = render(digest)
    footer = seen(rendered.html).rsplit("Exchange rates", 1)[1]
    assert "Central Asia Daily, 1 Abay Avenue, Almaty" in footer
    assert "View in browser · Unsubscribe" in footer
    hrefs = read_html(rendered.html).hrefs
    assert hrefs[-2:] == ["https://news.example.com/archive/2025-12-08/", "{unsubscribe_url}"]
    assert "View in browser: https://news.example.com/archive/2025-12-08/" in rendered.text
    assert "Central Asia Daily, 1 Abay Avenue, Almaty" in rendered.text


def test_no_view_in_browser_without_a_public_archive():
    rendered = render(sample_digest())
    assert "View in browser" not in rendered.html and "View in browser" not in rendered.text


def test_nothing_new_digest_says_so_with_the_rates():
    digest = sample_digest(sections=())
    rendered = render(digest)
    assert "Nothing new since the last digest." in seen(rendered.html)
    assert rendered.subject == "Central Asia Daily, 8 Dec 2025"
    assert rendered.preheader == (
        "Nothing new since the last digest. · $1 buys 87.4 KGS, ≈510 KZT, 9.19 TJS, 3.51 TMT"
    )


def test_more_news_comes_after_the_named_sections():
    headings = re.findall(r'<h2 class="sec"[^>]*>(.*?)</h2>', render(sample_digest()).html)
    assert headings == ["Top story", "Kazakhstan", OTHER_SECTION]


def test_the_same_sources_other_piece_is_more_on_this_by_title():
    item = DigestItem(
        "Tajikistan Raises Rogun Reservoir Level Ahead of Winter",
        "Lead.",
        TCA,
        "https://timesca.com/a",
        DAY,
        also=(
            Telling("Rogun Level Peaks", TCA, "https://timesca.com/b", DAY),
            Telling("Rogun at Record", "Asia-Plus", "https://asiaplus.tj/c", DAY),
        ),
    )
    rendered = render(sample_digest(sections=(DigestSection(DEFAULT_SECTION, (item,)),)))
    html = seen(rendered.html)
    assert f"{TCA} Also reported by: Asia-Plus More on this: Rogun Level Peaks" in html
    assert "More on this:\n  Rogun Level Peaks: https://timesca.com/b\n" in rendered.text
    hrefs = read_html(rendered.html).hrefs
    assert {"https://timesca.com/b", "https://asiaplus.tj/c"} <= set(hrefs)


def test_the_approximate_mark_is_explained_truly_for_the_real_quotes():
    """The real pages quote KZT as 0.00196 and 0.00200: three significant digits. The note
    under the rates said "≈: the published quote gives only two digits", which is false; it is
    the figure a dollar buys (about 510) that the quote supports to two digits only."""
    for name, digest in seed_digests():
        kzt = next(r for r in digest.rates if r.currency == "KZT")
        assert len(kzt.rate.as_tuple().digits) == 3, name  # 196, 200
        for text in (render(digest).text, seen(render(digest).html)):
            note = " ".join(text.split("Exchange rates:", 1)[1].split())
            assert "≈: rounded to the two digits the published quote supports." in note, name
            assert "quote gives only two digits" not in note, name


def test_an_outlet_that_told_the_story_twice_is_named_once():
    """AKIpress's first report and its update were both tellings of the story: "Also reported
    by: AKIpress, AKIpress" (HTML and text part). Each outlet once, with its first link."""
    item = DigestItem(
        "Kyrgyz parliament raises minimum pension by 15%",
        "Lead.",
        "24.kg",
        "https://24.kg/n/0",
        DAY,
        also=(
            Telling("Parliament approves 15% pension rise", "AKIpress", "https://akipress.org/1", DAY),
            Telling("Minimum pension to rise 15% in January", "AKIpress", "https://akipress.org/2", DAY),
            Telling("Pensions up 15%", "Kabar", "https://kabar.kg/3", DAY),
        ),
    )  # fmt: skip
    rendered = render(sample_digest(sections=(DigestSection(DEFAULT_SECTION, (item,)),)))
    assert "24.kg Also reported by: AKIpress, Kabar" in seen(rendered.html)
    assert "https://akipress.org/2" not in read_html(rendered.html).hrefs
    assert (
        "Also reported by:\n  AKIpress: https://akipress.org/1\n  Kabar: https://kabar.kg/3\n"
        in rendered.text
    )


def test_a_cut_subject_never_ends_on_a_small_word_in_either_language():
    """One list of the words a cut must not end on (text.DANGLING_WORDS) for the subject and
    the leads: real Russian headlines lost their "в…", "с…", "за…" endings only in the leads."""
    from digest.text import DANGLING_WORDS

    ru = json.loads((ROOT / "tests/fixtures/languages/ru_news.json").read_text(encoding="utf-8"))
    cut = [make_subject(a["title"], 3) for a in ru if len(a["title"]) > 66]
    assert len(cut) >= 8
    assert "Президент Парагвая даст показания по делу о спорном соглашении с Бразилией" in cut
    for subject in cut:
        head = subject.removesuffix(" + 3 more")
        if head.endswith("…"):
            assert head.removesuffix("…").split()[-1].lower() not in DANGLING_WORDS, subject


def test_unicode_noncharacters_in_a_title_are_dropped_not_a_crash():
    """A U+FFFE in a source's title crashed the MJML renderer: preview and run exited 1,
    and under the scheduler the slot failed for good."""
    item = DigestItem("Astana\ufffe opens a bridge\uffff over the Ishim\ufdd0", "A lead.", TCA)
    digest = sample_digest(sections=(DigestSection(DEFAULT_SECTION, (item,)),))
    rendered = render(digest)
    assert "Astana opens a bridge over the Ishim" in seen(rendered.html)
    assert "Astana opens a bridge over the Ishim" in rendered.text
