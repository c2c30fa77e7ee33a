"""The digest's own words in the reader's language (issue 23 item 4): `language:` picks a
catalogue (digest/i18n/*.yaml), Babel writes its dates and numbers, `lang=` says which."""

from __future__ import annotations

import re
import string
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, SAMPLE_SEEDS, digest_command

from digest.i18n import catalogue, languages
from digest.render import render

try:
    from test_render import big_digest, sample_digest, seen
except ImportError:  # tests/ made a package
    from tests.test_render import big_digest, sample_digest, seen

CATALOGUES = ROOT / "digest" / "i18n"


def _placeholders(value) -> set[str]:
    texts = value.values() if isinstance(value, dict) else [value]
    return {f for t in texts for _, f, _, _ in string.Formatter().parse(str(t)) if f}


def test_every_catalogue_has_every_english_key_with_the_same_placeholders():
    english = yaml.safe_load((CATALOGUES / "en.yaml").read_text(encoding="utf-8"))
    assert set(languages()) >= {"en", "ru"}
    for code in languages():
        words = yaml.safe_load((CATALOGUES / f"{code}.yaml").read_text(encoding="utf-8"))
        assert set(words) == set(english), (code, set(english) ^ set(words))
        for key, value in english.items():
            if key in ("locale", "currencies"):
                continue
            assert _placeholders(words[key]) == _placeholders(value), (code, key)


def test_russian_plurals_follow_russian_rules():
    ru = catalogue("ru")
    assert [ru.n("stories", n) for n in (1, 2, 5, 11, 21, 22)] == [
        "1 новость", "2 новости", "5 новостей", "11 новостей", "21 новость", "22 новости",
    ]  # fmt: skip
    en = catalogue("en")
    assert [en.n("stories", n) for n in (1, 2, 1000)] == ["1 story", "2 stories", "1,000 stories"]


def test_a_rate_change_is_read_out_in_the_number_russian_gives_it():
    """The screen reader's words for a rate's change: "рост на 1 процента" and "снижение на
    5 процента" were wrong for a whole percent (a devaluation moves the tenge by 5)."""
    from decimal import Decimal

    from digest.render import change

    ru = catalogue("ru")
    said = [change(Decimal(p), ru)[2] for p in ("1", "-5", "21", "2", "0.5", "-1.5", "1.00")]
    assert said == [
        "рост на 1 процент", "снижение на 5 процентов", "рост на 21 процент",
        "рост на 2 процента", "рост на 0,5 процента", "снижение на 1,5 процента",
        "рост на 1 процент",
    ]  # fmt: skip
    assert change(Decimal("-5"), catalogue("en"))[2] == "down 5 percent"


def test_a_russian_subject_cut_short_does_not_end_inside_a_quoted_title_on_a_preposition():
    from digest.render import make_subject

    headline = (
        "Президент Кыргызстана Садыр Жапаров подписал закон «О государственном языке "
        "Кыргызской Республики»"
    )
    subject = make_subject(headline, 8, words=catalogue("ru"))
    assert subject == "Президент Кыргызстана Садыр Жапаров подписал закон… + ещё 8"


def test_a_russian_digest_speaks_russian_everywhere():
    digest = sample_digest(language="ru")
    rendered = render(digest)
    html, text = seen(rendered.html), rendered.text
    assert '<html lang="ru"' in rendered.html
    assert "Понедельник, 8 декабря 2025 г. · 5 новостей" in html  # the line's start capitalised
    assert "Понедельник, 8 декабря 2025\u202fг. · 5 новостей" in text
    assert "За 1 доллар США · 8 дек. 2025" in html
    assert "Кыргызский сом 87,4" in html and "Сомони 9,19 ▲ +0,19%" in html  # decimal comma
    assert "Узбекский сум н/д" in html
    assert "Главное" in html and "Также сообщают: Asia-Plus, Kun.uz" in html
    assert "Отписаться" in html and "Отписаться: {unsubscribe_url}" in text
    assert "ГЛАВНОЕ" in text and "За 1 доллар США · 8 дек. 2025:" in text
    assert rendered.subject.endswith(" + ещё 4")
    assert "$1 = 87,4 KGS" in rendered.preheader
    labels = re.findall(r'role="img" aria-label="([^"]+)"', rendered.html)
    assert labels[1] == "снижение на 0,5 процента с прошлого выпуска"


def english_phrases() -> set[str]:
    """Every phrase of the English catalogue (the words between its placeholders)."""
    english = yaml.safe_load((CATALOGUES / "en.yaml").read_text(encoding="utf-8"))
    phrases = set()
    for key, value in english.items():
        if key in ("locale", "currencies"):
            continue
        for text in value.values() if isinstance(value, dict) else [value]:
            for part in re.split(r"\{[^}]*\}", str(text)):
                if len(part.strip(" :·,.()+$?")) >= 4:
                    phrases.add(part.strip(" :·,.()+$?"))
    return phrases


def test_no_english_word_of_the_digest_in_a_russian_digest():
    """Every word of the digest's own goes through the catalogue: none of the English
    catalogue's phrases shows in a Russian digest (the stories are English: left out)."""
    phrases = english_phrases()
    digest = big_digest(12, also=2)
    rendered = render(digest.__class__(**{**digest.__dict__, "language": "ru"}))
    shown = seen(rendered.html)
    for item in digest.items:  # the stories' own words are theirs
        shown = shown.replace(item.title, "").replace(item.lead, "")
        for t in item.also:
            shown = shown.replace(t.source, "")
    shown = shown.replace(digest.title, "").replace(digest.postal_address, "")
    for source in ("Region News 0", "Region News 1", "Region News 2", "The Times of Central Asia"):
        shown = shown.replace(source, "")
    left = [p for p in phrases if p in shown]
    assert not left, left


@pytest.mark.slow
def test_shipped_config_language_sets_the_digest_words(tmp_path):
    for code, word in (("ru", "Главное"), ("en", "Top story")):
        config = tmp_path / f"{code}.yaml"
        config.write_text(
            "\n".join(
                [
                    "title: Дайджест",
                    f"language: {code}",
                    "timezone: Asia/Almaty",
                    f"sources: [{SAMPLE_SEEDS / '*.txt'}]",
                    f"state: {tmp_path / 'state.sqlite3'}",
                    "delivery:",
                    '  from: "Digest <digest@example.com>"',
                    "  to: [reader@example.com]",
                ]
            )
            + "\n"
        )
        out = tmp_path / code
        result = subprocess.run(
            [*digest_command(), "--config", config, "preview", "--out", out],
            capture_output=True, text=True, cwd=ROOT, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        html = (out / "digest.html").read_text(encoding="utf-8")
        assert f'<html lang="{code}"' in html and word in html


@pytest.mark.slow
@pytest.mark.parametrize("value", ["xx", "../en", "[en]"])
def test_an_unknown_language_is_a_config_error_naming_the_line(tmp_path, value):
    config = tmp_path / "digest.yaml"
    config.write_text(f"title: T\nsources: [{SAMPLE_SEEDS / '*.txt'}]\nlanguage: {value}\n")
    result = subprocess.run(
        [*digest_command(), "--config", config, "preview", "--out", tmp_path / "out"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert f"{config}:3" in result.stderr and "language" in result.stderr
    assert "Traceback" not in result.stderr


def test_adding_a_language_is_a_file_not_code(tmp_path, monkeypatch):
    """A new catalogue beside the others is a language the config accepts and the digest
    speaks; a key it lacks falls back to English."""
    import digest.i18n as i18n

    folder = tmp_path / "i18n"
    folder.mkdir()
    for code in ("en", "ru"):
        (folder / f"{code}.yaml").write_text((CATALOGUES / f"{code}.yaml").read_text("utf-8"))
    (folder / "kk.yaml").write_text("locale: kk\ntop_story: Басты жаңалық\n", encoding="utf-8")
    monkeypatch.setattr(i18n, "_folder", lambda: Path(folder))
    i18n.catalogue.cache_clear()
    try:
        assert "kk" in languages()
        html = render(sample_digest(language="kk")).html
        assert '<html lang="kk"' in html and "Басты жаңалық" in html
        assert "желтоқсан" in html  # Babel's Kazakh month name: the dates come for free
        assert "Also reported by" in html  # not translated yet: English
    finally:
        i18n.catalogue.cache_clear()


def test_catalogues_ship_as_package_data():
    import tomllib
    from fnmatch import fnmatch

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["digest.i18n"]
    assert "digest.i18n" in pyproject["tool"]["setuptools"]["packages"]
    for code in languages():
        assert any(fnmatch(f"{code}.yaml", p) for p in patterns), code


def test_a_currency_beyond_the_catalogue_is_named_as_the_catalogues_are():
    """A ticker with the pound and the yen beside the som: CLDR's display names are title case
    ("British Pound", "Japanese Yen"), the catalogue's are not ("Kyrgyz som", "euro"); the
    strip read "Kyrgyz som 87.5 · British Pound 0.79". A unit's name, as CLDR counts one."""
    from decimal import Decimal as D

    from digest.models import RateQuote
    from digest.rates import rate_rows

    quotes = [
        RateQuote(pair, D(rate), D("0"), "ticker.txt", 1)
        for pair, rate in [("KGS/USD", "0.01143"), ("GBP/USD", "1.2675"), ("JPY/USD", "0.006650")]
    ]
    text = render(sample_digest(rates=tuple(rate_rows(quotes)))).text
    assert "- Kyrgyz som: 87.5" in text
    assert "- British pound: 0.79" in text and "- Japanese yen: 150.4" in text
    english = catalogue("en")
    assert [english.currency(c) for c in ("AED", "USD", "KGS")] == [
        "UAE dirham",
        "US dollar",
        "Kyrgyz som",
    ]
    assert catalogue("ru").currency("GBP") == "британский фунт стерлингов"
