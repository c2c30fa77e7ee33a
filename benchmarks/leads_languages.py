"""Leads on real Russian news: how many are damaged (not whole sentences of their article).

    .venv/bin/python benchmarks/leads_languages.py [--verbose]

Articles: tests/fixtures/languages/ru_news.json (63 openings of real articles from seven
Russian outlets; provenance and licence in that folder's README). What "damaged" means:
tests/whole_leads.py (split by razdel, independently of our splitter). Prints figures;
asserts none.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from whole_leads import damage, russian_articles  # noqa: E402

from digest.summarize import extractive_lead  # noqa: E402


def main() -> None:
    found = russian_articles()
    damaged = 0
    for article in found:
        lead = extractive_lead(article, 40)
        why = damage(lead, article)
        damaged += why is not None
        if why or "--verbose" in sys.argv:
            print(f"{'DAMAGED' if why else 'ok':8} {article.title}\n    {lead}\n    {why or ''}")
    print(f"Russian leads damaged: {damaged} of {len(found)}")


if __name__ == "__main__":
    main()
