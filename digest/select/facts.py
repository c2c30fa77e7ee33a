"""Facts: what two reports of one event have in common, and what tells two events apart.

The checkable facts of an article are its dates, amounts, shares, counts and the names of
people, places and organisations. Two articles tell one story when the facts they share add up
(each weighted by its kind and by how rare it is among the compared articles: a country or a
president named everywhere counts for little) and make up a good share of the facts of the
shorter one. A conflict counts against: both give a date (or an amount, a share, a count) and
they share none of them; same-topic articles about different events look alike in their words
and names, and differ in exactly these.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Protocol

from ..text import plain
from .keys import key64

FACT_CHARS = 1500  # facts come from the title and the opening of the body


DATE, AMOUNT, PERCENT, COUNT, FEW, NAME, WEAK = "d", "n", "%", "c", "f", "p", "w"
# FEW: a small plain number ("14 graves"): too common to be evidence of one story, but two
# reports of one event that both count things share some of the counts.
FACT_WEIGHTS = {
    DATE: 1.5, AMOUNT: 1.5, PERCENT: 1.5, COUNT: 1.0, FEW: 0.25, NAME: 1.0, WEAK: 0.25
}  # fmt: skip
WEAK_KINDS = frozenset({FEW, WEAK})  # never an anchor for comparing two articles
# Facts of these kinds state one value of a kind of thing: two reports of one event that
# both give a date (an amount, a share, a count) and share none of them tell two events.
CLASSES = (DATE, AMOUNT, PERCENT, COUNT, FEW)

_MONTHS = {
    m: n
    for n, m in enumerate(
        "January February March April May June July August "
        "September October November December".split(),
        1,
    )
}
_WORD = r"[A-Z][\w'\u2019.\-]*"
_NAME_RE = re.compile(rf"{_WORD}(?:\s+(?:(?:of|for|de|al)\s+)?{_WORD})+")
# Starts with a character class so the scan is fast; what precedes is checked in Python.
_NUMBER_RE = re.compile(
    r"[0-9][0-9,]*(?:\.[0-9]+)?(?:\s*(thousand|million|billion|trillion|mln|bn)\b)?"
    r"(\s*%|\s+percent\b)?"
)
_SCALE = {"thousand": 1e3, "million": 1e6, "mln": 1e6, "billion": 1e9, "bn": 1e9, "trillion": 1e12}
# Capitalised only because they open a sentence.
_OPENERS = set(
    """the a an in on at as and but of for to by with from this that these those it its
their they he she we our according during following since while although after before under
over into among between why how what when where who still yet such both each some many most
other another meanwhile however also if unlike alongside notably inside behind looking then
there here new last next""".split()
)
# Titles before a person's name: the name starts after the last of them, so "Kazakh President
# Kassym-Jomart Tokayev" and "President Kassym-Jomart Tokayev" name the same person.
_ROLES = set(
    """president vice-president minister ministers chairman chairwoman chair ambassador
secretary secretary-general director director-general spokesman spokeswoman spokesperson
representative envoy governor mayor king queen emir senator commissioner ceo officer founder dr
mr mrs ms professor prof judge""".split()
)
_ABBREVIATIONS = set(
    "dr. mr. mrs. ms. st. jr. inc. plc. co. ltd. corp. gen. gov. sen. prof.".split()
)
# Names every article of a region names: weak evidence that two articles tell one story.
_COMMON_PLACES = {
    "central asia", "central asian", "united states", "south caucasus", "middle east",
    "european union", "united nations", "united kingdom", "south asia", "east asia",
    "russian federation", "soviet union",
}  # fmt: skip


def facts(title: str, text: str) -> dict[int, str]:
    """The checkable facts of an article (key -> kind): dates, amounts, names.

    Names come from the body only: a title in Title Case would read as one long name.
    """
    out: dict[int, str] = {}
    body = text[:FACT_CHARS]
    for part in (title, body):
        for m in _NUMBER_RE.finditer(part):
            start, number = m.start(), m[0]
            if start and (part[start - 1].isalnum() or part[start - 1] in ".,"):
                continue  # inside a word or a longer number
            scale, percent = m[1], m[2]
            digits = number[: len(number) - len(percent or "")].split()[0].rstrip(".,")
            plain = not (scale or percent or "." in digits)
            value = float(digits.replace(",", "") or 0)
            if plain and value <= 31:
                month = _month_near(part, start, m.end())
                if month:
                    out[_fact_key("date", f"{month}-{int(value)}")] = DATE
                    continue
            if plain and 1900 <= value <= 2100:
                continue  # a year: the dates carry it
            value *= _SCALE[scale] if scale else 1
            kind = (PERCENT if percent else AMOUNT) if not plain else COUNT if value >= 100 else FEW
            out.setdefault(_fact_key("num", f"{value:g}{'%' if percent else ''}"), kind)
    for m in _NAME_RE.finditer(body):
        for name in _names(m[0]):
            out.setdefault(_fact_key("name", name), WEAK if name in _COMMON_PLACES else NAME)
    return out


def _month_near(text: str, start: int, end: int) -> int | None:
    """The month named just before ("January 27") or after ("27 January") a day number."""
    before = text[max(0, start - 10) : start].split()
    if before and before[-1] in _MONTHS and text[start - 1].isspace():
        return _MONTHS[before[-1]]
    after = text[end : end + 11].split()
    if after and text[end : end + 1].isspace():
        return _MONTHS.get(after[0].rstrip(".,;:"))
    return None


@functools.lru_cache(maxsize=1 << 16)
def _fact_key(kind: str, value: str) -> int:
    return key64(kind, value)


@functools.lru_cache(maxsize=1 << 16)  # the same names recur from article to article
def _names(run: str) -> tuple[str, ...]:
    """The names in a run of capitalised words: split where a sentence ends or at a
    possessive ("Tajikistan's Sipar Group"), without sentence openers and titles."""
    names: list[str] = []
    words: list[str] = []
    for word in run.split():
        end = word.endswith(".") and not _is_abbreviation(word)
        word = word.rstrip(".")
        possessive = word.endswith(_POSSESSIVES)
        if possessive:
            word = word[: -2 if word[-1] == "s" else -1]
        if word:
            words.append(plain(word))
        if end or possessive:  # the owner ends at its possessive: "Gideon Sa'ar's visit"
            _add_name(words, names)
            words = []
    _add_name(words, names)
    return tuple(names)


_POSSESSIVES = ("'s", "\u2019s", "'", "\u2019")


def _is_abbreviation(word: str) -> bool:
    """ "U.S." or "Dr.": a full stop that does not end the sentence."""
    return word.lower() in _ABBREVIATIONS or (
        len(word) <= 6 and word[::2].isupper() and word[1::2] == "." * (len(word) // 2)
    )


def _add_name(words: list[str], names: list[str]) -> None:
    roles = [n for n, w in enumerate(words) if w in _ROLES]
    if roles:
        del words[: roles[-1] + 1]
    while words and words[-1] in _OPENERS:  # "... Channels The documents"
        words.pop()
    while words and words[0] in _OPENERS:
        words.pop(0)
    if len(words) >= 2:
        names.append(" ".join(words))


def fact_weight(kinds: Iterable[str]) -> float:
    return sum(FACT_WEIGHTS[kind] for kind in kinds)


def fact_classes(kinds: Iterable[str]) -> tuple[int, ...]:
    """How many facts of each of CLASSES an article states."""
    kinds = list(kinds)
    return tuple(kinds.count(c) for c in CLASSES)


def story_evidence(shared: Iterable[tuple[str, int]], total: int) -> float:
    """Shared facts (kind, how many of the `total` compared articles hold it), each weighted
    by its kind and its rarity: 1 when only the two hold it, falling like its IDF."""
    if total <= 2:
        return sum(FACT_WEIGHTS[kind] for kind, _ in shared)
    top = math.log(total / 2)
    return sum(
        FACT_WEIGHTS[kind] * min(1.0, max(0.0, math.log(total / df) / top)) for kind, df in shared
    )


def conflicts(shared_kinds: Iterable[str], a: Sequence[int] | None, b: Sequence[int] | None) -> int:
    """Kinds of fact both articles state and share none of (`a`, `b`: fact_classes; None
    when not known, as for articles remembered before facts had classes)."""
    if a is None or b is None:
        return 0
    shared = fact_classes(shared_kinds)
    # Counts from a state stored before FEW existed have four classes: zip stops there.
    return sum(1 for x, y, s in zip(a, b, shared, strict=False) if x and y and not s)


class HasFacts(Protocol):
    fact_weight: float


def story_overlap(shared: Iterable[tuple[str, int]], a: HasFacts, b: HasFacts) -> float:
    """The shared facts' share of the facts of the article with fewer (by weight)."""
    small = min(a.fact_weight, b.fact_weight)
    return fact_weight(kind for kind, _ in shared) / small if small else 0.0


def cosine(a: Counter[int], b: Counter[int], idf: dict[int, float]) -> float:
    def weights(c: Counter[int]) -> dict[int, float]:
        return {t: (1 + math.log(n)) * idf.get(t, 1.0) for t, n in c.items()}

    wa, wb = weights(a), weights(b)
    dot = sum(w * wb[t] for t, w in wa.items() if t in wb)
    norm = math.sqrt(sum(w * w for w in wa.values()) * sum(w * w for w in wb.values()))
    return dot / norm if norm else 0.0
