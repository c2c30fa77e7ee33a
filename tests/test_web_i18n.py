"""`digest serve` speaks the list's language: with `language: ru` every page a reader can
reach, and the confirmation message, is Russian, from the same catalogue as the digest's own
words (digest/i18n/); `lang=` says so; the forms stay signed and CSRF-proof."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import time
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest
import yaml
from conftest import ROOT
from test_i18n import english_phrases
from test_web import SECRET, Server, active_reader, cli

from digest.i18n import catalogue

CATALOGUES = ROOT / "digest" / "i18n"
TITLE = "Test Daily"  # the list's own name, as test_web's config gives it
# what a reader's page or message may show in Latin letters: addresses, links, the title, and
# the feed format's name ("Лента Atom")
OWN_LATIN = re.compile(r"[\w.+-]+@[\w.-]+|https?://\S+|\bAtom\b|" + re.escape(TITLE))


class _Text(HTMLParser):
    """The text a reader sees: text nodes outside <style>, and what the fields hold."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.style = False

    def handle_starttag(self, tag, attrs):
        self.style = tag == "style"
        values = dict(attrs)
        if tag == "input" and values.get("type") != "hidden" and values.get("value"):
            self.parts.append(values["value"])

    def handle_endtag(self, tag):
        self.style = False

    def handle_data(self, data):
        if not self.style and data.strip():
            self.parts.append(data.strip())


def seen(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "\n".join(parser.parts)


def assert_russian(what: str, text: str) -> None:
    """No phrase of the English catalogue, and no Latin word but addresses, links and the
    title: a string that never went through the catalogue shows here too."""
    left = [p for p in english_phrases() if p in text]
    assert not left, (what, left, text)
    latin = re.findall(r"[A-Za-z]{2,}", OWN_LATIN.sub("", text))
    assert not latin, (what, latin, text)
    assert re.search("[а-яё]", text), (what, text)


def wait_for(relay, count: int) -> list:
    deadline = time.monotonic() + 10
    while len(relay.messages) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return relay.messages


def test_every_catalogue_key_the_web_layer_uses_is_in_every_catalogue():
    sources = [ROOT / "digest" / "web.py", ROOT / "digest" / "archive.py"]
    sources += sorted((ROOT / "templates").glob("web_page.html.j2"))
    sources += sorted((ROOT / "templates").glob("archive_*.j2"))
    used = set()
    for path in sources:
        used |= set(
            re.findall(r"""\b(?:t|tn|n|bad_link)\(\s*["'](\w+)["']""", path.read_text("utf-8"))
        )
    assert {"subscribe_to", "confirm_subject", "within_hours", "no_issue_yet"} <= used
    for code in ("en", "ru"):
        words = yaml.safe_load((CATALOGUES / f"{code}.yaml").read_text(encoding="utf-8"))
        assert used <= set(words), (code, used - set(words))


def test_a_confirmation_link_lasts_48_hours_in_each_languages_plural():
    from digest.web import within_hours

    ru = catalogue("ru")
    assert within_hours(ru) == "48 часов"
    assert [ru.n("within_hours", n) for n in (1, 2, 5, 21, 24)] == [
        "1 часа",
        "2 часов",
        "5 часов",
        "21 часа",
        "24 часов",
    ]  # fmt: skip  ("в течение 21 часа", "в течение 24 часов")
    assert within_hours(catalogue("en")) == "48 hours"


@pytest.mark.slow
def test_a_russian_list_serves_every_reader_page_and_the_confirmation_in_russian(tmp_path):
    from smtp_server import SmtpServer

    from digest.state import Store
    from digest.state.readers import ReaderStatus
    from digest.tokens import CONFIRM_SECONDS, Signer

    relay = SmtpServer().start()
    archive = tmp_path / "archive"
    server = Server(
        tmp_path,
        f"  smtp: {{host: 127.0.0.1, port: {relay.port}, security: none}}\n"
        f"language: ru\narchive:\n  folder: {archive}\n",
    )
    pages: dict[str, str] = {}

    def visit(name: str, want: int, method: str, path: str, body=None, headers=None, **kw):
        status, _, page = server.request(method, path, body, headers, **kw)
        assert status == want, (name, status, page)
        pages[name] = page
        return page

    try:
        # the archive, before any issue: its front page is Russian too
        made = cli(server.config, "archive")
        assert made.returncode == 0, made.stderr
        page = visit("archive", 200, "GET", "/archive/")
        assert "Выпусков ещё не было." in page  # was English whatever the language

        # sign-up: the form, a typo, the answer
        page = visit("subscribe", 200, "GET", "/subscribe")
        assert "Подписка на «Test Daily»" in page and ">Подписаться</button>" in page
        assert 'href="/archive/">Архив</a>' in page
        csrf, cookie = server.form("/subscribe")
        form = {"csrf": csrf, "email": "нет адреса", "name": "Анна"}
        page = visit("typo", 422, "POST", "/subscribe", urlencode(form), {"Cookie": cookie})
        assert "Проверьте, правильно ли он написан" in page
        form["email"] = "anna@example.org"
        page = visit("check inbox", 200, "POST", "/subscribe", urlencode(form), {"Cookie": cookie})
        assert "Проверьте почту" in page and "в течение 48 часов" in page

        # the confirmation message, through a real relay
        [message] = wait_for(relay, 1)
        mail = message.message
        assert mail["Subject"] == "Подтвердите подписку на «Test Daily»"
        body = mail.get_content()
        assert "откройте эту ссылку в течение 48 часов:" in body
        assert_russian("confirmation message", f"{mail['Subject']}\n{body}")
        link = re.search(r"http://\S+/confirm/\S+", body)[0]
        path = link.split(str(server.port), 1)[1]

        # a pending reader's preferences; a forged, an expired and the good confirmation link
        signer = Signer(SECRET.encode())
        with Store.open(tmp_path / "state.sqlite3", readonly=True) as store:
            pending = store.readers().get("anna@example.org").token
        page = visit("pending", 200, "GET", f"/preferences/{signer.reader(pending)}")
        assert "Подписка ещё не подтверждена" in page
        token, stamp, sig = path.rsplit("/", 1)[1].split(".")
        page = visit("forged link", 404, "GET", f"/confirm/{token}.{int(stamp) + 1}.{sig}")
        assert "Ссылка недействительна" in page and "Подписаться заново можно здесь: http" in page
        old = signer.confirm(pending, at=time.time() - CONFIRM_SECONDS - 60)
        page = visit("expired link", 404, "GET", f"/confirm/{old}")
        assert "Срок действия ссылки для подтверждения истёк" in page
        page = visit("subscribed", 200, "GET", path)
        assert "Подписка оформлена" in page
        assert server.readers()["anna@example.org"]["status"] == "active"

        # unsubscribe: the page with its button, the button, the page once gone
        token = active_reader(server, "boris@example.org")
        page = visit("unsubscribe?", 200, "GET", f"/unsubscribe/{token}")
        assert "Отписаться от «Test Daily»?" in page
        csrf, _ = server.form(f"/unsubscribe/{token}")
        page = visit("unsubscribed", 200, "POST", f"/unsubscribe/{token}", f"csrf={csrf}")
        assert "Вы отписались" in page and ">Подписаться снова</a>" in page
        assert server.readers()["boris@example.org"]["status"] == "unsubscribed"
        visit("already unsubscribed", 200, "GET", f"/unsubscribe/{token}")

        # preferences: every action and every state
        token = active_reader(server, "vera@example.org")
        page = visit("preferences", 200, "GET", f"/preferences/{token}")
        assert "Вы получаете каждый выпуск." in page and "Приостановить до" in page
        csrf, _ = server.form(f"/preferences/{token}")
        at = f"/preferences/{token}"
        visit("name saved", 200, "POST", at, f"csrf={csrf}&do=name&name=Вера")
        assert server.readers()["vera@example.org"]["name"] == "Вера"
        visit("bad date", 200, "POST", at, f"csrf={csrf}&do=pause&until=2000-01-01")
        day = dt.date.today() + dt.timedelta(days=14)
        page = visit("paused", 200, "POST", at, f"csrf={csrf}&do=pause&until={day.isoformat()}")
        assert f"до {catalogue('ru').date(day)} писем не будет" in page  # "20 декабря 2026 г."
        assert "Подписка приостановлена до" not in page  # said once
        page = visit("paused state", 200, "GET", at)
        assert (
            f"Подписка приостановлена до {catalogue('ru').date(day)}." in page
            and "Возобновить сейчас" in page
        )
        visit("resumed", 200, "POST", at, f"csrf={csrf}&do=resume")
        visit("unsubscribed in preferences", 200, "POST", at, f"csrf={csrf}&do=unsubscribe")
        assert server.readers()["vera@example.org"]["status"] == "unsubscribed"
        token = active_reader(server, "gleb@example.org")
        with Store.open(tmp_path / "state.sqlite3") as store:
            store.readers().set_status("gleb@example.org", ReaderStatus.BOUNCED, "test")
        page = visit("bounced", 200, "GET", f"/preferences/{token}")
        assert "Письма на ваш адрес не доходят" in page

        # refusals: still signed and CSRF-proof, and said in Russian
        token = active_reader(server, "csrf@example.org")
        page = visit("no csrf", 403, "POST", f"/unsubscribe/{token}", "csrf=forged")
        assert "Форма устарела" in page
        csrf, _ = server.form(f"/unsubscribe/{token}")
        evil = {"Origin": "https://evil.example"}
        visit("other site", 403, "POST", f"/unsubscribe/{token}", f"csrf={csrf}", evil)
        assert server.readers()["csrf@example.org"]["status"] == "active"
        visit("forged token", 404, "GET", f"/unsubscribe/{token[:-4]}AAAA")
        visit("not found", 404, "GET", "/nope")
        # (a body over the limit is refused by waitress itself, in its own plain words)
        assert server.request("POST", "/subscribe", "email=" + "a" * 100_000)[0] == 413
        for n in range(5):
            assert server.sign_up(f"r{n}@example.org", client="127.0.0.7")[0] == 200
        csrf, cookie = server.form("/subscribe", "127.0.0.7")
        form = urlencode({"csrf": csrf, "email": "r5@example.org"})
        page = visit(
            "too many", 429, "POST", "/subscribe", form, {"Cookie": cookie}, client="127.0.0.7"
        )
        assert "Слишком много запросов" in page

        # a state that fails: the error page (the server's connection meets a missing table)
        db = sqlite3.connect(tmp_path / "state.sqlite3")
        try:
            db.execute("DROP TABLE subscribers")
            db.commit()
        finally:
            db.close()
        page = visit("server error", 500, "GET", f"/preferences/{token}")
        assert "Что-то пошло не так" in page

        for name, page in pages.items():
            assert '<html lang="ru">' in page, name
            assert_russian(name, seen(page))
    finally:
        server.stop()
        relay.stop()


@pytest.mark.slow
def test_an_english_list_keeps_its_pages_word_for_word(tmp_path):
    """The default language: the pages as they were before they came from the catalogue."""
    server = Server(tmp_path)
    try:
        status, _, page = server.request("GET", "/subscribe")
        assert status == 200 and '<html lang="en">' in page
        for text in (
            "<title>Subscribe to Test Daily · Test Daily</title>",
            "<p>The news in one message: each story once, with a short lead.</p>",
            '<label for="email">Email address</label>',
            '<label for="name">Name <span class="hint">(optional)</span></label>',
            '<button type="submit">Subscribe</button>',
            "We send a confirmation link first; nothing else until you click it.",
        ):
            assert text in page, text
        status, text = server.sign_up("new@example.org")
        assert (
            "<p>If new@example.org can receive Test Daily, a message with a confirmation link is"
            " on its way. Open it within 48 hours to start receiving the digest.</p>"
        ) in text
        token = active_reader(server, "en@example.org")
        _, _, page = server.request("GET", f"/preferences/{token}")
        assert "<p>en@example.org: You receive every issue.</p>" in page
        assert '<label for="until">Pause until</label>' in page
        _, _, page = server.request("GET", "/unsubscribe/nothing")
        assert "<p>This link is not valid. Copy it whole from the message.</p>" in page
        assert f"<p>Sign up again at http://127.0.0.1:{server.port}/subscribe.</p>" in page
    finally:
        server.stop()
