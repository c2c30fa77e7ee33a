"""Sections: which named section of the digest a story goes to.

A story goes to the section whose keyword its title names first, else the one its lead
names first (ties: config order): what the story is about, never a side sentence of
the body ("... as Tajikistan did last year" does not make a Kyrgyz story Tajik). Stories no
section claims go under OTHER_SECTION ("More news"), after the named sections; with no
sections configured everything is DEFAULT_SECTION ("Top stories"), shown without a heading.

The lead is needed, so sections are assigned after summarizing (plan.place), once.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..keywords import Keywords
from ..models import DEFAULT_SECTION, OTHER_SECTION

Sections = Sequence[tuple[str, Sequence[str]]]


def _pattern(keywords: Sequence[str]) -> Keywords | None:
    """The keywords, matched with their inflected forms ("Казахстане", "Kazakhstan’s",
    "Қазақстанның": digest/keywords.py)."""
    found = Keywords(keywords)
    return found if found.phrases else None


def _compiled(sections: Sections) -> list[tuple[str, Keywords]]:
    out = []
    for name, keywords in sections:
        pattern = _pattern(keywords)
        if pattern is not None:
            out.append((name, pattern))
    return out


def section_for(title: str, lead: str, sections: Sections) -> str:
    """The section of one story, from its title first, then its lead."""
    compiled = _compiled(sections)
    if not compiled:
        return DEFAULT_SECTION
    return _section(title, lead, compiled)


def _section(title: str, lead: str, compiled: list[tuple[str, Keywords]]) -> str:
    """The section named first in the title, else first in the lead (ties: config order):
    "Uzbekistan and Kazakhstan Explore ..." is an Uzbek story."""
    for text in (title, lead):
        found = [(m.start(), i) for i, (_, p) in enumerate(compiled) if (m := p.search(text))]
        if found:
            return compiled[min(found)[1]][0]
    return OTHER_SECTION


def assign_sections(stories: Sequence[tuple[str, str]], sections: Sections) -> list[str]:
    """The section of each (title, lead), in order."""
    compiled = _compiled(sections)
    if not compiled:
        return [DEFAULT_SECTION] * len(stories)
    return [_section(title, lead, compiled) for title, lead in stories]


def section_order(sections: Sections) -> list[str]:
    """The order sections are shown in: the named ones as configured, then the rest."""
    return [name for name, _ in sections] + [OTHER_SECTION, DEFAULT_SECTION]
