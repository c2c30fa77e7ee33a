"""The stories an issue freezes, as stored with it (`issues.articles`): its own record, not
the CLI's JSON, so the report users script against can change without changing what issues
store. Version 2 holds each story's title, lead, link and section and every telling (the
archive shows the first four; settling remembers the tellings). Issues frozen by an older
digest hold only the tellings (a list), their leads in the run report frozen beside them
(`issues.report`): read here too, once, so nothing else parses either.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from ..models import Article, Paragraph
from .models import FrozenStory

RECORD_VERSION = 2


def encode_stories(stories: Sequence[FrozenStory]) -> str:
    record = {
        "version": RECORD_VERSION,
        "stories": [
            {
                "title": s.title,
                "lead": s.lead,
                "url": s.url,
                "section": s.section,
                "tellings": [_article_json(a) for a in s.tellings],
            }
            for s in stories
        ],
    }
    return json.dumps(record, ensure_ascii=False, sort_keys=True, default=str)


def decode_stories(articles: str, report: str = "{}") -> list[FrozenStory]:
    """The stories of an issue from its stored columns, whichever digest froze it."""
    record = json.loads(articles)
    if isinstance(record, dict):
        return [
            FrozenStory(
                s["title"],
                s["lead"],
                s["url"],
                s["section"],
                tuple(_article(a) for a in s["tellings"]),
            )
            for s in record["stories"]
        ]
    # older: a list of stories, each a list of tellings (or one article); leads in the report
    tellings = [
        tuple(_older_article(a) for a in (item if isinstance(item, list) else [item]))
        for item in record
    ]
    chosen = _reported_chosen(report)
    stories = []
    for n, told in enumerate(tellings):
        shown = chosen[n] if n < len(chosen) else {}
        first = told[0] if told else None
        stories.append(
            FrozenStory(
                str(shown.get("title") or (first.title if first else "")),
                str(shown.get("lead") or ""),
                shown.get("url") if "url" in shown else (first.url if first else None),
                str(shown.get("section") or ""),
                told,
            )
        )
    # an issue whose tellings were not kept still shows what its report chose
    for shown in chosen[len(tellings) :]:
        stories.append(
            FrozenStory(
                str(shown.get("title") or ""),
                str(shown.get("lead") or ""),
                shown.get("url"),
                str(shown.get("section") or ""),
                (),
            )
        )
    return stories


def _reported_chosen(report: str) -> list[dict]:
    try:
        chosen = json.loads(report or "{}").get("chosen") or []
    except (ValueError, AttributeError):
        return []
    return [c for c in chosen if isinstance(c, dict)] if isinstance(chosen, list) else []


def _article_json(a: Article) -> dict:
    return {
        "title": a.title,
        "source": a.source,
        "line": a.line,
        "url": a.url,
        "guid": a.guid,
        "date": a.date.isoformat() if a.date else None,
        "excerpt": a.excerpt,
        "source_name": a.source_name,
        "source_link": a.source_link,
        "paragraphs": [[p.text, p.kind, p.line] for p in a.paragraphs],
    }


def _older_article(d: dict) -> Article:
    """An article as older digests froze it; a field it lacks is left empty."""
    return Article(
        title=str(d.get("title") or ""),
        source=str(d.get("source") or ""),
        line=d.get("line"),
        url=d.get("url"),
        guid=d.get("guid"),
        date=dt.date.fromisoformat(d["date"]) if d.get("date") else None,
        excerpt=bool(d.get("excerpt")),
        source_name=d.get("source_name"),
        source_link=d.get("source_link"),
        paragraphs=tuple(Paragraph(t, k, n) for t, k, n in d.get("paragraphs") or ()),
    )


def _article(d: dict) -> Article:
    return Article(
        title=d["title"],
        source=d["source"],
        line=d["line"],
        url=d["url"],
        guid=d["guid"],
        date=dt.date.fromisoformat(d["date"]) if d["date"] else None,
        excerpt=d["excerpt"],
        source_name=d.get("source_name"),
        source_link=d.get("source_link"),
        paragraphs=tuple(Paragraph(t, k, n) for t, k, n in d["paragraphs"]),
    )
