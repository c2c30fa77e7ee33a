"""Running the digest on its cron cadence: slots, catch-up, one scheduler at a time.

A *slot* is one time of the `schedule:` cron expression in the config's `timezone`. Its
key in the state (`runs.slot`, UNIQUE) is the slot's time as ISO 8601 with the zone's offset:
"2026-10-25T02:30:00+02:00". A slot runs at most once, whoever starts it (`digest schedule`,
or `digest run --slot` from cron or a systemd timer).

cronsim computes the slots, daylight-saving changes included, as Debian's cron runs a job
set for a given time (`Cadence`); digest does no date arithmetic of its own:

- clocks go back (a wall-clock time happens twice): the slot is its first occurrence, once;
  the repeated 02:30 (+01:00) is the same slot and does not run again;
- clocks go forward (a wall-clock time does not exist): the slot runs the moment the clocks
  jump, so 02:30 on a night that goes from 02:00 to 03:00 runs at 03:00 (APScheduler 3.11
  would fire at 03:30, a systemd timer skips the day); no day loses its digest, and the
  slots an hour-long gap swallows run once, at the jump.

Debian's cron (and cronsim) keeps that rule for jobs at set times; a job with `*` in its
minute or hour runs by the new clock instead, twice in the repeated hour. digest keeps one
rule for every schedule, an hourly one too (`0 * * * *` runs 02:00 +02:00, then 03:00
+01:00): `*` there is handed to cronsim as the field's whole range, which reads the same.

`SlotScheduler` hands each slot to an APScheduler `BlockingScheduler` as a job at that
instant that runs that slot (the next slot is planned when a job starts). It catches up a
missed slot at start-up from the state (APScheduler's job store is in memory and forgets),
skips a slot already in the state, waits for a manual run that holds the state, and on
SIGTERM/SIGINT lets the run in progress finish, then returns.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, TextIO
from zoneinfo import ZoneInfo

from apscheduler.events import (
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    EVENT_SCHEDULER_STARTED,
    JobExecutionEvent,
    JobSubmissionEvent,
    SchedulerEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.date import DateTrigger
from cronsim import CronSim, CronSimError

from . import pipeline
from .config import Config
from .cron import cron_expression
from .errors import ConfigError, DigestError, LockedError, UsageError
from .state import Store
from .state import lock as state_lock
from .state.exactly_once import slot_has_run
from .state.models import RunStatus

if TYPE_CHECKING:
    from .report import RunReport

RunFunc = Callable[[Config, str], "RunReport"]

NOW_TOLERANCE = timedelta(seconds=60)  # `--slot now` 59 s before a slot means that slot
ON_TIME_SECONDS = 300  # with `catch_up: none`, a slot started later than this is skipped
LOCK_RETRY_SECONDS = 5.0  # a slot that finds a manual run holding the state tries again...
LOCK_PATIENCE_SECONDS = 3600.0  # ...for at most this long
HORIZON = timedelta(days=366 * 16)  # how far back to look for the latest slot
# Arithmetic on aware times is done in UTC: in the zone it is wall-clock arithmetic, which
# drops `fold` (the second 02:30 of the night clocks go back becomes the first).
TINY = timedelta(microseconds=1)
MISSED_COUNT_CAP = 1000
TICK_SECONDS = 60  # the scheduler looks at the wall clock at least this often
SLOT_JOB = "digest"


# --- slots ---------------------------------------------------------------------------------


class Cadence:
    """The slots of a cron schedule in a time zone, in order, each once, as cronsim finds them.

    `expression` is as `cron.cron_expression` returns it; six fields with seconds first are
    taken too (tests run per-second cadences; cronsim keeps its set-time rule for five).
    """

    def __init__(self, expression: str, timezone: str | tzinfo):
        self.expression = expression
        self.tz = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
        fields = expression.split()
        if len(fields) == 5:  # `*` as the whole range: the set-time rule for every schedule
            fields[0] = fields[0].replace("*", "0-59")
            fields[1] = fields[1].replace("*", "0-23")
        self._cron = " ".join(fields)

    @classmethod
    def from_cron(cls, expression: str, timezone: str | tzinfo) -> Cadence:
        """A standard five-field cron expression (0 and 7 = Sunday) in `timezone`."""
        return cls(cron_expression(expression), timezone)

    @classmethod
    def from_config(cls, config: Config) -> Cadence:
        return cls.from_cron(config.schedule, config.tz)

    def parse(self, text: str, option: str) -> datetime:
        """An ISO 8601 time with offset, or without (a wall-clock time in the zone: the first
        of two when clocks go back); a UsageError naming `option` if it is not one."""
        moment = self.wall_or_moment(text, option)
        return moment.replace(tzinfo=self.tz) if moment.tzinfo is None else moment

    def wall_or_moment(self, text: str, option: str) -> datetime:
        """An ISO 8601 time as written: naive (a wall-clock time) or aware, in the zone."""
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            raise UsageError(
                f"{option}: {text!r} is not an ISO 8601 time",
                "e.g. 2026-10-24T07:00 (in the config's timezone) or 2026-10-24T07:00+02:00",
            ) from None
        if not 1900 <= moment.year <= 9000:  # as --as-of: no slot was or will be there
            raise UsageError(f"{option}: {text!r} is outside the years 1900 to 9000")
        return moment if moment.tzinfo is None else moment.astimezone(self.tz)

    def slot_of(self, wall: datetime) -> datetime | None:
        """The slot of a wall-clock time (naive) the schedule matches, wherever cronsim puts
        it (the first 02:30 of two; the jump for one that does not exist); None if the
        schedule does not match that time."""
        before = wall.replace(fold=0) - timedelta(seconds=1)
        try:
            if next(CronSim(self._cron, before), None) != wall.replace(fold=0):
                return None
            return next(CronSim(self._cron, before.replace(tzinfo=self.tz)), None)
        except CronSimError:
            return None

    def _from(self, moment: datetime) -> Iterator[datetime]:
        """The slots strictly after `moment` (aware), in order. cronsim counts from the
        moment's wall-clock time, so from inside a repeated hour it also hands back slots of
        the first pass through it: those are behind us and left out."""
        last = moment
        try:
            for slot in CronSim(self._cron, moment.astimezone(self.tz)):
                if slot > last:
                    last = slot
                    yield slot
        except (CronSimError, OverflowError):  # past the year 9999, datetime's last
            return

    def next_after(self, moment: datetime) -> datetime | None:
        """The first slot strictly after `moment` (aware); None if the schedule never fires.

        Never a slot at or before `moment`: the guard APScheduler's #1021 asks for."""
        return next(self._from(moment), None)

    def slots_between(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """The slots s with start < s <= end, in order."""
        for slot in self._from(start):
            if slot > end:
                return
            yield slot

    def latest_at_or_before(self, moment: datetime) -> datetime | None:
        """The last slot at or before `moment`; None if there is none within 16 years."""
        window = timedelta(minutes=1)
        utc = moment.astimezone(UTC)
        while window <= HORIZON:
            last = deque(self.slots_between(utc - window, moment), maxlen=1)
            if last:
                return last[0]
            window *= 2
        return None

    def is_slot(self, moment: datetime) -> bool:
        return self.next_after(moment.astimezone(UTC) - TINY) == moment


def slot_key(slot: datetime) -> str:
    """The slot's key in the state: ISO 8601 with the zone's offset."""
    return slot.isoformat()


def _never(config: Config) -> ConfigError:
    return ConfigError(
        f"the schedule {config.schedule!r} never fires",
        str(config.path),
        key="schedule",
        hint="check the day of month against the month (e.g. 31 in February)",
    )


def next_slots(config: Config, n: int, after: str | None = None) -> list[datetime]:
    """The next `n` slots after `after` (ISO; naive = in the config's zone) or after now."""
    cadence = Cadence.from_config(config)
    moment = cadence.parse(after, "--after") if after else datetime.now(config.tz)
    slots: list[datetime] = []
    while len(slots) < n:
        slot = cadence.next_after(moment)
        if slot is None:
            break
        slots.append(slot)
        moment = slot
    if not slots:
        raise _never(config)
    return slots


def resolve_slot(config: Config, text: str, now: datetime | None = None) -> str:
    """The slot key for `run --slot TEXT`.

    "now" is the latest slot at or before now (+60 s, for a timer that fires a little
    early), so a timer that fires twice, or is started again, names the same slot. An ISO
    time must be a slot of the schedule; the repeated 02:30 of a night when clocks go back
    names the same slot as the first.
    """
    cadence = Cadence.from_config(config)
    current = (now or datetime.now(config.tz)).astimezone(UTC)
    latest = _slot_now(cadence, current)
    if text.strip().lower() == "now":
        if latest is None:
            raise UsageError(f"--slot now: the schedule {config.schedule!r} has no past slot")
        return slot_key(latest)
    named = cadence.wall_or_moment(text, "--slot")
    slot = cadence.slot_of(named.replace(tzinfo=None))
    if slot is None:  # a slot where the clock jumped forward, named as `schedule` lists it
        moment = cadence.parse(text, "--slot").astimezone(UTC)
        jump = cadence.next_after(moment - timedelta(seconds=1))
        slot = jump if jump == moment else None
    if slot is None:
        moment = cadence.parse(text, "--slot")
        around = [cadence.latest_at_or_before(moment), cadence.next_after(moment)]
        raise UsageError(
            f"--slot: {text} is not a time of the schedule {config.schedule!r} "
            f"in {config.timezone}",
            "the slots around it: "
            + " and ".join(slot_key(s) for s in around if s is not None)
            + "; or pass --slot now",
        )
    if slot > current and slot != latest:
        raise UsageError(
            f"--slot: {text} is in the future; a run serves a slot that has come",
            (
                f"the latest slot at or before now is {slot_key(latest)}"
                if latest is not None
                else f"the schedule {config.schedule!r} has no past slot"
            )
            + "; or pass --slot now",
        )
    return slot_key(slot)


def _slot_now(cadence: Cadence, now: datetime) -> datetime | None:
    """The slot a run started at `now` serves: the latest at or before now, or the next one
    when it is less than NOW_TOLERANCE away (a timer that fires a little early), unless the
    slots are so close (a per-minute schedule) that "early" cannot be told from "late"."""
    latest = cadence.latest_at_or_before(now)
    upcoming = cadence.next_after(now)
    if upcoming is not None and upcoming - now <= NOW_TOLERANCE:
        if latest is None or upcoming - latest > 2 * NOW_TOLERANCE:
            return upcoming
    return latest


def recorded_slots(config: Config, cadence: Cadence) -> list[datetime]:
    """The slots the state has runs for (any status), as instants."""
    with Store.for_config(config, readonly=True) as store:
        texts = store.recorded_slots()
    slots = []
    for text in texts:
        with contextlib.suppress(UsageError):
            slots.append(cadence.parse(text, "slot"))
    return slots


# --- logs ----------------------------------------------------------------------------------


class SlotLog:
    """One line per slot (and per scheduler event), to stderr: key=value text or JSON."""

    def __init__(self, stream: TextIO | None = None, json_lines: bool = False):
        self.stream = stream or sys.stderr
        self.json_lines = json_lines
        self._lock = threading.RLock()

    def slot(
        self,
        slot: str,
        status: str,
        chosen: int = 0,
        sent: int = 0,
        failed: int = 0,
        duration: float = 0.0,
        message: str | None = None,
    ) -> None:
        fields: dict[str, object] = {
            "slot": slot,
            "status": status,
            "chosen": chosen,
            "sent": sent,
            "failed": failed,
        }
        if self.json_lines:
            self._write({"event": "slot", **fields, "duration": round(duration, 3)}, message)
        else:
            self._write({**fields, "duration": f"{duration:.2f}s"}, message)

    def event(self, event: str, **fields: object) -> None:
        message = fields.pop("message", None)
        self._write({"event": event, **fields}, message)

    def _write(self, fields: dict[str, object], message: object) -> None:
        if message:
            fields["message"] = str(message)
        if self.json_lines:
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            line = json.dumps({"time": stamp, **fields}, ensure_ascii=False, default=str)
        else:
            line = " ".join(f"{key}={_text_value(value)}" for key, value in fields.items())
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()


def _text_value(value: object) -> str:
    text = str(value)
    if text and not any(c.isspace() or c in "\"'=" for c in text):
        return text
    return json.dumps(text, ensure_ascii=False)


# --- one scheduler per state ---------------------------------------------------------------


def schedule_lock(state: str | os.PathLike[str], password_env: str | None = None):
    """One scheduler per state (the state layer's one lock); a second one is refused."""
    return state_lock.schedule_lock(state, password_env)


# --- the scheduler -------------------------------------------------------------------------


@dataclass
class SlotResult:
    """What became of one slot, for its log line: a run's status (RunStatus) or the
    scheduler's own word for a slot it did not run (skipped, already-ran, busy, error,
    crashed)."""

    status: str
    chosen: int = 0
    sent: int = 0
    failed: int = 0
    message: str | None = None


def _tick() -> None:
    """Nothing: a job that keeps the scheduler's wait short (see `serve`)."""


def _pipeline_run(config: Config, slot: str) -> RunReport:
    return pipeline.run(config, slot=slot)


class SlotScheduler:
    """Runs each slot of the config's schedule once, through the pipeline.

    `cadence`, `clock` and `run` are there for tests (a per-second cadence, a fixed "now",
    a stand-in for the pipeline).
    """

    def __init__(
        self,
        config: Config,
        *,
        cadence: Cadence | None = None,
        clock: Callable[[], datetime] | None = None,
        run: RunFunc | None = None,
        log: SlotLog | None = None,
        retry_seconds: float = LOCK_RETRY_SECONDS,
        patience_seconds: float = LOCK_PATIENCE_SECONDS,
    ):
        self.config = config
        self.cadence = cadence or Cadence.from_config(config)
        self.clock = clock or (lambda: datetime.now(config.tz))
        self.run = run or _pipeline_run
        self.log = log or SlotLog()
        self.retry_seconds = retry_seconds
        self.patience_seconds = patience_seconds
        self._stopping = threading.Event()
        self._started = threading.Event()  # the scheduler runs, or will never run
        self._running = threading.Lock()  # held while a slot runs
        self._scheduler: BlockingScheduler | None = None

    # --- one slot ------------------------------------------------------------------------

    def run_slot(self, slot: datetime) -> str:
        """Run one slot unless the state has it already; log one line; return its status."""
        key = slot_key(slot)
        began = time.monotonic()
        with self._running:
            if self._stopping.is_set():
                outcome = SlotResult("skipped", message="stopping: not started")
            else:
                outcome = self._attempt(key)
        self.log.slot(
            key,
            outcome.status,
            outcome.chosen,
            outcome.sent,
            outcome.failed,
            time.monotonic() - began,
            outcome.message,
        )
        return outcome.status

    def _attempt(self, key: str) -> SlotResult:
        deadline = time.monotonic() + self.patience_seconds
        waiting = False
        while True:
            try:
                if self._has_run(key):
                    return SlotResult(
                        RunStatus.ALREADY_RAN, message="the state has a run for this slot"
                    )
                return self._outcome(key, self.run(self.config, key))
            except LockedError as e:
                if self._has_run(key):  # another process took this very slot meanwhile
                    return SlotResult(
                        RunStatus.ALREADY_RAN, message="the state has a run for this slot"
                    )
                if time.monotonic() >= deadline:
                    return SlotResult("busy", message=f"{e.message}; gave up waiting")
                if not waiting:
                    self.log.event("waiting", slot=key, message=e.message)
                    waiting = True
                if self._stopping.wait(self.retry_seconds):
                    return SlotResult("skipped", message="stopping while waiting for the state")
            except DigestError as e:
                return SlotResult("error", *self._what_went_out(key), message=str(e))
            except Exception as e:  # a bug: say so, keep the schedule going
                # in the log's own form: a raw traceback broke --json-logs' one object a line
                self.log.event("traceback", slot=key, message=traceback.format_exc().strip())
                return SlotResult("crashed", *self._what_went_out(key), f"{type(e).__name__}: {e}")

    def _has_run(self, key: str) -> bool:
        with Store.for_config(self.config, readonly=True) as store:
            return slot_has_run(store, key)

    def _what_went_out(self, key: str) -> tuple[int, int, int]:
        """What a run that stopped early did for the slot (its issue's articles, the messages
        it sent and failed), as `history` counts them: a run can fail after its readers got
        the digest, and the slot's line said "sent=0". Counts only: no reader is listed."""
        try:
            with Store.for_config(self.config, readonly=True) as store:
                out = store.went_out(key)
        except DigestError:  # the state itself is what failed
            return 0, 0, 0
        if out is None:
            return 0, 0, 0
        return out.articles or 0, out.sent, out.failed

    def _outcome(self, key: str, report: RunReport) -> SlotResult:
        """The slot's result; the run's warnings (a broken feed, an archive not updated) and
        the readers it did not reach each a log line first, as `digest run` prints them."""
        for warning in [*report.warnings, *report.not_reached]:
            self.log.event("warning", slot=key, message=warning)
        tally = report.tally  # the message says what finishing earlier issues did
        return SlotResult(
            str(report.status), report.chosen, tally.own_sent, tally.own_failed, report.message
        )

    # --- start-up ------------------------------------------------------------------------

    def catch_up(self) -> datetime:
        """After downtime: run the latest missed slot once (`catch_up: latest`) or none.

        Missed means: after the last slot the state records, at or before now. With no
        slot recorded yet nothing counts as missed. Returns the "now" it used, from which
        the live schedule continues.
        """
        now = self.clock()
        last = max(recorded_slots(self.config, self.cadence), default=None)
        latest = self.cadence.latest_at_or_before(now)
        if last is None or latest is None or latest <= last:
            return now
        missed = 0
        for _ in self.cadence.slots_between(last, now):
            missed += 1
            if missed >= MISSED_COUNT_CAP:
                break
        count = f"{missed}+" if missed >= MISSED_COUNT_CAP else missed
        if self.config.catch_up == "none":
            self.log.event("catch-up", missed=count, last=slot_key(last), action="none")
        else:
            self.log.event(
                "catch-up", missed=count, last=slot_key(last), action="run", slot=slot_key(latest)
            )
            self.run_slot(latest)
        return now

    # --- the live schedule ---------------------------------------------------------------

    def serve(self, after: datetime) -> None:
        """Run the slots after `after` until `request_stop`; returns when the run in
        progress (if any) has finished."""
        if self._stopping.is_set():  # asked to stop during catch-up
            self._started.set()
            self.log.event("stopped")
            return
        first = self.cadence.next_after(after)
        if first is None:
            raise _never(self.config)
        logging.getLogger("apscheduler").setLevel(logging.ERROR)  # we log missed slots
        scheduler = BlockingScheduler(
            timezone=self.cadence.tz, executors={"default": ThreadPoolExecutor(2)}
        )
        scheduler.add_listener(self._on_started, EVENT_SCHEDULER_STARTED)
        scheduler.add_listener(
            self._on_slot_event, EVENT_JOB_SUBMITTED | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES
        )
        self._scheduler = scheduler
        self._plan(first)  # in the past if catch-up ran long: then it runs at once
        # Python waits on the monotonic clock, which stands still while the machine sleeps:
        # a wait computed before a suspend would fire hours late. Wake up every minute.
        scheduler.add_job(_tick, "interval", seconds=TICK_SECONDS, id="tick", coalesce=True)
        self.log.event(
            "started",
            schedule=self.config.schedule,
            timezone=str(self.cadence.tz),
            catch_up=self.config.catch_up,
            next=slot_key(first),
            pid=os.getpid(),
        )
        scheduler.start()  # blocks until request_stop shuts it down
        with self._running:  # the run in progress, if any, has finished
            pass
        self.log.event("stopped")

    def request_stop(self, reason: str = "stop") -> None:
        """Start no new slot; end the schedule once the run in progress has finished."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self.log.event("stopping", reason=reason)
        self._started.wait()
        if self._scheduler is not None:
            with contextlib.suppress(SchedulerNotRunningError):
                self._scheduler.shutdown(wait=False)

    def _plan(self, slot: datetime) -> None:
        """One job for APScheduler: at the slot's instant, run that slot. One job id for all
        slots, so a slot that comes while the previous one still runs is skipped."""
        assert self._scheduler is not None
        self._scheduler.add_job(
            self._fire,
            trigger=DateTrigger(slot),
            args=(slot,),
            id=SLOT_JOB,
            name=f"digest slot {slot_key(slot)}",
            replace_existing=True,
            max_instances=1,
            misfire_grace_time=None if self.config.catch_up == "latest" else ON_TIME_SECONDS,
        )

    def _fire(self, slot: datetime) -> None:
        upcoming = self.cadence.next_after(slot)
        now = self.clock()
        if upcoming is not None and upcoming <= now:
            # Started after the next slot came (the machine slept through it): like
            # catch-up, the latest slot that came runs, once.
            slot = self.cadence.latest_at_or_before(now) or slot
        self.run_slot(slot)

    def _on_started(self, event: SchedulerEvent) -> None:
        self._started.set()

    def _on_slot_event(self, event: JobExecutionEvent | JobSubmissionEvent) -> None:
        if event.job_id != SLOT_JOB:
            return
        if isinstance(event, JobExecutionEvent):  # missed: later than the grace time
            late = datetime.now(UTC) - event.scheduled_run_time
            self.log.slot(
                slot_key(event.scheduled_run_time.astimezone(self.cadence.tz)),
                "missed",
                message=f"{late.total_seconds():.0f}s late and catch_up is none",
            )
            return
        slot = event.scheduled_run_times[-1].astimezone(self.cadence.tz)
        if event.code == EVENT_JOB_MAX_INSTANCES:
            self.log.slot(
                slot_key(slot), "skipped", message="the previous slot's run is still going"
            )
        self._plan_after(slot)

    def _plan_after(self, slot: datetime) -> None:
        """The next slot after this one, or after now if this one came late. With `catch_up:
        none`, the slots the process slept through (a suspended machine) are each a `missed`
        line, but the latest that came, when it is still on time, runs."""
        now = self.clock()
        upcoming = self.cadence.next_after(max(slot, now))
        if self.config.catch_up == "none" and now > slot:
            passed = list(self.cadence.slots_between(slot, now))
            if passed and (now - passed[-1]).total_seconds() <= ON_TIME_SECONDS:
                upcoming = passed.pop()
            for late in passed:
                self.log.slot(slot_key(late), "missed", message="passed while the process slept")
        if upcoming is not None and not self._stopping.is_set():
            self._plan(upcoming)

    # --- signals -------------------------------------------------------------------------

    @contextlib.contextmanager
    def signals(self) -> Iterator[None]:
        """SIGTERM and SIGINT ask for a stop. The handler only writes a byte to a pipe (no
        locks in a signal handler); a helper thread reads it and stops the scheduler."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)
        names: list[str] = []

        def handler(signum: int, frame: object) -> None:
            names.append(signal.Signals(signum).name)
            with contextlib.suppress(OSError):
                os.write(write_end, b"!")

        def stopper() -> None:
            try:
                signalled = os.read(read_end, 1)
            finally:
                os.close(read_end)
            if signalled:
                self.request_stop(names[0] if names else "signal")

        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
        threading.Thread(target=stopper, name="digest-stopper", daemon=True).start()
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)
            os.close(write_end)  # the stopper reads b"" and ends


def run_forever(
    config: Config,
    json_logs: bool = False,
    *,
    cadence: Cadence | None = None,
    clock: Callable[[], datetime] | None = None,
    run: RunFunc | None = None,
    stream: TextIO | None = None,
) -> None:
    """`digest schedule`: catch up, then run every slot until SIGTERM/SIGINT.

    Refused (LockedError) while another scheduler holds the same state.
    """
    scheduler = SlotScheduler(
        config, cadence=cadence, clock=clock, run=run, log=SlotLog(stream, json_logs)
    )
    with schedule_lock(config.state, config.state_password_env), scheduler.signals():
        scheduler.serve(after=scheduler.catch_up())
