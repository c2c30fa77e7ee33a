"""Extractive leads for 10,000 articles: articles per second on this machine.

    .venv/bin/python benchmarks/summarize.py [N]

The articles are made from the real pages (../shared/seeds, and seeds/ when present): each
takes a real article's shape (its title and paragraph kinds: prose, questions, bullets,
captions, chrome) and varies it: paragraphs dropped, borrowed from other articles or moved,
numbers and a few words changed (so the sentence cache does not see the same paragraph
twice), a third flattened to "prose" only as feeds give them, some cut to one paragraph.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import random
import re
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from digest.config import SummaryConfig  # noqa: E402
from digest.models import PROSE, Article, Paragraph  # noqa: E402
from digest.sources import read_paths  # noqa: E402
from digest.summarize import ELLIPSIS, make_summarizer, split_sentences  # noqa: E402

PAGE_FOLDERS = (ROOT / "seeds", ROOT.parent / "shared" / "seeds")
NUMBER = re.compile(r"\d+")


def real_articles() -> list[Article]:
    paths = [
        str(p) for folder in PAGE_FOLDERS if folder.is_dir() for p in sorted(folder.glob("*.txt"))
    ]
    unique: dict[str, Article] = {}
    for article in read_paths(paths).articles:
        unique.setdefault(article.title, article)
    return list(unique.values())


def vary(text: str, rng: random.Random, vocabulary: list[str]) -> str:
    text = NUMBER.sub(lambda m: str(rng.randint(1, 10 ** len(m.group()))), text)
    words = text.split(" ")
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(words))
        if words[i].isalpha() and words[i].islower():
            words[i] = rng.choice(vocabulary)
    return " ".join(words)


def synthetic(n: int, seed: int = 7) -> list[Article]:
    rng = random.Random(seed)
    real = real_articles()
    pool = [p for a in real for p in a.paragraphs]
    vocabulary = sorted({w for p in pool for w in p.text.split() if w.isalpha() and w.islower()})
    out = []
    for i in range(n):
        template = rng.choice(real)
        paragraphs: list[Paragraph] = []
        for p in template.paragraphs:
            if paragraphs and rng.random() < 0.15:
                continue
            paragraphs.append(p)
            if rng.random() < 0.1:
                paragraphs.append(rng.choice(pool))
        if rng.random() < 0.1:
            paragraphs = paragraphs[:1]
        elif rng.random() < 0.2 and len(paragraphs) > 2:
            rest = paragraphs[1:]
            rng.shuffle(rest)
            paragraphs = paragraphs[:1] + rest
        flat = rng.random() < 0.33  # a feed: every paragraph "prose"
        paragraphs = [
            Paragraph(vary(p.text, rng, vocabulary), PROSE if flat else p.kind, p.line)
            for p in paragraphs
        ]
        out.append(
            replace(
                template,
                title=vary(template.title, rng, vocabulary),
                paragraphs=tuple(paragraphs),
                source=f"synthetic-{i}",
            )
        )
    return out


def run(articles: list[Article], summarize) -> tuple[float, list[float], list[str]]:
    times, leads = [], []
    start = time.perf_counter()
    for article in articles:
        t = time.perf_counter()
        leads.append(summarize(article).lead)
        times.append(time.perf_counter() - t)
    return time.perf_counter() - start, times, leads


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    t = time.perf_counter()
    articles = synthetic(n)
    print(
        f"made {n} articles in {time.perf_counter() - t:.1f}s "
        f"({statistics.fmean(len(a.paragraphs) for a in articles):.1f} paragraphs, "
        f"{statistics.fmean(len(a.text.split()) for a in articles):.0f} words on average)"
    )
    summarize = make_summarizer(SummaryConfig(max_words=40))

    split_sentences.cache_clear()
    total, times, leads = run(articles, summarize)
    ms = sorted(x * 1000 for x in times)
    info = split_sentences.cache_info()
    print(
        f"cold: {n / total:,.0f} articles/s ({total:.1f}s); per article median "
        f"{statistics.median(ms):.2f} ms, p95 {ms[int(0.95 * n)]:.2f} ms, max {ms[-1]:.1f} ms; "
        f"paragraph cache hits {info.hits}/{info.hits + info.misses}"
    )

    words = [len(lead.split()) for lead in leads]
    print(
        f"leads: {statistics.fmean(words):.1f} words on average, max {max(words)}; "
        f"empty {sum(not lead for lead in leads)}, shortened with {ELLIPSIS} "
        f"{sum(lead.endswith(ELLIPSIS) for lead in leads)}"
    )

    real = real_articles()
    split_sentences.cache_clear()
    total, _, _ = run(real * 20, summarize)
    print(
        f"the {len(real)} real articles x 20 (as pages repeat them): "
        f"{20 * len(real) / total:,.0f} articles/s"
    )


if __name__ == "__main__":
    main()
