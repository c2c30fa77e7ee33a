"""The lookback window: the day it counts back from, its first day, and what is dated in the
future. Selection, planning and the source rules (`lookback_days` per source) share it.

The reference day is `as_of` when given, else the newest article date that is not in the
future, so one mis-dated item cannot push every other article out. "In the future" is after
tomorrow: a day's leeway for the sources' time zones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Protocol


class _Dated(Protocol):
    @property
    def date(self) -> dt.date | None: ...


_LEEWAY = dt.timedelta(days=1)


def in_the_future(day: dt.date, today: dt.date) -> bool:
    """Dated after tomorrow."""
    return day > today + _LEEWAY


def last_day(as_of: dt.date | None, today: dt.date) -> dt.date:
    """The last date a source's ticker may carry to be shown: `as_of` when given, else
    tomorrow (a later one is in the future)."""
    return as_of if as_of is not None else today + _LEEWAY


def reference_day(
    articles: Iterable[_Dated], as_of: dt.date | None, today: dt.date
) -> dt.date | None:
    """The day the lookback counts back from (None: nothing is dated)."""
    if as_of is not None:
        return as_of
    dates = [a.date for a in articles if a.date and not in_the_future(a.date, today)]
    return max(dates) if dates else None


def window_start(reference: dt.date | None, days: int | None) -> dt.date | None:
    """The first day of a lookback of `days` days (None: no window); the first day there is
    when the window reaches back before it."""
    if reference is None or not days:
        return None
    try:
        return reference - dt.timedelta(days=days)
    except OverflowError:
        return dt.date.min
