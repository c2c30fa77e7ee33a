"""Sentences: the one splitter every user of sentences calls.

Each language gets the splitter that reads it best, then the rules that hold in every
language patch what it gets wrong:

- Russian and the other Cyrillic-script languages (Kazakh, Kyrgyz, Tajik, Uzbek in
  Cyrillic): razdel, a rule-based splitter built and measured on Russian news (SynTagRus,
  OpenCorpora; 98-99% of boundaries right). It knows Russian abbreviations ("т.е.", "г.",
  "млн.") and initials, where pysbd, made for English, ends a sentence after "Ш." and joins
  the wrong pieces.
- English and the other Latin-script languages (Uzbek in Latin): pysbd's English rules,
  which know English abbreviations; Uzbek Latin has none they misread.
- Everywhere: initials never end a sentence, in any script ("Ш. Мирзиёев", "Sh. Mirziyoyev",
  "Б. Б. Петров", "Ch. Aitmatov"), nor titles and month abbreviations before a name or a
  number ("Dr.", "Sept. 5", "5 дек. 2025"); a piece that starts in lowercase continues the
  sentence before it, and so does one after a semicolon or inside open brackets;
  "security.They" is two sentences.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

import pysbd
from razdel import sentenize

from .language import CYRILLIC_LANGUAGES, ENGLISH
from .text import (
    CJK,
    CJK_SENTENCE_END,
    EN_MONTH_ABBREVIATIONS,
    EN_WEEKDAYS,
    RU_MONTH_ABBREVIATIONS,
    STOP_WORDS,
)

__all__ = ["split_sentences", "text_before_limit"]

_local = threading.local()  # pysbd.Segmenter keeps the text being split on itself


def _pysbd() -> pysbd.Segmenter:
    segmenter = getattr(_local, "segmenter", None)
    if segmenter is None:
        segmenter = _local.segmenter = pysbd.Segmenter(language="en", clean=False)
    return segmenter


# Transliterated initials of one Cyrillic letter: "Sh." for Ш, "Zh." for Ж, "Yu." for Ю.
_DIGRAPH_INITIALS = frozenset("Sh Ch Zh Kh Ts Yu Ya Ye Yo Dzh Sch Gʻ Oʻ".split())


def _ends_with_initial(text: str) -> bool:
    """ "... Ш." or "... Sh.": an initial, one capital letter of any script (or a
    transliterated digraph) standing alone before the full stop."""
    if not text.endswith("."):
        return False
    words = text[:-1].rsplit(None, 1)
    word = words[-1].lstrip("(«\"„“'") if words else ""
    return (len(word) == 1 and word.isupper()) or word in _DIGRAPH_INITIALS


# pysbd ends a sentence after some of these ("Approx. 20", "Vol. 3"); in news copy they
# (nearly) never end one. razdel, after a month abbreviation before the year or another month
# ("5 дек. 2025", "за янв.–нояб. 2026 г."), and after the kinds of place a name follows
# ("в мкр. Аксай-4", "пгт. Кошой", "наб. Фонтанки"), which Almaty and Tashkent news
# give in every address.
_NEVER_FINAL = re.compile(
    r"(?:^|[\s(/–—-])(?:Mr|Mrs|Ms|Dr|Prof|Gen|Col|Lt|Maj|Capt|Sgt|Sen|Rep|Gov|Pres|Amb|St|Mt|"
    # police, court and church ranks before a name: "police Const. Tim Fanning", "Dist. Atty.
    # Steve Cooley", "Insp. Jane Doe", "Msgr. Tom Lee"
    r"Const|Det|Insp|Supt|Cpl|Pvt|Atty|Dist|Msgr|Fr|Hon|"
    r"No|Nos|Vol|[Aa]pprox|Fig|vs|"
    + "|".join((*(m.capitalize() for m in EN_MONTH_ABBREVIATIONS), *RU_MONTH_ABBREVIATIONS))
    + r"|проф|акад|ген|им|ул|просп|пр-т|обл|гг|мкр|мкрн|пгт|дер|наб)\.$"
)
# German writes an ordinal with a full stop: "am 31. Januar", "im 15. Jahrhundert", "im 4. Stock";
# pysbd ends a sentence there. A figure after an article or a preposition that only an ordinal
# follows ends none, nor a day before a month's German name ("The death toll rose to 15." does,
# and "15. January" is no English; nor is "am" after "I": "I am 25. I have no job").
_ORDINAL = re.compile(
    r"(?:^|(?<!\bI)\s)(?:am|im|vom|zum|zur|bis|ab|seit|beim|dem|der|die|das|den|des)\s+\d{1,3}\.$"
)
_DAY = re.compile(r"(?:^|\s)\d{1,2}\.$")
_GERMAN_MONTH = re.compile(r"(?:Januar|Jänner|Februar|März|Mai|Juni|Juli|Oktober|Dezember)\b")
# "3 млрд долл. США": the dollar's country, not a new sentence.
_DOLLARS_OF = re.compile(r"(?:^|\s)долл?\.$")
# ... and between company suffixes: "Acme Co. Ltd. is ..." ("Sea Value Plc. plans" is the
# lowercase rule).
_CORPORATE = r"(?:Ltd|Inc|Plc|Co|Corp)\."  # a company suffix's abbreviation
_CORPORATE_START = re.compile(rf"{_CORPORATE}|(?:LLC|LLP|PLC|GmbH)\b")
# "security.They will": a missing space after a full stop hides a boundary from a splitter.
_MISSING_SPACE = re.compile(r"(?<=[a-zа-яё]{2}[.!?])(?=[A-ZА-ЯЁ][a-zа-яё])")
# "about 9:40 p.m. Friday and found ...", "at 3 a.m. EST": the day or the zone of a time goes
# with it, not into a sentence of its own.
_CLOCK_END = re.compile(r"(?:^|\s)[ap]\.m\.$")
_OF_THE_CLOCK = re.compile(
    rf"(?:{'|'.join(d.capitalize() for d in EN_WEEKDAYS)}"
    r"|(?:[ECMP][SD]?T|GMT|UTC|BST|AK[SD]T|HST))\b"
)
# A heading or a deck run into the sentence after it, their boundary lost with the markup:
# "Latest on Waitrose supermarket fire The site manager ...", "... Kills Two In Kraft Shooting
# In a sad and surprising reversal ...". A capitalised article before a word in lowercase
# opens a sentence (a name's "The" comes before a capital: "told The Associated Press"), but
# not after an article or a preposition ("members of the A list", so no "A": "vitamin A is"),
# and "An" only before a vowel, as the article is, and not after a capitalised word: there it
# ends a name ("Zhang An said", "Zhang An announced", "Hoi An ancient town", "Long An on
# Monday", "Nguyen Van An").
_RUN_IN = re.compile(r"(?<=[^\W\d_]|\d)\s(?=The\s[a-z]|(An)\s[aeiou]|In\s(?:a|an|the)\s[a-z])")
_NO_RUN_IN_AFTER = frozenset("the a an of in on at to for from with by as into and or".split())
# Quick test for "might hold more than one sentence": the splitters are the slow part.
_INNER_END = re.compile(r"[.!?…][\"'”’»)\]]*\s")


def _pieces(text: str, language: str) -> list[str]:
    if language in CYRILLIC_LANGUAGES or (language == "uz" and _mostly_cyrillic(text)):
        return [part for s in sentenize(text) for part in _after_figures(s.text)]
    return _pysbd().segment(text)


# razdel reads "т." and "г." after a figure as inside a sentence ("в 2024 г. добыча", "в 2023 г.
# Москва приняла"); before a capitalised function word, which only a sentence opens, one ends
# there: "до 500 млн т. В 2024 г. добыча", "рекорд 1936 г. Об этом сообщил".
_FIGURE_ABBREVIATION = re.compile(
    r"\d(?:\s[а-яё]{1,4}\.?){0,2}\s[а-яё]{1,4}\.\s+([А-ЯЁ][а-яё]*)\b(?!\.)"  # not "И. Петров"
)


def _after_figures(sentence: str) -> list[str]:
    out, start = [], 0
    for match in _FIGURE_ABBREVIATION.finditer(sentence):
        if match.group(1).lower() in STOP_WORDS:
            out.append(sentence[start : match.start(1)])
            start = match.start(1)
    return [*out, sentence[start:]]


_CYRILLIC = re.compile(r"[\u0400-\u04FF]")


def _mostly_cyrillic(text: str) -> bool:
    return len(_CYRILLIC.findall(text)) * 2 > len(text)


# A short lowercase abbreviation, or one with inner full stops: "ж.", "г.", "мөлш.", "б.з.б."
# (a four-letter word that ends on a vowel, "году.", is a word).
_ABBREVIATION_END = re.compile(
    r"(?:^|[\s(])(?:[^\W\d_]{1,3}|[^\W\d_]{3}[^\W\d_аеёиоуыэюяәөұүіaeiouy]"
    r"|[^\W\d_]{1,4}(?:\.[^\W\d_]{1,4})+)\.$"
)


# Kazakh and Uzbek put the verb last: a sentence there does not end on an abbreviation of
# a year or era ("б.з.б. 330 ж. Александр Македонский талқандады"), nor on a city's or a
# district's before the next name ("Алматы қ. Әуезов ауданы", "Toshkent sh. Yunusobod tumani").
_VERB_FINAL = frozenset({"kk", "uz", "ky", "tg"})
_TURKIC_ABBREVIATION = re.compile(
    r"(?:^|[\s(])(?:ж|жж|ғ|ғғ|б\.з\.б|б\.з\.д|б\.з|мөлш|млн|млрд|y|yy|mln|mlrd|m\.a"
    r"|қ|ш|ауд|көш|sh|tum|vil)\.$",
    re.IGNORECASE,
)


# What a stop ends in "Acme Corp." and "120 млрд." (a figure's unit) may end a sentence or
# not: only what follows tells, and a teaser cut there has nothing following.
_MAYBE_ABBREVIATION = re.compile(
    rf"(?:^|\s){_CORPORATE}$|\d\s*(?:тыс|млн|млрд|трлн|руб|долл|коп)\.$"
)


def ends_on_abbreviation(text: str) -> bool:
    """Whether the stop `text` ends with may belong to an abbreviation or an initial ("Mr.",
    "Const.", "K.", "Acme Corp.", "120 млрд."): no sure end of a sentence when nothing
    follows it to tell."""
    return bool(
        _ends_with_initial(text) or _NEVER_FINAL.search(text) or _MAYBE_ABBREVIATION.search(text)
    )


def _continues(previous: str, piece: str, language: str) -> bool:
    """Whether `piece` goes on the sentence `previous` (what the splitter cut too early)."""
    abbreviation = _ABBREVIATION_END.search(previous) and previous[-2].islower()
    return bool(
        piece[0].islower()
        or piece[0] in ",;:"  # "Rep. Ro Khanna, D-Calif." + ", who wrote it, called ..."
        or previous.endswith((";", ","))  # razdel ends one at "(Wilhelm Stekel;"
        or previous.count("(") > previous.count(")")  # inside brackets: "(… 1894 (1895?)"
        # inside guillemets that the piece closes: «Black Mirror. Внутри Черного Зеркала» is
        # a title, not two sentences
        or (previous.count("«") > previous.count("»") and "»" in piece)
        or (abbreviation and piece[0].isdigit())
        or (language in _VERB_FINAL and _TURKIC_ABBREVIATION.search(previous))
        or _ends_with_initial(previous)
        or _NEVER_FINAL.search(previous)
        or (_DOLLARS_OF.search(previous) and piece.startswith("США"))
        or _CORPORATE_START.match(piece)
        or _ORDINAL.search(previous)
        or (_DAY.search(previous) and _GERMAN_MONTH.match(piece))
        or (_CLOCK_END.search(previous) and _OF_THE_CLOCK.match(piece))
    )


@lru_cache(maxsize=16384)
def split_sentences(text: str, language: str = ENGLISH) -> tuple[str, ...]:
    """The sentences of one paragraph in `language` (a code: "en", "ru", "kk", "uz"),
    whitespace-normalised."""
    text = _MISSING_SPACE.sub(" ", " ".join(text.split()))
    if not text:
        return ()
    if CJK.search(text) and any(end in text for end in CJK_SENTENCE_END):
        # Chinese and Japanese end a sentence with "。", "！" or "？" and no space after
        return tuple(s.strip() for s in _CJK_SENTENCE.findall(text) if s.strip())
    if not _INNER_END.search(text):
        return tuple(_headings_apart(text))
    merged: list[str] = []
    for piece in _pieces(text, language):
        piece = piece.strip()
        if not piece:
            continue
        if merged and _continues(merged[-1], piece, language):
            space = "" if piece[0] in ",;:" else " "
            merged[-1] = f"{merged[-1]}{space}{piece}"
        else:
            merged.append(piece)
    return tuple(part for sentence in merged for part in _headings_apart(sentence))


def _headings_apart(sentence: str) -> list[str]:
    """`sentence` split where a heading run into it ends (see _RUN_IN)."""
    parts, start = [], 0
    for match in _RUN_IN.finditer(sentence):
        before = sentence[start : match.start()]
        last = before.split()[-1]
        if (
            last.lower() not in _NO_RUN_IN_AFTER
            and not (match[1] and last[0].isupper())
            and not _inside_quote_or_brackets(before)
        ):
            parts.append(before)
            start = match.end()
    return [*parts, sentence[start:]]


def _inside_quote_or_brackets(text: str) -> bool:
    """Whether `text` leaves a quotation or a bracket open: no heading runs into what follows
    inside one ('"We lost everything The house is gone," she said')."""
    return (
        text.count("(") > text.count(")")
        or text.count("«") > text.count("»")
        or text.count("“") > text.count("”")
        or text.count('"') % 2 == 1
    )


_CJK_SENTENCE = re.compile(rf"[^{CJK_SENTENCE_END}]+(?:[{CJK_SENTENCE_END}]+[」』”’）)]*|$)")

# A boundary every splitter agrees with: "word. Next", three lowercase letters before the
# full stop (no initial), not an abbreviation.
_SAFE_END = re.compile(r"(?<=[a-zа-яё]{3}[.!?])\s+(?=[A-ZА-ЯЁ])")
_LAST_WORD = re.compile(r"(\S+)$")


def text_before_limit(text: str, limit: int) -> str:
    """The text up to the last sure sentence end before `limit` characters (all of it when
    there is none): what a reader of only the opening splits."""
    if len(text) <= limit:
        return text
    for match in reversed(list(_SAFE_END.finditer(text, 0, max(limit, 1)))):
        before = text[: match.start()]
        if not _NEVER_FINAL.search(_LAST_WORD.search(before).group(1)):
            return before
    return text
