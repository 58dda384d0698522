"""HTTP requests of the preview: files of the site folder only, and the stream of build events.

Every HTML response gets the live-reload script (livereload.js) before `</body>`. The
built files on disk never contain it.
"""

from __future__ import annotations

import html
import json
import logging
import mimetypes
import select
import socket
import time
from functools import lru_cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from importlib import resources
from pathlib import Path
from urllib.parse import unquote

log = logging.getLogger(__name__)

# Paths that start with a dot cannot be a bundle's folder (bundle files named .*.md are skipped).
EVENTS_PATH = "/.gtdocs/events"
# Seconds between checks of whether an event stream's client has gone away.
STREAM_POLL = 0.5
# Seconds between keep-alive comments on an idle event stream.
STREAM_HEARTBEAT = 15.0

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}


def content_type(path: Path) -> str:
    """Return the Content-Type of a site file, from a fixed table rather than the system's MIME files."""
    known = CONTENT_TYPES.get(path.suffix.lower())
    if known:
        return known
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def resolve_site_path(root: Path, request_path: str) -> Path | None:
    """Return the file or folder under `root` that a request path names, or None.

    `root` must be resolved. The path is percent-decoded once, so a double-encoded `..`
    stays a literal name. Backslashes, NUL bytes and `.`/`..` segments are rejected, and
    the result, after following symbolic links, must lie inside `root`.
    """
    if not request_path.startswith("/"):
        return None
    try:
        decoded = unquote(request_path, errors="strict")
    except UnicodeDecodeError:
        return None
    if "\\" in decoded or "\x00" in decoded:
        return None
    parts = [part for part in decoded.split("/") if part]
    if any(part in (".", "..") for part in parts):
        return None
    try:
        resolved = root.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError):   # missing, unreadable, or a symbolic link loop
        return None
    if not resolved.is_relative_to(root):
        return None
    return resolved


@lru_cache(maxsize=1)
def _reload_script() -> str:
    return (resources.files("gtdocs.serving") / "livereload.js").read_text(encoding="utf-8")


def reload_tag(state: dict) -> bytes:
    """Return the <script> element that reloads a page on each build, with the current state in it."""
    state_json = json.dumps(state, ensure_ascii=True)
    # Keep "</script>" and comment openers in error messages from ending the script element.
    state_json = state_json.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    script = _reload_script().replace("GTDOCS_STATE", state_json)
    return f'<script id="gtdocs-livereload">\n{script}</script>\n'.encode("utf-8")


def inject_reload(page: bytes, state: dict) -> bytes:
    """Insert the reload script before the last `</body>`, or at the end of a fragment without one."""
    tag = reload_tag(state)
    at = page.lower().rfind(b"</body>")
    if at < 0:
        return page + b"\n" + tag
    return page[:at] + tag + page[at:]


class PreviewHandler(BaseHTTPRequestHandler):
    """Serves GET and HEAD requests. `self.server.preview` is the PreviewServer."""

    server_version = "gtdocs-serve"
    timeout = 30   # seconds a client may take to send a request, or to accept a response's bytes

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def log_message(self, format: str, *args) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _respond(self, send_body: bool) -> None:
        preview = self.server.preview
        if not self._host_allowed():
            self._send(HTTPStatus.FORBIDDEN, b"Invalid Host header\n", "text/plain; charset=utf-8", send_body)
            return
        path, _, query = self.path.partition("?")
        path = path.partition("#")[0]
        if path == EVENTS_PATH:
            self._stream_events(send_body)
            return

        preview.wait_until_idle()
        target = resolve_site_path(preview.site_root, path)
        if target is not None and target.is_dir():
            if not path.endswith("/"):
                self._redirect(path + "/" + (f"?{query}" if query else ""))
                return
            index = target / "index.html"
            target = index.resolve() if index.is_file() else None
            if target is not None and not target.is_relative_to(preview.site_root):
                target = None
        if target is None or not target.is_file():
            self._send_not_found(path, send_body)
            return
        self._send_file(target, send_body)

    def _host_allowed(self) -> bool:
        """Reject foreign Host names on a loopback address, against DNS rebinding by other web pages."""
        preview = self.server.preview
        if preview.host not in ("127.0.0.1", "localhost", "::1"):
            return True
        hosts = self.headers.get_all("Host") or []
        if len(hosts) > 1:
            return False
        host = hosts[0].strip().lower() if hosts else ""
        if host.startswith("["):
            name = host[1:].partition("]")[0]
        else:
            name = host.rpartition(":")[0] if ":" in host else host
        return name in ("localhost", "127.0.0.1", "::1") or not host

    # -- responses ------------------------------------------------------------------------

    def _send_file(self, target: Path, send_body: bool) -> None:
        try:
            data = target.read_bytes()
        except OSError as error:
            log.warning("failed to read %s: %s", target, error.strerror)
            self._send_not_found(self.path, send_body)
            return
        kind = content_type(target)
        if kind.startswith("text/html"):
            data = inject_reload(data, self.server.preview.state.to_json())
        self._send(HTTPStatus.OK, data, kind, send_body, immutable=target.parent.name == "assets")

    def _send_not_found(self, path: str, send_body: bool) -> None:
        # An HTML page, so that a browser waiting for a first good build reloads when there is one.
        page = (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not found</title></head>\n"
                f"<body><h1>Not found</h1><p>The preview has no file at {html.escape(path)}.</p>"
                f"<p><a href=\"/\">All bundles</a></p></body></html>\n").encode("utf-8")
        page = inject_reload(page, self.server.preview.state.to_json())
        self._send(HTTPStatus.NOT_FOUND, page, "text/html; charset=utf-8", send_body)

    def _redirect(self, location: str) -> None:
        self.send_response(HTTPStatus.MOVED_PERMANENTLY)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, status: HTTPStatus, data: bytes, kind: str, send_body: bool, immutable: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Content-Type-Options", "nosniff")
        # Asset names are hashes of their content, so an asset never changes. Everything else may.
        self.send_header("Cache-Control", "max-age=31536000, immutable" if immutable else "no-store")
        self.end_headers()
        if send_body:
            self.wfile.write(data)

    # -- build events ---------------------------------------------------------------------

    def _stream_events(self, send_body: bool) -> None:
        """Send the current build state, then each new one, as server-sent events.

        A new build is a `build` event; the check findings that follow it are a `findings`
        event with the same build number.

        The loop wakes at least every STREAM_POLL seconds to notice a client that has
        closed its connection, so a dropped client frees its thread within that time.
        """
        preview = self.server.preview
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not send_body:
            return
        sent = -1          # revision of the last state sent
        sent_build = -1    # its build number: a new revision of the same build carries only new findings
        last_write = time.monotonic()
        try:
            self.wfile.write(b"retry: 1000\n\n")
            while not preview.stopping:
                state = preview.wait_for_revision(sent, timeout=STREAM_POLL)
                if state.revision != sent and not preview.stopping:
                    payload = json.dumps(state.to_json())
                    kind = "findings" if state.number == sent_build else "build"
                    self.wfile.write(f"id: {state.revision}\nevent: {kind}\ndata: {payload}\n\n".encode("utf-8"))
                    sent, sent_build = state.revision, state.number
                    last_write = time.monotonic()
                elif time.monotonic() - last_write >= STREAM_HEARTBEAT:
                    self.wfile.write(b": keep-alive\n\n")
                    last_write = time.monotonic()
                if self._client_closed():
                    break
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
        self.close_connection = True

    def _client_closed(self) -> bool:
        """Return whether the client closed its end: the socket reads as end of file."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and not self.connection.recv(1, socket.MSG_PEEK)
        except (OSError, ValueError):
            return True
