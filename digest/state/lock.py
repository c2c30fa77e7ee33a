"""The one lock of the state: "only one of these at a time", across processes.

SQLite state: an OS lock (flock) on a file beside the state (beside the file a link names),
`<state>.lock` for runs and `<state>.schedule.lock` for the scheduler; it holds the holder's
pid, and is freed even on kill -9. A hard link is another name the lock cannot tell.
`digest serve` holds `<state>.serve.lock` shared (several may serve one state); `state copy`
takes all three, so it is refused while anything that keeps the file open runs.
PostgreSQL state: runs need no lock (senders share the work row by row, see exactly_once.py);
a scheduler holds an advisory lock, one per machine, on its own connection, freed by the
server when the process dies.
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import LockedError, StateError
from .db import cannot_write
from .postgres import PostgresDb, lock_key
from .sqlite import RUN_LOCK, check_ours, lock_path
from .store import is_url

SCHEDULE_LOCK = ".schedule.lock"
SERVE_LOCK = ".serve.lock"
PID_WIDTH = 10  # digits of the largest pid Linux gives (2**22) and then some


def _run_refusal(state: str, path: Path, holder: str) -> LockedError:
    return LockedError(
        f"another digest run is using {state} (pid {holder})", "wait for it to finish, or stop it"
    )


def _schedule_refusal(state: str, path: Path | str, holder: str) -> LockedError:
    """`holder`: the pid the lock file holds, or (PostgreSQL) where the holder runs."""
    who = f"pid {holder}" if holder.isdigit() or holder == "unknown" else holder
    return LockedError(
        f"another `digest schedule` ({who}) is already running on {state}: it holds {path}",
        "stop that one first (SIGTERM lets its run finish), or use another `state:`",
    )


@contextmanager
def file_lock(
    state: str | os.PathLike[str],
    suffix: str,
    refusal: Callable[[str, Path, str], LockedError],
    wait: bool = False,
    shared: bool = False,
) -> Iterator[Path]:
    path = lock_path(state, suffix)
    try:
        if Path(state).is_file() and Path(state).stat().st_size > 0:
            check_ours(Path(state))  # no lock file beside something not ours
        path.parent.mkdir(parents=True, exist_ok=True)
        # not "a": O_APPEND makes pwrite append, so several shared holders' pids ran together
        handle = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o666), "r+")
    except OSError as e:
        raise StateError(
            f"{path}: cannot make the lock file beside the state ({e.strerror})",
            "check `state:` and the folder's permissions",
        ) from None
    with handle:
        try:
            kind = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
            fcntl.flock(handle, kind | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise refusal(str(state), path, holder) from None
        try:  # unbuffered: a full disk fails here, and not again when the file is closed
            pid = str(os.getpid())
            if shared:  # as wide as any pid: the last holder to start overwrites it whole
                pid = pid.ljust(PID_WIDTH)
            else:
                os.ftruncate(handle.fileno(), 0)
            os.pwrite(handle.fileno(), pid.encode(), 0)
        except OSError as e:
            raise cannot_write(str(path), e) from None
        try:
            yield path
        finally:
            if not shared:  # (a shared holder leaves the pid of the last one to start)
                os.ftruncate(handle.fileno(), 0)
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def run_lock(state: str | os.PathLike[str], wait: bool = False) -> Iterator[None]:
    """One digest run at a time per SQLite state file; nothing on PostgreSQL, where several
    senders work at once."""
    if is_url(state):
        yield None
        return
    with file_lock(state, RUN_LOCK, _run_refusal, wait):
        yield None


@contextmanager
def schedule_lock(
    state: str | os.PathLike[str], password_env: str | None = None
) -> Iterator[Path | str]:
    """One scheduler per state (PostgreSQL: per machine); a second one is refused."""
    if not is_url(state):
        with file_lock(state, SCHEDULE_LOCK, _schedule_refusal) as path:
            yield path
        return
    db = PostgresDb.open(str(state), False, password_env)
    name = f"schedule:{socket.gethostname()}"
    try:
        if not db.try_session_lock(lock_key(name)):
            raise _schedule_refusal(db.where, f"the advisory lock {name!r}", "on this machine")
        try:
            yield f"{db.where} ({name})"
        finally:
            db.session_unlock(lock_key(name))
    finally:
        db.close()


def _copy_refusal(who: str) -> Callable[[str, Path, str], LockedError]:
    """`state copy` refused while `who` keeps the file open: it would go on with the file
    after the copy (a reader's unsubscribe taken into it would never reach the copy's runs)."""

    def refusal(state: str, path: Path, holder: str) -> LockedError:
        return LockedError(
            f"`digest {who}` (pid {holder}) is using {state}: after the copy it would go on "
            "with this file, not the copy",
            f"stop it, copy, point `state:` at the copy, then start `digest {who}` again",
        )

    return refusal


@contextmanager
def copy_lock(state: str | os.PathLike[str]) -> Iterator[None]:
    """No run, scheduler or `digest serve` on the SQLite state while it is copied."""
    with (
        run_lock(state),
        file_lock(state, SCHEDULE_LOCK, _copy_refusal("schedule")),
        file_lock(state, SERVE_LOCK, _copy_refusal("serve")),
    ):
        yield None


@contextmanager
def serve_lock(state: str | os.PathLike[str]) -> Iterator[None]:
    """Held shared by `digest serve` on a SQLite state for its lifetime (see copy_lock)."""
    if is_url(state):
        yield None
        return
    with file_lock(state, SERVE_LOCK, _copying, shared=True):
        yield None


def _copying(state: str, path: Path, holder: str) -> LockedError:
    return LockedError(
        f"`digest state copy` (pid {holder}) is copying {state}",
        "start `digest serve` once it is done, with `state:` naming the copy",
    )
