"""`gtdocs serve`: a live preview that rebuilds on every save and reloads the browser.

The parts live in gtdocs/serving/: the server and its builds (server.py), the HTTP
handler (handler.py), the file watcher (watch.py), the map from changed files to
bundles (sources.py) and the script injected into pages (livereload.js).
"""

from __future__ import annotations

import logging
import threading
import webbrowser
from pathlib import Path

import click

from gtdocs.serving import BuildState, PreviewServer

__all__ = ["BuildState", "PreviewServer", "serve"]

log = logging.getLogger(__name__)


def serve(project: Path, host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False) -> None:
    """Build `project`, serve it on host:port with live reload, and block until Ctrl+C."""
    server = PreviewServer(project, host, port)
    server.start()
    try:
        click.echo(f"Serving {server.url} (Ctrl+C to stop)")
        if open_browser and not webbrowser.open(server.url):
            log.warning("no web browser found: open %s yourself", server.url)
        stopped = threading.Event()
        while not stopped.wait(1.0):   # a timed wait, so that Ctrl+C is handled promptly
            pass
    except KeyboardInterrupt:
        click.echo("Stopped.")
    finally:
        server.stop()
