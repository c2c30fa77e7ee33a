"""Fingerprinting many candidates on every core.

Fingerprints are made article by article in Python, so a large selection (a first run over
an archive, thousands of feeds) shares the work out: each other core runs a helper process
that hashes a share of the candidates' words and fingerprints those of them whose text was
not sent, a chunk at a time, while this process does the same with its own share and then
takes unsent chunks from the helpers' queues, so the work stays balanced however busy each
core is. Small selections, which are most runs, stay in this process: a helper costs about
0.2 s to start the first time. Reading the sources starts the fork server as soon as it has
read enough articles for helpers (`start_helpers_early`), so the selection finds it ready.

Helpers start from multiprocessing's fork server, never by forking this process: `digest
serve` and the scheduler select from a process with threads (numpy's BLAS has one too), and
a fork copies the locks those threads hold. The fork server starts once per process and
imports this module (fingerprinting, not the rest of selection) before it forks a helper, so
later helpers start in milliseconds. Like any multiprocessing start method but fork, each
helper imports the main script again (as `__mp_main__`; the fork server is asked to, once for
all, but Python 3.11's does not: CPython gh-98552): a script that selects must guard its
work by `if __name__ == "__main__"`, and one that imports much makes each helper slower to
start (the `digest` command's script imports next to nothing).

A helper is only ever an optimisation. Should one fail to start, die, or raise on an article,
what it had left is fingerprinted in this process, which gives the same values or raises the
same error for `select` to name the article (see `select`).
"""

from __future__ import annotations

import functools
import gc
import multiprocessing
import multiprocessing.forkserver
import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from multiprocessing.connection import Connection, wait
from multiprocessing.reduction import ForkingPickler
from typing import TypeVar

import numpy as np

from ..models import Article, Paragraph
from .fingerprint import Fingerprints, TextHashes, exact_key, fingerprint, text_hashes
from .ragged import Ragged

PARALLEL_FROM = 2000  # fewer candidates are fingerprinted in this process alone
SHARE_MIN = 1000  # no process hashes a smaller share than this
CHUNK = 256  # articles fingerprinted at a time: small enough to share the last of the work
IN_FLIGHT = 2  # chunks a helper holds at once: one to work on, one queued
PIECE = 1000  # articles sent to a helper in one message

Match = TypeVar("Match")


def fingerprint_unsent(
    articles: Sequence[Article], already_sent: Callable[[dict[int, int]], dict[int, Match]]
) -> tuple[dict[int, Match], Fingerprints]:
    """Fingerprints of the articles whose text was not sent: the exact-text keys of all
    (position -> key) are asked of `already_sent`, perhaps a share at a time, and those it
    returns are not fingerprinted. Returns all it returned, and the others' fingerprints,
    a row each in the order of `articles`."""
    shares = _shares(len(articles))
    helpers = [_Helper(articles, share) for share in shares[1:]]
    try:
        known, chunks = _Run(articles, already_sent, helpers).run(shares[0])
    finally:
        for helper in helpers:
            helper.close()
    order = sorted(chunks)  # by their first position: the rows in the order of `articles`
    rows = [articles[p] for chunk in order for p in chunk]
    return known, Fingerprints.joined([chunks[chunk] for chunk in order], rows)


def start_helpers_early(count: int) -> None:
    """For a caller about to select `count` candidates (digest's reading calls it as it goes):
    start the helpers' fork server now, in a thread, so that the selection's first helpers
    need not wait for it (10,000 candidates: about 0.2 s of the first selection in a process).
    Nothing when the selection would start no helper, or when it was started before (should
    two threads start it at once, multiprocessing still starts one server).

    While that thread starts the server, it holds multiprocessing's fork-server lock, a few
    milliseconds: a child forked (os.fork, multiprocessing's fork start method) in that
    moment would wait for the lock forever if it started helpers itself. digest never forks;
    a program that does should not fork while reading."""
    if len(_shares(count)) > 1:
        _start_fork_server()


@functools.cache
def _start_fork_server() -> None:
    try:
        threading.Thread(target=_fork_server_running, daemon=True).start()
    except RuntimeError:  # no thread to be had: the first helper starts it
        pass


def _fork_server_running() -> None:
    try:
        _fork_server()
        multiprocessing.forkserver.ensure_running()
    except Exception:  # noqa: BLE001 (only an optimisation: the first helper tries again)
        pass


def _fork_server() -> multiprocessing.context.ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", __name__])
    return context


def _shares(count: int) -> list[range]:
    """The positions each process hashes, this process's share first."""
    if count < PARALLEL_FROM:
        return [range(count)]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    processes = max(1, min(cores or 1, count // SHARE_MIN))
    bounds = np.linspace(0, count, processes + 1).round().astype(int).tolist()
    return [range(a, b) for a, b in zip(bounds, bounds[1:], strict=False)]


def _chunks(positions: list[int], size: int) -> deque[list[int]]:
    return deque(positions[at : at + size] for at in range(0, len(positions), size))


class _Run:
    """This process's side: its own share, the helpers' answers, and whatever helpers leave."""

    def __init__(
        self,
        articles: Sequence[Article],
        already_sent: Callable[[dict[int, int]], dict[int, Match]],
        helpers: list[_Helper],
    ):
        self.articles = articles
        self.already_sent = already_sent
        self.helpers = helpers
        self.hashes: dict[int, TextHashes] = {}  # of this process's unsent articles
        self.exact: dict[int, int] = {}  # exact_key of each article, once asked
        self.known: dict[int, Match] = {}
        self.prints: dict[tuple[int, ...], Fingerprints] = {}  # by the positions they hold
        self.todo: deque[list[int]] = deque()  # chunks this process fingerprints

    def run(self, own: range) -> tuple[dict[int, Match], dict[tuple[int, ...], Fingerprints]]:
        self.todo += self._unsent(own)
        while True:
            for helper in self.helpers:
                self._serve(helper)
            if self.todo:
                self._fingerprint(self.todo.popleft())
            elif queued := [h for h in self.helpers if h.queue]:
                # A chunk a helper has not been sent yet: the last of the longest queue.
                self._fingerprint(max(queued, key=lambda h: len(h.queue)).queue.pop())
            elif busy := [h.conn for h in self.helpers if h.busy]:
                wait(busy)
            else:
                return self.known, self.prints

    def _unsent(self, positions: range | list[int]) -> deque[list[int]]:
        """Hash these articles here, ask which were sent, and chunk the others."""
        hashes: dict[int, TextHashes] = {}
        for at in range(0, len(positions), CHUNK):
            part = positions[at : at + CHUNK]
            packed = _packed([text_hashes(self.articles[p]) for p in part])
            hashes.update(zip(part, packed, strict=True))
        keys = {p: exact_key(h) for p, h in hashes.items()}
        self.exact.update(keys)
        known = self.already_sent(keys)
        self.known.update(known)
        fresh = [p for p in positions if p not in known]
        self.hashes.update((p, hashes[p]) for p in fresh)
        return _chunks(fresh, CHUNK if self.helpers else max(len(fresh), 1))  # alone: at once

    def _fingerprint(self, chunk: list[int]) -> None:
        articles = [self.articles[p] for p in chunk]
        hashes = [self.hashes.pop(p, None) or text_hashes(self.articles[p]) for p in chunk]
        self.prints[tuple(chunk)] = fingerprint(articles, hashes, [self.exact[p] for p in chunk])

    def _serve(self, helper: _Helper) -> None:
        """Take what the helper has sent, and keep it supplied with chunks."""
        while helper.busy and helper.conn.poll():
            answer = helper.receive()
            if answer is None:  # it failed: what it had left is done here
                if helper.keys_pending:
                    self.todo += self._unsent(helper.share)
                else:
                    self.todo += helper.in_flight
                    self.todo += helper.queue
                helper.stop()
                return
            if helper.keys_pending:
                keys = dict(zip(helper.share, answer, strict=True))
                self.exact.update(keys)
                known = self.already_sent(keys)
                self.known.update(known)
                helper.keys_pending = False
                helper.queue = _chunks([p for p in helper.share if p not in known], CHUNK)
            else:
                self.prints[tuple(helper.in_flight.popleft())] = answer
            helper.feed()


class _Helper:
    """One helper process and what it was given: `share` to hash, then chunks of it to
    fingerprint (`queue`: not sent yet, `in_flight`: sent, not answered)."""

    def __init__(self, articles: Sequence[Article], share: range):
        self.share = share
        self.conn, theirs = multiprocessing.Pipe()
        self.process: multiprocessing.process.BaseProcess | None = None
        self.keys_pending = True
        self.queue: deque[list[int]] = deque()
        self.in_flight: deque[list[int]] = deque()
        # Starting the fork server and sending the share both wait for the other side: a
        # thread does it while this process hashes its own share.
        self.starter = threading.Thread(target=self._start, args=(theirs, articles), daemon=True)
        self.starter.start()

    def _start(self, theirs: Connection, articles: Sequence[Article]) -> None:
        try:
            self.process = _fork_server().Process(target=helper_main, args=(theirs,), daemon=True)
            self.process.start()
            theirs.close()  # from now on, a helper that dies ends our reads
            # A piece at a time, the text as UTF-8: neither side holds the whole share in
            # one message, nor its text as wide strings.
            for at in range(self.share.start, self.share.stop, PIECE):
                self.conn.send(
                    [
                        (a.title, a.body_utf8, a.source, a.url, a.guid, a.excerpt)
                        for a in articles[at : min(at + PIECE, self.share.stop)]
                    ]
                )
            self.conn.send(None)
        except Exception:  # noqa: BLE001 (it failed: this process does the share)
            theirs.close()
            if self.process is not None and self.process.pid is not None:
                self.process.kill()  # waiting for the rest of its share, it ends our reads

    @property
    def busy(self) -> bool:
        """An answer is due."""
        return not self.conn.closed and (self.keys_pending or bool(self.in_flight))

    def receive(self) -> object | None:
        try:
            answer = self.conn.recv()
        except (OSError, EOFError):
            return None
        return None if answer == FAILED else answer

    def feed(self) -> None:
        self.starter.join()  # its sending is over: keys came after it
        while self.queue and len(self.in_flight) < IN_FLIGHT:
            chunk = self.queue.popleft()
            try:
                self.conn.send([p - self.share.start for p in chunk])
            except OSError:  # it died: the next receive says so
                self.queue.appendleft(chunk)
                return
            self.in_flight.append(chunk)

    def stop(self) -> None:
        self.conn.close()
        self.queue.clear()
        self.in_flight.clear()

    def close(self) -> None:
        """Ends the helper (it stops when its pipe closes) and waits for it."""
        self.stop()
        self.starter.join()
        if self.process is not None and self.process.pid is not None:
            self.process.join(5)
            if self.process.exitcode is None:
                self.process.kill()
                self.process.join()


FAILED = "failed"  # a helper's last answer when it met an error: what it had left is redone here


def helper_main(conn: Connection) -> None:
    """A helper: its share's exact-text keys, then the fingerprints of each chunk asked for,
    until the pipe closes. A thread sends the answers: a chunk's fingerprints outgrow the
    pipe's buffer, and sending them waits until the selecting process reads them, which it
    does between chunks of its own (10,000 candidates: the helper sat idle 0.6 s of 1.5 s).
    Each answer is pickled here, where a failure is caught and said, not in that thread."""
    gc.disable()  # many small acyclic objects, and a short life
    answers: queue.SimpleQueue[memoryview | None] = queue.SimpleQueue()
    sender = threading.Thread(target=_send_all, args=(conn, answers))
    sender.start()
    try:
        articles: list[Article | None] = []
        hashes: list[TextHashes | None] = []
        while (piece := conn.recv()) is not None:
            made = [_article(row) for row in piece]
            hashes += _packed([text_hashes(a) for a in made])
            articles += made
        keys = [exact_key(h) for h in hashes]
        answers.put(_pickled(keys))
        while True:
            try:
                chunk = conn.recv()
            except EOFError:
                return
            prints = fingerprint(
                [articles[n] for n in chunk], [hashes[n] for n in chunk], [keys[n] for n in chunk]
            )
            for n in chunk:
                articles[n] = hashes[n] = None
            answers.put(_pickled(replace(prints, articles=())))  # arrays, without the articles
    except Exception:  # noqa: BLE001 (the selecting process redoes the work and meets the error)
        answers.put(_pickled(FAILED))
    finally:
        answers.put(None)
        sender.join()


def _pickled(answer: object) -> memoryview:
    """An answer as `Connection.recv` reads it."""
    return ForkingPickler.dumps(answer)


def _send_all(conn: Connection, answers: queue.SimpleQueue[memoryview | None]) -> None:
    """Sends the answers in the order they come, until None (or until the selecting process
    closes its end)."""
    while (answer := answers.get()) is not None:
        try:
            conn.send_bytes(answer)
        except OSError:
            return


def _packed(hashes: list[TextHashes]) -> list[TextHashes]:
    """The same hashes, as views of two flat arrays: two small arrays an article, held
    until it is fingerprinted, leave the heap in pieces (40,000 candidates: the selecting
    process's peak 497 MB with them, 491 MB packed)."""
    if not hashes:
        return []
    titles, bodies = (
        Ragged.of(np.concatenate(side), [len(h) for h in side])
        for side in zip(*hashes, strict=True)
    )
    return [(titles[n], bodies[n]) for n in range(len(hashes))]


def _article(row: tuple) -> Article:
    """An article as a helper needs it: what fingerprint reads of it."""
    title, text, source, url, guid, excerpt = row
    return Article(title, (Paragraph.of_utf8(text),), source, url=url, guid=guid, excerpt=excerpt)
