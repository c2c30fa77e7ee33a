"""Fetching at scale: 300 feeds spread over 20 loopback hosts (127.0.0.2 ...), answered at
once and after 150 ms each; a second run over the unchanged feeds (conditional GETs); the
full text of 50 article pages. With --history N: one feed of N items (a site's whole
history, ~1 KB an item, a footer under each), read at a first run and at a second answered 304.

    .venv/bin/python benchmarks/fetch.py [--feeds 300] [--hosts 20] [--latency-ms 0 150]
                                         [--pages 50] [--rounds 3] [--serial] [--history N]
    farm-bench -n 7 --timeout 900 --vs '.venv/bin/python benchmarks/fetch.py --only 0' \
        -- .venv/bin/python benchmarks/fetch.py --only 150

What is timed is the sources stage as `digest run` does it (digest.sources.read_configured's
two steps): every feed fetched (digest.sources.fetch.fetch_all, the configured defaults: 32
in flight, 2 per host) and read (feedparser) into articles, each as it arrives. The servers run in another
process (ThreadingHTTPServer, one thread a request), so their Python does not share the
client's core time; each feed is ~45 KB of RSS with 20 real-text items (the shipped sample
pages' articles), with an ETag. Rounds are interleaved (0 ms, 150 ms, 0 ms, ...) and the
median is printed with the spread; "added" is the 150 ms median minus the 0 ms median.
--serial also times one feed at a time (what digest 0.1 did), once.
"""

from __future__ import annotations

import os
import sys

# Scripts here are named after stages (select.py, ...): this folder must not shadow the
# standard library's modules of the same names.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(__file__)]

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import html  # noqa: E402
import multiprocessing  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from email.utils import format_datetime  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import parse_qs, urlsplit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from digest.config import FetchConfig, SourceSpec  # noqa: E402
from digest.models import Article, Paragraph  # noqa: E402
from digest.sources import read_fetched, read_paths, read_specs  # noqa: E402
from digest.sources.fetch import fetch_all  # noqa: E402
from digest.sources.fulltext import with_full_text  # noqa: E402


def sample_articles():
    return read_paths(sorted(str(p) for p in (ROOT / "seeds").glob("*.txt"))).articles


def feed_body(n: int, articles) -> bytes:
    items = []
    for k in range(20):
        a = articles[(n + k) % len(articles)]
        when = dt.datetime.combine(a.date, dt.time(8), dt.UTC) + dt.timedelta(minutes=n)
        text = "".join(f"<p>{html.escape(p)}</p>" for p in a.prose)
        items.append(
            f"<item><title>{html.escape(a.title)} ({n}.{k})</title>"
            f"<link>https://feed{n}.example/{k}</link><guid>feed{n}-{k}</guid>"
            f"<pubDate>{format_datetime(when)}</pubDate>"
            f"<description>{html.escape(text)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed {n}</title><link>https://feed{n}.example/</link>{''.join(items)}"
        "</channel></rss>"
    ).encode()


FOOTER = "Subscribe to our newsletter for the week's stories, delivered every Friday."


def history_body(n: int, articles) -> bytes:
    """A feed of its `n` newest items, one every six hours back from today: all but a few are
    older than any lookback. Each item is one sample article's first paragraphs, each ending
    in its item's number (no two items share a paragraph, as in a real history), and the
    feed's footer."""
    newest = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    items = []
    for k in range(n):
        a = articles[k % len(articles)]
        paragraphs = (*(f"{p} ({k})" for p in a.prose[:3]), FOOTER)
        text = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
        items.append(
            f"<item><title>{html.escape(a.title)} ({k})</title>"
            f"<link>https://history.example/{k}</link><guid>history-{k}</guid>"
            f"<pubDate>{format_datetime(newest - dt.timedelta(hours=6 * k))}</pubDate>"
            f"<description>{html.escape(text)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>History</title><link>https://history.example/</link>{''.join(items)}"
        "</channel></rss>"
    ).encode()


def page_body(a) -> bytes:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in a.prose)
    return (
        f"<!DOCTYPE html><html><head><title>{html.escape(a.title)}</title></head><body>"
        "<header><nav><a href='/'>Home</a> <a href='/news'>News</a> <a href='/about'>About</a>"
        f"</nav></header><main><article><h1>{html.escape(a.title)}</h1>{body}</article>"
        "<aside><ul><li><a href='/x'>Related one</a></li><li><a href='/y'>Related two</a>"
        "</li></ul></aside></main><footer>© 2025 Example. All rights reserved.</footer>"
        "</body></html>"
    ).encode()


def serve(hosts: list[str], ports, ready, counters) -> None:
    """The servers' process: one ThreadingHTTPServer per host; path /feed/N, /history/N
    (a feed of N items) or /page/N;
    ?ms=150 delays the answer; counters: [requests, 304s, body bytes sent]."""
    articles = sample_articles()
    feeds: dict[int, bytes] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            ms = int(parse_qs(parts.query).get("ms", ["0"])[0])
            if ms:
                time.sleep(ms / 1000)
            kind, _, number = parts.path.strip("/").partition("/")
            n = int(number)
            if kind == "history":
                with lock:
                    body = feeds.get(-n) or feeds.setdefault(-n, history_body(n, articles))
            elif kind == "feed":
                with lock:
                    body = feeds.get(n) or feeds.setdefault(n, feed_body(n, articles))
            else:
                body = page_body(articles[n % len(articles)])
            etag = f'"{kind}-{n}-1"'
            with counters.get_lock():
                counters[0] += 1
            if self.headers.get("If-None-Match") == etag:
                with counters.get_lock():
                    counters[1] += 1
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            with counters.get_lock():
                counters[2] += len(body)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 1024

    servers = [Server((h, 0), Handler) for h in hosts]
    for i, s in enumerate(servers):
        ports[i] = s.server_address[1]
        threading.Thread(target=s.serve_forever, daemon=True).start()
    ready.set()
    threading.Event().wait()


def loopback_hosts(n: int) -> list[str]:
    out = []
    for i in range(2, 250):
        try:
            with socket.socket() as s:
                s.bind((f"127.0.0.{i}", 0))
        except OSError:
            continue
        out.append(f"127.0.0.{i}")
        if len(out) == n:
            return out
    raise SystemExit(f"only {len(out)} loopback addresses can be bound here")


def sources_stage(urls: list[str], cache=None, settings: FetchConfig | None = None):
    started = time.perf_counter()
    fetched = fetch_all(urls, cache, settings or FetchConfig(), then=read_fetched)
    read = read_specs([SourceSpec("feed", u) for u in urls], fetched=fetched)
    return time.perf_counter() - started, fetched, read


def history(url: str, rounds: int) -> None:
    """One long feed's sources stage, CPU and wall: fetched whole, then answered 304 and its
    remembered body read again, `rounds` times each; the same articles both ways."""
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    cpu: dict[str, list[float]] = {"200": [], "304": []}
    wall: dict[str, list[float]] = {"200": [], "304": []}
    for _ in range(rounds):
        started = time.process_time()
        elapsed, fetched, first = sources_stage([url])
        cpu["200"].append(time.process_time() - started)
        wall["200"].append(elapsed)
        cache = {u: f.cache for u, f in fetched.items()}
        started = time.process_time()
        elapsed, again, second = sources_stage([url], cache)
        cpu["304"].append(time.process_time() - started)
        wall["304"].append(elapsed)
        assert again[url].not_modified and first.articles == second.articles
    size = len(fetched[url].body or b"")
    for status in cpu:
        print(
            f"one feed of {len(first.articles):,} items ({size / 1e6:.1f} MB), {status}: "
            f"CPU {spread(cpu[status])}, wall {spread(wall[status])}"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


def spread(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=300)
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--latency-ms", type=int, nargs="+", default=[0, 150])
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serial", action="store_true")
    parser.add_argument(
        "--history", type=int, metavar="N", help="only one feed of N items, read twice (200, 304)"
    )
    parser.add_argument(
        "--only",
        type=int,
        metavar="MS",
        help="one sources stage at MS ms and exit (for farm-bench: --only 150 --vs --only 0)",
    )
    args = parser.parse_args()

    hosts = loopback_hosts(args.hosts)
    ports = multiprocessing.Array("i", len(hosts))
    counters = multiprocessing.Array("q", 3)
    ready = multiprocessing.Event()
    server = multiprocessing.Process(
        target=serve, args=(hosts, ports, ready, counters), daemon=True
    )
    server.start()
    ready.wait(30)

    def urls(ms: int) -> list[str]:
        return [
            f"http://{hosts[n % len(hosts)]}:{ports[n % len(hosts)]}/feed/{n}?ms={ms}"
            for n in range(args.feeds)
        ]

    def counted(fn):
        before = list(counters)
        out = fn()
        after = list(counters)
        return out, [a - b for a, b in zip(after, before, strict=True)]

    if args.history:
        history(f"http://{hosts[0]}:{ports[0]}/history/{args.history}", args.rounds)
        server.terminate()
        return
    if args.only is not None:
        elapsed, _, read = sources_stage(urls(args.only))
        print(
            f"{args.feeds} feeds at {args.only} ms: {elapsed:.2f} s, {len(read.articles)} articles"
        )
        server.terminate()
        return
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    sources_stage(urls(0)[:20])  # warm up: imports, the servers' feed bodies
    times: dict[int, list[float]] = {ms: [] for ms in args.latency_ms}
    last = {}
    for _ in range(args.rounds):
        for ms in args.latency_ms:
            (elapsed, fetched, read), _count = counted(lambda ms=ms: sources_stage(urls(ms)))
            assert not read.problems, read.problems[:3]
            times[ms].append(elapsed)
            last[ms] = (fetched, read)
    for ms in args.latency_ms:
        fetched, read = last[ms]
        size = sum(len(f.body or b"") for f in fetched.values())
        print(
            f"{args.feeds} feeds over {len(hosts)} hosts at {ms} ms: {spread(times[ms])}; "
            f"{len(read.articles):,} articles, {size / 1e6:.1f} MB"
        )
    if 0 in times and len(args.latency_ms) > 1:
        for ms in args.latency_ms:
            if ms:
                added = statistics.median(times[ms]) - statistics.median(times[0])
                print(f"  {ms} ms adds {added:.2f} s to the sources stage")

    ms = max(args.latency_ms)
    fetched, _ = last[ms]
    cache = {u: f.cache for u, f in fetched.items()}
    (elapsed, again, read), count = counted(lambda: sources_stage(urls(ms), cache))
    not_modified = sum(1 for f in again.values() if f.not_modified)
    print(
        f"second run at {ms} ms over unchanged feeds: {elapsed:.2f} s; {not_modified} of "
        f"{len(again)} answered 304 ({100 * not_modified / len(again):.0f}%); "
        f"{count[2]:,} body bytes sent by the servers; {len(read.articles):,} articles read"
    )

    if args.serial:
        serial = FetchConfig(concurrency=1, per_host=1)
        elapsed, _, _ = sources_stage(urls(ms), settings=serial)
        print(f"one feed at a time at {ms} ms: {elapsed:.2f} s")

    articles = sample_articles()
    pages = []
    for n in range(args.pages):
        a = articles[n % len(articles)]
        host = n % len(hosts)
        url = f"http://{hosts[host]}:{ports[host]}/page/{n}?ms={ms}"
        teaser = (Paragraph(a.prose[0].split(". ")[0] + "."),)  # a summary-only feed's one line
        pages.append(Article(a.title, teaser, "bench", url=url, date=a.date))
    started = time.perf_counter()
    out, notes = with_full_text(pages, lambda a: True, None, write=False)
    elapsed = time.perf_counter() - started
    longer = sum(1 for a, b in zip(pages, out, strict=True) if len(b.text) > len(a.text))
    print(
        f"full text of {args.pages} pages at {ms} ms: {elapsed:.2f} s "
        f"({1000 * elapsed / args.pages:.0f} ms a page); {longer} extracted, {len(notes)} fell back"
    )
    for note in notes[:3]:
        print(f"  {note}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    server.terminate()


if __name__ == "__main__":
    main()
