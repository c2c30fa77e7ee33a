"""What the tests' private servers share: a free loopback port, waiting for a server to
listen, and whether a Debian daemon (Postfix, Dovecot) can be started here."""

from __future__ import annotations

import os
import pwd
import socket
import time
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int, seconds: float = 20) -> bool:
    """Whether something accepts connections on 127.0.0.1:`port` within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def daemon_missing(program: str, name: str, package: str, user: str) -> str | None:
    """Why the daemon `program` (`name` in messages, from Debian's `package`, running as
    `user`) cannot be started here; None: it can."""
    if not Path(program).exists():
        return f"{name.lower()} is not installed (apt-get install {package}; .ci/run does)"
    if os.geteuid() != 0:
        return f"starting {name} needs root"
    try:
        pwd.getpwnam(user)
    except KeyError:
        return f"the {user} user does not exist"
    return None
