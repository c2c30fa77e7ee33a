"""Standard cron, read by cronsim: weekday numbers as cron means them (0 and 7 = Sunday)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from digest.cron import CronError, cron_expression
from digest.schedule import Cadence

UTC = ZoneInfo("UTC")
MONDAY = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday


def weekdays(expression: str, days: int = 14) -> list[str]:
    """The weekday names a daily-time expression fires on over `days` days from a Monday."""
    cadence = Cadence.from_cron(expression, UTC)
    fired, moment = [], MONDAY - timedelta(seconds=1)
    while True:
        moment = cadence.next_after(moment)
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
    assert weekdays(f"0 7 * * {numbers}") == weekdays(f"0 7 * * {names}")


def test_apschedulers_own_crontab_reading_is_off_by_one_and_ours_is_not():
    # The trap: CronTrigger.from_crontab reads 0 as Monday (APScheduler 3.x numbering).
    theirs = CronTrigger.from_crontab("0 7 * * 0", timezone="UTC")
    assert theirs.get_next_fire_time(None, MONDAY).strftime("%a") == "Mon"
    assert Cadence.from_cron("0 7 * * 0", UTC).next_after(MONDAY).strftime("%a") == "Sun"


def test_cronsim_gets_the_weekdays_it_cannot_spell_itself():
    assert cron_expression("0 7 * * 1-5") == "0 7 * * 1-5"
    assert cron_expression("0 7 * * fri-sun") == "0 7 * * fri-7"  # cronsim: backwards
    assert cron_expression("0 7 * * Sunday,Tues") == "0 7 * * sun,tue"
    assert cron_expression("0 7 1 March *") == "0 7 1 mar *"
    assert cron_expression("*/15 * * * *") == "*/15 * * * *"


@pytest.mark.parametrize(
    ("nickname", "fields"),
    [
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"),
        ("@yearly", "0 0 1 1 *"),
        ("@Annually", "0 0 1 1 *"),
    ],
)
def test_crons_nicknames_are_the_fields_crontab_gives_them(nickname, fields):
    berlin = ZoneInfo("Europe/Berlin")
    ours, theirs = Cadence.from_cron(nickname, berlin), Cadence.from_cron(fields, berlin)
    moment = datetime(2026, 3, 28, tzinfo=berlin)  # across the night clocks go forward
    for _ in range(5):
        assert ours.next_after(moment) == theirs.next_after(moment) is not None
        moment = ours.next_after(moment)


@pytest.mark.parametrize("nickname", ["@reboot", "@every 5m", "@dialy", "@Every 5M"])
def test_a_nickname_that_is_no_cadence_is_refused_naming_the_ones_there_are(nickname):
    with pytest.raises(CronError, match="@daily") as refused:
        cron_expression(nickname)
    assert str(refused.value).startswith(f"{nickname} is not")  # as written, not lower-cased


def test_an_expression_that_never_fires_says_so():
    with pytest.raises(CronError, match="never fires") as info:
        cron_expression("0 7 31 2 *")
    assert info.value.never


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
        cron_expression(expression)


# --- `run --slot`: never a slot that has not come (issue 15, item 11) ------------------------


def slot_config(tmp_path, schedule: str, timezone: str = "Europe/Berlin"):
    from conftest import SAMPLE_SEEDS

    from digest.config import load_config

    path = tmp_path / "digest.yaml"
    path.write_text(
        f'timezone: {timezone}\nschedule: "{schedule}"\nsources: [{SAMPLE_SEEDS}/*.txt]\n'
        f"state: {tmp_path / 's.sqlite3'}\n"
    )
    return load_config(path)


def test_a_slot_in_the_future_is_refused_naming_the_latest_slot_before_now(tmp_path):
    from digest.errors import UsageError
    from digest.schedule import resolve_slot

    config = slot_config(tmp_path, "0 7 * * *")
    now = datetime(2026, 3, 5, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    with pytest.raises(UsageError) as info:
        resolve_slot(config, "2030-01-07T07:00", now)
    message = f"{info.value} {info.value.hint}"
    assert "in the future" in message and "2026-03-05T07:00:00+01:00" in message
    with pytest.raises(UsageError):
        resolve_slot(config, "2026-03-06T07:00", now)  # tomorrow's
    assert resolve_slot(config, "2026-03-05T07:00", now) == "2026-03-05T07:00:00+01:00"
    assert resolve_slot(config, "2026-03-04T07:00", now) == "2026-03-04T07:00:00+01:00"
    early = datetime(2026, 3, 5, 6, 59, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    assert resolve_slot(config, "2026-03-05T07:00", early) == "2026-03-05T07:00:00+01:00"


@pytest.mark.parametrize("second", [0, 1, 30, 45, 59])
def test_slot_now_with_a_per_minute_schedule_is_this_minute_never_the_next(tmp_path, second):
    from digest.schedule import resolve_slot

    config = slot_config(tmp_path, "* * * * *", "UTC")
    now = datetime(2026, 3, 5, 12, 0, second, tzinfo=UTC)
    assert resolve_slot(config, "now", now) == "2026-03-05T12:00:00+00:00"
    assert resolve_slot(config, "2026-03-05T12:00", now) == "2026-03-05T12:00:00+00:00"


def test_slot_now_still_forgives_a_timer_firing_a_little_early(tmp_path):
    from digest.schedule import resolve_slot

    config = slot_config(tmp_path, "*/5 * * * *", "UTC")
    early = datetime(2026, 3, 5, 12, 4, 30, tzinfo=UTC)
    assert resolve_slot(config, "now", early) == "2026-03-05T12:05:00+00:00"
    late = datetime(2026, 3, 5, 12, 3, 0, tzinfo=UTC)
    assert resolve_slot(config, "now", late) == "2026-03-05T12:00:00+00:00"


@pytest.mark.slow
def test_run_with_a_future_slot_exits_2_and_sends_nothing(tmp_path):
    import subprocess

    from conftest import SAMPLE_SEEDS, digest_command

    config = tmp_path / "digest.yaml"
    config.write_text(
        f'timezone: UTC\nschedule: "0 7 * * *"\nsources: [{SAMPLE_SEEDS}/*.txt]\n'
        f"state: {tmp_path / 's.sqlite3'}\ndelivery:\n  to: [a@example.com]\n"
        f"  outbox: {tmp_path / 'outbox'}\n"
    )
    result = subprocess.run(
        [*digest_command(), "--config", str(config), "run", "--slot", "2099-01-01T07:00"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "in the future" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "outbox").exists() and not (tmp_path / "s.sqlite3").exists()
