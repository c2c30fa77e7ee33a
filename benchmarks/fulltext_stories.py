"""What full text does for story matching on real news: the ECB+ development articles
(../shared/data/ecbplus_dev.json, topics 1-22, real articles from many outlets, each with
its gold event) served as article pages on loopback, in 4 summary-only feeds (each entry
carries its article's first sentence, as most news feeds do), previewed three ways:

- whole: the feeds carry the whole articles (the best the selection can do);
- teasers: the summary-only feeds as they are;
- full text: the same feeds with `full_text: true` (each page fetched, trafilatura).

    .venv/bin/python benchmarks/fulltext_stories.py [--data FILE]

Printed for each: stories shown per event (1.0 is ideal), events split over several
stories, stories mixing two events, and the time of the preview.
"""

from __future__ import annotations

import os
import sys

sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(__file__)]

import argparse  # noqa: E402
import collections  # noqa: E402
import hashlib  # noqa: E402
import html  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from digest.config import load_config  # noqa: E402
from digest.pipeline import preview  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "ecbplus_dev.json"


def first_sentence(text: str) -> str:
    first = text.split("\n\n")[0]
    return re.split(r"(?<=[.!?])\s+(?=[A-Z\"'])", first, maxsplit=1)[0]


def page(a: dict) -> bytes:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in a["text"].split("\n\n"))
    return (
        f"<!DOCTYPE html><html><head><title>{html.escape(a['title'])}</title></head><body>"
        "<header><nav><a href='/'>Home</a> <a href='/world'>World</a> <a href='/sport'>Sport"
        "</a> <a href='/subscribe'>Subscribe</a></nav></header><main><article>"
        f"<h1>{html.escape(a['title'])}</h1>{body}</article><aside><h3>Most read</h3><ul>"
        "<li><a href='/a'>Markets close higher on Friday</a></li><li><a href='/b'>Weather: "
        "a cold week ahead</a></li></ul></aside></main><footer>© Example News. All rights "
        "reserved. Cookies help us deliver our services.</footer></body></html>"
    ).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(DATA))
    args = parser.parse_args()
    arts = json.loads(Path(args.data).read_text(encoding="utf-8"))["articles"]

    pages = {f"/{a['id']}": page(a) for a in arts}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            body = pages.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    event_of = {f"{base}/{a['id']}": a["event"] for a in arts}

    def feeds(folder: Path, whole: bool) -> list[Path]:
        groups = collections.defaultdict(list)
        for a in arts:
            key = a.get("source") or a["id"]
            groups[int(hashlib.md5(key.encode()).hexdigest(), 16) % 4].append(a)
        paths = []
        for f, items in sorted(groups.items()):
            entries = []
            for n, a in enumerate(items):
                text = a["text"] if whole else first_sentence(a["text"])
                body = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n"))
                when = f"2025-11-10T{6 + n % 12:02d}:{n % 60:02d}:00Z"
                entries.append(
                    f"<entry><id>urn:ecb:{a['id']}</id><title>{html.escape(a['title'])}</title>"
                    f'<link href="{base}/{a["id"]}"/><published>{when}</published>'
                    f'<updated>{when}</updated><summary type="html">{html.escape(body)}'
                    "</summary></entry>"
                )
            path = folder / f"wire{f}.xml"
            path.write_text(
                '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
                f"<title>Wire {f}</title><id>urn:wire:{f}</id><updated>2025-11-10T23:00:00Z"
                f"</updated>{''.join(entries)}</feed>",
                encoding="utf-8",
            )
            paths.append(path)
        return paths

    print(f"{len(arts)} articles, {len(set(event_of.values()))} events")
    for label, whole, full_text in (
        ("whole", True, False),
        ("teasers", False, False),
        ("full text", False, True),
    ):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            sources = "".join(
                f"  - feed: {p}\n" + ("    full_text: true\n" if full_text else "")
                for p in feeds(folder, whole)
            )
            config = folder / "digest.yaml"
            config.write_text(
                f"title: Eval\ntimezone: UTC\nsources:\n{sources}state: {folder / 's.sqlite3'}\n"
                "selection:\n  max_articles: 1000\n  lookback_days: 100000\n"
                f"delivery:\n  from: d@example.com\n  to: [r@example.com]\n  outbox: {folder}/o\n"
            )
            started = time.perf_counter()
            report = preview(load_config(config), folder / "p")[0].to_json()
            elapsed = time.perf_counter() - started
        stories_of = collections.Counter()
        mixed = 0
        for c in report["chosen"]:
            events = {event_of.get(u) for u in [c["url"], *(x["url"] for x in c["also"])]}
            events.discard(None)
            mixed += len(events) > 1
            for e in events:
                stories_of[e] += 1
        n_events = len(set(event_of.values()))
        split = sum(1 for n in stories_of.values() if n > 1)
        print(
            f"{label:>9}: {len(report['chosen'])} stories, "
            f"{sum(stories_of.values()) / n_events:.2f} stories per event, {split} of "
            f"{n_events} events split, {mixed} stories mixing events; {elapsed:.1f} s"
        )
    server.shutdown()


if __name__ == "__main__":
    main()
