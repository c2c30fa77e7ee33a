"""The rate table: the newest page's ticker, each pair's inverse per USD, change since last digest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal

from .models import RateQuote, RateRow

MIN_SHOWN_DIGITS = 3


def round_significant(value: Decimal, digits: int) -> Decimal:
    if value == 0:
        return value
    exponent = value.adjusted() - digits + 1
    return value.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_EVEN)


def inverse_bounds(rate: Decimal) -> tuple[Decimal, Decimal] | None:
    """What one USD buys, as low and as high as the quote allows: a quote of 0.00008 says
    the rate is between 0.000075 and 0.000085, so 1 USD is 11,765 to 13,333 units."""
    half = Decimal(1).scaleb(rate.as_tuple().exponent) / 2
    if rate - half <= 0:
        return None
    return Decimal(1) / (rate + half), Decimal(1) / (rate - half)


def _integral(value: Decimal) -> Decimal:
    """1.25E+4 as 12500; a zero the quote supports after the point stays (87.0, not 87)."""
    return value.quantize(Decimal(1)) if value.as_tuple().exponent > 0 else value


def per_usd_figures(rate: Decimal) -> tuple[Decimal | None, bool, tuple[Decimal, Decimal] | None]:
    """(figure, approximate, range): how many units one USD buys, claiming no more than the
    quote gives.

    The figure keeps the digits at which the quote's own uncertainty stays within one unit:
    0.01144 -> 87.4 (87.37..87.45), 0.28490 -> 3.510. Two digits only are marked approximate
    (0.00196 -> about 510). With one digit or fewer the quote supports no figure at all, only
    a range: 0.00008 -> 11,800 to 13,300 (the figure, 12,500, stays for scripts, approximate).
    """
    if rate <= 0:
        return None, False, None
    inverse = Decimal(1) / rate
    bounds = inverse_bounds(rate)
    if bounds is None:
        return _integral(round_significant(inverse, MIN_SHOWN_DIGITS)), True, None
    low, high = bounds
    width = high - low
    digits = 0
    for n in range(1, 12):
        if width > Decimal(1).scaleb(inverse.adjusted() - n + 1):
            break
        digits = n
    if digits >= MIN_SHOWN_DIGITS:
        return _integral(round_significant(inverse, digits)), False, None
    if digits == 2:
        return _integral(round_significant(inverse, 2)), True, None
    shown = (
        _integral(round_significant(low, MIN_SHOWN_DIGITS)),
        _integral(round_significant(high, MIN_SHOWN_DIGITS)),
    )
    return _integral(round_significant(inverse, MIN_SHOWN_DIGITS)), True, shown


BANK_DECIMALS = 2  # exchange boards show at most two decimals: 87.41, 9.18


def reader_figure(rate: Decimal) -> tuple[Decimal | None, bool]:
    """(figure, approximate) as a reader sees what one USD buys: at most two decimals, as a
    bank writes it, but two significant digits below one (a quote of 2650.12, gold's: 0.00038,
    not 0.00), and never more digits than the quote supports (0.01144 -> 87.4, 0.10899 ->
    9.18, 0.28490 -> 3.51, 0.00196 -> about 510); None ("n/a") when the quote supports no
    figure at all (0.00008: anything from 11,800 to 13,300)."""
    figure, approx, span = per_usd_figures(rate)
    if figure is None or span is not None:
        return None, False
    if approx:
        return figure, True
    supported = max(0, -figure.as_tuple().exponent)
    places = min(supported, max(BANK_DECIMALS, 1 - figure.adjusted()))
    exact = Decimal(1) / rate
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN), False


def inverse_change(pct: Decimal | None) -> Decimal | None:
    """The change of what one USD buys when the quote (the currency's price in USD) changed
    by `pct` percent: a quote 0.08% lower buys 0.09% more (0.01145 -> 0.01144: +0.09%)."""
    if pct is None or pct <= -100:
        return None
    return (Decimal(100) * Decimal(100) / (Decimal(100) + pct) - Decimal(100)).quantize(
        Decimal("0.01")
    )


def per_usd(rate: Decimal) -> tuple[Decimal | None, bool]:
    """(figure, approximate): see per_usd_figures."""
    figure, approx, _ = per_usd_figures(rate)
    return figure, approx


def newest_ticker(
    quotes: Iterable[RateQuote], since: dt.date | None = None, until: dt.date | None = None
) -> list[RateQuote]:
    """The quotes of the newest page dated from `since` to `until` (either open; by page date;
    among pages of one date, the one with the most pairs, then the last read)."""
    quotes = [
        q
        for q in quotes
        if q.date is not None
        and (since is None or q.date >= since)
        and (until is None or q.date <= until)
    ]
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
        inverse, approx, span = per_usd_figures(quote.rate)
        before = previous.get(quote.pair)
        since = figure_since = None
        if before:
            since = ((quote.rate - before) / before * 100).quantize(Decimal("0.01"))
            if quote.rate > 0:  # what one USD buys: before/rate, not the quote's change
                figure_since = ((before / quote.rate - 1) * 100).quantize(Decimal("0.01"))
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
                span,
                figure_since,
            )
        )
    return rows
