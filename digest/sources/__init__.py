"""Source readers: one per kind of input, all giving Articles and RateQuotes.

A small registry, as in pelican: `read_source(kind, location)` picks the reader.
Every failure becomes a Problem naming the source; nothing here raises for bad input.
"""

from __future__ import annotations

import glob
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from ..config import Config, FetchConfig, SourceSpec
from ..encoding import opening
from ..models import Article, Problem, ReadResult
from ..progress import meter
from ..text import is_web_url, well_formed
from .feed import read_feed
from .fetch import Fetched, fetch_all, fetch_bytes
from .limits import cap_article
from .snapshot import read_snapshot

if TYPE_CHECKING:  # reading (`digest parse`) opens no state
    from ..state.storage import Storage

FEED_SUFFIXES = (".xml", ".rss", ".atom", ".rdf", ".json")
SNAPSHOT_SUFFIXES = (".txt",)

# A file is read whole up to the size a fetched feed is by default (a 55 MB snapshot once
# took 65 s and 1.4 GB to read).
MAX_FILE_BYTES = FetchConfig().max_bytes
FAILING_RUNS = 3  # a feed failing this many fetches in a row is a warning in the report

__all__ = ["FAILING_RUNS", "MAX_FILE_BYTES", "feed_urls", "read_paths", "read_source", "read_specs"]


def _read_bytes(location: str) -> tuple[bytes | None, Problem | None]:
    try:
        if is_web_url(location):
            return fetch_bytes(location), None
        path = Path(location)
        mode = path.stat().st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):  # opening a FIFO waits for a writer
            return None, Problem(location, "not a regular file (a pipe or a device)")
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            return None, Problem(location, f"larger than {MAX_FILE_BYTES:,} bytes; not read")
        return data, None
    except FileNotFoundError:
        return None, Problem(location, "no such file")
    except IsADirectoryError:
        return None, Problem(location, "is a folder; name it as `folder:` in the config")
    except OSError as e:
        return None, Problem(location, e.strerror or str(e))


def _looks_like_feed(data: bytes) -> bool:
    """XML (RSS, Atom; or a web page, which the feed reader names) or JSON (JSON Feed)."""
    return opening(data, 16).startswith((b"<", b"{"))


def read_file(location: str, kind: str | None = None) -> ReadResult:
    """Read one snapshot or feed; `kind` None means: tell by its content."""
    data, problem = _read_bytes(location)
    if problem:
        return ReadResult(problems=[problem])
    assert data is not None
    if kind is None:
        kind = "feed" if _looks_like_feed(data) else "snapshot"
    name = well_formed(location)  # "caf\udce9.rss": a name in Latin-1 on a UTF-8 system
    result = read_feed(name, data) if kind == "feed" else read_snapshot(name, data)
    return _capped(result)


def _capped(result: ReadResult) -> ReadResult:
    """Every article within the length caps (digest.sources.limits), each cut reported."""
    articles = []
    for article in result.articles:
        article, problems = cap_article(article)
        articles.append(article)
        result.problems.extend(problems)
    result.articles = articles
    return result


def read_folder(folder: str) -> ReadResult:
    """Every snapshot (.txt) and feed (.xml, .rss, .atom, .rdf) in a folder, by name; what
    else the folder holds (other files, subfolders) is named once in `problems`."""
    result = ReadResult()
    path = Path(folder)
    if not path.exists():
        result.problems.append(Problem(folder, "no such folder"))
        return result
    if not path.is_dir():
        result.problems.append(Problem(folder, "is a file, not a folder"))
        return result
    try:
        entries = sorted(path.iterdir())
    except OSError as e:
        result.problems.append(Problem(folder, f"cannot read the folder ({e.strerror or e})"))
        return result
    files, skipped = [], []
    for p in entries:
        if not p.is_dir() and p.suffix.lower() in FEED_SUFFIXES + SNAPSHOT_SUFFIXES:
            files.append(p)
        else:
            skipped.append(p.name + ("/" if p.is_dir() else ""))
    if skipped:
        shown = ", ".join(skipped[:10]) + (f" and {len(skipped) - 10} more" if skipped[10:] else "")
        kinds = ", ".join(SNAPSHOT_SUFFIXES + FEED_SUFFIXES)
        result.problems.append(
            Problem(
                folder,
                f"left out {len(skipped)} entr{'y' if len(skipped) == 1 else 'ies'} "
                f"that {'is' if len(skipped) == 1 else 'are'} not a {kinds} file: {shown} "
                "(subfolders are not read; name a feed in the config with `feed:`)",
            )
        )
    if not files:
        result.problems.append(Problem(folder, "folder holds no .txt snapshot or feed file"))
    for file in files:
        result.extend(read_file(str(file)))
    return result


def read_source(kind: str, location: str) -> ReadResult:
    if kind == "folder":
        return read_folder(location)
    if kind == "feed":
        return read_file(location, "feed")
    if kind == "glob":
        result = ReadResult()
        matches = sorted(glob.glob(location, recursive=True))
        if not matches:
            result.problems.append(Problem(location, "pattern matches no file"))
        for match in matches:
            result.extend(read_folder(match) if Path(match).is_dir() else read_file(match))
        return result
    raise ValueError(f"unknown source kind {kind!r}")


def read_paths(paths: Iterable[str]) -> ReadResult:
    """Read files, folders or feed URLs named on the command line, in order."""
    result = ReadResult()
    for location in paths:
        location = str(location)
        if not is_web_url(location) and os.path.isdir(location):  # False for a name too long
            result.extend(read_folder(location))
        else:
            result.extend(read_file(location))
    return result


def feed_urls(specs: Iterable[SourceSpec]) -> list[str]:
    """The feeds among the sources that are fetched over HTTP, each once, in config order."""
    return list(dict.fromkeys(s.value for s in specs if s.kind == "feed" and is_web_url(s.value)))


def read_configured(
    config: Config,
    store: Storage | None = None,
    write: bool = False,
    counted: Callable[[int], None] | None = None,
) -> ReadResult:
    """Every source a Config names: its web feeds fetched all at once first (with what
    `store`, the state's Storage, remembers of each), then each source read in
    config order. `write`: remember what the fetches learned (never in a preview).
    `counted(n)`: as reading goes on, the articles read so far."""
    so_far = 0

    def count(read: ReadResult) -> ReadResult:
        nonlocal so_far
        so_far += len(read.articles)
        if counted is not None:
            counted(so_far)
        return read

    urls = feed_urls(config.sources)
    known = store.feed_caches(urls) if store is not None and urls else {}
    resting: dict[str, str] = {}  # a host's 429 or hang holds for the run's pages too
    fetched = fetch_all(
        urls,
        known,
        config.fetch,
        progress=meter("fetching", "feeds"),
        then=lambda got: count(read_fetched(got)),
        feeds=True,
        resting=resting,
    )
    result = read_specs(
        config.sources, progress=meter("reading", "sources"), fetched=fetched, then=count
    )
    result.resting.update(resting)
    if write and store is not None:
        store.save_feed_caches(f.cache for f in fetched.values())
    return result


def read_specs(
    specs: Iterable[SourceSpec],
    progress: Callable[[int, int], None] | None = None,
    fetched: dict[str, Fetched] | None = None,
    then: Callable[[ReadResult], ReadResult] | None = None,
) -> ReadResult:
    """Read the sources a Config names (SourceSpec: kind, value, and what readers see of it:
    name, link, article_url); `progress(done, total)` after each. Feeds given in `fetched`
    (digest.sources.fetch: already fetched, all at once) are read from what that gave, and
    each one's entry count is set in its cache info. `then(read)` on each source read here
    (not on what `fetched` had read)."""
    result = ReadResult()
    specs = list(specs)
    fetched = fetched or {}
    for done, spec in enumerate(specs, 1):
        got = fetched.get(spec.value) if spec.kind == "feed" else None
        if got is not None and got.read is not None:
            read = got.read
            got.read = None  # a feed named twice is read twice, like a file
        else:
            read = read_fetched(got) if got is not None else read_source(spec.kind, spec.value)
            read = then(read) if then is not None else read
        if got is not None:
            got.cache = replace(got.cache, entries=len(read.articles))
        for article in read.articles:
            result.origins.setdefault(article.source, spec)
        result.articles.extend(named(a, spec) for a in read.articles)
        read.articles = []
        result.extend(read)
        if progress is not None:
            progress(done, len(specs))
    return result


def read_fetched(got: Fetched) -> ReadResult:
    """A fetched feed: its body read (new, or the last one after a 304 or a wait), what
    failed, what the server asked and how the feed has fared in the runs before."""
    url, cache = got.url, got.cache
    result = ReadResult()
    result.notes.extend(f"{url}: {note}" for note in got.notes)
    if got.moved or cache.moved_to:
        result.problems.append(
            Problem(url, f"moved permanently to {cache.moved_to}: update `feed:` in the config")
        )
    if got.error:  # one line: what failed, what was read instead, how long it has failed
        last = ""
        waiting = got.waited or cache.not_before or cache.status == "429"  # the server is there
        if cache.last_success is None and cache.failures < FAILING_RUNS and not waiting:
            last = "; never read yet: is its address in `feed:` right?"  # a typo, or a new feed
        elif got.body is not None:
            last = f"; its last copy ({cache.last_success}) read"
        warning = ""
        if cache.failures >= FAILING_RUNS:
            since = f"last success {cache.last_success}" if cache.last_success else "never read"
            warning = f"; warning: failed {cache.failures} fetches in a row ({since})"
        result.problems.append(Problem(url, got.error + last + warning))
    if got.body is not None:
        read = _capped(read_feed(url, got.body, got.content_type))
        result.extend(read)
    return result


def named(article: Article, spec: SourceSpec) -> Article:
    """The article as the config names its source: the spec's name and link win over a
    feed's own; `article_url` gives a link to an article its page does not link."""
    name = spec.name or article.source_name
    link = spec.link or article.source_link
    url = article.url
    template = spec.article_url
    if not url and template:
        url = template.format(title=quote(article.title, safe=""))
    if (name, link, url) == (article.source_name, article.source_link, article.url):
        return article
    return replace(article, source_name=name, source_link=link, url=url)
