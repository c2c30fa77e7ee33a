"""How close the extractive leads come to hand-written ones, against three baselines.

    .venv/bin/python benchmarks/leads_rouge.py [--verbose] [--russian]

References: benchmarks/lead_references.json, written by hand for articles of the real pages
in ../shared/seeds (and the project's seeds/ when they hold the same titles); with
--russian, benchmarks/lead_references_ru.json for the Meduza and TASS articles of
tests/fixtures/languages/ru_news.json. Scores are ROUGE-1 and ROUGE-L F1 (rouge-score;
Porter stemming, or for Russian words of any script and Snowball's Russian stemmer),
averaged over the articles.
Baselines: lead-1 (the article's first sentence cut to max_words words), first-N (the
first max_words words of the body, cut mid-sentence) and TextRank (Mihalcea & Tarau 2004:
the sentences of the opening ranked by PageRank over word-overlap similarity, taken in rank
order while they fit max_words, shown in article order). Prints figures, asserts none.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import snowballstemmer  # noqa: E402
from rouge_score import rouge_scorer  # noqa: E402

from digest.language import language_of  # noqa: E402
from digest.models import Article  # noqa: E402
from digest.sources import read_paths  # noqa: E402
from digest.summarize import extractive_lead, split_sentences  # noqa: E402

REFERENCES = Path(__file__).with_name("lead_references.json")
RUSSIAN_REFERENCES = Path(__file__).with_name("lead_references_ru.json")
PAGE_FOLDERS = (ROOT / "seeds", ROOT.parent / "shared" / "seeds")


def lead_1(article: Article, max_words: int) -> str:
    """The baseline: the first sentence of the body, cut to max_words words."""
    for paragraph in article.prose:
        sentences = split_sentences(paragraph, language_of(article))
        if sentences:
            return " ".join(sentences[0].split()[:max_words])
    return ""


def first_words(article: Article, max_words: int) -> str:
    """The baseline a reader gets from any feed reader: the first max_words words."""
    return " ".join(" ".join(article.prose).split()[:max_words])


def textrank(article: Article, max_words: int, opening: int = 12) -> str:
    """TextRank over the first `opening` sentences of the prose."""
    language = language_of(article)
    sentences = [s for p in article.prose for s in split_sentences(p, language)][:opening]
    if not sentences:
        return ""
    words = [set(w.lower() for w in s.split() if len(w) > 3) for s in sentences]
    n = len(sentences)
    weights = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j and len(words[i]) > 1 and len(words[j]) > 1:
                overlap = len(words[i] & words[j])
                weights[i, j] = overlap / (math.log(len(words[i])) + math.log(len(words[j])))
    sums = weights.sum(axis=1, keepdims=True)
    transition = np.divide(weights, sums, out=np.full_like(weights, 1 / n), where=sums > 0)
    rank = np.full(n, 1 / n)
    for _ in range(50):
        rank = 0.15 / n + 0.85 * transition.T @ rank
    chosen, used = [], 0
    for i in sorted(range(n), key=lambda i: -rank[i]):
        size = len(sentences[i].split())
        if used + size <= max_words:
            chosen.append(i)
            used += size
    if not chosen:
        return " ".join(sentences[int(rank.argmax())].split()[:max_words])
    return " ".join(sentences[i] for i in sorted(chosen))


def load_articles() -> dict[str, Article]:
    paths = [
        str(p) for folder in PAGE_FOLDERS if folder.is_dir() for p in sorted(folder.glob("*.txt"))
    ]
    articles: dict[str, Article] = {}
    for article in read_paths(paths).articles:
        articles.setdefault(article.title, article)
    return articles


def russian_articles() -> dict[str, Article]:
    sys.path.insert(0, str(ROOT / "tests"))
    from whole_leads import russian_articles as real

    return {a.title: a for a in real()}


class RussianTokenizer:
    """rouge-score keeps only [a-z0-9]: Russian words, lowercased and Snowball-stemmed."""

    _stemmer = snowballstemmer.stemmer("russian")

    def tokenize(self, text: str) -> list[str]:
        words = re.findall(r"[^\W_]+", text.lower().replace("ё", "е"))
        return self._stemmer.stemWords(words)


BASELINES = {
    "ours": extractive_lead,
    "lead-1": lead_1,
    "first-N": first_words,
    "textrank": textrank,
}


def main() -> None:
    russian = "--russian" in sys.argv
    data = json.loads((RUSSIAN_REFERENCES if russian else REFERENCES).read_text(encoding="utf-8"))
    max_words = data["max_words"]
    articles = russian_articles() if russian else load_articles()
    scorer = (
        rouge_scorer.RougeScorer(["rouge1", "rougeL"], tokenizer=RussianTokenizer())
        if russian
        else rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=True)
    )
    scores: dict[str, dict[str, list[float]]] = {
        name: {"rouge1": [], "rougeL": []} for name in BASELINES
    }
    missing = [title for title in data["references"] if title not in articles]
    for title, reference in data["references"].items():
        article = articles.get(title)
        if article is None:
            continue
        leads = {name: make(article, max_words) for name, make in BASELINES.items()}
        for name, lead in leads.items():
            result = scorer.score(reference, lead)
            for metric in ("rouge1", "rougeL"):
                scores[name][metric].append(result[metric].fmeasure)
        if "--verbose" in sys.argv:
            r1 = {n: scores[n]["rouge1"][-1] for n in scores}
            print(f"{r1['ours']:.3f} vs first-N {r1['first-N']:.3f}  {title}")
            print(f"    ours: {leads['ours']}\n    ref:  {reference}")
    n = len(scores["ours"]["rouge1"])
    print(f"articles scored: {n} (references without a matching article: {len(missing)})")
    print(f"{'':9} {'ROUGE-1 F1':>11} {'ROUGE-L F1':>11}")
    for name, metrics in scores.items():
        r1, rl = (statistics.fmean(metrics[m]) if metrics[m] else 0.0 for m in ("rouge1", "rougeL"))
        print(f"{name:9} {r1:11.3f} {rl:11.3f}")
    for baseline in ("lead-1", "first-N", "textrank"):
        pairs = list(zip(scores["ours"]["rouge1"], scores[baseline]["rouge1"], strict=True))
        wins = sum(o > b for o, b in pairs)
        ties = sum(o == b for o, b in pairs)
        print(f"ours vs {baseline} on ROUGE-1: better on {wins}, equal on {ties}, of {n} articles")


if __name__ == "__main__":
    main()
