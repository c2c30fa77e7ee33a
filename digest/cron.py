"""Standard five-field cron: checked here with messages that say what is wrong, then read
by cronsim, which finds the wall-clock times it matches (`wall_times`).

Weekdays are standard cron's (0 and 7 = Sunday, names; `fri-sun` is Friday to Sunday) and are
handed to cronsim as numbers 0-6. An expression that restricts both day-of-month and
day-of-week is refused: standard cron runs on either (cronsim would too), which surprises
more people than it serves; name the days in one of the two fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

from cronsim import CronSim, CronSimError

WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
FIELDS = ("minute", "hour", "day", "month", "day_of_week")
LIMITS = {
    "minute": (0, 59),
    "hour": (0, 23),
    "day": (1, 31),
    "month": (1, 12),
    "day_of_week": (0, 7),
}
TOKEN = re.compile(r"^(?:\*|(?P<a>\w+)(?:-(?P<b>\w+))?)(?:/(?P<step>\d+))?$")


class CronError(ValueError):
    def __init__(self, message: str, never: bool = False):
        super().__init__(message)
        self.never = never  # well formed, but no date ever matches


def _number(field: str, text: str) -> int:
    names = WEEKDAYS if field == "day_of_week" else MONTHS if field == "month" else ()
    low, high = LIMITS[field]
    if text.lower()[:3] in names and text.isalpha():
        value = names.index(text.lower()[:3]) + (1 if field == "month" else 0)
    elif text.isdigit():
        value = int(text)
    else:
        raise CronError(f"{field.replace('_', '-')}: {text!r} is not a number or name")
    if not low <= value <= high:
        raise CronError(f"{field.replace('_', '-')}: {value} is outside {low}-{high}")
    return value


def _range_end(text: str) -> int:
    """`sun` closing a range is day 7, so `fri-sun` reads as Friday to Sunday."""
    return 7 if text.lower()[:3] == "sun" else _number("day_of_week", text)


def _expand_weekdays(text: str) -> str:
    """'1-5' -> '1,2,3,4,5'; 'sun,sat' -> '0,6'; 'fri-sun' -> '0,5,6'."""
    days: list[int] = []
    for token in text.split(","):
        match = TOKEN.match(token)
        if not match:
            raise CronError(f"day-of-week: cannot read {token!r}")
        step = int(match["step"] or 1)
        if step < 1:
            raise CronError("day-of-week: a step must be at least 1")
        if match["a"] is None:
            first, last = 0, 6
        else:
            first = _number("day_of_week", match["a"])
            last = _range_end(match["b"]) if match["b"] else (6 if match["step"] else first)
            if match["b"] and last < first:
                raise CronError(f"day-of-week: range {token!r} runs backwards")
        days.extend(range(first, last + 1, step))
    return ",".join(str(d) for d in sorted({d % 7 for d in days}))


def cron_expression(expression: str) -> str:
    """Check a standard cron expression; return it as cronsim reads it (a CronError says
    what is wrong)."""
    parts = expression.split()
    if len(parts) != 5:
        raise CronError(
            f"needs 5 fields (minute hour day-of-month month day-of-week), found {len(parts)}"
        )
    fields = dict(zip(FIELDS, parts, strict=True))
    for field in ("minute", "hour", "day", "month"):
        for token in fields[field].split(","):
            match = TOKEN.match(token)
            if not match:
                raise CronError(f"{field.replace('_', '-')}: cannot read {token!r}")
            for end in (match["a"], match["b"]):
                if end is not None:
                    _number(field, end)
    if fields["day"] != "*" and fields["day_of_week"] != "*":
        raise CronError(
            "restricts both day-of-month and day-of-week; standard cron would "
            "run on either, not only on both: use one of the two"
        )
    if fields["day_of_week"] != "*":
        fields["day_of_week"] = _expand_weekdays(fields["day_of_week"])
    normal = " ".join(fields[f] for f in FIELDS)
    try:
        next(CronSim(normal, datetime(2000, 1, 1)))
    except (CronSimError, StopIteration):
        raise CronError("never fires: no month has that day", never=True) from None
    return normal


def wall_times(expression: str, after: datetime) -> Iterator[datetime]:
    """The wall-clock times (naive) a cron expression matches, strictly after `after`
    (naive), in order: a calendar without time zones (placing them is the scheduler's)."""
    try:
        yield from CronSim(expression, after)
    except CronSimError as e:
        raise CronError(str(e)) from None
