"""Load each published image the way a worker's browser does: an anonymous GET of its URL."""

from __future__ import annotations

import hashlib
import http.client
import socket
import threading
import urllib.parse
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from gtdocs import __version__

TIMEOUT = 20    # seconds for each request
THREADS = 16


@dataclass(frozen=True)
class Check:
    """One image to load: its key, the URL in the published pages, and the SHA-256 it must have."""

    key: str
    url: str
    sha256: str


class Verifier:
    """Loads images on THREADS threads while the caller goes on, for example with more uploads."""

    def __init__(self):
        self.pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="gtdocs-verify")
        self.futures: dict[str, Future] = {}

    def submit(self, check: Check) -> None:
        if check.key not in self.futures:
            self.futures[check.key] = self.pool.submit(load_problem, check)

    def results(self, progress=None) -> dict[str, str | None]:
        """Wait for every image; return, by key, None where it loads, or why a worker cannot load it."""
        results = {}
        for key, future in self.futures.items():
            results[key] = future.result()
            if progress:
                progress()
        return results

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


_connections = threading.local()


def _connection(url: urllib.parse.SplitResult) -> http.client.HTTPConnection:
    """Return this thread's open connection to the URL's host, so requests reuse it (keep-alive)."""
    pool = getattr(_connections, "pool", None)
    if pool is None:
        pool = _connections.pool = {}
    origin = (url.scheme, url.netloc)
    if origin not in pool:
        kind = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        pool[origin] = kind(url.netloc, timeout=TIMEOUT)
    return pool[origin]


def _get(check: Check) -> tuple[int, str, http.client.HTTPMessage, bytes]:
    url = urllib.parse.urlsplit(check.url)
    target = url.path + (f"?{url.query}" if url.query else "")
    headers = {"User-Agent": f"gtdocs/{__version__} (publish check)", "Accept": "image/*"}
    # A kept-alive connection that the server has closed fails on first use; one retry opens a new one.
    for attempt in (1, 2):
        connection = _connection(url)
        try:
            connection.request("GET", target or "/", headers=headers)
            response = connection.getresponse()
            body = response.read()
            return response.status, response.reason, response.headers, body
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            connection.close()
            del _connections.pool[(url.scheme, url.netloc)]
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def load_problem(check: Check) -> str | None:
    """GET `check.url` with no credentials; return why it did not serve the expected image, or None."""
    try:
        status, reason, headers, body = _get(check)
    except (socket.timeout, TimeoutError):
        return f"no answer within {TIMEOUT} s"
    except ConnectionRefusedError as error:
        return f"cannot connect: {error}"
    except socket.gaierror as error:
        return f"cannot connect: {error}"
    except (OSError, http.client.HTTPException) as error:
        return f"the connection failed: {error}"
    if status >= 300:
        return _status_problem(status, reason, headers)
    content_type = headers.get("Content-Type", "")
    if not content_type.startswith("image/"):
        return f"served as {content_type or 'no content type'!r}, not as an image, so browsers may not show it"
    if hashlib.sha256(body).hexdigest() != check.sha256:
        return "the bytes served differ from the published image (another upload replaced the object?)"
    return None


def _status_problem(status: int, reason: str, headers) -> str:
    if status == 403:
        return ("HTTP 403 Forbidden: the object is not readable anonymously, because the bucket's or account's "
                "Block Public Access (IgnorePublicAcls or RestrictPublicBuckets) overrides its public-read ACL, "
                "or a bucket policy denies reads")
    if status == 404:
        return "HTTP 404 Not Found: there is no object at this URL"
    if status in (301, 307, 400) and headers is not None and headers.get("x-amz-bucket-region"):
        return f"HTTP {status}: the URL names the wrong region (the bucket is in {headers['x-amz-bucket-region']})"
    return f"HTTP {status} {reason}"
