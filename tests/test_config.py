"""Config loading: the shipped file works; every error names file, line and key."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT

from digest.config import KEYS, load_config
from digest.errors import ConfigError
from digest.recipients import read_recipients
from digest.text import normalize_address

GOOD = """\
title: Test Daily
timezone: Asia/Almaty
sources:
  - pages/*.txt
state: ../var/state.sqlite3
delivery:
  from: "Test Daily <digest@example.com>"
  to: [reader@example.com]
  outbox: ../var/outbox
"""


def write(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "cfg"
    (folder / "pages").mkdir(parents=True, exist_ok=True)
    (folder / "pages" / "a.txt").write_text("08 December 2025\n")
    path = folder / "digest.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def error_of(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return info.value


def test_shipped_config_loads_and_resolves_paths_against_its_folder():
    config = load_config(ROOT / "config" / "digest.yaml")
    assert config.title == "Central Asia Daily"
    assert config.sources[0].value == str(ROOT / "seeds" / "*.txt")
    assert config.state == ROOT / "var" / "digest.sqlite3"
    assert config.delivery.outbox == ROOT / "var" / "outbox"
    assert config.delivery.smtp is None
    assert config.selection.max_articles == 12


def test_relative_paths_resolve_against_the_config_folder_not_the_cwd(tmp_path, monkeypatch):
    path = write(tmp_path, GOOD)
    monkeypatch.chdir(tmp_path)
    config = load_config(path)
    assert config.sources[0].value == str(path.parent / "pages" / "*.txt")
    assert config.state == tmp_path / "var" / "state.sqlite3"


def test_home_and_env_references_expand_in_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGEST_TEST_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = load_config(
        write(
            tmp_path,
            GOOD.replace(
                "state: ../var/state.sqlite3", "state: ${DIGEST_TEST_DIR}/state.sqlite3"
            ).replace("outbox: ../var/outbox", "outbox: ~/outbox"),
        )
    )
    assert config.state == tmp_path / "elsewhere" / "state.sqlite3"
    assert config.delivery.outbox == tmp_path / "home" / "outbox"


def test_unset_env_reference_is_an_error_naming_the_key(tmp_path, monkeypatch):
    monkeypatch.delenv("DIGEST_NOT_SET", raising=False)
    e = error_of(tmp_path, GOOD.replace("../var/state.sqlite3", "${DIGEST_NOT_SET}/s.db"))
    assert (e.line, e.key) == (5, "state") and "DIGEST_NOT_SET" in str(e)


def test_unknown_key_names_key_and_line(tmp_path):
    e = error_of(
        tmp_path,
        GOOD.replace(
            "  to: [reader@example.com]", "  to: [reader@example.com]\n  bcc: [x@example.com]"
        ),
    )
    assert (e.line, e.key) == (9, "delivery.bcc")
    assert "unknown key" in str(e) and str(e).startswith(str(e.path))


def test_unknown_top_level_key(tmp_path):
    e = error_of(tmp_path, GOOD + "colour: blue\n")
    assert (e.line, e.key) == (10, "colour")


@pytest.mark.parametrize(
    ("replace", "by", "line", "key", "words"),
    [
        (
            "title: Test Daily",
            "title: Test Daily\nselection:\n  max_articles: many",
            3,
            "selection.max_articles",
            "whole number",
        ),
        (
            "title: Test Daily",
            "title: Test Daily\nskip_empty: sometimes",
            2,
            "skip_empty",
            "true or false",
        ),
        ("timezone: Asia/Almaty", "timezone: Mars/Olympus", 2, "timezone", "unknown time zone"),
        (
            "title: Test Daily",
            'title: Test Daily\nschedule: "0 7 * *"',
            2,
            "schedule",
            "needs 5 fields",
        ),
        ("title: Test Daily", 'title: Test Daily\nschedule: "0 25 * * *"', 2, "schedule", "hour"),
        (
            "title: Test Daily",
            'title: Test Daily\nschedule: "0 7 * * 8"',
            2,
            "schedule",
            "day-of-week",
        ),
        ("  - pages/*.txt", "  - nowhere/*.txt", 4, "sources[0]", "matches no file"),
        ("title: Test Daily", "title: Test Daily\ncatch_up: all", 2, "catch_up", "latest | none"),
        (
            '  from: "Test Daily <digest@example.com>"',
            "  from: not-an-address",
            7,
            "delivery.from",
            "not an email address",
        ),
        ("title: Test Daily", "title: [Test, Daily]", 1, "title", "single value"),
    ],
)
def test_bad_values_name_line_and_key(tmp_path, replace, by, line, key, words):
    e = error_of(tmp_path, GOOD.replace(replace, by))
    assert (e.line, e.key) == (line, key)
    assert words in str(e)


def test_missing_password_env_is_an_error_only_when_smtp_is_used(tmp_path, monkeypatch):
    monkeypatch.delenv("DIGEST_TEST_PASSWORD", raising=False)
    smtp_block = (
        "  smtp:\n    host: 127.0.0.1\n    port: 2525\n    username: digest\n"
        "    password_env: DIGEST_TEST_PASSWORD\n"
    )
    config = load_config(write(tmp_path, GOOD + smtp_block))
    smtp = config.delivery.smtp
    assert smtp is not None  # loading is fine: nothing has been sent yet
    with pytest.raises(ConfigError) as info:
        smtp.password()
    located = config.lines.locate(info.value)  # the values carry no lines: the loader's map has
    assert (located.path, located.line) == (str(config.path), 14)
    assert located.key == "delivery.smtp.password_env" and "DIGEST_TEST_PASSWORD" in str(located)
    monkeypatch.setenv("DIGEST_TEST_PASSWORD", "s3cret")
    assert smtp.password() == "s3cret"


def test_password_may_not_be_written_in_the_file(tmp_path):
    e = error_of(tmp_path, GOOD + "  smtp:\n    host: x\n    password: hunter2\n")
    assert e.key == "delivery.smtp.password" and "hunter2" not in str(e)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://digest:hunter2@db.example/digest",
        "postgresql://digest@db.example/digest?password=hunter2",  # libpq takes it there too
        "postgres://digest@db.example:bad/digest?sslmode=require&password=hunter2",
    ],
)
def test_a_state_url_may_not_hold_the_password(tmp_path, url):
    e = error_of(tmp_path, GOOD.replace("../var/state.sqlite3", url))
    assert e.key == "state" and "holds a password" in str(e) and "hunter2" not in str(e)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("postgresql://digest@db.example:99999/digest", "Port out of range 0-65535"),
        ("postgresql://digest@db.example:bad/digest", "Port could not be cast"),
        ("postgresql://digest@[::1/digest", "Invalid IPv6 URL"),
    ],
)
def test_a_state_url_whose_host_or_port_cannot_be_read_is_refused_saying_why(tmp_path, url, why):
    e = error_of(tmp_path, GOOD.replace("../var/state.sqlite3", url))
    assert e.key == "state" and f"not a usable PostgreSQL URL ({why}" in str(e)


def test_invalid_yaml_names_the_line(tmp_path):
    e = error_of(tmp_path, "title: [unclosed\nsources: []\n")
    assert e.line is not None and "not valid YAML" in str(e)


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b"])
def test_a_control_character_in_the_file_names_its_line(tmp_path, char):
    """A NUL or an escape pasted from a terminal was "special characters are not allowed
    in "<unicode string>", position 281": no line."""
    e = error_of(tmp_path, GOOD.replace("to: [reader@example.com]", f"to: [reader{char}@x.org]"))
    assert e.line == 8 and f"U+{ord(char):04X}" in str(e) and "position" not in str(e)


def test_a_file_not_in_utf8_names_its_line(tmp_path):
    """A config saved as Windows-1252 ("ANSI") said "cannot read the configuration file
    ('utf-8' codec can't decode byte 0x97 in position 31: ...)": a byte offset, no line."""
    path = write(tmp_path, GOOD)
    path.write_bytes(GOOD.replace("Test Daily\n", "Test Daily \u2014 news\n", 1).encode("cp1252"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    e = info.value
    assert e.line == 1 and "0x97" in str(e) and "position" not in str(e) and "UTF-8" in e.hint


def test_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml")
    assert "no such configuration file" in str(info.value) and info.value.hint


def test_sections_keep_their_order(tmp_path):
    config = load_config(
        write(
            tmp_path,
            GOOD
            + textwrap.dedent("""\
        selection:
          sections:
            Kazakhstan: [Kazakhstan, Astana]
            Uzbekistan: [Uzbekistan]
        """),
        )
    )
    assert [name for name, _ in config.selection.sections] == ["Kazakhstan", "Uzbekistan"]


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ("state_password_env: 'hunter2 !'\n", "state_password_env"),
        (
            "  smtp: {host: h, username: u, password_env: 'hunter2 !'}\n",
            "delivery.smtp.password_env",
        ),
        (
            "bounces:\n  imap: {host: h, user: u, password_env: 'hunter2 !'}\n",
            "bounces.imap.password_env",
        ),
        (
            "summary:\n  llm: {base_url: 'http://127.0.0.1/v1', model: m, api_key_env: 'hunter2 !'}\n",
            "summary.llm.api_key_env",
        ),
    ],
)
def test_a_secret_written_where_its_variables_name_goes_is_refused_and_not_repeated(
    tmp_path, extra, key
):
    """Only `web.secret_env` was checked to be a variable's name: a password written in
    `password_env` was taken as one, and the error when a run needed it printed the password
    ("environment variable hunter2 ! is not set")."""
    e = error_of(tmp_path, GOOD + extra)
    assert e.key == key and "must name an environment variable" in str(e)
    assert "hunter2" not in str(e)


@pytest.mark.parametrize(
    ("extra", "key", "words"),
    [
        ("title: !!python/object:os.system ls\n", "title", "cannot read this value"),
        ("title: !!binary aGVsbG8=\n", "title", "must be text"),
        ("title: 2026-02-30\n", "title", "day is out of range for month"),
        ("title: !!int abc\n", "title", "cannot read this value"),
        ("title: !!float 1,5\n", "title", "cannot read this value"),
        ("title: !!bool maybe\n", "title", "cannot read this value"),
        ("title: !!timestamp nope\n", "title", "cannot read this value"),
        ("? [a, b]\n: 1\n", None, "plain name"),
        ("selection:\n  lookback_days: 100000000\n", "selection.lookback_days", "at most"),
    ],
)
def test_odd_yaml_is_a_clear_error_not_a_crash(tmp_path, extra, key, words):
    text = GOOD.replace("title: Test Daily\n", "") + extra
    e = error_of(tmp_path, text)
    assert words in str(e) and e.key == key


@pytest.mark.parametrize(
    ("extra", "key", "words"),
    [
        ("timezone: " + "x" * 5000, "timezone", "unknown time zone"),
        ("  recipients: " + "x" * 5000 + "\n", "delivery.recipients", "File name too long"),
        (
            "  dkim:\n    domain: a.example\n    selector: s\n    key_file: " + "k" * 5000 + "\n",
            "delivery.dkim.key_file",
            "File name too long",
        ),
    ],
)
def test_a_value_too_long_for_a_file_name_is_a_clear_error(tmp_path, extra, key, words):
    """ZoneInfo and Path.is_dir raise OSError (ENAMETOOLONG) for such a name, not False."""
    text = GOOD.replace("timezone: Asia/Almaty", extra) if "timezone" in extra else GOOD + extra
    e = error_of(tmp_path, text)
    assert e.key == key and words in str(e)


@pytest.mark.parametrize(
    ("old", "new", "key", "hint"),
    [
        (
            "state: ../var/state.sqlite3",
            "state: sqlite:///var/state.sqlite3",
            "state",
            "write the path itself: /var/state.sqlite3",
        ),
        ("state: ../var/state.sqlite3", "state: mysql://u@db/d", "state", "write a path"),
        ("  - pages/*.txt", "  - feed: file:///srv/feed.xml", "sources[0].feed", "/srv/feed.xml"),
        ("  outbox: ../var/outbox", "  outbox: file:///srv/outbox", "delivery.outbox", "/srv"),
    ],
)
def test_a_url_other_than_http_or_postgresql_where_a_path_goes_is_refused(
    tmp_path, old, new, key, hint
):
    """`state: sqlite:///var/x` once made a folder `sqlite:` beside the config and kept the
    state there; `feed: file:///x` said "no such feed file: <config folder>/file:/x"."""
    e = error_of(tmp_path, GOOD.replace(old, new))
    assert e.key == key and "URL" in e.what and hint in str(e)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("state: ../var/state.sqlite3", 'state: "../var/a\\x00b"', "state"),
        ("  outbox: ../var/outbox", '  outbox: "../var/out\\x00box"', "delivery.outbox"),
        ("state: ../var/state.sqlite3", 'archive:\n  folder: "a\\x00b"', "archive.folder"),
        ("  - pages/*.txt", '  - "pages/\\x00*.txt"', "sources[0]"),
    ],
)
def test_a_control_character_in_a_path_names_its_key(tmp_path, old, new, key):
    """A NUL written in a quoted path ("a\\x00b") loaded, then `run` (state, outbox) and
    `digest archive` stopped with a traceback: ValueError: embedded null byte."""
    e = error_of(tmp_path, GOOD.replace(old, new))
    assert e.key == key and "control character" in str(e) and "\x00" not in str(e)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("state: ../var/state.sqlite3", 'state: ""', "state"),
        ("  outbox: ../var/outbox", '  outbox: ""', "delivery.outbox"),
        ("state: ../var/state.sqlite3", 'archive:\n  folder: " "', "archive.folder"),
        ("state: ../var/state.sqlite3", "state: pages", "state"),
    ],
)
def test_an_empty_path_is_an_error_not_the_configs_folder(tmp_path, old, new, key):
    """`outbox: ""` was the config's own folder: `run` wrote its messages beside the config;
    `state: ""` stopped every run with "<folder>: cannot read the state file (Is a
    directory)", naming no key or line; so did `state:` naming a folder."""
    e = error_of(tmp_path, GOOD.replace(old, new))
    assert e.key == key and e.line and ("is empty" in str(e) or "is a folder" in str(e))


@pytest.mark.parametrize(
    ("source", "key", "words"),
    [
        ("  - https://example.com/rss.xml", "sources[0]", "feed:"),
        ("  - path: https://example.com/rss.xml", "sources[0].path", "feed:"),
        ("  - feed: pages/*.xml", "sources[0].feed", "`path:`"),
    ],
)
def test_a_feed_address_or_pattern_in_the_wrong_place_says_where_it_goes(
    tmp_path, source, key, words
):
    """A feed's address written as a bare source said "pattern matches no file:
    https://example.com/rss.xml"; a pattern under `feed:` said "no such feed file"."""
    e = error_of(tmp_path, GOOD.replace("  - pages/*.txt", source))
    assert e.key == key and words in (e.hint or "") and "matches no file" not in str(e)


@pytest.mark.parametrize(
    "address",
    [
        "https://news.google.com/rss/search?q=Kazakhstan&hl=en-US&gl=US&ceid=US:en",
        "https://akipress.example/?feed=rss2",
        "https://example.com/feeds/[news].xml",
    ],
)
def test_a_feed_address_with_a_query_is_a_feed_not_a_pattern(tmp_path, address):
    """1548610 took every `feed:` with a "?" (Google News's RSS, WordPress's "?feed=rss2")
    for a pattern of files: "a feed is one file or address, not a pattern", exit 2."""
    config = load_config(write(tmp_path, GOOD.replace("  - pages/*.txt", f'  - feed: "{address}"')))
    assert [s.value for s in config.sources] == [address]


@pytest.mark.parametrize("timeout", ["0", "-1", ".inf", "7200"])
def test_smtp_timeout_must_be_sensible(tmp_path, timeout):
    e = error_of(tmp_path, GOOD + f"  smtp:\n    host: x\n    timeout: {timeout}\n")
    assert e.key == "delivery.smtp.timeout" and "3600" in str(e)


def test_international_sender_domain_is_sent_in_ascii(tmp_path):
    config = load_config(write(tmp_path, GOOD.replace("digest@example.com", "d@exämple.com")))
    assert config.delivery.from_addr == "Test Daily <d@xn--exmple-cua.com>"
    e = error_of(tmp_path, GOOD.replace("digest@example.com", "dïgest@example.com"))
    assert e.key == "delivery.from" and "ASCII" in str(e)


@pytest.mark.parametrize(
    "sender", ["digest@@example.com", "di gest@example.com", "digest.@example.com", "@example.com"]
)
def test_the_sender_is_an_address_as_readers_addresses_are(tmp_path, sender):
    """One rule says what a usable address is (text.normalize_address): `from:` takes no
    address that `to:`, the CSV or the sign-up form would refuse; only a one-label domain,
    as the default "digest@localhost" has, is a sender's alone."""
    e = error_of(tmp_path, GOOD.replace("digest@example.com", sender))
    assert e.key == "delivery.from" and "not an email address" in str(e)
    assert normalize_address(sender) is None
    local = load_config(write(tmp_path, GOOD.replace("digest@example.com", "digest@localhost")))
    assert local.delivery.from_addr == "Test Daily <digest@localhost>"
    assert normalize_address("digest@localhost") is None  # no reader's address


def test_a_ca_file_holding_no_certificate_is_a_config_error_not_an_unreachable_relay(tmp_path):
    """A key or a DER file given as `ca_file` made every run fail with "the SMTP relay
    127.0.0.1:2525 cannot be reached", and the next run did the same."""
    config = write(tmp_path, GOOD + "  smtp: {host: 127.0.0.1, ca_file: key.pem}\n")
    (config.parent / "key.pem").write_text(
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert info.value.key == "delivery.smtp.ca_file" and "holds no certificate" in str(info.value)


def test_a_recipients_file_that_is_a_folder_or_missing_says_which(tmp_path):
    (tmp_path / "lists").mkdir()
    e = error_of(tmp_path, GOOD + f"  recipients: {tmp_path / 'lists'}\n")
    assert e.key == "delivery.recipients" and "is a folder, not a file" in str(e)
    e = error_of(tmp_path, GOOD + f"  recipients: {tmp_path / 'gone.csv'}\n")
    assert e.key == "delivery.recipients" and "no such recipients file" in str(e)


def test_password_over_an_unencrypted_link_is_refused_except_on_loopback(tmp_path):
    block = (
        "  smtp:\n    host: {host}\n    security: none\n    username: u\n"
        "    password_env: DIGEST_TEST_PASSWORD\n"
    )
    e = error_of(tmp_path, GOOD + block.format(host="smtp.example.com"))
    assert e.key == "delivery.smtp.security" and "clear text" in str(e)
    for host in ("127.0.0.1", "127.0.0.2", "localhost", "'::1'"):
        assert load_config(write(tmp_path, GOOD + block.format(host=host))).delivery.smtp, host
    for host in ("10.0.0.1", "localhost.example.com", "127.0.0.1.example.com"):
        assert "clear text" in str(error_of(tmp_path, GOOD + block.format(host=host))), host


# --- issue 15: ports, line breaks, documented keys, the default var/ ------------------------


@pytest.mark.parametrize("port", ["0", "70000", "65536"])
def test_smtp_port_must_be_1_to_65535_and_names_its_line(tmp_path, port):
    e = error_of(tmp_path, GOOD + f"  smtp:\n    host: x\n    port: {port}\n")
    assert (e.key, e.line) == ("delivery.smtp.port", 12)
    assert port in str(e)
    ok = load_config(write(tmp_path, GOOD + "  smtp:\n    host: x\n    port: 65535\n"))
    assert ok.delivery.smtp.port == 65535


@pytest.mark.parametrize(
    "to",
    [
        '"reader@example.com\\r\\nBcc: everyone@example.com"',
        '["a@example.com", "b@example.com\\nBcc: c@example.com"]',
    ],
)
def test_a_line_break_in_delivery_to_is_refused_naming_the_entry(tmp_path, to):
    e = error_of(tmp_path, GOOD.replace("to: [reader@example.com]", f"to: {to}"))
    assert e.line == 8 and e.key.startswith("delivery.to")
    assert "line break" in str(e)


def test_delivery_to_entries_keep_their_lines(tmp_path):
    config = load_config(
        write(
            tmp_path, GOOD.replace("to: [reader@example.com]", "to:\n    - a@x.org\n    - b@y.org")
        )
    )
    assert config.delivery.to == ("a@x.org", "b@y.org")
    assert (config.lines.line("delivery.to[0]"), config.lines.line("delivery.to[1]")) == (9, 10)
    assert config.lines.file.endswith("digest.yaml")


def test_a_bad_address_in_delivery_to_is_named_by_the_line_map(tmp_path):
    to = "to:\n    - a@x.org\n    - bad@@x"
    config = load_config(write(tmp_path, GOOD.replace("to: [reader@example.com]", to)))
    recipients, problems = read_recipients(config.delivery, lines=config.lines)
    assert [r.address for r in recipients] == ["a@x.org"]
    assert [str(p) for p in problems] == [
        f"{config.path}:10: delivery.to: not a valid email address: 'bad@@x'; skipped"
    ]


def documented_keys(text: str) -> set[str]:
    """Dotted keys the example config names, set or commented out (`# key: ...`), by
    their indentation; a list entry's keys (`- feed:`) count under the list's key."""
    return set(documented_values(text))


def test_every_key_the_loader_accepts_is_documented_in_the_example_config():
    documented = documented_keys((ROOT / "config" / "digest.yaml").read_text(encoding="utf-8"))
    missing = [
        f"{section.replace('[]', '')}.{key}".lstrip(".")
        for section, keys in KEYS.items()
        for key in sorted(keys)
        if f"{section.replace('[]', '')}.{key}".lstrip(".") not in documented
    ]
    assert missing == [], (
        f"keys the loader accepts but config/digest.yaml does not describe: {missing}"
    )


def test_the_key_check_sees_nesting_and_comments():
    text = "delivery:\n  # smtp:\n  #   host: x\n  #   ca_file: null\nsources:\n  # - feed: u\n"
    assert {"delivery.smtp.host", "delivery.smtp.ca_file", "sources.feed"} <= documented_keys(text)
    assert "delivery.host" not in documented_keys(text)


def _minimal(folder: Path) -> Path:
    (folder / "pages").mkdir(parents=True, exist_ok=True)
    (folder / "pages" / "a.txt").write_text("08 December 2025\n")
    path = folder / "digest.yaml"
    path.write_text("sources: [pages/*.txt]\n")
    return path


def test_default_var_is_beside_a_config_outside_a_config_folder(tmp_path):
    config = load_config(_minimal(tmp_path / "some" / "dir"))
    var = tmp_path / "some" / "dir" / "var"
    assert config.state == var / "digest.sqlite3"
    assert config.delivery.outbox == var / "outbox"
    assert config.project_root == tmp_path / "some" / "dir"


def test_default_var_is_the_project_root_for_a_config_in_config(tmp_path):
    config = load_config(_minimal(tmp_path / "project" / "config"))
    var = tmp_path / "project" / "var"
    assert config.state == var / "digest.sqlite3"
    assert config.delivery.outbox == var / "outbox"
    assert config.project_root == tmp_path / "project"
    shipped = load_config(ROOT / "config" / "digest.yaml")
    assert shipped.project_root == ROOT


def test_feed_naming_a_folder_and_folder_naming_a_file_say_so(tmp_path):
    path = write(tmp_path, GOOD.replace("  - pages/*.txt", "  - feed: pages"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "is a folder, not a feed file" in str(info.value) and info.value.line == 4
    path = write(tmp_path, GOOD.replace("  - pages/*.txt", "  - folder: pages/a.txt"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "is a file, not a folder" in str(info.value) and info.value.line == 4


def unprivileged(function):
    """`function()`'s result as an ordinary user sees it: as root (who reads every folder) it
    runs in a forked child that has become `nobody`, so a mode-000 folder is unreadable."""
    import os
    import pickle

    if os.geteuid() != 0:
        return function()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop to nobody, run, send the outcome back, and leave
        try:
            os.close(read_end)
            os.setgid(65534)
            os.setuid(65534)
            try:
                outcome = ("value", function())
            except Exception as e:  # noqa: BLE001 - any error is the outcome sent back
                outcome = ("error", f"{type(e).__name__}: {e}")
            os.write(write_end, pickle.dumps(outcome))
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    kind, value = pickle.loads(data)
    assert kind == "value", value
    return value


@pytest.fixture
def locked_folder():
    """A folder (in a world-readable place) that its owner may not list: mode 000."""
    import shutil
    import tempfile

    top = Path(tempfile.mkdtemp(prefix="digest-locked-"))
    top.chmod(0o755)
    locked = top / "locked"
    locked.mkdir()
    (locked / "a.txt").write_text("08 December 2025\n")
    (locked / "feed.xml").write_text("<rss/>")
    config = top / "digest.yaml"
    locked.chmod(0o000)
    yield top, locked, config
    locked.chmod(0o755)
    shutil.rmtree(top)


@pytest.mark.parametrize(
    "source", ["locked/*.txt", "folder: locked", "feed: locked/feed.xml"], ids=str
)
def test_an_unreadable_folder_is_named_as_unreadable(locked_folder, source):
    top, locked, config = locked_folder
    config.write_text(f"sources:\n  - {source}\n")
    config.chmod(0o644)

    def load():
        try:
            load_config(config)
        except ConfigError as e:
            return ("config-error", str(e), e.line)
        return ("loaded",)

    kind, message, line = unprivileged(load)
    assert kind == "config-error" and line == 2
    assert f"cannot read the folder {locked}" in message
    assert "matches no file" not in message and "no such" not in message


def test_reading_an_unreadable_folder_says_so(locked_folder):
    from digest.sources import read_paths

    top, locked, _ = locked_folder
    kind, problems = unprivileged(
        lambda: ("read", [str(p) for p in read_paths([str(locked)]).problems])
    )
    assert problems == [f"{locked}: cannot read the folder (Permission denied)"]


# --- issue 22: one schema, one table of defaults, file:line everywhere ----------------------


def documented_values(text: str) -> dict[str, tuple[str, str]]:
    """What the example config writes for each dotted key (set or commented out): the value
    as written ("" for a section) and the line's comment."""
    out: dict[str, tuple[str, str]] = {}
    stack: list[tuple[int, str]] = []
    line_re = re.compile(
        r"^(?P<lead>\s*)(?:#(?P<hash>\s*))?(?P<dash>-\s+)?(?P<key>[a-z_]+):(?:\s+(?P<rest>.*))?$"
    )
    for line in text.splitlines():
        m = line_re.match(line)
        if not m:
            continue
        depth = len(m["lead"]) + (max(len(m["hash"]) - 1, 0) if m["hash"] is not None else 0)
        depth += len(m["dash"] or "")
        while stack and stack[-1][0] >= depth:
            stack.pop()
        value, _, comment = (m["rest"] or "").partition(" #")
        out.setdefault(".".join([k for _, k in stack] + [m["key"]]), (value.strip(), comment))
        stack.append((depth, m["key"]))
    return out


def test_the_example_config_writes_every_default_the_schema_has():
    """One table of defaults: each key with a default (not None, empty or false) is written in
    config/digest.yaml with that very value, or says `(default: X)` in its comment; the var/
    paths it writes are the ones paths.py gives."""
    from dataclasses import MISSING

    from digest.config import read_value, settings
    from digest.paths import default_outbox, default_state
    from digest.rules import NO_RULES

    shipped = ROOT / "config" / "digest.yaml"
    written = documented_values(shipped.read_text(encoding="utf-8"))
    wrong, checked = [], 0
    for key, default, check in settings():
        if default in (MISSING, None, (), False, NO_RULES) or hasattr(check, "schema"):
            continue
        value, comment = written[key]
        said = re.search(r"\(default: ([^)]*)\)", comment)
        text = said[1] if said else value
        checked += 1
        if read_value(check, text, shipped) != default:
            wrong.append(f"{key}: {text!r} is not the default {default!r}")
    assert wrong == [] and checked >= 25

    config = load_config(shipped)
    for key, resolved in [
        ("state", default_state(config.folder)),
        ("delivery.outbox", default_outbox(config.folder)),
        ("archive.folder", replace_folder(config, None).archive_folder()),
    ]:
        assert read_value(lambda node: node.expand(node.string()), written[key][0], shipped) == (
            str(resolved)
        ), key


def replace_folder(config, folder):
    import dataclasses

    return dataclasses.replace(config, archive=dataclasses.replace(config.archive, folder=folder))


def test_a_config_made_without_the_loader_has_the_same_defaults(tmp_path):
    """The dataclass defaults are the defaults: no other place fills them in."""
    from digest.config import Config

    path = _minimal(tmp_path / "project" / "config")
    loaded, made = load_config(path), Config(path=path.resolve(), sources=())
    assert (made.state, made.delivery.outbox) == (loaded.state, loaded.delivery.outbox)
    assert made.selection == loaded.selection and made.summary == loaded.summary
    assert (made.title, made.timezone, made.schedule, made.language) == (
        loaded.title,
        loaded.timezone,
        loaded.schedule,
        loaded.language,
    )


@pytest.mark.parametrize(
    ("block", "line", "key", "words"),
    [
        # wrong types, deep down
        ("  smtp:\n    host: x\n    retries: three\n", 12, "delivery.smtp.retries", "whole number"),
        ("  smtp:\n    host: x\n    port: [25]\n", 12, "delivery.smtp.port", "single value"),
        ("  smtp:\n    host: x\n    timeout: soon\n", 12, "delivery.smtp.timeout", "seconds"),
        ("  smtp:\n    host: [a, b]\n", 11, "delivery.smtp.host", "single value"),
        ("  smtp: smtp.example.com\n", 10, "delivery.smtp", "mapping"),
        ("  dkim:\n    domain: example.com\n", 11, "delivery.dkim", "missing key `selector`"),
        ("  smtp:\n    port: 25\n", 11, "delivery.smtp", "missing key `host`"),
        # unknown keys in nested sections, each at its own line
        ("  smtp:\n    host: x\n    tls: yes\n", 12, "delivery.smtp.tls", "unknown key"),
        ("  smtp:\n    host: x\n    host: y\n", 12, "delivery.smtp.host", "key given twice"),
        (
            "  dkim:\n    domain: d\n    selector: s\n    key: k\n",
            13,
            "delivery.dkim.key",
            "unknown",
        ),
    ],
)
def test_nested_errors_name_their_own_line_and_dotted_key(tmp_path, block, line, key, words):
    e = error_of(tmp_path, GOOD + block)
    assert (e.line, e.key) == (line, key), str(e)
    assert words in str(e) and str(e).startswith(f"{e.path}:{line}: {key}: ")


@pytest.mark.parametrize(
    ("extra", "line", "key", "words"),
    [
        (
            "summary:\n  llm:\n    base_url: http://x/v1\n    modle: m\n",
            13,
            "summary.llm.modle",
            "unknown",
        ),
        ("summary:\n  llm:\n    model: m\n", 12, "summary.llm", "missing key `base_url`"),
        ("summary:\n  backend: llm\n", 11, "summary.backend", "needs a `summary.llm` block"),
        ("fetch:\n  per_host: 17\n", 11, "fetch.per_host", "at most 16"),
        ("fetch:\n  timeout: true\n", 11, "fetch.timeout", "seconds, not True"),
        ("bounces:\n  imap:\n    host: h\n    user: u\n", 12, "bounces.imap", "`password_env`"),
        ("bounces:\n  maildir: a\n  mbox: b\n", 11, "bounces", "name one mailbox"),
        ("bounces:\n  pop3: x\n", 11, "bounces.pop3", "unknown key"),
        ("archive:\n  keep: some\n", 11, "archive.keep", "`all` or a number"),
        ("web:\n  secret_env: my secret\n", 11, "web.secret_env", "environment variable"),
        ("selection:\n  sections:\n    News: []\n", 12, "selection.sections.News", "no keyword"),
        ("selection:\n  sections:\n    A: [a]\n    A: [b]\n", 13, "selection.sections.A", "twice"),
        ("selection:\n  sections:\n    News: ['']\n", 12, "selection.sections.News", "empty"),
        ("selection:\n  sections:\n    '': [a]\n", 12, "selection.sections.", "must be text"),
        ("selection:\n  sections:\n    ~: [a]\n", 12, "selection.sections.~", "must be text"),
        ("selection:\n  sections:\n    ? [a, b]\n    : [x]\n", 12, "selection.sections", "list"),
        ("selection:\n  include: [/(/]\n", 11, "selection.include[0]", "regular expression"),
        ("state_lease_seconds: 0\n", 10, "state_lease_seconds", "at least 1"),
        ("state_deliveries_days: 0\n", 10, "state_deliveries_days", "at least 1"),
        (
            "state_deliveries_days: forever\n",
            10,
            "state_deliveries_days",
            "`all` or a number of days",
        ),
        ("language: xx\n", 10, "language", "no catalogue"),
    ],
)
def test_every_section_keeps_file_line_and_key(tmp_path, extra, line, key, words):
    e = error_of(tmp_path, GOOD + extra)
    assert (e.line, e.key) == (line, key), str(e)
    assert words in str(e)


@pytest.mark.parametrize(
    ("extra", "line", "key"),
    [
        ('archive:\n  url: "http://[news.example/archive/"\n', 11, "archive.url"),
        ('web:\n  url: "https://[news.example/"\n  secret_env: S\n', 11, "web.url"),
        ('  unsubscribe_url: "https://[news.example/u/{token}"\n', 10, "delivery.unsubscribe_url"),
    ],
)
def test_an_address_urllib_cannot_split_is_a_config_error(tmp_path, extra, line, key):
    """A bracket never closed ("http://[news.example/") made urllib raise inside the checks of
    a site's address, and every command stopped on a traceback: they ask text.is_web_url,
    the one rule for an http(s) address, as `link:` and `feed:` do."""
    e = error_of(tmp_path, GOOD + extra)
    assert (e.line, e.key) == (line, key), str(e)
    assert "must be" in str(e)


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("bounces+{token}@Новости.рф", "bounces+{token}@xn--b1amnebsh.xn--p1ai"),
        ("bounces@example.com", "bounces@example.com"),
        ("bounces+{token}@-bad-.example.com", None),
        ("bounces+{token}@a..example.com", None),
        ("bounces+{token}{token}@example.com", None),
    ],
)
def test_the_return_path_is_an_address_as_from_is(tmp_path, written, read):
    """delivery.return_path had an address rule of its own: an IDN domain, which `from:` takes
    and writes in ASCII, was "not an address", and a domain no server has (`-bad-.`, `a..`)
    went out as the envelope sender of every message. It is read by text.normalize_address."""
    text = GOOD + f'  return_path: "{written}"\n'
    if read is None:
        e = error_of(tmp_path, text)
        assert e.key == "delivery.return_path" and "must be an address" in str(e)
    else:
        assert load_config(write(tmp_path, text)).delivery.return_path == read


def test_a_return_path_too_long_for_a_reader_s_token_is_refused(tmp_path):
    """With each reader's token in it (56 characters), "newsletter-bounces+{token}@" made a
    local part of 75 characters, over the 64 RFC 5321 lets servers refuse: every message's
    envelope sender could be refused, and the config took it. It is a config error now."""
    from digest.state.store import reader_token
    from digest.tokens import VERP_LENGTH, Signer

    signer = Signer(b"a secret of some length")
    assert {len(signer.verp(reader_token())) for _ in range(200)} == {VERP_LENGTH}
    text = GOOD + '  return_path: "newsletter-bounces+{token}@example.com"\n'
    e = error_of(tmp_path, text)
    assert e.key == "delivery.return_path" and "75 characters" in str(e) and "64" in str(e)
    fits = GOOD + '  return_path: "bounces+{token}@example.com"\n'  # 8 + 56 = 64
    assert load_config(write(tmp_path, fits)).delivery.return_path == "bounces+{token}@example.com"


def test_a_source_entry_keeps_its_keys_lines(tmp_path):
    entry = "  - path: pages/*.txt\n    name: Pages\n    max_per_source: 0\n"
    e = error_of(tmp_path, GOOD.replace("  - pages/*.txt\n", entry))
    assert (e.line, e.key) == (6, "sources[0].max_per_source") and "at least 1" in str(e)
    e = error_of(tmp_path, GOOD.replace("  - pages/*.txt\n", "  - path: pages/*.txt\n    url: x\n"))
    assert (e.line, e.key) == (5, "sources[0].url") and "known keys here" in str(e)


@pytest.mark.parametrize("entry", ['path: ""', 'folder: " "', 'feed: ""'])
def test_an_empty_source_path_is_a_config_error_not_the_config_s_folder(tmp_path, entry):
    """`path: ""` read the config's own folder: with no page there the run ended with exit 1
    ("nothing could be read"), nothing said of the line that caused it."""
    e = error_of(tmp_path, GOOD.replace("  - pages/*.txt\n", f"  - {entry}\n    name: A\n"))
    assert (e.line, e.key) == (4, f"sources[0].{entry.split(':')[0]}"), str(e)
    assert "is empty" in str(e) and '"."' in str(e)
    e = error_of(tmp_path, GOOD.replace("  - pages/*.txt\n", '  - ""\n'))
    assert (e.line, e.key) == (4, "sources[0]") and "is empty" in str(e)


def test_sources_health_names_the_line_each_source_is_written_on(tmp_path):
    from digest.sources.health import source_health

    text = GOOD.replace(
        "  - pages/*.txt\n", "  - pages/*.txt\n  -\n    name: A\n    path: pages/a.txt\n"
    )
    config = load_config(write(tmp_path, text))
    assert [s["line"] for s in source_health(config)] == [4, 7]


@pytest.mark.slow
def test_an_unset_password_variable_found_while_sending_names_file_and_line(tmp_path, monkeypatch):
    """The relay asks for the password only when a run really sends: the error then still
    names the config file and the line of `password_env` (from the loader's line map)."""
    from smtp_server import SmtpServer

    from digest import pipeline

    monkeypatch.delenv("DIGEST_TEST_UNSET_PASSWORD", raising=False)
    with SmtpServer(tmp_path, starttls=True, users={"digest": "pw"}) as server:
        path = tmp_path / "digest.yaml"
        path.write_text(
            f"sources: [{ROOT / 'seeds' / '*.txt'}]\n"
            "delivery:\n"
            "  to: [reader@example.com]\n"
            "  smtp:\n"
            "    host: 127.0.0.1\n"
            f"    port: {server.port}\n"
            f"    ca_file: {server.ca_file}\n"
            "    username: digest\n"
            "    password_env: DIGEST_TEST_UNSET_PASSWORD\n"
        )
        config = load_config(path)
        with pytest.raises(ConfigError) as info:
            pipeline.run(config)
        assert server.messages == []
    e = info.value
    assert (e.path, e.line, e.key) == (str(path.resolve()), 9, "delivery.smtp.password_env")
    assert str(e).startswith(f"{path.resolve()}:9: delivery.smtp.password_env: environment var")


@pytest.mark.slow
def test_a_yaml_syntax_error_says_what_was_expected_where(tmp_path):
    e = error_of(tmp_path, "title: [unclosed\nsources: []\n")
    assert e.line == 2 and "not valid YAML: expected ',' or ']', but got ':'" in str(e)
    e = error_of(tmp_path, "sources:\n\t- a\n")
    assert e.line == 2 and "'\\t'" in str(e)
    # nested past what libyaml takes, and then past Python's stack: one message, no traceback
    e = error_of(tmp_path, "title: " + "[" * 1500 + "]" * 1500 + "\n")
    assert str(e).endswith("not valid YAML: nested too deeply")
