"""The digest the pipeline hands the renderer: issue date, sections, names, footer, preview."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import ROOT, SAMPLE_SEEDS, digest_command


def digest(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*digest_command(), *map(str, args)], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


def config(tmp_path: Path, *extra: str) -> Path:
    path = tmp_path / "digest.yaml"
    path.write_text(
        "\n".join(
            [
                "title: Central Asia Daily",
                "timezone: Pacific/Kiritimati",  # UTC+14: its day is often not UTC's
                "sources:",
                f"  - path: {SAMPLE_SEEDS / '*.txt'}",
                "    name: Trans-Caspian Affairs",
                "    link: https://trans-caspian.example/",
                '    article_url: "https://trans-caspian.example/search?q={title}"',
                f"state: {tmp_path / 'state.sqlite3'}",
                "selection:",
                "  max_articles: 12",
                "  sections:",
                "    Kazakhstan: [Kazakhstan, Astana, Almaty]",
                "    Tajikistan: [Tajikistan, Dushanbe]",
                "delivery:",
                '  from: "Central Asia Daily <digest@example.com>"',
                f"  outbox: {tmp_path / 'outbox'}",
                '  unsubscribe_url: "https://example.com/unsubscribe?token={token}"',
                *extra,
            ]
        )
        + "\n"
    )
    return path


@pytest.mark.slow
def test_preview_shows_the_send_day_names_links_and_no_placeholder(tmp_path):
    out = tmp_path / "preview"
    result = digest("--config", config(tmp_path, "  to: [reader@example.com]"), "preview",
                    "--out", out, "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    html = (out / "digest.html").read_text()
    text = (out / "digest.txt").read_text()
    today = dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    day = f"{today.day} {today.strftime('%B')} {today.year}"
    assert day in html and day in text  # the day it goes out, not the pages' 10 November
    assert "10 November 2025" not in html.split("</h1>")[1].split("</p>")[0]
    assert "{unsubscribe_url}" not in html and "{unsubscribe_url}" not in text
    assert "https://example.com/unsubscribe?token=preview" in html
    assert "Trans-Caspian Affairs" in html and ".txt" not in html and ".txt" not in text
    for chosen in report["chosen"]:  # every headline links to its article
        assert f'href="{chosen["url"]}"' in html.replace("&amp;", "&"), chosen["title"]
        assert chosen["url"].startswith("https://trans-caspian.example/search?q=")
    also = [a for c in report["chosen"] for a in c["also"] if a["source"] != c["source"]]
    for telling in also:  # and every other outlet's telling of its story
        assert telling["url"] and f'href="{telling["url"]}"' in html, telling
    for c in report["chosen"]:  # a story's date: ISO, when its sources first told it
        assert dt.date.fromisoformat(c["date"]) <= today
    sections = [c["section"] for c in report["chosen"][1:]]  # the top story stands apart
    named = [s for s in sections if s != "More news"]
    assert sections == named + ["More news"] * (len(sections) - len(named))  # More news last
    assert set(named) <= {"Kazakhstan", "Tajikistan"} and "More news" in sections


@pytest.mark.slow
def test_run_warns_when_a_recipients_list_has_no_postal_address(tmp_path):
    recipients = tmp_path / "readers.csv"
    recipients.write_text("reader@example.com,Reader\n")
    path = config(tmp_path, f"  recipients: {recipients}")
    result = digest("--config", path, "run", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "delivery.postal_address" in result.stderr and "warning" in result.stderr
    quiet = config(tmp_path, f"  recipients: {recipients}", "  postal_address: 1 Abay Ave, Almaty")
    result = digest("--config", quiet, "run", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "postal_address" not in result.stderr
