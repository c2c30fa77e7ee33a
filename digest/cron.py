"""Standard five-field cron, translated for APScheduler's CronTrigger.

APScheduler numbers weekdays from 0 = Monday; standard cron from 0 = Sunday (7 = Sunday too).
We read the config as standard cron and hand APScheduler weekday *names*, so the two can
never disagree.
"""

from __future__ import annotations

import re

from apscheduler.triggers.cron import CronTrigger

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
    pass


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
    """'1-5' -> 'mon,tue,wed,thu,fri'; '0,6' -> 'sun,sat'; names pass through as names."""
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
    ordered = sorted({d % 7 for d in days})
    return ",".join(WEEKDAYS[d] for d in ordered)


def cron_fields(expression: str) -> dict[str, str]:
    """Validate a cron expression and return CronTrigger keyword arguments."""
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
            "run on either, APScheduler only on both: use one of the two"
        )
    fields["day_of_week"] = _expand_weekdays(fields["day_of_week"])
    return fields


def make_trigger(expression: str, timezone: str):
    """An APScheduler CronTrigger for a standard cron expression in `timezone`."""
    try:
        return CronTrigger(timezone=timezone, **cron_fields(expression))
    except ValueError as e:
        raise CronError(str(e)) from None
