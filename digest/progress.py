"""Progress a person can see: one line on the terminal, redrawn in place.

    with progress.shown(enabled=not as_json):        # the CLI, around one library call
        ...
        meter = progress.meter("sending", "messages")   # a stage: None when nothing is shown
        meter(done, total)                               # after each item

Shown only while `shown()` is active and stderr is a terminal: a pipe, a log file, cron or
`--json` get nothing. Nothing is drawn for work that is over within DELAY seconds (short work
needs no progress), at most one redraw every INTERVAL seconds, plain writes with "\\r" and
"erase to end of line". Light on purpose: imported by the CLI before anything heavy.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

DELAY = 0.5  # seconds of work before the first line is drawn
INTERVAL = 0.1  # seconds between redraws: about ten a second

_stream: TextIO | None = None
_drawn: Meter | None = None  # the meter whose line is on the screen, not yet ended


@contextmanager
def shown(enabled: bool = True, stream: TextIO | None = None) -> Iterator[None]:
    """Let the meters made inside draw on `stream` (stderr) when it is a terminal."""
    global _stream
    stream = stream if stream is not None else sys.stderr
    if not enabled or not _is_terminal(stream):
        yield
        return
    previous, _stream = _stream, stream
    try:
        yield
    finally:
        _end_line()  # an error message must start on a line of its own
        _stream = previous


def meter(label: str, unit: str, clock: Callable[[], float] = time.monotonic) -> Meter | None:
    """A progress callback (done, total) for one piece of work, or None when none is shown."""
    if _stream is None:
        return None
    return Meter(label, unit, _stream, clock)


class Meter:
    """`label: done/total unit, rate unit/s, about N s left`, the last state once done."""

    def __init__(self, label: str, unit: str, stream: TextIO, clock: Callable[[], float]):
        self.label, self.unit, self.stream, self.clock = label, unit, stream, clock
        self.start = clock()
        self.last: float | None = None

    def __call__(self, done: int, total: int) -> None:
        global _drawn
        now = self.clock()
        finished = done >= total
        if self.last is None:
            if now - self.start < DELAY:
                return  # over soon, or not yet worth a line
        elif not finished and now - self.last < INTERVAL:
            return
        self.last = now
        elapsed = now - self.start
        rate = done / elapsed if elapsed > 0 else 0.0
        line = f"{self.label}: {done:,}/{total:,} {self.unit}, {_rate(rate)} {self.unit}/s"
        if finished:
            line += f", done in {_duration(elapsed)}"
        elif rate > 0:
            line += f", about {_duration((total - done) / rate)} left"
        if _drawn is not None and _drawn is not self:
            _end_line()
        self.stream.write(f"\r{line}\x1b[K" + ("\n" if finished else ""))
        self.stream.flush()
        _drawn = None if finished else self


def _end_line() -> None:
    global _drawn
    if _drawn is not None:
        _drawn.stream.write("\n")
        _drawn.stream.flush()
        _drawn = None


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


def _rate(rate: float) -> str:
    return f"{rate:,.0f}" if rate >= 10 else f"{rate:.1f}"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
