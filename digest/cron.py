"""The `schedule:` cron expression, read by cronsim (digest/schedule.py asks it for the slots).

cronsim reads standard five-field cron as Debian's cron does: numbers, ranges, lists and steps;
three-letter names; 0 and 7 for Sunday; and a few extensions (`L`, `LW`, `mon#1`). digest adds
only what cronsim does not do:

- two spellings: names in full (`Sunday`, `tues`, `March`), and Sunday closing a range
  (`fri-sun` is Friday to Sunday: cronsim would read it as a range that runs backwards);
- cron's nicknames (`@daily`, `@hourly`, ...) as the five fields Debian's cron reads them as;
  `@reboot` is no cadence and is refused;
- a refusal: an expression that restricts both day-of-month and day-of-week. Cron (and
  cronsim) then runs on either day, not only on days that are both, which surprises more
  people than it serves; name the days in one of the two fields;
- messages that say what is wrong: cronsim names only the field.
"""

from __future__ import annotations

import re
from datetime import datetime

from cronsim import CronSim, CronSimError
from cronsim.cronsim import RANGES, SYMBOLIC_DAYS, SYMBOLIC_MONTHS, Field

FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
CRONSIM_FIELDS = (Field.MINUTE, Field.HOUR, Field.DAY, Field.MONTH, Field.DOW)
DAY_NAMES = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip


NICKNAMES = {  # as crontab(5) defines them
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


class CronError(ValueError):
    def __init__(self, message: str, never: bool = False):
        super().__init__(message)
        self.never = never  # well formed, but no date ever matches


def _short_names(field: str, names: tuple[str, ...]) -> str:
    """Names in full (or cut short: `tues`) as cronsim's three letters."""

    def short(match: re.Match[str]) -> str:
        word = match[0].lower()
        full = next((n for n in names if len(word) >= 3 and n.startswith(word)), None)
        return full[:3] if full else match[0]

    return re.sub(r"[A-Za-z]+", short, field)


def cron_expression(expression: str) -> str:
    """Check a standard cron expression; return it as cronsim is to read it (a CronError says
    what is wrong)."""
    if expression.strip().startswith("@"):
        nickname = expression.strip().lower()
        if nickname not in NICKNAMES:
            raise CronError(
                f"{expression.strip()} is not a cadence digest can keep: use "
                f"{', '.join(NICKNAMES)} or five fields"
            )
        expression = NICKNAMES[nickname]
    parts = expression.split()
    if len(parts) != 5:
        raise CronError(
            f"needs 5 fields (minute hour day-of-month month day-of-week), found {len(parts)}"
        )
    if parts[2] != "*" and parts[4] != "*":
        raise CronError(
            "restricts both day-of-month and day-of-week; standard cron would "
            "run on either, not only on both: use one of the two"
        )
    parts[3] = _short_names(parts[3], MONTH_NAMES)
    parts[4] = re.sub(r"(?<=-)sun\b", "7", _short_names(parts[4], DAY_NAMES), flags=re.I)
    for name, field, text in zip(FIELDS, CRONSIM_FIELDS, parts, strict=True):
        for term in text.upper().split(","):
            try:
                field.parse(term)
            except CronSimError:
                raise CronError(f"{name}: {_complaint(field, term)}") from None
    normal = " ".join(parts)
    try:
        next(CronSim(normal, datetime(2000, 1, 1)))
    except (CronSimError, StopIteration):  # every field reads: no month has that day
        raise CronError("never fires: no month has that day", never=True) from None
    return normal


def _complaint(field: Field, term: str) -> str:
    """What is wrong with one term of a field that cronsim refused."""
    low, high = RANGES[field][0], RANGES[field][-1]
    names = SYMBOLIC_DAYS if field == Field.DOW else SYMBOLIC_MONTHS if field == Field.MONTH else []
    ends = term.split("/")[0].split("-")
    values = []
    for end in ends:
        if end.isdigit():
            values.append(int(end))
        elif end in names:
            values.append(names.index(end) + (field == Field.MONTH))
        elif end != "*":
            return f"{end.lower()!r} is not a number or name"
    for value in values:
        if not low <= value <= high:
            return f"{value} is outside {low}-{high}"
    if len(values) == 2 and values[1] < values[0]:
        return f"range {term.lower()!r} runs backwards"
    return f"cannot read {term.lower()!r}"
