"""Length caps on what readers keep: a hostile or broken source cannot make a huge digest.

A title longer than MAX_TITLE_CHARS (a feed's name: MAX_NAME_CHARS) is cut at a word and
ends with "…"; an article's body is kept up to MAX_TEXT_CHARS (enough for any lead), the
rest left out. A link longer than MAX_URL_CHARS is dropped, not cut (a cut link leads
nowhere): the story shows without it. Each cut is said in a Problem naming the source, so
the user knows the text is shorter than the source's.
"""

from __future__ import annotations

from dataclasses import replace

from ..models import Article, Paragraph, Problem
from ..text import cut_at_word

MAX_TITLE_CHARS = 300
MAX_NAME_CHARS = 100  # a feed's own title: its source's name, shown under every story
MAX_TEXT_CHARS = 20_000
# sitemaps.org's limit and about what old browsers followed (2,083): real article links are a
# few hundred characters, and a digest's 20-odd links must stay well within Gmail's ~102 KB clip
MAX_URL_CHARS = 2_048


def cap_name(name: str | None, where: str, problems: list[Problem]) -> str | None:
    """A feed's name within MAX_NAME_CHARS; a cut is said once, in `problems`."""
    if name is None or len(name) <= MAX_NAME_CHARS:
        return name
    problems.append(
        Problem(where, f"feed title of {len(name):,} characters cut to {MAX_NAME_CHARS}")
    )
    return cut_at_word(name, MAX_NAME_CHARS)


def cap_article(article: Article) -> tuple[Article, list[Problem]]:
    """The article within the caps, and a Problem for each cut made."""
    problems: list[Problem] = []
    where = article.where
    changes: dict[str, object] = {}
    if len(article.title) > MAX_TITLE_CHARS:
        changes["title"] = cut_at_word(article.title, MAX_TITLE_CHARS)
        problems.append(
            Problem(
                where,
                f"title of {len(article.title):,} characters cut to {MAX_TITLE_CHARS} at a word",
            )
        )
    if article.url is not None and len(article.url) > MAX_URL_CHARS:
        changes["url"] = None
        problems.append(
            Problem(
                where,
                f"link of {len(article.url):,} characters (over {MAX_URL_CHARS:,}) dropped: "
                f"{article.title[:60]!r} shows without it",
            )
        )
    total = sum(len(p.text) for p in article.paragraphs)
    if total > MAX_TEXT_CHARS:
        kept: list[Paragraph] = []
        room = MAX_TEXT_CHARS
        for p in article.paragraphs:
            if room <= 0:
                break
            if len(p.text) > room:
                p = Paragraph(cut_at_word(p.text, max(room, 2)), p.kind, p.line)
            kept.append(p)
            room -= len(p.text)
        changes["paragraphs"] = tuple(kept)
        problems.append(
            Problem(
                where,
                f"article text of {total:,} characters kept to its first {MAX_TEXT_CHARS:,} "
                f"(enough for its lead): {(changes.get('title') or article.title)[:60]!r}",
            )
        )
    return (replace(article, **changes) if changes else article), problems
