"""Bounces and complaints into reader statuses: real bounces of several MTAs (flufl.bounce's
collection), an RFC 5965 feedback report, VERP addresses, Maildir and mbox, and a 5xx at RCPT
from a real SMTP conversation."""

from __future__ import annotations

import json
import mailbox
import re
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES
from loopback import free_port
from test_web import SECRET, cli, write_config

from digest.bounces import classify
from digest.state.readers import bounce_kind
from digest.tokens import Signer

BOUNCES = FIXTURES / "bounces"
SIGNER = Signer(SECRET.encode())

# file, the failed address, hard (5.x.x) or soft (4.x.x): as flufl.bounce's own tests say
REAL = [
    ("postfix_01.txt", "xxxxx@local.ie", "hard"),
    ("postfix_04.txt", "userx@mail1.example.com", "hard"),
    ("exim_01.txt", "userx@its.example.nl", "hard"),
    ("qmail_01.txt", "userx@example.de", "hard"),
    ("sendmail_01.txt", "zzzzz@nfg.nl", "hard"),
    ("microsoft_01.txt", "userx@example.COM", "hard"),
    ("dsn_13.txt", "userx@example.com", "hard"),
    # flufl.bounce calls these two permanent; each is mail that expired in a queue after
    # temporary failures, told in words: "(#4.4.1)", "4.4.4 Temporary server error"
    ("yahoo_01.txt", "userx@example.com", "soft"),
    ("simple_44.txt", "user@example.com", "soft"),
    ("dsn_06.txt", "userx@example.com", "soft"),
    ("dsn_17.txt", "userx@example.fi", "soft"),
    ("dsn_02.txt", "zzzzz@example.uk", "soft"),  # failed, 4.4.7: expired in a queue
    ("simple_03.txt", "userx@example.za", "soft"),
]


@pytest.mark.parametrize(("name", "address", "kind"), REAL)
def test_real_bounces_of_several_mtas_name_the_failed_reader(name, address, kind):
    found = classify((BOUNCES / name).read_bytes(), SIGNER)
    assert (address, kind) in {(f.email, f.kind) for f in found}


@pytest.mark.parametrize(("name", "address", "kind"), REAL)
@pytest.mark.parametrize(
    "sender", ["From: Служба доставки почты <MAILER-DAEMON@mail.example.kz>\n".encode(), b""]
)
def test_a_bounce_with_an_unencoded_or_no_sender_still_names_its_reader(
    name, address, kind, sender
):
    """An MTA that writes its name in 8-bit bytes, unencoded, or a bounce with no From: one
    of flufl.bounce's detectors raised on either, and the bounce was lost."""
    raw = re.sub(rb"(?m)^From: .*\n", sender, (BOUNCES / name).read_bytes(), count=1)
    found = classify(raw, SIGNER)
    assert (address, kind) in {(f.email, f.kind) for f in found}


# every full mailbox of flufl.bounce's collection: the failed address, as its tests say
FULL = [
    ("dsn_01.txt", "userx@example.com"),  # Status: 5.0.0 (recipient reached disk quota)
    ("dsn_04.txt", "userx@example.ch"),  # "disk quota exceeded" in the DSN's own words only
    ("hotpop_01.txt", "userx@example.com"),
    ("newmailru_01.txt", "zzzzz@newmail.ru"),
    ("postfix_04.txt", "userx@mail1.example.com"),
    ("qmail_02.txt", None),  # "the user's mailfolder is full"
    ("qmail_06.txt", "ntl@xxx.com"),
    ("qmail_07.txt", None),
    ("simple_01.txt", "bbbsss@example.com"),  # an SMTP transcript: "552 ... mailbox quota"
    ("simple_07.txt", "userx@example.net"),
    ("simple_09.txt", "userx@example.de"),
    ("simple_14.txt", "userx@example.com"),
    ("simple_38.txt", "userx@example.com"),
    ("simple_45.txt", "subscriber@earthlink.net"),
    ("yahoo_02.txt", "userx@example.es"),
    ("yahoo_04.txt", "usery@example.uk"),
]


@pytest.mark.parametrize(("name", "address"), FULL)
def test_a_full_mailbox_told_in_any_format_is_soft(name, address):
    """A full mailbox empties when its owner reads mail, yet 16 of the 118 real bounces were
    full mailboxes told in words or a 5.0.0 Status ("This account is over quota", "User's
    Disk Quota Exceeded", "mailfolder is full"), and each stopped its reader at once."""
    found = classify((BOUNCES / name).read_bytes(), SIGNER)
    assert found and (address is None or address in {f.email for f in found})
    assert {bounce_kind(f.kind, f.detail) for f in found} == {"soft"}


def test_only_the_bounce_s_own_words_say_a_mailbox_is_full():
    """The returned message is ours: a headline about an export quota, quoted under a real
    qmail bounce of an unknown address, must not make the bounce soft."""
    raw = (BOUNCES / "qmail_01.txt").read_bytes()
    ours = b"Subject: EU lifts the steel quota\n\nA full mailbox of quota news.\n"
    quoted = raw.replace(b"Message removed", ours)
    assert quoted != raw
    [found] = classify(quoted, SIGNER)
    assert (found.email, bounce_kind(found.kind, found.detail)) == ("userx@example.de", "hard")


@pytest.mark.parametrize("charset", ["us-ascii\x00", "no-such-charset"])
def test_a_bounce_in_a_charset_nobody_knows_still_names_its_reader(charset):
    """A NUL in the charset's name (a garbled or hostile bounce) raised ValueError where an
    unknown charset was read as Latin-1: the bounce was lost and its reader kept getting
    mail."""
    raw = (BOUNCES / "qmail_01.txt").read_bytes()
    head = f'Content-Type: text/plain; charset="{charset}"\n'.encode()
    [found] = classify(head + raw, SIGNER)
    assert (found.email, bounce_kind(found.kind, found.detail)) == ("userx@example.de", "hard")


@pytest.mark.parametrize(
    ("status", "kind"), [("5.0.0", "hard"), ("5.2.2", "soft"), ("5.7.1", "blocked")]
)
def test_a_dsn_status_counts_when_its_diagnostic_has_no_enhanced_code(status, kind):
    """Postfix's own DSNs give "Diagnostic-Code: X-Postfix; ..." and put the enhanced code in
    Status alone: a real one (an unknown user, 5.0.0), and the same with the Status Postfix
    gives a full mailbox (5.2.2) or a refusal by policy (5.7.1), which were hard."""
    raw = (BOUNCES / "dsn_10.txt").read_bytes()
    assert b"Status: 5.0.0" in raw and b"Diagnostic-Code: X-Postfix; host" in raw
    [found] = classify(raw.replace(b"Status: 5.0.0", f"Status: {status}".encode()), SIGNER)
    assert found.email == "anne.person@dom.ain"
    assert bounce_kind(found.kind, found.detail) == kind


def test_what_a_bounce_says_is_recorded_readably():
    """The detail `digest bounces` records: the line that says what went wrong, not
    "=?utf-8?B?RGVsaXZlcnkgZmFpbHVyZSBub3RpZmljYXRpb25=?=" or a Subject folded on two lines."""
    [encoded] = classify((BOUNCES / "simple_22.txt").read_bytes(), SIGNER)
    assert encoded.detail == "Delivery failure notification"
    raw = (BOUNCES / "dsn_10.txt").read_bytes().replace(b"Status: 5.0.0", b"Status: 5.0.0\x00")
    [hidden] = classify(raw, SIGNER)  # a NUL no PostgreSQL text takes, beside the diagnostic
    assert "\x00" not in hidden.detail and hidden.detail.endswith("(Status 5.0.0)")
    [expired] = classify((BOUNCES / "yahoo_01.txt").read_bytes(), SIGNER)
    assert expired.detail == (
        "failure delivery: Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)"
    )


def test_what_a_bounce_says_is_recorded_without_control_characters():
    """An encoded word or a body line may hide a NUL (which no PostgreSQL text takes: `digest
    bounces` stopped there, at every run) or a terminal's escape: the record has neither."""
    raw = (BOUNCES / "qmail_02.txt").read_bytes()
    raw = raw.replace(b"Subject: failure notice", b"Subject: =?utf-8?q?failure=00notice=1b[2J?=")
    raw = raw.replace(b"because the user's", b"because\x00the user's")
    [found] = classify(raw, SIGNER)
    assert found.detail == (
        "failure notice [2J: The e-mail message could not be delivered because the user's "
        "mailfolder is full."
    )
    assert bounce_kind(found.kind, found.detail) == "soft"


def arf(rcpt: str, to: str, link: str = "https://example.com/") -> bytes:
    text = (BOUNCES / "arf_rfc5965.txt").read_text()
    return text.replace("{RCPT}", rcpt).replace("{TO}", to).replace("{LINK}", link).encode()


def test_a_feedback_report_is_a_complaint_by_its_recipient_or_its_unsubscribe_link():
    [found] = classify(arf("ann@example.org", "ann@example.org"), SIGNER)
    assert (found.kind, found.email) == ("complaint", "ann@example.org")
    # the receiver hid the address (as big providers do): the link in the original names the reader
    link = f"https://news.example.com/unsubscribe/{SIGNER.reader('A' * 32)}"
    [found] = classify(arf("redacted@example.net", "redacted@example.net", link), SIGNER)
    assert (found.kind, found.token) == ("complaint", "A" * 32)


def setup(tmp_path: Path, mailbox_line: str) -> Path:
    config = write_config(tmp_path, 8080, f"bounces:\n  {mailbox_line}\n")
    for address in ("userx@example.com", "ann@example.org", "soft@example.fi"):
        assert cli(config, "readers", "add", address).returncode == 0
    return config


def imap_setup(
    tmp_path: Path, monkeypatch, port: int, ca_file: Path, password: str, **more
) -> Path:
    """`setup` with the bounces read over IMAP (TLS) from 127.0.0.1:`port`, the test CA
    trusted and the password in the environment; `more`: other imap keys (folder)."""
    extra = "".join(f", {key}: '{value}'" for key, value in more.items())
    config = setup(
        tmp_path,
        f"imap: {{host: 127.0.0.1, port: {port}, user: bounces, "
        f"password_env: DIGEST_TEST_IMAP_PASSWORD{extra}}}",
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # the test CA, for the default context
    monkeypatch.setenv("DIGEST_TEST_IMAP_PASSWORD", password)
    return config


def statuses(config: Path) -> dict[str, str]:
    result = cli(config, "readers", "list", "--json")
    return {r["email"]: r["status"] for r in json.loads(result.stdout)["readers"]}


@pytest.mark.slow
def test_a_maildir_of_bounces_and_complaints_changes_statuses_once(tmp_path):
    config = setup(tmp_path, f"maildir: {tmp_path}/bounces")
    box = mailbox.Maildir(tmp_path / "bounces", create=True)
    box.add((BOUNCES / "dsn_13.txt").read_bytes())  # hard (5.1.1), userx@example.com
    box.add(arf("ann@example.org", "ann@example.org"))
    box.add(b"From: ann@example.org\nSubject: thanks!\n\nLovely digest.\n")  # a reply
    result = cli(config, "bounces", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["read"] == 3 and len(report["ignored"]) == 1
    assert statuses(config) | {"listed@example.com": "x"} == {
        "userx@example.com": "bounced",
        "ann@example.org": "complained",
        "soft@example.fi": "active",
        "listed@example.com": "x",
    }
    again = json.loads(cli(config, "bounces", "--json").stdout)
    assert again["read"] == 0  # each message is read once
    box.add(b"From: bo@example.org\nSubject: out of office\n\nBack on Monday.\n")
    assert cli(config, "bounces").stdout.endswith("\n1 new message read\n")
    dry = json.loads(cli(config, "run", "--dry-run", "--json").stdout)
    assert {d["recipient"] for d in dry["delivered"]} == {"listed@example.com", "soft@example.fi"}


@pytest.mark.slow
def test_bounces_read_with_no_return_path_per_reader_are_warned_about(tmp_path):
    """With no `{token}` in delivery.return_path, a bounce is believed by the address it
    names: a plain message from anyone ("550 5.1.1 user unknown" under Subject "hello") and
    a hand-made feedback report stopped two readers, and no run said a word of it."""
    config = setup(tmp_path, f"maildir: {tmp_path}/bounces")
    box = mailbox.Maildir(tmp_path / "bounces", create=True)
    box.add(
        b"From: attacker@evil.example\nSubject: hello\n\nDelivery to the following recipient"
        b" failed permanently:\n\n     userx@example.com\n\n550 5.1.1 user unknown\n"
    )
    box.add(arf("ann@example.org", "ann@example.org"))
    assert cli(config, "bounces").returncode == 0
    stopped = statuses(config)  # as the README says: the address a bounce names is believed
    assert (stopped["userx@example.com"], stopped["ann@example.org"]) == ("bounced", "complained")
    done = cli(config, "run", "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    warning = "bounces are read with no return path per reader, so any message to that mailbox"
    assert warning in done.stderr and any(warning in n for n in json.loads(done.stdout)["notes"])
    config.write_text(
        config.read_text().replace(
            "bounces:\n", '  return_path: "bounces+{token}@example.com"\nbounces:\n'
        )
    )
    assert warning not in cli(config, "run", "--dry-run").stderr


@pytest.mark.slow
def test_a_message_too_large_for_a_bounce_is_left_alone_unparsed(tmp_path):
    """Parsing a message takes about 13 times its size: a 40 MB "bounce" anyone can mail to the
    mailbox took 524 MB, enough to kill `run` on a small host before it sent anything, and
    again every run (a message is marked read once read). One over 5 MB is not parsed."""
    config = setup(tmp_path, f"maildir: {tmp_path}/bounces")
    box = mailbox.Maildir(tmp_path / "bounces", create=True)
    dsn = (BOUNCES / "dsn_13.txt").read_bytes()  # hard (5.1.1), userx@example.com
    box.add(dsn + b"\n" + b"x" * 6 * 2**20)
    result = cli(config, "bounces", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["read"] == 1 and report["events"] == []
    [ignored] = report["ignored"]
    assert ignored.endswith(": 6 MB, too large for a bounce of ours, left alone")
    assert statuses(config)["userx@example.com"] == "active"
    assert json.loads(cli(config, "bounces", "--json").stdout)["read"] == 0  # read once


@pytest.mark.slow
def test_soft_bounces_stop_mail_at_the_third_within_30_days(tmp_path):
    config = setup(tmp_path, f"mbox: {tmp_path}/bounces.mbox")
    box = mailbox.mbox(tmp_path / "bounces.mbox")
    raw = (BOUNCES / "dsn_17.txt").read_bytes()  # a temporary failure of userx@example.fi
    for n in range(3):
        box.add(
            raw.replace(b"userx@example.fi", b"soft@example.fi") + b"\n" + bytes(str(n), "ascii")
        )
        box.flush()
        cli(config, "bounces")
        expected = "bounced" if n == 2 else "active"
        assert statuses(config)["soft@example.fi"] == expected, n
    box.close()


@pytest.mark.slow
def test_a_verp_address_names_the_reader_whatever_the_bounce_says(tmp_path):
    """A bounce of a forwarded address: the failed address is not the reader's, the VERP
    envelope sender the bounce came back to is."""
    import sqlite3

    config = setup(tmp_path, f"maildir: {tmp_path}/bounces")
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        token = db.execute(
            "SELECT token FROM subscribers WHERE email='ann@example.org'"
        ).fetchone()[0]
    verp = f"bounces+{SIGNER.verp(token)}@example.com"
    raw = (BOUNCES / "postfix_01.txt").read_bytes()
    raw = b"Delivered-To: " + verp.encode() + b"\n" + raw
    box = mailbox.Maildir(tmp_path / "bounces", create=True)
    box.add(raw)
    assert cli(config, "bounces").returncode == 0
    assert statuses(config)["ann@example.org"] == "bounced"
    assert SIGNER.open_verp(SIGNER.verp(token).upper()) == token  # servers may change case


@pytest.mark.slow
def test_a_hostile_message_stops_nothing_and_a_forged_bounce_is_not_believed(tmp_path):
    """One message nested 3,000 deep once stopped every `bounces` and every `run` for good
    (the Maildir was parsed to read its flags, outside the guard). And with a return path
    per reader, a bounce not sent back to one, or a complaint quoting no message of ours,
    names an address anyone can write: it is left alone."""
    import sqlite3

    config = write_config(
        tmp_path,
        8080,
        '  return_path: "bounces+{token}@example.com"\n'
        f"bounces:\n  maildir: {tmp_path}/bounces\n",
    )
    for address in ("userx@example.com", "ann@example.org", "soft@example.fi"):
        assert cli(config, "readers", "add", address).returncode == 0
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        token = db.execute(
            "SELECT token FROM subscribers WHERE email='soft@example.fi'"
        ).fetchone()[0]
    db.close()
    deep = b"Content-Type: multipart/mixed; boundary=b0\n\n" + b"".join(
        b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (n, n + 1) for n in range(3000)
    )
    verp = f"bounces+{SIGNER.verp(token)}@example.com".encode()
    box = mailbox.Maildir(tmp_path / "bounces", create=True)
    box.add(deep)
    box.add((BOUNCES / "dsn_01.txt").read_bytes())  # names userx@example.com, no token
    box.add(arf("ann@example.org", "ann@example.org"))  # quotes no message of ours
    box.add(b"Delivered-To: " + verp + b"\n" + (BOUNCES / "postfix_01.txt").read_bytes())
    result = cli(config, "bounces", "--json")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    report = json.loads(result.stdout)
    assert report["read"] == 4
    assert sorted(re.sub(r"^\S+: ", "", line) for line in report["ignored"]) == [
        "cannot be read as a bounce (RecursionError)",
        "names ann@example.org but no reader's return path or link: left alone "
        "(anyone can write such a message)",
        "names userx@example.com but no reader's return path or link: left alone "
        "(anyone can write such a message)",
    ]
    assert statuses(config) == {
        "userx@example.com": "active",
        "ann@example.org": "active",
        "soft@example.fi": "bounced",
    }
    assert json.loads(cli(config, "bounces", "--json").stdout)["read"] == 0  # each read once
    assert not list((tmp_path / "bounces" / "new").iterdir())
    dry = cli(config, "run", "--dry-run")
    assert dry.returncode == 0, dry.stderr


@pytest.mark.slow
def test_run_sends_with_a_verp_envelope_and_a_5xx_at_rcpt_is_a_hard_bounce(tmp_path):
    from smtp_server import Behaviour, SmtpServer

    server = SmtpServer(behaviour=Behaviour(reject={"gone@example.org": "550 5.1.1 no such user"}))
    server.start()
    try:
        config = write_config(
            tmp_path,
            8080,
            f"""  return_path: "bounces+{{token}}@example.com"
  smtp: {{host: 127.0.0.1, port: {server.port}, security: none}}
""",
        )
        for address in ("gone@example.org", "ann@example.org"):
            assert cli(config, "readers", "add", address).returncode == 0
        ran = cli(config, "run", "--json")
        assert ran.returncode == 0, ran.stderr
        assert statuses(config)["gone@example.org"] == "bounced"
        senders = {m.rcpt_tos[0]: m.mail_from for m in server.messages}
        assert senders["ann@example.org"].startswith("bounces+")
        assert senders["ann@example.org"] != senders["listed@example.com"]
        assert "gone@example.org" not in senders
    finally:
        server.stop()


@pytest.mark.slow
def test_a_refusal_by_policy_stops_nobody(tmp_path):
    """X.7.X says our message or server was refused, not the reader's address: a relay that
    will not relay for us (a real Postfix, `554 5.7.1 Relay access denied` at every RCPT)
    once made every reader `bounced` in one run, and Gmail's spam block (550 5.7.1, in a
    real Exim DSN) one more each time."""
    import os

    from postfix import Postfix, available

    why = available()
    if why:
        pytest.fail(why) if os.environ.get("CI") else pytest.skip(why)
    mta = Postfix(free_port(), mynetworks="127.0.0.2/32").start()  # we are not among them
    try:
        config = setup(tmp_path, f"maildir: {tmp_path}/bounces")
        config.write_text(
            config.read_text().replace(
                "  outbox:", f"  smtp: {{host: 127.0.0.1, port: {mta.port}, security: none}}\n  #"
            )
        )
        ran = cli(config, "run", "--json")
        assert "554 5.7.1 <ann@example.org>: Relay access denied" in ran.stderr
    finally:
        mta.stop()
    assert set(statuses(config).values()) == {"active"}
    box = mailbox.Maildir(tmp_path / "bounces", create=True)
    box.add(
        (BOUNCES / "simple_42.txt").read_bytes().replace(b"david...@gmail.com", b"ann@example.org")
    )
    report = json.loads(cli(config, "bounces", "--json").stdout)
    assert [(e["email"], e["kind"], e["status"]) for e in report["events"]] == [
        ("ann@example.org", "blocked", "active")
    ]
    assert set(statuses(config).values()) == {"active"}


def through_postfix(tmp_path, mta):
    """A config that sends through the private Postfix `mta` with a VERP return path, reads
    its bounces Maildir, and lists no addresses of its own."""
    config = write_config(
        tmp_path,
        8080,
        f"""  return_path: "bounces+{{token}}@bounce.test"
  smtp: {{host: 127.0.0.1, port: {mta.port}, security: none}}
bounces:
  maildir: {mta.maildir}
""",
    )
    config.write_text(config.read_text().replace("to: [listed@example.com]", "to: []"))
    return config


@pytest.mark.slow
@pytest.mark.parametrize(
    ("answer", "status"),
    [("452 4.2.2 mailbox full", b"Status: 4.2.2"), ("552 5.2.2 over quota", b"Status: 5.2.2")],
)
def test_a_full_mailbox_is_a_soft_bounce(tmp_path, answer, status):
    """A reader's mailbox is full. Answered 452 4.2.2 until a real Postfix gives up on the
    message, its DSN says `Action: failed` with `Status: 4.2.2`, which stopped the reader at
    once as if the address did not exist; answered 552 5.2.2 (Dovecot's and Exchange's
    over-quota answer) it stopped them too, yet the mailbox empties when its owner reads it."""
    import os

    from postfix import Postfix, available
    from smtp_server import Behaviour, SmtpServer

    why = available()
    if why:
        pytest.fail(why) if os.environ.get("CI") else pytest.skip(why)
    full = {"full@remote.test": answer}
    deferred = answer.startswith("4")
    remote = SmtpServer(
        behaviour=Behaviour(defer_always=full) if deferred else Behaviour(reject=full)
    ).start()
    # give up after the first try (the default is 5 days)
    settings = "maximal_queue_lifetime = 0\nbounce_queue_lifetime = 0\n"
    mta = Postfix(remote.port, settings=settings).start()
    try:
        config = through_postfix(tmp_path, mta)
        assert cli(config, "readers", "add", "full@remote.test").returncode == 0
        assert cli(config, "run").returncode == 0
        [dsn] = mta.wait_for_bounce()
        assert b"Action: failed" in dsn.read_bytes() and status in dsn.read_bytes()
        report = json.loads(cli(config, "bounces", "--json").stdout)
        assert [(e["email"], e["kind"], e["status"]) for e in report["events"]] == [
            ("full@remote.test", "soft", "active")
        ]
    finally:
        mta.stop()
        remote.stop()


@pytest.mark.slow
def test_a_missing_mailbox_is_one_clear_error(tmp_path):
    config = setup(tmp_path, f"maildir: {tmp_path}/nowhere")
    result = cli(config, "bounces")
    assert result.returncode == 1 and "not a Maildir" in result.stderr
    assert "Traceback" not in result.stderr
    shutil.rmtree(tmp_path / "outbox", ignore_errors=True)


@pytest.mark.slow
def test_a_maildir_whose_messages_cannot_be_moved_is_still_read_once(tmp_path):
    """A Maildir digest may read but not change (here: no cur/ to move a message into) stopped
    `bounces` and every `run` with a traceback: the state's record of each message read is
    enough."""
    config = setup(tmp_path, f"maildir: {tmp_path}/bounces")
    (tmp_path / "bounces" / "new").mkdir(parents=True)
    (tmp_path / "bounces" / "new" / "1.eml").write_bytes((BOUNCES / "dsn_13.txt").read_bytes())
    result = cli(config, "bounces", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["read"] == 1
    assert statuses(config)["userx@example.com"] == "bounced"
    again = cli(config, "bounces", "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["read"] == 0


@pytest.mark.slow
def test_real_postfix_bounces_come_back_to_the_verp_address_and_stop_the_reader(tmp_path):
    """A private Postfix on loopback: an unknown local user is refused at RCPT (a hard bounce
    at once); a remote refusal comes back later as Postfix's own DSN to the reader's VERP
    address, lands in the bounces Maildir, and `digest bounces` stops that reader."""
    import os

    from postfix import Postfix, available
    from smtp_server import Behaviour, SmtpServer

    why = available()
    if why:
        pytest.fail(why) if os.environ.get("CI") else pytest.skip(why)
    remote = SmtpServer(behaviour=Behaviour(reject={"gone@remote.test": "550 5.1.1 no such user"}))
    remote.start()
    mta = Postfix(remote.port).start()
    try:
        config = through_postfix(tmp_path, mta)
        for address in ("ann@remote.test", "gone@remote.test", "nosuchuser@local.test"):
            assert cli(config, "readers", "add", address).returncode == 0
        ran = cli(config, "run", "--json")
        assert ran.returncode == 0, ran.stderr
        assert statuses(config)["nosuchuser@local.test"] == "bounced"  # 550 at RCPT
        assert statuses(config)["gone@remote.test"] == "active"  # Postfix took it
        mta.wait_for_bounce()
        report = json.loads(cli(config, "bounces", "--json").stdout)
        assert [(e["email"], e["kind"], e["status"]) for e in report["events"]] == [
            ("gone@remote.test", "hard", "bounced")
        ]
        assert statuses(config)["ann@remote.test"] == "active"
        assert remote.count_for()["ann@remote.test"] == 1
    finally:
        mta.stop()
        remote.stop()


@pytest.mark.slow
def test_an_imap_mailbox_over_tls_is_read_once_and_a_wrong_password_is_one_clear_error(
    tmp_path, monkeypatch
):
    import os

    from dovecot import PASSWORD, Dovecot, available

    why = available()
    if why:
        pytest.fail(why) if os.environ.get("CI") else pytest.skip(why)
    imap = Dovecot().start()
    try:
        imap.deliver("bounces", (BOUNCES / "dsn_13.txt").read_bytes())  # userx@example.com
        config = imap_setup(tmp_path, monkeypatch, imap.port, imap.ca_file, "wrong")
        refused = cli(config, "bounces")
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        assert f"imaps://127.0.0.1:{imap.port}/INBOX" in refused.stderr
        monkeypatch.setenv("DIGEST_TEST_IMAP_PASSWORD", PASSWORD)
        report = json.loads(cli(config, "bounces", "--json").stdout)
        assert [(e["email"], e["status"]) for e in report["events"]] == [
            ("userx@example.com", "bounced")
        ]
        assert json.loads(cli(config, "bounces", "--json").stdout)["read"] == 0  # marked seen
    finally:
        imap.stop()


def test_every_token_makes_a_verp_address_that_leads_back_to_it():
    """Whatever random state token (base64url: `-` and `_` too), in any letter case."""
    import secrets

    from digest.tokens import BadToken

    for _ in range(500):
        token = secrets.token_urlsafe(24)
        address = f"bounces+{SIGNER.verp(token)}@example.com"
        assert re.fullmatch(r"bounces\+[a-z2-7]+-[0-9a-f]{16}@example\.com", address)
        assert len(address.split("@")[0]) <= 64  # RFC 5321's limit for a local part
        assert SIGNER.open_verp(SIGNER.verp(token).upper()) == token
        with pytest.raises(BadToken):
            Signer(b"another-secret-0123456789").open_verp(SIGNER.verp(token))


@pytest.mark.slow
def test_a_bounce_naming_no_address_stops_nothing_in_a_postgresql_state(tmp_path, pg_url):
    """A bounce whose failed "address" holds a NUL (anyone can mail the bounces mailbox) was
    looked up as a reader: PostgreSQL refuses NUL in text, so `bounces` and every `run` stopped
    on it, and the bounces after it were never read."""
    config = setup(tmp_path, f"maildir: {tmp_path}/bounces")
    config.write_text(
        re.sub(
            r"(?m)^state: .*$",
            f"state: {pg_url}\nstate_password_env: DIGEST_TEST_PG_PASSWORD",
            config.read_text(),
        )
    )
    assert cli(config, "readers", "add", "userx@example.de").returncode == 0
    raw = (BOUNCES / "qmail_01.txt").read_bytes()  # a hard bounce of userx@example.de
    box = mailbox.Maildir(tmp_path / "bounces", create=True)
    box.add(raw.replace(b"<userx@example.de>:", b"<userx\x00@example.de>:"))
    box.add(raw + b"\n")
    result = cli(config, "bounces", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["read"] == 2
    assert [re.sub(r"^\S+: ", "", line) for line in report["ignored"]] == [
        "names 'userx\\x00@example.de', not an address: left alone"
    ]
    assert statuses(config)["userx@example.de"] == "bounced"


class _ImapThatGoesAway:
    """An IMAP server over TLS on loopback that lists two unseen messages and closes the
    connection when the first is fetched (a restart, an idle timeout)."""

    def __init__(self, folder: Path):
        import socket
        import ssl
        import threading

        import trustme

        ca = trustme.CA()
        self.ca_file = folder / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(self.context)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        answers = {
            "CAPABILITY": b"* CAPABILITY IMAP4rev1\r\n",
            "LOGIN": b"",
            "SELECT": b"* 2 EXISTS\r\n",
            "SEARCH": b"* SEARCH 1 2\r\n",
            "LOGOUT": b"* BYE\r\n",
        }
        while True:
            try:
                conn = self.context.wrap_socket(self.sock.accept()[0], server_side=True)
            except OSError:
                return
            with conn, conn.makefile("rwb") as f:
                f.write(b"* OK IMAP4rev1 ready\r\n")
                f.flush()
                while line := f.readline().decode():
                    tag, *words = line.upper().split()
                    said = next((answers[w] for w in words if w in answers), None)
                    if said is None:  # FETCH: the server goes away
                        break
                    f.write(said + tag.encode() + b" OK done\r\n")
                    f.flush()

    def close(self) -> None:
        self.sock.close()


@pytest.mark.slow
def test_an_imap_server_that_goes_away_mid_read_stops_no_run(tmp_path, monkeypatch):
    """The connection closed while a message was fetched: `bounces` and every `run` stopped
    with a traceback (imaplib's abort), and no digest went out."""
    server = _ImapThatGoesAway(tmp_path)
    try:
        config = imap_setup(tmp_path, monkeypatch, server.port, server.ca_file, "secret")
        where = f"imaps://127.0.0.1:{server.port}/INBOX: the server broke off"
        read = cli(config, "bounces")
        assert read.returncode == 1 and "Traceback" not in read.stderr
        assert where in read.stderr
        run = cli(config, "run", "--json")
        assert run.returncode == 0, run.stderr
        assert {d["status"] for d in json.loads(run.stdout)["delivered"]} == {"sent"}
    finally:
        server.close()


@pytest.mark.slow
@pytest.mark.parametrize("written", ["Отказы", "&BB4EQgQ6BDAENwRL-"], ids=["text", "utf7"])
def test_an_imap_folder_named_in_cyrillic_is_read(tmp_path, monkeypatch, written):
    """`folder: Отказы`: imaplib sends ASCII only, and `bounces` and every `run` stopped with
    UnicodeEncodeError. The name goes as IMAP writes it (modified UTF-7). Written so already
    (how such a folder had to be named before), it was encoded again ("&-BB4E...": no such
    folder, and every run noted bounces not read)."""
    import os
    import pwd

    from dovecot import PASSWORD, Dovecot, available

    why = available()
    if why:
        pytest.fail(why) if os.environ.get("CI") else pytest.skip(why)
    imap = Dovecot().start()
    try:
        imap.deliver("bounces", b"Subject: hello\n\nnot a bounce\n")  # makes the Maildir
        folder = imap.root / "mail" / "bounces" / "Maildir" / ".&BB4EQgQ6BDAENwRL-"  # Отказы
        for sub in ("new", "cur", "tmp"):
            (folder / sub).mkdir(parents=True)
        (folder / "new" / "1.digest-test").write_bytes((BOUNCES / "dsn_13.txt").read_bytes())
        owner = pwd.getpwnam("dovecot")
        for path in [folder, *folder.iterdir(), *(folder / "new").iterdir()]:
            os.chown(path, owner.pw_uid, owner.pw_gid)
        config = imap_setup(
            tmp_path, monkeypatch, imap.port, imap.ca_file, PASSWORD, folder=written
        )
        result = cli(config, "bounces", "--json")
        assert result.returncode == 0, result.stderr
        assert [(e["email"], e["status"]) for e in json.loads(result.stdout)["events"]] == [
            ("userx@example.com", "bounced")
        ]
    finally:
        imap.stop()


@pytest.mark.slow
def test_an_imap_password_in_cyrillic_logs_in(tmp_path, monkeypatch):
    """A password with letters past ASCII: imaplib's LOGIN sends ASCII only, and `bounces`
    and every `run` stopped with UnicodeEncodeError."""
    import os

    import dovecot

    why = dovecot.available()
    if why:
        pytest.fail(why) if os.environ.get("CI") else pytest.skip(why)
    monkeypatch.setattr(dovecot, "PASSWORD", "пароль-для-отказов")
    imap = dovecot.Dovecot().start()
    try:
        imap.deliver("bounces", (BOUNCES / "dsn_13.txt").read_bytes())  # userx@example.com
        config = imap_setup(tmp_path, monkeypatch, imap.port, imap.ca_file, "пароль-для-отказов")
        result = cli(config, "bounces", "--json")
        assert result.returncode == 0, result.stderr
        assert [(e["email"], e["status"]) for e in json.loads(result.stdout)["events"]] == [
            ("userx@example.com", "bounced")
        ]
        monkeypatch.setenv("DIGEST_TEST_IMAP_PASSWORD", "не-тот-пароль")
        refused = cli(config, "bounces")
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
    finally:
        imap.stop()
