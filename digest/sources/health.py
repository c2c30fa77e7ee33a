"""`digest sources`: each configured source's health, from what the state remembers of its
fetches (the state's feed_caches). Reads only."""

from __future__ import annotations

from ..state import Store
from ..text import is_web_url
from . import FAILING_RUNS


def source_health(config) -> list[dict]:
    """One entry per configured source, in config order."""
    with Store.for_config(config, readonly=True) as store:
        known = store.feed_caches()
    out = []
    for i, spec in enumerate(config.sources):
        web = spec.kind == "feed" and is_web_url(spec.value)
        c = known.get(spec.value) if web else None
        entry = {
            "source": spec.value,
            "name": spec.name,
            "kind": spec.kind if not web else "web feed",
            "line": config.lines.line(f"sources[{i}]"),
            "last_fetch": c.last_fetch if c else None,
            "status": c.status if c else (None if web else "read from disk each run"),
            "last_success": c.last_success if c else None,
            "failures": c.failures if c else 0,
            "entries": c.entries if c else None,
            "bytes": c.bytes if c else None,
            "etag": c.etag if c else None,
            "last_modified": c.last_modified if c else None,
            "retry_after": c.not_before if c and c.asked_because == "Retry-After" else None,
            "not_before": c.not_before if c else None,
            "moved_to": c.moved_to if c else None,
            "warning": None,
        }
        if c and c.failures >= FAILING_RUNS:
            entry["warning"] = f"failed {c.failures} fetches in a row"
        elif c and c.moved_to:
            entry["warning"] = f"moved permanently to {c.moved_to}: update `feed:` in the config"
        elif web and c is None:
            entry["status"] = "never fetched by `digest run`"
        out.append(entry)
    return out


def health_lines(entries: list[dict]) -> list[str]:
    lines = []
    for e in entries:
        name = f"{e['name']} " if e["name"] else ""
        lines.append(f"{name}{e['source']}")
        if e["kind"] != "web feed":
            lines.append(f"    {e['kind']}: {e['status']}")
            continue
        if e["last_fetch"] is None:
            lines.append(f"    {e['status']}")
            continue
        lines.append(
            f"    last fetch {e['last_fetch']}: {e['status']}; last success "
            f"{e['last_success'] or 'never'}; {e['failures']} failures in a row; "
            f"{e['entries']} entries, {e['bytes']:,} bytes"
        )
        if e["not_before"]:
            why = "Retry-After" if e["retry_after"] else "max-age"
            lines.append(f"    not asked before {e['not_before']} (the server's {why})")
        if e["warning"]:
            lines.append(f"    warning: {e['warning']}")
    return lines
