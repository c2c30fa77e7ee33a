"""`preview --serve` / `--open`: show the written preview in a browser, on 127.0.0.1 only."""

from __future__ import annotations

import functools
import http.server
import shutil
import webbrowser
from pathlib import Path

import click

from .errors import UsageError


def open_in_browser(url: str) -> str:
    """Open `url` in the system browser where there is one; say what happened."""
    has_browser = any(shutil.which(b) for b in ("xdg-open", "open", "chromium", "firefox"))
    try:
        opened = has_browser and webbrowser.open(url)
    except webbrowser.Error:
        opened = False
    return f"opened {url}" if opened else f"no browser found on this machine; open {url} yourself"


def serve_folder(folder: Path, port: int = 0, open_browser: bool = False) -> None:
    """Serve `folder` on 127.0.0.1 until interrupted (port 0: a free one)."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as e:
        raise UsageError(f"--port {port}: cannot serve on 127.0.0.1 ({e.strerror})") from None
    with server:
        url = f"http://127.0.0.1:{server.server_address[1]}/digest.html"
        click.echo(f"serving {url} (Ctrl-C to stop)", err=False)
        if open_browser:
            click.echo(open_in_browser(url))
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            click.echo("stopped")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass
