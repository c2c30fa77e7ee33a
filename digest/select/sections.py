"""Sections: which named section of the digest a story goes to.

With `sections` configured, an article goes to the first section (config order) with a
keyword in its title (case-insensitive, whole words), else to the section whose keywords occur
most often in its body (ties: config order). Articles matching no section, and every article
when none are configured, go to DEFAULT_SECTION ("Top stories").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..models import DEFAULT_SECTION, Article
from ..text import unicode_punct_to_spaces


def compile_sections(
    sections: Sequence[tuple[str, Sequence[str]]],
) -> list[tuple[str, re.Pattern[str]]]:
    out = []
    for name, keywords in sections:
        words = [r"\s+".join(map(re.escape, k.split())) for k in keywords if k.strip()]
        if words:
            out.append((name, re.compile(r"\b(?:" + "|".join(words) + r")\b", re.I)))
    return out


def section_of(article: Article, sections: list[tuple[str, re.Pattern[str]]]) -> str:
    if not sections:
        return DEFAULT_SECTION
    title = unicode_punct_to_spaces(article.title)
    for name, pattern in sections:
        if pattern.search(title):
            return name
    body = unicode_punct_to_spaces(article.text)
    best, hits = DEFAULT_SECTION, 0
    for name, pattern in sections:
        n = len(pattern.findall(body))
        if n > hits:
            best, hits = name, n
    return best
