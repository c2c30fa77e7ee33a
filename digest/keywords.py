"""Keywords that match their inflected forms: `Kazakhstan: [Казахстан]` also takes
"Казахстана", "Казахстане", "Kazakhstan’s", and "Қазақстанда" for `Қазақстан`.

A text's words are compared with each keyword word by word, case-insensitively (ё as е):

- Cyrillic keywords by Snowball's Russian stemmer. Snowball stems a name differently in
  different cases ("казахстан" -> "казахста", "казахстане" -> "казахстан"), so a keyword
  stands for the stems of its own case forms (the keyword and its stem with each Russian
  noun and adjective ending): a word matches when its stem is one of them. "Токаев"
  takes "Токаева", "Токаевым"; "токарь" stays out.
- Latin keywords by Snowball's English stemmer: "Tajiks", "Kazakhstan’s" (possessives
  dropped first).
- In any script, the keyword followed by Kazakh, Kyrgyz or Uzbek case and possessive
  suffixes (Turkic languages add suffixes to an unchanged stem): "Қазақстанның",
  "Бишкектеги", "Oʻzbekistonda".

What this does not do (named in the README): Kazakh and Uzbek words whose stem changes
(a final consonant voiced, a vowel dropped) before a suffix, and Russian adjectives made
from a name ("казахстанский") are not the name.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

__all__ = ["Keywords"]

_WORD = re.compile(r"[^\W\d_]+(?:[ʻʼ'’`][^\W\d_]+)*")
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_POSSESSIVE = re.compile(r"[ʼ'’`]s?$")

# Russian noun and adjective case endings (Snowball's own lists, short forms).
_RUSSIAN_ENDINGS = (
    "", "а", "я", "у", "ю", "е", "и", "ы", "о", "ом", "ем", "ём", "ой", "ей", "ью", "ам", "ям",
    "ами", "ями", "ах", "ях", "ов", "ев", "ым", "им", "ого", "его", "ому", "ему", "ая", "ую",
)  # fmt: skip
# Kazakh, Kyrgyz and Uzbek case, plural and possessive suffixes (Cyrillic and Latin).
_TURKIC_SUFFIX = re.compile(
    r"(?:(?:лар|лер|дар|дер|тар|тер|лор|лөр|дор|дөр|тор|төр|lar)?"
    r"(?:ның|нің|дың|дің|тың|тің|нын|нин|нун|нүн|дын|дин|дун|дүн|тын|тин|тун|түн|ning|"
    r"дағы|дегі|тағы|тегі|дагы|деги|тагы|теги|догу|дөгү|тогу|төгү|dagi|"
    r"дан|ден|тан|тен|нан|нен|дон|дөн|тон|төн|нон|нөн|dan|"
    r"ға|ге|қа|ке|га|ка|го|гө|ко|кө|ga|ka|qa|"
    r"да|де|та|те|до|дө|то|тө|нда|нде|da|"
    r"ны|ні|ды|ді|ты|ті|ни|ну|нү|ди|ду|дү|ти|ту|тү|ni|"
    r"мен|бен|пен|менен|"
    r"сы|сі|су|сү|si)?)$"
)

_lock = threading.Lock()  # a Snowball stemmer keeps the word it works on on itself
_russian = snowballstemmer.stemmer("russian")
_english = snowballstemmer.stemmer("english")


@lru_cache(maxsize=1 << 16)
def _stem(word: str, cyrillic: bool) -> str:
    with _lock:
        return (_russian if cyrillic else _english).stemWord(word)


def _fold(word: str) -> str:
    return word.lower().replace("ё", "е")


@dataclass(frozen=True)
class _Word:
    """One keyword word: itself, and the stems its inflected forms have."""

    text: str
    stems: frozenset[str]
    cyrillic: bool

    @classmethod
    def of(cls, word: str) -> _Word:
        text = _fold(word)
        cyrillic = bool(_CYRILLIC.search(text))
        if cyrillic:
            bases = {text, _stem(text, True)}
            stems = {_stem(base + ending, True) for base in bases for ending in _RUSSIAN_ENDINGS}
        else:
            stems = {_stem(text, False)}
        return cls(text, frozenset(stems), cyrillic)

    def matches(self, word: str) -> bool:
        if word == self.text:
            return True
        if word.startswith(self.text) and _TURKIC_SUFFIX.fullmatch(word[len(self.text) :]):
            return True
        if self.cyrillic:
            return _stem(word, True) in self.stems
        return _stem(_POSSESSIVE.sub("", word), False) in self.stems


@dataclass(frozen=True)
class KeywordMatch:
    """Where a keyword was found; `start()` and `end()` as on a re.Match."""

    span: tuple[int, int]

    def start(self) -> int:
        return self.span[0]

    def end(self) -> int:
        return self.span[1]


class Keywords:
    """A section's keywords, matched in a text by `search` (the first) and `findall`."""

    def __init__(self, keywords: Sequence[str]):
        self.phrases = tuple(
            tuple(_Word.of(w) for w in _WORD.findall(k)) for k in keywords if _WORD.search(k)
        )

    def _matches(self, text: str):
        words = [(m.start(), m.end(), _fold(m.group())) for m in _WORD.finditer(text)]
        for i in range(len(words)):
            for phrase in self.phrases:
                n = len(phrase)
                if i + n <= len(words) and all(
                    w.matches(words[i + k][2]) for k, w in enumerate(phrase)
                ):
                    yield KeywordMatch((words[i][0], words[i + n - 1][1]))
                    break

    def search(self, text: str) -> KeywordMatch | None:
        return next(self._matches(text), None)

    def findall(self, text: str) -> list[KeywordMatch]:
        return list(self._matches(text))
