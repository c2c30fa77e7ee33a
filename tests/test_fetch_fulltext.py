"""Full text (digest/sources/fulltext.py): summary-only feeds get each new entry's page,
extracted by trafilatura, cached by URL, never fetched for an article already sent; a page
that cannot be read falls back to the feed's text with a note."""

from __future__ import annotations

import datetime as dt
import html
import sqlite3
from email.utils import format_datetime
from pathlib import Path

import pytest
from conftest import SAMPLE_SEEDS
from web_server import Page, Site

from digest.config import FetchConfig, load_config
from digest.models import Article, Paragraph
from digest.pipeline import preview, run
from digest.sources import read_paths
from digest.sources.fulltext import extract, with_full_text
from digest.state import Store

pytestmark = pytest.mark.slow  # real servers on loopback


def sample():
    return read_paths(sorted(str(p) for p in SAMPLE_SEEDS.glob("*.txt"))).articles


def article_page(title: str, paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (
        f"<!DOCTYPE html><html><head><title>{html.escape(title)} | Steppe Wire</title></head><body>"
        "<header><nav><a href='/'>Home</a> <a href='/politics'>Politics</a> "
        "<a href='/economy'>Economy</a> <a href='/subscribe'>Subscribe now</a></nav></header>"
        f"<main><article><h1>{html.escape(title)}</h1><p class='byline'>By Staff</p>{body}</article>"
        "<aside><h3>Related</h3><ul><li><a href='/x'>Another story about roads</a></li>"
        "<li><a href='/y'>Markets close higher</a></li></ul></aside></main>"
        "<footer><p>© 2025 Steppe Wire. All rights reserved.</p>"
        "<p>Cookies help us deliver our services.</p></footer></body></html>"
    ).encode()


def teaser_feed(site: Site, articles) -> bytes:
    items = "".join(
        f"<item><title>{html.escape(a.title)}</title><link>{site.url(f'/a/{n}')}</link>"
        f"<guid>{n}</guid>"
        f"<pubDate>{format_datetime(dt.datetime.combine(a.date, dt.time(8), dt.UTC))}</pubDate>"
        "<description>"
        + html.escape(
            f"<p>{html.escape(a.prose[0].split('. ')[0])} [&#8230;]</p>"
            f"<p>The post {html.escape(a.title)} appeared first on Steppe Wire.</p>"
        )
        + "</description></item>"
        for n, a in enumerate(articles)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Steppe Wire</title>'
        f"{items}</channel></rss>"
    ).encode()


@pytest.fixture
def site():
    s = Site("127.0.0.1")
    yield s
    s.close()


def config(tmp_path: Path, feed: str, max_articles: int = 50) -> Path:
    path = tmp_path / "digest.yaml"
    path.write_text(
        "title: Full Daily\ntimezone: UTC\nsources:\n"
        f"  - feed: {feed}\n    full_text: true\n"
        f"state: {tmp_path / 'state.sqlite3'}\n"
        f"selection:\n  max_articles: {max_articles}\n  lookback_days: 100000\n"
        "delivery:\n  from: d@example.com\n  to: [r@example.com]\n"
        f"  outbox: {tmp_path / 'outbox'}\n"
    )
    return path


def test_trafilatura_keeps_the_article_and_leaves_the_page_furniture():
    a = sample()[0]
    text = extract(article_page(a.title, list(a.prose)), title=a.title)
    assert text == list(a.prose)


def test_a_utf8_page_with_one_windows_1252_quote_is_read_as_utf8():
    """One Windows-1252 apostrophe pasted into a UTF-8 article page: the extractor guessed the
    page was Mac Roman and every other quote read "Kazakhstan\u201a\u00c4\u00f4s" (as the
    feeds did before they read such bytes as Windows-1252). A page wholly in Windows-1251
    (Russian sites) is still read in it."""
    prose = [
        "Kazakhstan\u2019s grain exporters shipped 1.2 million tonnes in October, the ministry "
        "said. \u201cIt is a record,\u201d a trader in Astana said, adding that demand \u2013 "
        "mostly from China \u2013 kept rising through the autumn months.",
        "The ministrySTRAY office said the harvest was the largest since 2011, and that exports "
        "could reach 12 million tonnes this season if the railways keep up with the demand.",
    ]
    page = article_page("Grain exports rise", prose).replace(b"STRAY", b"\x92s")
    assert extract(page, title="Grain exports rise") == [
        prose[0],
        prose[1].replace("STRAY", "\u2019s"),
    ]
    russian = ["Экспорт зерна из Казахстана вырос до рекорда, сообщило министерство. " * 3]
    cp1251 = article_page("Экспорт зерна", russian).decode().encode("cp1251")
    cp1251 = cp1251.replace(b"<head>", b'<head><meta charset="windows-1251">')
    assert extract(cp1251, title="Экспорт зерна") == [russian[0].strip()]


def test_a_summary_only_feed_gets_its_pages_text_cached_and_never_fetches_a_sent_page(
    tmp_path, site
):
    articles = sample()[:4]
    site.routes["/feed.xml"] = Page(teaser_feed(site, articles))
    for n, a in enumerate(articles[:3]):
        site.routes[f"/a/{n}"] = Page(article_page(a.title, list(a.prose)))
    # /a/3 is missing: the feed's text is kept, with a note
    cfg = load_config(config(tmp_path, site.url("/feed.xml"), max_articles=2))

    shown = preview(cfg, tmp_path / "p")[0].to_json()
    with Store.open(tmp_path / "state.sqlite3", readonly=True) as store:
        assert store.page_texts([site.url("/a/0")]) == {}
    first = run(cfg).to_json()
    assert [c["title"] for c in first["chosen"]] == [c["title"] for c in shown["chosen"]]
    assert first["notes"] == [
        f"{site.url('/a/3')}: full text not used (the server answered HTTP 404 Not Found); "
        "the feed's text kept"
    ]
    # the leads come from the pages' text, not the one-sentence teasers
    by_title = {a.title: a for a in articles}
    for c in first["chosen"]:
        assert "appeared first on" not in c["lead"] and "[…]" not in c["lead"]
        assert c["lead"].split()[0] in " ".join(by_title[c["title"]].prose)
    fetched_once = {n: len(site.asked(f"/a/{n}")) for n in range(4)}
    assert fetched_once == {0: 2, 1: 2, 2: 2, 3: 2}  # the preview's, then the run's

    with Store.open(tmp_path / "state.sqlite3", readonly=True) as store:
        pages = store.page_texts([site.url(f"/a/{n}") for n in range(4)])
    assert pages[site.url("/a/0")][0] == list(articles[0].prose)
    assert pages[site.url("/a/3")] == (None, "the server answered HTTP 404 Not Found")

    second = run(cfg).to_json()
    assert {c["title"] for c in second["chosen"]} == {a.title for a in articles} - {
        c["title"] for c in first["chosen"]
    }
    assert {n: len(site.asked(f"/a/{n}")) for n in range(4)} == fetched_once  # cached

    # with the page cache lost, the pages of the articles already sent are still never asked
    db = sqlite3.connect(tmp_path / "state.sqlite3")
    db.execute("DELETE FROM page_cache")
    db.commit()
    db.close()
    run(cfg)
    sent = {c["title"] for c in first["chosen"] + second["chosen"]}
    assert len(sent) == 4
    assert {n: len(site.asked(f"/a/{n}")) for n in range(4)} == fetched_once


def test_an_excerpt_is_never_the_best_telling_over_a_full_text(tmp_path):
    a = sample()[0]
    teaser = (
        f"<p>{html.escape(' '.join(a.text.split()[:60]))} [&#8230;]</p>"
        f"<p>The post {html.escape(a.title)} appeared first on Wire.</p>"
    )
    full = "".join(f"<p>{html.escape(p)}</p>" for p in a.prose)
    when = format_datetime(dt.datetime.combine(a.date, dt.time(8), dt.UTC))
    for name, body in (("wire", teaser), ("paper", full)):
        (tmp_path / f"{name}.xml").write_text(
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>'
            f"<item><title>{html.escape(a.title)}</title><guid>{name}</guid>"
            f"<link>https://{name}.example/1</link><pubDate>{when}</pubDate>"
            f"<description>{html.escape(body)}</description></item></channel></rss>"
        )
    path = tmp_path / "digest.yaml"
    path.write_text(
        "title: T\ntimezone: UTC\nsources:\n"
        f"  - feed: {tmp_path / 'wire.xml'}\n  - feed: {tmp_path / 'paper.xml'}\n"
        f"state: {tmp_path / 'state.sqlite3'}\n"
        "delivery:\n  from: d@example.com\n  to: [r@example.com]\n"
        f"  outbox: {tmp_path / 'outbox'}\n"
    )
    report = preview(load_config(path), tmp_path / "p")[0].to_json()
    assert [(c["source"], [x["source"] for x in c["also"]]) for c in report["chosen"]] == [
        ("paper", ["wire"])
    ]


def test_a_page_that_is_not_the_entrys_story_never_replaces_its_text(tmp_path, site):
    """Entries of four stories linking to one page (a home page, a press-release list), a
    link that redirects to a login page, and a cookie wall: each page once became the text,
    so the lead read "Enter your e-mail address and password ...", and three of the four
    stories sharing a link were skipped as copies of one another, then remembered as sent.
    Each keeps its feed's text, with one note a page."""
    articles = sample()[:6]
    feed = teaser_feed(site, articles)
    for n in range(4):  # the first four link to one page
        feed = feed.replace(site.url(f"/a/{n}").encode(), site.url("/home").encode())
    site.routes["/feed.xml"] = Page(feed)
    home = [p for a in articles[:4] for p in a.prose[:2]]
    site.routes["/home"] = Page(article_page("Steppe Wire: the news today", home))
    site.routes["/a/4"] = Page(b"", status=302, headers={"Location": site.url("/login")})
    login = [
        "Enter your e-mail address and password to log in to your Steppe Wire account. "
        "Readers with a subscription can read every article on the site and in our apps.",
        "Forgot your password? We send a link to reset it to the address you signed up with. "
        "Not a subscriber yet? Subscribe for 4.99 a month and cancel at any time you like.",
    ]
    site.routes["/login"] = Page(article_page("Log in", login))
    consent = [
        "We and our 847 partners store and access information on your device, such as "
        "cookies, and process personal data such as unique identifiers and standard data.",
        "You may click to consent to our and our partners' processing as described above, or "
        "access more detailed information and change your preferences before consenting.",
    ]
    site.routes["/a/5"] = Page(article_page("Your privacy", consent))

    report = preview(load_config(config(tmp_path, site.url("/feed.xml"))), tmp_path / "p")[0]
    shown = report.to_json()
    assert sorted(c["title"] for c in shown["chosen"]) == sorted(a.title for a in articles)
    for c in shown["chosen"]:
        assert not any(w in c["lead"] for w in ("password", "partners", "Steppe Wire: the"))
    notes = shown["notes"]
    assert sum("4 entries of other titles link to it" in n for n in notes) == 1
    assert sum("does not tell the entry's story" in n for n in notes) == 2


def test_a_russian_login_page_does_not_tell_russian_news():
    """Words were compared by their first five UTF-8 bytes: two and a half Cyrillic letters,
    so one login and cookie page "told" half of ordinary Russian headlines."""
    from digest.models import Article
    from digest.sources.fulltext import tells

    login = [
        "Вход в личный кабинет",
        "Введите логин и пароль. Забыли пароль? Регистрация.",
        "Мы используем файлы cookie. Продолжая пользоваться сайтом, вы соглашаетесь с политикой "
        "конфиденциальности.",
    ]
    titles = [
        "Правительство Казахстана повысило пенсии с первого января",
        "Нацбанк сохранил базовую ставку на уровне 14,25%",
        "В Алматы открылся новый пассажирский терминал аэропорта",
        "Президент подписал закон о поддержке предпринимателей",
        "Землетрясение магнитудой 5 произошло в Кыргызстане",
    ]
    story = ["Правительство Казахстана повысило пенсии с первого января, сообщило министерство."]
    assert not [t for t in titles if tells(Article(title=t, paragraphs=(), source="s"), login)]
    assert tells(Article(title=titles[0], paragraphs=(), source="s"), story)


def short_page(title: str, article: str) -> bytes:
    """A short news page as the hunt (s22/h2) found them: the <article> of a few paragraphs."""
    return (
        f'<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8"><title>{title} | news'
        f'</title><meta property="og:title" content="{title}"></head><body><header><nav>'
        "<a href='/politics'>Политика</a> <a href='/economy'>Экономика</a></nav></header>"
        f"<main><article><h1>{title}</h1>{article}</article></main><aside><h2>Читайте также</h2>"
        "<ul><li><a href='/a'>В Москве выпал первый снег</a></li></ul></aside>"
        "<footer><p>© 2025 «Новости Примера». Все права защищены. 18+</p></footer></body></html>"
    ).encode()


def test_a_short_pages_article_given_as_one_line_loses_its_headline_and_byline():
    """trafilatura gave this page's whole <article> as one line: "«Газпром» сократил добычу
    газа на 6% Дмитрий Козлов Как стало известно ...", and that was the lead."""
    page = short_page(
        "«Газпром» сократил добычу газа на 6%",
        '<p class="doc__byline">Дмитрий Козлов</p><p>Как стало известно “Ъ”, ПАО «Газпром» по '
        "итогам 11 месяцев 2024 г. сократило добычу газа на 6%, до 380 млрд куб. м. Основная "
        "причина — падение экспорта в Европу.</p><p>В компании от комментариев отказались.</p>",
    )
    text = extract(page, title="«Газпром» сократил добычу газа на 6%")
    assert text[0].startswith("Как стало известно “Ъ”, ПАО «Газпром» по итогам 11 месяцев")


def test_a_short_page_is_taken_over_a_teaser_of_two_words(tmp_path, site):
    """A 39-word page was "no article text" beside the feed's "Viber заблокирован.": the lead
    was empty."""
    title = "Роскомнадзор заблокировал Viber в России"
    site.routes["/a/0"] = Page(
        short_page(
            title,
            "<p>Роскомнадзор ограничил доступ к мессенджеру Viber в России из-за нарушения "
            "требований законодательства, т.е. требований о предотвращении использования "
            "мессенджера в террористических и экстремистских целях, сообщили в ведомстве.</p>"
            "<p>Ранее РКН ограничил доступ к Signal. В 2024 г. ведомство также замедлило "
            "YouTube.</p>",
        )
    )
    site.routes["/feed.xml"] = Page(
        (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>ru</title>'
            f"<item><title>{title}</title><link>{site.url('/a/0')}</link>"
            "<pubDate>Wed, 05 Mar 2025 05:00:00 +0000</pubDate>"
            "<description>Viber заблокирован.</description></item></channel></rss>"
        ).encode()
    )
    report = preview(load_config(config(tmp_path, site.url("/feed.xml"))), tmp_path / "p")[0]
    [chosen] = report.to_json()["chosen"]
    assert chosen["lead"].startswith("Роскомнадзор ограничил доступ к мессенджеру Viber")


def test_a_lede_that_opens_with_the_headlines_words_keeps_them():
    """Only a headline glued to a capitalised byline or sentence comes off (review: "Storm
    Ciaran hits Britain with winds of 100mph" lost its first four words)."""
    title = "Storm Ciaran hits Britain"
    page = (
        f"<html><head><title>{title}</title></head><body><article><p>{title} with winds of "
        "100mph on Thursday, cutting power to 150,000 homes across the south of England and "
        "closing schools in Cornwall and Devon.</p><p>The Met Office issued a red warning for "
        "the coast, and ferries were cancelled.</p><p>Forecasters expect the storm to move on "
        "to France by Friday morning.</p></article></body></html>"
    ).encode()
    assert extract(page, "https://x.example/a", title)[0].startswith(f"{title} with winds")


def test_a_page_under_forty_words_never_replaces_an_entry_with_no_text(tmp_path, site):
    """With no feed text to compare, a 14-word paywall page became the article (review)."""
    title = "Pension age rises to 63 for women in Kazakhstan"
    site.routes["/a/0"] = Page(
        short_page(
            title, f"<p>{title}. Subscribe to unlock this article.</p><p>Already a subscriber?</p>"
        )
    )
    site.routes["/feed.xml"] = Page(
        (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
            f"<item><title>{title}</title><link>{site.url('/a/0')}</link>"
            "<pubDate>Wed, 05 Mar 2025 05:00:00 +0000</pubDate></item></channel></rss>"
        ).encode()
    )
    report = preview(load_config(config(tmp_path, site.url("/feed.xml"))), tmp_path / "p")[0]
    [chosen] = report.to_json()["chosen"]
    assert "Subscribe" not in (chosen["lead"] or "")


def test_a_page_that_failed_for_a_moment_is_asked_again_next_run_and_a_404_is_not(tmp_path, site):
    """A page that timed out or answered 503 once was cached as failed: every later run kept
    the teaser and repeated the old error (with its Retry-After long past)."""
    a = sample()[0]
    answers = iter([Page(b"", 503, headers={"Retry-After": "1"})])
    page = Page(article_page(a.title, list(a.prose)))

    def flaky(handler):
        handler._send(next(answers, page))

    site.routes["/a/0"] = flaky  # /a/1 is missing: 404
    entries = [
        Article(title=a.title, paragraphs=(Paragraph("A teaser."),), source="f", url=site.url(p))
        for p in ("/a/0", "/a/1")
    ]
    with Store.open(tmp_path / "state.sqlite3") as store:
        for expected in ("A teaser.", list(a.prose)[0]):
            read, notes = with_full_text(entries, lambda _: True, store, True, FetchConfig())
            assert read[0].text.split("\n\n")[0] == expected
            assert read[1].text == "A teaser."
    assert len(site.asked("/a/0")) == 2
    assert len(site.asked("/a/1")) == 1  # a 404 is cached


def test_a_host_that_answered_429_to_a_feed_is_not_asked_for_pages_in_that_run(tmp_path, site):
    """A host that answered 429 to one of its feeds was left alone by its other feeds, then
    asked for the page of every new article of the run all the same (the README: "asked
    nothing more in that run ... its pages are asked next run"). The rest holds for pages."""
    articles = sample()[:3]
    site.routes["/feed.xml"] = Page(teaser_feed(site, articles))
    site.routes["/busy.xml"] = Page(b"Too Many Requests", 429, {"Retry-After": "600"})
    for n, a in enumerate(articles):
        site.routes[f"/a/{n}"] = Page(article_page(a.title, list(a.prose)))
    path = config(tmp_path, site.url("/feed.xml"))
    busy = f"  - feed: {site.url('/busy.xml')}\n    full_text: true\nfetch:\n  per_host: 1\n"
    path.write_text(
        path.read_text().replace("    full_text: true\n", f"    full_text: true\n{busy}")
    )
    report = run(load_config(path)).to_json()
    assert [p for p, _ in site.requests] == ["/feed.xml", "/busy.xml"]
    why = f"not asked: 127.0.0.1 answered HTTP 429 to {site.url('/busy.xml')}"
    assert report["notes"] == [
        f"{site.url(f'/a/{n}')}: full text not used ({why}); the feed's text kept" for n in range(3)
    ]
    with Store.open(tmp_path / "state.sqlite3", readonly=True) as store:  # asked next run
        assert store.page_texts([site.url(f"/a/{n}") for n in range(3)]) == {}
