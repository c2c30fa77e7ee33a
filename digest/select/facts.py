"""Facts: what two reports of one event have in common, and what tells two events apart.

The checkable facts of an article are its dates, years, weekdays, amounts, shares, counts and
the names of people, places and organisations, read as news writes them in English and
Russian; and the words of the names it uses, in one spelling across scripts (`name_key`).
Same-topic articles about different events look alike in their words and differ in exactly
these: similarity.py weighs them into the same-story score.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import TypeVar

from ..text import MONTHS as _MONTHS
from ..text import WEEKDAYS as _WEEKDAYS
from ..text import plain
from . import kernels
from .keys import key64

FACT_CHARS = 1500  # facts come from the title and the opening of the body


DATE, AMOUNT, PERCENT, COUNT, FEW, NAME, WEAK = "d", "n", "%", "c", "f", "p", "w"
YEAR, WEEKDAY, NAME_WORD = "y", "k", "m"  # NAME_WORD: one word of a name (name_words)
# FEW: a small plain number ("14 graves"): too common to be evidence of one story, but two
# reports of one event that both count things share some of the counts.
FACT_WEIGHTS = {
    DATE: 1.5, AMOUNT: 1.5, PERCENT: 1.5, COUNT: 1.0, FEW: 0.25, NAME: 1.0, WEAK: 0.25,
    YEAR: 0.5, WEEKDAY: 0.25, NAME_WORD: 0.0,
}  # fmt: skip
WEAK_KINDS = frozenset(
    {FEW, WEAK, YEAR, WEEKDAY, NAME_WORD}
)  # never an anchor for comparing two articles
# Facts of these kinds state one value of a kind of thing: two reports of one event that
# both give a date (an amount, a share, a count) and share none of them tell two events.
# (A state stored before YEAR and WEEKDAY existed has five classes: comparisons stop there.)
CLASSES = (DATE, AMOUNT, PERCENT, COUNT, FEW, YEAR, WEEKDAY)

# English and Russian weekdays, scanned apart where they can occur (see `weekday_words`); the
# lookaheads let the scan skip a character that starts no weekday without trying each one.
_WEEKDAY_RE = re.compile(
    r"(?=[MmTtWwFfSs])\b(?:[Mm]on|[Tt]ues|[Ww]ednes|[Tt]hurs|[Ff]ri|[Ss]atur|[Ss]un)day\b"
)
# The letters a Russian weekday can start with, in any case (a test checks they are all
# that _WEEKDAY_RU's first letter matches): a text without them names none, and a few fast
# scans for them beat one scan for a letter of a set.
_WEEKDAY_RU_FIRST = "вВпПсСчЧ\u1c80\u1c83"
_WEEKDAY_RU = re.compile(
    r"(?=(?i:[пвсч]))"
    r"(?i:понедельник\w*|вторник\w*|сред[уаы]|четверг\w*|пятниц\w+|суббот\w+|воскресень\w+)"
)
# Latin letters with accents too: Turkish, Azerbaijani and the Kazakh and Uzbek Latin
# alphabets' ("Erdoğan", "Türkiye", "Əliyev", "Qasym-Jomart Toqaev"), Vučić's, José's.
_UPPER = r"A-ZА-ЯЁІЇЄҐӘҒҚҢӨҰҮҺЎÀ-ÖØ-ÞĀĂĄĆČĎĐĒĖĘĚĞĢĪĮİĶĹĻĽŁŃŅŇŌŐŒŘŚŞŠŢŤŪŮŰŲŸŹŻŽƏ"
_LOWER = r"a-zа-яёіїєґәғқңөұүһўʻ'’à-öø-ÿāăąćčďđēėęěğģīįıķĺļľłńņňōőœřśşšţťūůűųźżžə"
# A run of names: two capitalised words or more (a capital and word characters, apostrophes,
# full stops and hyphens), apart by spaces and at most one of "of", "for", "de" and "al"
# ("Bank of America"). A capitalised word: a capital after no word character or full stop, small
# letters, and hyphenated parts, with a capital or not ("Kassym-Jomart", "Гран-Канария"); inside
# a sentence when the character before it, past at most two spaces, quotes or brackets
# (_OPENING), ends none. kernels.c finds both in one pass over a text (name_runs, capitalised),
# by these classes of characters; tests/facts_plain.py writes them as Python's re patterns.
_OPENING = " \"'\u201c\u00ab("  # what may stand between a sentence's end and its first word
_SENTENCE_ENDS = ".!?:\n"
_CLASS_FLAGS = (  # as kernels.c names them
    (1, _UPPER),  # CAPITAL
    (2, _LOWER),  # SMALL
    (4, re.escape(_OPENING)),  # OPENING
    (8, re.escape(_OPENING + _SENTENCE_ENDS)),  # NOT_INSIDE
)


def _character_classes() -> bytes:
    """The flags kernels.c reads a text's characters by: a byte per code point, up to the
    last that the classes write (a range of them ends in one they write)."""
    chars = "".join(map(chr, range(max(map(ord, "".join(c for _, c in _CLASS_FLAGS))) + 1)))
    flags = bytearray(len(chars))
    for flag, members in _CLASS_FLAGS:
        for m in re.finditer(f"[{members}]", chars):
            flags[m.start()] |= flag
    return bytes(flags)


_CLASSES = _character_classes()
# A number with what qualifies it: a scale written out or abbreviated, in English or Russian
# ("5.4bn", "£1.5m", "€3,5 млрд", "10k", "1.2M", "5 million"), and a percent sign or word.
# It starts with a digit so the scan is fast; the look behind the first digit takes the
# letter or the figure it is part of ("inside": a word or a longer number), when it is one.
# Thousands may be grouped by a plain space ("3 500 млн", "12 000"): the readers turn a
# non-breaking space into one (text.clean_text), and people type one; only groups of three
# digits after one of at most three, so "2026 150" stays two numbers.
NUMBER_RE = re.compile(
    r"(?P<digits>[0-9](?:(?<=(?P<inside>[^\W_]|[.,])[0-9])|)"
    r"(?:[0-9]{0,2}(?: [0-9]{3})+(?:[,.][0-9]+)?(?![0-9])|[0-9,.\u00a0\u202f]*(?<![,.\u00a0\u202f])))"
    r"(?:(?:\s*(?P<scale>(?i:thousand|million|billion|trillion|mln|bn|тыс|млн|млрд|трлн))\b\.?)"
    r"|(?P<short>[kmbKMB]|bn|tn)\b)?"
    r"(?P<percent>\s*%|\s+(?:per\s?cent|процент\w*)\b)?"
)
_SCALE = {
    "thousand": 1e3, "million": 1e6, "mln": 1e6, "billion": 1e9, "bn": 1e9, "trillion": 1e12,
    "тыс": 1e3, "млн": 1e6, "млрд": 1e9, "трлн": 1e12,
    "k": 1e3, "m": 1e6, "b": 1e9, "tn": 1e12,
}  # fmt: skip
# Capitalised only because they open a sentence.
_OPENERS = set(
    """the a an in on at as and but of for to by with from this that these those it its
their they he she we our according during following since while although after before under
over into among between why how what when where who still yet such both each some many most
other another meanwhile however also if unlike alongside notably inside behind looking then
there here new last next
в на по с и о к у за из от до для при как что это этот эта эти его её их он она они мы
также однако после перед между во со""".split()
)
# Titles before a person's name: the name starts after the last of them, so "Kazakh President
# Kassym-Jomart Tokayev" and "President Kassym-Jomart Tokayev" name the same person.
_ROLES = set(
    """president vice-president minister ministers chairman chairwoman chair ambassador
secretary secretary-general director director-general spokesman spokeswoman spokesperson
representative envoy governor mayor king queen emir senator commissioner ceo officer founder dr
mr mrs ms miss sir lord lady professor prof judge justice sheriff detective officer lieutenant
sergeant captain general colonel major rev reverend father coach
президент премьер-министр министр председатель посол глава губернатор аким мэр
господин госпожа""".split()
)


def _russian_cases(table: str) -> set[str]:
    """Each "stem:ending,ending" of `table` in each of its case forms."""
    return {
        stem + ending
        for entry in table.split()
        for stem, endings in [entry.split(":")]
        for ending in endings.split(",")
    }


# Russian official style capitalises the president, the head of state, the republic and the
# acts they sign ("Закон Республики Казахстан", "Кыргызской Республики", "с Президентом России",
# "Глава государства", "подписали Договор"): common nouns, in any case, that made a Kazakh budget
# law and a Kyrgyz language law one story (they shared "Республики"). Known as written, not
# by their skeleton (name_key), which is also surnames': "Закона" and "Зыкина" are both "zkn".
_OFFICIAL_ROLES = _russian_cases(
    "президент:,а,у,ом,е министр:,а,у,ом,е председател:ь,я,ю,ем,е глав:а,ы,е,у,ой "
    "посл:а,у,ом аким:,а,у,ом,е премьер-министр:,а,у,ом,е вице-президент:,а,у,ом,е "
    "вице-премьер:,а,у,ом,е генсек:,а,у,ом,е госсекретар:ь,я,ю,ем,е спикер:,а,у,ом,е "
    "господ:ин,ина,ину,ином,ине госпож:а,и,е,у,ой г-:н,на,ну,ном,не,жа,жи,же,жу,жой"
)
_OFFICIAL_NOUNS = _russian_cases(
    "республик:а,и,е,у,ой государств:о,а,у,ом,е правительств:о,а,у,ом,е "
    "закон:,а,у,ом,е договор:,а,у,ом,е указ:,а,у,ом,е "
    "соглашени:е,я,ю,ем,и постановлени:е,я,ю,ем,и"
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


_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")


class _Memo(dict[_K, _V]):
    """`read(key)`, kept, looked up as in a dict (the cheapest lookup there is: an article
    holds many figures, names and name words, and they recur from article to article).
    Emptied when it holds `size` keys."""

    def __init__(self, read: Callable[[_K], _V], size: int = 1 << 16) -> None:
        super().__init__()
        self.read, self.size = read, size

    def __missing__(self, key: _K) -> _V:
        if len(self) >= self.size:
            self.clear()
        value = self[key] = self.read(key)
        return value


def facts(title: str, text: str) -> dict[int, str]:
    """The checkable facts of an article (key -> kind): dates, years, weekdays, amounts,
    shares, counts, names. Whatever the text, this never raises: a figure it cannot read is
    left out.

    Names come from the body only: a title in Title Case would read as one long name.
    """
    out: dict[int, str] = {}
    body = text[:FACT_CHARS]
    for part in (title, body):
        for m in numbers(part):
            key, kind, day = _NUMBER_FACTS[m.groups()]
            if day is not None:
                month = month_near(part, m.start(), m.end())
                if month:
                    key, kind = fact_key("date", f"{month}-{day}"), DATE
            if key is not None:
                out.setdefault(key, kind)
        for m in _weekday_matches(part):
            day = _weekday(m[0])
            if day is not None:
                out.setdefault(weekday_key(day), WEEKDAY)
                shift = near_midnight(part, m)
                if shift:  # the day another time zone gives it too
                    out.setdefault(weekday_key((day + shift) % 7), WEEKDAY)
    for run in kernels.name_runs(body, _CLASSES):
        for key, kind in _NAME_FACTS[run]:
            out.setdefault(key, kind)
    return out


def numbers(part: str) -> Iterator[re.Match]:
    """`NUMBER_RE.finditer(part)`, found faster: a match starts at any digit (its digits
    take one at least, whatever follows), so the matches are those starting at each digit
    that opens a run of digits (kernels.c) and no earlier match took. Python's `re` tries a
    number at each character: 11 us for the 1,500 characters of an opening, where this takes
    5 us."""
    end = 0
    for at in kernels.digit_runs(part):
        if at >= end:
            m = NUMBER_RE.match(part, at)
            end = m.end()
            yield m


def weekday_words(part: str) -> list[str]:
    """The weekdays `part` names, in order: English ones only where "day" occurs, Russian
    ones only in text with the letters they start with; not a weekday word that names no
    day (`names_a_day`)."""
    return [m[0] for m in _weekday_matches(part)]


def _weekday_matches(part: str) -> list[re.Match]:
    found = list(_WEEKDAY_RE.finditer(part)) if "day" in part else []
    if not part.isascii() and any(letter in part for letter in _WEEKDAY_RU_FIRST):
        found += _WEEKDAY_RU.finditer(part)
        found.sort(key=re.Match.start)
    return [m for m in found if names_a_day(part, m)]


# How far before a weekday its qualifiers are looked for (names_a_day, near_midnight): the
# longest, "in the early morning hours of", is 30 characters.
_LOOK_BEHIND = 40

# A day named near midnight ("late Sunday", "Sunday night", "early Monday", "в ночь на
# понедельник"): outlets in other time zones date the same moment a day later or earlier. Not a
# part of the day far from midnight, nor a day that qualifies a thing ("late Sunday
# afternoon", "an early Monday deadline", "the late Sunday edition").
_LATER_BEFORE = re.compile(
    r"(?i:(?<!\w)(?:late|late-night|(?:поздно|поздним)(?:\s+(?:вечером|ночью))?|ночью)"
    r"\s+(?:(?:on|в|во)\s+)?)$"
)
_LATER_AFTER = re.compile(
    r"(?i:(?:\s+|-)(?:night|late(?!\s+(?:afternoon|morning|evening))|overnight)(?![\w-])|"
    r"\s+(?:(?:поздно\s+)?ночью|(?:поздно|поздним)\s+вечером)(?!\w))"
)
_EARLIER_BEFORE = re.compile(
    r"(?i:(?<!\w)(?:early|pre-dawn|(?:in\s+)?(?:the\s+)?(?:early|small)\s+(?:morning\s+)?hours"
    r"\s+of|before\s+dawn|(?:рано|ранним)\s+утром|(?:ночь|ночи)\s+на)\s+(?:(?:on|в|во)\s+)?)$"
)
_NOT_NEAR_MIDNIGHT_AFTER = re.compile(
    r"(?i:\s+(?:afternoon|evening|edition|deadline|paper|newspaper|show|service|shift|"
    r"kick-?off|start|session))\b"
)
_MORNING_AFTER = re.compile(r"(?i:\s+morning)\b")


def near_midnight(part: str, match: re.Match) -> int:
    """+1 when the weekday `match` found in `part` is named late at night, -1 early in the
    morning, else 0."""
    start, end = match.start(), match.end()
    window = max(0, start - _LOOK_BEHIND)
    if _LATER_AFTER.match(part, end):
        return 1
    if _NOT_NEAR_MIDNIGHT_AFTER.match(part, end):
        return 0
    if _LATER_BEFORE.search(part, window, start):
        return 0 if _MORNING_AFTER.match(part, end) else 1
    if _EARLIER_BEFORE.search(part, window, start):
        return -1
    return 0


# A Russian weekday in one of its case forms, as a word of its own ("Пятницкий суд",
# "Субботин", "Киберпонедельник" are none).
_RU_DAY_FORM = re.compile(
    r"(?:понедельник|вторник|четверг)(?:а|у|ом|е|и|ов|ам|ами|ах)?|сред(?:а|у|ы)|"
    r"(?:пятниц|суббот)(?:а|ы|у|е|ей|ой|ам|ами|ах)|воскресень(?:е|я|ю|ем|и|ям|ями|ях)"
)
# "Среда" is also the environment ("охрана окружающей среды", "в городскую среду"): it is
# Wednesday after a preposition or a word of time, with at most a word of time between ("в
# среду", "до следующей среды", "утром в среду", "каждую среду", "до 18:00 среды"), after
# another weekday and "и", "или" or a comma ("в понедельник и среду"), or before a date
# ("Среда, 12 марта"); never before "обитания" (a habitat) or "разработки" (a toolchain).
_TIME_WORD = (
    r"(?:(?:прошл|следующ|ближайш|минувш|будущ|кажд|очередн|нынешн|сегодняшн|вчерашн|завтрашн|"
    r"позапрошл|утр|вечер|ноч|полдн|полудн)\w*|эт(?:у|ой|а|от)|ту|д[её]нь|дн[её]м|дня|"
    r"\d{1,2}[:.]\d{2})"
)
_WEDNESDAY_AFTER = re.compile(
    r"(?i:(?<!\w)(?:(?:в|во|до|с|со|по|к|ко|на|от|за|после|перед)\s+(?:" + _TIME_WORD + r")?"
    r"|(?:" + _TIME_WORD + r")|(?:понедельник|вторник|четверг|пятниц|суббот|воскресень)\w*"
    r"\s*(?:,|\s(?:и|или)))\s*)$"
)
_WEDNESDAY_BEFORE_DATE = re.compile(r",\s*\d")
_NOT_WEDNESDAY_AFTER = re.compile(r"(?i:\s+(?:обитани|разработк|исполнени))")
# Days in names: "Black Friday", "Super Tuesday", "Super Bowl Sunday", "Ash Wednesday", "Mail
# on Sunday", "чёрная пятница", "Великая пятница"; a newspaper after "the": "The Sunday
# Times"; "Monday Night Football".
_NAME_BEFORE_DAY = re.compile(
    r"(?:\b(?:Ash|[Bb]lack|BLACK|Good|Easter|Palm|Super|Bowl|Bloody|Cyber|Holy|Maundy|Shrove|"
    r"Fat|Giving|Small\s+Business|Selection|Blue|Travel|Mail\s+[Oo]n)|(?i:(?<!\w)(?:ч[её]рн|"
    r"страстн|чист|прощ[её]н|вербн|велик|родительск|кровав|пасхальн|светл)\w*))[\s-]+$"
)
_NEWSPAPER_AFTER_DAY = re.compile(
    r"\s+(?:Times|Telegraph|Mirror|Express|Herald|Post|Mail|Independent|Sport|World|People|Star|"
    r"Tribune|Observer|Business|Review|Magazine)\b"
)
_THE_BEFORE_DAY = re.compile(r"(?i:\bthe\s+)$")
_SHOW_AFTER_DAY = re.compile(r"\s+Night\s+(?:Football|Baseball|Live|Lights|Raw|Fever)\b")


def names_a_day(part: str, match: re.Match) -> bool:
    """Whether the weekday word `match` found in `part` names a day (see above): a false
    weekday would keep two groups of one event's reports apart (similarity.DAY_WITNESSES)."""
    start, end, word = match.start(), match.end(), match[0].casefold()
    window = max(0, start - _LOOK_BEHIND)
    if not word.isascii():
        if (start and part[start - 1].isalpha()) or not _RU_DAY_FORM.fullmatch(word):
            return False
        if word.startswith("сред"):
            return not _NOT_WEDNESDAY_AFTER.match(part, end) and (
                _WEDNESDAY_AFTER.search(part, window, start) is not None
                or _WEDNESDAY_BEFORE_DATE.match(part, end) is not None
            )
    if _NAME_BEFORE_DAY.search(part, window, start) or _SHOW_AFTER_DAY.match(part, end):
        return False
    newspaper = _NEWSPAPER_AFTER_DAY.match(part, end) and _THE_BEFORE_DAY.search(
        part, window, start
    )
    return not newspaper


def number_fact(groups: tuple[str | None, ...]) -> tuple[int | None, str, int | None]:
    """(key, kind, day) of one number as news writes it: `groups` are (digits, inside, scale,
    short, percent) as `NUMBER_RE` finds them, `inside` the letter or figure before it when
    it is part of a word or a longer number. Key None when unreadable or inside. `day`, for a
    plain number up to 31: it is a date when a month is named beside it (`month_near`: where
    it stands tells), what key and kind say otherwise."""
    digits, inside, scale, short, percent = groups
    scale = (scale or short or "").lower()
    value = None if inside else number_value(digits)
    if value is None:
        return None, "", None
    plain_number = not (scale or percent) and value.is_integer() and "." not in digits
    day = int(value) if plain_number and value <= 31 else None
    if plain_number and 1900 <= value <= 2100:
        return key64("year", str(int(value))), YEAR, day
    value *= _SCALE.get(scale, 1)
    if percent:
        return key64("num", f"{value:g}%"), PERCENT, day
    if not plain_number:
        return key64("num", f"{value:g}"), AMOUNT, day
    return key64("num", f"{value:g}"), COUNT if value >= 100 else FEW, day


_NUMBER_FACTS = _Memo(number_fact)  # the same figures recur from article to article


def weekday_key(day: int) -> int:
    """The fact key of a weekday (Monday 0)."""
    return fact_key("weekday", str(day))


def weekday_bits(keys: Iterable[int]) -> int:
    """The weekdays among fact keys, a bit each (Monday 1, Sunday 64)."""
    bits = 0
    for key in keys:
        bits |= _WEEKDAY_BITS.get(key, 0)
    return bits


@functools.lru_cache(maxsize=1 << 10)
def _weekday(word: str) -> int | None:
    lower = word.lower()
    day = _WEEKDAYS.get(lower)
    if day is None:
        day = next((n for w, n in _WEEKDAYS.items() if lower.startswith(w[:4])), None)
    return day


def number_value(digits: str) -> float | None:
    """The value of digits as written in English or Russian news: "1,234.5", "1 234,5",
    "3,5" (a decimal comma), "1.234.567" (dots grouping thousands); None when it is not one
    number ("1.2.3")."""
    if digits.isascii() and digits.isdigit():  # most: figures alone
        return float(digits)
    digits = digits.rstrip(".,").replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
    if not digits:
        return None
    commas, dots = digits.count(","), digits.count(".")
    if commas and dots:  # the last separator is the decimal one
        decimal = "," if digits.rfind(",") > digits.rfind(".") else "."
        group = "." if decimal == "," else ","
        digits = digits.replace(group, "").replace(decimal, ".")
    elif commas:
        groups = digits.split(",")
        if commas == 1 and len(groups[1]) != 3:
            digits = digits.replace(",", ".")  # "3,5 млрд"
        else:
            digits = digits.replace(",", "")
    elif dots > 1:
        if any(len(g) != 3 for g in digits.split(".")[1:]):
            return None
        digits = digits.replace(".", "")
    try:
        return float(digits)
    except ValueError:
        return None


def month_near(text: str, start: int, end: int) -> int | None:
    """The month named just before ("January 27") or after ("27 January", "3 декабря", "27th
    of January")."""
    before = text[max(0, start - 10) : start].split()
    if before and text[start - 1].isspace():
        month = _MONTHS.get(before[-1].lower().rstrip("."))
        if month and before[-1][0].isupper():
            return month
    if not text[end : end + 1].isspace():
        ordinal = _ORDINAL.match(text, end)  # "5th March", "21st of March", "5-го марта"
        if not ordinal:
            return None
        end = ordinal.end()
    after = text[end : end + 11].split()
    if after:
        return _MONTHS.get(after[0].rstrip(".,;:").lower())
    return None


# An ordinal's ending between a day's number and the month after it.
_ORDINAL = re.compile(r"(?:(?:st|nd|rd|th)(?:\s+of)?|-го)(?=\s)")


@functools.lru_cache(maxsize=1 << 16)
def fact_key(kind: str, value: str) -> int:
    return key64(kind, value)


_WEEKDAY_BITS = {weekday_key(day): 1 << day for day in range(7)}


def name_facts(run: str) -> tuple[tuple[int, str], ...]:
    """(key, kind) of each name in a run of capitalised words (`names_in`)."""
    return tuple(
        (key64("name", name), WEAK if name in _COMMON_PLACES else NAME) for name in names_in(run)
    )


_NAME_FACTS = _Memo(name_facts)  # the same names recur from article to article


def names_in(run: str) -> tuple[str, ...]:
    """The names in a run of capitalised words, as people write one name several ways:
    split where a sentence ends, at a possessive ("Tajikistan's Sipar Group") and before "of"
    after a person ("James Bodiford of Superior Court"); without sentence openers, titles
    and middle initials ("Brian G. Nichols" is "Brian Nichols"), the place after a title
    ("President of Uzbekistan Shavkat Mirziyoyev", `_as_russian_writes`); in Latin letters
    whatever the script ("Токаев" is "Tokayev")."""
    names: list[str] = []
    words: list[tuple[str, str, bool]] = []  # (its name key, in lower case, in capitals)
    for word in run.split():
        initial = len(word) <= 3 and word.endswith(".") and word[:-1].isalpha() and len(word) == 2
        end = word.endswith(".") and not _is_abbreviation(word) and not initial
        word = word.rstrip(".")
        possessive = word.endswith(_POSSESSIVES)
        if possessive:
            word = word[: -2 if word[-1] in "sS" else -1]
        if (
            word in ("of", "for", "de", "al")
            and len(words) >= 2
            and words[0][0] not in _PLACE_HEADS
        ):
            _add_name(words, names)
            words = []
            continue
        if word and not initial:
            words.append((name_key(word), word.lower(), word.isupper()))
        if end or possessive:  # the owner ends at its possessive: "Gideon Sa'ar's visit"
            _add_name(words, names)
            words = []
    _add_name(words, names)
    return tuple(names)


# Heads of names that go on with "of": "Bank of America", "University of Central Asia".
_PLACE_HEADS = set(
    """bank university republic ministry department court council house office people state
kingdom gulf bay sea lake city county museum institute school college federation union""".split()
)
# First words of places of two words: "Governor of New York Kathy Hochul" is Kathy Hochul.
# A place of two words that opens otherwise stays in part ("Rhode Island Dan McKee" reads as
# "Island Dan McKee"): its words cannot be told from a person's in a run of names.
_PLACE_OPENERS = set(
    """new north south east west great united saudi sri costa el san santa são sao los las hong
puerto sierra burkina cape czech dominican papua rhode abu buenos tel kuala rio st""".split()
)
_POSSESSIVES = ("'s", "\u2019s", "'", "\u2019")


def _is_abbreviation(word: str) -> bool:
    """ "U.S." or "Dr.": a full stop that does not end the sentence."""
    return word.lower() in _ABBREVIATIONS or (
        len(word) <= 6 and word[::2].isupper() and word[1::2] == "." * (len(word) // 2)
    )


def _add_name(words: list[tuple[str, str, bool]], names: list[str]) -> None:
    roles = [n for n, (key, w, _) in enumerate(words) if key in _ROLE_KEYS or w in _OFFICIAL_ROLES]
    if roles:
        del words[: roles[-1] + 1]
        if words and words[0][1] == "of":  # "President of Uzbekistan Shavkat Mirziyoyev"
            # "of", the place, and at least two words of the person's name left
            place = 3 if len(words) >= 2 and words[1][1] in _PLACE_OPENERS else 2
            if len(words) >= place + 2:
                del words[:place]
    while words and _opens(*words[-1][:2]):  # "... Channels The documents"
        words.pop()
    while words and _opens(*words[0][:2]):
        words.pop(0)
    _as_russian_writes(words, titled=bool(roles))
    if len(words) >= 2:
        names.append(" ".join([key for key, _, _ in words]))


def _as_russian_writes(words: list[tuple[str, str, bool]], titled: bool) -> None:
    """The person of a Russian run of names (`_add_name`'s words, in place): first names
    before a surname in the instrumental in their nominative too ("Шавкатом Мирзиёевым"), no
    patronymic (as a middle initial: "Владимир Владимирович Путин"), and not whose title it
    is, named after the title ("президент Казахстана Касым-Жомарт Токаев", "Президент
    Кыргызской Республики Садыр Жапаров", "Президент РФ"): only a word that reads as a place
    is left out, so "Президент Реджеп Тайип Эрдоган" keeps his first name."""
    if len(words) >= 2 and not words[-1][1].isascii() and _INSTRUMENTAL.search(words[-1][1]):
        words[:-1] = [
            (name_key(w[:-2]), w[:-2], caps) if w.endswith(("ом", "ем")) else (key, w, caps)
            for key, w, caps in words[:-1]
        ]
    if len(words) >= 3:
        words[1:-1] = [word for word in words[1:-1] if not _PATRONYMIC.search(word[1])]
    while len(words) >= 3 and words[0][1][:1] in _CYRILLIC:  # not "President José Raúl Mulino"
        _, first, caps = words[0]
        # after a title, whose place it is: a genitive ("Италии", "Соединённых Штатов"), an
        # official noun or an abbreviation ("РФ", "МИД"); a word that reads as none of them
        # is the person's first name. A first name in "-а" or "-я" there reads as a place
        # and goes ("Президент Мария Корина Мачадо"): far rarer than a place, and the name
        # left still names her.
        place = titled and (first.endswith(_PLACE_GENITIVE) or caps and not words[1][2])
        # a genitive before a name in another case ("Адольфа Феликса Галланда" is one name)
        genitive = first.endswith(_GENITIVE) and not words[-1][1].endswith(_GENITIVE)
        if not (place or genitive or first in _OFFICIAL_NOUNS):
            break
        del words[0]
        titled = place


_GENITIVE = ("а", "я", "и", "ы", "ой", "ей")
_PLACE_GENITIVE = (*_GENITIVE, "ов", "ых", "их")  # and the plural: "Нидерландов", "Соединённых"
_PATRONYMIC = re.compile(r"(?:[оеё]вич|ьич|[оеё]вн|ичн)(?:а|у|ем|е|ой|ы|ою)?$")


def _opens(key: str, word: str) -> bool:
    return key in _OPENER_KEYS or word in _OFFICIAL_NOUNS


# --- one spelling of a name across scripts and transliterations ---------------------------------

_CYRILLIC = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґәғқңөұүһў",
        "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch _ y _ e yu ya i yi ye g "
        "a g q n o u u h u".split(),
        strict=True,
    )
)


_C_AS_K = re.compile(r"c(?!h)")
# Latin letters NFKD does not take the accent off ("Əliyev" is "Aliyev", "Gıda", "Łódź").
_LATIN = str.maketrans({"ı": "i", "ə": "a", "ł": "l", "đ": "d", "ø": "o", "æ": "ae", "œ": "oe",
                        "ß": "ss"})  # fmt: skip
# Uzbek Latin writes ў as oʻ (also o' o‘ o’ o`): at the start of a word it is the "u" of
# Russian and English ("Oʻzbekiston", "Узбекистан", "Uzbekistan"); "O'Neill" is no Uzbek word.
_UZBEK_U = re.compile(r"^[Oo][\u02bb\u02bc'\u2018\u2019`](?=[a-z])")
_APOSTROPHES = str.maketrans("", "", "'\u02bb\u02bc\u2018`")
# The instrumental case of a Russian surname, of a "-ский" one, of a "-стан" country and of a
# patronymic ("с Токаевым", "Путиным", "Достоевским", "Казахстаном", "Владимировичем"): their
# endings make the only letter that case adds to a skeleton. No nominative ends in them, unlike
# the first names' "-ом", "-ем", "-им" ("Бахром", "Артём", "Вадим", "Газпром"), which stay.
_INSTRUMENTAL = re.compile(r"(?:(?<=[оеё]в|ин|ын)ым|(?<=[сц]к)им|(?<=стан)ом|(?<=вич)ем)$")


@functools.lru_cache(maxsize=1 << 16)
def name_key(word: str) -> str:
    """One spelling of a name word: Latin letters without accents, lower case ("Erdoğan",
    "Erdogan"); Cyrillic transliterated, so "Токаев" and "Tokayev", "Жапаров" and "Japarov"
    meet: vowels after the first letter, y, w and h left out, dzh/zh/dj as j, q as k
    ("Toqayev", "Тоқаев"), "ye" opening a longer word as e ("Yerevan", "Ереван"); a Russian
    surname in the instrumental as in the nominative ("Токаевым")."""
    # (Each rewriting only where it can change the word: most names are plain ASCII letters,
    # and the word keys of a batch of articles are tens of thousands of new words.)
    if word[:1] in "Oo":
        word = _UZBEK_U.sub("u", word)
    word = plain(word)
    if "'" in word or "`" in word or not word.isascii():
        word = word.translate(_APOSTROPHES)
    if not word.isascii():
        word = _INSTRUMENTAL.sub("", word).translate(_LATIN)
        word = "".join(_CYRILLIC.get(c, c) for c in word).replace("_", "")
    word = word.replace("dzh", "j").replace("zh", "j").replace("dj", "j").replace("q", "k")
    if "c" in word:
        word = _C_AS_K.sub("k", word)  # "Victor" and "Виктор", "Canaria" and "Канария"
    # not "yet" (an opener), nor Yemen in any form ("Yemeni", "Yemen's" are "Emin", "Emine")
    if word.startswith("ye") and len(word) >= 6 and not word.startswith("yemen"):
        word = word[1:]
    if not word:
        return word
    # the first letter, then the letters and figures but vowels, y, h and w, one of each run
    skeleton, last = word[0], ""
    for c in word[1:]:
        if c != last and c not in "aeiouyhw" and c.isalnum():
            skeleton += c
            last = c
    return skeleton if len(skeleton) >= 3 else word  # "Sea" and "Syr" stay apart


_OFFICIAL_WORDS = _OFFICIAL_ROLES | _OFFICIAL_NOUNS
_ROLE_KEYS = frozenset(name_key(w) for w in _ROLES)
_OPENER_KEYS = frozenset(name_key(w) for w in _OPENERS)


@functools.lru_cache(maxsize=1 << 16)
def name_word_key(word: str) -> int:
    return key64("nameword", word)  # as fact_key("nameword", word), in one call


def name_words(title: str, text: str) -> list[str]:
    """The words of names an article uses, in their one spelling (`name_key`): capitalised
    words inside sentences, in any script, not titles or sentence openers (nor a headline in
    Title Case). Two reports of one event name the same people and places, however each writes
    their full names."""
    out: list[str] = []
    words = title.split()
    title_case = sum(w[:1].isupper() for w in words) * 2 > len(words)
    for part in (text[:FACT_CHARS],) if title_case else (title, text[:FACT_CHARS]):
        instrumental = instrumental_words(part)
        # inside sentences only: a sentence's (or the title's) first word is capitalised for that
        for at, word in kernels.capitalised(part, _CLASSES):
            out += _NAME_WORD_KEYS[word[:-2] if at in instrumental else word]
    return out


# A Russian name in the instrumental by what stands around it: the capitalised words right
# after "с", "со", "между", "перед" or a title in the instrumental, one after another or
# joined by "и" ("переговоры с Эрдоганом", "с Президентом Турции Реджепом Тайипом
# Эрдоганом", "с Трампом и Макроном"), and a first name before a surname in the instrumental
# ("Шавкатом Мирзиёевым"). Their "-ом" or "-ем" is an ending there, where "Бахром", "Газпром"
# or "Артём" alone may be a whole name.
_INSTRUMENTAL_START = re.compile(
    r"(?<![^\W\d_])(?:[сС]о?|между|перед|(?i:(?:вице-)?президентом|премьер-министром|министром|"
    r"председателем|послом|акимом|главой|генсеком|госсекретар[её]м|спикером|г-ном|господином))"
    r"\s+"
)
_NEXT_NAME = re.compile(r"(?:и\s+)?([А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)*)(?![а-яё-])\s*")
_BEFORE_SURNAME = re.compile(
    r"([А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)*[ое]м)\s+(?:[А-ЯЁ][а-яё]+вичем\s+)?"
    r"[А-ЯЁ][а-яё]+(?:[оеё]в|ин|ын)ым\b"
)


def instrumental_words(part: str) -> frozenset[int]:
    """Where the capitalised words `part` writes in the instrumental case start, as above
    (`name_words` reads them without their ending). Where, not which: "с Китаем Газпром
    подписал" is no reason to read Газпром without "-ом" elsewhere in the article."""
    if part.isascii() or "м" not in part:
        return frozenset()
    found = [m.start(1) for m in _BEFORE_SURNAME.finditer(part)]
    for start in _INSTRUMENTAL_START.finditer(part):
        at = start.end()
        while word := _NEXT_NAME.match(part, at):
            if word[1].endswith(("ом", "ем")):
                found.append(word.start(1))
            at = word.end()
    return frozenset(found)


def name_word_keys(word: str) -> tuple[str, ...]:
    """The name keys a capitalised word inside a sentence gives: none for a title, an opener
    or a word too short to tell."""
    lower = word.lower()
    if lower in _OPENERS or lower in _ROLES or lower in _OFFICIAL_WORDS or len(word) < 3:
        return ()
    keys = (name_key(word),)
    if "-" in word and not word.isascii():  # "Гран-Канария" is also "Gran Canaria"
        keys += tuple(name_key(part) for part in word.split("-") if len(part) >= 3)
    return keys


_NAME_WORD_KEYS = _Memo(name_word_keys)  # the same words recur from article to article


def forget() -> None:
    """Empty what reading facts keeps (tens of MB after 40,000 articles): once a batch is
    fingerprinted, selection's later stages need the memory more."""
    for memo in (_NUMBER_FACTS, _NAME_FACTS, _NAME_WORD_KEYS):
        memo.clear()
    for cached in (fact_key, name_key, name_word_key):
        cached.cache_clear()


def fact_weight(kinds: Iterable[str]) -> float:
    return sum(map(FACT_WEIGHTS.__getitem__, kinds))


def fact_classes(kinds: Iterable[str]) -> tuple[int, ...]:
    """How many facts of each of CLASSES an article states (`kinds`: their kinds, or the
    letters of the kinds in one string)."""
    letters = kinds if isinstance(kinds, str) else "".join(kinds)  # each kind is one letter
    return tuple(map(letters.count, CLASSES))
