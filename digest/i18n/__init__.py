"""The digest's own words in the reader's language: a catalogue of strings per language.

Each language is one YAML file beside this module (`en.yaml`, `ru.yaml`), named by the code
that `language:` in the config takes and that goes into `lang=`. Adding a language is adding
a file: copy en.yaml, translate the values, keep the keys and the {placeholders}. A value
that depends on a number is a mapping of CLDR plural categories (one, few, many, other; the
language's own rules pick one). Dates, numbers and currency names come from Babel (CLDR) for
the catalogue's `locale`; `currencies:` in a catalogue names the ones a reader should see
otherwise. A key missing from a catalogue falls back to English, so a partial catalogue still
renders.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal, get_currency_name

DEFAULT_LANGUAGE = "en"
_DATE_FORMATS = {"full": "full", "long": "long", "short": "d MMM y", "day": "d MMMM"}


def _folder():
    try:
        return resources.files("digest.i18n")
    except ModuleNotFoundError:  # pragma: no cover - a checkout used without installing
        return Path(__file__).resolve().parent


def languages() -> list[str]:
    """The languages a catalogue ships for, by code."""
    return sorted(
        p.name.removesuffix(".yaml") for p in _folder().iterdir() if p.name.endswith(".yaml")
    )


@dataclass(frozen=True)
class Catalogue:
    """One language's words, and its dates and numbers."""

    language: str  # "en": the catalogue's file name and the HTML lang attribute
    locale: Locale
    words: dict[str, Any]
    fallback: dict[str, Any]

    def t(self, key: str, /, **values: object) -> str:
        """The string for `key`, its {placeholders} filled."""
        text = self._get(key)
        if isinstance(text, dict):
            text = text.get("other") or next(iter(text.values()))
        return str(text).format(**values) if values else str(text)

    def n(self, key: str, count: int | Decimal, /, **values: object) -> str:
        """The plural form of `key` for `count` ({n} is the count, written as numbers are;
        a Decimal's form is that of its digits as shown: 1.5 is not 1)."""
        forms = self._get(key)
        if not isinstance(forms, dict):
            return str(forms).format(n=self.number(count), **values)
        form = forms.get(self.locale.plural_form(count)) or forms.get("other", "")
        return str(form).format(n=self.number(count), **values)

    def date(self, day: dt.date, style: str = "long") -> str:
        """A date: full (Monday, 8 December 2025), long (8 December 2025), short (8 Dec 2025)
        or day (8 December), as the language writes it."""
        return format_date(day, _DATE_FORMATS[style], locale=self.locale)

    def number(self, value: Decimal | int | float, decimals: int | None = None) -> str:
        """A number with the language's separators; `decimals` fixes the digits after the
        point (87.40), else as many as the value has."""
        if decimals is None:
            return format_decimal(value, format="#,##0.##########", locale=self.locale)
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return format_decimal(value, format=pattern, locale=self.locale, decimal_quantization=True)

    def currency(self, code: str) -> str:
        """A currency's name as readers here call it: the catalogue's, else CLDR's name of one
        unit ("British pound", "UAE dirham"; its display name is title case, "British Pound")."""
        names = self.words.get("currencies") or {}
        if code in names:
            return str(names[code])
        return get_currency_name(code, count=1, locale=self.locale)

    def _get(self, key: str) -> Any:
        if key in self.words:
            return self.words[key]
        if key in self.fallback:
            return self.fallback[key]
        raise KeyError(f"no string {key!r} in the {self.language} catalogue")


class UnknownLanguage(ValueError):
    pass


def _read(language: str) -> dict[str, Any]:
    path = _folder() / f"{language}.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UnknownLanguage(
            f"no catalogue for language {language!r} (there are: {', '.join(languages())})"
        ) from None
    if not isinstance(data, dict):
        raise UnknownLanguage(f"{path}: a catalogue is a mapping of keys to strings")
    return data


@functools.cache
def catalogue(language: str = DEFAULT_LANGUAGE) -> Catalogue:
    """The catalogue for `language` (a file name beside this module: en, ru)."""
    if not language.replace("_", "").replace("-", "").isalnum():
        raise UnknownLanguage(f"{language!r} is not a language code (like en or ru)")
    words = _read(language)
    fallback = words if language == DEFAULT_LANGUAGE else _read(DEFAULT_LANGUAGE)
    return Catalogue(language, Locale.parse(str(words.get("locale", language))), words, fallback)
