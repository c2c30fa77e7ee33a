"""A large selection fingerprints its candidates in helper processes too: it gives what one
process gives, value for value, and a helper that dies or meets an article that trips a bug
loses nothing but that article.

The thresholds are lowered so that the republished feeds (tests/republish.py: real pages,
their copies and retold versions, 500 entries) are shared out between processes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import IN_CI
from republish import entries, write_feeds
from web_server import Page, Site

from digest.config import SelectionConfig
from digest.models import Article, Paragraph
from digest.select import fingerprint as fingerprint_module
from digest.select import parallel as parallel_module
from digest.select.already_sent import texts_already_sent
from digest.select.choose import select
from digest.select.parallel import fingerprint_unsent
from digest.select.ragged import Ragged
from digest.select.sent import History
from digest.state import Store

EVERYTHING = SelectionConfig(max_articles=1000, lookback_days=100_000)
DAY = dt.date(2025, 11, 20)


def feed_articles(seed: int = 1) -> list[Article]:
    return [
        Article(
            e.title,
            tuple(Paragraph(p) for p in e.paragraphs),
            f"https://feed{e.feed}.example/",
            date=DAY + dt.timedelta(days=e.day),
            url=e.link,
            guid=e.guid,
        )
        for e in entries(seed)
    ]


@pytest.fixture
def shared_out(monkeypatch):
    """Helpers from 100 candidates on, chunks of 16: the feeds go to two processes or more."""
    monkeypatch.setattr(parallel_module, "PARALLEL_FROM", 100)
    monkeypatch.setattr(parallel_module, "SHARE_MIN", 50)
    monkeypatch.setattr(parallel_module, "CHUNK", 16)
    needs_two_processors()


def needs_two_processors() -> None:
    if len(os.sched_getaffinity(0)) < 2:
        message = "one processor: no helper runs"
        pytest.fail(message) if IN_CI else pytest.skip(message)


def in_one_process(monkeypatch) -> None:
    monkeypatch.setattr(parallel_module, "PARALLEL_FROM", 10**9)


def same_fingerprints(a, b) -> bool:
    """Every column the same, value for value and type for type; the same articles."""
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "articles":
            if len(x) != len(y) or any(p is not q for p, q in zip(x, y, strict=True)):
                return False
        elif isinstance(x, Ragged):
            if not (same_array(x.values, y.values) and same_array(x.starts, y.starts)):
                return False
        elif isinstance(x, np.ndarray):
            if not same_array(x, y):
                return False
    return True


def same_array(x: np.ndarray, y: np.ndarray) -> bool:
    return x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y)


def helpers_alive() -> list[int]:
    """Processes whose parent is a child of this one: helpers, forked by the fork server."""
    children = {p for p in os.listdir("/proc") if p.isdigit() and parent_of(p) == os.getpid()}
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and str(parent_of(p)) in children]


def parent_of(pid: str) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))


@pytest.mark.slow
def test_helpers_give_the_fingerprints_one_process_gives(shared_out):
    articles = feed_articles()
    with Store.open(":memory:") as store:
        # Day 0 was sent: its exact copies are known before any fingerprint is made.
        first = [a for a in articles if a.date == DAY]
        store.remember(1, select(first, History(store), EVERYTHING).records)
        sent = History(store)
        asked: list[dict[int, int]] = []

        def already_sent(keys: dict[int, int]) -> dict:
            asked.append(keys)
            return texts_already_sent(keys, sent)

        known, prints = fingerprint_unsent(articles, already_sent)
        assert len(asked) >= 2  # this process's share, then each helper's
        all_keys = {p: k for keys in asked for p, k in keys.items()}
        assert sorted(all_keys) == list(range(len(articles)))
        assert known == texts_already_sent(all_keys, sent)
        assert 0 < len(known) < len(articles)
        fresh = [articles[n] for n in range(len(articles)) if n not in known]
        assert same_fingerprints(prints, fingerprint_module.fingerprint(fresh))
    assert not helpers_alive()


def outcome(selection) -> tuple:
    return (
        [(c.article.url, [t.url for t in c.tellings]) for c in selection.chosen],
        [(s.article.url, s.reason, s.duplicate_of) for s in selection.skipped],
        selection.records,
        [str(p) for p in selection.problems],
    )


@pytest.mark.slow
def test_a_shared_out_selection_is_the_one_process_selection(shared_out, monkeypatch):
    articles = feed_articles(2)
    with Store.open(":memory:", readonly=True) as store:
        shared = outcome(select(articles, History(store), EVERYTHING))
        in_one_process(monkeypatch)
        alone = outcome(select(articles, History(store), EVERYTHING))
    assert shared == alone
    assert len(shared[0]) >= 18


@pytest.mark.slow
def test_an_article_that_trips_a_bug_in_a_helper_is_named_and_the_rest_go_out(shared_out):
    """A lone surrogate cannot be encoded (readers never give one, but a bug could): the
    article sorts last, into a helper's share, and raises there while its words are hashed.
    Its share is redone in this process, which meets the same error, and `select` leaves
    that article out and names it."""
    articles = feed_articles(3)
    bad = Article(
        "Odd One", (Paragraph("A text with a lone \ud800 surrogate in it."),), "odd.xml",
        date=DAY - dt.timedelta(days=1),
    )  # fmt: skip
    with Store.open(":memory:", readonly=True) as store:
        selection = select([*articles, bad], History(store), EVERYTHING)
        without = select(articles, History(store), EVERYTHING)
    [problem] = selection.problems
    assert problem.source == "odd.xml" and "'Odd One' left out" in problem.message
    assert "UnicodeEncodeError" in problem.message
    assert outcome(selection)[:3] == outcome(without)[:3]
    assert not helpers_alive()


@pytest.mark.slow
def test_a_helper_that_dies_loses_nothing(shared_out):
    """The helpers are killed as soon as their share's keys are in: what they had been
    given, or were to be given, is fingerprinted in this process."""
    articles = feed_articles(1)
    killed: list[int] = []
    with Store.open(":memory:", readonly=True) as store:
        sent = History(store)

        def already_sent(keys: dict[int, int]) -> dict:
            if 0 not in keys:  # a helper's share
                for pid in helpers_alive():
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
            return texts_already_sent(keys, sent)

        known, prints = fingerprint_unsent(articles, already_sent)
    assert killed and not known
    assert same_fingerprints(prints, fingerprint_module.fingerprint(articles))
    assert not helpers_alive()


def test_a_helper_that_fails_after_answering_sends_what_it_made_then_says_so(monkeypatch):
    """The helper's side of the pipe, run here on a real pipe: its third chunk's answer
    cannot be pickled (as when pickling runs out of memory). The two answers before it
    arrive, then the failure, and the helper ends: the selecting process never waits for an
    answer that will not come."""

    class Unpicklable:
        def __reduce__(self):
            raise MemoryError("pickling")

    real = parallel_module.fingerprint
    made: list[int] = []

    def fingerprint(articles, hashes, exact):
        made.append(len(articles))
        prints = real(articles, hashes, exact)
        return prints if len(made) < 3 else dataclasses.replace(prints, exact=Unpicklable())

    monkeypatch.setattr(parallel_module, "fingerprint", fingerprint)
    monkeypatch.setattr(parallel_module.gc, "disable", lambda: None)  # it would be for all tests
    articles = feed_articles()[:48]
    ours, theirs = multiprocessing.Pipe()
    helper = threading.Thread(target=parallel_module.helper_main, args=(theirs,), daemon=True)
    helper.start()
    ours.send([(a.title, a.body_utf8, a.source, a.url, a.guid, a.excerpt) for a in articles])
    ours.send(None)
    assert ours.poll(60)
    assert len(ours.recv()) == len(articles)  # the share's keys
    chunks = [list(range(at, at + 16)) for at in range(0, 48, 16)]
    for chunk in chunks:
        ours.send(chunk)
    answers = [ours.recv() if ours.poll(60) else "no answer" for _ in chunks]
    for chunk, answer in zip(chunks[:2], answers[:2], strict=True):
        expected = real([articles[n] for n in chunk])
        assert same_fingerprints(answer, dataclasses.replace(expected, articles=()))
    assert answers[2] == parallel_module.FAILED
    ours.close()
    helper.join(60)
    assert not helper.is_alive()


# A process that reads a config's sources, then says how many articles it read and how many
# fork servers it has started (waiting up to argv[3] seconds for one to appear).
READ_AND_COUNT_FORK_SERVERS = """
import os, sys, time
from pathlib import Path
from digest.select import parallel
parallel.PARALLEL_FROM, parallel.SHARE_MIN = int(sys.argv[2]), 50
from digest.config import load_config
from digest.plan import read_sources

read = read_sources(load_config(Path(sys.argv[1])))

def fork_servers():
    found = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = stat.read_text().rsplit(")", 1)[1].split()[1]
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        found += parent == str(os.getpid()) and any(
            part.startswith(b"from multiprocessing.forkserver import main")
            for part in command.split(b"\\0")
        )
    return found

deadline = time.monotonic() + float(sys.argv[3])
while not fork_servers() and time.monotonic() < deadline:
    time.sleep(0.02)
print(len(read.articles), fork_servers())
"""


@pytest.mark.slow
@pytest.mark.parametrize("served", [True, False], ids=["feeds over HTTP", "feed files"])
def test_reading_many_articles_starts_the_helpers_fork_server_before_selection(tmp_path, served):
    needs_two_processors()
    write_feeds(tmp_path / "feeds", entries(1), day=10)
    feeds = sorted((tmp_path / "feeds").glob("*.xml"))
    site = Site("127.0.0.1")
    try:
        for f in feeds:
            site.routes[f"/{f.name}"] = Page(f.read_bytes())
        sources = [site.url(f"/{f.name}") if served else str(f) for f in feeds]
        config = tmp_path / "digest.yaml"
        config.write_text(
            "sources:\n"
            + "".join(f"  - feed: {s}\n" for s in sources)
            + f"state: {tmp_path / 'state.sqlite3'}\n"
            + 'delivery:\n  from: "Daily <digest@example.com>"\n  to: [reader@example.com]\n'
        )

        def read(helpers_from: int, wait: float) -> list[int]:
            out = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    READ_AND_COUNT_FORK_SERVERS,
                    str(config),
                    str(helpers_from),
                    str(wait),
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            return [int(n) for n in out.split()]

        assert read(100, wait=10) == [500, 1]
        assert read(501, wait=1) == [500, 0]  # too few for helpers: nothing started
    finally:
        site.close()
