"""Facts and name words read the plain way, match by match, as digest/select/facts.py read
them before it was made fast: the regular expressions as they were, every check in Python on
every match, nothing kept from one article to the next. tests/test_facts.py checks that the
fast reading gives exactly these, key for key and in the same order. What a figure, a run of
names or a name word reads as is the module's own (number_fact, name_facts, name_word_keys);
what is checked here is which of them are found, where, and in what order."""

from __future__ import annotations

import re

from digest.select.facts import (
    DATE,
    FACT_CHARS,
    WEEKDAY,
    fact_key,
    instrumental_words,
    month_near,
    name_facts,
    name_word_keys,
    names_a_day,
    near_midnight,
    number_fact,
)
from digest.text import WEEKDAYS

UPPER = "A-ZА-ЯЁІЇЄҐӘҒҚҢӨҰҮҺЎÀ-ÖØ-ÞĀĂĄĆČĎĐĒĖĘĚĞĢĪĮİĶĹĻĽŁŃŅŇŌŐŒŘŚŞŠŢŤŪŮŰŲŸŹŻŽƏ"
LOWER = "a-zа-яёіїєґәғқңөұүһўʻ'’à-öø-ÿāăąćčďđēėęěğģīįıķĺļľłńņňōőœřśşšţťūůűųźżžə"
WORD = rf"[{UPPER}][\w'\u2019.\-]*"
NAME_RUN = re.compile(rf"{WORD}(?:\s+(?:(?:of|for|de|al)\s+)?{WORD})+")
CAPITALISED = re.compile(rf"[{UPPER}](?<![\w.].)[{LOWER}]+(?:-[{UPPER}]?[{LOWER}]+)*")
NUMBER = re.compile(
    r"(?P<digits>[0-9](?:[0-9]{0,2}(?: [0-9]{3})+(?:[,.][0-9]+)?(?![0-9])"
    r"|[0-9,.\u00a0\u202f]*(?<![,.\u00a0\u202f])))"
    r"(?:(?:\s*(?P<scale>(?i:thousand|million|billion|trillion|mln|bn|тыс|млн|млрд|трлн))\b\.?)"
    r"|(?P<short>[kmbKMB]|bn|tn)\b)?"
    r"(?P<percent>\s*%|\s+(?:per\s?cent|процент\w*)\b)?"
)
CYRILLIC = re.compile("[\u0400-\u04ff\u1c80-\u1c88]")
WEEKDAY_EN = re.compile(r"\b(?:[Mm]on|[Tt]ues|[Ww]ednes|[Tt]hurs|[Ff]ri|[Ss]atur|[Ss]un)day\b")
WEEKDAY_RU = re.compile(
    r"(?i:понедельник\w*|вторник\w*|сред[уаы]|четверг\w*|пятниц\w+|суббот\w+|воскресень\w+)"
)


def facts(title: str, text: str) -> dict[int, str]:
    out: dict[int, str] = {}
    body = text[:FACT_CHARS]
    for part in (title, body):
        for m in NUMBER.finditer(part):
            start = m.start()
            if start and (part[start - 1].isalnum() or part[start - 1] in ".,"):
                continue  # inside a word or a longer number
            key, kind, day = number_fact((m["digits"], None, m["scale"], m["short"], m["percent"]))
            month = None if day is None else month_near(part, start, m.end())
            if month:
                key, kind = fact_key("date", f"{month}-{day}"), DATE
            if key is not None:
                out.setdefault(key, kind)
        for m in weekday_matches(part):
            word = m[0].lower()
            day = WEEKDAYS.get(word)
            if day is None:
                day = next((n for w, n in WEEKDAYS.items() if word.startswith(w[:4])), None)
            if day is not None:
                out.setdefault(fact_key("weekday", str(day)), WEEKDAY)
                shift = near_midnight(part, m)
                if shift:
                    out.setdefault(fact_key("weekday", str((day + shift) % 7)), WEEKDAY)
    for m in NAME_RUN.finditer(body):
        for key, kind in name_facts(m[0]):
            out.setdefault(key, kind)
    return out


def weekday_matches(part: str) -> list[re.Match]:
    found = list(WEEKDAY_EN.finditer(part))
    if CYRILLIC.search(part):
        found += WEEKDAY_RU.finditer(part)
        found.sort(key=re.Match.start)
    return [m for m in found if names_a_day(part, m)]


def name_words(title: str, text: str) -> list[str]:
    out: list[str] = []
    words = title.split()
    title_case = sum(w[:1].isupper() for w in words) * 2 > len(words)
    for part in (text[:FACT_CHARS],) if title_case else (title, text[:FACT_CHARS]):
        instrumental = instrumental_words(part)
        for m in CAPITALISED.finditer(part):
            start = m.start()
            before = part[max(0, start - 3) : start].rstrip(" \"'\u201c\u00ab(")
            if not before or before[-1] in ".!?:\n":
                continue  # capitalised because it opens a sentence (or the title)
            out += name_word_keys(m[0][:-2] if start in instrumental else m[0])
    return out
