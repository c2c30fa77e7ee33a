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
   reader has it. When nobody is left to try, the issue is `delivered` if anyone has it, else
   `failed` and its articles go back to the pool.
7. **Nobody has it yet.** An open issue that no reader has yet (its articles are not
   remembered) holds back every new issue, so no article can go out twice in two issues.
8. **Deferred readers.** A reader the relay defers (4xx) is tried once per run, and given up
   (`failed`) after MAX_DEFERRED_RUNS runs. Readers who unsubscribed before delivery are
   marked failed, never sent.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import DigestError, SlotDoneError
from ..models import Article, Paragraph
from .models import DeliveryStatus, Issue, IssueStatus, NewIssue, RunStatus
from .store import Store, now

MAX_DEFERRED_RUNS = 3
# Readers per claim. SQLite has one sender: it claims the whole issue at once.
BATCH = 100

P, C, S, R, F = (
    DeliveryStatus.PENDING,
    DeliveryStatus.CLAIMED,
    DeliveryStatus.SENT,
    DeliveryStatus.RETRYING,
    DeliveryStatus.FAILED,
)

# SQL: does run `r` count for its slot? Not when it failed or was killed before it froze an
# issue (nothing was sent then, so the slot may run again).
_COUNTS = (
    "NOT (r.status IN ('failed', 'killed') "
    "AND NOT EXISTS (SELECT 1 FROM issues i WHERE i.run_id = r.id))"
)


class LeaseLost(DigestError):
    """This sender's claim ran out and others may have taken its readers: stop the batch."""


# --- 1, 2: runs and slots ------------------------------------------------------------------


@dataclass(frozen=True)
class RunStart:
    id: int
    helps: int | None = None  # the run that serves this run's slot (another live sender)


def start_run(store: Store, slot: str | None = None) -> int:
    return begin_run(store, slot).id


def begin_run(store: Store, slot: str | None = None) -> RunStart:
    """Record a run (this process as its sender). A slot whose earlier run counts refuses
    (SlotDoneError), unless that run is another live sender's, still at work: then this run
    helps send the slot's issue. A slot whose run failed before freezing an issue is released
    for this one."""
    db = store.db
    helps, message = None, None
    with db.transaction() as tx:
        tx.lock_in_transaction("runs")
        if slot is not None:
            owner = tx.fetchone(
                f"SELECT r.id, r.status FROM runs r WHERE slot=? AND {_COUNTS}", (slot,)
            )
            if owner is not None:
                if not _alive_elsewhere(store, owner[0], owner[1]):
                    raise SlotDoneError(
                        f"slot {slot} has already run: nothing to do",
                        "each slot runs once; `digest history` shows its run",
                    )
                # another live sender serves the slot: help send its issue (once frozen)
                helps = owner[0]
                message = f"helps send slot {slot}'s issue (run {owner[0]})"
                slot = None
            else:
                tx.execute(
                    "UPDATE runs SET slot=NULL, message=coalesce(message || '; ', '') || "
                    "'slot ' || slot || ' released for a new run' WHERE slot=?",
                    (slot,),
                )
        run_id = tx.insert(
            "INSERT INTO runs(started_at, slot, status, sender, message) VALUES (?, ?, ?, ?, ?)",
            (now(), slot, RunStatus.RUNNING, store.sender, message),
        )
        if db.dialect == "postgresql":
            # held while this process lives; taken before the run is visible to others
            db.session_lock(run_id)
            store.live_runs.add(run_id)
    return RunStart(run_id, helps)


def _alive_elsewhere(store: Store, run_id: int, status: str) -> bool:
    """Is this run at work in another live process (PostgreSQL: it holds its lock)?"""
    if status != RunStatus.RUNNING or store.db.dialect != "postgresql":
        return False
    if run_id in store.live_runs:
        return False
    if store.db.try_session_lock(run_id):
        store.db.session_unlock(run_id)
        return False
    return True


def issue_of_run(store: Store, run_id: int, wait: float = 0.0) -> Issue | None:
    """The issue a run froze; waits up to `wait` seconds while that run lives and has not
    frozen one yet."""
    deadline = time.monotonic() + wait
    while True:
        row = store.db.fetchone("SELECT id FROM issues WHERE run_id=?", (run_id,))
        if row is not None:
            return store.issue(row[0])
        run = store.run(run_id)
        if run is None or run.status != RunStatus.RUNNING or time.monotonic() > deadline:
            return None
        time.sleep(0.25)


def end_run(store: Store, run_id: int) -> None:
    if run_id in store.live_runs:
        store.live_runs.discard(run_id)
        store.db.session_unlock(run_id)


def close_killed_runs(store: Store) -> int:
    """Runs left `running` by a dead process: marked killed, their claims released."""
    if not store.has_schema():
        return 0
    db = store.db
    running = [
        r[0] for r in db.fetchall("SELECT id FROM runs WHERE status=?", (RunStatus.RUNNING,))
    ]
    if db.dialect == "postgresql":
        dead = []
        for run_id in running:
            if run_id in store.live_runs:
                continue
            if db.try_session_lock(run_id):  # nobody holds it: that run's process is gone
                db.session_unlock(run_id)
                dead.append(run_id)
    else:  # the caller holds the run lock: no other run lives
        dead = running
    if not dead:
        return 0
    marks = ",".join("?" * len(dead))
    with db.transaction() as tx:
        tx.execute(
            f"UPDATE deliveries SET status=?, sender=NULL, lease_until=NULL "
            f"WHERE status=? AND run_id IN ({marks})",
            (P, C, *dead),
        )
        return tx.execute(
            f"UPDATE runs SET status=?, finished_at=? WHERE status=? AND id IN ({marks})",
            (RunStatus.KILLED, now(), RunStatus.RUNNING, *dead),
        ).rowcount


def slot_has_run(store: Store, slot: str) -> bool:
    """A run counts for its slot unless it failed (or was killed) before freezing an issue."""
    if not store.has_schema():
        return False
    row = store.db.fetchone(f"SELECT 1 FROM runs r WHERE slot=? AND {_COUNTS}", (slot,))
    return row is not None


# --- 3: freeze -----------------------------------------------------------------------------


def newest_issue_id(store: Store) -> int:
    if not store.has_schema():
        return 0
    return store.db.scalar("SELECT max(id) FROM issues") or 0


def freeze(store: Store, run_id: int, new: NewIssue, seen: int) -> int | None:
    """Issue, recipients and rates in one transaction, before anything is sent. None when
    another sender froze an issue since this run looked (`seen`, the newest issue id then),
    or one for the same slot: that issue is the one to send."""
    with store.db.transaction() as tx:
        tx.lock_in_transaction("freeze")
        if newest_issue_id(store) != seen:
            return None
        if new.slot and tx.fetchone("SELECT 1 FROM issues WHERE slot=?", (new.slot,)):
            return None
        stamp = now()
        issue_id = tx.insert(
            "INSERT INTO issues(run_id, created_at, digest_date, subject, preheader, html, "
            "text, report, articles, status, slot, article_count) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                stamp,
                new.digest_date,
                new.subject,
                new.preheader,
                new.html,
                new.text,
                dumps(new.report),
                dumps([[article_json(a) for a in story] for story in new.stories]),
                IssueStatus.SENDING,
                new.slot,
                len(new.stories),
            ),
        )
        tx.executemany(
            "INSERT INTO deliveries(issue_id, recipient, status, updated_at) VALUES (?, ?, ?, ?)",
            [(issue_id, r, P, stamp) for r in new.recipients],
        )
        tx.executemany(
            "INSERT INTO rate_history(issue_id, pair, rate, change_pct, quoted_on) "
            "VALUES (?, ?, ?, ?, ?)",
            [(issue_id, *rate) for rate in new.rates],
        )
    return issue_id


# --- 4: claim, send, record ----------------------------------------------------------------

_CLAIMABLE = (
    "issue_id=? AND (status=? OR (status=? AND (run_id IS NULL OR run_id<>?)) "
    "OR (status=? AND lease_until<?))"
)


def claim(store: Store, issue_id: int, run_id: int, limit: int | None = None) -> list[str]:
    """A batch of the issue's readers nobody has yet, claimed for this sender: pending ones
    in the order they were frozen, then those deferred in an earlier run, and those whose
    claim by another sender ran out."""
    db = store.db
    if limit is None:
        limit = BATCH if db.dialect == "postgresql" else 10**9
    stamp = now()
    params = (issue_id, P, R, run_id, C, stamp)
    with db.transaction() as tx:
        if db.dialect == "postgresql":
            rows = tx.fetchall(
                f"SELECT recipient FROM deliveries WHERE {_CLAIMABLE} "
                "ORDER BY status = ?, recipient LIMIT ? FOR UPDATE SKIP LOCKED",
                (*params, R, limit),
            )
        else:
            rows = tx.fetchall(
                f"SELECT recipient FROM deliveries WHERE {_CLAIMABLE} "
                "ORDER BY status = ?, rowid LIMIT ?",
                (*params, R, limit),
            )
        batch = [r[0] for r in rows]
        tx.executemany(
            "UPDATE deliveries SET status=?, sender=?, run_id=?, lease_until=? "
            "WHERE issue_id=? AND recipient=?",
            [(C, store.sender, run_id, now(store.lease_seconds), issue_id, r) for r in batch],
        )
    return batch


def others_claims(store: Store, issue_id: int, run_id: int) -> int:
    """How many of the issue's readers other senders hold live claims on."""
    return store.db.scalar(
        "SELECT count(*) FROM deliveries WHERE issue_id=? AND status=? AND run_id<>? "
        "AND lease_until>=?",
        (issue_id, C, run_id, now()),
    )


def release(store: Store, issue_id: int, run_id: int) -> None:
    """This run's claimed readers not sent (the batch ended early): pending again."""
    with store.db.transaction() as tx:
        tx.execute(
            "UPDATE deliveries SET status=?, lease_until=NULL "
            "WHERE issue_id=? AND run_id=? AND status=?",
            (P, issue_id, run_id, C),
        )


class DeliveryLog:
    """What delivery records into: tokens for recipients, each outcome as it happens.

    Implements deliver.DeliveryLog (`tokens`, `record`), and the older `token_for` /
    `set_delivery` pair. Outcomes may be deliver.Outcome objects or dicts."""

    def __init__(
        self, store: Store, run_id: int | None = None, clock: Callable[[], float] = time.monotonic
    ):
        self.store, self.run_id, self.clock = store, run_id, clock
        self.lease = store.lease_seconds
        self.claimed_at = clock()
        self.outcomes: dict[int, list[Any]] = {}  # what this run recorded, by issue
        self._tokens: dict[str, str] = {}  # the claimed batch's

    def claimed(self, batch: Sequence[str] = ()) -> None:
        """A new batch was claimed: its lease starts now; its tokens are fetched at once."""
        self.claimed_at = self.clock()
        self._tokens = self.store.tokens_for(list(batch)) if batch else {}

    def tokens(self, recipients: Sequence[str]) -> dict[str, str]:
        known = self._tokens
        if all(r in known for r in recipients):
            return {r: known[r] for r in recipients}
        return self.store.tokens_for(list(recipients))

    def token_for(self, recipient: str) -> str:
        known = self._tokens
        return known[recipient] if recipient in known else self.store.token_for(recipient)

    def record(self, issue_id: int, outcomes: Iterable[Any]) -> None:
        outcomes = list(outcomes)
        self.store.set_deliveries(issue_id, [_outcome_row(o) for o in outcomes], self.run_id)
        self.outcomes.setdefault(issue_id, []).extend(outcomes)
        self._keep_lease(issue_id)

    def set_delivery(
        self,
        issue_id: int,
        recipient: str,
        status: str,
        answer: str | None = None,
        message_id: str | None = None,
    ) -> None:
        self.record(
            issue_id,
            [
                {
                    "recipient": recipient,
                    "status": status,
                    "answer": answer,
                    "message_id": message_id,
                }
            ],
        )

    def _keep_lease(self, issue_id: int) -> None:
        """Renew this sender's lease well before it ends; a lease that ended already means
        others may be sending this batch: stop."""
        age = self.clock() - self.claimed_at
        if self.store.db.dialect != "postgresql" or age < self.lease / 3:
            return
        if age >= self.lease:
            raise LeaseLost(
                f"the claim on readers of issue {issue_id} ran out ({self.lease} s) before "
                "they were sent; other senders take them over",
                "raise `state_lease_seconds` if sending a batch takes this long",
            )
        with self.store.db.transaction() as tx:
            tx.execute(
                "UPDATE deliveries SET lease_until=? WHERE issue_id=? AND run_id=? AND status=?",
                (now(self.lease), issue_id, self.run_id, C),
            )
        self.claimed_at = self.clock()


def _outcome_row(o: Any) -> tuple[str, str, str | None, str | None]:
    if isinstance(o, dict):
        return (o["recipient"], str(o["status"]), o.get("answer"), o.get("message_id"))
    return (o.recipient, str(o.status), o.answer, getattr(o, "message_id", None))


# --- 5, 6, 7, 8: resume, settle, hold back, give up ----------------------------------------


def open_issues(store: Store) -> list[Issue]:
    """The issues still being sent, oldest first: finished before anything new."""
    return store.open_issues()


def drop_unsubscribed(store: Store, issue_id: int, unsubscribed: set[str]) -> int:
    """Readers of the issue who unsubscribed before it reached them: failed, never sent."""
    gone = [r for r in store.pending_recipients(issue_id) if r.lower() in unsubscribed]
    if gone:
        store.set_deliveries(issue_id, [(r, F, "unsubscribed before delivery", None) for r in gone])
    return len(gone)


def give_up_deferred(store: Store, issue_id: int, max_runs: int = MAX_DEFERRED_RUNS) -> int:
    """Readers still deferred after `max_runs` tries: failed for good."""
    with store.db.transaction() as tx:
        return tx.execute(
            "UPDATE deliveries SET status=?, answer=coalesce(answer, '') || "
            "' (gave up after ' || attempts || ' runs)', updated_at=? "
            "WHERE issue_id=? AND status=? AND attempts>=?",
            (F, now(), issue_id, R, max_runs),
        ).rowcount


def settle(
    store: Store, issue_id: int, records: Callable[[Issue], list] | None = None
) -> IssueStatus:
    """Remember the issue's stories once one reader has it; close it when nobody is left.

    `records(issue)` makes what to remember (the selection's SentRecords); it is called only
    when something is to be remembered, once, by whichever sender settles first."""
    from .sent import remember

    db = store.db
    with db.transaction() as tx:
        tx.lock_in_transaction(f"issue:{issue_id}")
        counts = dict(
            (r[0], r[1])
            for r in tx.fetchall(
                "SELECT status, count(*) FROM deliveries WHERE issue_id=? GROUP BY status",
                (issue_id,),
            )
        )
        sent = counts.get(S, 0)
        remembered = tx.fetchone(
            "SELECT 1 FROM sent_articles WHERE issue_id=? LIMIT 1", (issue_id,)
        )
        if sent and not remembered and records is not None:
            remember(tx, issue_id, records(store.issue(issue_id)))
        left = counts.get(P, 0) + counts.get(R, 0) + counts.get(C, 0)
        status = (
            IssueStatus.SENDING if left else IssueStatus.DELIVERED if sent else IssueStatus.FAILED
        )
        tx.execute("UPDATE issues SET status=? WHERE id=?", (status, issue_id))
    return status


def waiting_issue(store: Store) -> Issue | None:
    """An open issue nobody has yet: its articles are not remembered, so a new issue could
    pick them again. Until it is settled, nothing new is frozen."""
    return next((i for i in store.open_issues() if not store.sent_count(i.id)), None)


# --- the frozen articles -------------------------------------------------------------------


def dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def article_json(a: Article) -> dict:
    return {
        "title": a.title,
        "source": a.source,
        "line": a.line,
        "url": a.url,
        "guid": a.guid,
        "date": a.date.isoformat() if a.date else None,
        "excerpt": a.excerpt,
        "source_name": a.source_name,
        "source_link": a.source_link,
        "paragraphs": [[p.text, p.kind, p.line] for p in a.paragraphs],
    }


def _article(d: dict) -> Article:
    return Article(
        title=d["title"],
        source=d["source"],
        line=d["line"],
        url=d["url"],
        guid=d["guid"],
        date=dt.date.fromisoformat(d["date"]) if d["date"] else None,
        excerpt=d["excerpt"],
        source_name=d.get("source_name"),
        source_link=d.get("source_link"),
        paragraphs=tuple(Paragraph(t, k, n) for t, k, n in d["paragraphs"]),
    )


def stories_of(issue: Issue) -> list[list[Article]]:
    """The stories frozen with an issue, each the list of its tellings (an issue frozen by an
    older digest holds one article per story)."""
    return [
        [_article(a) for a in (item if isinstance(item, list) else [item])]
        for item in json.loads(issue.articles)
    ]
