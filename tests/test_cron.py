"""Standard cron for APScheduler: weekday numbers as cron means them (0 and 7 = Sunday)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from digest.cron import CronError, cron_fields, make_trigger

UTC = ZoneInfo("UTC")
MONDAY = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday


def weekdays(expression: str, days: int = 14) -> list[str]:
    """The weekday names a daily-time expression fires on over `days` days from a Monday."""
    trigger = make_trigger(expression, "UTC")
    fired, moment = [], MONDAY - timedelta(seconds=1)
    while True:
        moment = trigger.get_next_fire_time(None, moment + timedelta(seconds=1))
        if moment >= MONDAY + timedelta(days=days):
            return fired
        fired.append(moment.strftime("%a"))


def test_one_to_five_is_monday_to_friday():
    assert weekdays("0 7 * * 1-5", 7) == ["Mon", "Tue", "Wed", "Thu", "Fri"]


@pytest.mark.parametrize("sunday", ["0", "7", "sun", "SUN", "Sunday"])
def test_zero_seven_and_the_name_are_sunday(sunday):
    assert weekdays(f"0 7 * * {sunday}") == ["Sun", "Sun"]


@pytest.mark.parametrize(
    ("numbers", "names"),
    [
        ("1-5", "mon-fri"),
        ("0,6", "sun,sat"),
        ("5-7", "fri,sat,sun"),
        ("5-7", "fri-sun"),  # sun closing a range is day 7
        ("*/2", "sun,tue,thu,sat"),
    ],
)
def test_names_and_numbers_agree(numbers, names):
    assert cron_fields(f"0 7 * * {numbers}") == cron_fields(f"0 7 * * {names}")
    assert weekdays(f"0 7 * * {numbers}") == weekdays(f"0 7 * * {names}")


def test_apschedulers_own_crontab_reading_is_off_by_one_and_ours_is_not():
    # The trap: CronTrigger.from_crontab reads 0 as Monday (APScheduler 3.x numbering).
    theirs = CronTrigger.from_crontab("0 7 * * 0", timezone="UTC")
    assert theirs.get_next_fire_time(None, MONDAY).strftime("%a") == "Mon"
    assert make_trigger("0 7 * * 0", "UTC").get_next_fire_time(None, MONDAY).strftime("%a") == (
        "Sun"
    )


def test_apscheduler_gets_weekday_names_not_numbers():
    assert cron_fields("0 7 * * 1-5")["day_of_week"] == "mon,tue,wed,thu,fri"


@pytest.mark.parametrize(
    ("expression", "complaint"),
    [
        ("0 7 * *", "5 fields"),
        ("61 7 * * *", "minute: 61 is outside 0-59"),
        ("0 7 * * 8", "day-of-week: 8 is outside 0-7"),
        ("0 7 * * 5-1", "runs backwards"),
        ("0 7 1 * 1", "day-of-month and day-of-week"),
        ("0 7 * * moon", "day-of-week"),
    ],
)
def test_bad_expressions_say_what_is_wrong(expression, complaint):
    with pytest.raises(CronError, match=complaint):
        cron_fields(expression)
