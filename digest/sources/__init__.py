"""Source readers: one per kind of input, all giving Articles and RateQuotes.

A small registry, as in pelican: `read_source(kind, location)` picks the reader.
Every failure becomes a Problem naming the source; nothing here raises for bad input.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

from ..models import Problem, ReadResult
from .feed import fetch, read_feed
from .limits import cap_article
from .snapshot import read_snapshot

FEED_SUFFIXES = (".xml", ".rss", ".atom", ".rdf")
SNAPSHOT_SUFFIXES = (".txt",)

__all__ = ["read_paths", "read_source", "read_specs"]


def _is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def _read_bytes(location: str) -> tuple[bytes | None, Problem | None]:
    try:
        if _is_url(location):
            return fetch(location), None
        return Path(location).read_bytes(), None
    except FileNotFoundError:
        return None, Problem(location, "no such file")
    except IsADirectoryError:
        return None, Problem(location, "is a folder; name it as `folder:` in the config")
    except OSError as e:
        return None, Problem(location, e.strerror or str(e))


def _looks_like_xml(data: bytes) -> bool:
    return data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def read_file(location: str, kind: str | None = None) -> ReadResult:
    """Read one snapshot or feed; `kind` None means: tell by its content."""
    data, problem = _read_bytes(location)
    if problem:
        return ReadResult(problems=[problem])
    assert data is not None
    if kind is None:
        kind = "feed" if _looks_like_xml(data) else "snapshot"
    result = read_feed(location, data) if kind == "feed" else read_snapshot(location, data)
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
        if p.is_file() and p.suffix.lower() in FEED_SUFFIXES + SNAPSHOT_SUFFIXES:
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
        if not _is_url(location) and Path(location).is_dir():
            result.extend(read_folder(location))
        else:
            result.extend(read_file(location))
    return result


def read_specs(specs: Iterable, progress: Callable[[int, int], None] | None = None) -> ReadResult:
    """Read the sources a Config names (SourceSpec: kind, value, and what readers see of it:
    name, link, article_url); `progress(done, total)` after each."""
    result = ReadResult()
    specs = list(specs)
    for done, spec in enumerate(specs, 1):
        read = read_source(spec.kind, spec.value)
        result.articles.extend(named(a, spec) for a in read.articles)
        read.articles = []
        result.extend(read)
        if progress is not None:
            progress(done, len(specs))
    return result


def named(article, spec):
    """The article as the config names its source: the spec's name and link win over a
    feed's own; `article_url` gives a link to an article its page does not link."""
    name = getattr(spec, "name", None) or article.source_name
    link = getattr(spec, "link", None) or article.source_link
    url = article.url
    template = getattr(spec, "article_url", None)
    if not url and template:
        url = template.format(title=quote(article.title, safe=""))
    if (name, link, url) == (article.source_name, article.source_link, article.url):
        return article
    return replace(article, source_name=name, source_link=link, url=url)
