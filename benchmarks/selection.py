"""How selection scales: one selection of many candidates against a large history.

    .venv/bin/python benchmarks/selection.py [--history 10000 100000] [--candidates 10000 40000]
                                             [--words 300 800] [--keep DIR [--reuse]]
                                             [--pairs N]
    .venv/bin/python benchmarks/selection.py --republished   # the republished feeds only

For each history size: generate that many articles and `remember` them in batches of 10,000
into a fresh state file (timed: fingerprinting and writing apart, with the bytes written),
then, for each candidate count, generate the candidates, with planted duplicates of
every kind, and time `select` in a fresh process, twice, with the process's peak resident
set from the first. The candidates are read a thousand at a time, as from sources, and the
helpers' fork server is started as reading goes on, as `digest run` does (in another
process, the first `select` is timed without that: the selection then starts the fork
server; `--pairs N`: N alternating pairs of the two, in fresh processes, the one with the
early start first in every other pair). Then, from a run each of their own, the peak
resident set of each helper process (added to the process's) and tracemalloc inside
`select`. Prints timings, memory and how many of the planted duplicates were caught;
asserts nothing.

Text is generated: sentences of Zipf-distributed words (common English words on top of a
large invented vocabulary), with the facts news carries (people, organisations, places,
dates, amounts) drawn from pools where a few are very common. Planted among the candidates:
exact copies of sent articles, changed copies of sent articles (re-wrapped, new title,
paragraph added or dropped, excerpt, boilerplate, words changed), other reports of sent
stories (new words, the same facts), and the same three kinds inside the batch.

`--republished`: 20 Atom feeds x 25 entries republishing the sample pages' stories
(tests/republish.py), two selections as two runs would make them: the time of each, and the
copies that would reach a reader and the stories lost; then the same built from the five
real pages in ../shared/seeds (23 articles, excerpts too), seeds 1-120, in total.

The temporary folder is removed at the end unless `--keep` names one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pickle
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from digest.config import SelectionConfig
from digest.heap import give_back, return_freed_memory
from digest.models import (
    ALREADY_SENT,
    DUPLICATE,
    NEAR_DUPLICATE,
    SAME_STORY,
    Article,
    Paragraph,
)
from digest.select.choose import select, sent_records
from digest.select.parallel import start_helpers_early
from digest.select.sent import History
from digest.state import Store

ROOT = Path(__file__).resolve().parents[1]

TODAY = dt.date(2026, 3, 2)
SENT_PER_DAY = 100  # history is spread back from TODAY at this rate
BATCH = 10_000
SOURCE = 1_000  # candidates read at a time, as from one source
CONFIG = SelectionConfig(max_articles=1_000_000, lookback_days=100_000)

COMMON = """the of and to in a is that for on was with as by at from it be has have said are
this an its were which not but had their will been also would more or after about they
than two new other into over one year who could when all first last three some government
country minister project since under between can many most such through these while during
percent million people region city state according against company officials plans""".split()
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
BOILERPLATE = [
    "Follow us on Telegram for the latest news.",
    "Photo: press service.",
    "Subscribe to our newsletter for the top stories every morning.",
    "This article first appeared on a partner site and is republished with permission.",
]


class Generator:
    """Deterministic fake news: article `n` is the same every time it is asked for."""

    def __init__(self, words: tuple[int, int], seed: int = 7):
        rng = np.random.default_rng(seed)
        syllables = [c + v for c in "bdgkmnprstvz" for v in "aeiou"] + ["sh", "kh", "ar", "ol"]
        invented = {"".join(rng.choice(syllables, rng.integers(2, 5))) for _ in range(60_000)}
        self.vocab = np.array(COMMON + sorted(invented - set(COMMON)))
        ranks = np.arange(1, len(self.vocab) + 1)
        p = 1 / ranks**1.05
        self.cdf = np.cumsum(p / p.sum())
        cap = lambda w: w.capitalize()  # noqa: E731
        first = [cap(w) for w in rng.choice(self.vocab[200:3000], 800, replace=False)]
        last = [cap(w) + "ov" for w in rng.choice(self.vocab[200:5000], 3000, replace=False)]
        self.people = [f"{rng.choice(first)} {name}" for name in last]
        self.orgs = [
            f"{cap(a)} {cap(b)} {kind}"
            for a, b, kind in zip(
                rng.choice(self.vocab[150:4000], 2000),
                rng.choice(self.vocab[150:4000], 2000),
                rng.choice(["Committee", "Bank", "Agency", "Holding", "Ministry", "Council"], 2000),
                strict=True,
            )
        ]
        self.places = [cap(w) for w in rng.choice(self.vocab[300:6000], 500, replace=False)]
        self.words = words

    def _popular(self, rng: np.random.Generator, pool: list[str], n: int) -> list[str]:
        idx = np.minimum(rng.zipf(1.2, n) - 1, len(pool) - 1)
        return [pool[i] for i in idx]

    def facts(self, rng: np.random.Generator) -> list[str]:
        amounts = [f"${rng.integers(2, 999)}.{rng.integers(1, 9)} million" for _ in range(2)]
        amounts.append(f"{rng.integers(1_000, 99_999):,} tonnes")
        amounts.append(f"{rng.integers(1, 99)}.{rng.integers(1, 9)}%")
        dates = [f"{MONTHS[rng.integers(12)]} {rng.integers(1, 29)}"]
        return (
            self._popular(rng, self.people, 3)
            + self._popular(rng, self.orgs, 2)
            + self._popular(rng, self.places, 1)
            + amounts
            + dates
        )

    def topic(self, rng: np.random.Generator) -> np.ndarray:
        """The content words a story is about: its reports share them."""
        return self.vocab[rng.integers(300, 20_000, 12)]

    def body(self, rng: np.random.Generator, facts: list[str], topic: np.ndarray) -> list[str]:
        n = int(rng.integers(*self.words))
        picks = np.minimum(np.searchsorted(self.cdf, rng.random(n)), len(self.vocab) - 1)
        words = list(self.vocab[picks])
        on_topic = rng.choice(n, n // 8, replace=False)
        for i, w in zip(on_topic.tolist(), rng.choice(topic, len(on_topic)).tolist(), strict=True):
            words[i] = w
        for i in rng.choice(n, n // 40, replace=False).tolist():  # the real pages' typography
            words[i] = rng.choice([f"“{words[i]}", f"{words[i]}”", f"{words[i]}’s"])
        for fact in facts:  # facts go in the opening, where a report puts them
            words.insert(int(rng.integers(0, min(n, 150))), fact)
        sentences, start = [], 0
        for length in rng.integers(12, 30, len(words) // 12 + 1).tolist():
            if start >= len(words):
                break
            part = words[start : start + length]
            sentences.append(" ".join([part[0].capitalize(), *part[1:]]) + ".")
            start += length
        paragraphs, start = [], 0
        for size in rng.integers(2, 5, len(sentences)).tolist():
            if start >= len(sentences):
                break
            paragraphs.append(" ".join(sentences[start : start + size]))
            start += size
        return paragraphs

    def title(self, rng: np.random.Generator, n: int) -> str:
        words = [w.capitalize() for w in rng.choice(self.vocab[100:5000], 5)]
        return f"{' '.join(words)} ({n})"

    def article(self, n: int, source: str = "history") -> tuple[Article, list[str]]:
        rng = np.random.default_rng(1_000_003 * n + 11)
        facts, topic = self.facts(rng), self.topic(rng)
        day = TODAY - dt.timedelta(days=1 + n // SENT_PER_DAY) if source == "history" else TODAY
        return make(self.title(rng, n), self.body(rng, facts, topic), source, day), (facts, topic)

    def same_story(self, n: int, story: tuple[list[str], np.ndarray], source: str) -> Article:
        """Another outlet's report: new words, most of the facts, the same topic."""
        rng = np.random.default_rng(7_000_003 * n + 5)
        facts, topic = story
        kept = [f for f in facts if rng.random() < 0.8]
        return make(self.title(rng, n), self.body(rng, kept, topic), source, TODAY)


def make(
    title: str, paragraphs: list[str], source: str, day: dt.date, excerpt: bool = False
) -> Article:
    return Article(
        title, tuple(Paragraph(p) for p in paragraphs if p), source, date=day, excerpt=excerpt
    )


def changed_copy(a: Article, kind: str, rng: random.Random, source: str) -> Article:
    paras = [p.text for p in a.paragraphs]
    title = a.title
    if kind == "rewrap":
        paras = [" \n".join(paras).replace(". ", ".  ")]
    elif kind == "title":
        title = "Update: " + a.title
    elif kind == "added":
        paras.insert(
            rng.randint(1, len(paras)), " ".join(rng.choice(COMMON) for _ in range(60)) + "."
        )
    elif kind == "dropped" and len(paras) > 2:
        paras.pop(rng.randrange(1, len(paras)))
    elif kind == "excerpt":
        words = " ".join(paras).split()
        paras = [" ".join(words[: int(len(words) * rng.uniform(0.25, 0.6))]) + "..."]
    elif kind == "boilerplate":
        paras = [rng.choice(BOILERPLATE), *paras, rng.choice(BOILERPLATE)]
    elif kind == "words":
        words = " ".join(paras).split()
        for i in rng.sample(range(len(words)), len(words) // 30):
            words[i] = rng.choice(COMMON)
        paras = [" ".join(words)]
    return replace(make(title, paras, source, TODAY, excerpt=kind == "excerpt"))


COPY_KINDS = ["rewrap", "title", "added", "dropped", "excerpt", "boilerplate", "words"]


@dataclass
class Plant:
    kind: str  # sent-exact, sent-copy:<kind>, sent-story, batch-exact, batch-copy:<kind>,
    #            batch-story
    source_title: str
    index: int  # the candidate's position
    source_index: int | None = None  # the batch source's position


def candidates(gen: Generator, history: int, count: int) -> tuple[list[Article], list[Plant]]:
    """`count` new articles, about 13% of them planted duplicates."""
    rng = random.Random(42)
    out: list[Article] = []
    plants: list[Plant] = []
    recent = min(history, 60 * SENT_PER_DAY)  # sent stories still within the story window
    for n in range(count):
        roll = rng.random()
        source = f"page-{n // 20}.txt"
        if history and roll < 0.02:
            sent, _ = gen.article(rng.randrange(history))
            out.append(replace(sent, source=source, date=TODAY))
            plants.append(Plant("sent-exact", sent.title, n))
        elif history and roll < 0.07:
            sent, _ = gen.article(rng.randrange(history))
            kind = rng.choice(COPY_KINDS)
            out.append(changed_copy(sent, kind, rng, source))
            plants.append(Plant(f"sent-copy:{kind}", sent.title, n))
        elif history and roll < 0.09:
            m = rng.randrange(recent)
            sent, story = gen.article(m)
            out.append(gen.same_story(m, story, source))
            plants.append(Plant("sent-story", sent.title, n))
        elif roll < 0.13 and len(out) > 10:
            j = rng.randrange(len(out) - 10)
            while any(p.index == j for p in plants):
                j = rng.randrange(len(out) - 10)
            kind = rng.choice(["exact", "copy", "copy", "story"])
            base = out[j]
            if kind == "exact":
                out.append(replace(base, source=source))
            elif kind == "copy":
                kind = f"copy:{rng.choice(COPY_KINDS)}"
                out.append(changed_copy(base, kind[5:], rng, source))
            else:
                _, story = gen.article(10_000_000 + j)
                out.append(gen.same_story(10_000_000 + n, story, source))
            plants.append(Plant(f"batch-{kind}", base.title, n, j))
        else:
            out.append(gen.article(10_000_000 + n, source)[0])
    return out, plants


def caught(
    plants: list[Plant], articles: list[Article], skipped: dict[int, tuple[str, str]]
) -> dict[str, list[int]]:
    """Per planted kind: [caught, planted]; plus non-planted articles skipped by mistake."""
    expected = {
        "sent-exact": {ALREADY_SENT},
        "sent-story": {ALREADY_SENT},  # another report of a sent story is already-sent
        "batch-exact": {DUPLICATE},
        "batch-story": {SAME_STORY},
    }
    score: dict[str, list[int]] = {}
    involved = set()
    for p in plants:
        kind = p.kind.split(":")[0] if p.kind.startswith("batch-copy") else p.kind
        reasons = expected.get(kind, {NEAR_DUPLICATE, ALREADY_SENT, DUPLICATE})
        me = skipped.get(p.index)
        ok = me is not None and me[0] in reasons and me[1] == p.source_title
        if p.source_index is not None:
            involved.add(p.source_index)
            them = skipped.get(p.source_index)
            # In the batch the fuller copy may win: then the source is the one skipped.
            ok = ok or (
                me is None
                and them is not None
                and them[0] in reasons
                and them[1] == articles[p.index].title
            )
        if p.kind == "batch-story":
            ok = ok or (me is not None and me[0] == SAME_STORY)
        score.setdefault(p.kind, [0, 0])
        score[p.kind][0] += ok
        score[p.kind][1] += 1
    planted = {p.index for p in plants} | involved
    wrong = [i for i in range(len(articles)) if i not in planted and i in skipped]
    score["(not planted, skipped)"] = [len(wrong), len(articles) - len(planted)]
    return score


def written_bytes() -> int:
    """Bytes this process has made the kernel write to storage so far."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    return 0


def build_history(path: Path, gen: Generator, size: int) -> list[tuple[float, float, int]]:
    """Remember `size` generated articles: per batch of BATCH, the seconds to fingerprint
    them (the selection does it in a run), the seconds to write them, the bytes written."""
    times = []
    with Store.open(path) as store:
        for start in range(0, size, BATCH):
            batch = [gen.article(n)[0] for n in range(start, min(size, start + BATCH))]
            t = time.perf_counter()
            records = sent_records([[a] for a in batch])
            signed = time.perf_counter() - t
            os.sync()
            before = written_bytes()
            t = time.perf_counter()
            store.remember(start // BATCH + 1, records)
            store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            os.sync()
            times.append((signed, time.perf_counter() - t, written_bytes() - before))
    return times


def peak_rss(pid: int | str = "self") -> int:
    """A process's peak resident set in bytes (VmHWM: unlike ru_maxrss, not inherited
    from the parent across fork and exec); 0 when it has gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 if pid == "self" else 0


class HelperPeaks:
    """The peak resident sets of this process's descendants (the fork server and the
    helpers selection starts from it), read every few milliseconds while they live: a
    helper's memory counts as much as this process's."""

    def __init__(self) -> None:
        self.peaks: dict[int, int] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> HelperPeaks:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.done.set()
        self.thread.join()

    def _watch(self) -> None:
        while True:
            for pid in descendants(os.getpid()):
                self.peaks[pid] = max(self.peaks.get(pid, 0), peak_rss(pid))
            if self.done.wait(0.01):
                return


def descendants(pid: int) -> list[int]:
    """Its children, theirs, and so on (those started after it: a higher process id, unless
    the ids wrapped around since)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) > pid:
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rpartition(")")[2].split()[1])
    out, frontier = [], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        out += frontier
    return out


def measure(state: Path, candidates_file: Path, early: bool = True, first: bool = False) -> None:
    """Child process: a selection timed twice, then once for the helpers' memory and once
    under tracemalloc (`first`: only the first selection timed). The candidates are read a
    source (SOURCE articles) at a time; `early`: the helpers' fork server is started as
    reading goes on, as `digest run` does."""
    return_freed_memory()  # as the CLI does (digest/heap.py)
    articles: list[Article] = []
    with candidates_file.open("rb") as f:  # streamed: the whole file in memory would top the peak
        while source := pickle.load(f):
            articles += source
            if early:
                start_helpers_early(len(articles))  # as digest.plan.read_sources has it done
    give_back()  # as plan_digest does between reading and selecting
    rss_before = peak_rss()
    with Store.open(state, readonly=True) as store:
        t = time.perf_counter()
        selection = select(articles, History(store), CONFIG)
        seconds = time.perf_counter() - t
        rss = peak_rss()
        if first:
            sys.stdout.buffer.write(pickle.dumps({"seconds": seconds}))
            return
        t = time.perf_counter()
        select(articles, History(store), CONFIG)
        again = time.perf_counter() - t
        # Reading /proc every 10 ms takes the GIL from the selection it watches (10k: 0.4-0.7
        # s slower): the helpers' peaks come from a run of their own, the fork server's (a
        # high-water mark of its whole life) too.
        with HelperPeaks() as helpers:
            select(articles, History(store), CONFIG)
        tracemalloc.start()  # slows allocation down a lot: its own run
        select(articles, History(store), CONFIG)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    index = {id(a): n for n, a in enumerate(articles)}
    result = {
        "seconds": seconds,
        "again": again,
        "peak": peak,
        "rss": rss,
        "rss_before": rss_before,
        "helpers_rss": sorted(helpers.peaks.values(), reverse=True),
        "chosen": [index[id(c.article)] for c in selection.chosen],
        "skipped": {index[id(s.article)]: (s.reason, s.duplicate_of) for s in selection.skipped},
    }
    sys.stdout.buffer.write(pickle.dumps(result))


def republished() -> None:
    """Two selections over the republished feeds, as two runs make them: from the sample
    pages, and from the five real pages beside the project when they are there."""
    sys.path.insert(0, str(ROOT / "tests"))
    from republish import base_stories, entries, one_event_pairs, real_stories, write_feeds

    from digest.sources import read_paths

    config = SelectionConfig(max_articles=100, lookback_days=30)
    real = ROOT.parent / "shared" / "seeds"
    corpora = [("sample pages", base_stories(), range(1, 4))]
    if list(real.glob("*.txt")):
        corpora.append(("real pages", real_stories(real), range(1, 121)))
    for name, stories, seeds in corpora:
        one_event = one_event_pairs(stories)
        totals = Counter()
        for seed in seeds:
            corpus = entries(seed, stories=stories)
            story = {e.link: e.story for e in corpus}
            with tempfile.TemporaryDirectory(prefix="digest-republished-") as tmp:
                folder = Path(tmp)
                store = Store.open(folder / "state.sqlite3")
                sent: list[list[int]] = []
                seconds = []
                present: set[int] = set()
                for day in (0, 1):
                    write_feeds(folder / "feeds", corpus, day)
                    present |= {e.story for e in corpus if e.day <= day}
                    t = time.perf_counter()
                    paths = sorted(map(str, (folder / "feeds").glob("*.xml")))
                    articles = read_paths(paths).articles
                    selection = select(articles, History(store), config)
                    store.remember(day + 1, selection.records)
                    seconds.append(time.perf_counter() - t)
                    sent.append([story[c.article.url] for c in selection.chosen])
                store.close()
            copies = sum(n - 1 for run in sent for n in Counter(run).values())
            copies += len(set(sent[0]) & set(sent[1]))
            shown = set(sent[0]) | set(sent[1])
            lost = {s for s in present - shown if one_event.get(s) not in shown}
            totals.update(copies=copies, lost=len(lost), runs=1)
            totals.update(first=seconds[0], second=seconds[1])
            if len(seeds) <= 3:
                print(
                    f"republished {name}, seed {seed}: {len(corpus)} entries of {len(present)} "
                    f"stories; run 1 {seconds[0]:.2f} s ({len(sent[0])} stories), run 2 "
                    f"{seconds[1]:.2f} s ({len(sent[1])} new); copies sent {copies}, stories "
                    f"lost {len(lost)} (read + select + remember, in process)"
                )
        if len(seeds) > 3:
            n = totals["runs"]
            print(
                f"republished {name}, seeds {seeds.start}-{seeds.stop - 1}: "
                f"{len(stories)} stories, 500 entries each; copies sent {totals['copies']}, "
                f"stories lost {totals['lost']} (one event told by two outlets counts once); "
                f"run 1 {totals['first'] / n:.2f} s, run 2 {totals['second'] / n:.2f} s on average"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--history", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--candidates", type=int, nargs="+", default=[10_000, 40_000])
    parser.add_argument("--words", type=int, nargs=2, default=[300, 800])
    parser.add_argument("--keep", type=Path, help="keep the state files in this folder")
    parser.add_argument(
        "--reuse", action="store_true", help="select against the state files kept by --keep"
    )
    parser.add_argument("--republished", action="store_true", help="the republished feeds only")
    parser.add_argument(
        "--pairs",
        type=int,
        default=0,
        help="also time the first select with and without the early fork server, N pairs",
    )
    args = parser.parse_args()
    if args.republished:
        republished()
        return
    gen = Generator(tuple(args.words))
    folder = args.keep or Path(tempfile.mkdtemp(prefix="digest-select-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        for size in args.history:
            bench_history(args, gen, folder, size)
        republished()
    finally:
        if args.keep:
            print(f"\nstate files in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def measured(state: Path, candidates_file: Path, early: bool, first: bool = False) -> dict:
    """`measure` in a fresh process. Its main is `-c`, not this script: each helper of a
    selection imports the main script again (digest/select/parallel.py), and the CLI's
    (`digest`) imports next to nothing, where this one imports all of digest (0.1 s more on a
    first select)."""
    measuring = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
        f"from selection import measure; from pathlib import Path; "
        f"measure(Path({str(state)!r}), Path({str(candidates_file)!r}), {early}, {first})"
    )
    out = subprocess.run([sys.executable, "-c", measuring], check=True, capture_output=True)
    return pickle.loads(out.stdout)


def bench_history(args: argparse.Namespace, gen: Generator, folder: Path, size: int) -> None:
    state = folder / f"state-{size}.sqlite3"
    if args.reuse and state.exists():
        times = []
    else:
        for p in folder.glob(f"state-{size}.sqlite3*"):
            p.unlink()
        times = build_history(state, gen, size)
    print(f"\nhistory {size:,} articles ({state.stat().st_size / 1e6:.0f} MB state file)")
    if times:
        signed = sum(t[0] for t in times) / len(times)
        wrote = sum(t[1] for t in times) / len(times)
        print(
            f"  remember: {signed:.2f} s to fingerprint and {wrote:.2f} s to write "
            f"{BATCH:,} articles; bytes written per batch: "
            + ", ".join(f"{t[2] / 1e6:.0f} MB" for t in times)
        )
    for count in args.candidates:
        arts, plants = candidates(gen, size, count)
        words = sum(len(a.text.split()) for a in arts) / len(arts)
        cand_file = folder / f"candidates-{size}-{count}.pickle"
        with cand_file.open("wb") as f:
            for at in range(0, len(arts), SOURCE):
                pickle.dump(arts[at : at + SOURCE], f)
            pickle.dump([], f)
        os.sync()  # not timing the kernel writing the new state file out

        r = measured(state, cand_file, early=True)
        cold = measured(state, cand_file, early=False, first=True)["seconds"]
        paired: dict[bool, list[float]] = {True: [], False: []}  # early start or not
        for k in range(args.pairs):
            for early in (True, False) if k % 2 == 0 else (False, True):
                paired[early].append(measured(state, cand_file, early, first=True)["seconds"])
        cand_file.unlink()
        print(f"  {len(arts):,} candidates, {words:.0f} words on average")
        print(
            f"    select: {r['seconds']:.2f} s (again: {r['again']:.2f} s; with no fork "
            f"server started while reading: {cold:.2f} s); "
            f"allocated at peak (tracemalloc) {r['peak'] / 1e6:.0f} MB; process peak RSS "
            f"{r['rss'] / 1e6:.0f} MB, of which {r['rss_before'] / 1e6:.0f} MB before select "
            "(interpreter, libraries, the candidates)"
        )
        if r["helpers_rss"]:
            each = ", ".join(f"{m / 1e6:.0f}" for m in r["helpers_rss"])
            print(
                f"    processes it started (fork server, its resource tracker, helpers): peak "
                f"RSS {each} MB, largest first; all processes together "
                f"{(r['rss'] + sum(r['helpers_rss'])) / 1e6:.0f} MB"
            )
        if args.pairs:
            ratio = statistics.median(a / b for a, b in zip(*paired.values(), strict=True))
            print(
                f"    first select in {args.pairs} alternating pairs of fresh processes: median "
                f"{statistics.median(paired[True]):.2f} s with the fork server started while "
                f"reading, {statistics.median(paired[False]):.2f} s without (pair by pair, "
                f"median {ratio:.2f} of it)"
            )
        print(f"    chosen {len(r['chosen']):,}, skipped {len(r['skipped']):,}")
        score = caught(plants, arts, r["skipped"])
        total = [
            sum(v[0] for k, v in score.items() if not k.startswith("(")),
            sum(v[1] for k, v in score.items() if not k.startswith("(")),
        ]
        for kind, (hit, n) in sorted(score.items()):
            print(f"      {kind:28} {hit:5} / {n:<5}")
        print(
            f"    planted duplicates caught: {total[0]} / {total[1]} "
            f"({total[0] / max(total[1], 1):.1%})"
        )


if __name__ == "__main__":
    main()
