"""The library's front door: preview, run and archive, each a few lines over the modules
that do the work. The CLI and the scheduler call only this module.

    plan.py    read → select → lead → place → render: a DigestPlan (writes nothing)
    send.py    one run: finish older issues, freeze, send, settle (state/exactly_once.py)
    report.py  the RunReport and the JSON `--json` prints
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

from .archive import ArchiveReport, write_archive
from .config import Config
from .errors import ConfigError, UsageError
from .message import build_message, dkim_header, message_bytes, unsubscribe_link
from .models import fill_footer
from .plan import DigestPlan
from .recipients import held_back, nobody_to_send_to
from .report import RunReport
from .send import Cycle, prepare, recipients_of
from .state import Store, run_lock
from .state.models import RunStatus
from .text import counted
from .transports import check_outbox

__all__ = ["RunReport", "archive", "prepare", "preview", "run"]


def preview(
    config: Config, out_dir: Path, as_of: dt.date | None = None
) -> tuple[RunReport, list[Path]]:
    """The next digest, written to files; the state is opened read-only."""
    with Store.for_config(config, readonly=True) as store:
        plan = prepare(config, store, as_of)
    report = RunReport(RunStatus.PREVIEW, plan)
    if plan.rendered is None:
        report.message = "nothing new since the last digest"
        return report, []
    paths = write_preview(config, plan, out_dir)
    report.message = (
        f"{counted(len(plan.stories), 'article')}, {len(plan.selection.skipped)} skipped, "
        f"{len(plan.rendered.html.encode()):,} bytes of HTML: {plan.rendered.subject}"
    )
    return report, paths


def write_preview(config: Config, plan: DigestPlan, out_dir: Path) -> list[Path]:
    """digest.html, digest.txt and digest.eml (the message byte for byte as sent). The files
    show the footer's link as the preview's own (no reader, so no token), never the
    placeholder that delivery fills."""
    rendered = plan.rendered
    assert rendered is not None
    first = (list(config.delivery.to) or ["reader@example.com"])[0]
    message = build_message(rendered, config.delivery, first, token=None)
    link = unsubscribe_link(config.delivery, None)
    paths = [out_dir / "digest.html", out_dir / "digest.txt", out_dir / "digest.eml"]
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths[0].write_text(fill_footer(rendered.html, html.escape(link)), "utf-8")
        paths[1].write_text(fill_footer(rendered.text, link), encoding="utf-8")
        paths[2].write_bytes(message_bytes(message))  # CRLF, byte for byte as sent
    except OSError as e:
        raise UsageError(
            f"--out {out_dir}: cannot write the preview there ({e.strerror})"
        ) from None
    return paths


def run(
    config: Config, dry_run: bool = False, as_of: dt.date | None = None, slot: str | None = None
) -> RunReport:
    """One full cycle (send.py): finishes the issues earlier runs left half-sent first, then
    plans, freezes the new issue, sends it and settles it."""
    try:
        _check_before_sending(config)
        if dry_run:
            return _dry_run(config, as_of)
        with (
            run_lock(config.state),
            Store.for_config(config) as store,
        ):
            return Cycle(config, store, as_of, slot).run()
    except ConfigError as e:  # a setting found wrong while sending: name its file and line
        raise config.lines.locate(e) from None


def _check_before_sending(config: Config) -> None:
    """What sending needs from outside the config file, checked before a run takes its slot
    and freezes an issue: the SMTP password's variable, the DKIM key and the secret that
    signs each reader's links (found at the first message, they had used up the slot, and
    its readers waited for the next one; a dry run passed without them)."""
    if config.web is not None:
        config.web.signer()
    delivery = config.delivery
    if delivery.smtp is not None and delivery.smtp.username:
        delivery.smtp.password()
    if delivery.dkim is not None:
        dkim_header(b"From: <check@localhost>\r\n\r\n", delivery.dkim)


def _dry_run(config: Config, as_of: dt.date | None) -> RunReport:
    with Store.for_config(config, readonly=True) as store:
        plan = prepare(config, store, as_of)
        recipients = recipients_of(config, plan, store)
        held = None if recipients else held_back(store)
    if not recipients:
        plan.notes.append(nobody_to_send_to(config.lines, [], held).what)
    elif plan.rendered is not None:  # what sending would meet first: its DKIM key, its outbox
        build_message(plan.rendered, config.delivery, recipients[0], token=None)
        if config.delivery.smtp is None:
            check_outbox(config.delivery.outbox)
    return RunReport(
        RunStatus.DRY_RUN,
        plan,
        "dry run: nothing sent, nothing recorded",
        would_send=recipients,
    )


def archive(
    config: Config, out_dir: Path | None = None, remove: tuple[str, ...] = ()
) -> ArchiveReport:
    """Write the static archive of delivered issues; the state is opened read-only."""
    settings = config.archive
    with Store.for_config(config, readonly=True) as store:
        return write_archive(
            store,
            config.archive_folder(out_dir),
            title=config.title,
            url=settings.url if settings else None,
            keep=settings.keep if settings else None,
            remove=remove,
            language=config.language,
            web_url=config.web.url if config.web else None,
        )
