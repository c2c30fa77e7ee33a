"""MIME message, recipients, and sending: SMTP relay or outbox folder, one record per recipient.

(First version: outbox and a plain SMTP connection. The delivery issue grows this stage.)
"""

from __future__ import annotations

import csv
import re
import smtplib
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path

from .config import Config, DeliveryConfig
from .models import Problem, RenderedDigest

EMAIL = re.compile(
    r"^[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def header_safe(text: str) -> str:
    """No CR, LF or other control characters may reach a header."""
    return re.sub(r"\s+", " ", CONTROL.sub(" ", text)).strip()


def load_recipients(
    delivery: DeliveryConfig, unsubscribed: set[str] | None = None
) -> tuple[list[str], list[Problem]]:
    """`to:` then the CSV file; invalid addresses reported by line, duplicates counted once."""
    unsubscribed = unsubscribed or set()
    seen: set[str] = set()
    recipients: list[str] = []
    problems: list[Problem] = []

    def add(address: str, where: str, line: int | None) -> None:
        address = address.strip()
        if not EMAIL.match(address):
            problems.append(
                Problem(where, f"not a valid email address: {address!r}; skipped", line)
            )
            return
        key = address.lower()
        if key in seen or key in unsubscribed:
            return
        seen.add(key)
        recipients.append(address)

    for address in delivery.to:
        add(parseaddr(address)[1] or address, "delivery.to", None)
    if delivery.recipients:
        with delivery.recipients.open(newline="", encoding="utf-8-sig") as f:
            for number, row in enumerate(csv.reader(f), start=1):
                if not row or not row[0].strip() or row[0].strip().startswith("#"):
                    continue
                if number == 1 and row[0].strip().lower() in ("email", "address", "e-mail"):
                    continue
                add(row[0], str(delivery.recipients), number)
    return recipients, problems


def build_message(
    rendered: RenderedDigest, delivery: DeliveryConfig, recipient: str, token: str | None
) -> EmailMessage:
    name, address = parseaddr(delivery.from_addr)
    domain = address.rpartition("@")[2] or "localhost"
    message = EmailMessage()
    message["From"] = Address(display_name=header_safe(name), addr_spec=address)
    message["To"] = recipient
    message["Subject"] = header_safe(rendered.subject)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=domain)
    html, text = rendered.html, rendered.text
    if delivery.unsubscribe_url and token:
        url = delivery.unsubscribe_url.replace("{token}", token)
        message["List-Unsubscribe"] = f"<{url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        html = html.replace("{unsubscribe_url}", url)
        text = text.replace("{unsubscribe_url}", url)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def deliver_issue(
    config: Config, store, issue_id: int, rendered: RenderedDigest, recipients: list[str]
) -> list[dict]:
    """Send to each recipient; record each outcome the moment it is known."""
    delivery = config.delivery
    outcomes = []
    smtp = None
    try:
        if delivery.smtp is not None:
            s = delivery.smtp
            smtp = (smtplib.SMTP_SSL if s.security == "ssl" else smtplib.SMTP)(
                s.host, s.port, timeout=s.timeout
            )
            if s.security == "starttls":
                smtp.starttls()
            if s.username:
                smtp.login(s.username, s.password() or "")
        for recipient in recipients:
            token = store.token_for(recipient)
            message = build_message(rendered, delivery, recipient, token)
            if smtp is None:
                delivery.outbox.mkdir(parents=True, exist_ok=True)
                safe = re.sub(r"[^A-Za-z0-9@._-]", "_", recipient)
                path = Path(delivery.outbox) / f"issue-{issue_id:05d}-{safe}.eml"
                path.write_bytes(message.as_bytes())
                status, answer = "sent", f"written to {path}"
            else:
                try:
                    smtp.send_message(message)
                    status, answer = "sent", "250 accepted"
                except smtplib.SMTPRecipientsRefused as e:
                    code, text = next(iter(e.recipients.values()))
                    status = "retrying" if 400 <= code < 500 else "failed"
                    answer = f"{code} {text.decode(errors='replace')}"
            store.set_delivery(issue_id, recipient, status, answer, message["Message-ID"])
            outcomes.append({"recipient": recipient, "status": status, "answer": answer})
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except smtplib.SMTPException:
                pass
    return outcomes
