"""One cycle: read → select → summarize → render → deliver → record.

Preview is the same cycle without the last two steps, over a read-only view of the state.
The CLI and the scheduler call only this module.
"""

from __future__ import annotations

import datetime as dt
import html
import json
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
    Paragraph,
    Problem,
    ReadResult,
    RenderedDigest,
    Selection,
)

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

    @property
    def exit_code(self) -> int:
        return 1 if self.status in ("failed", "deferred") else 0

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


class StoreDeliveryLog:
    """deliver.DeliveryLog over today's Store (until digest/state/ implements it): tokens
    in one go, each outcome committed the moment deliver records it."""

    def __init__(self, store):
        self.store = store

    def tokens(self, recipients):
        return self.store.tokens_for(list(recipients))

    def record(self, issue_id, outcomes):
        self.store.set_deliveries(
            issue_id, [(o.recipient, o.status, o.answer, o.message_id) for o in outcomes]
        )


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
    from .history import History
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
    selection = select(read.articles, History(store.conn), config.selection, as_of=as_of)
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


def shown_source(article: Article) -> str:
    """The source as readers see it: its name, else its site's host; never a file name."""
    from urllib.parse import urlsplit

    if article.source_name:
        return article.source_name
    for url in (article.source_link, article.source):
        parts = urlsplit(url or "")
        if parts.scheme in ("http", "https") and parts.hostname:
            return parts.hostname.removeprefix("www.")
    return ""


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
                shown_source(a),
                a.url,
                a.date,
                source_link=a.source_link,
                also=tuple(getattr(chosen, "also", ())),
            )
        )
    rates_source = None
    if rows:
        rates_source = (source_names or {}).get(rows[0].source) or shown_source(
            Article("", (), rows[0].source)
        )
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
    from .store import Store

    with Store.open(config.state, readonly=True) as store:
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
    """One full cycle. Finishes an interrupted issue first, then picks new articles."""
    from .deliver import deliver_issue
    from .history import remember
    from .progress import meter
    from .recipients import load_recipients, nobody_to_send_to
    from .store import Store, dumps, run_lock

    if dry_run:
        with Store.open(config.state, readonly=True) as store:
            prepared = prepare(config, store, as_of)
            unsubscribed = store.unsubscribed()
        recipients, problems = load_recipients(config.delivery, unsubscribed)
        prepared.notes.extend(str(p) for p in problems)
        prepared.notes.extend(postal_address_note(config))
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

    with run_lock(config.state), Store.open(config.state) as store:
        store.close_killed_runs()
        run_id = store.start_run(slot)
        try:
            resumed = _resume(config, store)
            waiting = _waiting_issue(store)
            if waiting is not None:
                message = (
                    f"issue {waiting['id']} ({waiting['subject']!r}) still waits for deferred "
                    "readers and nobody has it yet: new articles wait for it"
                )
                store.finish_run(run_id, "deferred", message=message)
                return RunReport("deferred", None, message=message, resumed=resumed)
            prepared = prepare(config, store, as_of, run_id)
            if prepared.rendered is None:
                message = "nothing new since the last digest: nothing sent"
                store.finish_run(run_id, "empty", message=message)
                if any(o["status"] == "sent" for o in resumed):
                    _refresh_archive(config, store, prepared.notes)
                return RunReport("empty", prepared, message=message, resumed=resumed)
            recipients, problems = load_recipients(config.delivery, store.unsubscribed())
            prepared.notes.extend(str(p) for p in problems)
            prepared.notes.extend(postal_address_note(config))
            if not recipients:
                raise nobody_to_send_to(config.delivery, problems)
            chosen = prepared.selection.chosen
            stories = [[c.article, *c.tellings] for c in chosen]
            issue_id = _freeze(store, run_id, prepared, recipients, stories, dumps)
            outcomes = [
                o.to_json()
                for o in deliver_issue(
                    config.delivery,
                    StoreDeliveryLog(store),
                    issue_id,
                    prepared.rendered,
                    recipients,
                    progress=meter("sending", "messages"),
                )
            ]
            sent = sum(1 for o in outcomes if o["status"] == "sent")
            failed = len(outcomes) - sent
            _settle(store, issue_id, lambda: prepared.selection.records, remember)
            status = "delivered" if not failed else "partly-delivered" if sent else "failed"
            message = f"sent to {sent} of {len(outcomes)} recipients"
            if any(o["status"] == "retrying" for o in outcomes):
                message += "; deferred readers are tried again by the next run"
            store.finish_run(run_id, status, len(chosen), sent, failed, message)
            if sent:
                _refresh_archive(config, store, prepared.notes)
            return RunReport(status, prepared, outcomes, message, issue_id, resumed)
        except BaseException as e:
            store.finish_run(run_id, "failed", message=str(e) or type(e).__name__)
            raise


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
    from .store import Store

    settings = config.archive
    with Store.open(config.state, readonly=True) as store:
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


def _freeze(
    store,
    run_id: int,
    prepared: Prepared,
    recipients: list[str],
    stories: list[list[Article]],
    dumps,
) -> int:
    """Issue, recipients and rates written in one transaction before anything is sent."""
    rendered = prepared.rendered
    report = RunReport("sending", prepared).to_json()
    with store.transaction() as tx:
        cur = tx.execute(
            "INSERT INTO issues(run_id, created_at, digest_date, subject, preheader, html, text, "
            "report, articles, status) VALUES (?, datetime('now'), ?, ?, ?, ?, ?, ?, ?, "
            "'sending')",
            (
                run_id,
                prepared.digest.date.isoformat(),
                rendered.subject,
                rendered.preheader,
                rendered.html,
                rendered.text,
                dumps(report),
                dumps([[_article_json(a) for a in story] for story in stories]),
            ),
        )
        issue_id = int(cur.lastrowid)
        tx.executemany(
            "INSERT INTO deliveries(issue_id, recipient, status, updated_at) "
            "VALUES (?, ?, 'pending', datetime('now'))",
            [(issue_id, r) for r in recipients],
        )
        tx.executemany(
            "INSERT INTO rate_history(issue_id, pair, rate, change_pct, quoted_on) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (
                    issue_id,
                    r.pair,
                    str(r.rate),
                    str(r.change_pct),
                    r.date.isoformat() if r.date else None,
                )
                for r in prepared.digest.rates
            ],
        )
    return issue_id


def _settle(store, issue_id: int, records, remember) -> None:
    """Stories count as sent once one reader has the issue; otherwise they stay available.
    `records()` gives what to remember (the selection's, or made again from a frozen issue).

    The issue is done when nobody is left pending: delivered if anyone has it, else failed
    (and its articles go back to the pool)."""
    pending = store.pending_recipients(issue_id)
    with store.transaction() as tx:
        sent = store.sent_count(issue_id)
        remembered = tx.execute(
            "SELECT 1 FROM sent_articles WHERE issue_id=? LIMIT 1", (issue_id,)
        ).fetchone()
        if sent and not remembered:
            remember(tx, issue_id, records())
        status = "sending" if pending else ("delivered" if sent else "failed")
        tx.execute("UPDATE issues SET status=? WHERE id=?", (status, issue_id))


def _waiting_issue(store):
    """An open issue nobody has yet: its articles are not remembered, so a new issue could
    pick them again. Until it is settled, nothing new is frozen."""
    return next((i for i in store.open_issues() if not store.sent_count(i["id"])), None)


def _resume(config: Config, store) -> list[dict]:
    """Finish the issues killed or deferred runs left half-sent, oldest first, before
    anything new. A reader deferred in MAX_DEFERRED_RUNS runs is given up on."""
    from .deliver import deliver_issue, normalize_address
    from .history import remember
    from .progress import meter
    from .select import sent_records

    unsubscribed = {(normalize_address(u) or u).lower() for u in store.unsubscribed()}
    outcomes: list[dict] = []
    for issue in store.open_issues():
        rendered = RenderedDigest(
            issue["subject"], issue["preheader"], issue["html"], issue["text"]
        )
        pending = []
        for recipient in store.pending_recipients(issue["id"]):
            if recipient.lower() in unsubscribed:
                store.set_delivery(issue["id"], recipient, "failed", "unsubscribed before delivery")
            else:
                pending.append(recipient)
        try:
            if pending:
                sent = deliver_issue(
                    config.delivery,
                    StoreDeliveryLog(store),
                    issue["id"],
                    rendered,
                    pending,
                    progress=meter("sending", "messages"),
                )
                outcomes += [o.to_json() for o in sent]
        finally:  # also when the relay fails mid-way: what was tried is settled
            store.give_up_deferred(issue["id"], MAX_DEFERRED_RUNS)
            frozen = issue["articles"]
            _settle(store, issue["id"], lambda f=frozen: sent_records(_stories(f)), remember)
    return outcomes


def _article_json(a: Article) -> dict:
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


def _stories(frozen: str) -> list[list[Article]]:
    """The stories of a frozen issue: lists of tellings (an issue frozen by an older digest
    holds one article per story)."""
    return [
        [_article_from_json(a) for a in (item if isinstance(item, list) else [item])]
        for item in json.loads(frozen)
    ]


def _article_from_json(d: dict) -> Article:
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
