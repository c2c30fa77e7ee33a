"""One run's sending: finish what earlier runs left half-sent, plan, freeze, send, settle,
record the run. Every rule each step follows is in state/exactly_once.py; this module puts
them in order and sums up what went out (one `Tally`, one `RunStatus`).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator

from .archive import write_archive
from .bounces import BounceMailboxError, read_bounces
from .config import Config
from .deliver import Outcome, deliver_batches
from .errors import DeliveryError, DigestError, ReadersDeferred
from .message import sender
from .models import RenderedDigest
from .plan import DigestPlan, plan_digest, read_sources
from .progress import meter
from .recipients import (
    held_back,
    nobody_to_send_to,
    readers_to_send_to,
    unsubscribe_note,
)
from .report import RunReport, Tally
from .select.choose import sent_records
from .select.sent import History
from .state import exactly_once as rules
from .state.db import StateWriteError
from .state.models import DeliveryStatus, FrozenStory, Issue, NewIssue, RunStatus
from .state.storage import Storage
from .text import counted, normalize_address


def prepare(
    config: Config, store: Storage, as_of: dt.date | None = None, run_id: int | None = None
) -> DigestPlan:
    """Read the sources and plan the digest against what the state has sent (reads only)."""
    read = read_sources(config, store)
    sent = History(store)
    return plan_digest(config, read, sent, store.previous_rates(), as_of, run_id, store)


def postal_address_note(config: Config) -> list[str]:
    """Bulk mail (a recipients list) is expected to carry the sender's postal address."""
    if config.delivery.recipients and not config.delivery.postal_address:
        return [
            f"{config.path}: delivery.recipients is set but delivery.postal_address is not: "
            "bulk mail is expected to carry the sender's postal address (CAN-SPAM)"
        ]
    return []


def sender_note(config: Config) -> list[str]:
    """Through a relay, a sender on a host of one label (the default digest@localhost) is
    refused or taken for spam by receivers, and the Message-IDs and List-Id are made on it."""
    _, address, domain = sender(config.delivery.from_addr)
    if config.delivery.smtp is None or "." in domain:
        return []
    line = config.lines.line("delivery.from")
    return [
        f"{config.path}{f':{line}' if line else ''}: delivery.from is {address}, not an "
        "address of a domain of yours: receivers refuse such mail or take it for spam; set "
        "delivery.from"
    ]


def bounces_note(config: Config) -> list[str]:
    """Bounces read with no return path per reader are believed by the address they name:
    any message to the mailbox (a plain "550 user unknown" from anyone, a hand-made feedback
    report) stops mail to any reader."""
    if config.bounces is None or config.delivery.return_path_per_reader:
        return []
    line = config.lines.line("bounces")
    return [
        f"{config.path}{f':{line}' if line else ''}: bounces are read with no return path "
        "per reader, so any message to that mailbox naming a reader's address stops their "
        'mail; set delivery.return_path: "bounces+{token}@your.domain"'
    ]


def recipients_of(config: Config, plan: DigestPlan, store: Storage) -> list[str]:
    """Who the digest goes to (the listed addresses and the state's active readers, see
    recipients.readers_to_send_to); bad addresses, listed readers held back, a missing postal
    address, a missing one-click unsubscribe and bounces believed by address become notes."""
    recipients, problems, held = readers_to_send_to(config, store)
    plan.notes.extend(str(p) for p in problems)
    if held and recipients:  # with nobody to send to, nobody_to_send_to counts them
        plan.notes.append(
            f"listed readers left out: {held} (`digest readers list` shows each one's status)"
        )
    plan.notes.extend(postal_address_note(config))
    plan.notes.extend(sender_note(config))
    plan.notes.extend(unsubscribe_note(config))
    plan.notes.extend(bounces_note(config))
    if not recipients and problems:  # only bad addresses: nobody to send to
        raise nobody_to_send_to(config.lines, problems)
    return recipients


class Cycle:
    """The steps of one run over the state's protocol."""

    def __init__(self, config: Config, store: Storage, as_of: dt.date | None, slot: str | None):
        self.config, self.store, self.as_of, self.slot = config, store, as_of, slot
        self.notes: list[str] = []  # what finishing earlier issues did, for the message
        self.plan: DigestPlan | None = None
        self.own_issue: int | None = None
        self._bounces_noted: dict[int, int] = {}  # outcomes looked at for hard bounces, by issue

    def run(self) -> RunReport:
        rules.close_killed_runs(self.store)
        start = rules.begin_run(self.store, self.slot)
        self.run_id = start.id
        self.log = rules.DeliveryLog(self.store, self.run_id)
        self.signer = self.config.web.signer() if self.config.web else None
        if self.config.bounces is not None:  # before sending: bounced readers get nothing
            try:
                self.notes.extend(read_bounces(self.config, self.store).notes())
            except BounceMailboxError as e:  # no bounce yet, or the mailbox is down: send
                self.notes.append(f"bounces not read: {e.message}")
        try:
            return self._steps(start)
        except DeliveryError as e:
            if not self.tally().sent:  # nothing went out: the run failed
                self._finish_quietly(RunStatus.FAILED, str(e.message))
                raise
            return self._interrupted(e)
        except StateWriteError as e:
            self._finish_quietly(RunStatus.FAILED, e.message)
            sent = self.tally().sent
            raise StateWriteError(
                f"{e.message}; {counted(sent, 'message')} went out in this run: "
                + ("all recorded but perhaps the last; " if sent else "")
                + "`digest history` shows who has the issue",
                e.hint,
            ) from None
        except BaseException as e:
            self._finish_quietly(RunStatus.FAILED, str(e) or type(e).__name__)
            raise

    def _steps(self, start: rules.RunStart) -> RunReport:
        if start.helps is not None:  # another sender serves our slot: help send its issue
            rules.issue_of_run(self.store, start.helps, wait=self.store.lease_seconds)
            self.finish_open_issues()
            return self.finish_helping("nothing new to freeze")
        # Before the open issues are finished: an issue another sender freezes after we
        # found none open is then newer than `seen`, and ours is refused (we help send it).
        seen = self.store.newest_issue_id()
        self.finish_open_issues()
        waiting = rules.waiting_issue(self.store)
        if waiting is not None:
            message = (
                f"issue {waiting.id} ({waiting.subject!r}) still waits for deferred "
                "readers and nobody has it yet: new articles wait for it"
            )
            return self.finish_without_issue(RunStatus.DEFERRED, message)
        plan = self.plan = prepare(self.config, self.store, self.as_of, self.run_id)
        if plan.rendered is None:
            return self.finish_without_issue(RunStatus.EMPTY, "nothing new since the last digest")
        recipients = recipients_of(self.config, plan, self.store)
        if not recipients:
            raise nobody_to_send_to(self.config.lines, [], held_back(self.store))
        issue_id = rules.freeze(self.store, self.run_id, self.new_issue(plan, recipients), seen)
        if issue_id is None:  # another sender froze an issue meanwhile: help send that one
            self.finish_open_issues()
            return self.finish_helping("another sender froze this digest's issue: helped send it")
        self.own_issue = issue_id
        # what to remember once a reader has it: the selection's records, made already
        self.send(self.store.issue(issue_id), lambda _: plan.selection.records)
        return self.finish_own(plan)

    # --- the steps --------------------------------------------------------------------------

    def finish_open_issues(self) -> None:
        """Issues killed or deferred runs left half-sent, oldest first, before anything new."""
        unsubscribed = {(normalize_address(u) or u).lower() for u in self.store.unsubscribed()}
        for issue in rules.open_issues(self.store):
            rules.drop_unsubscribed(self.store, issue.id, unsubscribed)
            try:
                outcomes = self.send(issue)
            except ReadersDeferred as e:
                # The readers deferred in earlier runs come last and together: deferred
                # again, they stopped every later run before its own issue was sent.
                self.notes.append(
                    f"issue {issue.id} ({issue.subject!r}) not finished: {e.message}; "
                    "its readers left are tried again by the next run"
                )
                continue
            if outcomes:
                sent = sum(1 for o in outcomes if o.status == DeliveryStatus.SENT)
                self.notes.append(
                    f"finished issue {issue.id} ({issue.subject!r}) begun earlier: "
                    f"sent to {sent} more of its readers"
                )

    def send(self, issue: Issue, records: Callable[[Issue], list] | None = None) -> list:
        """Claim batches of the issue's readers, send, record each outcome; wait while other
        live senders hold the rest; then give up on readers deferred too often and settle.
        Returns the outcomes this call recorded for the issue."""
        rendered = RenderedDigest(issue.subject, issue.preheader, issue.html, issue.text)
        before = len(self.log.outcomes.get(issue.id, []))
        self.log.remember_at_first(issue.id, records or _records_again)
        progress = _IssueProgress(meter("sending", "messages"), self.store, issue.id)
        try:
            while True:
                try:
                    deliver_batches(
                        self.config.delivery,
                        self.log,
                        issue.id,
                        rendered,
                        self.claimed_batches(issue.id),
                        progress.total,
                        progress=progress.callback(),
                        signer=self.signer,
                        names=self.store.readers().names,
                    )
                except rules.LeaseLost:
                    continue
                finally:
                    rules.release(self.store, issue.id, self.run_id)
                    self.note_hard_bounces(issue.id)
                if not rules.others_claims(self.store, issue.id, self.run_id):
                    break
                # others are sending the rest: a dead one's claims are freed at once, a hung
                # one's when its lease runs out
                time.sleep(0.5)
                rules.close_killed_runs(self.store)
        finally:  # also when the relay fails mid-way: what was tried is settled
            self.given_up(issue.id, rules.give_up_deferred(self.store, issue.id))
            rules.settle(self.store, issue.id, records or _records_again)
        return self.log.outcomes.get(issue.id, [])[before:]

    def given_up(self, issue_id: int, answers: dict[str, str]) -> None:
        """Readers this run's try left deferred in too many runs are failed for good: its
        report and warnings say so (they said "retrying": tried again by the next run)."""
        outcomes = self.log.outcomes.get(issue_id, [])
        for i, o in enumerate(outcomes):
            if o.recipient in answers:
                failed = Outcome(
                    o.recipient, DeliveryStatus.FAILED, answers[o.recipient], o.message_id
                )
                outcomes[i] = failed

    def claimed_batches(self, issue_id: int) -> Iterator[list[str]]:
        """The issue's readers nobody has yet, claimed a batch at a time as the previous one
        goes out (on SQLite too: readers are re-checked before each one), over one connection;
        ends when nothing is left to claim. Once the first batch of the run's own issue went
        out, its archive page is written: those readers' "View in browser" must not wait for
        the last of a long list."""
        batches = 0
        while True:
            self.note_hard_bounces(issue_id)
            batch = rules.claim(self.store, issue_id, self.run_id, rules.BATCH)
            if not batch:
                return
            batch = self.drop_blocked(issue_id, batch)
            if batch:
                self.log.claimed(batch)
                batches += 1
                if batches == 2 and issue_id == self.own_issue and self.plan is not None:
                    refresh_archive(self.config, self.store, self.plan.notes)
                yield batch

    def drop_blocked(self, issue_id: int, batch: list[str]) -> list[str]:
        """Readers re-checked before each batch: one who unsubscribed (or bounced, paused)
        while the issue was going out gets nothing from this batch on."""
        blocked = self.store.readers().blocked_among(batch)
        if blocked:
            self.store.set_deliveries(
                issue_id,
                [
                    (r, DeliveryStatus.FAILED, "no longer a reader before delivery", None)
                    for r in blocked
                ],
            )
        return [r for r in batch if r not in blocked]

    def note_hard_bounces(self, issue_id: int) -> None:
        """A 5xx at RCPT is a hard bounce: that reader gets nothing more (unless it is a
        refusal by policy, X.7.X: see Readers.bounce)."""
        outcomes = self.log.outcomes.get(issue_id, [])
        for o in outcomes[self._bounces_noted.get(issue_id, 0) :]:
            if o.status == DeliveryStatus.FAILED and (o.answer or "")[:1] == "5":
                self.store.readers().bounce(o.recipient, "hard", o.answer)
        self._bounces_noted[issue_id] = len(outcomes)

    def new_issue(self, plan: DigestPlan, recipients: list[str]) -> NewIssue:
        rendered = plan.rendered
        assert rendered is not None
        return NewIssue(
            digest_date=plan.digest.date.isoformat(),
            subject=rendered.subject,
            preheader=rendered.preheader,
            html=rendered.html,
            text=rendered.text,
            stories=[
                FrozenStory(s.article.title, s.lead, s.article.url, s.section, s.tellings)
                for s in plan.stories
            ],
            recipients=recipients,
            rates=[
                (r.pair, str(r.rate), str(r.change_pct), r.date.isoformat() if r.date else None)
                for r in plan.digest.rates
            ],
            slot=self.slot,
        )

    # --- the run's end: one status, one message, from one tally -----------------------------

    def tally(self) -> Tally:
        return Tally.of(self.log.outcomes, self.own_issue)

    def finish_own(self, plan: DigestPlan) -> RunReport:
        tally = self.tally()
        own = len(tally.own)
        parts = [*self.notes, f"sent to {tally.own_sent} of {own} recipients"]
        if tally.deferred:
            parts.append("deferred readers are tried again by the next run")
        if tally.own_sent == own:
            status = RunStatus.DELIVERED
        else:
            status = RunStatus.PARTLY_DELIVERED if tally.own_sent else RunStatus.FAILED
        return self._record(RunReport(status, plan, "; ".join(parts), self.own_issue, tally))

    def finish_helping(self, message: str) -> RunReport:
        """This run froze nothing: it helped send another sender's issue."""
        tally = self.tally()
        status = RunStatus.DELIVERED if tally.sent else RunStatus.EMPTY
        return self._without_issue(status, message, tally, None)

    def finish_without_issue(self, status: RunStatus, message: str) -> RunReport:
        """Nothing new (the plan shows why), or new articles wait for an earlier issue."""
        plan = self.plan if status == RunStatus.EMPTY else None
        return self._without_issue(status, message, self.tally(), plan)

    def _without_issue(
        self, status: RunStatus, message: str, tally: Tally, plan: DigestPlan | None
    ) -> RunReport:
        parts = [*self.notes, message]
        if status == RunStatus.EMPTY and not tally.everything:
            parts[-1] += ": nothing sent"
        return self._record(RunReport(status, plan, "; ".join(parts), None, tally))

    def _record(self, report: RunReport) -> RunReport:
        """The run's end, recorded with the run; an issue that reached readers updates the
        archive."""
        tally = report.tally
        forgot = forget_old_readers(self.config, self.store)
        if forgot:
            report.message = f"{report.message}; {forgot}"
        self.store.finish_run(
            self.run_id, report.status, report.chosen, tally.sent, tally.failed, report.message
        )
        if tally.sent:  # an issue reached readers: its archive page (when `archive:` is set)
            notes = report.plan.notes if report.plan is not None else self.notes
            refresh_archive(self.config, self.store, notes)
        return report

    def _interrupted(self, error: DeliveryError) -> RunReport:
        """The relay went away after some messages went out: partly delivered, not failed;
        the readers not reached stay pending for the next run. Those reached have the issue:
        its archive page is there for their "View in browser"."""
        tally = self.tally()
        refresh_archive(self.config, self.store, self.notes)
        reason = str(error.message).split(";")[0]
        message = "; ".join(
            [
                *self.notes,
                f"sent to {counted(tally.sent, 'reader')}, then stopped: {reason}",
                "the readers not reached yet stay pending: the next `digest run` sends to them",
            ]
        )
        plan = self.plan if self.own_issue is not None else None
        report = RunReport(
            RunStatus.PARTLY_DELIVERED, plan, message, self.own_issue, tally, interrupted=True
        )
        self.store.finish_run(
            self.run_id, report.status, report.chosen, tally.sent, tally.failed, message
        )
        return report

    def _finish_quietly(self, status: RunStatus, message: str) -> None:
        """Record the run's end when the state still takes writes; never hide the error."""
        try:
            self.store.finish_run(self.run_id, status, message=message)
        except StateWriteError:
            pass


class _IssueProgress:
    """How many readers an issue has left to send to (`total`), and one progress line for
    them across the calls of deliver_batches."""

    def __init__(self, meter, store: Storage, issue_id: int):
        self.meter, self.done = meter, 0
        counts = store.delivery_counts(issue_id)
        self.total = counts.get(DeliveryStatus.PENDING, 0) + counts.get(DeliveryStatus.RETRYING, 0)

    def callback(self):
        """What one call of deliver_batches reports its progress to, counted on from the
        calls before it."""
        if self.meter is None:
            return None
        start = self.done

        def show(done: int, _total: int) -> None:
            self.done = start + done
            self.total = max(self.total, self.done)
            self.meter(self.done, self.total)

        return show


def _records_again(issue: Issue) -> list:
    """What to remember of an issue frozen by an earlier run: its stories' records, the
    fingerprints computed again from the frozen tellings."""
    return sent_records([list(s.tellings) for s in rules.stories_of(issue)])


def forget_old_readers(config: Config, store: Storage) -> str:
    """Rule 9 (exactly_once.py) at a run's end: what it did, for the run's message. The run
    stands whatever happens here; what is not forgotten now is by the next run."""
    days = config.state_deliveries_days
    if days is None:
        return ""
    try:
        forgot = rules.forget_readers(store, days)
    except DigestError as e:
        return f"readers' rows of old issues not forgotten: {e.message}"
    if not forgot.rows:
        return ""
    issues = counted(forgot.issues, "issue")
    return (
        f"forgot {forgot.rows} readers' rows of {issues} frozen over {days} days ago "
        "(state_deliveries_days; their counts are kept)"
    )


def refresh_archive(config: Config, store: Storage, notes: list[str]) -> None:
    """After a delivery, when `archive:` is set. The issue is out and recorded: a failure
    here is a warning, never a failed run (nor a reason to send again)."""
    if config.archive is None:
        return
    try:
        write_archive(
            store,
            config.archive_folder(),
            title=config.title,
            url=config.archive.url,
            keep=config.archive.keep,
            language=config.language,
            web_url=config.web.url if config.web else None,
        )
    except Exception as e:  # noqa: BLE001 - whatever went wrong, the delivery stands
        why = e.message if isinstance(e, DigestError) else f"{type(e).__name__}: {e}"
        note = f"the archive was not updated: {why}"
        if note not in notes:  # a long list's issue is published twice (send.claimed_batches)
            notes.append(note)
