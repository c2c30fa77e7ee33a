"""The text rules every stage shares (digest/text.py), checked against what others publish."""

from __future__ import annotations

from babel import Locale

from digest.text import (
    EN_MONTHS,
    EN_WEEKDAYS,
    MONTHS,
    RU_MONTHS,
    RU_MONTHS_GENITIVE,
    RU_WEEKDAYS,
    WEEKDAYS,
)


def cldr(locale: str, kind: str, context: str) -> list[str]:
    names = getattr(Locale.parse(locale), kind)[context]["wide"]
    return [names[k].lower() for k in sorted(names)]


def test_month_and_weekday_names_are_cldrs():
    assert list(EN_MONTHS) == cldr("en", "months", "format")
    assert list(RU_MONTHS_GENITIVE) == cldr("ru", "months", "format")  # "3 декабря"
    assert list(RU_MONTHS) == cldr("ru", "months", "stand-alone")  # "декабрь"
    assert list(EN_WEEKDAYS) == cldr("en", "days", "format")
    assert list(RU_WEEKDAYS) == cldr("ru", "days", "format")


def test_every_written_form_names_its_month_and_weekday():
    assert {MONTHS[w] for w in ("december", "dec", "декабря", "декабрь", "дек")} == {12}
    assert {MONTHS[w] for w in ("sep", "sept", "сен", "сент")} == {9}
    assert {WEEKDAYS[w] for w in ("friday", "fri", "пятница", "пятницу", "пятницы")} == {4}
