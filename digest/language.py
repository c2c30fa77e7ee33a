"""The language of an article: what its source declares, else what its letters say.

A feed's `<language>` (or an entry's `xml:lang`) is taken at its word ("ru-RU" is "ru",
"uz-Latn-UZ" is "uz") unless the text's script says otherwise (a feed left at "en-US" over
Russian copy). Without one, the language is read from the text by script and a few
letters and words no other language here has:

- Cyrillic text is Kazakh when it uses ә ұ і (Kazakh's own letters), Uzbek when it uses
  ў or ҳ, Kyrgyz when ң ө ү come without the Kazakh letters, Tajik with ӣ ӯ ҷ; otherwise
  Russian;
- Latin text is Uzbek when it writes oʻ/gʻ or its commonest words (va, bilan, uchun, ...)
  outnumber English ones, Kazakh (Latin) with its own letters (ä ğ ı ñ ū ş) and words;
  otherwise English.

Why not a statistical detector (langdetect, py3langid, lingua): the languages a Central
Asian digest meets are told apart for certain by their alphabets, which a rule reads the
same way every time on a title and two paragraphs; langdetect is not deterministic, the
model-based ones carry megabytes of n-gram tables for a hundred languages and still
confuse Kazakh with Kyrgyz and Russian on a short title. What a rule cannot tell (other
Latin-script languages) comes out as English, and the English rules then apply.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

__all__ = [
    "ENGLISH",
    "KAZAKH",
    "RUSSIAN",
    "UZBEK",
    "declared_language",
    "detect",
    "english_share",
    "language_of",
]

ENGLISH = "en"
RUSSIAN = "ru"
KAZAKH = "kk"
UZBEK = "uz"
KYRGYZ = "ky"
TAJIK = "tg"

# Languages written in Cyrillic here (the sentence splitter and the stemmer ask).
CYRILLIC_LANGUAGES = frozenset({RUSSIAN, KAZAKH, KYRGYZ, TAJIK, "uk", "be", "bg", "sr", "mn"})

_TAG = re.compile(r"^\s*([A-Za-z]{2,3})(?:[-_]([A-Za-z]{4}))?(?:[-_].*)?$")


def declared_language(tag: str | None) -> str | None:
    """The language a source declares, as a lowercase code: "ru-RU" -> "ru"; None when the
    tag is missing or not a language tag."""
    if not tag:
        return None
    match = _TAG.match(tag)
    if not match:
        return None
    code = match.group(1).lower()
    return {"rus": "ru", "eng": "en", "kaz": "kk", "uzb": "uz", "kir": "ky", "tgk": "tg"}.get(
        code, code
    )


_CYRILLIC = re.compile(r"[\u0400-\u04FF\u0500-\u052F]")
_LATIN = re.compile(r"[A-Za-z\u00C0-\u024F]")
_KAZAKH_OWN = re.compile(r"[әұіӘҰІ]")  # letters only Kazakh has among these languages
_KAZAKH_GQ = re.compile(r"[ғқҒҚ]")
_UZBEK_OWN = re.compile(r"[ўҳЎҲ]")
_TAJIK_OWN = re.compile(r"[ӣӯҷӢӮҶ]")
_KYRGYZ_SHARED = re.compile(r"[ңөүҢӨҮ]")
# Uzbek Latin: oʻ/gʻ with the modifier letter turned comma (U+02BB) or a stand-in for it.
_UZBEK_LATIN = re.compile(r"[oOgG][ʻ‘’'`]")
_UZBEK_OKINA = re.compile(r"[oOgG]ʻ")
_UZBEK_ENDING = re.compile(r"(?:moqda|yapti|lari|larni|larga|larda|dagi|ligi|gan|ning)$")
_KAZAKH_LATIN = re.compile(r"[äğıñūşÄĞÑŪŞ]")
_WORD = re.compile(r"[^\W\d_]+(?:[ʻ‘’'`][^\W\d_]+)*")

# Kyrgyz's commonest words (and, with, about, for, that, year, was): Russian has none of them.
_KYRGYZ_WORDS = frozenset(
    "жана менен боюнча үчүн деп жылы болду болот бул ал алар дагы ошондой тууралуу".split()
)
_ENGLISH_WORDS = frozenset(
    "the of and to in a is that for on with as was by at from it are has have said will be "
    "an this its which were been not".split()
)  # English's commonest words: they tell English from the other Latin-script languages
_UZBEK_WORDS = frozenset(
    "va bilan uchun ham bu bu yil esa edi bo'yicha boʻyicha yilda dan ga da ning qilish "
    "qildi etdi bo'ldi boʻldi mumkin hamda lekin ammo yangi o'z oʻz".split()
)
_KAZAKH_LATIN_WORDS = frozenset(
    "jäne men ben pen bul üşin osy degen boiynşa boiynsha jyly qazaqstan".split()
)


def english_share(text: str) -> float:
    """The share of the text's words that are English's commonest (0 for French or Uzbek)."""
    words = [w.lower() for w in _WORD.findall(text)]
    return sum(w in _ENGLISH_WORDS for w in words) / len(words) if words else 0.0


def detect(text: str) -> str:
    """The language of a text by its script, letters and commonest words (see the module's
    doc); English when nothing says otherwise."""
    sample = text[:4000]
    cyrillic = len(_CYRILLIC.findall(sample))
    latin = len(_LATIN.findall(sample))
    if cyrillic > latin:
        if _TAJIK_OWN.search(sample):
            return TAJIK
        if _UZBEK_OWN.search(sample):
            return UZBEK
        kazakh = len(_KAZAKH_OWN.findall(sample)) + len(_KAZAKH_GQ.findall(sample))
        shared = len(_KYRGYZ_SHARED.findall(sample))  # ң ө ү: Kyrgyz has them too
        # Kazakh letters are about one in ten in Kazakh text; a Kazakh name quoted in Russian
        # copy ("Қасым-Жомарт Тоқаев") does not make it Kazakh.
        if kazakh and kazakh + shared >= 2 and (kazakh + shared) * 100 >= 3 * cyrillic:
            return KAZAKH
        if not kazakh and shared:
            kyrgyz = sum(1 for w in _WORD.findall(sample) if w.lower() in _KYRGYZ_WORDS)
            if shared + kyrgyz >= 2 and (shared + kyrgyz) * 100 >= 2 * cyrillic:
                return KYRGYZ
        return RUSSIAN
    words = Counter(w.lower() for w in _WORD.findall(sample))
    english = sum(n for w, n in words.items() if w in _ENGLISH_WORDS)
    uzbek = sum(n for w, n in words.items() if w in _UZBEK_WORDS or _UZBEK_ENDING.search(w))
    # oʻ gʻ with the turned comma (U+02BB) are Uzbek's own; with an apostrophe, only beside
    # Uzbek words
    uzbek += 2 * len(_UZBEK_OKINA.findall(sample))
    uzbek += 2 * len(_UZBEK_LATIN.findall(sample)) if uzbek else 0
    if uzbek > english:
        return UZBEK
    kazakh = sum(n for w, n in words.items() if w in _KAZAKH_LATIN_WORDS)
    if kazakh > english and len(_KAZAKH_LATIN.findall(sample)) >= 2:
        return KAZAKH
    return ENGLISH


def language_of(article) -> str:
    """The article's language: declared by its source when the text is in that language's
    script, else detected from its title and opening paragraphs."""
    return _language(article.language, article.title, article.paragraphs[:4])


@lru_cache(maxsize=16384)
def _language(declared: str | None, title: str, paragraphs: tuple) -> str:
    text = " ".join([title, *(p.text for p in paragraphs)])
    if declared:
        sample = text[:4000]
        cyrillic = len(_CYRILLIC.findall(sample)) > len(_LATIN.findall(sample))
        # Uzbek is written in both scripts.
        if declared == UZBEK or cyrillic == (declared in CYRILLIC_LANGUAGES):
            return declared
    return detect(text)
