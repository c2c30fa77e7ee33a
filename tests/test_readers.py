"""The readers' records on both databases: statuses, consent, the rules of coming back, and
bounce thresholds (digest/state/readers.py)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time

import pytest

from digest.readers import export_csv
from digest.state import Store
from digest.state.readers import ReaderStatus


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def store(request, tmp_path):
    if request.param == "sqlite":
        with Store.open(tmp_path / "state.sqlite3") as s:
            yield s
        return
    url = request.getfixturevalue("pg_url")
    with Store.open(url, password_env="DIGEST_TEST_PG_PASSWORD") as s:
        yield s


def test_a_sign_up_is_pending_until_confirmed_with_its_proof_of_consent(store):
    readers = store.readers()
    reader = readers.sign_up("Ann@Example.org", "Ann", "192.0.2.7")
    assert reader.status == ReaderStatus.PENDING and reader.consent_ip == "192.0.2.7"
    assert "ann@example.org" in readers.blocked()
    confirmed = readers.confirm(reader.token, int(time.time()))
    assert confirmed.status == ReaderStatus.ACTIVE and confirmed.confirmed_at
    assert readers.sign_up("ann@example.org", None, "192.0.2.8") is None  # already reading
    assert [r.email for r in readers.sendable()] == ["ann@example.org"]


def test_an_unsubscribed_reader_comes_back_only_by_confirming_again(store):
    readers = store.readers()
    reader = readers.add_by_operator("bob@example.org")
    readers.set_status(reader.email, ReaderStatus.UNSUBSCRIBED, "web")
    with pytest.raises(ValueError, match="confirming a new sign-up"):
        readers.add_by_operator("bob@example.org")
    assert readers.add_listed([("bob@example.org", None)], "config") == 0  # a list can't either
    again = readers.sign_up("bob@example.org", None, "192.0.2.9")
    assert again.status == ReaderStatus.PENDING
    # signed up again by anyone, they are not the operator's to re-add before they confirm
    with pytest.raises(ValueError, match="confirming a new sign-up"):
        readers.add_by_operator("bob@example.org")
    # a link made for a sign-up before this one (before they left) confirms nothing
    signed_up = dt.datetime.fromisoformat(again.consent_at).timestamp()
    assert readers.confirm(again.token, int(signed_up) - 3600).status == ReaderStatus.PENDING
    assert readers.confirm(again.token, int(time.time())).status == ReaderStatus.ACTIVE


def test_soft_bounces_count_within_the_window_hard_and_complaints_at_once(store):
    readers = store.readers()
    for address in ("soft@example.org", "hard@example.org", "spam@example.org"):
        readers.add_by_operator(address)
    assert readers.bounce("soft@example.org", "soft", "4.2.2 full").status == "active"
    assert readers.bounce("soft@example.org", "soft", "4.2.2 full").status == "active"
    assert readers.bounce("soft@example.org", "soft", "4.2.2 full").status == "bounced"
    assert readers.bounce("hard@example.org", "hard", "5.1.1 unknown").status == "bounced"
    assert readers.bounce("spam@example.org", "complaint", "abuse").status == "complained"
    assert readers.bounce("stranger@example.org", "hard", "5.1.1") is None
    assert readers.blocked_among(["Soft@example.org", "other@example.org"]) == {"Soft@example.org"}


def test_a_pause_ends_by_itself(store):
    readers = store.readers()
    readers.add_by_operator("p@example.org")
    readers.set_status("p@example.org", ReaderStatus.PAUSED, "reader", "2000-01-01")
    assert [r.email for r in readers.sendable()] == ["p@example.org"]  # its date has passed
    # and reads as active wherever it is listed (`readers list`, `export --status active`)
    assert readers.get("p@example.org").status == ReaderStatus.ACTIVE
    assert [r.email for r in readers.all("active")] == ["p@example.org"]
    assert readers.all("paused") == []
    readers.set_status("p@example.org", ReaderStatus.PAUSED, "reader", "2999-01-01")
    assert readers.sendable() == [] and readers.blocked() == {"p@example.org"}
    assert readers.get("p@example.org").status == ReaderStatus.PAUSED
    assert [r.email for r in readers.all("paused")] == ["p@example.org"]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def state_lines(request, tmp_path) -> str:
    """A config's `state:` (and its password's variable) on either database."""
    if request.param == "sqlite":
        return f"state: {tmp_path / 's.sqlite3'}\n"
    url = request.getfixturevalue("pg_url")
    return f"state: {url}\nstate_password_env: DIGEST_TEST_PG_PASSWORD\n"


def test_a_pause_ends_when_its_day_begins_in_the_digests_timezone(state_lines, tmp_path):
    """A reader who pauses "until 19 March" gets the issue dated 19 March, not the one dated
    18 March, whatever the UTC date is when each goes out. The pause ended at midnight UTC:
    in New York the 18 March issue of a 21:30 slot (01:30 UTC) went to the reader, in Sydney
    the 19 March issue of a 07:00 slot (20:00 UTC the day before) did not."""
    from zoneinfo import ZoneInfo

    from digest.config import load_config

    utc = dt.datetime.now(dt.UTC)
    # 12 hours behind UTC before noon UTC, 14 ahead after: either way another day than UTC's
    zone = "Etc/GMT+12" if utc.hour < 12 else "Pacific/Kiritimati"
    today = dt.datetime.now(ZoneInfo(zone)).date()
    assert today != utc.date()
    (tmp_path / "page.txt").write_text("", encoding="utf-8")
    config_file = tmp_path / "digest.yaml"
    config_file.write_text(f"title: T\nsources: ['*.txt']\ntimezone: {zone}\n{state_lines}")
    with Store.for_config(load_config(config_file)) as store:
        readers = store.readers()
        for who, until in (("ends-today", today), ("ends-tomorrow", today + dt.timedelta(1))):
            readers.add_by_operator(f"{who}@example.org")
            readers.set_status(
                f"{who}@example.org", ReaderStatus.PAUSED, "reader", until.isoformat()
            )
        assert [r.email for r in readers.sendable()] == ["ends-today@example.org"]
        assert readers.blocked() == {"ends-tomorrow@example.org"}
        assert readers.blocked_among(["ends-today@example.org", "ends-tomorrow@example.org"]) == {
            "ends-tomorrow@example.org"
        }
        assert readers.get("ends-today@example.org").status == ReaderStatus.ACTIVE
        assert readers.get("ends-tomorrow@example.org").status == ReaderStatus.PAUSED


def test_a_readers_name_is_one_line_however_it_comes_in(tmp_path):
    """`readers add --name`, a CSV import and `to:` keep a name by the one rule the digest
    shows text by (text.clean_text): line breaks, tabs, escapes and bidi overrides are gone."""
    from digest import readers
    from digest.config import load_config
    from digest.recipients import recipient_names

    (tmp_path / "page.txt").write_text("", encoding="utf-8")
    csv_file = tmp_path / "readers.csv"
    csv_file.write_text('email,name\nbo@example.org,"Bo\n  Berg\u202e"\n', encoding="utf-8")
    config_file = tmp_path / "digest.yaml"
    config_file.write_text(
        f"title: T\nsources: ['*.txt']\nstate: {tmp_path / 's.sqlite3'}\n"
        "delivery:\n  to: ['Cy\u200b Chan <cy@example.org>']\n",
        encoding="utf-8",
    )
    config = load_config(config_file)
    readers.add(config, "ann@example.org", "Ann\tLee\x1b[31m\r\nBcc: x@example.org")
    readers.import_csv(config, csv_file)
    names = {r.email: r.name for r in readers.list_readers(config)}
    assert names == {
        "ann@example.org": "Ann Lee [31m Bcc: x@example.org",
        "bo@example.org": "Bo Berg",
    }
    assert recipient_names(config.delivery) == {"cy@example.org": "Cy Chan"}


def test_a_reader_signing_up_again_confirms_whatever_the_database_clock_says(tmp_path):
    """On PostgreSQL the store keeps runs on the server's clock; readers' times stay on this
    machine's, as the confirmation link's time is: with the server a minute ahead, a reader
    who left and signed up again could not confirm."""
    from digest.state import Store
    from digest.tokens import Signer

    with Store.open(tmp_path / "state.sqlite3") as store:
        store.clock_skew = 60.0  # what the store measures of a server a minute ahead
        readers = store.readers()
        readers.sign_up("a@example.com", None, "192.0.2.1")
        readers.set_status("a@example.com", ReaderStatus.UNSUBSCRIBED, "left")
        again = readers.sign_up("a@example.com", None, "192.0.2.1")
        signer = Signer(b"x" * 32)
        token, made = signer.open_confirm(signer.confirm(again.token))
        assert readers.confirm(token, made).status == ReaderStatus.ACTIVE


def test_an_export_shows_what_readers_wrote_as_text_never_as_a_spreadsheet_formula(store):
    """A name from the sign-up form, a reason from a remote mail server: opened in Excel,
    "=HYPERLINK(...)" or "=cmd|..." in the export was a formula that ran."""
    readers = store.readers()
    readers.sign_up("-ann@example.org", '=HYPERLINK("https://evil.example/","Ann")', "192.0.2.7")
    readers.add_by_operator("bob@example.org", "@SUM(1+1)")
    readers.add_by_operator("cy@example.org", "Cy - editor")
    rows = list(csv.reader(io.StringIO(export_csv(readers.all()))))
    assert [row[:2] for row in rows[1:]] == [
        ["-ann@example.org", '\'=HYPERLINK("https://evil.example/","Ann")'],
        ["bob@example.org", "'@SUM(1+1)"],
        ["cy@example.org", "Cy - editor"],
    ]


@pytest.mark.parametrize(
    "status",
    ["pending", "active", "paused", "pause-ended", "unsubscribed", "bounced", "complained"],
)
def test_a_sign_up_again_in_each_status(store, status):
    """One statement stores a sign-up whatever the address's status: a reader already
    reading (a pause, ended or not, is reading) is left exactly as they are; any other is
    pending again, consent taken anew from this client, the name kept when the form gives
    none, the token kept (the links already sent name it)."""
    readers = store.readers()
    first = readers.sign_up("r@example.org", "Ann", "192.0.2.1")
    if status != "pending":
        readers.confirm(first.token, int(time.time()))
    if status in ("paused", "pause-ended"):
        until = "2999-01-01" if status == "paused" else "2000-01-01"
        readers.set_status("r@example.org", ReaderStatus.PAUSED, "reader", until)
    elif status == "unsubscribed":
        readers.set_status("r@example.org", ReaderStatus.UNSUBSCRIBED, "web")
    elif status in ("bounced", "complained"):
        readers.bounce("r@example.org", "hard" if status == "bounced" else "complaint", "x")
    before = readers.get("r@example.org")
    again = readers.sign_up("R@example.org", None, "192.0.2.2")
    if status in ("active", "paused", "pause-ended"):
        assert again is None
        assert readers.get("r@example.org") == before
        return
    assert before.status == status
    assert again == readers.get("r@example.org")
    assert (again.status, again.token, again.name) == (ReaderStatus.PENDING, first.token, "Ann")
    assert again.consent_ip == "192.0.2.2" and again.consent_at == again.updated_at
    assert again.confirmed_at is None and again.source == "web"
    assert again.created_at == first.created_at
