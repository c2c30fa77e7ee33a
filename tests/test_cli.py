"""The `digest` command through its real entry point (a subprocess), as scripts use it."""

from __future__ import annotations

import email
import email.policy
import json
import subprocess
from pathlib import Path

import click
import pytest
from conftest import ROOT, SHARED_SEEDS, digest_command, real_pages
from loopback import free_port

from digest.cli import cli


def digest(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*digest_command(), *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


@pytest.mark.slow
def test_help_and_version_work_everywhere():
    for command in (
        [],
        ["parse"],
        ["preview"],
        ["run"],
        ["schedule"],
        ["history"],
        ["unsubscribe"],
    ):
        result = digest(*command, "--help")
        assert result.returncode == 0, result.stderr
        assert "Usage:" in result.stdout
    version = digest("--version")
    assert version.returncode == 0 and "digest, version" in version.stdout


def test_every_command_and_option_says_what_it_does():
    """`digest serve --help` showed "--port INTEGER RANGE  [default: 8080; 0<=x<=65535]" and
    `readers add/remove/import --help` a bare "--json": no word of what they do."""

    def silent(command: click.Command, path: str) -> list[str]:
        found = [] if command.help else [path]
        found += [
            f"{path} {param.opts[0]}"
            for param in command.params
            if isinstance(param, click.Option) and not param.help
        ]
        for name, sub in getattr(command, "commands", {}).items():
            found += silent(sub, f"{path} {name}")
        return found

    assert silent(cli, "digest") == []


@pytest.mark.slow
def test_parse_json_follows_the_contract(shared_seeds):
    result = digest("parse", *map(str, real_pages()), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= {"articles", "rates", "problems"}
    assert len(data["articles"]) == 30
    assert len({a["title"] for a in data["articles"]}) == 23
    for article in data["articles"]:
        assert set(article) >= {"title", "text", "source", "line", "date"}
        assert isinstance(article["line"], int) and isinstance(article["text"], str)
        assert article["date"] in ("2025-12-08", "2025-12-11", "2026-02-21")
        assert article["source"].startswith(str(SHARED_SEEDS))
    assert len(data["rates"]) == 25
    for quote in data["rates"]:
        assert set(quote) >= {"pair", "rate", "change_pct", "source"}
        assert isinstance(quote["rate"], float) and isinstance(quote["change_pct"], float)
    assert "-0.0" in result.stdout  # "-0%" keeps its sign as a JSON number
    assert data["problems"] == []


@pytest.mark.slow
def test_parse_human_table(shared_seeds):
    result = digest("parse", str(real_pages()[0]))
    assert result.returncode == 0
    assert "Tajikistan Intends To Expand" in result.stdout
    assert "6 articles, 5 rate quotes, 0 problems" in result.stdout


@pytest.mark.slow
def test_counts_are_told_in_the_singular_when_one(tmp_path):
    """`parse` of a feed of one item said "1 articles"."""
    feed = tmp_path / "one.xml"
    feed.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>One</title>'
        "<item><title>Only item</title><link>https://one.example/1</link>"
        "<description>Its text.</description></item></channel></rss>"
    )
    result = digest("parse", str(feed))
    assert result.returncode == 0, result.stderr
    assert "1 article, 0 rate quotes, 0 problems" in result.stdout


@pytest.mark.slow
def test_a_run_s_and_the_readers_list_s_counts_of_one_are_singular(tmp_path):
    """3f5fbd5 left "1 articles dated after 2025-11-05 wait for a later digest" (a run's
    warning) and `readers list`'s "1 readers"."""
    feed = tmp_path / "two.xml"
    feed.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Two</title>'
        "<item><title>Kyrgyz parliament passes the 2026 budget</title>"
        "<link>https://two.example/1</link><pubDate>Wed, 05 Nov 2025 09:00:00 GMT</pubDate>"
        "<description>The Jogorku Kenesh passed the budget for 2026 on Wednesday.</description>"
        "</item><item><title>Tajik railway opens a new line to Kulob</title>"
        "<link>https://two.example/2</link><pubDate>Fri, 07 Nov 2025 09:00:00 GMT</pubDate>"
        "<description>The new line cuts the trip from Dushanbe to Kulob to three hours."
        "</description></item></channel></rss>"
    )
    config = tmp_path / "digest.yaml"
    config.write_text(
        f"title: T\nsources: [{{feed: {feed}}}]\nstate: {tmp_path / 's.sqlite3'}\n"
        f'delivery:\n  from: "T <t@example.com>"\n  outbox: {tmp_path / "outbox"}\n'
    )
    assert digest("--config", str(config), "readers", "add", "ann@example.com").returncode == 0
    listed = digest("--config", str(config), "readers", "list")
    assert listed.stdout.splitlines()[-1] == "1 reader", listed.stdout
    run = digest("--config", str(config), "run", "--dry-run", "--as-of", "2025-11-05")
    assert run.returncode == 0, run.stderr
    assert "1 article dated after 2025-11-05 waits for a later digest" in run.stderr


@pytest.mark.slow
def test_parse_bad_file_alone_exits_2_with_one_clear_line(tmp_path):
    bad = tmp_path / "garbage.txt"
    bad.write_bytes(b"\x00\x01\x02 not text")
    result = digest("parse", str(bad), "--json")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert str(bad) in result.stderr
    data = json.loads(result.stdout)
    assert data["articles"] == [] and len(data["problems"]) == 1


@pytest.mark.slow
def test_parse_bad_file_beside_a_good_one_still_reads_the_good_one(tmp_path, shared_seeds):
    bad = tmp_path / "empty.txt"
    bad.write_text("")
    result = digest("parse", str(bad), str(real_pages()[0]), "--json")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert len(data["articles"]) == 6
    assert data["problems"] == [f"{bad}: empty file: no ticker, date or articles"]


@pytest.mark.slow
def test_missing_config_is_exit_2_without_traceback(tmp_path):
    result = digest("--config", str(tmp_path / "nope.yaml"), "preview")
    assert result.returncode == 2
    assert "no such configuration file" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_bad_config_value_is_exit_2_naming_line_and_key(tmp_path):
    config = tmp_path / "digest.yaml"
    config.write_text(
        f"title: T\nsources: [{ROOT / 'seeds'}/*.txt]\nselection:\n  max_articles: lots\n"
    )
    result = digest("--config", str(config), "run")
    assert result.returncode == 2
    assert f"{config}:4: selection.max_articles" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_unknown_command_is_a_usage_error():
    result = digest("frobnicate")
    assert result.returncode == 2 and "No such command" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("value", ["yesterday", "2025-13-01"])
def test_bad_as_of_is_a_usage_error(value):
    result = digest("preview", "--as-of", value)
    assert result.returncode == 2 and "--as-of" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    "args", [("schedule", "--next", "99999999999"), ("history", "--limit", "9" * 20)]
)
def test_a_count_past_any_list_is_a_usage_error(args):
    """--next 99999999999 once counted slots for minutes before it overflowed, and --limit
    past SQLite's integers raised."""
    result = digest(*args)
    assert result.returncode == 2 and args[1] in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_run_whose_sources_all_fail_exits_1_with_a_json_report(tmp_path):
    port = free_port()
    config = tmp_path / "digest.yaml"
    config.write_text(
        f"title: T\nsources:\n  - feed: http://127.0.0.1:{port}/feed.xml\n"
        f"state: {tmp_path / 's.sqlite3'}\ndelivery:\n  to: [a@example.com]\n"
        f"  outbox: {tmp_path / 'outbox'}\n"
    )
    result = digest("--config", str(config), "run", "--json")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "nothing could be read" in result.stderr and f"127.0.0.1:{port}" in result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "failed" and "nothing could be read" in report["message"]


@pytest.mark.slow
def test_several_addresses_in_one_to_entry_are_all_read(tmp_path):
    config = tmp_path / "digest.yaml"
    config.write_text(
        f"title: T\nsources: [{ROOT / 'seeds'}/*.txt]\nstate: {tmp_path / 's.sqlite3'}\n"
        'delivery:\n  to: ["a@example.com, B <b@example.com>"]\n'
        f"  outbox: {tmp_path / 'outbox'}\n"
    )
    result = digest("--config", str(config), "run", "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    recipients = [d["recipient"] for d in json.loads(result.stdout)["delivered"]]
    assert recipients == ["a@example.com", "b@example.com"]


@pytest.mark.slow
def test_run_with_no_recipients_is_a_config_error_and_sends_nothing(tmp_path):
    config = tmp_path / "digest.yaml"
    config.write_text(
        f"title: T\nsources: [{ROOT / 'seeds'}/*.txt]\nstate: {tmp_path / 's.sqlite3'}\n"
        f"delivery:\n  outbox: {tmp_path / 'outbox'}\n"
    )
    result = digest("--config", str(config), "run")
    assert result.returncode == 2 and "no one to send to" in result.stderr
    assert not (tmp_path / "outbox").exists()


@pytest.mark.slow
def test_the_readme_examples_run_as_written(tmp_path):
    """The commands in the README's Examples block, on a copy of the project's defaults."""
    import re
    import shlex
    import shutil

    readme = (ROOT / "README.md").read_text()
    block = readme.split("Examples:", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [re.sub(r"\s+#.*$", "", line).strip() for line in block.strip().splitlines()]
    assert len(commands) >= 4 and all(c.startswith("digest ") for c in commands)
    shutil.copytree(ROOT / "config", tmp_path / "config")
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    for command in commands:
        args = shlex.split(command)[1:]
        if args[0] == "parse":
            args = ["parse", *map(str, sorted((tmp_path / "seeds").glob("*.txt"))), *args[2:]]
        result = digest(*args, cwd=tmp_path)
        assert result.returncode == 0, (command, result.stderr)
        assert "Traceback" not in result.stderr


# --- issue 15: what the command line prints, recipients, refusals -----------------------------


def sample_config(tmp_path, delivery: str) -> Path:
    config = tmp_path / "digest.yaml"
    config.write_text(
        f"title: T\nsources: [{ROOT / 'seeds'}/*.txt]\nstate: {tmp_path / 's.sqlite3'}\n"
        f'delivery:\n  from: "T <t@example.com>"\n{delivery}'
        f"  outbox: {tmp_path / 'outbox'}\n",
        encoding="utf-8",
    )
    return config


@pytest.mark.slow
def test_parse_text_mode_prints_each_rate_quote_s_date(tmp_path):
    result = digest("parse", str(ROOT / "seeds" / "2025-11-04_front.txt"))
    assert result.returncode == 0, result.stderr
    rate_lines = [line for line in result.stdout.splitlines() if "/USD = " in line]
    assert len(rate_lines) == 5
    assert all(line.startswith("2025-11-04  ") for line in rate_lines), rate_lines


@pytest.mark.slow
def test_unsubscribe_refuses_a_line_break_naming_the_argument(tmp_path):
    config = sample_config(tmp_path, "  to: [a@example.com]\n")
    result = digest(
        "--config", str(config), "unsubscribe", "--email", "a@example.com\r\nBcc: b@example.com"
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "EMAIL" in result.stderr and "line break" in result.stderr


@pytest.mark.slow
def test_unsubscribing_an_address_no_reader_has_says_so(tmp_path):
    """A typo in `unsubscribe --email` passed for done: the address is kept out, and said to
    be no reader's."""
    config = sample_config(tmp_path, "  to: [ann@example.com]\n")
    assert digest("--config", str(config), "readers", "list").returncode == 0
    known = digest("--config", str(config), "unsubscribe", "--email", "ann@example.com")
    assert known.stdout.strip() == "ann@example.com will not get digests any more"
    typo = digest("--config", str(config), "unsubscribe", "--email", "anne@example.com")
    assert typo.returncode == 0
    assert "anne@example.com (no reader had it: it is kept out)" in typo.stdout


@pytest.mark.slow
def test_invalid_to_addresses_are_warned_once_with_their_line(tmp_path):
    config = sample_config(
        tmp_path, '  to:\n    - good@example.com\n    - "bad@@x"\n    - not-an-address\n'
    )
    result = digest("--config", str(config), "run", "--dry-run")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: {config}:8: delivery.to: not a valid email address: 'bad@@x'; skipped",
        f"warning: {config}:9: delivery.to: not a valid email address: 'not-an-address'; skipped",
    ]
    dry_lines = [line for line in result.stdout.splitlines() if "dry-run" in line]
    assert dry_lines == ["  good@example.com: dry-run"]  # no trailing space


@pytest.mark.slow
@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "run"])
def test_only_bad_addresses_exit_2_naming_them(tmp_path, dry_run):
    config = sample_config(tmp_path, '  to: ["bad@@x", "also bad"]\n')
    result = digest("--config", str(config), "run", *(["--dry-run"] if dry_run else []))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    error = result.stderr.strip().splitlines()[-2 if "hint" in result.stderr else -1]
    assert "no one to send to" in result.stderr
    assert "'bad@@x'" in result.stderr and "'also bad'" in result.stderr
    assert f"{config}:6: delivery.to: not a valid email address: 'bad@@x'" in result.stderr, error
    assert not (tmp_path / "outbox").exists()


@pytest.mark.slow
@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "run"])
def test_a_bad_dkim_key_or_an_outbox_that_is_a_file_exits_2_naming_the_line(tmp_path, dry_run):
    """A dry run meets what sending would meet first (it once passed both, and the real run
    then failed), and the error names the config's line, not only the key file."""
    key = tmp_path / "dkim.pem"
    key.write_text("not a key\n")
    config = sample_config(
        tmp_path,
        "  to: [a@example.com]\n"
        f"  dkim:\n    domain: example.com\n    selector: digest\n    key_file: {key}\n",
    )
    args = ("--config", str(config), "run", *(["--dry-run"] if dry_run else []))
    result = digest(*args)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{config}:10: delivery.dkim.key_file: cannot sign with the DKIM key {key}" in (
        result.stderr
    )
    preview = digest("--config", str(config), "preview", "--out", str(tmp_path / "p"))
    assert preview.returncode == 2 and f"{config}:10: delivery.dkim.key_file:" in preview.stderr
    outbox = tmp_path / "outbox.txt"
    outbox.write_text("a file\n")
    config.write_text(config.read_text().split("  dkim:")[0] + f"  outbox: {outbox}\n")
    result = digest(*args)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{config}:7: delivery.outbox: the outbox {outbox} is not a folder" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "run"])
def test_an_outbox_name_too_long_for_the_file_system_exits_2_naming_the_line(tmp_path, dry_run):
    """Path.exists raises ENAMETOOLONG for a name over 255 bytes: it was a traceback."""
    outbox = tmp_path / ("o" * 300)
    config = sample_config(tmp_path, "  to: [a@example.com]\n")
    config.write_text(config.read_text().replace(str(tmp_path / "outbox"), str(outbox)))
    result = digest("--config", str(config), "run", *(["--dry-run"] if dry_run else []))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{config}:7: delivery.outbox: cannot use the outbox {outbox}" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("command", [["parse"], ["readers", "import"]])
def test_a_path_argument_too_long_for_the_file_system_is_one_line(tmp_path, command):
    """Path.is_dir / is_file raise ENAMETOOLONG for a name over 255 bytes: a traceback."""
    config = sample_config(tmp_path, "")
    name = "p" * 300
    result = digest("--config", str(config), *command, name, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert name in result.stderr


@pytest.mark.slow
def test_state_copy_to_a_malformed_url_is_one_line(tmp_path):
    """urlsplit raises ValueError for `postgresql://u@[::1/d` (an unclosed IPv6 bracket):
    it was a traceback from the password-less URL printed in messages."""
    config = sample_config(tmp_path, "")
    result = digest("--config", str(config), "state", "copy", "--to", "postgresql://u@[::1/d")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--to 'postgresql://u@[::1/d': not a usable PostgreSQL URL" in result.stderr
    hidden = digest("--config", str(config), "state", "copy", "--to", "postgresql://u:pw@[::1/d")
    assert hidden.returncode == 2 and "pw" not in hidden.stderr  # refused before it is quoted


@pytest.mark.slow
def test_dry_run_shows_the_recipients_file_s_problems(tmp_path):
    (tmp_path / "list.csv").write_text("email,name\na@example.com,Ann\nnobody,X\n")
    config = sample_config(tmp_path, f"  recipients: {tmp_path / 'list.csv'}\n")
    result = digest("--config", str(config), "run", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert f"{tmp_path / 'list.csv'}:3: not a valid email address: 'nobody'" in result.stderr
    assert "  a@example.com: dry-run" in result.stdout.splitlines()


@pytest.mark.slow
def test_a_semicolon_csv_is_read_and_its_names_go_in_to_encoded(tmp_path):
    (tmp_path / "list.csv").write_text(
        "email;name\nann@example.com;Ann Ünal\n"
        'eve@example.com;"Eve\r\nBcc: evil@example.com"\nbad-address;Nobody\n',
        encoding="utf-8",
    )
    config = sample_config(
        tmp_path,
        f'  to: ["Carl Smith <carl@example.com>"]\n  recipients: {tmp_path / "list.csv"}\n',
    )
    result = digest("--config", str(config), "run")
    assert result.returncode == 0, result.stderr
    assert "delivery.to" not in result.stderr  # a file's problem is blamed on the file
    assert f"{tmp_path / 'list.csv'}:5: not a valid email address: 'bad-address'" in result.stderr
    heads = {}
    for eml in (tmp_path / "outbox").glob("*.eml"):
        message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        raw_to = next(line for line in eml.read_bytes().split(b"\r\n") if line.startswith(b"To:"))
        heads[message["To"].addresses[0].addr_spec] = (message["To"], raw_to)
        assert message["Bcc"] is None and b"\nBcc:" not in eml.read_bytes()
    assert sorted(heads) == ["ann@example.com", "carl@example.com", "eve@example.com"]
    assert str(heads["ann@example.com"][0]) == "Ann Ünal <ann@example.com>"
    raw_ann = heads["ann@example.com"][1]  # RFC 2047: ASCII on the wire
    assert raw_ann.isascii() and raw_ann.startswith(b"To: =?utf-8?")
    assert raw_ann.endswith(b"?= <ann@example.com>")
    assert str(heads["carl@example.com"][0]) == "Carl Smith <carl@example.com>"
    assert heads["eve@example.com"][0].addresses[0].display_name == "Eve Bcc: evil@example.com"


def test_the_readme_synopsis_names_every_option_of_every_command():
    from digest.cli import cli

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Commands", 1)[1].split("```", 2)[1]
    missing = []
    for name, command in cli.commands.items():
        line = next((ln for ln in block.splitlines() if f"] {name}" in ln), None)
        if line is None:
            missing.append(name)
            continue
        for option in command.params:
            flags = [f for f in option.opts if f.startswith("--") and f != "--help"]
            if flags and not any(f in line for f in flags):
                missing.append(f"{name} {flags[0]}")
    assert missing == [], f"the README's synopsis lacks: {missing}"


@pytest.mark.slow
def test_preview_of_a_config_outside_a_config_folder_writes_beside_it(tmp_path):
    folder = tmp_path / "some" / "dir"
    folder.mkdir(parents=True)
    config = folder / "digest.yaml"
    config.write_text(f"title: T\nsources: [{ROOT / 'seeds'}/*.txt]\n")
    result = digest("--config", str(config), "preview", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (folder / "var" / "preview" / "digest.html").is_file()
    assert not (tmp_path / "some" / "var").exists()


@pytest.mark.slow
def test_preview_says_in_text_what_it_notes_as_json_does(tmp_path):
    """With the LLM's key variable unset, a text-mode preview once printed nothing of why
    every lead was extractive: its notes went out in --json alone."""
    config = tmp_path / "digest.yaml"
    config.write_text(
        f"title: T\nsources: [{ROOT / 'seeds'}/*.txt]\n"
        "summary:\n  backend: llm\n  llm:\n    base_url: http://127.0.0.1:9/v1\n"
        "    model: m\n    api_key_env: DIGEST_TEST_KEY_NOBODY_SETS\n"
    )
    result = digest("--config", str(config), "preview", "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if "llm lead not used" in line]
    assert notes and all("DIGEST_TEST_KEY_NOBODY_SETS is not set" in line for line in notes)


@pytest.mark.slow
def test_a_secret_s_variable_unset_is_named_with_its_config_line(tmp_path):
    """The secret's variable is read when it is needed, after loading: the error once named
    the key alone (web.secret_env, bounces.imap.password_env, state_password_env), where
    SMTP's named the file and line."""
    config = tmp_path / "digest.yaml"
    config.write_text(
        f"title: T\nsources: [{ROOT / 'seeds'}/*.txt]\nstate: {tmp_path / 's.sqlite3'}\n"
        'web:\n  url: "http://127.0.0.1:9/"\n  secret_env: DIGEST_TEST_SECRET_NOBODY_SETS\n'
    )
    result = digest("--config", str(config), "serve", "--port", "9")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{config}:6: web.secret_env: environment variable DIGEST_TEST_SECRET_NOBODY_SETS" in (
        result.stderr
    )


@pytest.mark.slow
def test_json_is_written_as_it_is_encoded(tmp_path, monkeypatch):
    """`history --json` of 20 issues to 50,000 readers is 190 MB of JSON; json.dumps held all
    of it (and its millions of pieces) before a byte was written: 1.7 GB at its peak."""
    import sys
    import tracemalloc

    from digest.cli import print_json

    deliveries = [
        {"recipient": f"reader{n}@example.org", "status": "sent", "answer": "250 OK", "run": 1}
        for n in range(40_000)
    ]
    path = tmp_path / "out.json"
    with path.open("w", encoding="utf-8") as out:
        monkeypatch.setattr(sys, "stdout", out)
        tracemalloc.start()
        try:
            print_json([{"run": 1, "deliveries": deliveries}])
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    size = path.stat().st_size
    assert json.loads(path.read_text(encoding="utf-8"))[0]["deliveries"] == deliveries
    assert size > 4_000_000 and peak < size / 4, (peak, size)


@pytest.mark.slow
def test_history_lists_the_readers_not_reached_and_every_reader_when_asked(tmp_path):
    """`history` printed a line for every reader of every run it showed: 20 runs to 50,000
    readers were a million lines. It now shows each run's counts and the readers it did not
    reach (ten at most, then how many more); `--readers` lists every reader, and `--json`
    keeps every reader for scripts."""
    from smtp_server import SmtpServer
    from test_deliver import digest as digest_run
    from test_deliver import write_config

    readers = [f"reader{n:02d}@example.org" for n in range(40)]
    refused = readers[::3]  # 14 of them
    with SmtpServer() as server:
        for r in refused:
            server.behaviour.reject[r] = "550 5.1.1 no such user"
        config = write_config(tmp_path, server, readers)
        run = digest_run(config, "run")
    assert run.returncode == 0, run.stderr

    text = digest_run(config, "history").stdout
    assert "sent 26, failed 14" in text
    listed = [r for r in readers if f"    {r}:" in text]
    assert listed == refused[:10]
    assert f"    {refused[0]}: failed (550 5.1.1 no such user)" in text
    assert "    and 4 more not reached: `digest history --readers` lists them" in text

    every = digest_run(config, "history", "--readers").stdout
    assert [r for r in readers if f"    {r}:" in every] == readers
    assert "more not reached" not in every

    entry = json.loads(digest_run(config, "history", "--json").stdout)[0]
    assert len(entry["deliveries"]) == 40 and entry["readers"] == {"sent": 26, "failed": 14}


@pytest.mark.slow
def test_a_password_given_to_state_copy_as_its_variable_is_refused_and_not_repeated():
    """`--password-env 'hunter2 !'`: the error printed the password as a variable's name."""
    result = digest(
        "state", "copy", "--to", "postgresql://u@127.0.0.1:1/db", "--password-env", "hunter2 !"
    )
    assert (
        result.returncode == 2
        and "--password-env: must name an environment variable" in result.stderr
    )
    assert "hunter2" not in result.stderr
