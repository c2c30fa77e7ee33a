"""Each reader gets each issue exactly once: every rule that promise rests on, in one file.

1. **Slots.** A scheduled slot runs once. A run counts for its slot unless it failed or was
   killed before freezing an issue (then nothing was sent and the slot may run again). A run
   for a slot another live sender is serving helps send that sender's issue (several
   senders, one issue) instead of being refused.
2. **Killed runs.** A run whose process died is marked `killed`, and the readers it had
   claimed go back to `pending` at once. On SQLite the run lock says no other run lives; on
   PostgreSQL each live run holds an advisory lock on its own id, which the server drops
   the moment the process dies.
3. **Freeze before sending.** The issue (subject, HTML, text, the articles), every recipient
   as `pending`, and its rates are written in one transaction before anything is sent.
   Exactly one sender freezes an issue: freezing takes a lock, and an issue frozen by
   another sender while this one was choosing articles (or one for the same slot) wins;
   this sender then helps send that one.
4. **Claim, send, record.** A sender claims a batch of undelivered readers (PostgreSQL:
   `SELECT ... FOR UPDATE SKIP LOCKED`, so senders never share a reader), marking them
   `claimed` with its name (hostname:pid) and a lease. It records each reader's outcome the
   moment the relay answers (`DeliveryLog.record`), renewing its lease as it goes. A claim
   whose lease ran out (its sender hangs or lost the database) is claimed again by another
   sender; the late sender notices at its next record and stops (at most the message in
   flight is sent twice, with the same Message-ID). Claimed readers not sent when a batch
   ends (the relay went away) are released to `pending` at once.
5. **Resume oldest first.** Before choosing anything new, a run finishes the issues still
   `sending`, oldest first, and waits while other live senders hold claims on them.
6. **Settle.** An issue's articles count as sent (remembered for the selection) once one
   reader has it: at its first acceptance in a run (a run killed after it leaves them
   remembered, so a preview meanwhile does not offer them again), else when it settles. When
   nobody is left to try, the issue is `delivered` if anyone has it, else `failed` and its
   articles go back to the pool.
7. **Nobody has it yet.** An open issue that no reader has yet (its articles are not
   remembered) holds back every new issue, so no article can go out twice in two issues.
8. **Deferred readers.** A reader the relay defers (4xx) is tried once per run, and given up
   (`failed`) after MAX_DEFERRED_RUNS runs. A run takes only readers deferred before it
   began: several senders at work never pass one another's deferred readers round. Readers
   who unsubscribed before delivery are marked failed, never sent.
9. **Forget readers of old issues.** An issue settled (`delivered` or `failed`) with nobody
   left to try, frozen more than `state_deliveries_days` ago, is never sent again: its
   readers' rows are counted into its tallies (per run, sender and status) and deleted, a
   batch a transaction, so every count reads the same before, during and after. An issue
   still `sending`, or with a reader pending, claimed or deferred, keeps every row.

The rules decide; the storage (`storage.Storage`) only stores and reads: nothing here runs
SQL or knows which database it is on beyond `storage.several_senders`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..errors import DigestError, SlotDoneError
from .frozen import decode_stories, encode_stories
from .models import DeliveryStatus, FrozenStory, Issue, IssueStatus, NewIssue, RunStatus
from .sent import SentRecord
from .storage import Storage


class ReportedOutcome(Protocol):
    """One recipient's outcome as delivery reports it (deliver.Outcome)."""

    @property
    def recipient(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def answer(self) -> str | None: ...
    @property
    def message_id(self) -> str | None: ...


MAX_DEFERRED_RUNS = 3
# Readers per claim where several senders share the state; a single sender claims them all.
BATCH = 100
EVERYONE = 10**9
# Readers' rows of old issues forgotten per transaction, and at most per run (rule 9): a
# first run after an upgrade over a year of issues spreads the work over a few runs.
FORGET_BATCH = 5_000
FORGET_PER_RUN = 1_000_000


class LeaseLost(DigestError):
    """This sender's claim ran out and others may have taken its readers: stop the batch."""


# --- 1, 2: runs and slots ------------------------------------------------------------------


@dataclass(frozen=True)
class RunStart:
    id: int
    helps: int | None = None  # the run that serves this run's slot (another live sender)


def begin_run(store: Storage, slot: str | None = None) -> RunStart:
    """Record a run (this process as its sender). A slot whose earlier run counts refuses
    (SlotDoneError), unless that run is another live sender's, still at work, or stopped
    while sending the slot's issue: then this run helps send (or finishes) that issue. A slot
    whose run failed before freezing an issue is released for this one."""
    helps, message = None, None
    with store.transaction(lock="runs"):
        if slot is not None:
            owner = store.slot_owner(slot)
            if owner is not None:
                owner_id, status = owner
                alive = status == RunStatus.RUNNING and store.run_alive_elsewhere(owner_id)
                stopped = status in (RunStatus.RUNNING, RunStatus.KILLED, RunStatus.FAILED)
                issue_id = store.issue_of_run(owner_id)
                # (an issue open only for readers deferred by their servers is no stopped run's)
                unfinished = (
                    not alive and stopped and issue_id in {i.id for i in store.open_issues()}
                )
                if not alive and not unfinished:
                    raise SlotDoneError(
                        f"slot {slot} has already run: nothing to do",
                        "each slot runs once; `digest history` shows its run",
                    )
                # Another live sender serves the slot: help send its issue (once frozen). Or
                # its run stopped while sending (killed, failed): finish sending that issue;
                # "nothing to do" had left its readers waiting for the next slot.
                helps = owner_id
                message = (
                    f"helps send slot {slot}'s issue (run {owner_id})"
                    if alive
                    else f"finishes slot {slot}'s issue {issue_id} (run {owner_id} stopped)"
                )
                slot = None
            else:
                store.release_slot(slot)
        run_id = store.insert_run(slot, RunStatus.RUNNING, message)
        store.hold_run(run_id)  # taken before the run is visible to others
    return RunStart(run_id, helps)


def issue_of_run(store: Storage, run_id: int, wait: float = 0.0) -> Issue | None:
    """The issue a run froze; waits up to `wait` seconds while that run lives and has not
    frozen one yet."""
    deadline = time.monotonic() + wait
    while True:
        issue_id = store.issue_of_run(run_id)
        if issue_id is not None:
            return store.issue(issue_id)
        run = store.run(run_id)
        if run is None or run.status != RunStatus.RUNNING or time.monotonic() > deadline:
            return None
        time.sleep(0.25)


def close_killed_runs(store: Storage) -> int:
    """Runs left `running` by a dead process: marked killed, their claims released. On
    SQLite the caller holds the run lock: no other run lives."""
    dead = [
        run_id for run_id in store.runs_with_status(RunStatus.RUNNING) if store.run_gone(run_id)
    ]
    return store.mark_killed(dead) if dead else 0


def slot_has_run(store: Storage, slot: str) -> bool:
    """A run counts for its slot unless it failed (or was killed) before freezing an issue."""
    return store.slot_owner(slot) is not None


# --- 3: freeze -----------------------------------------------------------------------------


def freeze(store: Storage, run_id: int, new: NewIssue, seen: int) -> int | None:
    """Issue, recipients and rates in one transaction, before anything is sent. None when
    another sender froze an issue since this run looked (`seen`, the newest issue id then),
    or one for the same slot: that issue is the one to send."""
    with store.transaction(lock="freeze"):
        if store.newest_issue_id() != seen:
            return None
        if new.slot and store.issue_for_slot(new.slot) is not None:
            return None
        return store.insert_issue(
            run_id,
            digest_date=new.digest_date,
            subject=new.subject,
            preheader=new.preheader,
            html=new.html,
            text=new.text,
            report="{}",
            articles=encode_stories(new.stories),
            slot=new.slot,
            article_count=len(new.stories),
            recipients=new.recipients,
            rates=new.rates,
        )


# --- 4: claim, send, record ----------------------------------------------------------------


def claim(store: Storage, issue_id: int, run_id: int, limit: int | None = None) -> list[str]:
    """A batch of the issue's readers nobody has yet, claimed for this sender: pending ones
    first, then those deferred in an earlier run, and those whose claim by another sender
    ran out."""
    if limit is None:
        limit = BATCH if store.several_senders else EVERYONE
    with store.transaction():
        batch = store.claimable(issue_id, run_id, limit)
        if store.several_senders:  # (alone, a run never takes its own claims: no lease to keep)
            # the batch before is still going out: its claims start anew with this one's, as
            # the sender's lease clock does (DeliveryLog.claimed)
            store.renew_lease(issue_id, run_id)
        store.mark_claimed(issue_id, batch, run_id)
    return batch


def others_claims(store: Storage, issue_id: int, run_id: int) -> int:
    """How many of the issue's readers other senders hold live claims on."""
    return store.others_claims(issue_id, run_id)


def release(store: Storage, issue_id: int, run_id: int) -> None:
    """This run's claimed readers not sent (the batch ended early): pending again, or
    retrying (those deferred in an earlier run, tried last)."""
    store.release_claims(issue_id, run_id)


class DeliveryLog:
    """What delivery records into (deliver.DeliveryLog): tokens for recipients, each outcome
    as it happens, this sender's lease kept while it sends."""

    def __init__(
        self, store: Storage, run_id: int | None = None, clock: Callable[[], float] = time.monotonic
    ):
        self.store, self.run_id, self.clock = store, run_id, clock
        self.lease = store.lease_seconds
        self.claimed_at = clock()
        self.outcomes: dict[int, list[ReportedOutcome]] = {}  # what this run recorded, by issue
        self._tokens: dict[str, str] = {}  # the claimed batch's
        # what to remember of an issue at its first acceptance (rule 6), by issue
        self._to_remember: dict[int, Callable[[Issue], Sequence[SentRecord]]] = {}

    def remember_at_first(
        self, issue_id: int, records: Callable[[Issue], Sequence[SentRecord]]
    ) -> None:
        """Remember the issue's stories (`records(issue)`) the moment a reader has it."""
        self._to_remember[issue_id] = records

    def claimed(self, batch: Sequence[str] = ()) -> None:
        """A new batch was claimed: its lease starts now; its tokens are fetched at once."""
        self.claimed_at = self.clock()
        self._tokens = self.store.tokens_for(list(batch)) if batch else {}

    def tokens(self, recipients: Sequence[str]) -> dict[str, str]:
        known = self._tokens
        if all(r in known for r in recipients):
            return {r: known[r] for r in recipients}
        return self.store.tokens_for(list(recipients))

    def record(self, issue_id: int, outcomes: Iterable[ReportedOutcome]) -> None:
        outcomes = list(outcomes)
        rows = [_outcome_row(o) for o in outcomes]
        self.store.set_deliveries(issue_id, rows, self.run_id)
        self.outcomes.setdefault(issue_id, []).extend(outcomes)
        if issue_id in self._to_remember and any(r[1] == DeliveryStatus.SENT for r in rows):
            remember(self.store, issue_id, self._to_remember.pop(issue_id))
        self._keep_lease(issue_id)

    def _keep_lease(self, issue_id: int) -> None:
        """Renew this sender's lease well before it ends; a lease that ended already means
        others may be sending this batch: stop."""
        age = self.clock() - self.claimed_at
        if not self.store.several_senders or age < self.lease / 3:
            return
        if age >= self.lease:
            raise LeaseLost(
                f"the claim on readers of issue {issue_id} ran out ({self.lease} s) before "
                "they were sent; other senders take them over",
                "raise `state_lease_seconds` if sending a batch takes this long",
            )
        self.store.renew_lease(issue_id, self.run_id)
        self.claimed_at = self.clock()


def _outcome_row(o: ReportedOutcome) -> tuple[str, str, str | None, str | None]:
    """A deliver.Outcome as the storage records it."""
    return (o.recipient, str(o.status), o.answer, o.message_id)


# --- 5, 6, 7, 8: resume, settle, hold back, give up ----------------------------------------


def open_issues(store: Storage) -> list[Issue]:
    """The issues still being sent, oldest first: finished before anything new."""
    return store.open_issues()


def drop_unsubscribed(store: Storage, issue_id: int, unsubscribed: set[str]) -> int:
    """Readers of the issue who unsubscribed before it reached them: failed, never sent."""
    gone = [r for r in store.pending_recipients(issue_id) if r.lower() in unsubscribed]
    if gone:
        failed = DeliveryStatus.FAILED
        store.set_deliveries(
            issue_id, [(r, failed, "unsubscribed before delivery", None) for r in gone]
        )
    return len(gone)


def give_up_deferred(
    store: Storage, issue_id: int, max_runs: int = MAX_DEFERRED_RUNS
) -> dict[str, str]:
    """Readers still deferred after `max_runs` tries: failed for good. Returns each one's
    answer as now recorded, by recipient."""
    return store.give_up_deferred(issue_id, max_runs)


def settle(
    store: Storage,
    issue_id: int,
    records: Callable[[Issue], Sequence[SentRecord]] | None = None,
) -> IssueStatus:
    """Remember the issue's stories once one reader has it; close it when nobody is left.

    `records(issue)` makes what to remember (the selection's SentRecords); it is called only
    when something is to be remembered, once, by whichever sender settles first."""
    with store.transaction(lock=f"issue:{issue_id}"):
        counts = store.delivery_counts(issue_id)
        sent = counts.get(DeliveryStatus.SENT, 0)
        if sent and records is not None:
            remember(store, issue_id, records)
        left = sum(
            counts.get(s, 0)
            for s in (DeliveryStatus.PENDING, DeliveryStatus.RETRYING, DeliveryStatus.CLAIMED)
        )
        status = (
            IssueStatus.SENDING if left else IssueStatus.DELIVERED if sent else IssueStatus.FAILED
        )
        store.set_issue_status(issue_id, status)
    return status


def remember(
    store: Storage, issue_id: int, records: Callable[[Issue], Sequence[SentRecord]]
) -> None:
    """The issue's stories remembered as sent, once, by whichever sender comes first (rule 6;
    joins an open transaction)."""
    with store.transaction(lock=f"issue:{issue_id}"):
        if not store.remembered(issue_id):
            store.remember(issue_id, records(store.issue(issue_id)))


def waiting_issue(store: Storage) -> Issue | None:
    """An open issue nobody has yet: its articles are not remembered, so a new issue could
    pick them again. Until it is settled, nothing new is frozen."""
    return next((i for i in store.open_issues() if not store.sent_count(i.id)), None)


def stories_of(issue: Issue) -> list[FrozenStory]:
    """The stories frozen with an issue."""
    return decode_stories(issue.articles, issue.report)


# --- 9: forget readers of old issues -------------------------------------------------------


@dataclass(frozen=True)
class Forgotten:
    issues: int  # issues whose readers' rows all went
    rows: int


def forget_readers(
    store: Storage, days: int, batch: int = FORGET_BATCH, most: int = FORGET_PER_RUN
) -> Forgotten:
    """The readers' rows of issues settled and frozen more than `days` ago, counted into
    their tallies and deleted, `batch` rows a transaction, at most about `most` rows a call."""
    before = store.now(-days * 86400)
    issues = rows = 0
    for issue_id in store.issues_to_forget(before):
        while rows < most:
            done = store.forget_deliveries(issue_id, batch)
            rows += done
            if done < batch:
                issues += 1
                break
        else:  # the run's share is done; its last full batch may have been the issue's last
            issues += issue_id not in store.issues_to_forget(before)
            break
    return Forgotten(issues, rows)
