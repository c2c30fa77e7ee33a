"""The report of a run or a preview, and its JSON: what `--json` prints, built here only.

`RunReport.to_json()` is the contract scripts read (DESIGN.md: `preview --json`, `run
--json`); it carries `"version": REPORT_VERSION`, raised when a key changes meaning or goes
away (new keys do not raise it). Issues do not store this JSON: they keep their own record
(state/frozen.py), so this one may change without changing what issues store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from .deliver import Outcome
from .state.models import DeliveryStatus, RunStatus

if TYPE_CHECKING:
    from .plan import DigestPlan

REPORT_VERSION = 1


@dataclass(frozen=True)
class Tally:
    """What a run's deliveries came to: its own issue's, and the older issues it finished."""

    own: tuple[Outcome, ...] = ()
    resumed: tuple[Outcome, ...] = ()

    @classmethod
    def of(cls, by_issue: dict[int, Sequence[Outcome]], own_issue: int | None) -> Tally:
        own = tuple(by_issue.get(own_issue, ())) if own_issue is not None else ()
        resumed = tuple(o for i, v in by_issue.items() if i != own_issue for o in v)
        return cls(own, resumed)

    @property
    def everything(self) -> tuple[Outcome, ...]:
        return self.resumed + self.own

    @property
    def sent(self) -> int:
        return _count(self.everything, DeliveryStatus.SENT)

    @property
    def failed(self) -> int:
        """Everything not sent: refused, or deferred to the next run."""
        return len(self.everything) - self.sent

    @property
    def own_sent(self) -> int:
        return _count(self.own, DeliveryStatus.SENT)

    @property
    def own_failed(self) -> int:
        """This run's own issue: readers not reached (refused, or deferred to the next run)."""
        return len(self.own) - self.own_sent

    @property
    def deferred(self) -> bool:
        return any(o.status == DeliveryStatus.RETRYING for o in self.everything)


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _count(outcomes: Sequence[Outcome], status: str) -> int:
    return sum(1 for o in outcomes if o.status == status)


@dataclass
class RunReport:
    status: RunStatus
    plan: DigestPlan | None = None
    message: str = ""
    issue_id: int | None = None  # the issue this run froze
    tally: Tally = field(default_factory=Tally)
    interrupted: bool = False  # the relay went away mid-way: the rest waits for the next run
    would_send: list[str] = field(default_factory=list)  # a dry run's recipients

    @property
    def chosen(self) -> int:
        """The stories of the digest this run planned (0 when it planned none)."""
        return len(self.plan.stories) if self.plan is not None else 0

    @property
    def exit_code(self) -> int:
        failed = self.status in (RunStatus.FAILED, RunStatus.DEFERRED)
        return 1 if failed or self.interrupted else 0

    @property
    def delivered(self) -> list[dict]:
        """This run's own issue, reader by reader (dry run: who it would go to)."""
        dry = [{"recipient": r, "status": str(RunStatus.DRY_RUN)} for r in self.would_send]
        return dry + [_outcome_json(o) for o in self.tally.own]

    @property
    def not_reached(self) -> list[str]:
        """Each reader this run did not reach, of its own issue or an older one, with the
        relay's answer: what `run` prints and the scheduler logs, once each."""
        return [
            f"{o.recipient}: {o.status}" + (f" ({o.answer})" if o.answer else "")
            for o in self.tally.everything
            if o.status != DeliveryStatus.SENT
        ]

    @property
    def resumed(self) -> list[dict]:
        """Deliveries finishing issues earlier runs began."""
        return [_outcome_json(o) for o in self.tally.resumed]

    @property
    def warnings(self) -> list[str]:
        """What `run` and `preview` print as warnings (and the scheduler logs): the sources'
        problems, then the notes."""
        if self.plan is None:
            return []
        return [str(x) for x in self.plan.read.problems] + list(self.plan.notes)

    def to_json(self) -> dict:
        p = self.plan
        chosen, skipped, rates, subject, problems, notes = [], [], [], None, [], []
        if p is not None:
            chosen = [
                {
                    "title": s.article.title,
                    "lead": s.lead,
                    "source": s.article.shown_source,
                    "line": s.article.line,
                    "url": s.article.url,
                    "section": s.section,
                    "also": [
                        {"title": t.title, "source": t.source, "url": t.url} for t in s.chosen.also
                    ],
                    "date": _iso(s.chosen.first_told.date),  # when its sources first told it
                    "listed": s.chosen.first_told.listed,  # that date is a listing page's
                }
                for s in p.stories
            ]
            skipped = [
                {
                    "title": s.article.title,
                    "reason": s.reason,
                    "duplicate_of": s.duplicate_of,
                    "rule": s.rule,
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
            "version": REPORT_VERSION,
            "status": str(self.status),
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


def _outcome_json(o: Outcome) -> dict:
    return {"recipient": o.recipient, "status": str(o.status), "answer": o.answer}


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)
