"""One error hierarchy. Each error says what is wrong and, where it can, what to do next.

The CLI turns a DigestError into one line on stderr and its exit code; nothing else
should reach the user as a traceback for an input or configuration problem.
"""

from __future__ import annotations


def reason(error: BaseException | str) -> str:
    """What a library's exception (or its message) says, on one line for a message (its
    type's name when it says nothing)."""
    return " ".join(str(error).split()) or type(error).__name__


class DigestError(Exception):
    """Base for every error the user can act on."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class ConfigError(DigestError):
    """The configuration file is missing, unreadable or has a bad value."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        path: str | None = None,
        line: int | None = None,
        key: str | None = None,
        hint: str | None = None,
    ):
        where = ""
        if path:
            where = f"{path}:{line}" if line else str(path)
        if key:
            where = f"{where}: {key}" if where else key
        super().__init__(f"{where}: {message}" if where else message, hint)
        self.path, self.line, self.key = path, line, key
        self.what = message  # what is wrong, without where


class UsageError(DigestError):
    exit_code = 2


class InputError(DigestError):
    """Nothing at all could be read from the given sources."""

    exit_code = 2


class SourcesError(DigestError):
    """A run could read none of its configured sources: the run failed (a feed may be down)."""

    exit_code = 1


class StateError(DigestError):
    """The state file cannot be used (not SQLite, damaged, from a newer version)."""

    exit_code = 2


class DeliveryError(DigestError):
    """The run could not deliver (relay refused everything, authentication failed)."""

    exit_code = 1


class ReadersDeferred(DeliveryError):
    """The relay deferred (or refused the message for) several readers in a row: unwell for
    today's readers; readers it deferred in an earlier run, retried last and together, say
    nothing of the others."""


class LockedError(DigestError):
    """Another digest process holds the state."""

    exit_code = 1


class SlotDoneError(LockedError):
    """The slot already has a run in the state: nothing to do, and not a failure."""

    exit_code = 0
