"""One cycle: read → select → summarize → render → deliver → record.

Preview is the same cycle without the last two steps, over a read-only view of the state.
The CLI and the scheduler call only this module.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from .config import Config
from .errors import DigestError, SourcesError, UsageError
from .models import (
    Article,
    Digest,
    DigestItem,
    DigestSection,
    Problem,
    ReadResult,
    RenderedDigest,
    Selection,
)
from .state.exactly_once import DeliveryLog as StoreDeliveryLog  # noqa: F401 (older callers)
from .state.models import RunStatus

# A reader whose relay keeps deferring (4xx) is tried in this many runs, then marked failed.
MAX_DEFERRED_RUNS = 3


@dataclass
class Prepared:
    """Everything a cycle decides before anything is sent or stored."""

    read: ReadResult
    selection: Selection
    leads: list[str]
    digest: Digest
    rendered: RenderedDigest | None  # None when nothing is new
    notes: list[str] = field(default_factory=list)


@dataclass
class RunReport:
    # preview | dry-run | delivered | partly-delivered | failed | empty | deferred (an earlier
    # issue still reaches nobody: the relay keeps deferring) | already-ran
    status: str
    prepared: Prepared | None = None
    delivered: list[dict] = field(default_factory=list)
    message: str = ""
    issue_id: int | None = None
    resumed: list[dict] = field(default_factory=list)  # deliveries finishing an earlier issue
    interrupted: bool = False  # the relay went away mid-way: the rest waits for the next run

    @property
    def exit_code(self) -> int:
        return 1 if self.status in ("failed", "deferred") or self.interrupted else 0

    def to_json(self) -> dict:
        p = self.prepared
        chosen, skipped, rates, subject, problems, notes = [], [], [], None, [], []
        if p is not None:
            chosen = [
                {
                    "title": c.article.title,
                    "lead": lead,
                    "source": c.article.shown_source,
                    "line": c.article.line,
                    "url": c.article.url,
                    "section": c.section,
                    "also": [{"title": t.title, "source": t.source, "url": t.url} for t in c.also],
                }
                for c, lead in zip(p.selection.chosen, p.leads, strict=True)
            ]
            skipped = [
                {
                    "title": s.article.title,
                    "reason": s.reason,
                    "duplicate_of": s.duplicate_of,
                    "source": s.article.source,
                    "line": s.article.line,
                }
                for s in p.selection.skipped
            ]
            rates = [
                {
                    "pair": r.pair,
                    "rate": _num(r.rate),
                    "change_pct": _num(r.change_pct),
                    "per_usd": _num(r.per_usd),
                    "per_usd_approx": r.per_usd_approx,
                    "since_last_pct": _num(r.since_last_pct),
                }
                for r in p.digest.rates
            ]
            subject = p.rendered.subject if p.rendered else None
            problems = [str(x) for x in p.read.problems]
            notes = p.notes
        return {
            "status": self.status,
            "message": self.message,
            "chosen": chosen,
            "skipped": skipped,
            "rates": rates,
            "subject": subject,
            "delivered": self.delivered,
            "resumed": self.resumed,
            "problems": problems,
            "notes": notes,
        }


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def read_sources(config: Config) -> ReadResult:
    """Every configured source; feed dates are taken in the config's time zone."""
    from .progress import meter
    from .sources import read_specs

    result = read_specs(config.sources, progress=meter("reading", "sources"))
    if result.sources_read == 0:
        detail = "; ".join(str(p) for p in result.problems[:3]) or "no source configured"
        raise SourcesError(
            f"nothing could be read from the configured sources: {detail}",
            f"check `sources:` in {config.path}",
        )
    result.articles = [
        replace(a, date=a.published.astimezone(config.tz).date()) if a.published else a
        for a in result.articles
    ]
    return result


def reference_day(config: Config, read: ReadResult, as_of: dt.date | None) -> dt.date | None:
    """The day the lookback counts back from: --as-of, else the newest article date that is
    not in the future (one mis-dated item must not push every other article out)."""
    if as_of is not None:
        return as_of
    tomorrow = dt.datetime.now(config.tz).date() + dt.timedelta(days=1)
    for a in read.articles:
        if a.date and a.date > tomorrow:
            read.problems.append(
                Problem(a.source, f"{a.title!r} is dated {a.date}, in the future", a.line)
            )
    dates = [a.date for a in read.articles if a.date and a.date <= tomorrow]
    return max(dates) if dates else None


def prepare(
    config: Config, store, as_of: dt.date | None = None, run_id: int | None = None
) -> Prepared:
    """Read, select, summarize and render: the shared part of preview and run. `run_id`
    names the issue's archive page, for the e-mail's "View in browser" link."""
    from .rates import newest_ticker, rate_rows
    from .select import select
    from .summarize import make_summarizer

    read = read_sources(config)
    notes = []
    if as_of is not None:  # nothing published after the as-of day is a candidate yet
        later = [a for a in read.articles if a.date and a.date > as_of]
        if later:
            read.articles = [a for a in read.articles if not (a.date and a.date > as_of)]
            notes.append(f"{len(later)} articles dated after {as_of} wait for a later digest")
    as_of = reference_day(config, read, as_of)
    selection = select(read.articles, store.sent_stories(), config.selection, as_of=as_of)
    summarize = make_summarizer(config.summary)
    leads = []
    for chosen in selection.chosen:
        result = summarize(chosen.article)
        leads.append(result.lead)
        if result.note:
            notes.append(f"{chosen.article.title}: {result.note}")
    leads = place_in_sections(config, selection, leads)
    rows = rate_rows(newest_ticker(read.rates), store.previous_rates())
    names = {a.source: a.source_name for a in read.articles if a.source_name}
    digest = build_digest(config, selection, leads, rows, as_of, source_names=names)
    rendered = None
    if selection.chosen or not config.skip_empty:  # skip_empty false: rates, "nothing new"
        from .render import render

        digest = _with_view_url(config, digest, run_id)
        rendered = render(digest)
    return Prepared(read, selection, leads, digest, rendered, notes)


def place_in_sections(config: Config, selection: Selection, leads: list[str]) -> list[str]:
    """Each chosen story into its section (its title or lead names it: see digest.sections),
    sections in the config's order and "More news" after them; the selection's order within
    each section. Reorders `selection.chosen` in place and returns the leads in that order."""
    from .select.sections import assign_sections, section_order

    names = assign_sections(
        [(c.article.title, lead) for c, lead in zip(selection.chosen, leads, strict=True)],
        config.selection.sections,
    )
    order = section_order(config.selection.sections)
    placed = sorted(
        zip(selection.chosen, leads, names, strict=True), key=lambda t: order.index(t[2])
    )
    selection.chosen[:] = [replace(c, section=name) for c, _, name in placed]
    return [lead for _, lead, _ in placed]


def build_digest(
    config: Config,
    selection: Selection,
    leads: list[str],
    rows,
    as_of: dt.date | None = None,
    *,
    source_names: dict[str, str] | None = None,
    today: dt.date | None = None,
) -> Digest:
    """The digest as readers get it. Its date is the day it goes out, in the config's zone
    (`today`; `as_of` only moves the lookback); each story keeps its page's date."""
    date = today or dt.datetime.now(config.tz).date()
    sections: dict[str, list[DigestItem]] = {}
    for chosen, lead in zip(selection.chosen, leads, strict=True):
        a = chosen.article
        sections.setdefault(chosen.section, []).append(
            DigestItem(
                a.title,
                lead,
                a.shown_source,
                a.url,
                a.date,
                source_link=a.source_link,
                also=tuple(getattr(chosen, "also", ())),
            )
        )
    rates_source = None
    if rows:
        rates_source = (source_names or {}).get(rows[0].source) or Article(
            "", (), rows[0].source
        ).shown_source
    return Digest(
        title=config.title,
        date=date,
        sections=tuple(DigestSection(name, tuple(items)) for name, items in sections.items()),
        rates=tuple(rows),
        rates_date=rows[0].date if rows else None,
        rates_source=rates_source or None,
        reason_line=f"You receive this because you subscribed to {config.title}.",
        postal_address=config.delivery.postal_address,
        view_url=None,
    )


def preview(
    config: Config, out_dir: Path, as_of: dt.date | None = None
) -> tuple[RunReport, list[Path]]:
    """The next digest, written to files; the state file is opened read-only."""
    from .deliver import build_message, message_bytes, unsubscribe_link
    from .state import Store

    with Store.for_config(config, readonly=True) as store:
        prepared = prepare(config, store, as_of)
    report = RunReport("preview", prepared)
    if prepared.rendered is None:
        report.message = "nothing new since the last digest"
        return report, []
    rendered = prepared.rendered
    first = (list(config.delivery.to) or ["reader@example.com"])[0]
    message = build_message(rendered, config.delivery, first, token=None)
    # The files show the footer's link as the preview's own (no reader, so no token), never
    # the literal placeholder that delivery fills.
    link = unsubscribe_link(config.delivery, None)
    paths = [out_dir / "digest.html", out_dir / "digest.txt", out_dir / "digest.eml"]
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths[0].write_text(_fill_placeholder(rendered.html, html.escape(link)), "utf-8")
        paths[1].write_text(_fill_placeholder(rendered.text, link), encoding="utf-8")
        paths[2].write_bytes(message_bytes(message))  # CRLF, byte for byte as sent
    except OSError as e:
        raise UsageError(
            f"--out {out_dir}: cannot write the preview there ({e.strerror})"
        ) from None
    report.message = (
        f"{len(prepared.selection.chosen)} articles, "
        f"{len(prepared.selection.skipped)} skipped, "
        f"{len(rendered.html.encode()):,} bytes of HTML: {rendered.subject}"
    )
    return report, paths


def _fill_placeholder(part: str, link: str) -> str:
    """The footer's (last) unsubscribe placeholder replaced by `link`."""
    from .deliver import PLACEHOLDER

    head, found, tail = part.rpartition(PLACEHOLDER)
    return head + link + tail if found else part


class _IssueProgress:
    """One progress line for the whole issue across its batches of readers (deliver counts
    within a batch)."""

    def __init__(self, meter, store, issue_id: int):
        self.meter, self.done = meter, 0
        self.total = len(store.pending_recipients(issue_id)) if meter else 0

    def of_batch(self, size: int):
        if self.meter is None:
            return None
        start = self.done
        self.done += size
        self.total = max(self.total, self.done)
        return lambda done, _total: self.meter(start + done, self.total)


def postal_address_note(config: Config) -> list[str]:
    """Bulk mail (a recipients list) is expected to carry the sender's postal address."""
    if config.delivery.recipients and not config.delivery.postal_address:
        return [
            f"{config.path}: delivery.recipients is set but delivery.postal_address is not: "
            "bulk mail is expected to carry the sender's postal address (CAN-SPAM)"
        ]
    return []


def run(
    config: Config, dry_run: bool = False, as_of: dt.date | None = None, slot: str | None = None
) -> RunReport:
    """One full cycle. Finishes the issues earlier runs left half-sent first (oldest first),
    then picks new articles, freezes the new issue, sends it and settles it. The rules each
    step follows are in digest/state/exactly_once.py."""
    from .state import Store, run_lock

    if dry_run:
        return _dry_run(config, as_of)
    with (
        run_lock(config.state, password_env=config.state_password_env),
        Store.for_config(config) as store,
    ):
        return _Cycle(config, store, as_of, slot).run()


def _dry_run(config: Config, as_of: dt.date | None) -> RunReport:
    from .recipients import nobody_to_send_to, readers_to_send_to, unsubscribe_note
    from .state import Store

    with Store.for_config(config, readonly=True) as store:
        prepared = prepare(config, store, as_of)
        recipients, problems = readers_to_send_to(config, store)
    prepared.notes.extend(str(p) for p in problems)
    prepared.notes.extend(postal_address_note(config))
    prepared.notes.extend(unsubscribe_note(config))
    if not recipients and problems:  # only bad addresses: the same error as a real run
        raise nobody_to_send_to(config.delivery, problems)
    if not recipients:
        prepared.notes.append("no one to send to: set delivery.to or delivery.recipients")
    return RunReport(
        "dry-run",
        prepared,
        delivered=[{"recipient": r, "status": "dry-run"} for r in recipients],
        message="dry run: nothing sent, nothing recorded",
    )


class _Cycle:
    """The steps of one run over the state's narrow interfaces."""

    def __init__(self, config: Config, store, as_of: dt.date | None, slot: str | None):
        self.config, self.store, self.as_of, self.slot = config, store, as_of, slot
        self.resumed: list[dict] = []
        self.notes: list[str] = []  # what finishing earlier issues did, for the message
        self._bounces_noted: dict[int, int] = {}  # outcomes looked at for hard bounces, by issue

    def run(self) -> RunReport:
        from .errors import DeliveryError
        from .state import exactly_once as rules
        from .state.db import StateWriteError

        rules.close_killed_runs(self.store)
        start = rules.begin_run(self.store, self.slot)
        self.run_id = start.id
        self.log = rules.DeliveryLog(self.store, self.run_id)
        self.signer = self.config.web.signer() if self.config.web else None
        if self.config.bounces is not None:  # before sending: bounced readers get nothing
            from .bounces import BounceMailboxError, read_bounces

            try:
                self.notes.extend(read_bounces(self.config, self.store).notes())
            except BounceMailboxError as e:  # no bounce yet, or the mailbox is down: send
                self.notes.append(f"bounces not read: {e.message}")
        try:
            return self._steps(start)
        except DeliveryError as e:
            if not self._sent():  # nothing went out: the run failed
                self._finish_quietly(RunStatus.FAILED, str(e.message))
                raise
            return self._interrupted(e)
        except StateWriteError as e:
            self._finish_quietly(RunStatus.FAILED, e.message)
            sent = self._sent()
            raise StateWriteError(
                f"{e.message}; {sent} messages went out in this run: "
                + ("all recorded but perhaps the last; " if sent else "")
                + "`digest history` shows who has the issue",
                e.hint,
            ) from None
        except BaseException as e:
            self._finish_quietly(RunStatus.FAILED, str(e) or type(e).__name__)
            raise

    def _steps(self, start) -> RunReport:
        from .state import exactly_once as rules

        if start.helps is not None:  # another sender serves our slot: help send its issue
            rules.issue_of_run(self.store, start.helps, wait=self.store.lease_seconds)
            self.finish_open_issues()
            return self.finish(RunReport("helped", None, message="nothing new to freeze"))
        self.finish_open_issues()
        waiting = rules.waiting_issue(self.store)
        if waiting is not None:
            message = (
                f"issue {waiting.id} ({waiting.subject!r}) still waits for deferred "
                "readers and nobody has it yet: new articles wait for it"
            )
            return self.finish(RunReport(RunStatus.DEFERRED, None, message=message))
        seen = self.store.newest_issue_id()
        prepared = prepare(self.config, self.store, self.as_of, self.run_id)
        self.prepared = prepared
        if prepared.rendered is None:
            message = "nothing new since the last digest"
            return self.finish(RunReport(RunStatus.EMPTY, prepared, message=message))
        recipients = self.recipients(prepared)
        issue_id = rules.freeze(self.store, self.run_id, self.new_issue(prepared, recipients), seen)
        if issue_id is None:  # another sender froze an issue meanwhile: help send that one
            self.finish_open_issues()
            message = "another sender froze this digest's issue: helped send it"
            return self.finish(RunReport("helped", None, message=message))
        self.issue_id = issue_id
        # what to remember once a reader has it: the selection's records, made already
        outcomes = self.send(self.store.issue(issue_id), lambda _: prepared.selection.records)
        report = RunReport("", prepared, outcomes, "", issue_id)
        return self.finish(report, chosen=len(prepared.selection.chosen))

    # --- the steps --------------------------------------------------------------------------

    def finish_open_issues(self) -> None:
        """Issues killed or deferred runs left half-sent, oldest first, before anything new."""
        from .recipients import normalize_address
        from .state import exactly_once as rules

        unsubscribed = {(normalize_address(u) or u).lower() for u in self.store.unsubscribed()}
        for issue in rules.open_issues(self.store):
            rules.drop_unsubscribed(self.store, issue.id, unsubscribed)
            outcomes = self.send(issue)
            if outcomes:
                sent = sum(1 for o in outcomes if o["status"] == "sent")
                self.notes.append(
                    f"finished issue {issue.id} ({issue.subject!r}) begun earlier: "
                    f"sent to {sent} more of its readers"
                )
            self.resumed += outcomes

    def send(self, issue, records=None) -> list[dict]:
        """Claim batches of the issue's readers, send, record each outcome; wait while other
        live senders hold the rest; then give up on readers deferred too often and settle.
        Returns the outcomes this run recorded for the issue."""
        import time

        from .deliver import deliver_issue
        from .progress import meter
        from .state import exactly_once as rules

        rendered = RenderedDigest(issue.subject, issue.preheader, issue.html, issue.text)
        before = len(self.log.outcomes.get(issue.id, []))
        progress = _IssueProgress(meter("sending", "messages"), self.store, issue.id)
        try:
            while True:
                batch = rules.claim(self.store, issue.id, self.run_id, rules.BATCH)
                if not batch:
                    if not rules.others_claims(self.store, issue.id, self.run_id):
                        break
                    # others are sending the rest: a dead one's claims are freed at once,
                    # a hung one's when its lease runs out
                    time.sleep(0.5)
                    rules.close_killed_runs(self.store)
                    continue
                batch = self.drop_blocked(issue.id, batch)
                if not batch:
                    continue
                self.log.claimed(batch)
                try:
                    deliver_issue(
                        self.config.delivery,
                        self.log,
                        issue.id,
                        rendered,
                        batch,
                        progress=progress.of_batch(len(batch)),
                        signer=self.signer,
                        names=self.store.readers().names(batch),
                    )
                except rules.LeaseLost:
                    continue
                finally:
                    rules.release(self.store, issue.id, self.run_id)
                    self.note_hard_bounces(issue.id)
        finally:  # also when the relay fails mid-way: what was tried is settled
            rules.give_up_deferred(self.store, issue.id, MAX_DEFERRED_RUNS)
            rules.settle(self.store, issue.id, records or _records_again)
        return [_outcome_dict(o) for o in self.log.outcomes.get(issue.id, [])[before:]]

    def drop_blocked(self, issue_id: int, batch: list[str]) -> list[str]:
        """Readers re-checked before each batch: one who unsubscribed (or bounced, paused)
        while the issue was going out gets nothing from this batch on."""
        blocked = self.store.readers().blocked_among(batch)
        if blocked:
            self.store.set_deliveries(
                issue_id,
                [(r, "failed", "no longer a reader before delivery", None) for r in blocked],
            )
        return [r for r in batch if r not in blocked]

    def note_hard_bounces(self, issue_id: int) -> None:
        """A 5xx at RCPT is a hard bounce: that reader gets nothing more."""
        outcomes = self.log.outcomes.get(issue_id, [])
        done = self._bounces_noted.get(issue_id, 0)
        for o in outcomes[done:]:
            o = _outcome_dict(o)
            if o["status"] == "failed" and (o.get("answer") or "")[:1] == "5":
                self.store.readers().bounce(o["recipient"], "hard", o["answer"])
        self._bounces_noted[issue_id] = len(outcomes)

    def recipients(self, prepared: Prepared) -> list[str]:
        from .recipients import nobody_to_send_to, readers_to_send_to, unsubscribe_note

        recipients, problems = readers_to_send_to(self.config, self.store)
        prepared.notes.extend(str(p) for p in problems)
        prepared.notes.extend(postal_address_note(self.config))
        prepared.notes.extend(unsubscribe_note(self.config))
        if not recipients:
            raise nobody_to_send_to(self.config.delivery, problems)
        return recipients

    def new_issue(self, prepared: Prepared, recipients: list[str]):
        from .state import NewIssue

        rendered = prepared.rendered
        return NewIssue(
            digest_date=prepared.digest.date.isoformat(),
            subject=rendered.subject,
            preheader=rendered.preheader,
            html=rendered.html,
            text=rendered.text,
            report=RunReport("sending", prepared).to_json(),
            stories=[[c.article, *c.tellings] for c in prepared.selection.chosen],
            recipients=recipients,
            rates=[
                (r.pair, str(r.rate), str(r.change_pct), r.date.isoformat() if r.date else None)
                for r in prepared.digest.rates
            ],
            slot=self.slot,
        )

    def finish(self, report: RunReport, chosen: int = 0) -> RunReport:
        """The run's status and message, from everything it sent (its own issue and older
        ones it finished), recorded with the run."""
        own = report.delivered
        everything = self.resumed + own
        sent = sum(1 for o in everything if o["status"] == "sent")
        failed = len(everything) - sent
        parts = list(self.notes)
        if report.issue_id is not None:
            own_sent = sum(1 for o in own if o["status"] == "sent")
            parts.append(f"sent to {own_sent} of {len(own)} recipients")
            if any(o["status"] == "retrying" for o in everything):
                parts.append("deferred readers are tried again by the next run")
            status = (
                RunStatus.DELIVERED
                if own_sent == len(own)
                else RunStatus.PARTLY_DELIVERED
                if own_sent
                else RunStatus.FAILED
            )
        else:
            status = report.status
            if report.message:
                parts.append(report.message)
            if status == "helped":
                status = RunStatus.DELIVERED if sent else RunStatus.EMPTY
            if status == RunStatus.EMPTY and not everything:
                parts[-1] += ": nothing sent"
        report.status = str(status)
        report.message = "; ".join(parts)
        report.resumed = self.resumed
        self.store.finish_run(self.run_id, status, chosen, sent, failed, report.message)
        if sent:  # an issue reached readers: its archive page (when `archive:` is set)
            notes = report.prepared.notes if report.prepared is not None else self.notes
            _refresh_archive(self.config, self.store, notes)
        return report

    def _interrupted(self, error) -> RunReport:
        """The relay went away after some messages went out: partly delivered, not failed;
        the readers not reached stay pending for the next run."""
        by_issue = {i: [_outcome_dict(o) for o in v] for i, v in self.log.outcomes.items()}
        own_id = getattr(self, "issue_id", None)
        own = by_issue.pop(own_id, []) if own_id is not None else []
        self.resumed = [o for v in by_issue.values() for o in v]
        everything = self.resumed + own
        sent = sum(1 for o in everything if o["status"] == "sent")
        reason = str(error.message).split(";")[0]
        message = "; ".join(
            [
                *self.notes,
                f"sent to {sent} readers, then stopped: {reason}",
                "the readers not reached yet stay pending: the next `digest run` sends to them",
            ]
        )
        prepared = getattr(self, "prepared", None) if own_id is not None else None
        chosen = len(prepared.selection.chosen) if prepared is not None else 0
        self.store.finish_run(
            self.run_id, RunStatus.PARTLY_DELIVERED, chosen, sent, len(everything) - sent, message
        )
        report = RunReport(
            str(RunStatus.PARTLY_DELIVERED), prepared, own, message, own_id, self.resumed
        )
        report.interrupted = True
        return report

    def _sent(self) -> int:
        return sum(1 for v in self.log.outcomes.values() for o in v if str(_status(o)) == "sent")

    def _finish_quietly(self, status: str, message: str) -> None:
        """Record the run's end when the state still takes writes; never hide the error."""
        from .state.db import StateWriteError

        try:
            self.store.finish_run(self.run_id, status, message=message)
        except StateWriteError:
            pass


def _records_again(issue) -> list:
    """What to remember of an issue frozen by an earlier run: its stories' records, the
    fingerprints computed again from the frozen tellings."""
    from .select import sent_records
    from .state.exactly_once import stories_of

    return sent_records(stories_of(issue))


def _status(o) -> str:
    return o["status"] if isinstance(o, dict) else o.status


def _with_view_url(config: Config, digest: Digest, run_id: int | None) -> Digest:
    """With `archive.url`, a run's e-mail links to its page in the archive ("View in
    browser"); the page's name is known before the issue is frozen (date and run number)."""
    if not (config.archive and config.archive.url and run_id is not None):
        return digest
    from .archive import page_url

    return replace(digest, view_url=page_url(config.archive.url, digest.date, run_id))


def archive_folder(config: Config, out_dir: Path | None = None) -> Path:
    """--out, else `archive.folder`, else var/archive beside the other var/ folders."""
    if out_dir is not None:
        return out_dir
    if config.archive and config.archive.folder:
        return config.archive.folder
    return config.project_root / "var" / "archive"


def archive(config: Config, out_dir: Path | None = None, remove: tuple[str, ...] = ()):
    """Write the static archive of delivered issues; the state is opened read-only."""
    from .archive import write_archive
    from .state import Store

    settings = config.archive
    with Store.for_config(config, readonly=True) as store:
        return write_archive(
            store,
            archive_folder(config, out_dir),
            title=config.title,
            url=settings.url if settings else None,
            keep=settings.keep if settings else None,
            remove=remove,
        )


def _refresh_archive(config: Config, store, notes: list[str]) -> None:
    """After a delivery, when `archive:` is set. The issue is out and recorded: a failure
    here is a warning, never a failed run (nor a reason to send again)."""
    if config.archive is None:
        return
    from .archive import write_archive

    try:
        write_archive(
            store,
            archive_folder(config),
            title=config.title,
            url=config.archive.url,
            keep=config.archive.keep,
        )
    except Exception as e:  # noqa: BLE001 - whatever went wrong, the delivery stands
        why = e.message if isinstance(e, DigestError) else f"{type(e).__name__}: {e}"
        notes.append(f"the archive was not updated: {why}")


def _outcome_dict(o) -> dict:
    """An outcome of deliver_issue as the report's dict (deliver returns dicts or Outcomes)."""
    if isinstance(o, dict):
        return {k: o[k] for k in ("recipient", "status", "answer") if k in o}
    return {"recipient": o.recipient, "status": str(o.status), "answer": o.answer}
