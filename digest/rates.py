"""The rate table: the newest page's ticker, each pair's inverse per USD, change since last digest."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal

from .models import RateQuote, RateRow

MIN_SHOWN_DIGITS = 3


def significant_digits(value: Decimal) -> int:
    """Digits the quote really gives: 0.28490 -> 5, 0.00008 -> 1."""
    digits = value.as_tuple().digits
    while len(digits) > 1 and digits[0] == 0:
        digits = digits[1:]
    return len(digits)


def round_significant(value: Decimal, digits: int) -> Decimal:
    if value == 0:
        return value
    exponent = value.adjusted() - digits + 1
    return value.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_EVEN)


def per_usd(rate: Decimal) -> tuple[Decimal | None, bool]:
    """How many units one USD buys, to the precision the quote supports.

    An inverse keeps one significant digit less than the quote (0.01144 -> 87.4). A quote
    with three digits or fewer cannot give a precise inverse: 0.00008 only says 1 USD is
    between about 11,800 and 13,300 UZS, so we show three digits (12,500) marked approximate.
    """
    if rate <= 0:
        return None, False
    supported = significant_digits(rate) - 1
    inverse = round_significant(Decimal(1) / rate, max(supported, MIN_SHOWN_DIGITS))
    if inverse == inverse.to_integral_value():
        inverse = inverse.quantize(Decimal(1))
    return inverse, supported < MIN_SHOWN_DIGITS


def newest_ticker(quotes: Iterable[RateQuote]) -> list[RateQuote]:
    """The quotes of the newest page (by page date; among pages of one date, the one with the
    most pairs, then the last read)."""
    quotes = [q for q in quotes if q.date is not None]
    if not quotes:
        return []
    newest = max(q.date for q in quotes)
    pages: dict[str, list[RateQuote]] = {}
    for q in quotes:
        if q.date == newest:
            pages.setdefault(q.source, []).append(q)
    # The fullest ticker of that day; among equals, the page read last.
    return max(reversed(list(pages.values())), key=len)


def rate_rows(
    quotes: Iterable[RateQuote], previous: Mapping[str, Decimal] | None = None
) -> list[RateRow]:
    previous = previous or {}
    rows = []
    for quote in quotes:
        inverse, approx = per_usd(quote.rate)
        before = previous.get(quote.pair)
        since = None
        if before:
            since = ((quote.rate - before) / before * 100).quantize(Decimal("0.01"))
        rows.append(
            RateRow(
                quote.pair,
                quote.rate,
                quote.change_pct,
                inverse,
                approx,
                since,
                quote.source,
                quote.date,
            )
        )
    return rows
