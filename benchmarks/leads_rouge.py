"""How close the extractive leads come to hand-written ones, against the lead-1 baseline.

    .venv/bin/python benchmarks/leads_rouge.py [--verbose]

References: benchmarks/lead_references.json, written by hand for articles of the real pages
in ../shared/seeds (and the project's seeds/ when they hold the same titles). Scores are
ROUGE-1 and ROUGE-L F1 (rouge-score, Porter stemming), averaged over the articles.
lead-1 is the article's first sentence cut to max_words words. Prints figures, asserts none.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rouge_score import rouge_scorer  # noqa: E402

from digest.models import Article  # noqa: E402
from digest.sources import read_paths  # noqa: E402
from digest.summarize import extractive_lead, split_sentences  # noqa: E402

REFERENCES = Path(__file__).with_name("lead_references.json")
PAGE_FOLDERS = (ROOT / "seeds", ROOT.parent / "shared" / "seeds")


def lead_1(article: Article, max_words: int) -> str:
    """The baseline: the first sentence of the body, cut to max_words words."""
    for paragraph in article.prose:
        sentences = split_sentences(paragraph)
        if sentences:
            return " ".join(sentences[0].split()[:max_words])
    return ""


def load_articles() -> dict[str, Article]:
    paths = [
        str(p) for folder in PAGE_FOLDERS if folder.is_dir() for p in sorted(folder.glob("*.txt"))
    ]
    articles: dict[str, Article] = {}
    for article in read_paths(paths).articles:
        articles.setdefault(article.title, article)
    return articles


def main() -> None:
    data = json.loads(REFERENCES.read_text(encoding="utf-8"))
    max_words = data["max_words"]
    articles = load_articles()
    scorer = rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=True)
    scores: dict[str, dict[str, list[float]]] = {
        name: {"rouge1": [], "rougeL": []} for name in ("ours", "lead-1")
    }
    missing = [title for title in data["references"] if title not in articles]
    for title, reference in data["references"].items():
        article = articles.get(title)
        if article is None:
            continue
        leads = {"ours": extractive_lead(article, max_words), "lead-1": lead_1(article, max_words)}
        for name, lead in leads.items():
            result = scorer.score(reference, lead)
            for metric in ("rouge1", "rougeL"):
                scores[name][metric].append(result[metric].fmeasure)
        if "--verbose" in sys.argv:
            r1 = {n: scores[n]["rouge1"][-1] for n in scores}
            print(f"{r1['ours']:.3f} vs {r1['lead-1']:.3f}  {title}\n    ours: {leads['ours']}")
    n = len(scores["ours"]["rouge1"])
    print(f"articles scored: {n} (references without a matching article: {len(missing)})")
    print(f"{'':8} {'ROUGE-1 F1':>11} {'ROUGE-L F1':>11}")
    for name, metrics in scores.items():
        r1, rl = (statistics.fmean(metrics[m]) if metrics[m] else 0.0 for m in ("rouge1", "rougeL"))
        print(f"{name:8} {r1:11.3f} {rl:11.3f}")
    wins = sum(
        o > b for o, b in zip(scores["ours"]["rouge1"], scores["lead-1"]["rouge1"], strict=True)
    )
    print(f"ours beats lead-1 on ROUGE-1 for {wins} of {n} articles")


if __name__ == "__main__":
    main()
