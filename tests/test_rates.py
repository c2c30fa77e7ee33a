"""The rate table: inverse per USD to the precision the quote supports, change since last."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from conftest import SAMPLE_SEEDS, page

from digest.models import RateQuote
from digest.rates import (
    inverse_bounds,
    inverse_change,
    newest_ticker,
    per_usd,
    per_usd_figures,
    rate_rows,
    reader_figure,
)
from digest.render import change
from digest.sources import read_paths


@pytest.mark.parametrize(
    ("rate", "inverse", "approx"),
    [
        ("0.01144", "87.4", False),  # four digits given: three in the inverse
        ("0.10899", "9.175", False),
        ("0.28490", "3.510", False),  # the trailing zero is a digit the source gave
        ("0.00196", "510", True),  # 510.2 ± 1.3: three digits, marked approximate
        ("0.00008", "12500", True),  # only "between about 11,800 and 13,300"
    ],
)
def test_inverse_keeps_only_the_precision_the_quote_supports(rate, inverse, approx):
    value, is_approx = per_usd(Decimal(rate))
    assert str(value) == inverse and is_approx is approx


def test_zero_rate_has_no_inverse():
    assert per_usd(Decimal("0")) == (None, False)


def test_newest_page_gives_the_table(shared_seeds):
    result = read_paths([str(page(k)) for k in ("000", "003", "001")])
    quotes = newest_ticker(result.rates)
    assert {q.date for q in quotes} == {dt.date(2026, 2, 21)}
    assert [q.pair for q in quotes] == ["KGS/USD", "KZT/USD", "TJS/USD", "UZS/USD", "TMT/USD"]
    assert all(q.source == str(page("003")) for q in quotes)


def test_change_since_the_last_digest():
    quote = RateQuote(
        "KGS/USD", Decimal("0.01150"), Decimal("0.5"), "x.txt", 1, dt.date(2025, 12, 9)
    )
    (row,) = rate_rows([quote], {"KGS/USD": Decimal("0.01144")})
    assert row.since_last_pct == Decimal("0.52")
    (first,) = rate_rows([quote], {})
    assert first.since_last_pct is None


@pytest.mark.parametrize(
    ("rate", "figure", "approx", "span"),
    [
        ("0.01144", "87.4", False, None),  # 87.37 .. 87.45: three digits hold
        ("0.28490", "3.510", False, None),
        ("0.00196", "510", True, None),  # 508.9 .. 511.5: two digits, "about 510"
        ("0.00200", "500", True, None),
        ("0.00008", "12500", True, ("11800", "13300")),  # one digit: only a range is honest
    ],
)
def test_the_inverse_claims_no_more_than_the_quote(rate, figure, approx, span):
    got_figure, got_approx, got_span = per_usd_figures(Decimal(rate))
    assert str(got_figure) == figure and got_approx is approx
    assert got_span == (tuple(Decimal(x) for x in span) if span else None)
    low, high = inverse_bounds(Decimal(rate))
    if span:  # the range covers every rate the quote can stand for
        assert Decimal(span[0]) <= low * Decimal("1.01") and high <= Decimal(span[1]) * Decimal(
            "1.01"
        )


def test_a_coarse_quote_gives_its_range_to_the_table():
    quote = RateQuote(
        "UZS/USD", Decimal("0.00008"), Decimal("-0"), "x.txt", 1, dt.date(2025, 12, 9)
    )
    (row,) = rate_rows([quote])
    assert row.per_usd_range == (Decimal("11800"), Decimal("13300"))
    assert row.per_usd_approx


@pytest.mark.parametrize(
    ("rate", "shown"),
    [
        ("0.01144", "87.4"),
        ("0.10899", "9.18"),  # two decimals, as a bank writes it
        ("1.0869", "0.92"),
        ("2650.12", "0.00038"),  # gold: two significant digits, never 0.00
        ("95000.5", "0.000011"),
        ("1234567.89", "8.1E-7"),
    ],
)
def test_what_a_dollar_buys_never_rounds_to_nothing(rate, shown):
    figure, approx = reader_figure(Decimal(rate))
    assert str(figure) == shown and not approx


def unreadable_ticker_page(tmp_path, line: str):
    """The sample page of 10 Nov 2025 with `line` as the last line of its ticker."""
    lines = (SAMPLE_SEEDS / "2025-11-10_front.txt").read_text(encoding="utf-8").splitlines()
    last = max(n for n, text in enumerate(lines) if "/USD =" in text)
    lines[last] = line
    path = tmp_path / "2025-11-10_front.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, last + 1


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("  • UZS/USD = — 0%", "unreadable rate quote"),  # a ticker with no quote
        ("  • AMD/USD = -0.0025 0.1%", "unreadable rate quote"),
        ("  • USD/KZT = 478.50 0.1%", "USD/KZT left out"),  # not a price in US dollars
        ("  • RUB/EUR = 95.20 0.3%", "RUB/EUR left out"),
        # figures no currency has, beyond the 28 digits of the table's arithmetic
        ("  • KZT/USD = 0.00000000000000000000000000000001 0%", "unreadable rate quote"),
        ("  • KGS/USD = 0.01143 +99999999999999999999999999999%", "unreadable rate quote"),
    ],
)
def test_a_ticker_line_that_gives_no_price_in_dollars_is_a_problem_not_the_page(
    tmp_path, line, problem
):
    """One such line once ended the ticker: the page date after it became the top story's
    headline (and the Subject), and the undated quotes left the table empty."""
    path, number = unreadable_ticker_page(tmp_path, line)
    result = read_paths([str(path)])
    original = read_paths([str(SAMPLE_SEEDS / "2025-11-10_front.txt")])
    assert [(p.line, problem in p.message) for p in result.problems] == [(number, True)]
    assert [a.title for a in result.articles] == [a.title for a in original.articles]
    assert {a.date for a in result.articles} == {dt.date(2025, 11, 10)}
    assert {q.pair for q in newest_ticker(result.rates)} == {
        q.pair for q in newest_ticker(original.rates)
    }
    for row in rate_rows(newest_ticker(result.rates)):  # a traceback for a garbled figure
        change(inverse_change(row.change_pct))


def test_a_quote_written_with_a_floats_full_digits_is_read(tmp_path):
    """A ticker a program writes from floats gives 17 significant digits (1/87.4 is
    0.011441647597254004): such a quote was an 'unreadable rate quote' (at most 15 digits
    were taken), and the pair was left out of the table."""
    line = "  • GEL/USD = 0.36900369003690037 -0.12345678901234567%"
    path, _number = unreadable_ticker_page(tmp_path, line)
    result = read_paths([str(path)])
    assert result.problems == []
    (quote,) = [q for q in newest_ticker(result.rates) if q.pair == "GEL/USD"]
    assert str(quote.rate) == "0.36900369003690037"
    for row in rate_rows(newest_ticker(result.rates)):
        change(inverse_change(row.change_pct))
