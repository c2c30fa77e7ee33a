"""A private Postfix instance for the tests: its own config, queue and mailboxes in a temporary
folder, listening on a free port of 127.0.0.1 only (`inet_interfaces = loopback-only`),
started with `postfix -c DIR start` and stopped with `stop`. Debian's postfix package
provides the binaries (.ci/run installs it, with no system configuration).

Its domains, so that it bounces for real:
- `local.test`: local delivery; an unknown user is refused at RCPT (550 5.1.1);
- `remote.test`: relayed to `relay_port` (an aiosmtpd server of the test), whose refusals come
  back as DSNs, asynchronously, to the envelope sender;
- `bounce.test`: a Maildir, `mail/bounces/`, where every `bounces+...@bounce.test` lands
  (recipient_delimiter `+`: the VERP address).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from loopback import daemon_missing, free_port, listening

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"


def available() -> str | None:
    """Why a private Postfix cannot run here (None: it can)."""
    return daemon_missing(POSTFIX, "Postfix", "postfix", "postfix")


class Postfix:
    def __init__(self, relay_port: int, mynetworks: str = "127.0.0.0/8", settings: str = ""):
        # mynetworks: the clients it relays for (another one: `554 5.7.1 Relay access denied`);
        # settings: more lines of main.cf
        # not under pytest's tmp_path: Postfix's own processes (user postfix) must reach it
        self.root = Path(tempfile.mkdtemp(prefix="digest-postfix-"))
        self.root.chmod(0o755)
        self.port = free_port()
        self.relay_port = relay_port
        self.mynetworks = mynetworks
        self.settings = settings
        self.etc = self.root / "etc"
        self.maildir = self.root / "mail" / "bounces"
        self.log = self.root / "maillog"

    def start(self) -> Postfix:
        user = pwd.getpwnam("postfix")
        for name in ("etc", "spool", "data", "mail"):
            (self.root / name).mkdir()
        for name in ("data", "mail"):
            os.chown(self.root / name, user.pw_uid, user.pw_gid)
        master = Path("/etc/postfix/master.cf").read_text()
        lines = [ln for ln in master.splitlines() if not ln.startswith("smtp      inet")]
        lines.append(f"127.0.0.1:{self.port} inet n - n - - smtpd")
        (self.etc / "master.cf").write_text("\n".join(lines) + "\n")
        (self.etc / "main.cf").write_text(
            f"""compatibility_level = 3.6
queue_directory = {self.root}/spool
data_directory = {self.root}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.digest.test
mydomain = digest.test
myorigin = $myhostname
mydestination = local.test
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = {self.mynetworks}
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
relay_domains = remote.test
transport_maps = inline:{{ remote.test=smtp:[127.0.0.1]:{self.relay_port} }}
local_recipient_maps = proxy:unix:passwd.byname
alias_maps =
alias_database =
virtual_mailbox_domains = bounce.test
virtual_mailbox_base = {self.root}/mail
virtual_mailbox_maps = inline:{{ bounces@bounce.test=bounces/ }}
virtual_uid_maps = static:{user.pw_uid}
virtual_gid_maps = static:{user.pw_gid}
recipient_delimiter = +
smtp_dns_support_level = disabled
maillog_file_prefixes = {self.root}
maillog_file = {self.log}
biff = no
smtputf8_enable = no
{self.settings}"""
        )
        result = subprocess.run(
            [POSTFIX, "-c", str(self.etc), "start"], capture_output=True, text=True, timeout=60
        )
        if listening(self.port):
            return self
        log = self.log.read_text() if self.log.exists() else ""
        raise RuntimeError(f"postfix did not start: {result.stderr}{log[-2000:]}")

    def wait_for_bounce(self, count: int = 1, timeout: float = 30) -> list[Path]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            new = (
                sorted((self.maildir / "new").glob("*")) if (self.maildir / "new").is_dir() else []
            )
            if len(new) >= count:
                return new
            time.sleep(0.2)
        log = self.log.read_text() if self.log.exists() else ""
        raise AssertionError(f"no bounce arrived; the mail log:\n{log[-3000:]}")

    def stop(self) -> None:
        subprocess.run([POSTFIX, "-c", str(self.etc), "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)
