"""Facts and name words read the plain way, match by match, as digest/select/facts.py read
them before it was made fast (regular expressions as they were, every check in Python on
every match, nothing kept from one article to the next): tests/test_facts.py checks that the
fast reading gives exactly these, key for key and in the same order."""

from __future__ import annotations

import re

from digest.select.facts import (
    _ABBREVIATIONS,
    _COMMON_PLACES,
    _LOWER,
    _OPENER_KEYS,
    _OPENERS,
    _PLACE_HEADS,
    _POSSESSIVES,
    _ROLE_KEYS,
    _ROLES,
    _SCALE,
    _UPPER,
    _WEEKDAY_RE,
    _WEEKDAY_RU,
    AMOUNT,
    COUNT,
    DATE,
    FACT_CHARS,
    FEW,
    NAME,
    PERCENT,
    WEAK,
    WEEKDAY,
    YEAR,
    _month_near,
    fact_key,
    name_key,
    number_value,
)
from digest.text import WEEKDAYS

CYRILLIC = re.compile("[\u0400-\u04ff\u1c80-\u1c88]")
WORD = rf"[{_UPPER}][\w'\u2019.\-]*"
NAME_RUN = re.compile(rf"{WORD}(?:\s+(?:(?:of|for|de|al)\s+)?{WORD})+")
CAPITALISED = re.compile(rf"[{_UPPER}](?<![\w.].)[{_LOWER}]+(?:-[{_UPPER}]?[{_LOWER}]+)*")
NUMBER = re.compile(
    r"(?P<digits>[0-9][0-9,.\u00a0\u202f]*(?<![,.\u00a0\u202f]))"
    r"(?:(?:\s*(?P<scale>thousand|million|billion|trillion|mln|bn|тыс|млн|млрд|трлн)\b\.?)"
    r"|(?P<short>[kmbKMB]|bn|tn)\b)?"
    r"(?P<percent>\s*%|\s+(?:per\s?cent|процент\w*)\b)?"
)


def facts(title: str, text: str) -> dict[int, str]:
    out: dict[int, str] = {}
    body = text[:FACT_CHARS]
    for part in (title, body):
        for m in NUMBER.finditer(part):
            start = m.start()
            if start and (part[start - 1].isalnum() or part[start - 1] in ".,"):
                continue  # inside a word or a longer number
            fact = number_fact(part, m)
            if fact is not None:
                out.setdefault(fact_key(*fact[:2]), fact[2])
        for word in weekday_words(part):
            day = WEEKDAYS.get(word.lower())
            if day is None:
                day = next((n for w, n in WEEKDAYS.items() if word.lower().startswith(w[:4])), None)
            if day is not None:
                out.setdefault(fact_key("weekday", str(day)), WEEKDAY)
    for m in NAME_RUN.finditer(body):
        for name in names_in(m[0]):
            out.setdefault(fact_key("name", name), WEAK if name in _COMMON_PLACES else NAME)
    return out


def weekday_words(part: str) -> list[str]:
    found = list(_WEEKDAY_RE.finditer(part)) if "day" in part else []
    if not part.isascii() and CYRILLIC.search(part):
        found += _WEEKDAY_RU.finditer(part)
        found.sort(key=re.Match.start)
    return [m[0] for m in found]


def number_fact(part: str, m: re.Match[str]) -> tuple[str, str, str] | None:
    scale = (m["scale"] or m["short"] or "").lower()
    percent = m["percent"]
    value = number_value(m["digits"])
    if value is None:
        return None
    plain_number = not (scale or percent) and value.is_integer() and "." not in m["digits"]
    if plain_number and value <= 31:
        month = _month_near(part, m.start(), m.end())
        if month:
            return ("date", f"{month}-{int(value)}", DATE)
    if plain_number and 1900 <= value <= 2100:
        return ("year", str(int(value)), YEAR)
    value *= _SCALE.get(scale, 1)
    if percent:
        return ("num", f"{value:g}%", PERCENT)
    if not plain_number:
        return ("num", f"{value:g}", AMOUNT)
    return ("num", f"{value:g}", COUNT if value >= 100 else FEW)


def names_in(run: str) -> tuple[str, ...]:
    names: list[str] = []
    words: list[str] = []
    for word in run.split():
        initial = len(word) <= 3 and word.endswith(".") and word[:-1].isalpha() and len(word) == 2
        end = word.endswith(".") and not is_abbreviation(word) and not initial
        word = word.rstrip(".")
        possessive = word.endswith(_POSSESSIVES)
        if possessive:
            word = word[: -2 if word[-1] in "sS" else -1]
        if word in ("of", "for", "de", "al") and len(words) >= 2 and words[0] not in _PLACE_HEADS:
            add_name(words, names)
            words = []
            continue
        if word and not initial:
            words.append(name_key(word))
        if end or possessive:
            add_name(words, names)
            words = []
    add_name(words, names)
    return tuple(names)


def is_abbreviation(word: str) -> bool:
    return word.lower() in _ABBREVIATIONS or (
        len(word) <= 6 and word[::2].isupper() and word[1::2] == "." * (len(word) // 2)
    )


def add_name(words: list[str], names: list[str]) -> None:
    roles = [n for n, w in enumerate(words) if w in _ROLE_KEYS]
    if roles:
        del words[: roles[-1] + 1]
    while words and words[-1] in _OPENER_KEYS:
        words.pop()
    while words and words[0] in _OPENER_KEYS:
        words.pop(0)
    if len(words) >= 2:
        names.append(" ".join(words))


def name_words(title: str, text: str) -> list[str]:
    out = []
    words = title.split()
    title_case = sum(w[:1].isupper() for w in words) * 2 > len(words)
    for part in (text[:FACT_CHARS],) if title_case else (title, text[:FACT_CHARS]):
        for m in CAPITALISED.finditer(part):
            start = m.start()
            before = part[max(0, start - 3) : start].rstrip(" \"'\u201c\u00ab(")
            if not before or before[-1] in ".!?:\n":
                continue  # capitalised because it opens a sentence (or the title)
            word = m[0]
            lower = word.lower()
            if lower in _OPENERS or lower in _ROLES or len(word) < 3:
                continue
            out.append(name_key(word))
            if "-" in word and not word.isascii():
                out.extend(name_key(part) for part in word.split("-") if len(part) >= 3)
    return out
