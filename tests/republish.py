"""A republished corpus: stories told many times over in many Atom feeds, the way aggregators
and syndication partners republish them.

Each base story (the project's own sample pages, `seeds/`, full articles only; or the real
front pages in ../shared/seeds, excerpts too: `real_stories`) is told again
and again: a label before or after the headline ("Update:", "Week in Review:", "(Part 2)"), the
body trimmed to 50-100% of its paragraphs and reordered, sometimes one or two paragraphs of
another story mixed in, exact copies under new GUIDs, a partner keeping the GUID of the feed it
copied from. Every feed numbers its items alike (`item-1`, `item-2`, ...), so GUIDs collide
across feeds. Each entry's link says which story it tells, for scoring.

Used by tests/test_stories.py and benchmarks/selection.py.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from digest.models import Article
from digest.sources import read_paths

ROOT = Path(__file__).resolve().parents[1]
PREFIXES = [
    "Update: ", "Opinion: ", "Week in Review: ", "Analysis: ", "Exclusive: ", "Breaking: ",
    "In Numbers: ", "Explainer: ",
]  # fmt: skip
SUFFIXES = [
    " (Part 2)", " (Updated)", " | Wire", " - Partner Desk", ", Officials Say", ": Background",
    ": What We Know",
]  # fmt: skip
# Two sample articles that are one story with another (a light edit, another outlet's report):
# left out so every base story is a story of its own.
RELATED = {
    "Tajikistan Raises Rogun Reservoir Level Ahead of Winter Peak",
    "Farap Freight Hub to Anchor New Uzbek\u2013Turkmen Transit Push",
}


# Two of the real pages' articles tell one event (Gideon Sa'ar's visit to Astana on
# January 27, 2026, in two outlets' words): shown as one story, neither is lost.
ONE_EVENT = {
    "Astana\u2013Israel Talks Span Technology, Trade, and Holocaust Remembrance": (
        "Kazakhstan and Israel Deepen Cooperation in Astana"
    ),
}


def one_event_pairs(stories: list[Article]) -> dict[int, int]:
    """Story number -> the number of the story that tells the same event (`ONE_EVENT`),
    both ways, for the stories among `stories`."""
    number = {a.title: n for n, a in enumerate(stories)}
    pairs = {number[a]: number[b] for a, b in ONE_EVENT.items() if a in number and b in number}
    return pairs | {b: a for a, b in pairs.items()}


def base_stories() -> list[Article]:
    """The sample pages' full articles, one per story."""
    seen: dict[str, Article] = {}
    for a in read_paths([str(p) for p in sorted((ROOT / "seeds").glob("*.txt"))]).articles:
        if not a.excerpt and a.title not in RELATED and len(a.prose) >= 2:
            seen.setdefault(a.title, a)
    return list(seen.values())


def real_stories(folder: Path) -> list[Article]:
    """The real front pages' articles (../shared/seeds), one per title: every one with a
    paragraph, excerpts too (one page gives each as one long paragraph), as a corpus built
    from those pages holds them."""
    seen: dict[str, Article] = {}
    for a in read_paths([str(p) for p in sorted(folder.glob("*.txt"))]).articles:
        if a.prose:
            seen.setdefault(a.title, a)
    return list(seen.values())


@dataclass(frozen=True)
class Entry:
    feed: int
    guid: str
    story: int
    title: str
    paragraphs: tuple[str, ...]
    day: int  # 0: in the first run's feeds, 1: added for the second run
    link: str


def entries(
    seed: int, feeds: int = 20, per_feed: int = 25, stories: list[Article] | None = None
) -> list[Entry]:
    """The corpus of `seed`, republishing `stories` (default: base_stories)."""
    rng = random.Random(seed)
    stories = stories if stories is not None else base_stories()
    # A third of the stories first appear on day 1: the second run has new stories too.
    late = set(rng.sample(range(len(stories)), len(stories) // 3))
    out: list[Entry] = []
    told: list[Entry] = []
    for f in range(feeds):
        for n in range(per_feed):
            day = 0 if n < per_feed // 2 else 1
            choices = [s for s in range(len(stories)) if day or s not in late]
            link = f"https://feed{f}.example/items/{n}"
            earlier = [e for e in told if e.day <= day]
            r = rng.random()
            if earlier and r < 0.1:  # an exact copy under a new GUID
                e = rng.choice(earlier)
                out.append(Entry(f, f"item-{n}", e.story, e.title, e.paragraphs, day, link))
                continue
            if earlier and r < 0.15:  # a partner keeps the GUID of the feed it copied from
                e = rng.choice(earlier)
                out.append(Entry(f, e.guid, e.story, e.title, e.paragraphs, day, link))
                continue
            s = rng.choice(choices)
            base = stories[s]
            paras = [p for p in base.prose]
            keep = max(1, round(len(paras) * rng.uniform(0.5, 1.0)))
            paras = rng.sample(paras, keep)
            if rng.random() < 0.4:
                other = stories[rng.choice([x for x in range(len(stories)) if x != s])].prose
                for p in rng.sample(list(other), min(len(other), rng.choice([1, 2]))):
                    paras.insert(rng.randint(0, len(paras)), p)
            title = base.title
            label = rng.random()
            if label < 0.4:
                title = rng.choice(PREFIXES) + title
            elif label < 0.6:
                title += rng.choice(SUFFIXES)
            entry = Entry(f, f"item-{n}", s, title, tuple(paras), day, link)
            out.append(entry)
            told.append(entry)
    return out


def write_feeds(folder: Path, all_entries: list[Entry], day: int) -> None:
    """The feeds as they stand on `day`: every entry published by then, newest first."""
    folder.mkdir(parents=True, exist_ok=True)
    start = dt.datetime(2025, 11, 20, 6, 0, tzinfo=dt.UTC)
    by_feed: dict[int, list[tuple[int, Entry]]] = {}
    for n, e in enumerate(all_entries):
        if e.day <= day:
            by_feed.setdefault(e.feed, []).append((n, e))
    for f, items in by_feed.items():
        xml = [
            '<?xml version="1.0" encoding="utf-8"?>',
            '<feed xmlns="http://www.w3.org/2005/Atom">',
            f"<title>Partner Feed {f}</title>",
            f'<link href="https://feed{f}.example/"/>',
            f"<id>https://feed{f}.example/</id>",
            f"<updated>{start.isoformat()}</updated>",
        ]
        for n, e in reversed(items):
            when = start + dt.timedelta(days=e.day, minutes=n)
            body = "".join(f"<p>{escape(p)}</p>" for p in e.paragraphs)
            xml += [
                "<entry>",
                f"<title>{escape(e.title)}</title>",
                f"<id>{escape(e.guid)}</id>",
                f'<link href="{e.link}"/>',
                f"<updated>{when.isoformat()}</updated>",
                f'<content type="html">{escape(body)}</content>',
                "</entry>",
            ]
        xml.append("</feed>")
        (folder / f"feed{f:02d}.xml").write_text("\n".join(xml), encoding="utf-8")
