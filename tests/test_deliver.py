"""Delivery: the message, the recipients, the SMTP relay (a real loopback aiosmtpd), the outbox."""

from __future__ import annotations

import base64
import email
import email.header
import glob
import json
import os
import re
import shutil
import sqlite3
import subprocess
import time
from email.policy import default as default_policy
from pathlib import Path

import dkim
import pytest
from conftest import IN_CI, ROOT, SHARED_SEEDS, digest_command
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from smtp_server import Behaviour, SmtpServer

from digest import deliver, transports
from digest import message as mime
from digest.config import Config, DeliveryConfig, DkimConfig, SmtpConfig
from digest.errors import ConfigError, DeliveryError
from digest.models import RenderedDigest, fill_footer
from digest.recipients import load_recipients, read_recipients
from digest.state import NewIssue, Store
from digest.state import exactly_once as rules
from digest.state.exactly_once import DeliveryLog as StoreDeliveryLog
from digest.state.exactly_once import begin_run
from digest.text import reader_name

PASSWORD = "s3cret-Pa55"
UNSUB = "https://digest.example.com/unsubscribe?token={token}"
FROM = "Central Asia Daily <digest@example.com>"


# --- fixtures ---------------------------------------------------------------------------------


def seed_pages() -> list[str]:
    pages = sorted(glob.glob(str(ROOT / "seeds" / "*.txt")))
    return pages or sorted(glob.glob(str(SHARED_SEEDS / "*.txt")))


def render_samples(count: int = 8) -> RenderedDigest:
    """The real renderer's output for the first `count` articles of the sample pages."""
    from digest.config import SummaryConfig
    from digest.models import Digest, DigestItem, DigestSection
    from digest.rates import newest_ticker, rate_rows
    from digest.render import render
    from digest.sources import read_paths
    from digest.summarize import make_summarizer

    read = read_paths(seed_pages())
    summarize = make_summarizer(SummaryConfig())
    items = tuple(
        DigestItem(a.title, summarize(a).lead, a.source, a.url, a.date)
        for a in read.articles[:count]
    )
    rows = rate_rows(newest_ticker(read.rates), {})
    digest = Digest(
        title="Central Asia Daily",
        date=max(a.date for a in read.articles if a.date),
        sections=(DigestSection("Top stories", items),),
        rates=tuple(rows),
        rates_date=rows[0].date if rows else None,
        rates_source=rows[0].source if rows else None,
        reason_line="You receive this because you subscribed to Central Asia Daily.",
    )
    return render(digest)


@pytest.fixture(scope="module")
def rendered() -> RenderedDigest:
    return render_samples(8)


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "state.sqlite3") as s:
        yield s


def freeze(store: Store, recipients: list[str]) -> int:
    """An issue with its recipients pending, as the pipeline freezes it before sending."""
    run_id = begin_run(store).id
    new = NewIssue("2025-11-10", "s", "p", "h", "t", [], recipients)
    return rules.freeze(store, run_id, new, store.newest_issue_id())


def send_issue(config: Config, store: Store, issue: int, rendered, recipients, names=None, **kw):
    """The pipeline's deliver_batches with one batch: the delivery settings, the state's log,
    `names` the names readers gave, by lower-case address."""
    return deliver.deliver_batches(
        config.delivery,
        StoreDeliveryLog(store),
        issue,
        rendered,
        [recipients],
        len(recipients),
        names=lambda _batch: names or {},
        **kw,
    )


def delivery_config(tmp_path: Path, smtp: SmtpConfig | None = None, **kw) -> Config:
    delivery = DeliveryConfig(
        from_addr=FROM,
        outbox=tmp_path / "outbox",
        smtp=smtp,
        unsubscribe_url=kw.pop("unsubscribe_url", UNSUB),
        **kw,
    )
    return Config(path=tmp_path / "digest.yaml", delivery=delivery)


def smtp_for(server: SmtpServer, **kw) -> SmtpConfig:
    if server.ca_file:
        kw.setdefault("security", "starttls")
        kw.setdefault("ca_file", server.ca_file)
        kw.setdefault("username", "digest")
        kw.setdefault("password_env", "DIGEST_TEST_SMTP_PASSWORD")
    kw.setdefault("security", "none")
    kw.setdefault("timeout", 10.0)
    kw.setdefault("max_per_minute", 100_000)
    return SmtpConfig(host="127.0.0.1", port=server.port, **kw)


@pytest.fixture
def smtp_server(request):
    """A plain loopback SMTP server (no TLS, no AUTH); it offers PIPELINING when a test is
    parametrized with `both_ways`."""
    with SmtpServer(pipelining=getattr(request, "param", False)) as server:
        yield server


@pytest.fixture
def tls_smtp_server(request, tmp_path):
    """STARTTLS (required) and AUTH (login digest), trusted through server.ca_file."""
    pipelining = getattr(request, "param", False)
    with SmtpServer(
        tmp_path, starttls=True, users={"digest": PASSWORD}, pipelining=pipelining
    ) as server:
        yield server


def both_ways(fixture: str = "smtp_server"):
    """Run the test against a relay without PIPELINING and one with it (RFC 2920): every
    answer must be classified the same either way."""
    return pytest.mark.parametrize(
        fixture, [False, True], ids=["one-by-one", "pipelining"], indirect=True
    )


def pipelining(server: SmtpServer) -> bool:
    return server.behaviour.pipelining


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setattr(transports, "BACKOFF_BASE", 0.01)
    monkeypatch.setenv("DIGEST_TEST_SMTP_PASSWORD", PASSWORD)


def statuses(store: Store, issue_id: int) -> dict[str, str]:
    return {d["recipient"]: d["status"] for d in store.deliveries(issue_id)}


def backoffs(sleeps: list[float]) -> list[float]:
    """The retry waits among the sleeps (the rate limit's pauses are far shorter here)."""
    return [s for s in sleeps if s >= 0.005]


def parse(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=default_policy)


# --- the message ------------------------------------------------------------------------------


def test_message_is_alternative_text_then_html_in_utf8(tmp_path, rendered):
    config = delivery_config(tmp_path)
    msg = parse(mime.message_bytes(mime.build_message(rendered, config.delivery, "a@x.org", "tok")))
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert "Kazakhstan" in parts[0].get_content()
    assert parts[1].get_content().lstrip().lower().startswith("<!doctype html")
    assert msg["MIME-Version"] == "1.0"
    assert msg["From"].addresses[0].addr_spec == "digest@example.com"
    assert msg["From"].addresses[0].display_name == "Central Asia Daily"
    assert msg["To"] == "a@x.org"
    assert msg["Subject"] == rendered.subject
    assert email.utils.parsedate_to_datetime(msg["Date"]).tzinfo is not None
    assert re.fullmatch(r"<[^@<>\s]+@example\.com>", msg["Message-ID"])
    assert msg["List-Id"] == "Central Asia Daily <digest.example.com>"


def test_message_is_7bit_with_short_lines(tmp_path, rendered):
    data = mime.message_bytes(
        mime.build_message(rendered, delivery_config(tmp_path).delivery, "a@x.org", "t")
    )
    assert data.isascii()
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    assert b"\n" not in data.replace(b"\r\n", b"")


@pytest.mark.parametrize(
    ("before", "after"),
    [("", ""), ("x" * 75, " y"), ("ab ", "\n"), ("line\n", "é" * 40), ("\t", ". =")],
    ids=["alone", "long-line", "space-before", "line-end", "qp-specials"],
)
@pytest.mark.parametrize("length", [1, 37, 200])
def test_each_part_encoded_once_decodes_to_the_text_with_the_readers_link(before, after, length):
    """The parts are encoded once per issue and the reader's link spliced in, encoded: what a
    reader's mail program decodes is exactly the text with the link in the footer's
    placeholder, and every encoded line still keeps to 76 characters."""
    text = f"Top {{unsubscribe_url}} stays\n{before}{{unsubscribe_url}}{after}\nend "
    html_text = f'<p>{before}<a href="{{unsubscribe_url}}">{after}</a></p>'
    rendered = RenderedDigest(subject="s", preheader="", html=html_text, text=text)
    url = "https://example.com/u?t={token}&k=" + "=" * (length % 7) + "a" * length
    delivery = DeliveryConfig(from_addr=FROM, unsubscribe_url=url)
    maker = mime.MessageMaker(rendered, delivery)
    for token in ("t0", "T" * 40):
        data = maker.bytes_for("a@x.org", token)
        link = url.replace("{token}", token)
        text_part, html_part = parse(data).iter_parts()
        crlf = mime.to_crlf
        want_text = fill_footer(crlf(text), link).encode()
        want_html = fill_footer(crlf(html_text), link.replace("&", "&amp;")).encode()
        assert text_part.get_payload(decode=True) == want_text
        assert html_part.get_payload(decode=True) == want_html
        body = data.split(b"\r\n\r\n", 1)[1]
        assert [line for line in body.split(b"\r\n") if len(line) > 76] == []
        assert parse(data)["List-Unsubscribe"] == f"<{link}>"


def test_subject_is_one_line_and_rfc2047_encoded(tmp_path, rendered):
    hostile = RenderedDigest(
        subject="Алматы:\r\nBcc: victim@evil.example\x00\x1b[31m \u2028Ташкент\x85 news",
        preheader="",
        html=rendered.html,
        text=rendered.text,
    )
    data = mime.message_bytes(
        mime.build_message(hostile, delivery_config(tmp_path).delivery, "a@x.org", "t")
    )
    head = data.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    assert b"=?utf-8?" in head
    msg = parse(data)
    assert msg["Bcc"] is None
    assert msg["Subject"] == "Алматы: Bcc: victim@evil.example [31m Ташкент news"


def _message_from(tmp_path: Path, rendered, subject: str, name: str) -> bytes:
    """The message to reader@x.org of a digest under `subject`, from and to `name`."""
    delivery = DeliveryConfig(
        from_addr=f'"{name}" <digest@example.com>', outbox=tmp_path, unsubscribe_url=UNSUB
    )
    maker = mime.MessageMaker(
        RenderedDigest(subject, "", rendered.html, rendered.text),
        delivery,
        names={"reader@x.org": name},
    )
    return maker.bytes_for("reader@x.org", "tok")


@pytest.mark.parametrize("short", [True, False], ids=["short", "folded"])
def test_text_that_looks_like_encoded_words_goes_out_as_written_not_as_headers(
    tmp_path, rendered, short
):
    """A feed's headline "=?utf-8?q?A=0D=0AReply-To:_a@evil.example?=" (the subject), or such
    a name from the sign-up form or the CSV: the email package decoded it while folding, and
    every reader's message carried a Reply-To line (a To name gave an X-Evil line)."""
    evil = "=?utf-8?q?A=0D=0AReply-To:_a@evil.example=0D=0AX-Evil:_1?="
    text = evil if short else f"{evil} {'and more words ' * 5}".strip()
    data = _message_from(tmp_path, rendered, text, text)
    head = data.split(b"\r\n\r\n", 1)[0]
    assert not re.search(rb"^(Reply-To|X-Evil):", head, re.MULTILINE)
    legacy = email.message_from_bytes(data)
    assert rfc2047_decoded(legacy["Subject"]) == text
    name = reader_name(text)  # a reader's name is cut at MAX_NAME
    for header, shown in (
        ("From", f"{text} <digest@example.com>"),
        ("To", f"{name} <reader@x.org>"),
    ):
        assert rfc2047_decoded(legacy[header]) == shown
    modern = parse(data)
    assert modern["Reply-To"] is None and modern["X-Evil"] is None
    assert modern["Subject"] == text
    assert modern["To"].addresses[0].addr_spec == "reader@x.org"


def test_list_id_title_is_sanitised(rendered):
    delivery = DeliveryConfig(
        from_addr='"Daily <b>; \\"news\\" \x07" <digest+news@example.com>',
        unsubscribe_url=UNSUB,
    )
    msg = parse(mime.message_bytes(mime.build_message(rendered, delivery, "a@x.org", "t")))
    assert msg["List-Id"] == "Daily b news <digest-news.example.com>"


def test_unsubscribe_link_per_recipient_in_headers_and_footer(tmp_path, rendered, store):
    delivery = delivery_config(tmp_path, unsubscribe_url=UNSUB + "&list=daily").delivery
    links = {}
    for recipient in ("a@x.org", "b@x.org"):
        token = store.token_for(recipient)
        assert len(token) >= 24 and store.token_for(recipient.upper()) == token
        msg = parse(mime.message_bytes(mime.build_message(rendered, delivery, recipient, token)))
        url = f"https://digest.example.com/unsubscribe?token={token}&list=daily"
        assert msg["List-Unsubscribe"] == f"<{url}>"
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        text, html_part = (p.get_content() for p in msg.iter_parts())
        assert f"Unsubscribe: {url}" in text
        assert f'href="{url.replace("&", "&amp;")}"' in html_part
        assert "{unsubscribe_url}" not in text + html_part
        links[recipient] = url
    assert len(set(links.values())) == 2


def test_an_unsubscribe_url_written_in_unicode_goes_out_as_a_link_mail_providers_read(
    tmp_path, rendered
):
    """delivery.unsubscribe_url on a Cyrillic domain and path: List-Unsubscribe went out
    RFC 2047-encoded, which no provider reads as a link (no one-click unsubscribe), while the
    same address as web.url was already written in ASCII. One rule for both now."""
    from digest.config import load_config

    path = tmp_path / "digest.yaml"
    path.write_text(
        f"sources:\n  - folder: {tmp_path}\n"
        "delivery:\n  from: d@example.com\n  to: [a@x.org]\n"
        '  unsubscribe_url: "https://Новости.рф:443/отписка/{token}/?list=день"\n'
    )
    delivery = load_config(path).delivery
    msg = parse(mime.message_bytes(mime.build_message(rendered, delivery, "a@x.org", "tok")))
    url = "https://xn--b1amnebsh.xn--p1ai/%D0%BE%D1%82%D0%BF%D0%B8%D1%81%D0%BA%D0%B0/tok/"
    assert msg["List-Unsubscribe"] == f"<{url}?list=%D0%B4%D0%B5%D0%BD%D1%8C>"


def test_without_unsubscribe_url_a_mailto_to_the_sender(tmp_path, rendered):
    delivery = delivery_config(tmp_path, unsubscribe_url=None).delivery
    msg = parse(mime.message_bytes(mime.build_message(rendered, delivery, "a@x.org", "t")))
    mailto = "mailto:digest@example.com?subject=unsubscribe"
    assert msg["List-Unsubscribe"] == f"<{mailto}>"
    assert msg["List-Unsubscribe-Post"] is None  # one-click needs an https URL (RFC 8058)
    assert mailto in msg.get_body(("plain",)).get_content()


def test_preview_message_has_no_token_but_a_whole_link(tmp_path, rendered):
    delivery = delivery_config(tmp_path).delivery
    msg = parse(mime.build_message(rendered, delivery, "reader@example.com", None).as_bytes())
    assert msg["List-Unsubscribe"] == "<https://digest.example.com/unsubscribe?token=preview>"
    assert "{unsubscribe_url}" not in msg.get_body(("html",)).get_content()


def test_message_ids_unique_per_recipient_and_stable_per_issue():
    a1 = mime.message_id_for(7, "token-a", "example.com")
    assert a1 == mime.message_id_for(7, "token-a", "example.com")
    assert a1 != mime.message_id_for(7, "token-b", "example.com")
    assert a1 != mime.message_id_for(8, "token-a", "example.com")
    assert "token-a" not in a1 and a1.endswith("@example.com>")


def make_dkim_key(tmp_path: Path) -> tuple[Path, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "dkim.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return path, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def dns_for(record: bytes):
    def dnsfunc(name, timeout=5):
        assert name == b"digest._domainkey.example.com."
        return record

    return dnsfunc


def test_dkim_signature_verifies_and_covers_list_unsubscribe(
    tmp_path, rendered, store, smtp_server
):
    key_file, record = make_dkim_key(tmp_path)
    config = delivery_config(
        tmp_path,
        smtp_for(smtp_server),
        dkim=DkimConfig(domain="example.com", selector="digest", key_file=key_file),
    )
    issue = freeze(store, ["a@x.org", "b@x.org"])
    send_issue(config, store, issue, rendered, ["a@x.org", "b@x.org"])
    for received in smtp_server.messages:
        data = received.data
        assert data.startswith(b"DKIM-Signature:")
        assert dkim.verify(data, dnsfunc=dns_for(record))
        signature = received.message["DKIM-Signature"]
        signed = re.search(r"h=([^;]+)", signature.replace(" ", "")).group(1).lower().split(":")
        assert {"list-unsubscribe", "list-unsubscribe-post", "from", "subject"} <= set(signed)
        tampered = data.replace(b"token=", b"token=x", 1)
        assert not dkim.verify(tampered, dnsfunc=dns_for(record))
    # the outbox file is the same bytes, so it verifies too
    outbox_config = delivery_config(
        tmp_path, dkim=DkimConfig(domain="example.com", selector="digest", key_file=key_file)
    )
    issue = freeze(store, ["c@x.org"])
    send_issue(outbox_config, store, issue, rendered, ["c@x.org"])
    (eml,) = (tmp_path / "outbox").glob("*.eml")
    assert dkim.verify(eml.read_bytes(), dnsfunc=dns_for(record))
    # and the message preview writes
    preview = mime.build_message(rendered, outbox_config.delivery, "d@x.org", None)
    assert dkim.verify(preview.as_bytes(), dnsfunc=dns_for(record))


def test_bad_dkim_key_is_a_config_error(tmp_path, rendered):
    key = tmp_path / "bad.pem"
    key.write_text("not a key")
    delivery = DeliveryConfig(from_addr=FROM, dkim=DkimConfig("example.com", "digest", key))
    with pytest.raises(ConfigError, match="DKIM key"):
        mime.build_message(rendered, delivery, "a@x.org", "t")


def spam_score(data: bytes) -> tuple[float, str]:
    out = subprocess.run(
        ["spamassassin", "-t", "-L"], input=data, capture_output=True, timeout=180
    ).stdout.decode(errors="replace")
    match = re.search(r"X-Spam-Status: \w+, score=(-?[\d.]+)", out)
    assert match, out[:2000]
    return float(match[1]), out


@pytest.mark.slow
def test_spamassassin_scores_the_message_below_one(tmp_path, rendered, store):
    if shutil.which("spamassassin") is None:
        if IN_CI:
            pytest.fail("spamassassin is required in CI (apt-get install spamassassin)")
        pytest.skip("spamassassin is not installed")
    key_file, _ = make_dkim_key(tmp_path)
    config = delivery_config(
        tmp_path, dkim=DkimConfig(domain="example.com", selector="digest", key_file=key_file)
    )
    token = store.token_for("reader@example.org")
    data = mime.message_bytes(
        mime.build_message(rendered, config.delivery, "reader@example.org", token)
    )
    score, report = spam_score(data)
    assert score < 1.0, report


# --- recipients -------------------------------------------------------------------------------


def test_recipients_from_to_and_csv_bad_lines_reported_duplicates_once(tmp_path):
    csv_file = tmp_path / "list.csv"
    csv_file.write_text(
        "email,name\n"
        "ann@example.org,Ann\n"
        "# a comment\n"
        "\n"
        "not-an-address,Bob\n"
        "ANN@Example.org,Ann again\n"
        '"carl@example.org","Carl, the second"\n'
        "dora@example..org\n"
        "eve@example.org\n"
        "gone@example.org\n"
        "frank@bücher.example\n",
        encoding="utf-8",
    )
    delivery = DeliveryConfig(
        to=("Reader <reader@example.org>", "Carl@example.org", "bad@"), recipients=csv_file
    )
    recipients, problems = load_recipients(delivery, {"gone@example.org"})
    assert recipients == [
        "reader@example.org",
        "Carl@example.org",
        "ann@example.org",
        "eve@example.org",
        "frank@xn--bcher-kva.example",
    ]
    assert [(p.source, p.line) for p in problems] == [
        ("delivery.to", None),
        (str(csv_file), 5),
        (str(csv_file), 8),
    ]
    assert "not-an-address" in str(problems[1]) and f"{csv_file}:5" in str(problems[1])


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        # Excel's "Unicode text": UTF-16 with a byte-order mark, tab-separated
        ("email\tname\na@x.org\tJörg\nb@x.org\tAnn\n".encode("utf-16"), None),
        # Excel's "CSV" on Windows: the ANSI code page
        ("email,name\na@x.org,Jörg\nb@x.org,Ann\n".encode("cp1252"), "read as Windows-1252"),
    ],
)
def test_a_recipients_file_as_excel_saves_it_is_read(tmp_path, data, problem):
    """A UTF-16 list was refused as binary data ("0 new readers", exit 0), and a Windows-1252
    one lost its names' letters to U+FFFD without a word."""
    csv_file = tmp_path / "list.csv"
    csv_file.write_bytes(data)
    recipients, problems = read_recipients(DeliveryConfig(recipients=csv_file))
    assert [(r.address, r.name) for r in recipients] == [("a@x.org", "Jörg"), ("b@x.org", "Ann")]
    assert [p.message for p in problems if problem and problem in p.message] == [
        p.message for p in problems
    ]
    assert len(problems) == (1 if problem else 0)


def test_one_stray_byte_in_a_utf8_recipients_list_garbles_only_its_line(tmp_path):
    """A UTF-8 list with one Windows-1252 name was read whole as Windows-1252: every other
    Cyrillic name became mojibake ("Ð˜Ð²Ð°Ð½")."""
    csv_file = tmp_path / "list.csv"
    csv_file.write_bytes(
        "email,name\nivan@x.org,Иван Петров\n".encode()
        + b"rene@x.org,Ren\xe9 Dupont\n"
        + "aigerim@x.kz,Айгерим\n".encode()
    )
    recipients, problems = read_recipients(DeliveryConfig(recipients=csv_file))
    assert [r.name for r in recipients] == ["Иван Петров", "René Dupont", "Айгерим"]
    assert [p.line for p in problems] == [3]


def test_one_stray_byte_garbles_no_utf8_name_on_its_own_line(tmp_path):
    """The line with the stray byte was read whole as Windows-1252: a UTF-8 name beside it
    became mojibake ("Ð˜Ð²Ð°Ð½ & René")."""
    csv_file = tmp_path / "list.csv"
    csv_file.write_bytes("email,name\nivan@x.org,Иван & Ren".encode() + b"\xe9\n")
    recipients, problems = read_recipients(DeliveryConfig(recipients=csv_file))
    assert [r.name for r in recipients] == ["Иван & René"]
    assert [(p.line, p.message) for p in problems] == [
        (2, "not UTF-8 text (byte 0xe9): read as Windows-1252")
    ]


def test_a_recipients_row_with_its_address_out_of_place_is_said(tmp_path):
    csv_file = tmp_path / "list.csv"
    csv_file.write_text("email,name\n,e2@example.org\nok@example.org,Ok\n", encoding="utf-8")
    recipients, problems = read_recipients(DeliveryConfig(recipients=csv_file))
    assert [r.address for r in recipients] == ["ok@example.org"]
    assert [(p.line, p.message) for p in problems] == [
        (2, "no address in the first column; skipped")
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("exported", "names"),
    [
        # Excel, "CSV UTF-8" in a Russian locale: a byte-order mark, `;`, CRLF, name first
        (
            "\ufeffИмя;Email\r\nДмитрий Ким;dk@example.kz\r\nAnn Lee;ann@example.kz\r\n",
            ["Дмитрий Ким", "Ann Lee"],
        ),
        # Mailchimp's audience export: the address first, under "Email Address"
        (
            "Email Address,First Name,Last Name,MEMBER_RATING\n"
            "dk@example.kz,Dmitry,Kim,2\nann@example.kz,,,1\n",
            ["Dmitry", None],
        ),
        # addresses pasted from a mail client, as `to:` takes them
        (
            'email,name\n"Дмитрий Ким" <dk@example.kz>\nAnn Lee <ann@example.kz>,Ann\n',
            ["Дмитрий Ким", "Ann"],
        ),
    ],
    ids=["excel-name-first", "mailchimp", "name-and-address"],
)
def test_a_list_exported_with_its_columns_named_reaches_every_reader(
    tmp_path, smtp_server, exported, names
):
    """A list whose header names its columns was read as `email,name` by position: with the
    name first every reader was "not a valid email address" and the run stopped (exit 2);
    Mailchimp's header line was itself warned about as a bad address at every run; and
    `"Ann Lee" <ann@example.kz>`, which `to:` takes, was refused in the list."""
    config = write_config(tmp_path, smtp_server, [])
    (tmp_path / "list.csv").write_bytes(exported.encode("utf-8"))
    result = digest(config, "run")
    assert result.returncode == 0, result.stderr
    assert "list.csv" not in result.stderr
    got = [m.message["To"].addresses[0] for m in smtp_server.messages]
    assert {(a.addr_spec, a.display_name or None) for a in got} == {
        ("dk@example.kz", names[0]),
        ("ann@example.kz", names[1]),
    }


@pytest.mark.slow
def test_a_reader_in_to_and_named_in_the_list_gets_the_name(tmp_path, smtp_server):
    """`to: [Ann@Example.org]` for a test, and the list's "ann@example.org,Ann Smith": the
    first, nameless, won and Ann's digest came to a bare "To: Ann@Example.org"."""
    config = write_config(tmp_path, smtp_server, [])
    (tmp_path / "list.csv").write_text("email,name\nann@example.org,Ann Smith\n")
    text = config.read_text().replace("delivery:\n", "delivery:\n  to: [' Ann@Example.org ']\n")
    config.write_text(text)
    result = digest(config, "run")
    assert result.returncode == 0, result.stderr
    (message,) = smtp_server.messages
    assert str(message.message["To"]) == "Ann Smith <Ann@Example.org>"


@pytest.mark.slow
def test_a_refused_reader_is_said_once(tmp_path, smtp_server):
    """`run` said a refused reader twice, in two formats: "  gone@x.org: failed 550 ..." on
    stdout and, through Python's last-resort log handler, "gone@x.org: failed (550 ...)" on
    stderr."""
    smtp_server.behaviour.reject["gone@x.org"] = "550 5.1.1 no such user"
    config = write_config(tmp_path, smtp_server, ["ok@x.org", "gone@x.org"])
    result = digest(config, "run")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "sent to 1 of 2 recipients",
        "  gone@x.org: failed (550 5.1.1 no such user)",
    ]
    assert "gone@x.org" not in result.stderr


def test_a_semicolon_line_in_a_comma_separated_list_is_said_as_such(tmp_path):
    csv_file = tmp_path / "list.csv"
    csv_file.write_text("email,name\nann@example.org,Ann\ncarol@example.org;Carol\n")
    recipients, problems = read_recipients(DeliveryConfig(recipients=csv_file))
    assert [r.address for r in recipients] == ["ann@example.org"]
    assert [(p.line, p.message) for p in problems] == [
        (
            3,
            "not a valid email address: 'carol@example.org;Carol'; skipped "
            "(the file is separated by commas: is this line separated by `;`?)",
        )
    ]


def test_a_stray_quote_in_the_recipients_file_loses_no_reader(tmp_path):
    """A quote opened and never closed once took every line after it into one field: the
    readers after it were dropped, and the one problem named the last line. A name quoted
    over two lines is still one name."""
    csv_file = tmp_path / "list.csv"
    csv_file.write_text(
        'ann@example.org,Ann\n"bob@example.org,Bob\ncarl@example.org,Carl\neve@example.org,Eve\n',
        encoding="utf-8",
    )
    readers, problems = read_recipients(DeliveryConfig(recipients=csv_file))
    assert [(r.address, r.name) for r in readers] == [
        ("ann@example.org", "Ann"),
        ("bob@example.org", "Bob"),
        ("carl@example.org", "Carl"),
        ("eve@example.org", "Eve"),
    ]
    assert [str(p) for p in problems] == [
        f"{csv_file}:2: a quote is not closed on this line; read without it"
    ]
    csv_file.write_text('dora@example.org,"Dora\nthe Second"\neve@example.org,Eve\n')
    readers, problems = read_recipients(DeliveryConfig(recipients=csv_file))
    assert [(r.address, r.name) for r in readers] == [
        ("dora@example.org", "Dora the Second"),
        ("eve@example.org", "Eve"),
    ]
    assert problems == []


def test_recipients_file_with_garbage_gives_problems_not_a_crash(tmp_path):
    binary = tmp_path / "list.csv"
    binary.write_bytes(b"\x00\x01\xff\xfe" * 50)
    _, problems = load_recipients(DeliveryConfig(recipients=binary))
    assert len(problems) == 1 and "binary" in problems[0].message
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(b"ok@example.org\nj\xe9r\xf4me@example.org\n")
    recipients, problems = load_recipients(DeliveryConfig(recipients=latin1))
    assert recipients == ["ok@example.org"] and [p.line for p in problems] == [2, 2]
    assert "read as Windows-1252" in problems[0].message  # then: not an address (not ASCII)
    gone = tmp_path / "gone.csv"
    recipients, problems = load_recipients(DeliveryConfig(recipients=gone))
    assert recipients == [] and "cannot read" in problems[0].message


# --- SMTP -------------------------------------------------------------------------------------


@both_ways("tls_smtp_server")
def test_sends_over_one_starttls_connection_with_auth(tmp_path, rendered, store, tls_smtp_server):
    recipients = [f"r{i}@example.org" for i in range(20)]
    config = delivery_config(tmp_path, smtp_for(tls_smtp_server))
    issue = freeze(store, recipients)
    outcomes = send_issue(config, store, issue, rendered, recipients)
    assert [o.status for o in outcomes] == ["sent"] * 20
    assert outcomes[0].answer.startswith("250 2.0.0 OK queued as")
    messages = tls_smtp_server.messages
    assert [m.rcpt_tos for m in messages] == [[r] for r in recipients]
    assert all(m.tls and m.login == "digest" for m in messages)
    assert {m.connection for m in messages} == {1} and tls_smtp_server.handler.connections == 1
    assert all(m.mail_from == "digest@example.com" for m in messages)
    rows = {d["recipient"]: d for d in store.deliveries(issue)}
    tokens = set()
    for m in messages:
        parsed = m.message
        (to,) = m.rcpt_tos
        assert parsed["To"] == to
        assert rows[to]["status"] == "sent" and rows[to]["attempts"] == 1
        assert rows[to]["message_id"] == parsed["Message-ID"]
        token = store.token_for(to)
        assert f"token={token}>" in parsed["List-Unsubscribe"]
        tokens.add(token)
    assert len(tokens) == 20
    assert len({m.message["Message-ID"] for m in messages}) == 20
    assert store.pending_recipients(issue) == []


def test_implicit_tls(tmp_path, rendered, store):
    with SmtpServer(tmp_path, implicit_tls=True) as server:
        config = delivery_config(tmp_path, smtp_for(server, security="ssl", username=None))
        issue = freeze(store, ["a@x.org"])
        assert send_issue(config, store, issue, rendered, ["a@x.org"])[0].status == "sent"
        assert server.messages[0].tls


def test_untrusted_certificate_stops_with_a_hint(tmp_path, rendered, store, tls_smtp_server):
    config = delivery_config(tmp_path, smtp_for(tls_smtp_server, ca_file=None))
    issue = freeze(store, ["a@x.org"])
    with pytest.raises(DeliveryError) as e:
        send_issue(config, store, issue, rendered, ["a@x.org"])
    assert "certificate" in str(e.value) and "ca_file" in str(e.value)
    assert statuses(store, issue) == {"a@x.org": "pending"}


@both_ways()
def test_4xx_once_is_retried_and_sent(tmp_path, rendered, store, smtp_server):
    smtp_server.behaviour.defer_once["b@x.org"] = "451 4.7.1 greylisted, try again"
    sleeps = []
    config = delivery_config(tmp_path, smtp_for(smtp_server, retries=2))
    issue = freeze(store, ["a@x.org", "b@x.org", "c@x.org"])
    outcomes = send_issue(
        config, store, issue, rendered, ["a@x.org", "b@x.org", "c@x.org"], sleep=sleeps.append
    )
    assert [o.status for o in outcomes] == ["sent"] * 3
    assert smtp_server.handler.rcpt_attempts["b@x.org"] == 2
    assert smtp_server.count_for() == {"a@x.org": 1, "b@x.org": 1, "c@x.org": 1}
    assert backoffs(sleeps) == [0.01]  # one backoff, from the injectable sleep


@both_ways()
def test_4xx_after_all_retries_stays_pending_as_retrying(tmp_path, rendered, store, smtp_server):
    smtp_server.behaviour.defer_always["b@x.org"] = "452 4.2.2 mailbox full"
    sleeps = []
    config = delivery_config(tmp_path, smtp_for(smtp_server, retries=3))
    recipients = ["a@x.org", "b@x.org", "c@x.org"]
    issue = freeze(store, recipients)
    outcomes = send_issue(config, store, issue, rendered, recipients, sleep=sleeps.append)
    assert [o.status for o in outcomes] == ["sent", "retrying", "sent"]
    assert outcomes[1].answer == "452 4.2.2 mailbox full"
    assert smtp_server.handler.rcpt_attempts["b@x.org"] == 4
    assert backoffs(sleeps) == [0.01, 0.02, 0.04]  # exponential backoff
    assert store.pending_recipients(issue) == ["b@x.org"]
    # the next run sends it once the relay takes it, and nobody else again
    del smtp_server.behaviour.defer_always["b@x.org"]
    outcomes = send_issue(config, store, issue, rendered, store.pending_recipients(issue))
    assert [(o.recipient, o.status) for o in outcomes] == [("b@x.org", "sent")]
    assert smtp_server.count_for() == {"a@x.org": 1, "b@x.org": 1, "c@x.org": 1}
    row = {d["recipient"]: d for d in store.deliveries(issue)}["b@x.org"]
    assert row["status"] == "sent" and row["attempts"] == 2


@both_ways()
def test_5xx_is_failed_with_the_answer_and_not_retried(tmp_path, rendered, store, smtp_server):
    smtp_server.behaviour.reject["b@x.org"] = "550 5.1.1 no such user here"
    config = delivery_config(tmp_path, smtp_for(smtp_server, retries=3))
    recipients = ["a@x.org", "b@x.org", "c@x.org"]
    issue = freeze(store, recipients)
    outcomes = send_issue(config, store, issue, rendered, recipients)
    assert [o.status for o in outcomes] == ["sent", "failed", "sent"]
    assert smtp_server.handler.rcpt_attempts["b@x.org"] == 1
    row = {d["recipient"]: d for d in store.deliveries(issue)}["b@x.org"]
    assert (row["status"], row["answer"]) == ("failed", "550 5.1.1 no such user here")
    assert store.pending_recipients(issue) == []
    assert smtp_server.handler.connections == 1  # the refusal did not cost the connection


@pytest.mark.slow
@both_ways()
def test_relay_deferring_everyone_stops_the_run(tmp_path, rendered, store, smtp_server):
    recipients = [f"r{i}@x.org" for i in range(10)]
    smtp_server.behaviour.defer_always.update({r: "421 4.3.2 try later" for r in recipients})
    config = delivery_config(tmp_path, smtp_for(smtp_server, retries=1))
    issue = freeze(store, recipients)
    with pytest.raises(DeliveryError, match="deferred or refused 5 recipients in a row"):
        send_issue(config, store, issue, rendered, recipients, sleep=lambda s: None)
    assert list(statuses(store, issue).values()).count("retrying") == 5
    assert len(store.pending_recipients(issue)) == 10


def test_wrong_password_stops_the_run_and_marks_nobody(
    tmp_path, rendered, store, tls_smtp_server, monkeypatch
):
    monkeypatch.setenv("DIGEST_TEST_SMTP_PASSWORD", "wrong-Pa55word")
    config = delivery_config(tmp_path, smtp_for(tls_smtp_server))
    issue = freeze(store, ["a@x.org", "b@x.org"])
    with pytest.raises(DeliveryError) as e:
        send_issue(config, store, issue, rendered, ["a@x.org", "b@x.org"])
    message = str(e.value)
    assert "refused the login" in message and "'digest'" in message and "535" in message
    assert "wrong-Pa55word" not in message
    assert statuses(store, issue) == {"a@x.org": "pending", "b@x.org": "pending"}
    assert tls_smtp_server.messages == []


def test_a_relay_that_cannot_be_reached_leaves_no_thread_behind(tmp_path):
    """The web server makes a Relay for each confirmation: one whose connection failed kept
    its watchdog thread for ever, one more with each sign-up while the relay was down."""
    import threading

    from digest.transports import Relay

    with SmtpServer() as server:
        port = server.port  # nobody listens there once the server is gone
    for _ in range(5):
        relay = Relay(SmtpConfig(host="127.0.0.1", port=port, security="none", timeout=2))
        with pytest.raises(OSError):
            relay.send("d@example.com", "a@x.org", b"Subject: x\r\n\r\nx\r\n")
        relay.close()
    assert not [t for t in threading.enumerate() if t.name == "digest-smtp-watchdog"]


def test_unset_password_variable_is_a_config_error(
    tmp_path, rendered, store, tls_smtp_server, monkeypatch
):
    monkeypatch.delenv("DIGEST_TEST_SMTP_PASSWORD")
    config = delivery_config(tmp_path, smtp_for(tls_smtp_server))
    issue = freeze(store, ["a@x.org"])
    with pytest.raises(ConfigError, match="DIGEST_TEST_SMTP_PASSWORD is not set"):
        send_issue(config, store, issue, rendered, ["a@x.org"])
    assert statuses(store, issue) == {"a@x.org": "pending"}


@pytest.mark.slow
def test_an_unset_password_variable_stops_a_run_before_it_takes_its_slot(
    tmp_path, tls_smtp_server, monkeypatch
):
    """Found at the first message, the missing variable had already used up the run's slot:
    `run --slot now` once it was set said the slot had run, and its readers waited a day."""
    from digest import pipeline
    from digest.config import load_config

    config_path = write_config(tmp_path, tls_smtp_server, ["a@x.org", "b@x.org"])
    config_path.write_text(config_path.read_text() + 'schedule: "0 7 * * *"\n')
    monkeypatch.delenv("DIGEST_TEST_SMTP_PASSWORD")
    with pytest.raises(ConfigError, match="DIGEST_TEST_SMTP_PASSWORD is not set"):
        pipeline.run(load_config(config_path), slot="now")
    with pytest.raises(ConfigError, match="DIGEST_TEST_SMTP_PASSWORD is not set"):
        pipeline.run(load_config(config_path), dry_run=True)
    monkeypatch.setenv("DIGEST_TEST_SMTP_PASSWORD", PASSWORD)
    report = pipeline.run(load_config(config_path), slot="now")
    assert report.status == "delivered"
    assert tls_smtp_server.count_for() == {"a@x.org": 1, "b@x.org": 1}


@pytest.mark.slow
def test_an_unset_web_secret_stops_a_dry_run_and_a_run_before_it_takes_its_slot(
    tmp_path, tls_smtp_server, monkeypatch
):
    """Each reader's unsubscribe link is signed with `web.secret_env`: a dry run without it
    said all was well, and the real run (from cron, without the variable) failed after it
    had recorded a run."""
    from digest import pipeline
    from digest.config import load_config

    config_path = write_config(tmp_path, tls_smtp_server, ["a@x.org"])
    config_path.write_text(
        config_path.read_text()
        + 'schedule: "0 7 * * *"\nweb:\n  url: https://news.example.com/\n'
        + "  secret_env: DIGEST_TEST_WEB_SECRET\n"
    )
    monkeypatch.delenv("DIGEST_TEST_WEB_SECRET", raising=False)
    for attempt in ({"dry_run": True}, {"slot": "now"}):
        with pytest.raises(ConfigError, match="DIGEST_TEST_WEB_SECRET"):
            pipeline.run(load_config(config_path), **attempt)
    assert tls_smtp_server.count_for() == {}
    monkeypatch.setenv("DIGEST_TEST_WEB_SECRET", "a-long-enough-secret-for-signing-links")
    assert pipeline.run(load_config(config_path), slot="now").status == "delivered"


@pytest.mark.slow
@pytest.mark.parametrize("connections", [1, 3])
def test_an_issue_to_more_readers_than_a_batch_logs_in_once_a_connection(
    tmp_path, tls_smtp_server, connections
):
    """Readers are claimed, and re-checked, 100 at a time: each batch opened its own
    connections, TLS and login, and read the recipients list again for the names (a run to
    50,000 listed readers logged in 500 times and read its 50,000-line list 500 times)."""
    from digest import pipeline
    from digest.config import load_config

    recipients = [f"r{i}@example.org" for i in range(250)]
    config_path = write_config(tmp_path, tls_smtp_server, recipients, connections=connections)
    (tmp_path / "list.csv").write_text(
        "email,name\n" + "".join(f"{r},Reader {i}\n" for i, r in enumerate(recipients))
    )
    assert pipeline.run(load_config(config_path)).status == "delivered"
    assert tls_smtp_server.count_for() == {r: 1 for r in recipients}
    assert tls_smtp_server.handler.connections == connections
    to = {m.rcpt_tos[0]: m.message["To"] for m in tls_smtp_server.messages}
    assert to["r249@example.org"] == "Reader 249 <r249@example.org>"


@pytest.mark.slow
@pytest.mark.parametrize("connections", [1, 3])
def test_a_batch_slower_than_the_lease_is_not_claimed_again_by_its_own_run(
    tmp_path, smtp_server, connections
):
    """The next batch is claimed while the last of the one before is still going out; when a
    batch took longer than the lease (300 s: a relay paced at 20 a minute), the claim found
    that run's own expired claims and sent them again (review: 1 reader of 101 got two
    copies over one connection, 8 over three). A run never claims its own readers again, and
    its claims start anew with each batch it claims."""
    from digest import pipeline
    from digest.config import load_config

    recipients = [f"r{i:03d}@example.org" for i in range(101)]
    config_path = write_config(
        tmp_path, smtp_server, recipients, max_per_minute=3000, connections=connections
    )
    with config_path.open("a") as f:
        f.write("state_lease_seconds: 1  # a batch of 100 at 50 a second takes 2\n")
    assert pipeline.run(load_config(config_path)).status == "delivered"
    assert smtp_server.count_for() == {r: 1 for r in recipients}


def test_auth_without_tls_is_refused_with_a_hint(tmp_path, rendered, store, tls_smtp_server):
    config = delivery_config(tmp_path, smtp_for(tls_smtp_server, security="none"))
    issue = freeze(store, ["a@x.org"])
    with pytest.raises(DeliveryError, match="STARTTLS|AUTH|refused"):
        send_issue(config, store, issue, rendered, ["a@x.org"])
    assert statuses(store, issue) == {"a@x.org": "pending"}


@both_ways()
def test_dropped_connections_are_reopened_and_nobody_gets_two(
    tmp_path, rendered, store, smtp_server
):
    smtp_server.behaviour.drop_after.extend([3, 7])  # after accepting, at the next MAIL
    smtp_server.behaviour.drop_in_data.append(10)  # mid-DATA, before accepting message 11
    recipients = [f"r{i}@x.org" for i in range(15)]
    sleeps = []
    config = delivery_config(tmp_path, smtp_for(smtp_server))
    issue = freeze(store, recipients)
    outcomes = send_issue(config, store, issue, rendered, recipients, sleep=sleeps.append)
    assert [o.status for o in outcomes] == ["sent"] * 15
    assert smtp_server.count_for() == {r: 1 for r in recipients}
    assert smtp_server.handler.connections == 4
    assert backoffs(sleeps) == []  # a connection that worked is reopened at once


# --- pipelining (RFC 2920) --------------------------------------------------------------------


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "starttls"])
@pytest.mark.parametrize("offered", [False, True], ids=["not-offered", "offered"])
def test_mail_rcpt_and_data_go_in_one_write_only_when_the_relay_offers_pipelining(
    tmp_path, rendered, store, tls, offered
):
    behaviour = Behaviour(pipelining=offered, record_reads=True)
    users = {"digest": PASSWORD} if tls else None
    recipients = [f"r{i}@example.org" for i in range(5)]
    with SmtpServer(tmp_path, starttls=tls, users=users, behaviour=behaviour) as server:
        config = delivery_config(tmp_path, smtp_for(server))
        issue = freeze(store, recipients)
        outcomes = send_issue(config, store, issue, rendered, recipients)
        reads = [r for r in server.reads() if b"mail from:" in r.lower()]
        assert server.handler.connections == 1
    assert [o.status for o in outcomes] == ["sent"] * 5
    if offered:
        # one read from the socket, so one round trip, for the three commands of a message
        assert [r.lower() for r in reads] == [
            f"mail from:<digest@example.com>\r\nrcpt to:<{r}>\r\ndata\r\n".encode()
            for r in recipients
        ]
    else:  # exactly as before: each command waits for the answer to the one before
        assert [r.lower() for r in reads] == [b"mail from:<digest@example.com>\r\n"] * 5


@both_ways()
def test_messages_arrive_byte_for_byte_with_lines_that_start_with_a_dot(
    tmp_path, rendered, store, smtp_server, monkeypatch
):
    dotted = RenderedDigest(
        subject=rendered.subject,
        preheader="",
        html=rendered.html,
        text="..\n.starts with a dot\n.\n" + rendered.text + "\n.",
    )
    sent: dict[str, bytes] = {}
    make = mime.MessageMaker.bytes_for

    def recording(self, recipient, token, message_id=None):
        sent[recipient] = make(self, recipient, token, message_id)
        return sent[recipient]

    monkeypatch.setattr(mime.MessageMaker, "bytes_for", recording)
    recipients = [f"r{i}@example.org" for i in range(10)]
    config = delivery_config(tmp_path, smtp_for(smtp_server))
    issue = freeze(store, recipients)
    outcomes = send_issue(config, store, issue, dotted, recipients)
    assert [o.status for o in outcomes] == ["sent"] * 10
    assert {m.rcpt_tos[0]: m.data for m in smtp_server.messages} == sent
    lines = sent["r0@example.org"].split(b"\r\n")
    assert b".starts with a dot" in lines and b".." in lines  # these needed dot-stuffing
    assert smtp_server.count_for() == {r: 1 for r in recipients}


@both_ways()
def test_refused_rcpt_when_the_relay_still_takes_data_ends_it_with_a_lone_dot(
    tmp_path, rendered, store, smtp_server
):
    """RFC 2920, 3.1: some relays answer DATA with 354 although every RCPT was refused. The
    pipelining client then sends a lone "." (an empty message, refused too) and the RCPT
    answer stands; the answers that follow still belong to the right commands."""
    behaviour = smtp_server.behaviour
    behaviour.data_despite_refusal = True
    behaviour.reject["b@x.org"] = "550 5.1.1 no such user here"
    behaviour.defer_once["c@x.org"] = "451 4.7.1 greylisted, try again"
    recipients = ["a@x.org", "b@x.org", "c@x.org", "d@x.org"]
    config = delivery_config(tmp_path, smtp_for(smtp_server, retries=2))
    issue = freeze(store, recipients)
    outcomes = send_issue(config, store, issue, rendered, recipients, sleep=lambda s: None)
    assert [(o.status, o.answer) for o in outcomes] == [
        ("sent", "250 2.0.0 OK queued as Q00001"),
        ("failed", "550 5.1.1 no such user here"),
        ("sent", "250 2.0.0 OK queued as Q00002"),
        ("sent", "250 2.0.0 OK queued as Q00003"),
    ]
    assert [m.rcpt_tos for m in smtp_server.messages] == [["a@x.org"], ["c@x.org"], ["d@x.org"]]
    # one by one, DATA never goes out after a refused RCPT; pipelined, it went out with it
    # (b's and c's first try) and each was ended by a lone dot: two empty messages
    assert smtp_server.handler.empty_data == ([b"", b""] if pipelining(smtp_server) else [])
    assert smtp_server.handler.rcpt_attempts["c@x.org"] == 2
    assert statuses(store, issue) == {
        "a@x.org": "sent",
        "b@x.org": "failed",
        "c@x.org": "sent",
        "d@x.org": "sent",
    }
    assert smtp_server.handler.connections == 1


@both_ways()
def test_refused_mail_sends_no_message_and_leaves_the_reader_to_the_next_run(
    tmp_path, rendered, store, smtp_server
):
    behaviour = smtp_server.behaviour
    behaviour.record_reads = True
    behaviour.mail_answers.extend(["451 4.3.0 busy, try again", "550 5.7.1 sender not allowed"])
    recipients = ["a@x.org", "b@x.org"]
    sleeps: list[float] = []
    config = delivery_config(tmp_path, smtp_for(smtp_server, retries=2))
    issue = freeze(store, recipients)
    outcomes = send_issue(config, store, issue, rendered, recipients, sleep=sleeps.append)
    assert [(o.status, o.answer) for o in outcomes] == [
        # 451, retried once, then 550: the sender refused, no fault of the reader's (who is
        # tried again next run, never marked bounced)
        ("retrying", "the sender refused: 550 5.7.1 sender not allowed"),
        ("sent", "250 2.0.0 OK queued as Q00001"),
    ]
    assert backoffs(sleeps) == [0.01]
    assert smtp_server.handler.rcpt_attempts["a@x.org"] == 0  # the relay answered 503 itself
    stream = b"".join(smtp_server.reads())
    assert stream.count(b"\r\nMIME-Version: 1.0\r\n") == 1  # only b's message went out
    assert smtp_server.count_for() == {"b@x.org": 1}
    assert statuses(store, issue) == {"a@x.org": "retrying", "b@x.org": "sent"}
    assert smtp_server.handler.connections == 1


def test_a_relay_answering_data_with_250_sends_nothing_and_records_nothing_sent(
    tmp_path, rendered, store
):
    """Only 354 lets the message go: a relay answering DATA with 250 never got it, and its
    readers were recorded as sent."""
    from odd_relay import OddRelay

    with OddRelay("data-250") as relay:
        smtp = SmtpConfig(host="127.0.0.1", port=relay.port, security="none", retries=0)
        issue = freeze(store, ["a@x.org", "b@x.org"])
        outcomes = send_issue(
            delivery_config(tmp_path, smtp), store, issue, rendered, ["a@x.org", "b@x.org"]
        )
        assert not relay.taken
    assert [o.status for o in outcomes] == ["retrying", "retrying"]
    assert "not 354" in outcomes[0].answer


@pytest.mark.slow
def test_a_relay_trickling_its_greeting_is_given_up_on_in_the_timeout(tmp_path, rendered, store):
    """smtplib's timeout bounds each read, and a relay sending a byte every 0.2 s kept the run
    (and the state's lock) for ever: each step now has `timeout` seconds in all."""
    from odd_relay import OddRelay

    with OddRelay("trickle") as relay:
        smtp = SmtpConfig(host="127.0.0.1", port=relay.port, security="none", retries=0, timeout=1)
        issue = freeze(store, ["a@x.org"])
        with pytest.raises(DeliveryError, match="no answer within 1 s"):
            send_issue(delivery_config(tmp_path, smtp), store, issue, rendered, ["a@x.org"])
    assert statuses(store, issue) == {"a@x.org": "pending"}


@pytest.mark.slow
@pytest.mark.parametrize("late_watchdog", [False, True], ids=["watchdog", "socket"])
def test_a_relay_silent_past_the_timeout_is_said_to_be_silent(
    tmp_path, rendered, store, smtp_server, monkeypatch, late_watchdog
):
    """A relay that sat on MAIL past `timeout` was reported as "connection to the relay lost:
    no end in 2 s (the relay trickles)": it neither dropped us nor trickled. The socket's own
    timeout and the watchdog's race: when the socket's came first, smtplib said "Connection
    unexpectedly closed: timed out" and the run "connection to the relay lost" (one run in
    eight). With the watchdog made late, the socket's comes first every time."""
    if late_watchdog:
        step = transports.Watchdog.step
        monkeypatch.setattr(transports.Watchdog, "step", lambda w, sock, s: step(w, sock, s * 5))
    smtp_server.behaviour.delay_mail = 2.5
    smtp = smtp_for(smtp_server, timeout=1, retries=0)
    issue = freeze(store, ["a@x.org"])
    with pytest.raises(DeliveryError) as stopped:
        send_issue(delivery_config(tmp_path, smtp), store, issue, rendered, ["a@x.org"])
    said = str(stopped.value.message)
    assert "no answer within 1 s" in said
    assert "trickles" not in said and "connection to the relay lost" not in said


def test_a_message_answered_with_no_smtp_answer_goes_once_a_run(tmp_path, rendered, store):
    """The relay took the message and answered garbage: sent again at once, it was taken four
    times a run (retries 3). It may have the message, so it goes again in the next run only;
    two such in a row stop the run (each may have waited ten minutes for its answer)."""
    from odd_relay import OddRelay

    readers = ["a@x.org", "b@x.org", "c@x.org"]
    with OddRelay("garbage") as relay:
        smtp = SmtpConfig(host="127.0.0.1", port=relay.port, security="none", retries=3)
        issue = freeze(store, readers)
        with pytest.raises(DeliveryError, match="answered none of the last 2 messages"):
            send_issue(
                delivery_config(tmp_path, smtp),
                store,
                issue,
                rendered,
                readers,
                sleep=lambda _: None,
            )
        assert relay.taken == {"a@x.org": 1, "b@x.org": 1}
    assert statuses(store, issue) == {
        "a@x.org": "retrying",
        "b@x.org": "retrying",
        "c@x.org": "pending",
    }
    answers = {d["recipient"]: d["answer"] for d in store.deliveries(issue)}
    assert "the relay may have it" in answers["a@x.org"]


@pytest.mark.slow
@both_ways()
def test_a_slow_answer_to_the_message_is_waited_for_not_sent_again(
    tmp_path, rendered, store, smtp_server
):
    """A relay scanning a message may answer it minutes later (RFC 5321 allows ten): a
    timeout of 1 s re-sent it each time, a copy a try, every run."""
    smtp_server.behaviour.delay_data[0] = 2.5
    smtp = smtp_for(smtp_server, timeout=1, retries=3)
    issue = freeze(store, ["a@x.org", "b@x.org"])
    outcomes = send_issue(
        delivery_config(tmp_path, smtp), store, issue, rendered, ["a@x.org", "b@x.org"]
    )
    assert [o.status for o in outcomes] == ["sent", "sent"]
    assert smtp_server.count_for() == {"a@x.org": 1, "b@x.org": 1}


def test_unreachable_relay_stops_with_a_clear_message(tmp_path, rendered, store):
    with SmtpServer() as server:
        port = server.port  # a port nobody listens on once the server is gone
    config = delivery_config(
        tmp_path, SmtpConfig(host="127.0.0.1", port=port, security="none", retries=2, timeout=2)
    )
    issue = freeze(store, ["a@x.org"])
    with pytest.raises(DeliveryError, match=f"127.0.0.1:{port} cannot be reached") as e:
        send_issue(config, store, issue, rendered, ["a@x.org"], sleep=lambda s: None)
    assert "next `digest run`" in str(e.value)
    assert statuses(store, issue) == {"a@x.org": "pending"}


def test_rate_limit_spaces_the_messages(tmp_path, rendered, store, smtp_server):
    now = [100.0]
    sleeps = []

    def sleep(seconds):
        sleeps.append(round(seconds, 6))
        now[0] += seconds

    config = delivery_config(tmp_path, smtp_for(smtp_server, max_per_minute=120))
    recipients = [f"r{i}@x.org" for i in range(4)]
    issue = freeze(store, recipients)
    send_issue(config, store, issue, rendered, recipients, sleep=sleep, clock=lambda: now[0])
    assert sleeps == [0.5, 0.5, 0.5]  # 120 a minute: one every half second
    assert len(smtp_server.messages) == 4


# --- parallel connections (delivery.smtp.connections) -----------------------------------------


@pytest.mark.slow
@both_ways("tls_smtp_server")
def test_parallel_connections_each_reader_once_each_outcome_recorded(
    tmp_path, rendered, store, tls_smtp_server
):
    server = tls_smtp_server
    server.behaviour.reject["r7@example.org"] = "550 5.1.1 no such user"
    server.behaviour.defer_once["r11@example.org"] = "451 4.7.1 greylisted"
    recipients = [f"r{i}@example.org" for i in range(60)]
    config = delivery_config(tmp_path, smtp_for(server, connections=4))
    issue = freeze(store, recipients)
    seen = []
    outcomes = send_issue(
        config,
        store,
        issue,
        rendered,
        recipients,
        sleep=lambda s: None,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert sorted(o.recipient for o in outcomes) == sorted(recipients)
    assert seen == [(n, 60) for n in range(1, 61)]
    want = {r: "sent" for r in recipients} | {"r7@example.org": "failed"}
    assert statuses(store, issue) == want
    assert {o.recipient: o.status for o in outcomes} == want
    assert server.count_for() == {r: 1 for r in recipients if r != "r7@example.org"}
    assert server.handler.connections == 4
    assert {m.connection for m in server.messages} == {1, 2, 3, 4}
    assert all(m.tls and m.login == "digest" for m in server.messages)
    rows = {d["recipient"]: d for d in store.deliveries(issue)}
    for m in server.messages:  # the Message-ID recorded is the one that went out
        assert rows[m.rcpt_tos[0]]["message_id"] == m.message["Message-ID"]


@pytest.mark.slow
@pytest.mark.parametrize("connections", [None, 1, 3])
def test_each_transport_reports_an_outcome_before_the_next_message_goes_out(
    tmp_path, smtp_server, connections
):
    # The Transport contract deliver_batches relies on: push each recipient, flush, close;
    # every outcome reported in the pushing thread before that connection sends more.
    smtp = None if connections is None else smtp_for(smtp_server, connections=connections)
    delivery = delivery_config(tmp_path, smtp).delivery
    recipients = [f"r{i}@example.org" for i in range(12)]
    reported: list[tuple[str, str, int]] = []

    def report(recipient: str, status: str, answer: str) -> None:
        on_the_way = len(list((tmp_path / "outbox").glob("*.eml")))
        if smtp is not None:
            on_the_way = len(smtp_server.messages)
        reported.append((recipient, status, on_the_way))

    transport = transports.open_transport(
        delivery,
        7,
        "digest@example.com",
        len(recipients),
        lambda r: f"Subject: for {r}\r\n\r\nhello\r\n".encode(),
        report,
        lambda s: None,
        time.monotonic,
    )
    transports.send_through(transport, recipients)
    assert sorted(r for r, _, _ in reported) == sorted(recipients)
    assert {status for _, status, _ in reported} == {"sent"}
    lanes = connections or 1
    for done, (_, _, on_the_way) in enumerate(reported, 1):
        assert on_the_way <= done + lanes - 1  # at most one unreported message a connection
    if smtp is not None:
        assert smtp_server.handler.connections == lanes


def test_parallel_connections_to_an_unreachable_relay_stop_with_the_message(
    tmp_path, rendered, store
):
    with SmtpServer() as server:
        port = server.port
    smtp = SmtpConfig(
        host="127.0.0.1", port=port, security="none", retries=1, timeout=2, connections=3
    )
    recipients = [f"r{i}@x.org" for i in range(5)]
    issue = freeze(store, recipients)
    with pytest.raises(DeliveryError, match=f"127.0.0.1:{port} cannot be reached"):
        send_issue(
            delivery_config(tmp_path, smtp),
            store,
            issue,
            rendered,
            recipients,
            sleep=lambda s: None,
        )
    assert set(statuses(store, issue).values()) == {"pending"}


def test_parallel_connections_relay_dropping_one_connection_loses_nobody(
    tmp_path, rendered, store, smtp_server
):
    smtp_server.behaviour.drop_after.extend([5, 17])
    smtp_server.behaviour.drop_in_data.append(30)
    recipients = [f"r{i}@x.org" for i in range(50)]
    config = delivery_config(tmp_path, smtp_for(smtp_server, connections=3))
    issue = freeze(store, recipients)
    outcomes = send_issue(config, store, issue, rendered, recipients, sleep=lambda s: None)
    assert {o.status for o in outcomes} == {"sent"}
    assert smtp_server.count_for() == {r: 1 for r in recipients}
    assert set(statuses(store, issue).values()) == {"sent"}


def test_parallel_connections_stop_at_once_when_the_state_cannot_record(
    tmp_path, rendered, store, smtp_server
):
    """A full disk while recording: the run stops with that error, every connection ends
    after the message it was sending, and what was recorded stands."""
    log = StoreDeliveryLog(store)
    calls = []

    class FullDisk(StoreDeliveryLog):
        def record(self, issue_id, outcomes):
            calls.append(outcomes)
            if len(calls) == 10:
                raise sqlite3.OperationalError("database or disk is full")
            log.record(issue_id, outcomes)

    recipients = [f"r{i}@x.org" for i in range(100)]
    config = delivery_config(tmp_path, smtp_for(smtp_server, connections=3))
    issue = freeze(store, recipients)
    with pytest.raises(sqlite3.OperationalError, match="disk is full"):
        deliver.deliver_batches(
            config.delivery, FullDisk(store), issue, rendered, [recipients], len(recipients)
        )
    sent = [r for r, status in statuses(store, issue).items() if status == "sent"]
    assert 9 <= len(sent) <= 9 + 2  # the two other connections' last messages, if taken
    assert len(smtp_server.messages) <= len(sent) + 1  # only the unrecorded one beyond
    assert len(smtp_server.messages) < 20


@pytest.mark.parametrize("value", ["0", "65", "two"])
def test_connections_outside_1_to_64_is_a_config_error_naming_the_line(
    tmp_path, value, smtp_server
):
    from digest.config import load_config

    config = write_config(tmp_path, smtp_server, ["a@x.org"], connections=value)
    line = config.read_text().splitlines().index(f"    connections: {value}") + 1
    with pytest.raises(ConfigError) as e:
        load_config(config)
    assert e.value.line == line and "connections" in str(e.value)


# --- outbox -----------------------------------------------------------------------------------


def test_outbox_one_eml_per_recipient_written_atomically(tmp_path, rendered, store):
    config = delivery_config(tmp_path)
    recipients = ["a@x.org", "b/../c@x.org", "B_..._C@x.org"]
    issue = freeze(store, recipients)
    (tmp_path / "outbox").mkdir()
    stale = tmp_path / "outbox" / f".issue-{issue:05d}-a@x.org.eml.999.tmp"
    stale.write_bytes(b"half a message from a killed run")
    outcomes = send_issue(config, store, issue, rendered, recipients)
    assert [o.status for o in outcomes] == ["sent"] * 3
    files = sorted(p.name for p in (tmp_path / "outbox").iterdir())
    assert len(files) == 3 and all(
        f.startswith(f"issue-{issue:05d}-") and f.endswith(".eml") for f in files
    )
    for path in (tmp_path / "outbox").iterdir():
        msg = parse(path.read_bytes())
        assert msg["To"] in recipients and msg.get_content_type() == "multipart/alternative"
    assert store.pending_recipients(issue) == []
    # writing again (a resumed run) replaces, never adds
    send_issue(config, store, issue, rendered, recipients[:1])
    assert len(list((tmp_path / "outbox").iterdir())) == 3


def test_outbox_that_cannot_be_written_stops_with_a_clear_message(tmp_path, rendered, store):
    (tmp_path / "outbox").write_text("a file where the folder should be")
    issue = freeze(store, ["a@x.org"])
    with pytest.raises(ConfigError, match="delivery.outbox: the outbox .* is not a folder"):
        send_issue(delivery_config(tmp_path), store, issue, rendered, ["a@x.org"])
    assert statuses(store, issue) == {"a@x.org": "pending"}


# --- the whole run, through the command line --------------------------------------------------

needs_pipeline = pytest.mark.skipif(
    not (ROOT / "digest" / "select").is_dir(), reason="the select stage is not written yet"
)


def write_config(tmp_path: Path, server: SmtpServer | None, recipients: list[str], **smtp) -> Path:
    pages = seed_pages()
    folder = tmp_path / "pages"
    folder.mkdir()
    for page in pages:
        shutil.copy(page, folder)
    (tmp_path / "list.csv").write_text("email\n" + "".join(f"{r}\n" for r in recipients))
    lines = [
        "title: Central Asia Daily",
        "timezone: Asia/Almaty",
        "sources:",
        f"  - {folder}/*.txt",
        f"state: {tmp_path / 'state.sqlite3'}",
        "selection:",
        "  max_articles: 100  # one digest takes every article: the next run has nothing new",
        "delivery:",
        f'  from: "{FROM}"',
        f"  recipients: {tmp_path / 'list.csv'}",
        f"  outbox: {tmp_path / 'outbox'}",
        f'  unsubscribe_url: "{UNSUB}"',
    ]
    if server is not None:
        lines += ["  smtp:", "    host: 127.0.0.1", f"    port: {server.port}"]
        if server.ca_file:
            lines += [
                "    security: starttls",
                f"    ca_file: {server.ca_file}",
                "    username: digest",
                "    password_env: DIGEST_TEST_SMTP_PASSWORD",
            ]
        else:
            lines.append("    security: none")
        lines += [f"    {k}: {v}" for k, v in {"max_per_minute": 100000, **smtp}.items()]
    path = tmp_path / "digest.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def digest(config: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*digest_command(), "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.slow
@needs_pipeline
def test_dry_run_sends_and_records_nothing(tmp_path, smtp_server):
    config = write_config(tmp_path, smtp_server, ["a@x.org", "b@x.org"])
    result = digest(config, "run", "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "dry-run"
    assert [d["recipient"] for d in report["delivered"]] == ["a@x.org", "b@x.org"]
    assert smtp_server.messages == [] and smtp_server.handler.connections == 0
    state = tmp_path / "state.sqlite3"
    if state.exists():
        with sqlite3.connect(state) as db:
            assert db.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 0


@pytest.mark.slow
@needs_pipeline
def test_run_through_starttls_relay_and_the_password_appears_nowhere(tmp_path, tls_smtp_server):
    recipients = [f"r{i}@example.org" for i in range(5)]
    config = write_config(tmp_path, tls_smtp_server, recipients)
    env = {"DIGEST_TEST_SMTP_PASSWORD": PASSWORD}
    first = digest(config, "run", "--json", env=env)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["status"] == "delivered"
    assert {d["recipient"]: d["status"] for d in report["delivered"]} == {
        r: "sent" for r in recipients
    }
    assert tls_smtp_server.count_for() == {r: 1 for r in recipients}
    second = digest(config, "run", "--json", env=env)
    assert second.returncode == 0 and json.loads(second.stdout)["status"] == "empty"
    history = digest(config, "history", "--json", env=env)
    # nowhere: output, report, history, state file, outbox, messages
    seen = [first.stdout, first.stderr, second.stdout, second.stderr, history.stdout]
    seen += [p.read_bytes().decode("latin-1") for p in tmp_path.rglob("*") if p.is_file()]
    seen += [m.data.decode("latin-1") for m in tls_smtp_server.messages]
    assert all(PASSWORD not in text for text in seen)
    assert all(base64.b64encode(PASSWORD.encode()).decode() not in text for text in seen)


@pytest.mark.slow
@needs_pipeline
def test_refused_login_exits_1_with_a_message_and_the_next_run_sends(tmp_path, tls_smtp_server):
    config = write_config(tmp_path, tls_smtp_server, ["a@x.org"])
    bad = digest(config, "run", env={"DIGEST_TEST_SMTP_PASSWORD": "Wr0ng-guess"})
    assert bad.returncode == 1
    assert "refused the login" in bad.stderr and "Traceback" not in bad.stderr
    assert "Wr0ng-guess" not in bad.stdout + bad.stderr
    assert tls_smtp_server.messages == []
    good = digest(config, "run", "--json", env={"DIGEST_TEST_SMTP_PASSWORD": PASSWORD})
    assert good.returncode == 0, good.stderr
    report = json.loads(good.stdout)
    assert [d["status"] for d in report["resumed"]] == ["sent"]  # the frozen issue, finished
    assert report["status"] == "empty"  # and only then new articles: none left
    assert tls_smtp_server.count_for() == {"a@x.org": 1}


@pytest.mark.slow
@needs_pipeline
@pytest.mark.parametrize("auth", [("PLAIN", "LOGIN"), ("LOGIN",)])
def test_a_relay_password_in_cyrillic_logs_in(tmp_path, auth):
    """smtplib's AUTH PLAIN and LOGIN encode the password as ASCII: a Cyrillic one stopped
    every run with UnicodeEncodeError (a traceback), nothing sent. It goes as UTF-8, as
    RFC 4616's PLAIN carries it (and as relays such as Postfix/Dovecot SASL take it), or by
    LOGIN where a relay offers only that."""
    password = "пароль-Pa55"
    users = {"digest": password}
    with SmtpServer(tmp_path, starttls=True, users=users, auth=auth) as server:
        config = write_config(tmp_path, server, ["a@x.org"])
        bad = digest(config, "run", env={"DIGEST_TEST_SMTP_PASSWORD": "не-тот-пароль"})
        assert bad.returncode == 1 and "refused the login" in bad.stderr, bad.stderr
        result = digest(config, "run", "--json", env={"DIGEST_TEST_SMTP_PASSWORD": password})
        assert result.returncode == 0, result.stderr
        assert server.count_for() == {"a@x.org": 1}


@pytest.mark.slow
@needs_pipeline
def test_a_cyrillic_password_to_a_relay_offering_neither_plain_nor_login_says_so(tmp_path):
    """Only PLAIN and LOGIN carry a password as UTF-8: a relay offering AUTH by neither is
    told as that, not as a relay offering no AUTH at all (whose hint, STARTTLS, is already
    what this connection does)."""
    with SmtpServer(tmp_path, starttls=True, users={"digest": "пароль"}, auth=()) as server:
        config = write_config(tmp_path, server, ["a@x.org"])
        result = digest(config, "run", env={"DIGEST_TEST_SMTP_PASSWORD": "пароль"})
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert "goes by AUTH PLAIN or LOGIN; the relay offers neither" in result.stderr
        assert "STARTTLS" not in result.stderr, result.stderr
        assert server.messages == []


@pytest.mark.slow
@needs_pipeline
def test_run_without_smtp_writes_the_outbox(tmp_path):
    config = write_config(tmp_path, None, ["a@x.org", "b@x.org"])
    result = digest(config, "run", "--json")
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2
    assert not [p for p in (tmp_path / "outbox").iterdir() if p.suffix != ".eml"]


# --- exactly once across runs when the relay defers -----------------------------------------


def subjects_by_recipient(server: SmtpServer) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}
    for received in server.messages:
        for rcpt in received.rcpt_tos:
            seen.setdefault(rcpt, []).append(received.message["Subject"])
    return seen


def run_cycle(config_path: Path):
    from digest import pipeline
    from digest.config import load_config

    return pipeline.run(load_config(config_path))


@pytest.mark.slow
def test_readers_refused_in_an_earlier_run_are_tried_last_in_each_later_one(tmp_path, smtp_server):
    """The README: readers deferred (or refused the message) in an earlier run are retried
    last. A run stopped by five refusals in a row released the readers it had claimed and
    not tried as pending, those retrying too: the next run tried them first, ahead of the
    readers never tried, and (the message refused for all) each five were tried again and
    again while the rest waited."""
    from digest.errors import ReadersDeferred

    readers = [f"r{i:02d}@x.org" for i in range(12)]
    smtp_server.behaviour.data_answers.extend(["554 5.7.1 Message rejected as spam"] * 10)
    config = write_config(tmp_path, smtp_server, readers)
    with pytest.raises(ReadersDeferred):  # r00-r04 refused: the run stops
        run_cycle(config)
    run_cycle(config)  # r05-r09 refused: the older issue stops, r10, r11 and r00-r04 untried

    def statuses() -> dict[str, str]:
        with Store.open(tmp_path / "state.sqlite3") as store:
            return dict(store.db.execute("SELECT recipient, status FROM deliveries").fetchall())

    assert {r for r, s in statuses().items() if s == "retrying"} == set(readers[:10])
    run_cycle(config)
    order = [m.rcpt_tos[0] for m in smtp_server.messages]
    assert order[:2] == ["r10@x.org", "r11@x.org"], order
    assert set(statuses().values()) == {"sent"}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("refusal", "where"),
    [("530 5.7.0 Authentication required", "mail"), ("552 5.3.4 Message too big", "data")],
)
def test_a_relay_refusing_the_sender_or_the_message_bounces_no_reader(
    tmp_path, smtp_server, refusal, where
):
    """Only a 5xx at RCPT refuses an address. A relay that refuses the sender (it wants a
    login) or the message (too big, spam) refuses everyone alike: that once marked every
    reader bounced for good, and the next run said there was no one to send to. Now no
    reader is bounced, the run stops after five such answers in a row, and once the relay is
    mended every reader gets the issue: those refused the message too (they were marked
    failed for it, and never got it)."""
    readers = [f"r{i}@x.org" for i in range(8)]
    answers = getattr(smtp_server.behaviour, f"{where}_answers")
    answers.extend([refusal] * len(readers))
    config = write_config(tmp_path, smtp_server, readers, retries=0)
    with pytest.raises(DeliveryError, match="refused 5 recipients in a row"):
        run_cycle(config)
    assert smtp_server.count_for() == {}
    with Store.open(tmp_path / "state.sqlite3") as store:
        assert not store.readers().all("bounced")
        rows = dict(store.db.execute("SELECT recipient, status FROM deliveries").fetchall())
    assert list(rows.values()).count("retrying") == 5 and "failed" not in rows.values()
    answers.clear()
    run_cycle(config)
    got = smtp_server.count_for()
    assert got == dict.fromkeys(readers, 1)


@pytest.mark.slow
@needs_pipeline
def test_a_relay_with_the_default_sender_is_warned_about(tmp_path, smtp_server):
    """With a relay and no `delivery.from`, every reader's mail went out from
    digest@localhost (Message-IDs on localhost) without a word; receivers refuse it."""
    config = write_config(tmp_path, smtp_server, ["a@x.org"])
    config.write_text(config.read_text().replace(f'  from: "{FROM}"\n', ""))
    done = digest(config, "run", "--json")
    assert done.returncode == 0, done.stderr
    assert smtp_server.messages[0].mail_from == "digest@localhost"
    warning = "delivery.from is digest@localhost, not an address of a domain of yours"
    assert warning in done.stderr and any(warning in n for n in json.loads(done.stdout)["notes"])
    (tmp_path / "outbox").mkdir()
    outbox = write_config(tmp_path / "outbox", None, ["a@x.org"])  # the outbox: a look only
    outbox.write_text(outbox.read_text().replace(f'  from: "{FROM}"\n', ""))
    assert warning not in digest(outbox, "run").stderr


@pytest.mark.slow
@needs_pipeline
@pytest.mark.parametrize("dry_run", [False, True], ids=["run", "dry-run"])
def test_when_every_reader_bounced_the_next_run_says_so(tmp_path, smtp_server, dry_run):
    """Every listed reader refused at RCPT (550: bounced): the next run said "every address is
    unsubscribed, or none is given" and told the user to list readers, who were listed. The
    dry run said it twice, the second time as "listed readers left out: 2 bounced"."""
    for address in ("a@x.org", "b@x.org"):
        smtp_server.behaviour.reject[address] = "550 5.1.1 User unknown"
    config = write_config(tmp_path, smtp_server, ["a@x.org", "b@x.org"])
    assert digest(config, "run").returncode == 1
    again = digest(config, "run", "--json", *(["--dry-run"] if dry_run else []))
    said = again.stderr if not dry_run else "; ".join(json.loads(again.stdout)["notes"])
    assert "no one to send to: every reader is held back (2 bounced)" in said
    assert "unsubscribed" not in said and "none is given" not in said
    assert "listed readers left out" not in again.stderr  # said once, not twice
    assert again.returncode == (0 if dry_run else 2) and smtp_server.messages == []


@pytest.mark.slow
@needs_pipeline
def test_listed_readers_left_out_are_counted_by_status(tmp_path, smtp_server):
    """Of three listed readers, one bounced and one unsubscribed: the next run said "sent to 1
    of 1 recipients" and nothing of the other two, whom the operator had listed."""
    smtp_server.behaviour.reject["b@x.org"] = "550 5.1.1 User unknown"
    config = write_config(tmp_path, smtp_server, ["a@x.org", "b@x.org", "c@x.org"])
    config.write_text(config.read_text().replace("max_articles: 100", "max_articles: 2"))
    first = digest(config, "run", "--json")
    assert first.returncode == 0, first.stderr
    assert "listed readers left out" not in first.stdout + first.stderr
    assert digest(config, "unsubscribe", "--email", "C@x.org").returncode == 0
    again = digest(config, "run", "--json")
    assert again.returncode == 0, again.stderr
    said = "listed readers left out: 1 bounced, 1 unsubscribed"
    assert any(said in n for n in json.loads(again.stdout)["notes"]) and said in again.stderr
    assert smtp_server.count_for() == {"a@x.org": 2, "c@x.org": 1}  # c before leaving


@pytest.mark.slow
def test_readers_deferred_again_do_not_stop_the_next_issue(tmp_path, smtp_server):
    """Six of twenty readers whose servers keep deferring (a full mailbox): the next runs try
    them first, all together, and five deferrals in a row stopped each run before its own
    issue was frozen: the other fourteen got no digest for days."""
    readers = [f"r{i:02d}@x.org" for i in range(20)]
    deferred = readers[::3][:6]  # among the others: no five in a row in the first issue
    for r in deferred:
        smtp_server.behaviour.defer_always[r] = "452 4.2.2 mailbox full"
    config = write_config(tmp_path, smtp_server, readers, retries=0)
    config.write_text(config.read_text().replace("max_articles: 100", "max_articles: 3"))
    first = run_cycle(config)
    assert first.status == "partly-delivered"
    second = run_cycle(config)
    assert second.status == "partly-delivered", second.message
    assert "not finished: the SMTP relay" in second.message
    subjects = subjects_by_recipient(smtp_server)
    assert set(subjects) == set(readers) - set(deferred)
    assert all(len(set(s)) == len(s) == 2 for s in subjects.values())


@pytest.mark.slow
def test_an_issue_deferred_for_everyone_holds_new_issues_back_and_nothing_goes_twice(
    tmp_path, smtp_server
):
    smtp_server.behaviour.defer_always["a@x.org"] = "451 4.7.1 try later"
    config = write_config(tmp_path, smtp_server, ["a@x.org"], retries=0)
    config.write_text(config.read_text().replace("max_articles: 100", "max_articles: 3"))
    first = run_cycle(config)
    assert first.status == "failed" and len(first.plan.selection.chosen) == 3
    held = run_cycle(config)  # still deferred: no second issue with the same articles
    assert held.status == "deferred" and held.plan is None and held.exit_code == 1
    smtp_server.behaviour.defer_always.clear()
    reports = [run_cycle(config) for _ in range(4)]
    assert [r.resumed[0]["status"] for r in reports[:1]] == ["sent"]
    subjects = subjects_by_recipient(smtp_server)["a@x.org"]
    assert len(subjects) == len(set(subjects)) >= 3  # every issue once, none twice
    with Store.open(tmp_path / "state.sqlite3") as store:
        titles = [  # each story's best telling, the first remembered of it
            r[0] for r in store.db.execute("SELECT title FROM sent_articles WHERE id = story_id")
        ]
    assert len(titles) == len(set(titles))


@pytest.mark.slow
def test_a_reader_deferred_in_three_runs_is_given_up_and_does_not_block_others(
    tmp_path, smtp_server
):
    stuck = [f"full{i}@x.org" for i in range(5)]
    for address in stuck:
        smtp_server.behaviour.defer_always[address] = "452 4.2.2 mailbox full"
    config = write_config(tmp_path, smtp_server, [*stuck, "good@x.org"], retries=0)
    config.write_text(config.read_text().replace("max_articles: 100", "max_articles: 3"))
    reports = []
    for _ in range(5):
        try:
            reports.append(run_cycle(config))
        except DeliveryError as e:  # five deferred in a row: the relay looks unwell
            reports.append(e)
    assert subjects_by_recipient(smtp_server).get("good@x.org"), reports
    with Store.open(tmp_path / "state.sqlite3") as store:
        rows = store.db.execute("SELECT recipient, status, answer FROM deliveries").fetchall()
    given_up = [r for r in rows if r[0].startswith("full") and r[1] == "failed"]
    assert given_up and all("gave up after 3 runs" in r[2] for r in given_up)
    assert not [r for r in rows if r[1] == "retrying" and "gave up" in (r[2] or "")]


@pytest.mark.slow
@needs_pipeline
def test_the_run_that_gives_up_on_a_deferred_reader_reports_it_failed(tmp_path, smtp_server):
    """The third run deferred again gave the reader up (failed for good), but its report, its
    JSON and its warning said "retrying": the next run would try again. It tries nobody."""
    smtp_server.behaviour.defer_always["grey@x.org"] = "451 4.7.1 Greylisted"
    config = write_config(tmp_path, smtp_server, ["ok@x.org", "grey@x.org"], retries=0)
    reports = []
    for _ in range(3):
        done = digest(config, "run", "--json")
        assert done.returncode == 0, done.stderr
        reports.append((json.loads(done.stdout), done.stderr))
    (second, _), (third, warnings) = reports[1:]
    assert second["resumed"] == [
        {"recipient": "grey@x.org", "status": "retrying", "answer": "451 4.7.1 Greylisted"}
    ]
    given_up = "451 4.7.1 Greylisted (gave up after 3 runs)"
    assert third["resumed"] == [{"recipient": "grey@x.org", "status": "failed", "answer": given_up}]
    assert f"grey@x.org: failed ({given_up})" in warnings
    last = json.loads(digest(config, "run", "--json").stdout)
    assert last["resumed"] == [] and smtp_server.count_for() == {"ok@x.org": 1}


@pytest.mark.parametrize(
    "subject",
    [
        "Digest, 10 Nov 2025: Kazakhstan and China Expand Copper and Electric Vehicle…",
        "Central Asia Daily, 10 Nov 2025: Kazakhstan’s Development Bank Launches $1 Billion…",
        "Central Asia Daily, 10 Nov 2025: Astana Hosts Central Asian Water Ministers Ahead of "
        "Aral Sea Summit – and more",
    ],
)
def test_long_subjects_fold_and_read_back_exactly(subject):
    folded = mime.fold_header("Subject", subject)
    assert all(len(line) <= 78 for line in folded.split(b"\r\n"))
    parsed = email.message_from_bytes(folded + b"\r\n", policy=default_policy)
    assert parsed["Subject"] == subject


def rfc2047_decoded(value: str) -> str:
    """A header as RFC 2047 decoders read it (the legacy email.header, as many clients):
    whitespace between two adjacent encoded words is dropped."""
    return str(email.header.make_header(email.header.decode_header(value)))


@pytest.mark.slow
def test_non_latin_subject_and_names_keep_every_space_for_rfc2047_decoders(tmp_path, rendered):
    """Python's folder can leave the space between two words outside their encoded words,
    where RFC 2047 decoders drop it: "вдвое больше" read "вдвоебольше" (found on 207 of
    3,000 random subjects). Every subject of these words, and long names in From and To, must
    read back exactly with both the legacy and the modern decoder."""
    import random

    words = (
        "Мэрия Бишкека закупит ещё 120 автобусов, т.е. вдвое больше, чем в 2025 г. "
        "Kazakhstan's Tokayev, Ashgabat: 5 مليار דולר 🇰🇿 «Север — Юг» $2,5 млрд"
    ).split()
    rng = random.Random(7)
    for _ in range(300):
        subject = " ".join(rng.choice(words) for _ in range(rng.randint(3, 16)))
        name = " ".join(rng.choice(words) for _ in range(rng.randint(2, 9)))
        data = _message_from(tmp_path, rendered, subject, name)
        head = data.split(b"\r\n\r\n", 1)[0]
        assert all(len(line) <= 78 for line in head.split(b"\r\n") if b"DKIM" not in line)
        legacy = email.message_from_bytes(data)
        assert rfc2047_decoded(legacy["Subject"]) == subject
        for header, address in (("From", "digest@example.com"), ("To", "reader@x.org")):
            shown = rfc2047_decoded(legacy[header])  # an ASCII name with a comma is quoted
            assert shown in (f"{name} <{address}>", f'"{name}" <{address}>'), header
        modern = parse(data)
        assert modern["Subject"] == subject
        # Python's own parser puts a space between two encoded words of a name (against RFC
        # 2047, which real clients follow): a name may read with two spaces there.
        assert " ".join(modern["From"].addresses[0].display_name.split()) == name
        assert " ".join(modern["To"].addresses[0].display_name.split()) == name
        assert modern["To"].addresses[0].addr_spec == "reader@x.org"


def test_a_placeholder_inside_source_text_is_not_filled_with_the_readers_link(tmp_path):
    from digest.models import Digest, DigestItem, DigestSection
    from digest.render import render

    item = DigestItem("Sneaky {unsubscribe_url} Title", "Click {unsubscribe_url} now.", "x.txt")
    digest = Digest(
        "T", __import__("datetime").date(2025, 11, 10), (DigestSection("Top stories", (item,)),)
    )
    config = delivery_config(tmp_path, unsubscribe_url=UNSUB)
    maker = mime.MessageMaker(render(digest), config.delivery)
    message = parse(maker.bytes_for("a@x.org", "tok123"))
    text = message.get_body(("plain",)).get_content()
    html_part = message.get_body(("html",)).get_content()
    link = UNSUB.replace("{token}", "tok123")
    assert text.count(link) == 1 and html_part.count(link) == 1
    assert "Click {unsubscribe_url} now." in text


@pytest.mark.slow
@needs_pipeline
@pytest.mark.parametrize("killed_after", [40, 173])
def test_killed_with_four_connections_then_rerun_each_reader_once_but_those_in_flight(
    tmp_path, killed_after
):
    """kill -9 of a `digest run` sending over 4 connections: every message the relay had
    accepted is recorded but for those in flight (at most one a connection: each outcome is
    recorded before that connection sends anything of its next message). Only those can
    reach a reader twice, and with the same Message-ID."""
    import threading

    recipients = [f"reader{i:03d}@example.org" for i in range(240)]
    signal = threading.Event()
    behaviour = Behaviour(delay_mail=0.002, signals={("MAIL", killed_after): signal})
    with SmtpServer(behaviour=behaviour) as server:
        config = write_config(tmp_path, server, recipients, connections=4)
        process = subprocess.Popen(
            [*digest_command(), "--config", str(config), "run", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "DIGEST_TEST_SMTP_PASSWORD": PASSWORD},
        )
        assert signal.wait(timeout=120), process.communicate()[1][-2000:]
        process.kill()
        process.wait(timeout=30)
        accepted = len(server.messages)
        with sqlite3.connect(tmp_path / "state.sqlite3") as db:
            recorded = db.execute("SELECT count(*) FROM deliveries WHERE status='sent'").fetchone()
        assert accepted - 4 <= recorded[0] <= accepted
        again = digest(config, "run", "--json")
        assert again.returncode == 0, again.stderr
        counts = server.count_for()
        ids: dict[str, set[str]] = {}
        for m in server.messages:
            ids.setdefault(m.rcpt_tos[0], set()).add(m.message["Message-ID"])
    assert set(counts) == set(recipients)
    twice = [r for r, n in counts.items() if n > 1]
    assert len(twice) <= 4 and all(counts[r] == 2 for r in twice)
    assert all(len(ids[r]) == 1 for r in recipients)
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        rows = db.execute("SELECT status, count(*) FROM deliveries GROUP BY status").fetchall()
    assert rows == [("sent", len(recipients))]


def test_ed25519_dkim_signature_verifies(tmp_path, rendered, store):
    """RFC 8463: an Ed25519 key signs ed25519-sha256; dkimpy verifies it."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    key_file = tmp_path / "ed.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    record = b"v=DKIM1; k=ed25519; p=" + base64.b64encode(public)
    config = delivery_config(
        tmp_path, dkim=DkimConfig(domain="example.com", selector="digest", key_file=key_file)
    )
    message = mime.build_message(rendered, config.delivery, "a@x.org", "tok")
    data = mime.message_bytes(message)
    assert b"a=ed25519-sha256" in data
    assert dkim.verify(data, dnsfunc=dns_for(record))
    assert not dkim.verify(data.replace(b"tok", b"tak", 1), dnsfunc=dns_for(record))


def test_date_is_numeric_utc_and_helo_is_the_configured_name(
    tmp_path, rendered, store, smtp_server
):
    import dataclasses

    smtp = dataclasses.replace(smtp_for(smtp_server), helo="mail.example.net")
    config = delivery_config(tmp_path, smtp)
    issue = freeze(store, ["a@x.org"])
    send_issue(config, store, issue, rendered, ["a@x.org"])
    [received] = smtp_server.messages
    assert re.search(
        rb"\r\nDate: \w{3}, \d{2} \w{3} \d{4} \d\d:\d\d:\d\d \+0000\r\n", received.data
    )
    assert received.helo == "mail.example.net"


def test_a_very_long_reader_name_keeps_every_header_line_within_998(tmp_path, rendered):
    """A name of 2,000 characters (a CSV list, `readers add --name`; the web form always cut
    at 100) gave a To: line of 2,001 bytes, past RFC 5322's 998: a relay may refuse it."""
    from digest.text import MAX_NAME

    long_name = "N" * 2000
    csv_file = tmp_path / "list.csv"
    csv_file.write_text(f"email,name\nlong@x.org,{long_name}\n", encoding="utf-8")
    config = delivery_config(tmp_path, recipients=csv_file)
    [listed], _ = read_recipients(config.delivery)
    assert listed.name == "N" * MAX_NAME
    maker = mime.MessageMaker(rendered, config.delivery, names={"long@x.org": long_name})
    data = maker.bytes_for("long@x.org", "tok")
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    assert parse(data)["To"].addresses[0].display_name == "N" * MAX_NAME


@pytest.mark.parametrize("written", ["web", "delivery"])
def test_an_http_unsubscribe_link_is_said_under_the_key_it_is_written_at(tmp_path, written):
    from digest.config import load_config
    from digest.recipients import unsubscribe_note

    config_path = tmp_path / "digest.yaml"
    link = "  unsubscribe_url: http://news.example.com/u/{token}\n" if written == "delivery" else ""
    config_path.write_text(
        f"sources:\n  - folder: {tmp_path}\n"
        "delivery:\n  from: d@example.com\n  to: [a@x.org]\n"
        "  smtp:\n    host: 127.0.0.1\n    security: none\n"
        + link
        + "web:\n  url: http://news.example.com/\n  secret_env: DIGEST_TEST_WEB_SECRET\n"
    )
    key, line = ("web.url", 10) if written == "web" else ("delivery.unsubscribe_url", 9)
    assert unsubscribe_note(load_config(config_path)) == [
        f"{config_path}:{line}: {key} is http://, so messages carry no one-click unsubscribe "
        "header (RFC 8058 needs https://)"
    ]
