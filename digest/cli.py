"""The `digest` command: a thin layer over the library.

Each command is a few lines that call the pipeline. Errors the user can act on are
DigestErrors, turned into one line on stderr and an exit code in one place (`main`).
Heavy stages are imported inside the commands, so `digest --help` stays fast.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from . import __version__, progress
from .errors import ConfigError, DigestError, SlotDoneError, UsageError
from .paths import DEFAULT_CONFIG

_loaded: list = []  # the config this command loaded: its errors found later name its lines


def _load(ctx: click.Context):
    from .config import load_config

    config = load_config(ctx.obj["config"])
    _loaded[:] = [config]
    return config


MAX_LISTED = 100_000  # --next, --limit: more is no list anyone reads (or SQLite's integers hold)
NOT_SENT_SHOWN = 10  # `history`: readers an issue did not reach, listed without --readers


def _as_of(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--as-of: {value!r} is not a date like 2025-12-08") from None
    if not 1900 <= day.year <= 9000:
        raise UsageError(f"--as-of: {value!r} is outside the years 1900 to 9000")
    return day


def print_json(data: object) -> None:
    # written a piece at a time as it is encoded: `history --json` of a large list is
    # hundreds of MB, and json.dumps held it all, in millions of pieces, before the join
    out = sys.stdout
    pieces: list[str] = []
    for piece in json.JSONEncoder(ensure_ascii=False, indent=2, default=str).iterencode(data):
        pieces.append(piece)
        if len(pieces) == 8192:
            out.write("".join(pieces))
            pieces.clear()
    out.write("".join(pieces) + "\n")


def _warn(lines) -> None:
    for line in lines:
        click.echo(f"warning: {line}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="digest")
@click.option(
    "--config",
    "config_path",
    default=str(DEFAULT_CONFIG),
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The YAML configuration file.",
)
@click.pass_context
def cli(ctx: click.Context, config_path: str) -> None:
    """Newsletter digests from news pages and feeds: preview, send, schedule."""
    ctx.ensure_object(dict)
    ctx.obj["config"] = config_path


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def parse(paths: tuple[str, ...], as_json: bool) -> None:
    """What the readers extract from source files: articles and rate quotes."""
    from .errors import InputError
    from .sources import read_paths
    from .text import counted

    result = read_paths(paths)
    _warn(result.problems)
    if as_json:
        print_json(
            {
                "articles": [
                    {
                        "title": a.title,
                        "text": a.text,
                        "source": a.source,
                        "line": a.line,
                        "date": (a.published or a.date).isoformat() if a.date else None,
                        "url": a.url,
                    }
                    for a in result.articles
                ],
                "rates": [
                    {
                        "pair": q.pair,
                        "rate": float(q.rate),
                        "change_pct": float(q.change_pct),
                        "source": q.source,
                    }
                    for q in result.rates
                ],
                "problems": [str(p) for p in result.problems],
            }
        )
    else:
        for a in result.articles:
            date = a.date.isoformat() if a.date else "undated"
            click.echo(f"{date}  {a.where}  {a.title}")
        for q in result.rates:
            date = q.date.isoformat() if q.date else "undated"
            click.echo(f"{date:10}  {q.pair} = {q.rate} ({q.change_pct:+}%)  {q.source}")
        click.echo(
            f"{counted(len(result.articles), 'article')}, "
            f"{counted(len(result.rates), 'rate quote')}, {counted(len(result.problems), 'problem')}"
        )
    if result.sources_read == 0:
        raise InputError("nothing could be read from the given paths")


@cli.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Folder for digest.html, digest.txt and digest.eml [default: var/preview in the "
    "project folder: above config/ when the config sits in config/, else beside the config].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the selection report as JSON.")
@click.option("--as-of", help="Digest as on this date (YYYY-MM-DD) instead of the newest.")
@click.option("--serve", is_flag=True, help="Serve the preview on 127.0.0.1 until Ctrl-C.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    help="Port for --serve [default: a free one].",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the preview in a browser.")
@click.pass_context
def preview(
    ctx: click.Context,
    out_dir: str | None,
    as_json: bool,
    as_of: str | None,
    serve: bool,
    port: int,
    open_browser: bool,
) -> None:
    """The next digest, without sending or recording anything."""
    from . import pipeline

    config = _load(ctx)
    folder = config.preview_folder(Path(out_dir) if out_dir else None)
    with progress.shown(enabled=not as_json):
        report, paths = pipeline.preview(config, folder, _as_of(as_of))
    _warn(report.warnings)  # as `run` does
    if as_json:
        print_json(report.to_json())
    else:
        for path in paths:
            click.echo(str(path))
        click.echo(report.message)
    if paths and (serve or open_browser):
        from .preview_server import open_in_browser, serve_folder

        if serve:
            serve_folder(folder, port, open_browser, archive=config.archive_folder())
        else:
            click.echo(open_in_browser(paths[0].resolve().as_uri()))


@cli.command()
@click.option("--dry-run", is_flag=True, help="Do everything but send and record.")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
@click.option("--as-of", help="Digest as on this date (YYYY-MM-DD) instead of the newest.")
@click.option(
    "--slot",
    help="The scheduled slot this run serves (ISO time, or 'now'); a slot runs at most once.",
)
@click.pass_context
def run(
    ctx: click.Context, dry_run: bool, as_json: bool, as_of: str | None, slot: str | None
) -> None:
    """One full cycle: select, summarize, render, deliver, record."""
    from . import pipeline
    from .state.models import RunStatus

    config = _load(ctx)
    if slot is not None:
        from .schedule import resolve_slot

        slot = resolve_slot(config, slot)
    try:
        with progress.shown(enabled=not as_json):  # on a terminal: reading, sending
            report = pipeline.run(config, dry_run=dry_run, as_of=_as_of(as_of), slot=slot)
    except DigestError as e:
        if as_json:  # scripts still get one object, then the one-line error and exit code
            status = RunStatus.ALREADY_RAN if isinstance(e, SlotDoneError) else RunStatus.FAILED
            print_json(pipeline.RunReport(status, message=e.message).to_json())
        raise
    _warn(report.warnings)
    if as_json:
        print_json(report.to_json())
        _warn(report.not_reached)  # the JSON has them; a log of stderr says them too
    else:
        click.echo(report.message)
        for recipient in report.would_send:
            click.echo(f"  {recipient}: {RunStatus.DRY_RUN}")
        for line in report.not_reached:
            click.echo(f"  {line}")
    sys.exit(report.exit_code)


@cli.command()
@click.option(
    "--next",
    "next_n",
    type=click.IntRange(min=1, max=MAX_LISTED),
    help="Print the next N slot times and exit.",
)
@click.option("--after", help="With --next: count slots after this ISO time.")
@click.option("--json-logs", is_flag=True, help="One JSON object per log line.")
@click.pass_context
def schedule(ctx: click.Context, next_n: int | None, after: str | None, json_logs: bool) -> None:
    """Run `run` on the configured cadence until stopped (SIGTERM/SIGINT: finish, then exit)."""
    from . import schedule as scheduling

    config = _load(ctx)
    if next_n:
        for slot in scheduling.next_slots(config, next_n, after):
            click.echo(slot.isoformat())
        return
    if after:
        raise UsageError("--after goes with --next")
    scheduling.run_forever(config, json_logs=json_logs)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option(
    "--limit",
    default=20,
    show_default=True,
    type=click.IntRange(min=1, max=MAX_LISTED),
    help="How many past runs.",
)
@click.option(
    "--readers",
    is_flag=True,
    help=f"List every reader (default: those not reached, up to {NOT_SENT_SHOWN}).",
)
@click.pass_context
def history(ctx: click.Context, as_json: bool, limit: int, readers: bool) -> None:
    """Past digests: when, how many articles, to whom, what failed, which sender sent it."""
    from .state import past_digests
    from .text import counted

    # JSON (for scripts) has every reader; on a terminal a large list's runs stay readable
    every = as_json or readers
    entries = past_digests(_load(ctx), limit, None if every else NOT_SENT_SHOWN)
    if as_json:
        print_json(entries)
        return
    if not entries:
        click.echo("no digest yet: `digest run` sends the first")
    for e in entries:
        slot = f" slot {e['slot']}" if e["slot"] else ""
        articles = counted(e["articles"], "article")
        click.echo(
            f"#{e['run']} {e['started_at']}{slot} {e['status']}: {articles}, "
            f"sent {e['sent']}, failed {e['failed']}"
            + (f" — issue {e['issue']}: {e['subject']}" if e["subject"] else "")
        )
        if e["message"]:
            click.echo(f"    {e['message']}")
        if len(e["senders"]) > 1:
            click.echo(
                "    sent by "
                + ", ".join(f"{name} ({n})" for name, n in sorted(e["senders"].items()))
            )
        if e["forgotten"]:
            click.echo("    each reader's delivery forgotten (state_deliveries_days): counts only")
        for d in e["deliveries"]:
            click.echo(
                f"    {d['recipient']}: {d['status']}"
                + (f" ({d['answer']})" if d["status"] != "sent" and d["answer"] else "")
                + (f" by {d['sender']}" if len(e["senders"]) > 1 and d["sender"] else "")
            )
        more = sum(n for s, n in e["readers"].items() if s != "sent") - len(e["deliveries"])
        if not every and more > 0 and not e["forgotten"]:
            click.echo(f"    and {more} more not reached: `digest history --readers` lists them")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def sources(ctx: click.Context, as_json: bool) -> None:
    """Each source's health: last fetch, status, last success, failures in a row, entries,
    bytes, and what the server asked (retry after, moved to)."""
    from .sources.health import health_lines, source_health

    entries = source_health(_load(ctx))
    if as_json:
        print_json({"sources": entries})
        return
    for line in health_lines(entries):
        click.echo(line)


@cli.command()
@click.argument("token", required=False)
@click.option("--email", help="The operator's way: unsubscribe this address.")
@click.pass_context
def unsubscribe(ctx: click.Context, token: str | None, email: str | None) -> None:
    """Never send to the reader of TOKEN (the token in their links) again; the operator
    names an address with --email instead."""
    from . import readers

    if (token is None) == (email is None):
        raise UsageError("give the reader's TOKEN, or --email ADDRESS (not both)")
    address = readers.unsubscribe(_load(ctx), token, email)
    if address is None:
        raise UsageError(f"no reader has the token {token!r}")
    click.echo(f"{address} will not get digests any more")


@cli.group(name="readers")
def readers_group() -> None:
    """The readers in the state: list, add, remove, import, export."""


def _reader_line(r) -> str:
    name = f" ({r.name})" if r.name else ""
    extra = f" until {r.paused_until}" if r.paused_until else ""
    return f"{r.email}{name}  {r.status}{extra}  {r.source or ''}"


_reader_status = click.option(
    "--status",
    type=click.Choice(["pending", "active", "paused", "unsubscribed", "bounced", "complained"]),
    help="Only the readers in this status.",
)


@readers_group.command(name="list")
@_reader_status
@click.option("--json", "as_json", is_flag=True, help='Print {"readers": [...]}.')
@click.pass_context
def readers_list(ctx: click.Context, status: str | None, as_json: bool) -> None:
    """Every reader with their status."""
    from . import readers
    from .text import counted

    found = readers.list_readers(_load(ctx), status)
    if as_json:
        print_json({"readers": [r.to_json() for r in found]})
        return
    for r in found:
        click.echo(_reader_line(r))
    click.echo(counted(len(found), "reader"))


@readers_group.command(name="add")
@click.argument("email")
@click.option("--name", help="The reader's name, for the To: header.")
@click.option("--json", "as_json", is_flag=True, help="Print the reader as JSON.")
@click.pass_context
def readers_add(ctx: click.Context, email: str, name: str | None, as_json: bool) -> None:
    """Add an active reader (the operator's word is their consent)."""
    from . import readers

    r = readers.add(_load(ctx), email, name)
    print_json(r.to_json()) if as_json else click.echo(_reader_line(r))


@readers_group.command(name="remove")
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help='Print {"email", "removed"}.')
@click.pass_context
def readers_remove(ctx: click.Context, email: str, as_json: bool) -> None:
    """Delete a reader and their consent record (to stop mail, `unsubscribe --email`)."""
    from . import readers

    removed = readers.remove(_load(ctx), email)
    if as_json:
        print_json({"email": email, "removed": removed})
    elif not removed:
        raise UsageError(f"{email}: no such reader")
    else:
        click.echo(f"{email} removed")


@readers_group.command(name="import")
@click.argument("csv_file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help='Print {"added", "known", "problems"}.')
@click.pass_context
def readers_import(ctx: click.Context, csv_file: str, as_json: bool) -> None:
    """New active readers from a CSV file (email[,name]); known readers keep their status."""
    from . import readers
    from .text import counted

    new, known, problems = readers.import_csv(_load(ctx), Path(csv_file))
    _warn(problems)
    if as_json:
        print_json({"added": new, "known": known, "problems": problems})
    else:
        click.echo(f"{counted(new, 'new reader')}, {known} already known")


@readers_group.command(name="export")
@_reader_status
@click.option("--json", "as_json", is_flag=True, help="JSON instead of CSV.")
@click.pass_context
def readers_export(ctx: click.Context, status: str | None, as_json: bool) -> None:
    """Every reader with the proof of their consent, as CSV (or JSON) on stdout."""
    from . import readers

    found = readers.list_readers(_load(ctx), status)
    if as_json:
        print_json({"readers": [r.to_json() for r in found]})
    else:
        click.echo(readers.export_csv(found), nl=False)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print what was read as JSON.")
@click.pass_context
def bounces(ctx: click.Context, as_json: bool) -> None:
    """Read the `bounces:` mailbox: hard bounces, repeated soft ones and complaints stop mail."""
    from .bounces import read_bounces
    from .state import Store
    from .text import counted

    config = _load(ctx)
    if config.bounces is None:
        raise UsageError(f"{config.path}: no `bounces:` mailbox is configured")
    with Store.for_config(config) as store:
        report = read_bounces(config, store)
    if as_json:
        print_json(report.to_json())
        return
    for e in report.events:
        click.echo(f"{e['email']}: {e['kind']} -> {e['status']} ({e['detail']})")
    for line in report.ignored:
        click.echo(f"  {line}")
    click.echo(f"{counted(report.read, 'new message')} read")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on.",
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """The reader-facing pages (sign-up, unsubscribe, preferences, archive) under web.url."""
    from .web import serve as serve_pages

    serve_pages(_load(ctx), host, port)


@cli.group(name="state")
def state_group() -> None:
    """The state itself."""


@state_group.command(name="copy")
@click.option("--to", "target", required=True, help="postgresql://user@host:5432/db")
@click.option("--password-env", help="Environment variable holding the target's password.")
@click.pass_context
def state_copy(ctx: click.Context, target: str, password_env: str | None) -> None:
    """Copy this SQLite state (readers, tokens, sent stories, history) into PostgreSQL."""
    from .config import ENV_NAME, NOT_ENV_NAME
    from .state.copy import copy_state

    if password_env is not None and not ENV_NAME.fullmatch(password_env):
        raise UsageError(f"--password-env: {NOT_ENV_NAME}")
    counts = copy_state(_load(ctx), target, password_env)
    for table, n in counts.items():
        click.echo(f"{table}: {n} rows")
    click.echo(f"copied into {counts and target.split('@')[-1]}; point `state:` at it")


@cli.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="The archive's folder [default: archive.folder, else var/archive beside the "
    "config's folder].",
)
@click.option(
    "--remove",
    multiple=True,
    metavar="ISSUE",
    help="Take this issue (its name, as listed) off the site; the state keeps it.",
)
@click.pass_context
def archive(ctx: click.Context, out_dir: str | None, remove: tuple[str, ...]) -> None:
    """The static archive of delivered issues: index.html, a page each, feed.xml."""
    from . import pipeline

    config = _load(ctx)
    report = pipeline.archive(config, Path(out_dir) if out_dir else None, remove)
    for page in report.pages:
        click.echo(f"{page.name}  {page.subject}")
    for name in report.unpublished:
        click.echo(f"unpublished {name}")
    click.echo(report.message)


def main() -> None:
    from .heap import return_freed_memory  # here: `digest --help` stays light (test_shape)

    return_freed_memory()
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except DigestError as e:
        if isinstance(e, ConfigError) and _loaded:  # a secret's variable, found when needed
            e = _loaded[0].lines.locate(e)
        click.echo(f"digest: {e}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
