"""The `digest` command through its real entry point (a subprocess), as scripts use it."""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import ROOT, SHARED_SEEDS, digest_command, real_pages


def digest(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*digest_command(), *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


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


def test_help_does_not_import_the_heavy_stages():
    code = (
        "import sys; from digest.cli import cli\n"
        "try:\n    cli.main(['--help'], standalone_mode=False)\nexcept SystemExit: pass\n"
        "heavy = [m for m in ('feedparser', 'mjml', 'datasketch', 'pysbd', 'apscheduler',"
        " 'jinja2', 'numpy') if m in sys.modules]\nprint(heavy)"
    )
    result = subprocess.run(
        [
            digest_command()[0].replace("digest", "python")
            if digest_command()[0].endswith("/digest")
            else digest_command()[0],
            "-c",
            code,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("[]")


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


def test_parse_human_table(shared_seeds):
    result = digest("parse", str(real_pages()[0]))
    assert result.returncode == 0
    assert "Tajikistan Intends To Expand" in result.stdout
    assert "6 articles, 5 rate quotes, 0 problems" in result.stdout


def test_parse_bad_file_alone_exits_2_with_one_clear_line(tmp_path):
    bad = tmp_path / "garbage.txt"
    bad.write_bytes(b"\x00\x01\x02 not text")
    result = digest("parse", str(bad), "--json")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert str(bad) in result.stderr
    data = json.loads(result.stdout)
    assert data["articles"] == [] and len(data["problems"]) == 1


def test_parse_bad_file_beside_a_good_one_still_reads_the_good_one(tmp_path, shared_seeds):
    bad = tmp_path / "empty.txt"
    bad.write_text("")
    result = digest("parse", str(bad), str(real_pages()[0]), "--json")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert len(data["articles"]) == 6
    assert data["problems"] == [f"{bad}: empty file: no ticker, date or articles"]


def test_missing_config_is_exit_2_without_traceback(tmp_path):
    result = digest("--config", str(tmp_path / "nope.yaml"), "preview")
    assert result.returncode == 2
    assert "no such configuration file" in result.stderr and "Traceback" not in result.stderr


def test_bad_config_value_is_exit_2_naming_line_and_key(tmp_path):
    config = tmp_path / "digest.yaml"
    config.write_text(
        f"title: T\nsources: [{ROOT / 'seeds'}/*.txt]\nselection:\n  max_articles: lots\n"
    )
    result = digest("--config", str(config), "run")
    assert result.returncode == 2
    assert f"{config}:4: selection.max_articles" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_command_is_a_usage_error():
    result = digest("frobnicate")
    assert result.returncode == 2 and "No such command" in result.stderr


@pytest.mark.parametrize("value", ["yesterday", "2025-13-01"])
def test_bad_as_of_is_a_usage_error(value):
    result = digest("preview", "--as-of", value)
    assert result.returncode == 2 and "--as-of" in result.stderr


def test_run_whose_sources_all_fail_exits_1_with_a_json_report(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
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


def test_run_with_no_recipients_is_a_config_error_and_sends_nothing(tmp_path):
    config = tmp_path / "digest.yaml"
    config.write_text(
        f"title: T\nsources: [{ROOT / 'seeds'}/*.txt]\nstate: {tmp_path / 's.sqlite3'}\n"
        f"delivery:\n  outbox: {tmp_path / 'outbox'}\n"
    )
    result = digest("--config", str(config), "run")
    assert result.returncode == 2 and "no one to send to" in result.stderr
    assert not (tmp_path / "outbox").exists()


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
