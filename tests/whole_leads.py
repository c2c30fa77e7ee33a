"""Real articles in other languages and the check that a lead is whole sentences of its own
article. Used by tests/test_languages.py and benchmarks/leads_languages.py.

The check splits with razdel, independently of digest.sentences: every piece of the lead
must be in the article's text and start where one of the article's sentences starts (or
right after a wire dateline); the
lead must not start in lowercase, end on an initial ("Ш.") or without a sentence end, nor
open a quotation it does not close (or close one it did not open).
"""

from __future__ import annotations

import json
from pathlib import Path

from razdel import sentenize

from digest.models import Article, Paragraph
from digest.summarize import ELLIPSIS

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "languages"


def russian_articles() -> list[Article]:
    """63 openings of real Russian news articles from seven outlets (see the README there)."""
    items = json.loads((FIXTURES / "ru_news.json").read_text(encoding="utf-8"))
    return [
        Article(
            title=item["title"],
            paragraphs=tuple(Paragraph(p) for p in item["paragraphs"]),
            source=item["url"],
        )
        for item in items
    ]


def _quotes_cut(text: str) -> bool:
    first_close, first_open = text.find("»"), text.find("«")
    return text.rfind("«") > text.rfind("»") or (
        first_close >= 0 and (first_open < 0 or first_close < first_open)
    )


def _after_dateline(before: str) -> bool:
    """ "Москва. 7 мая. INTERFAX.RU - " before the news: a short opening that ends in a dash."""
    return len(before) <= 80 and before.rstrip().endswith(("-", "–", "—"))


def damage(lead: str, article: Article) -> str | None:
    """Why `lead` is not whole sentences of `article`, or None when it is (or is empty)."""
    if not lead:
        return None
    text = lead.removesuffix(ELLIPSIS)
    if not lead.endswith(ELLIPSIS) and lead.rstrip('»"”)')[-1] not in ".!?…":
        return "ends without a sentence end"
    if text[0].islower():
        return "starts in lowercase"
    last = text.rstrip(".").rsplit(None, 1)[-1]
    if text.endswith(".") and len(last) == 1 and last.isupper():
        return "ends on an initial"
    if _quotes_cut(text):
        return "a quotation cut open"
    paragraphs = [" ".join(p.text.split()) for p in article.paragraphs]
    starts = [{s.start for s in sentenize(p)} for p in paragraphs]
    for sentence in sentenize(text):
        places = [(i, at) for i, p in enumerate(paragraphs) if (at := p.find(sentence.text)) >= 0]
        if not places:
            return f"not in the article: {sentence.text!r}"
        if not any(at in starts[i] or _after_dateline(paragraphs[i][:at]) for i, at in places):
            return f"starts inside a sentence: {sentence.text!r}"
    return None
