"""A private Dovecot IMAP server for the tests: IMAP over TLS only (a trustme certificate), one
password for every user, Maildirs in a temporary folder; `dovecot -c CONF` starts it on a
free loopback port, `dovecot -c CONF stop` stops it. Debian's dovecot-imapd provides it
(.ci/run installs it; the system's own Dovecot is not started)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from loopback import daemon_missing, free_port, listening

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
PASSWORD = "imap-test-password"


def available() -> str | None:
    """Why a private Dovecot cannot run here (None: it can)."""
    return daemon_missing(DOVECOT, "Dovecot", "dovecot-imapd", "dovecot")


class Dovecot:
    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="digest-dovecot-"))
        self.root.chmod(0o755)
        self.port = free_port()
        self.conf = self.root / "dovecot.conf"
        self.ca_file = self.root / "ca.pem"

    def start(self) -> Dovecot:
        import trustme

        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        ca.cert_pem.write_to_path(str(self.ca_file))
        cert.private_key_pem.write_to_path(str(self.root / "key.pem"))
        cert.cert_chain_pems[0].write_to_path(str(self.root / "cert.pem"))
        (self.root / "mail").mkdir()
        user = pwd.getpwnam("dovecot")
        os.chown(self.root / "mail", user.pw_uid, user.pw_gid)
        self.conf.write_text(
            f"""base_dir = {self.root}/run
state_dir = {self.root}/state
instance_name = digest-test-{self.port}
protocols = imap
listen = 127.0.0.1
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {self.port}
    ssl = yes
  }}
}}
ssl = required
ssl_cert = <{self.root}/cert.pem
ssl_key = <{self.root}/key.pem
auth_mechanisms = plain
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={self.root}/mail/%u
}}
mail_location = maildir:{self.root}/mail/%u/Maildir
first_valid_uid = 1
log_path = {self.root}/log
"""
        )
        subprocess.run([DOVECOT, "-c", str(self.conf)], check=True, timeout=30)
        if listening(self.port):
            return self
        raise RuntimeError(f"dovecot did not start: {(self.root / 'log').read_text()[-2000:]}")

    def deliver(self, user: str, raw: bytes) -> None:
        """Put a message in a user's INBOX (as the mail server's delivery would)."""
        box = self.root / "mail" / user / "Maildir"
        for sub in ("new", "cur", "tmp"):
            (box / sub).mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}.digest-test"
        (box / "new" / name).write_bytes(raw)
        owner = pwd.getpwnam("dovecot")
        for path in [box.parent, box, *box.iterdir(), *(box / "new").iterdir()]:
            os.chown(path, owner.pw_uid, owner.pw_gid)

    def stop(self) -> None:
        subprocess.run([DOVECOT, "-c", str(self.conf), "stop"], capture_output=True, timeout=30)
        time.sleep(0.2)
        shutil.rmtree(self.root, ignore_errors=True)
