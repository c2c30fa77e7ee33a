"""Scheduling: each slot runs once, on its cadence, in the config's time zone."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from click.testing import CliRunner
from conftest import ROOT, SAMPLE_SEEDS, digest_command

from digest import errors
from digest.cli import cli
from digest.config import load_config
from digest.deliver import Outcome
from digest.errors import ConfigError, LockedError, UsageError
from digest.report import RunReport, Tally
from digest.schedule import (
    Cadence,
    SlotLog,
    SlotScheduler,
    next_slots,
    resolve_slot,
    run_forever,
    schedule_lock,
    slot_key,
)
from digest.state import Store, run_lock
from digest.state.exactly_once import begin_run
from digest.state.models import RunStatus

BERLIN = ZoneInfo("Europe/Berlin")
SEED = sorted(SAMPLE_SEEDS.glob("*.txt"))[0]


def write_config(
    tmp_path: Path,
    schedule: str = "0 7 * * 1-5",
    timezone: str = "Europe/Berlin",
    extra: str = "",
) -> Path:
    path = tmp_path / "digest.yaml"
    path.write_text(
        f"title: Test Daily\n"
        f"timezone: {timezone}\n"
        f"sources:\n  - {SEED}\n"
        f"state: {tmp_path / 'state.sqlite3'}\n"
        f'schedule: "{schedule}"\n'
        f"{extra}"
        f"delivery:\n"
        f'  from: "Test Daily <digest@example.com>"\n'
        f"  to: [reader@example.com]\n"
        f"  outbox: {tmp_path / 'outbox'}\n"
    )
    return path


def next_via_cli(tmp_path: Path, schedule: str, n: int, after: str, **kw: str) -> list[str]:
    config = write_config(tmp_path, schedule, **kw)
    result = CliRunner().invoke(
        cli, ["--config", str(config), "schedule", "--next", str(n), "--after", after]
    )
    assert result.exit_code == 0, result.output
    return result.output.split()


def digest(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*digest_command(), *args], capture_output=True, text=True, cwd=ROOT, timeout=60
    )


# --- schedule --next: the slots, in the config's zone --------------------------------------


def test_the_night_clocks_go_back_has_its_0230_slot_once(tmp_path):
    # Berlin leaves summer time on 2026-10-25 at 03:00 (+02:00) -> 02:00 (+01:00): 02:30
    # happens twice; it is one slot, at its first occurrence.
    assert next_via_cli(tmp_path, "30 2 * * *", 4, "2026-10-24T00:00") == [
        "2026-10-24T02:30:00+02:00",
        "2026-10-25T02:30:00+02:00",
        "2026-10-26T02:30:00+01:00",
        "2026-10-27T02:30:00+01:00",
    ]


def test_the_night_clocks_go_forward_runs_the_missing_0230_when_they_jump(tmp_path):
    # 2026-03-29 02:00 (+01:00) -> 03:00 (+02:00): 02:30 does not exist. The slot runs the
    # moment the clocks jump, as cron runs it (APScheduler 3.11 alone would fire at 03:30;
    # a systemd timer skips the day); the day keeps its digest.
    assert next_via_cli(tmp_path, "30 2 * * *", 3, "2026-03-28T00:00") == [
        "2026-03-28T02:30:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:30:00+02:00",
    ]
    # An hour-long gap folds every slot in it into that one moment, once.
    quarter = next_via_cli(tmp_path, "*/30 * * * *", 4, "2026-03-29T01:00")
    assert quarter == [
        "2026-03-29T01:30:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-29T03:30:00+02:00",
        "2026-03-29T04:00:00+02:00",
    ]


def test_the_jump_a_missing_slot_runs_at_is_a_slot_for_run(tmp_path):
    """`schedule` and `history` name the missing 02:30 by the moment it runs, 03:00+02:00;
    `run --slot` refused that very name (only the missing 02:30 was taken). Every name of it
    is the one slot; 03:00 on another day is none."""
    config = load_config(write_config(tmp_path, "30 2 * * *"))
    after = datetime(2026, 3, 30, 12, tzinfo=BERLIN)
    names = [
        "2026-03-29T03:00:00+02:00",
        "2026-03-29T03:00",
        "2026-03-29T01:00Z",
        "2026-03-29T02:30",
    ]
    assert {resolve_slot(config, n, after) for n in names} == {"2026-03-29T03:00:00+02:00"}
    with pytest.raises(UsageError, match="not a time of the schedule"):
        resolve_slot(config, "2026-03-28T03:00", after)


def test_an_hourly_schedule_runs_once_per_wall_clock_hour_when_clocks_go_back(tmp_path):
    # The decision for the repeated hour: every schedule, `*` in the hour too, runs each
    # wall-clock time once, at its first occurrence. cronsim alone (as Debian's cron) would
    # run an hourly job by the new clock too: 02:00 +02:00 and again 02:00 +01:00.
    assert next_via_cli(tmp_path, "0 * * * *", 3, "2026-10-25T01:30") == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T03:00:00+01:00",
        "2026-10-25T04:00:00+01:00",
    ]
    assert next_via_cli(tmp_path, "0 * * * *", 2, "2026-10-25T02:30:00+01:00") == [
        "2026-10-25T03:00:00+01:00",
        "2026-10-25T04:00:00+01:00",
    ]


def test_cronsims_extensions_name_the_nth_and_the_last_days(tmp_path):
    first_monday = next_via_cli(tmp_path, "0 7 * * mon#1", 3, "2026-03-01T00:00")
    assert first_monday == [
        "2026-03-02T07:00:00+01:00",
        "2026-04-06T07:00:00+02:00",
        "2026-05-04T07:00:00+02:00",
    ]
    last_day = next_via_cli(tmp_path, "0 7 L * *", 2, "2026-02-01T00:00")
    assert last_day == ["2026-02-28T07:00:00+01:00", "2026-03-31T07:00:00+02:00"]


def test_one_to_five_gives_monday_to_friday_only(tmp_path):
    slots = next_via_cli(tmp_path, "0 7 * * 1-5", 10, "2026-03-01T00:00")  # a Sunday
    days = [datetime.fromisoformat(s).strftime("%a") for s in slots]
    assert days == ["Mon", "Tue", "Wed", "Thu", "Fri"] * 2
    assert all(s.endswith("T07:00:00+01:00") for s in slots)


@pytest.mark.parametrize("sunday", ["0", "7", "sun"])
def test_zero_and_seven_are_sunday(tmp_path, sunday):
    slots = next_via_cli(tmp_path, f"0 7 * * {sunday}", 3, "2026-03-02T00:00")
    assert slots == [
        "2026-03-08T07:00:00+01:00",
        "2026-03-15T07:00:00+01:00",
        "2026-03-22T07:00:00+01:00",
    ]
    assert {datetime.fromisoformat(s).strftime("%a") for s in slots} == {"Sun"}


def test_names_and_numbers_give_the_same_slots(tmp_path):
    names = next_via_cli(tmp_path, "0 7 * * mon-fri", 12, "2026-03-01T00:00")
    numbers = next_via_cli(tmp_path, "0 7 * * 1-5", 12, "2026-03-01T00:00")
    assert names == numbers


def test_after_takes_a_time_with_or_without_offset(tmp_path):
    naive = next_via_cli(tmp_path, "0 7 * * *", 2, "2026-06-01T07:00")
    offset = next_via_cli(tmp_path, "0 7 * * *", 2, "2026-06-01T07:00+02:00")
    utc = next_via_cli(tmp_path, "0 7 * * *", 2, "2026-06-01T05:00Z")
    assert naive == offset == utc == ["2026-06-02T07:00:00+02:00", "2026-06-03T07:00:00+02:00"]


def test_the_slots_are_printed_in_the_configs_zone(tmp_path):
    slots = next_via_cli(tmp_path, "0 7 * * *", 1, "2026-06-01T00:00Z", timezone="Asia/Almaty")
    assert slots == ["2026-06-01T07:00:00+05:00"]


def test_next_without_after_starts_from_now(tmp_path):
    config = load_config(write_config(tmp_path, "*/5 * * * *"))
    before = datetime.now(BERLIN)
    slots = next_slots(config, 3, None)
    assert len(slots) == 3 and before < slots[0] < slots[1] < slots[2]
    assert slots[1] - slots[0] == timedelta(minutes=5)


@pytest.mark.slow
def test_listing_slots_ends_at_the_last_year_a_date_can_hold(tmp_path):
    """A yearly schedule listed 8,000 ahead ran past 9999: cronsim's OverflowError was a
    traceback. The list ends with the last slot there is."""
    config = load_config(write_config(tmp_path, "0 7 1 1 *"))
    slots = next_slots(config, 8000, "2026-01-01T00:00")
    assert len(slots) == 9999 - 2026 + 1 and slots[-1].year == 9999


@pytest.mark.slow
def test_a_bad_after_is_a_usage_error_naming_the_option(tmp_path):
    result = digest(
        "--config", str(write_config(tmp_path)), "schedule", "--next", "2", "--after", "soon"
    )
    assert result.returncode == 2
    assert "--after" in result.stderr and "soon" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_bad_cron_expression_is_a_config_error_naming_key_and_line(tmp_path):
    result = digest("--config", str(write_config(tmp_path, "0 7 * * 9")), "schedule", "--next", "1")
    assert result.returncode == 2
    assert "schedule" in result.stderr and "digest.yaml:6" in result.stderr
    assert "day-of-week" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_an_unknown_zone_is_a_config_error_naming_key_and_line(tmp_path):
    result = digest(
        "--config", str(write_config(tmp_path, timezone="Mars/Olympus")), "schedule", "--next", "1"
    )
    assert result.returncode == 2
    assert "timezone" in result.stderr and "digest.yaml:2" in result.stderr
    assert "Mars/Olympus" in result.stderr


def test_a_schedule_that_never_fires_is_a_config_error_with_its_line(tmp_path):
    with pytest.raises(ConfigError, match="never fires") as info:
        load_config(write_config(tmp_path, "0 7 31 2 *"))
    assert info.value.key == "schedule" and info.value.line


# --- the slot arithmetic around clock changes ----------------------------------------------

TRANSITIONS = [
    ("Europe/Berlin", datetime(2026, 3, 29)),  # 02:00 -> 03:00
    ("Europe/Berlin", datetime(2026, 10, 25)),  # 03:00 -> 02:00
    ("America/New_York", datetime(2026, 3, 8)),
    ("America/New_York", datetime(2026, 11, 1)),
    ("Australia/Lord_Howe", datetime(2026, 4, 5)),  # back by 30 minutes
    ("Australia/Lord_Howe", datetime(2026, 10, 4)),  # forward by 30 minutes
    ("Asia/Almaty", datetime(2024, 3, 1)),  # +06 -> +05 for good, at midnight
    ("Pacific/Apia", datetime(2011, 12, 30)),  # a whole day skipped
]
EXPRESSIONS = ["30 2 * * *", "*/15 * * * *", "0 7 * * 1-5", "0 0 * * *", "45 23 * * *"]


def first_instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """The reference placing of a wall-clock time: its first instant, or the moment the
    clocks jump over it (found minute by minute in UTC)."""
    utc = ZoneInfo("UTC")
    instant = wall.replace(tzinfo=tz, fold=0)
    if instant.astimezone(utc).astimezone(tz).replace(tzinfo=None) == wall:
        return instant
    moment = wall.replace(tzinfo=tz, fold=1).astimezone(utc)  # before the jump
    while moment.astimezone(tz).replace(tzinfo=None) < wall:
        moment += timedelta(minutes=1)
    return moment.astimezone(tz)


@pytest.mark.slow
@pytest.mark.parametrize(("zone", "day"), TRANSITIONS)
@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_slots_are_every_matching_wall_time_placed_once_in_order(zone, day, expression):
    tz = ZoneInfo(zone)
    cadence = Cadence.from_cron(expression, tz)
    start = (day - timedelta(days=2)).replace(tzinfo=tz)
    end = (day + timedelta(days=3)).replace(tzinfo=tz)
    slots = list(cadence.slots_between(start, end))
    # The reference: every wall-clock time the cron fields match (APScheduler's CronTrigger
    # in UTC has no DST to trip on), placed in the zone, sorted, duplicates merged.
    walls = CronTrigger.from_crontab(expression.replace("1-5", "mon-fri"), timezone="UTC")
    wall, placed = start.replace(tzinfo=ZoneInfo("UTC")) - timedelta(days=1), set()
    while wall < end.replace(tzinfo=ZoneInfo("UTC")) + timedelta(days=1):
        wall = walls.get_next_fire_time(None, wall + timedelta(microseconds=1))
        placed.add(first_instant(wall.replace(tzinfo=None), tz))
    assert slots == sorted(s for s in placed if start < s <= end)
    assert all(a < b for a, b in zip(slots, slots[1:], strict=False))
    keys = [s.replace(tzinfo=None) for s in slots]  # the wall-clock times
    assert len(set(keys)) == len(keys), "a wall-clock time became two slots"
    assert all(cadence.is_slot(s) for s in slots)


def test_the_scheduler_fires_the_repeated_0230_once():
    # APScheduler 3.11's own CronTrigger, chained like this, fires 02:30 +02:00 and then
    # 02:30 +01:00 again. The scheduler chains slots with next_after.
    cadence = Cadence.from_cron("30 2 * * *", BERLIN)
    fired, previous = [], datetime(2026, 10, 24, 12, tzinfo=BERLIN)
    for _ in range(4):
        previous = cadence.next_after(previous)
        fired.append(previous.isoformat())
    assert fired == [
        "2026-10-25T02:30:00+02:00",
        "2026-10-26T02:30:00+01:00",
        "2026-10-27T02:30:00+01:00",
        "2026-10-28T02:30:00+01:00",
    ]


def test_the_next_slot_is_never_at_or_before_the_previous_one():
    # apscheduler#1021: asked again from inside the repeated hour, a CronTrigger can hand
    # back the same time (an endless loop in a scheduler). cronsim counts from the wall
    # clock, which reads the same twice in that hour; ours always steps past it.
    helsinki = ZoneInfo("Europe/Helsinki")
    cadence = Cadence.from_cron("30 * * * *", helsinki)
    inside = datetime(2017, 10, 29, 3, 45, tzinfo=helsinki, fold=1)
    previous = inside
    for _ in range(6):
        nxt = cadence.next_after(previous)
        assert nxt > previous
        previous = nxt
    # Fresh from "now" a second after the repeated 03:30: wall-clock arithmetic drops the
    # fold, so a naive "+1 s" lands back before it; ours still moves on.
    moment = datetime(2017, 10, 29, 3, 30, tzinfo=helsinki, fold=1)
    assert cadence.next_after(moment + timedelta(seconds=1)) > moment


def test_the_latest_slot_at_or_before_a_moment():
    cadence = Cadence.from_cron("0 7 * * 1-5", BERLIN)
    saturday = datetime(2026, 3, 7, 12, tzinfo=BERLIN)
    assert slot_key(cadence.latest_at_or_before(saturday)) == "2026-03-06T07:00:00+01:00"
    exactly = datetime(2026, 3, 6, 7, tzinfo=BERLIN)
    assert cadence.latest_at_or_before(exactly) == exactly
    rare = Cadence.from_cron("0 0 29 2 *", BERLIN)  # leap days only
    assert slot_key(rare.latest_at_or_before(saturday)) == "2024-02-29T00:00:00+01:00"


# --- run --slot: naming a slot ---------------------------------------------------------------


def test_slot_now_is_the_latest_slot_so_a_second_firing_names_the_same_slot(tmp_path):
    config = load_config(write_config(tmp_path, "0 7 * * 1-5"))
    at_seven = datetime(2026, 3, 5, 7, 0, 2, tzinfo=BERLIN)
    assert resolve_slot(config, "now", at_seven) == "2026-03-05T07:00:00+01:00"
    later = at_seven + timedelta(hours=5)
    assert resolve_slot(config, "now", later) == "2026-03-05T07:00:00+01:00"
    early = datetime(2026, 3, 5, 6, 59, 30, tzinfo=BERLIN)  # a timer 30 s early
    assert resolve_slot(config, "now", early) == "2026-03-05T07:00:00+01:00"
    saturday = datetime(2026, 3, 7, 9, tzinfo=BERLIN)
    assert resolve_slot(config, "NOW", saturday) == "2026-03-06T07:00:00+01:00"


def test_slot_keys_are_the_wall_clock_slot_whatever_the_spelling(tmp_path):
    config = load_config(write_config(tmp_path, "30 2 * * *"))
    first = "2026-10-25T02:30:00+02:00"
    assert resolve_slot(config, "2026-10-25T02:30") == first
    assert resolve_slot(config, first) == first
    assert resolve_slot(config, "2026-10-25T00:30Z") == first
    # the repeated 02:30 (+01:00) is the same wall-clock slot: it cannot run again
    assert resolve_slot(config, "2026-10-25T02:30:00+01:00") == first
    # the 02:30 that does not exist is the 03:00 it runs at, the moment clocks jump
    assert resolve_slot(config, "2026-03-29T02:30") == "2026-03-29T03:00:00+02:00"
    # and a cron job run right after the jump names it with `now`
    after_jump = datetime(2026, 3, 29, 3, 0, 1, tzinfo=BERLIN)
    assert resolve_slot(config, "now", after_jump) == "2026-03-29T03:00:00+02:00"


def test_a_time_that_is_not_a_slot_is_a_usage_error_naming_the_slots_around_it(tmp_path):
    config = load_config(write_config(tmp_path, "0 7 * * 1-5"))
    with pytest.raises(UsageError) as info:
        resolve_slot(config, "2026-03-07T07:00")  # a Saturday
    assert "--slot" in str(info.value)
    assert "2026-03-06T07:00:00+01:00" in str(info.value)
    assert "2026-03-09T07:00:00+01:00" in str(info.value)
    with pytest.raises(UsageError, match="--slot"):
        resolve_slot(config, "tomorrow")
    # the ends of the calendar (cronsim and the zones overflowed there): years as --as-of's
    for far in ("9999-12-31T23:59", "0001-01-01T00:00", "9999-12-31T23:00+00:00"):
        with pytest.raises(UsageError, match="--slot: .* outside the years 1900 to 9000"):
            resolve_slot(config, far)
        with pytest.raises(UsageError, match="--after: .* outside the years 1900 to 9000"):
            next_slots(config, 3, far)


@pytest.mark.skipif(
    not hasattr(errors, "SlotDoneError"),
    reason="store.start_run still refuses a slot that ran with a plain LockedError (exit 1)",
)
@pytest.mark.slow
def test_run_slot_now_twice_sends_once_and_the_second_run_exits_0(tmp_path):
    config = str(write_config(tmp_path, "0 7 * * 1-5"))
    first = digest("--config", config, "run", "--slot", "now")
    assert first.returncode == 0, first.stderr
    second = digest("--config", config, "run", "--slot", "now")
    assert second.returncode == 0 and "has already run" in second.stderr
    assert len(list((tmp_path / "outbox").iterdir())) == 1
    with Store.open(tmp_path / "state.sqlite3", readonly=True) as store:
        assert len(store.runs()) == 1


# --- the scheduler, in process: one slot, catch-up, waiting, logs --------------------------


class FakePipeline:
    """Stands in for pipeline.run: takes the run lock, records the slot, 'sends' one."""

    def __init__(self, seconds: float = 0.0, status: str = "delivered"):
        self.slots: list[str] = []
        self.seconds = seconds
        self.status = status

    def __call__(self, config, slot: str) -> RunReport:
        with run_lock(config.state), Store.open(config.state) as store:
            run_id = begin_run(store, slot).id
            self.slots.append(slot)
            time.sleep(self.seconds)
            store.finish_run(run_id, self.status, 1, 1, 0, "sent to 1 of 1 recipients")
        return RunReport(
            RunStatus(self.status),
            message="sent to 1 of 1 recipients",
            tally=Tally(own=(Outcome("reader@example.com", "sent", "250 OK"),)),
        )


def scheduler_for(tmp_path, now: datetime, catch_up: str = "latest", **kw):
    config = load_config(write_config(tmp_path, "0 7 * * 1-5", extra=f"catch_up: {catch_up}\n"))
    stream, run = io.StringIO(), kw.pop("run", None) or FakePipeline()
    scheduler = SlotScheduler(
        config, clock=lambda: now, run=run, log=SlotLog(stream), retry_seconds=0.05, **kw
    )
    return scheduler, run, stream


def record(config, *slots: str) -> None:
    with Store.open(config.state) as store:
        for slot in slots:
            store.finish_run(begin_run(store, slot).id, "delivered")


THURSDAY_NOON = datetime(2026, 3, 5, 12, tzinfo=BERLIN)


def test_catch_up_latest_runs_only_the_latest_missed_slot_once(tmp_path):
    scheduler, run, stream = scheduler_for(tmp_path, THURSDAY_NOON, "latest")
    record(scheduler.config, "2026-03-02T07:00:00+01:00")  # Monday ran; Tue-Thu missed
    scheduler.catch_up()
    assert run.slots == ["2026-03-05T07:00:00+01:00"]
    log = stream.getvalue().splitlines()
    assert log[0].startswith("event=catch-up missed=3 last=2026-03-02T07:00:00+01:00 action=run")
    assert log[1].startswith("slot=2026-03-05T07:00:00+01:00 status=delivered chosen=0 sent=1")
    scheduler.catch_up()  # started again: nothing is missed any more
    assert run.slots == ["2026-03-05T07:00:00+01:00"]


def test_a_slots_line_is_the_runs_own_summary(tmp_path):
    """The run says what it did once (send.py: status, message, report.chosen, the tally);
    the scheduler's line repeats it, with no second summary of the earlier issue it finished."""
    message = (
        "finished issue 3 ('Old news') begun earlier: sent to 2 more of its readers; "
        "sent to 1 of 2 recipients; deferred readers are tried again by the next run"
    )
    report = RunReport(
        RunStatus.PARTLY_DELIVERED,
        message=message,
        tally=Tally(
            own=(
                Outcome("ann@example.com", "sent", "250 OK"),
                Outcome("bo@example.com", "retrying", "451 try later"),
            ),
            resumed=(Outcome("cy@example.com", "sent", "250 OK"),) * 2,
        ),
    )
    scheduler, _, stream = scheduler_for(tmp_path, THURSDAY_NOON, "latest", run=lambda c, s: report)
    record(scheduler.config, "2026-03-02T07:00:00+01:00")  # Monday ran; Thursday's is missed
    scheduler.catch_up()
    lines = stream.getvalue().splitlines()
    # the reader not reached is a warning line before it, once (as `digest run` prints it)
    assert lines[1] == (
        'event=warning slot=2026-03-05T07:00:00+01:00 message="bo@example.com: retrying '
        '(451 try later)"'
    )
    line = lines[2]
    assert "status=partly-delivered chosen=0 sent=1 failed=1 " in line
    assert line.endswith(f' message="{message}"') and line.count("earlier") == 1


def test_catch_up_none_runs_nothing_and_says_so(tmp_path):
    scheduler, run, stream = scheduler_for(tmp_path, THURSDAY_NOON, "none")
    record(scheduler.config, "2026-03-02T07:00:00+01:00")
    scheduler.catch_up()
    assert run.slots == []
    assert stream.getvalue().startswith("event=catch-up missed=3")
    assert "action=none" in stream.getvalue()


def test_nothing_is_missed_on_a_fresh_state_or_when_the_latest_slot_ran(tmp_path):
    scheduler, run, stream = scheduler_for(tmp_path, THURSDAY_NOON, "latest")
    scheduler.catch_up()
    record(scheduler.config, "2026-03-05T07:00:00+01:00")
    scheduler.catch_up()
    assert run.slots == [] and stream.getvalue() == ""


def test_a_slot_fired_after_the_next_one_came_runs_the_latest_once(tmp_path):
    # The machine slept from before Monday's slot to Thursday noon: the job planned for
    # Monday fires late and serves Thursday's slot, as catch-up would.
    scheduler, run, stream = scheduler_for(tmp_path, THURSDAY_NOON)
    scheduler._fire(datetime(2026, 3, 2, 7, tzinfo=BERLIN))
    assert run.slots == ["2026-03-05T07:00:00+01:00"]
    scheduler._fire(datetime(2026, 3, 5, 7, tzinfo=BERLIN))  # on time: its own slot
    assert run.slots == ["2026-03-05T07:00:00+01:00"]
    assert "status=already-ran" in stream.getvalue().splitlines()[-1]


def test_a_slot_already_in_the_state_is_not_run_again(tmp_path):
    scheduler, run, stream = scheduler_for(tmp_path, THURSDAY_NOON)
    slot = datetime(2026, 3, 5, 7, tzinfo=BERLIN)
    assert scheduler.run_slot(slot) == "delivered"
    assert scheduler.run_slot(slot) == "already-ran"
    assert run.slots == ["2026-03-05T07:00:00+01:00"]
    assert "status=already-ran" in stream.getvalue().splitlines()[1]


@pytest.mark.slow
def test_a_slot_waits_for_a_manual_run_holding_the_state(tmp_path):
    scheduler, run, stream = scheduler_for(tmp_path, THURSDAY_NOON)
    slot = datetime(2026, 3, 5, 7, tzinfo=BERLIN)
    statuses: list[str] = []
    with run_lock(scheduler.config.state):  # `digest run` by hand
        worker = threading.Thread(target=lambda: statuses.append(scheduler.run_slot(slot)))
        worker.start()
        time.sleep(0.3)
        assert run.slots == [] and worker.is_alive()
    worker.join(10)
    assert statuses == ["delivered"] and run.slots == ["2026-03-05T07:00:00+01:00"]
    assert stream.getvalue().startswith("event=waiting slot=2026-03-05T07:00:00+01:00")


@pytest.mark.slow
def test_a_stop_while_waiting_for_the_state_skips_the_slot(tmp_path):
    scheduler, run, stream = scheduler_for(tmp_path, THURSDAY_NOON)
    scheduler._started.set()  # as if the scheduler were up
    statuses: list[str] = []
    with run_lock(scheduler.config.state):
        worker = threading.Thread(target=lambda: statuses.append(scheduler.run_slot(THURSDAY_NOON)))
        worker.start()
        time.sleep(0.2)
        scheduler.request_stop("test")
        worker.join(10)
    assert statuses == ["skipped"] and run.slots == []


def test_errors_are_one_log_line_and_the_schedule_goes_on(tmp_path, capsys):
    def broken_input(config, slot):
        from digest.errors import InputError

        raise InputError("nothing could be read from the configured sources")

    def bug(config, slot):
        raise KeyError("oops")

    for run, status in ((broken_input, "error"), (bug, "crashed")):
        scheduler, _, stream = scheduler_for(tmp_path, THURSDAY_NOON, run=run)
        assert scheduler.run_slot(THURSDAY_NOON) == status
        assert f"status={status}" in stream.getvalue()
    assert "KeyError" in stream.getvalue()  # a bug shows its traceback, in the log
    assert capsys.readouterr().err == ""


def test_a_slot_whose_run_fails_after_sending_says_what_went_out(tmp_path):
    """A bug after the readers got the digest: the slot's line said sent=0."""
    from digest.pipeline import run

    def sent_then_bug(config, slot):
        run(config, slot=slot)
        raise KeyError("oops")

    scheduler, _, stream = scheduler_for(tmp_path, THURSDAY_NOON, run=sent_then_bug)
    assert scheduler.run_slot(THURSDAY_NOON) == "crashed"
    line = next(x for x in stream.getvalue().splitlines() if "status=crashed" in x)
    assert " sent=1 " in line and " chosen=0 " not in line, line


def test_a_crash_keeps_the_json_log_one_object_a_line(tmp_path):
    """A bug's traceback went to stderr raw, between the JSON lines `--json-logs` promises."""

    def bug(config, slot):
        raise KeyError("oops")

    config = load_config(write_config(tmp_path))
    stream = io.StringIO()
    scheduler = SlotScheduler(
        config, clock=lambda: THURSDAY_NOON, run=bug, log=SlotLog(stream, True)
    )
    assert scheduler.run_slot(THURSDAY_NOON) == "crashed"
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["event"] for line in lines] == ["traceback", "slot"]
    assert "KeyError: 'oops'" in lines[0]["message"]


def test_a_refused_reader_is_one_json_log_line(tmp_path, capsys):
    """Under `digest schedule --json-logs` a reader the relay refused came out as a bare
    "gone@example.com: failed (550 ...)" on stderr (Python's last-resort log handler),
    between the JSON lines, and the slot's own lines never named the reader."""
    from smtp_server import SmtpServer

    from digest.pipeline import run

    with SmtpServer() as server:
        server.behaviour.reject["gone@example.com"] = "550 5.1.1 no such user"
        path = write_config(tmp_path)
        smtp = f"  smtp: {{host: 127.0.0.1, port: {server.port}, security: none}}\n"
        text = path.read_text().replace(
            "  to: [reader@example.com]\n", "  to: [reader@example.com, gone@example.com]\n"
        )
        path.write_text(text + smtp)
        stream = io.StringIO()
        scheduler = SlotScheduler(
            load_config(path),
            clock=lambda: THURSDAY_NOON,
            run=lambda c, s: run(c, slot=s),
            log=SlotLog(stream, True),
        )
        assert scheduler.run_slot(THURSDAY_NOON) == "partly-delivered"
    assert "gone@example.com" not in capsys.readouterr().err
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    refused = [x for x in lines if "gone@example.com" in x.get("message", "")]
    assert [(x["event"], x["message"]) for x in refused] == [
        ("warning", "gone@example.com: failed (550 5.1.1 no such user)")
    ]


def test_a_scheduled_run_logs_the_warnings_digest_run_prints(tmp_path):
    """A broken feed, an archive that could not be written: `run` says so on stderr, and the
    scheduler, which logs only each slot's line, said nothing."""
    from digest.pipeline import run

    broken = tmp_path / "broken.xml"
    broken.write_text('<?xml version="1.0"?><rss version="2.0"><channel><title>B</title><item>')
    path = write_config(tmp_path)
    path.write_text(path.read_text().replace(f"  - {SEED}\n", f"  - {SEED}\n  - feed: {broken}\n"))
    config = load_config(path)
    stream = io.StringIO()
    scheduler = SlotScheduler(
        config, clock=lambda: THURSDAY_NOON, run=lambda c, s: run(c, slot=s), log=SlotLog(stream)
    )
    assert scheduler.run_slot(THURSDAY_NOON) == "delivered"
    warnings = [line for line in stream.getvalue().splitlines() if line.startswith("event=warning")]
    assert warnings and all("slot=2026-03-05T12:00:00+01:00" in w for w in warnings)
    assert any(str(broken) in w for w in warnings)


def test_log_lines_are_stable_text_or_json():
    text, js = io.StringIO(), io.StringIO()
    for stream, as_json in ((text, False), (js, True)):
        log = SlotLog(stream, as_json)
        log.slot("2026-03-05T07:00:00+01:00", "delivered", 5, 1, 0, 0.4213)
        log.slot("2026-03-06T07:00:00+01:00", "error", message='bad "feed" here')
    assert text.getvalue().splitlines() == [
        "slot=2026-03-05T07:00:00+01:00 status=delivered chosen=5 sent=1 failed=0 duration=0.42s",
        "slot=2026-03-06T07:00:00+01:00 status=error chosen=0 sent=0 failed=0 duration=0.00s "
        'message="bad \\"feed\\" here"',
    ]
    first, second = (json.loads(line) for line in js.getvalue().splitlines())
    assert {k: first[k] for k in ("event", "slot", "status", "chosen", "sent", "failed")} == {
        "event": "slot",
        "slot": "2026-03-05T07:00:00+01:00",
        "status": "delivered",
        "chosen": 5,
        "sent": 1,
        "failed": 0,
    }
    assert first["duration"] == 0.421 and "time" in first
    assert second["message"] == 'bad "feed" here'


def test_the_schedule_lock_refuses_a_second_holder_naming_file_and_pid(tmp_path):
    state = tmp_path / "state.sqlite3"
    with schedule_lock(state) as path:
        assert path == tmp_path / "state.sqlite3.schedule.lock"
        with pytest.raises(LockedError) as info:
            with schedule_lock(state):
                pass
        message = str(info.value)
        assert str(path) in message and "pid" in message and "digest schedule" in message
    with schedule_lock(state):  # free again
        pass


@pytest.mark.slow
def test_sigterm_during_the_catch_up_run_lets_it_finish_then_returns(tmp_path):
    config = load_config(write_config(tmp_path))
    record(config, "2026-03-02T07:00:00+01:00")
    pipeline, stream = FakePipeline(seconds=0.5), io.StringIO()

    def run(config, slot):
        os.kill(os.getpid(), signal.SIGTERM)  # arrives while the slot runs
        return pipeline(config, slot)

    before = signal.getsignal(signal.SIGTERM)
    run_forever(config, clock=lambda: THURSDAY_NOON, run=run, stream=stream)
    assert signal.getsignal(signal.SIGTERM) is before
    assert pipeline.slots == ["2026-03-05T07:00:00+01:00"]
    lines = stream.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == [
        "event=catch-up",
        "event=stopping",
        "slot=2026-03-05T07:00:00+01:00",
        "event=stopped",
    ]
    assert "status=delivered" in lines[2] and "reason=SIGTERM" in lines[1]


@pytest.mark.slow
def test_serve_runs_each_slot_once_and_stops_after_the_run_in_progress(tmp_path):
    config = load_config(write_config(tmp_path))
    run, stream = FakePipeline(seconds=0.3), io.StringIO()
    every_second = Cadence("* * * * * *", "UTC")
    scheduler = SlotScheduler(config, cadence=every_second, run=run, log=SlotLog(stream))
    worker = threading.Thread(target=scheduler.serve, args=(datetime.now(BERLIN),))
    worker.start()
    deadline = time.monotonic() + 15
    while len(run.slots) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    scheduler.request_stop("test")
    worker.join(15)
    assert not worker.is_alive()
    assert len(run.slots) >= 2 and len(set(run.slots)) == len(run.slots)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("event=started") and lines[-1] == "event=stopped"
    with Store.open(config.state, readonly=True) as store:
        assert {r.status for r in store.runs()} == {"delivered"}


# --- the scheduler for real: a subprocess, SIGTERM, a second scheduler ---------------------

SCHEDULER_SCRIPT = """
import sys, time
from digest.config import load_config
from digest.deliver import Outcome
from digest.report import RunReport, Tally
from digest.schedule import Cadence, run_forever
from digest.state.models import RunStatus
from digest.state import Store, run_lock
from digest.state.exactly_once import begin_run

config = load_config(sys.argv[1])

def slow_run(config, slot):
    with run_lock(config.state), Store.open(config.state) as store:
        run_id = begin_run(store, slot).id
        time.sleep(1.5)
        config.delivery.outbox.mkdir(parents=True, exist_ok=True)
        name = slot.replace(":", "") + ".eml"
        (config.delivery.outbox / name).write_text("Subject: digest\\n\\n" + slot + "\\n")
        store.finish_run(run_id, "delivered", 1, 1, 0, "sent to 1 of 1 recipients")
    return RunReport(
        RunStatus.DELIVERED,
        message="sent to 1 of 1 recipients",
        tally=Tally(own=(Outcome("reader@example.com", "sent", "250 OK"),)),
    )

every_second = Cadence("* * * * * *", config.tz)
run_forever(
    config, json_logs=True, cadence=every_second, run=slow_run if sys.argv[2] == "slow" else None
)
"""


def start_scheduler(tmp_path: Path, config: Path, mode: str) -> subprocess.Popen:
    script = tmp_path / "scheduler.py"
    script.write_text(SCHEDULER_SCRIPT)
    return subprocess.Popen(
        [sys.executable, str(script), str(config), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def runs_in(state: Path) -> list:
    if not state.exists():
        return []
    with Store.open(state, readonly=True) as store:
        return store.runs(1000)


def wait_for(condition, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail(f"the scheduler did not get there; its log:\n{proc.communicate()[1]}")
        time.sleep(0.05)


@pytest.mark.slow
def test_sigterm_lets_the_run_in_progress_finish_and_a_second_scheduler_is_refused(tmp_path):
    config = write_config(tmp_path)
    state, outbox = tmp_path / "state.sqlite3", tmp_path / "outbox"
    proc = start_scheduler(tmp_path, config, "slow")
    try:
        wait_for(lambda: any(r.status == "running" for r in runs_in(state)), proc)
        second = digest("--config", str(config), "schedule")
        assert second.returncode == 1
        assert "already running" in second.stderr and f"pid {proc.pid}" in second.stderr
        assert "state.sqlite3.schedule.lock" in second.stderr
        wait_for(lambda: any(r.status == "running" for r in runs_in(state)), proc)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    runs = runs_in(state)
    assert runs and all(r.status == "delivered" for r in runs)  # none left 'running'
    assert len({r.slot for r in runs}) == len(runs)
    assert len(list(outbox.glob("*.eml"))) == len(runs)
    events = [json.loads(line) for line in err.splitlines()]
    ran = [e["slot"] for e in events if e["event"] == "slot" and e["status"] == "delivered"]
    assert sorted(ran) == sorted(r.slot for r in runs)  # each run logged once
    stopping = next(i for i, e in enumerate(events) if e["event"] == "stopping")
    assert events[stopping]["reason"] == "SIGTERM"
    finished_after = [e for e in events[stopping:] if e.get("status") == "delivered"]
    assert len(finished_after) == 1, "the run in progress finished after the signal"
    assert events[-1]["event"] == "stopped"


@pytest.mark.skipif(
    importlib.util.find_spec("digest.select") is None, reason="the select stage is not here yet"
)
@pytest.mark.slow
def test_the_real_pipeline_on_a_per_second_cadence_sends_once_then_stops_cleanly(tmp_path):
    config = write_config(tmp_path)
    state, outbox = tmp_path / "state.sqlite3", tmp_path / "outbox"
    proc = start_scheduler(tmp_path, config, "real")
    try:
        wait_for(lambda: len([r for r in runs_in(state) if r.status != "running"]) >= 2, proc, 60)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    runs = runs_in(state)
    assert all(r.status != "running" for r in runs)
    assert [r.status for r in reversed(runs)][:2] == ["delivered", "empty"], err
    assert len(list(outbox.iterdir())) >= 1
    assert len({r.slot for r in runs}) == len(runs)


# --- the shipped systemd timer --------------------------------------------------------------


@pytest.mark.slow
def test_the_shipped_timer_fires_at_the_shipped_configs_slots():
    timer = (ROOT / "config" / "digest.timer").read_text()
    service = (ROOT / "config" / "digest.service").read_text()
    assert "run --slot now" in service and "Persistent=true" in timer
    calendar = re.search(r"^OnCalendar=(.+)$", timer, re.M)[1]
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not here")
    result = subprocess.run(
        ["systemd-analyze", "calendar", "--iterations=6", calendar],
        capture_output=True,
        text=True,
        env={"TZ": "UTC", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    fires = re.findall(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", result.stdout)
    config = load_config(ROOT / "config" / "digest.yaml")
    slots = next_slots(config, 6, None)
    utc = ZoneInfo("UTC")
    assert [s.astimezone(utc).strftime("%Y-%m-%d %H:%M:%S") for s in slots] == fires


def test_with_catch_up_none_the_slots_slept_through_are_said_and_one_on_time_runs(tmp_path):
    """A process suspended from 18:15 to 18:21:40 (every minute): the 18:16 slot it woke to
    was missed, and then the next planned was 18:22, so the 18:21 slot, 40 s late and on
    time, never ran, and 18:17 to 18:20 left no line at all."""
    from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent

    from digest.schedule import SLOT_JOB

    now = datetime(2026, 3, 5, 18, 21, 40, tzinfo=BERLIN)

    def woke(schedule: str, slot: datetime) -> tuple[list[datetime], list[str]]:
        config = load_config(write_config(tmp_path, schedule, extra="catch_up: none\n"))
        stream, planned = io.StringIO(), []
        scheduler = SlotScheduler(
            config, clock=lambda: now, run=FakePipeline(), log=SlotLog(stream)
        )
        scheduler._plan = planned.append  # what APScheduler would be given
        event = JobSubmissionEvent(EVENT_JOB_SUBMITTED, SLOT_JOB, "default", [slot])
        scheduler._on_slot_event(event)
        return planned, [line.split()[0] for line in stream.getvalue().splitlines()]

    planned, missed = woke("* * * * *", datetime(2026, 3, 5, 18, 16, tzinfo=BERLIN))
    assert planned == [datetime(2026, 3, 5, 18, 21, tzinfo=BERLIN)]
    assert missed == [f"slot=2026-03-05T18:{m}:00+01:00" for m in (17, 18, 19, 20)]
    planned, missed = woke("0 * * * *", datetime(2026, 3, 5, 17, tzinfo=BERLIN))
    assert planned == [datetime(2026, 3, 5, 19, tzinfo=BERLIN)]  # 18:00 came 21 min ago
    assert missed == ["slot=2026-03-05T18:00:00+01:00"]
