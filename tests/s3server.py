"""A moto S3 server on 127.0.0.1 that logs every request, and responds as real S3 does where moto does not.

moto (5.2) enforces object ACLs for anonymous GETs: a public-read object returns 200, a
private one 403. But it accepts a public ACL whatever the bucket's Object Ownership and
Block Public Access settings are. It also ignores IgnorePublicAcls, and serves any bucket
in any region. The faults below add those responses, with S3's status codes, headers and error
XML, in front of moto's own WSGI application, which is the same application that moto's
ThreadedMotoServer runs.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Callable

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

Response = tuple[str, list[tuple[str, str]], bytes]
Fault = Callable[[dict, "Seen"], "Response | None"]


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    path: str        # percent-decoded
    query: str
    signed: bool     # carried AWS credentials (an Authorization header or a presigned query)
    region: str      # the region in the credential scope of a signed request

    @property
    def bucket(self) -> str:
        return self.path.lstrip("/").split("/", 1)[0]

    @property
    def key(self) -> str:
        parts = self.path.lstrip("/").split("/", 1)
        return parts[1] if len(parts) > 1 else ""


def error_xml(code: str, message: str, **fields: str) -> bytes:
    extra = "".join(f"<{name}>{value}</{name}>" for name, value in fields.items())
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
            f"{extra}<RequestId>TEST</RequestId></Error>").encode()


class S3Server:
    """moto's S3 on a free loopback port, with a request log and faults that tests add and remove."""

    def __init__(self):
        self.requests: list[Seen] = []
        self.faults: list[Fault] = []
        self.lock = threading.Lock()
        self.app = DomainDispatcherApplication(create_backend_app)
        self.server = make_server("127.0.0.1", 0, self.handle, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> S3Server:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join()

    def handle(self, environ, start_response):
        authorization = environ.get("HTTP_AUTHORIZATION", "")
        query = environ.get("QUERY_STRING", "")
        scope = re.search(r"Credential=[^/]+/\d+/([^/]+)/s3/", authorization) or re.search(
            r"X-Amz-Credential=[^%&]+(?:/|%2F)\d+(?:/|%2F)([^/%]+)", query)
        # WSGI gives the percent-decoded path as latin-1 text; S3 keys are UTF-8.
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        seen = Seen(environ["REQUEST_METHOD"], path, query,
                    bool(authorization) or "X-Amz-Signature" in query, scope.group(1) if scope else "")
        with self.lock:
            self.requests.append(seen)
            faults = list(self.faults)
        for fault in faults:
            response = fault(environ, seen)
            if response is not None:
                # Read the body, so that the client is not cut off while it sends it.
                environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
                status, headers, body = response
                start_response(status, headers + [("Content-Length", str(len(body)))])
                return [body]
        return self.app(environ, start_response)

    # -- the request log ------------------------------------------------------------

    def clear_log(self) -> None:
        with self.lock:
            self.requests.clear()

    def seen(self, method: str | None = None, bucket: str | None = None) -> list[Seen]:
        with self.lock:
            return [request for request in self.requests
                    if (method is None or request.method == method) and (bucket is None or request.bucket == bucket)]

    # -- faults -----------------------------------------------------------------------

    def add_fault(self, fault: Fault) -> Fault:
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()


def slow_down(bucket: str, times_per_key: int = 1) -> Fault:
    """Respond to the first `times_per_key` PUTs of each key in `bucket` with 503 SlowDown, as S3 does under load."""
    counts: dict[str, int] = {}
    lock = threading.Lock()

    def fault(environ, seen: Seen) -> Response | None:
        if seen.method != "PUT" or seen.bucket != bucket or not seen.key:
            return None
        with lock:
            counts[seen.key] = counts.get(seen.key, 0) + 1
            if counts[seen.key] > times_per_key:
                return None
        return ("503 Slow Down", [("Content-Type", "application/xml")],
                error_xml("SlowDown", "Please reduce your request rate."))
    return fault


def ignore_public_acls(bucket: str) -> Fault:
    """Deny anonymous reads in `bucket` as S3 does when IgnorePublicAcls is on, public-read ACL or not."""
    def fault(environ, seen: Seen) -> Response | None:
        if seen.bucket == bucket and not seen.signed and seen.method in ("GET", "HEAD"):
            return "403 Forbidden", [("Content-Type", "application/xml")], error_xml("AccessDenied", "Access Denied")
        return None
    return fault


def bucket_in_region(bucket: str, region: str) -> Fault:
    """Redirect signed requests for `bucket` that are signed for another region, as S3 does."""
    def fault(environ, seen: Seen) -> Response | None:
        if seen.bucket == bucket and seen.signed and seen.region != region:
            return ("301 Moved Permanently", [("Content-Type", "application/xml"), ("x-amz-bucket-region", region)],
                    error_xml("PermanentRedirect", "The bucket you are attempting to access must be addressed "
                              "using the specified endpoint.", Bucket=bucket,
                              Endpoint=f"{bucket}.s3.{region}.amazonaws.com"))
        return None
    return fault


def deny_put(bucket: str, key_suffix: str) -> Fault:
    """Deny PUTs of keys ending in `key_suffix` with AccessDenied, as Block Public Access does for public ACLs."""
    def fault(environ, seen: Seen) -> Response | None:
        if seen.method == "PUT" and seen.bucket == bucket and seen.key.endswith(key_suffix):
            return "403 Forbidden", [("Content-Type", "application/xml")], error_xml("AccessDenied", "Access Denied")
        return None
    return fault


def delay_puts(bucket: str, after: int, seconds: float) -> Fault:
    """Let the first `after` PUTs in `bucket` through at once, and hold each later one for `seconds`."""
    count = [0]
    lock = threading.Lock()

    def fault(environ, seen: Seen) -> Response | None:
        if seen.method == "PUT" and seen.bucket == bucket and seen.key:
            with lock:
                count[0] += 1
                late = count[0] > after
            if late:
                time.sleep(seconds)
        return None
    return fault


def deny_delete(bucket: str) -> Fault:
    """Deny DeleteObjects in `bucket` with AccessDenied, as S3 does without s3:DeleteObject."""
    def fault(environ, seen: Seen) -> Response | None:
        if seen.method == "POST" and seen.bucket == bucket and "delete" in seen.query:
            return "403 Forbidden", [("Content-Type", "application/xml")], error_xml("AccessDenied", "Access Denied")
        return None
    return fault
