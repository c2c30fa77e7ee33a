"""Reading facts and name words, as fingerprinting reads them for every candidate: `facts` and
`name_words` of generated news (the selection benchmark's candidates, planted copies among
them) and of real news (ECB+ dev, ../shared/data), in one fresh process, so what they keep
from article to article starts empty as in a run.

    .venv/bin/python benchmarks/facts.py [--candidates 10000] [--words 300 800]

Prints the time of each over all the articles, the first pass and a second one (all kept);
asserts nothing (tests/test_facts.py checks that the readings are the plain ones).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import selection

from digest.select.facts import facts, name_words

ECB = Path(__file__).resolve().parents[2] / "shared" / "data" / "ecbplus_dev.json"


def timed(texts: list[tuple[str, str]]) -> str:
    out = []
    for read in (facts, name_words):
        for _ in range(2):
            start = time.perf_counter()
            for title, text in texts:
                read(title, text)
            out.append(f"{read.__name__} {time.perf_counter() - start:.3f} s")
    return ", ".join(out[::2]) + f"; again: {', '.join(out[1::2])}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--candidates", type=int, default=10_000)
    ap.add_argument("--words", type=int, nargs=2, default=(300, 800))
    args = ap.parse_args()
    articles, _ = selection.candidates(
        selection.Generator(tuple(args.words)), 100_000, args.candidates
    )
    generated = [(a.title, a.text) for a in articles]
    print(f"{len(generated)} generated candidates: {timed(generated)}")
    if ECB.exists():
        real = [(a["title"], a["text"]) for a in json.loads(ECB.read_text("utf-8"))["articles"]]
        print(f"{len(real)} ECB+ articles: {timed(real)}")
    else:
        print(f"no {ECB}: real news left out")


if __name__ == "__main__":
    main()
