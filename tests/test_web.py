"""`digest serve` against the running server: sign-up with double opt-in, one-click unsubscribe,
preferences, and every security rule (CSRF, no enumeration, rate limits, size limits, headers,
no open redirect, GET never unsubscribes, signed tokens, no address where a token is)."""

from __future__ import annotations

import email
import email.policy
import email.utils
import http.client
import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import SAMPLE_SEEDS, digest_command
from loopback import free_port

pytestmark = pytest.mark.slow

SECRET = "test-secret-0123456789abcdef"


def write_config(
    folder: Path, port: int, extra: str = "", host: str = "127.0.0.1", path: str = "/"
) -> Path:
    config = folder / "digest.yaml"
    config.write_text(
        f"""title: Test Daily
sources: ["{SAMPLE_SEEDS}/*.txt"]
state: {folder}/state.sqlite3
web: {{url: "http://{host}:{port}{path}", secret_env: DIGEST_WEB_SECRET}}
delivery:
  from: "Test Daily <digest@example.com>"
  to: [listed@example.com]
  outbox: {folder}/outbox
{extra}""",
        encoding="utf-8",
    )
    return config


def env() -> dict:
    return {**os.environ, "DIGEST_WEB_SECRET": SECRET}


def cli(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*digest_command(), "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=env(),
        timeout=120,
    )


class Server:
    def __init__(self, folder: Path, extra: str = "", host: str = "127.0.0.1", path: str = "/"):
        """`host`, `path`: the site's name and folder in web.url (it listens on 127.0.0.1).
        A port free when asked can be taken before the server binds it (any process's
        outgoing connection may get it): the server is started again on another one."""
        self.root = quote(path)  # its pages' paths begin with this
        self.folder = folder
        for _ in range(3):
            self.port = free_port()
            self.config = write_config(folder, self.port, extra, host, path)
            if self._started():
                return
            error = self.proc.stderr.read().decode()
            if "Address already in use" not in error:
                break
        raise AssertionError(f"digest serve did not start: {error}")

    def _started(self) -> bool:
        self.proc = subprocess.Popen(
            [*digest_command(), "--config", str(self.config), "serve", "--port", str(self.port)],
            env=env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if self.request("GET", f"{self.root}healthz")[0] == 200:
                    return True
            # BadStatusLine (an HTTPException): before the server listens, a connection to a
            # port in the ephemeral range can meet itself (TCP simultaneous open) and read
            # back its own request
            except (OSError, http.client.HTTPException):
                time.sleep(0.1)
        self.stop()
        return False

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict | None = None,
        client: str = "127.0.0.1",
    ) -> tuple[int, dict, str]:
        conn = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=10, source_address=(client, 0)
        )
        try:
            data = body.encode() if isinstance(body, str) else body
            hdrs = dict(headers or {})
            if data is not None and "Content-Type" not in hdrs:
                hdrs["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=data, headers=hdrs)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            return response.status, {k.lower(): v for k, v in response.getheaders()}, text
        finally:
            conn.close()

    def form(self, path: str, client: str = "127.0.0.1") -> tuple[str, str | None]:
        """The csrf field of the form at `path`, and the cookie it set (if any)."""
        status, headers, text = self.request("GET", path, client=client)
        assert status == 200, text
        csrf = re.search(r'name="csrf" value="([^"]+)"', text)[1]
        cookie = headers.get("set-cookie", "").split(";")[0] or None
        return csrf, cookie

    def sign_up(self, address: str, client: str = "127.0.0.1", name: str = "") -> tuple[int, str]:
        csrf, cookie = self.form("/subscribe", client)
        from urllib.parse import urlencode

        status, _, text = self.request(
            "POST",
            "/subscribe",
            urlencode({"csrf": csrf, "email": address, "name": name}),
            {"Cookie": cookie},
            client,
        )
        return status, text

    def confirmations(self, address: str) -> list[str]:
        links = []
        for eml in sorted((self.folder / "outbox").glob("confirm-*.eml")):
            msg = email.message_from_bytes(eml.read_bytes())
            if email.utils.parseaddr(msg["To"])[1] == address:
                body = msg.get_payload(decode=True).decode()
                links += re.findall(r"http://\S+/confirm/\S+", body)
        return links

    def wait_confirmations(self, address: str, count: int = 1) -> list[str]:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            links = self.confirmations(address)
            if len(links) >= count:
                return links
            time.sleep(0.05)
        return self.confirmations(address)

    def readers(self) -> dict[str, dict]:
        result = cli(self.config, "readers", "list", "--json")
        assert result.returncode == 0, result.stderr
        return {r["email"]: r for r in json.loads(result.stdout)["readers"]}

    def token_of(self, address: str) -> str:
        """The signed link token as a reader's message carries it (made the way `run` does)."""
        from digest.state import Store
        from digest.tokens import Signer

        with Store.open(self.folder / "state.sqlite3", readonly=True) as store:
            token = store.readers().get(address).token
        return Signer(SECRET.encode()).reader(token)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path)
    yield s
    s.stop()


def active_reader(server: Server, address: str) -> str:
    added = cli(server.config, "readers", "add", address)
    assert added.returncode == 0, added.stderr
    return server.token_of(address)


# --- sign-up ----------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["no-such-host.invalid", ""])
def test_serve_on_a_host_that_is_no_address_exits_2_naming_it(tmp_path, host):
    """waitress raises ValueError("Invalid host/port specified.") for a name that does not
    resolve: it was a traceback, where a busy port was one line."""
    result = cli(write_config(tmp_path, 9), "serve", "--host", host, "--port", "0")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"--host {host} --port 0: cannot listen (no such address or host name)" in (
        result.stderr
    )


def test_sign_up_is_double_opt_in_and_keeps_the_proof_of_consent(server):
    status, text = server.sign_up("new@example.org", name="Ann Reader")
    assert status == 200 and "Check your inbox" in text
    reader = server.readers()["new@example.org"]
    assert reader["status"] == "pending" and reader["source"] == "web"
    assert (
        reader["consent_ip"] == "127.0.0.1"
        and reader["consent_at"]
        and reader["name"] == "Ann Reader"
    )
    [link] = server.wait_confirmations("new@example.org")
    path = link.split(str(server.port), 1)[1]
    status, _, text = server.request("GET", path)
    assert status == 200 and "You are subscribed" in text
    reader = server.readers()["new@example.org"]
    assert reader["status"] == "active" and reader["confirmed_at"]
    # the next run sends to the new reader too
    ran = cli(server.config, "run", "--json")
    assert ran.returncode == 0, ran.stderr
    assert {d["recipient"] for d in json.loads(ran.stdout)["delivered"]} == {
        "listed@example.com",
        "new@example.org",
    }


def test_a_head_request_on_the_confirmation_link_subscribes_nobody(server):
    """Mail scanners send HEAD to every link of a message: it confirmed the sign-up, so anyone
    could make a reader of an address whose mail is scanned."""
    server.sign_up("scanned@example.org")
    [link] = server.wait_confirmations("scanned@example.org")
    path = link.split(str(server.port), 1)[1]
    assert server.request("HEAD", path)[0] == 200
    assert server.request("HEAD", path[:-3] + "xyz")[0] == 404  # a bad link still says so
    assert server.readers()["scanned@example.org"]["status"] == "pending"
    assert server.request("GET", path)[0] == 200  # the reader's own click
    assert server.readers()["scanned@example.org"]["status"] == "active"


def test_the_confirmation_goes_to_the_bare_address_whatever_name_the_form_gave(server):
    """Anyone can sign up any address: the name they typed ("Win $1000 at spam.example")
    went into the To: of the confirmation mailed to that address, the old abuse of sign-up
    forms. The name is kept for the reader's digests once they confirm."""
    server.sign_up("victim@example.org", name="Win $1000 at spam.example")
    server.wait_confirmations("victim@example.org")
    [eml] = (server.folder / "outbox").glob("confirm-*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["To"] == "victim@example.org" and b"spam.example" not in eml.read_bytes()
    assert server.readers()["victim@example.org"]["name"] == "Win $1000 at spam.example"


def test_a_tampered_or_expired_confirmation_link_is_refused(server):
    from digest.tokens import CONFIRM_SECONDS, BadToken, Signer

    server.sign_up("late@example.org")
    [link] = server.wait_confirmations("late@example.org")
    path = link.split(str(server.port), 1)[1]
    token, stamp, sig = path.rsplit("/", 1)[1].split(".")
    forged = f"/confirm/{token}.{int(stamp) + 100}.{sig}"
    status, _, page = server.request("GET", forged)
    assert status == 404 and "Sign up again at http://127.0.0.1:" in page  # the way back
    assert server.readers()["late@example.org"]["status"] == "pending"
    signer = Signer(SECRET.encode())
    with pytest.raises(BadToken, match="expired"):
        signer.open_confirm(f"{token}.{stamp}.{sig}", now=int(stamp) + CONFIRM_SECONDS + 60)


def test_sign_up_answers_the_same_for_known_and_unknown_addresses(server):
    active_reader(server, "known@example.org")
    _, known = server.sign_up("known@example.org")
    _, unknown = server.sign_up("unknown@example.org")
    assert known.replace("known@", "X@") == unknown.replace("unknown@", "X@")
    # the mailer sends in order: once the later sign-up's mail is out, any for known@ is too
    assert server.wait_confirmations("unknown@example.org")
    assert server.confirmations("known@example.org") == []  # an active reader gets no mail


def test_sign_up_is_rate_limited_per_client_and_per_address(server):
    for _ in range(8):  # typos cost no sign-up (they once locked a person out after five)
        assert server.sign_up("not an address", client="127.0.0.2")[0] == 422
    for n in range(5):
        assert server.sign_up(f"a{n}@example.org", client="127.0.0.2")[0] == 200
    assert server.sign_up("a5@example.org", client="127.0.0.2")[0] == 429
    assert server.sign_up("b@example.org", client="127.0.0.3")[0] == 200  # another client
    # one address from many clients: at most 3 confirmation mails, the same answer each time
    answers = {
        server.sign_up("victim@example.org", client=f"127.0.0.{10 + n}")[1] for n in range(5)
    }
    assert len(answers) == 1
    time.sleep(1)
    assert len(server.wait_confirmations("victim@example.org", 3)) == 3


def test_a_sign_up_past_the_inbox_limit_leaves_the_links_sent_working(server):
    """A link confirms only the latest sign-up: a fourth sign-up in a day, which sends no mail,
    was stored all the same and voided the three links sent, so a reader who pressed the
    button once more (or anyone, with the address) kept them from confirming until the next
    day."""
    for n in range(3):
        assert server.sign_up("keen@example.org", client=f"127.0.0.{50 + n}")[0] == 200
    links = server.wait_confirmations("keen@example.org", 3)
    assert len(links) == 3
    time.sleep(1.1)  # the sign-up's time is kept to the second: the next one is a later one
    assert server.sign_up("keen@example.org", client="127.0.0.60")[0] == 200
    assert server.readers()["keen@example.org"]["consent_ip"] == "127.0.0.52"
    status, _, text = server.request("GET", links[-1].split(str(server.port), 1)[1])
    assert status == 200 and "You are subscribed" in text
    assert server.readers()["keen@example.org"]["status"] == "active"


def test_one_inbox_under_many_addresses_gets_at_most_3_confirmations(server):
    """victim+1@, victim+2@, ... (and at Gmail v.ictim@, vi.ctim@) all land in one inbox: each
    counted as an address of its own, and 5 clients sent it 5 confirmation mails in a row."""
    for n in range(5):
        assert server.sign_up(f"victim+{n}@example.org", client=f"127.0.0.{20 + n}")[0] == 200
        gmail = "victim"[: n + 1] + "." + "victim"[n + 1 :] + "@gmail.com"
        assert server.sign_up(gmail, client=f"127.0.0.{30 + n}")[0] == 200
    # one mail after them: the mailer sends in order, so once it is out the others are
    assert server.sign_up("last@example.net", client="127.0.0.40")[0] == 200
    assert server.wait_confirmations("last@example.net")
    sent = [
        email.utils.parseaddr(email.message_from_bytes(f.read_bytes())["To"])[1]
        for f in (server.folder / "outbox").glob("confirm-*.eml")
    ]
    assert len([a for a in sent if a.endswith("@example.org")]) == 3
    assert len([a for a in sent if a.endswith("@gmail.com")]) == 3


def test_a_folder_named_in_its_own_script_serves_its_pages(tmp_path):
    """web.url "http://127.0.0.1:PORT/новости/": every page answered 404 (the path came in
    percent-encoded, the server compared it with the letters), and List-Unsubscribe went out
    RFC 2047-encoded."""
    server = Server(tmp_path, path="/новости/")
    try:
        root = "/%D0%BD%D0%BE%D0%B2%D0%BE%D1%81%D1%82%D0%B8/"
        assert server.root == root
        status, headers, text = server.request("GET", f"{root}subscribe")
        assert status == 200 and f'action="{root}subscribe"' in text
        csrf = re.search(r'name="csrf" value="([^"]+)"', text)[1]
        cookie = headers["set-cookie"].split(";")[0]
        assert f"Path={root};" in headers["set-cookie"]
        body = f"csrf={csrf}&email=ann%40example.org"
        assert server.request("POST", f"{root}subscribe", body, {"Cookie": cookie})[0] == 200
        [link] = server.wait_confirmations("ann@example.org")
        assert link.startswith(f"http://127.0.0.1:{server.port}{root}confirm/")
        assert server.request("GET", link.split(str(server.port), 1)[1])[0] == 200
        assert server.readers()["ann@example.org"]["status"] == "active"
        assert cli(server.config, "run").returncode == 0
        [sent] = (tmp_path / "outbox").glob("*listed@example.com*.eml")
        header = email.message_from_bytes(sent.read_bytes())["List-Unsubscribe"]
        assert header.startswith(f"<http://127.0.0.1:{server.port}{root}unsubscribe/")
    finally:
        server.stop()


# --- unsubscribe --------------------------------------------------------------------------


def test_get_never_unsubscribes_and_the_button_does(server):
    token = active_reader(server, "reader@example.org")
    status, _, text = server.request("GET", f"/unsubscribe/{token}")
    assert status == 200 and "Unsubscribe" in text
    assert server.readers()["reader@example.org"]["status"] == "active"
    csrf, _ = server.form(f"/unsubscribe/{token}")
    status, _, text = server.request("POST", f"/unsubscribe/{token}", f"csrf={csrf}")
    assert status == 200 and "You are unsubscribed" in text
    assert server.readers()["reader@example.org"]["status"] == "unsubscribed"


def test_one_click_post_answers_200_without_cookie_csrf_or_redirect(server):
    token = active_reader(server, "oneclick@example.org")
    status, headers, _ = server.request(
        "POST", f"/unsubscribe/{token}", "List-Unsubscribe=One-Click"
    )
    assert status == 200
    assert "set-cookie" not in headers and "location" not in headers
    assert server.readers()["oneclick@example.org"]["status"] == "unsubscribed"


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=b"],
)
def test_one_click_as_providers_send_it_and_a_slash_after_the_token(server, content_type):
    """A link written with a slash after the token (delivery.unsubscribe_url: ".../{token}/")
    answered 404 to the one-click POST, and the reader kept getting mail."""
    token = active_reader(server, "slash@example.org")
    body = "List-Unsubscribe=One-Click"
    if content_type.startswith("multipart"):
        body = (
            '--b\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
            "One-Click\r\n--b--\r\n"
        )
    for method in ("HEAD", "GET"):  # link scanners fetch it first
        assert server.request(method, f"/unsubscribe/{token}/")[0] == 200
    assert server.readers()["slash@example.org"]["status"] == "active"
    status, headers, _ = server.request(
        "POST", f"/unsubscribe/{token}/", body, {"Content-Type": content_type}
    )
    assert status == 200 and "set-cookie" not in headers and "location" not in headers
    assert server.readers()["slash@example.org"]["status"] == "unsubscribed"


def test_a_one_click_body_ending_in_a_line_break_unsubscribes(server):
    """`List-Unsubscribe=One-Click` with a CRLF after it (a client writing the body as a
    line) was taken for a form post without its CSRF field: 403, and the reader stayed."""
    token = active_reader(server, "crlf@example.org")
    status, _, _ = server.request("POST", f"/unsubscribe/{token}", "List-Unsubscribe=One-Click\r\n")
    assert status == 200
    assert server.readers()["crlf@example.org"]["status"] == "unsubscribed"


def test_an_unsubscribed_reader_comes_back_only_through_a_new_confirmation(server):
    token = active_reader(server, "back@example.org")
    server.request("POST", f"/unsubscribe/{token}", "List-Unsubscribe=One-Click")
    refused = cli(server.config, "readers", "add", "back@example.org")
    assert refused.returncode == 2 and "confirming a new sign-up" in refused.stderr
    server.sign_up("back@example.org")
    assert server.readers()["back@example.org"]["status"] == "pending"
    [link] = server.wait_confirmations("back@example.org")
    assert server.request("GET", link.split(str(server.port), 1)[1])[0] == 200
    assert server.readers()["back@example.org"]["status"] == "active"


# --- preferences --------------------------------------------------------------------------


def test_preferences_pause_resume_rename_and_unsubscribe(server):
    import datetime as dt

    token = active_reader(server, "prefs@example.org")
    csrf, _ = server.form(f"/preferences/{token}")
    day = dt.date.today() + dt.timedelta(days=14)
    until = day.isoformat()
    status, _, text = server.request(
        "POST", f"/preferences/{token}", f"csrf={csrf}&do=pause&until={until}"
    )
    # the day as readers write it, and said once: not again as the status under it
    written = f"{day.day} {day:%B} {day.year}"
    assert status == 200 and f"Paused: nothing until {written}." in text
    assert "Paused until" not in text
    _, _, page = server.request("GET", f"/preferences/{token}")
    assert f"Paused until {written}." in page
    assert server.readers()["prefs@example.org"]["status"] == "paused"
    dry = json.loads(cli(server.config, "run", "--dry-run", "--json").stdout)
    assert "prefs@example.org" not in {d["recipient"] for d in dry["delivered"]}
    server.request("POST", f"/preferences/{token}", f"csrf={csrf}&do=resume")
    assert server.readers()["prefs@example.org"]["status"] == "active"
    server.request("POST", f"/preferences/{token}", f"csrf={csrf}&do=name&name=Bea+Reader")
    assert server.readers()["prefs@example.org"]["name"] == "Bea Reader"
    server.request("POST", f"/preferences/{token}", f"csrf={csrf}&do=unsubscribe")
    assert server.readers()["prefs@example.org"]["status"] == "unsubscribed"


def test_the_pause_form_offers_the_days_the_digests_timezone_allows(tmp_path):
    """The date field's first and last days are counted from today in `timezone`, as the
    pause is checked and ends (Store.today): counted from the machine's day, east of it the
    form offered "tomorrow" that the page then refused as a wrong date, and west of it hid
    the real tomorrow."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from digest.web import MAX_PAUSE_DAYS

    # 26 hours apart: one of them is on another day than this machine
    zone = next(
        z
        for z in ("Etc/GMT+12", "Pacific/Kiritimati")
        if dt.datetime.now(ZoneInfo(z)).date() != dt.date.today()
    )
    today = dt.datetime.now(ZoneInfo(zone)).date()
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    server = Server(tmp_path, extra=f"timezone: {zone}\n")
    try:
        token = active_reader(server, "prefs@example.org")
        _, _, page = server.request("GET", f"/preferences/{token}")
        latest = (today + dt.timedelta(days=MAX_PAUSE_DAYS)).isoformat()
        assert f'min="{tomorrow}" max="{latest}"' in page
        csrf, _ = server.form(f"/preferences/{token}")
        server.request("POST", f"/preferences/{token}", f"csrf={csrf}&do=pause&until={tomorrow}")
        assert server.readers()["prefs@example.org"]["status"] == "paused"
    finally:
        server.stop()


# --- nobody gets in where they don't belong ---------------------------------------------


def test_every_form_refuses_a_post_without_its_csrf_field(server):
    token = active_reader(server, "csrf@example.org")
    _, cookie = server.form("/subscribe")
    assert server.request("POST", "/subscribe", "email=x@example.org", {"Cookie": cookie})[0] == 403
    csrf, _ = server.form("/subscribe")  # a field without its cookie
    assert server.request("POST", "/subscribe", f"csrf={csrf}&email=x@example.org")[0] == 403
    assert server.request("POST", f"/unsubscribe/{token}", "csrf=forged")[0] == 403
    assert server.request("POST", f"/preferences/{token}", "do=unsubscribe")[0] == 403
    # a field of one form is no good for another, nor for another reader
    other = active_reader(server, "other@example.org")
    csrf_other, _ = server.form(f"/unsubscribe/{other}")
    assert server.request("POST", f"/unsubscribe/{token}", f"csrf={csrf_other}")[0] == 403
    # from another site, even with a good field
    csrf, _ = server.form(f"/unsubscribe/{token}")
    status = server.request(
        "POST", f"/unsubscribe/{token}", f"csrf={csrf}", {"Origin": "https://evil.example"}
    )[0]
    assert status == 403
    assert server.readers()["csrf@example.org"]["status"] == "active"
    assert "x@example.org" not in server.readers()


def test_tokens_are_signed_and_an_address_is_never_a_token(server):
    token = active_reader(server, "victim@example.org")
    state_token, sig = token.rsplit(".", 1)
    forged = f"{state_token}.{'A' * len(sig)}"
    for path in (
        f"/unsubscribe/{forged}",
        "/unsubscribe/victim@example.org",
        "/unsubscribe/victim%40example.org",
        "/preferences/victim@example.org",
    ):
        assert server.request("GET", path)[0] == 404, path
        assert server.request("POST", path, "List-Unsubscribe=One-Click")[0] == 404, path
    assert server.readers()["victim@example.org"]["status"] == "active"
    by_address = cli(server.config, "unsubscribe", "victim@example.org")
    assert by_address.returncode == 2 and "--email" in by_address.stderr
    assert server.readers()["victim@example.org"]["status"] == "active"
    by_token = cli(server.config, "unsubscribe", token)
    assert by_token.returncode == 0 and "victim@example.org" in by_token.stdout


def test_request_size_security_headers_and_no_redirects(server):
    big = "email=" + "a" * 100_000
    assert server.request("POST", "/subscribe", big)[0] == 413
    for path in ("/subscribe", "/subscribe?next=https://evil.example/", "/healthz", "/nope"):
        status, headers, _ = server.request("GET", path)
        assert "location" not in headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "same-origin"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "script-src" not in headers["content-security-policy"]  # default-src 'none'
    assert server.request("GET", "//evil.example/")[0] == 404
    assert server.request("DELETE", "/subscribe")[0] == 405


def test_what_the_server_writes_is_seen_at_once_by_other_processes(server):
    """Each write is committed before the answer, and the server's connection keeps its
    locks: another process opening and closing the state never deletes the server's WAL
    (which once hid the server's later writes from every other process)."""
    import sqlite3
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:  # several server threads at once
        list(
            pool.map(
                lambda n: server.sign_up(f"p{n}@example.org", client=f"127.0.0.{20 + n}"), range(4)
            )
        )
    for n in range(4, 8):
        assert cli(server.config, "readers", "add", f"op{n}@example.org").returncode == 0
        server.sign_up(f"p{n}@example.org", client=f"127.0.0.{20 + n}")
        db = sqlite3.connect(server.folder / "state.sqlite3")
        try:
            seen = {r[0] for r in db.execute("SELECT email FROM subscribers")}
        finally:
            db.close()
        assert {f"p{k}@example.org" for k in range(n + 1)} <= seen
        assert (server.folder / "state.sqlite3-wal").exists()


def test_an_unsubscribe_during_a_send_answers_at_once_and_stops_the_next_batches(tmp_path):
    """250 readers through a slow relay (batches of 100): one reader of the third batch clicks
    one-click unsubscribe while the first batch goes out; the answer comes at once (no wait
    for the send) and that reader gets nothing."""
    import threading

    from smtp_server import Behaviour, SmtpServer

    readers = [f"r{n:03d}@example.org" for n in range(250)]
    (tmp_path / "readers.csv").write_text("email\n" + "\n".join(readers) + "\n")
    behaviour = Behaviour(delay_mail=0.01, signals={("MAIL", 20): threading.Event()})
    relay = SmtpServer(behaviour=behaviour).start()
    server = Server(
        tmp_path,
        f"  recipients: {tmp_path}/readers.csv\n"
        f"  postal_address: Example, 1 Main St\n"
        f"  smtp: {{host: 127.0.0.1, port: {relay.port}, security: none}}\n",
    )
    try:
        assert cli(server.config, "run", "--dry-run").returncode == 0
        run = subprocess.Popen(
            [*digest_command(), "--config", str(server.config), "run", "--json"],
            env=env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        # the readers are in the state once the issue is frozen; wait for the send to be under way
        assert behaviour.signals[("MAIL", 20)].wait(60)
        token = server.token_of("r230@example.org")
        start = time.monotonic()
        status, _, _ = server.request("POST", f"/unsubscribe/{token}", "List-Unsubscribe=One-Click")
        answered = time.monotonic() - start
        assert status == 200 and answered < 1.0, answered
        assert run.poll() is None  # the send was still going when the answer came
        # the operator's command does not wait for the run either (it once took the run lock)
        by_cli = cli(server.config, "unsubscribe", "--email", "r240@example.org")
        assert by_cli.returncode == 0 and run.poll() is None
        out, err = run.communicate(timeout=240)
        assert run.returncode == 0, err
        [issue] = json.loads(cli(server.config, "history", "--json").stdout)
        delivered = {d["recipient"]: d for d in issue["deliveries"]}
        assert delivered["r230@example.org"]["status"] == "failed"
        assert delivered["r230@example.org"]["answer"] == "no longer a reader before delivery"
        counts = relay.count_for()
        gone = {"r230@example.org", "r240@example.org"}
        assert not gone & set(counts)
        assert all(counts[r] == 1 for r in readers if r not in gone)
    finally:
        server.stop()
        relay.stop()


def test_readers_import_export_list_and_remove_from_the_command_line(tmp_path):
    config = write_config(tmp_path, 8080)
    (tmp_path / "in.csv").write_text(
        "email,name\nann@example.org,Ann Ünal\nnot-an-address\nBob@Example.org\n"
    )
    imported = cli(config, "readers", "import", str(tmp_path / "in.csv"), "--json")
    assert imported.returncode == 0, imported.stderr
    data = json.loads(imported.stdout)
    assert data["added"] == 2 and len(data["problems"]) == 1 and ":3:" in data["problems"][0]
    again = json.loads(cli(config, "readers", "import", str(tmp_path / "in.csv"), "--json").stdout)
    assert again["added"] == 0 and again["known"] == 2
    (tmp_path / "one.csv").write_text("cy@example.org\n")
    one = cli(config, "readers", "import", str(tmp_path / "one.csv"))
    assert one.stdout == "1 new reader, 0 already known\n"
    assert cli(config, "readers", "remove", "cy@example.org").returncode == 0
    listed = json.loads(cli(config, "readers", "list", "--json").stdout)["readers"]
    assert [(r["email"], r["name"], r["status"], r["source"]) for r in listed] == [
        ("ann@example.org", "Ann Ünal", "active", "import"),
        ("bob@example.org", None, "active", "import"),
    ]
    assert all("token" not in r for r in listed)  # a reader's link key is not for listings
    exported = cli(config, "readers", "export")
    lines = exported.stdout.splitlines()
    assert lines[0].startswith("email,name,status,source,created_at,consent_at,consent_ip")
    assert lines[1].startswith("ann@example.org,Ann Ünal,active,import,")
    active = cli(config, "readers", "export", "--status", "active").stdout.splitlines()
    assert [line.split(",")[0] for line in active] == ["email", *[r["email"] for r in listed]]
    assert cli(config, "readers", "export", "--status", "bounced").stdout.splitlines() == [lines[0]]
    assert cli(config, "readers", "remove", "bob@example.org").returncode == 0
    missing = cli(config, "readers", "remove", "bob@example.org")
    assert missing.returncode == 2 and "no such reader" in missing.stderr
    bad = cli(config, "readers", "add", "not an address")
    assert (
        bad.returncode == 2
        and "not an email address" in bad.stderr
        and "Traceback" not in bad.stderr
    )


def test_the_archive_is_served_and_nothing_outside_it(tmp_path):
    archive = tmp_path / "var" / "archive"
    archive.mkdir(parents=True)
    (archive / "index.html").write_text("<h1>All issues</h1>")
    (archive / "feed.xml").write_text("<feed/>")
    (archive / ".unpublished").write_text("2025-11-10-7\n")  # the archive's own files
    (archive / ".lock").write_text("")
    server = Server(tmp_path, "archive:\n  folder: " + str(archive) + "\n")
    try:
        status, headers, text = server.request("GET", "/archive/")
        assert status == 200 and "All issues" in text
        status, headers, _ = server.request("GET", "/archive/feed.xml")
        assert status == 200 and headers["content-type"] == "application/atom+xml; charset=utf-8"
        for path in (
            "/archive/../digest.yaml",
            "/archive/%2e%2e/digest.yaml",
            "/archive/..%2fdigest.yaml",
            "/archive/%00",  # these three were a 500 and a logged traceback
            "/archive/index.html%00.txt",
            "/archive/" + "a" * 5000,
            "/archive/.unpublished",  # which issues were taken off the site
            "/archive/.lock",
        ):
            assert server.request("GET", path)[0] == 404, path
        # without its slash, the index's relative links would miss the folder
        status, headers, _ = server.request("GET", "/archive")
        assert status == 301 and headers["location"].endswith("/archive/")
        # a HEAD answer has headers alone: a body after it broke the next answer on the line
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(
                b"HEAD /archive/ HTTP/1.1\r\nHost: x\r\n\r\n"
                b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        head, _, rest = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and b"Content-Length: 19" in head
        assert rest.startswith(b"HTTP/1.1 200") and rest.endswith(b"\r\n\r\nok\n")
    finally:
        server.stop()


def test_the_confirmation_goes_through_the_relay_from_the_readers_verp_address(tmp_path):
    from smtp_server import SmtpServer

    relay = SmtpServer().start()
    server = Server(
        tmp_path,
        f'  return_path: "bounces+{{token}}@example.com"\n'
        f"  smtp: {{host: 127.0.0.1, port: {relay.port}, security: none}}\n",
    )
    try:
        assert server.sign_up("new@example.org")[0] == 200
        deadline = time.monotonic() + 10
        while not relay.messages and time.monotonic() < deadline:
            time.sleep(0.05)
        [message] = relay.messages
        assert message.rcpt_tos == ["new@example.org"]
        assert message.mail_from.startswith("bounces+") and message.mail_from.endswith(
            "@example.com"
        )
        body = message.message.get_content()
        link = re.search(r"http://\S+/confirm/\S+", body)[0]
        assert server.request("GET", link.split(str(server.port), 1)[1])[0] == 200
        assert server.readers()["new@example.org"]["status"] == "active"
    finally:
        server.stop()
        relay.stop()


def test_run_warns_when_a_relay_is_set_but_no_https_unsubscribe_url(tmp_path):
    config = tmp_path / "digest.yaml"
    for url, warned in (
        (None, "no one-click header"),
        ("http://news.example.com/u/{token}", "no one-click unsubscribe header"),
        ("https://news.example.com/u/{token}", None),
    ):
        line = f'  unsubscribe_url: "{url}"\n' if url else ""
        config.write_text(
            f"""sources: ["{SAMPLE_SEEDS}/*.txt"]
state: {tmp_path}/state.sqlite3
delivery:
  from: "Test Daily <digest@example.com>"
  to: [a@example.com]
{line}  smtp: {{host: 127.0.0.1, port: 2, security: none}}
"""
        )
        result = cli(config, "run", "--dry-run")
        assert result.returncode == 0, result.stderr
        warnings = [ln for ln in result.stderr.splitlines() if "one-click" in ln]
        assert (warned in warnings[0]) if warned else warnings == [], (url, warnings)


def test_the_name_a_reader_gave_goes_in_the_to_header_safely(tmp_path):
    config = write_config(tmp_path, 8080)
    name = "Zoë Bcc: evil@example.net"
    assert cli(config, "readers", "add", "zoe@example.org", "--name", name).returncode == 0
    assert cli(config, "run").returncode == 0
    eml = next((tmp_path / "outbox").glob("*zoe@example.org.eml"))
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["To"].addresses[0].display_name == name
    assert message["To"].addresses[0].addr_spec == "zoe@example.org"
    assert message["Bcc"] is None


def test_one_click_posts_from_one_mail_provider_are_not_rate_limited(server):
    """Gmail sends every reader's one-click POST from its own few addresses: a hundred
    readers unsubscribing through one client all succeed (each token is signed), while
    forms from one client are limited."""
    from digest.state import Store
    from digest.tokens import Signer

    signer = Signer(SECRET.encode())
    with Store.open(server.folder / "state.sqlite3") as store:  # 70 readers at once
        readers = store.readers()
        tokens = [
            signer.reader(readers.add_by_operator(f"g{n}@example.org").token) for n in range(70)
        ]
    for token in tokens:
        status = server.request(
            "POST", f"/unsubscribe/{token}", "List-Unsubscribe=One-Click", client="127.0.0.5"
        )[0]
        assert status == 200
    statuses = {r["status"] for e, r in server.readers().items() if e.startswith("g")}
    assert statuses == {"unsubscribed"}
    codes = [
        server.request("POST", f"/preferences/{tokens[0]}", "csrf=x", client="127.0.0.6")[0]
        for _ in range(61)
    ]
    assert codes[:60] == [403] * 60 and codes[60] == 429


def test_a_confirmation_titled_in_russian_reads_back_word_for_word(tmp_path):
    """The confirmation's Subject and From carry the list's title: encoded so that RFC 2047
    decoders, which drop the whitespace between encoded words, keep every space."""
    import email.header

    from digest.config import load_config
    from digest.tokens import Signer
    from digest.web import Mailer

    title = "Дайджест Центральной Азии: главное за неделю, т.е. всё важное о регионе"
    config = write_config(tmp_path, 8080)
    config.write_text(
        config.read_text()
        .replace("title: Test Daily", f'title: "{title}"')
        .replace('"Test Daily <digest@example.com>"', f"'\"{title}\" <digest@example.com>'")
    )
    mailer = Mailer(load_config(config), Signer(SECRET.encode()))
    data = mailer.message("new@example.org", "http://127.0.0.1:8080/confirm/x")
    mailer.close()
    message = email.message_from_bytes(data)

    def shown(header: str) -> str:
        return str(email.header.make_header(email.header.decode_header(message[header])))

    assert shown("Subject") == f"Confirm your subscription to {title}"
    assert shown("From") == f"{title} <digest@example.com>"
    assert message["To"] == "new@example.org"
    assert "open this link within 48 hours" in message.get_payload(decode=True).decode()
    assert all(len(line) <= 78 for line in data.split(b"\r\n\r\n")[0].split(b"\r\n"))


def test_the_sign_up_page_promises_no_cadence(server):
    """It said "on weekday mornings" whatever the schedule (a list sent on Saturdays)."""
    status, _, page = server.request("GET", "/subscribe")
    assert status == 200 and "Subscribe to" in page
    assert "weekday" not in page and "morning" not in page


def test_a_new_secret_with_the_old_one_after_it_keeps_sent_links_working(monkeypatch):
    """A new secret alone broke every unsubscribe link in the messages readers already had
    (one-click answered 404). The variable holds the new secret first, then earlier ones."""
    from digest.errors import ConfigError
    from digest.tokens import BadToken, Signer

    old, new = "an-old-secret-0123456789", "a-new-secret-9876543210"
    monkeypatch.setenv("DIGEST_TEST_ROTATED", old)
    sent = Signer.from_env("DIGEST_TEST_ROTATED")
    token = "q" * 32  # a state token: 24 random bytes, URL-safe base64
    link, verp = sent.reader(token), sent.verp(token)
    monkeypatch.setenv("DIGEST_TEST_ROTATED", new)
    with pytest.raises(BadToken):
        Signer.from_env("DIGEST_TEST_ROTATED").open_reader(link)
    monkeypatch.setenv("DIGEST_TEST_ROTATED", f"{new} {old}")
    rotated = Signer.from_env("DIGEST_TEST_ROTATED")
    assert rotated.open_reader(link) == token and rotated.open_verp(verp) == token
    assert rotated.reader(token) == Signer(new.encode()).reader(token)  # new links: new secret
    # a secret as it was written before keeps signing as before: a passphrase with spaces,
    # a value with a trailing newline (a secret made from a file)
    for written in ("correct horse battery staple", f"{old}\n"):
        monkeypatch.setenv("DIGEST_TEST_ROTATED", written)
        assert Signer.from_env("DIGEST_TEST_ROTATED") == Signer(written.encode())
    # an old passphrase (spaces in it) after a new secret: its links still work
    phrase = "correct horse battery staple"
    monkeypatch.setenv("DIGEST_TEST_ROTATED", phrase)
    link = Signer.from_env("DIGEST_TEST_ROTATED").reader(token)
    for between in (" ", "\n"):  # as `export` writes it, or two files' lines
        monkeypatch.setenv("DIGEST_TEST_ROTATED", f"{new}{between}{phrase}")
        rotated = Signer.from_env("DIGEST_TEST_ROTATED")
        assert rotated.open_reader(link) == token
        # ... and the links made meanwhile are the new secret's: they outlive the old one
        # (review: the whole value signed them, and each broke when the passphrase went)
        made_meanwhile = rotated.reader(token)
        monkeypatch.setenv("DIGEST_TEST_ROTATED", new)
        assert Signer.from_env("DIGEST_TEST_ROTATED").open_reader(made_meanwhile) == token
    monkeypatch.setenv("DIGEST_TEST_ROTATED", "short one")
    with pytest.raises(ConfigError, match="too short"):
        Signer.from_env("DIGEST_TEST_ROTATED")


def test_a_rate_limit_forgets_the_clients_gone_quiet():
    """Each client's or address's events were dropped only when it came again, so the
    limits held every key ever seen; past 100,000 keys (a year of sign-ups, of clients)
    every request scanned them all under the server's lock, and found none to forget."""
    from digest.web import RateLimit

    now = [0.0]
    limit = RateLimit(3, 600, clock=lambda: now[0])
    for n in range(100_001):
        now[0] += 1
        assert limit.allow(f"client{n}")
    assert len(limit.events) <= 600  # the keys seen in the last ten minutes
    assert limit.allow("client100000") and limit.allow("client100000")
    assert not limit.allow("client100000")  # a key still in its window keeps its count


def test_an_address_that_looks_like_encoded_words_is_written_as_it_is(tmp_path):
    """ "=?utf-8?q?a=40evil.example=2C_b?=@example.com", a valid address the sign-up form and
    the CSV take: the email package decoded it while folding, so the confirmation's To read
    "a@evil.example, b@example.com", and with a reader's name (the confirmation, or a digest
    with a longer name) no message could be made at all (InvalidHeaderDefect)."""
    from digest import message as mime
    from digest.config import DeliveryConfig, load_config
    from digest.models import RenderedDigest
    from digest.tokens import Signer
    from digest.web import Mailer

    evil = "=?utf-8?q?a=40evil.example=2C_b?=@example.com"
    config = load_config(write_config(tmp_path, 8080))
    mailer = Mailer(config, Signer(SECRET.encode()))
    made = [mailer.message(evil, "http://x/c/y")]
    mailer.close()
    delivery = DeliveryConfig(from_addr="digest@example.com", outbox=tmp_path)
    for name in ("Ann", "Ann " * 12):
        maker = mime.MessageMaker(
            RenderedDigest("Daily", "", "<p>x</p>", "x"), delivery, names={evil: name}
        )
        made.append(maker.bytes_for(evil, "tok"))
    for data in made:
        head = data.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ").decode()
        (to,) = [line[4:] for line in head.split("\r\n") if line.startswith("To: ")]
        assert to == evil or to.endswith(f" <{evil}>")
