"""`preview --serve` / `--open`: show the written preview in a browser, on 127.0.0.1 only."""

from __future__ import annotations

import functools
import http.server
import shutil
import webbrowser
from pathlib import Path

import click

from .archive import FEED_TYPE
from .errors import UsageError


def open_in_browser(url: str) -> str:
    """Open `url` in the system browser where there is one; say what happened."""
    has_browser = any(shutil.which(b) for b in ("xdg-open", "open", "chromium", "firefox"))
    try:
        opened = has_browser and webbrowser.open(url)
    except webbrowser.Error:
        opened = False
    return f"opened {url}" if opened else f"no browser found on this machine; open {url} yourself"


def serve_folder(
    folder: Path, port: int = 0, open_browser: bool = False, archive: Path | None = None
) -> None:
    """Serve `folder` on 127.0.0.1 until interrupted (port 0: a free one); `archive`, the
    archive's folder, is served under /archive/."""
    handler = functools.partial(_Handler, directory=str(folder), archive=archive)
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as e:
        raise UsageError(f"--port {port}: cannot serve on 127.0.0.1 ({e.strerror})") from None
    with server:
        root = f"http://127.0.0.1:{server.server_address[1]}"
        url = f"{root}/digest.html"
        click.echo(f"serving {url} (Ctrl-C to stop)", err=False)
        if archive is not None:
            click.echo(f"the archive: {root}{ARCHIVE_PREFIX}")
        if open_browser:
            click.echo(open_in_browser(url))
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            click.echo("stopped")


ARCHIVE_PREFIX = "/archive/"


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Quiet, with the charset on text types (the preview's text part is UTF-8), and the
    archive's folder under /archive/."""

    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".html": "text/html; charset=utf-8",
        ".txt": "text/plain; charset=utf-8",
        ".xml": FEED_TYPE,  # the archive's feed.xml
        ".eml": "message/rfc822",
    }

    def __init__(self, *args, directory: str, archive: Path | None = None, **kwargs):
        self.preview_root, self.archive = directory, archive
        super().__init__(*args, directory=directory, **kwargs)

    def translate_path(self, path: str) -> str:
        """/archive/... from the archive's folder, the rest from the preview's; the parent
        resolves the path safely ("..", drive names) against `self.directory`."""
        if self.archive is not None and path.startswith(ARCHIVE_PREFIX):
            self.directory = str(self.archive)
            return super().translate_path(path[len(ARCHIVE_PREFIX) - 1 :])
        self.directory = self.preview_root
        return super().translate_path(path)

    def send_head(self):
        route = self.path.split("?", 1)[0]
        if self.archive is not None and route == ARCHIVE_PREFIX.rstrip("/"):
            self.send_response(301)
            self.send_header("Location", ARCHIVE_PREFIX)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if (
            self.archive is not None
            and route.startswith(ARCHIVE_PREFIX)
            and not (self.archive / "index.html").is_file()
        ):
            self.send_error(404, "No archive yet: `digest archive` writes it")
            return None
        return super().send_head()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass
