"""The S3 calls of a publish: one client, shared by the upload threads (botocore clients are thread-safe).

botocore is imported here and only when a publish runs, because it takes a large part of
the command's start-up time. Credentials come from botocore's standard chain (environment,
profile, SSO, container or instance role); gtdocs never reads, prints or logs them.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass

from gtdocs.publishing.failures import BucketInOtherRegion, Operation, PublishError, explain, wrong_region
from gtdocs.publishing.target import DEFAULT_REGION, Location, Target, locate

log = logging.getLogger(__name__)

UPLOAD_THREADS = 16
# botocore's "standard" retry mode retries throttling (SlowDown, 503) and transient errors
# with exponential backoff and jitter, at most 20 s between attempts.
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Listed:
    """An object seen by LIST: its ETag, as S3 returns it with quotes, and its size in bytes."""

    etag: str
    size: int


@dataclass(frozen=True)
class Upload:
    """One PUT: the body and every header gtdocs sets."""

    key: str
    data: bytes
    sha256: str             # hex digest of `data`, stored as x-amz-meta-sha256
    content_type: str
    cache_control: str
    acl: str | None         # "public-read", or None for the bucket's default (private)


class S3:
    """The S3 client of one publish, and the bucket's region as learned from S3's redirects."""

    def __init__(self, target: Target, client=None):
        self.target = target
        self.session = None
        if client is not None:
            self.client = client
            self.region = client.meta.region_name
        else:
            self.region = target.region or self._default_region() or DEFAULT_REGION
            self.client = self._make_client(self.region)

    def _default_region(self) -> str:
        from botocore.exceptions import BotoCoreError

        try:
            return self._session().get_config_variable("region") or ""
        except BotoCoreError as error:   # ProfileNotFound, or a config file that cannot be parsed
            raise explain(error, self.target, Operation("start")) from error

    def _session(self):
        if self.session is None:
            import botocore.session

            self.session = botocore.session.Session(profile=self.target.profile or None)
        return self.session

    def _make_client(self, region: str):
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError

        path_style = bool(self.target.endpoint_url) or "." in self.target.bucket
        config = Config(retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
                        max_pool_connections=UPLOAD_THREADS, connect_timeout=10, read_timeout=60,
                        s3={"addressing_style": "path" if path_style else "virtual"})
        try:
            client = self._session().create_client("s3", region_name=region,
                                                   endpoint_url=self.target.endpoint_url or None, config=config)
        except BotoCoreError as error:
            raise explain(error, self.target, Operation("start")) from error
        # Before botocore's own redirect handler, which would silently resend to the right region:
        # the URLs workers load must name the bucket's region, so gtdocs needs to know it.
        client.meta.events.register_first("needs-retry.s3", _raise_if_other_region)
        return client

    @property
    def location(self) -> Location:
        return locate(self.client.meta.endpoint_url, self.region, self.target.bucket)

    def call(self, operation: Operation, method: str, **arguments):
        """Call a client method; raise PublishError, or BucketInOtherRegion, for what S3 rejects."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(**arguments)
        except BucketInOtherRegion:
            raise
        except (BotoCoreError, ClientError) as error:
            raise explain(error, self.target, operation, self.region) from error

    def list(self, prefixes: list[str]) -> dict[str, Listed]:
        """List every object under `prefixes`, following the bucket to its own region if needed.

        When [publish] region is set and wrong, the error message names the right region.
        When it is not set, the client moves to the bucket's region once.
        """
        try:
            return self._list(prefixes)
        except BucketInOtherRegion as moved:
            if self.target.region or self.session is None:
                raise wrong_region(self.target, self.region, moved.region) from None
            log.info("Bucket %s is in region %s; using that region.", self.target.bucket, moved.region)
            self.region = moved.region
            self.client = self._make_client(moved.region)
            try:
                return self._list(prefixes)
            except BucketInOtherRegion as again:
                raise wrong_region(self.target, self.region, again.region) from None

    def _list(self, prefixes: list[str]) -> dict[str, Listed]:
        found: dict[str, Listed] = {}
        operation = Operation("list")
        for prefix in prefixes:
            token = None
            while True:
                arguments = {"Bucket": self.target.bucket, "Prefix": prefix}
                if token:
                    arguments["ContinuationToken"] = token
                page = self.call(operation, "list_objects_v2", **arguments)
                for item in page.get("Contents", []):
                    found[item["Key"]] = Listed(item["ETag"], item["Size"])
                token = page.get("NextContinuationToken")
                if not page.get("IsTruncated") or not token:
                    break
        return found

    def put(self, upload: Upload) -> str:
        """Upload one object and return its ETag."""
        arguments = {
            "Bucket": self.target.bucket, "Key": upload.key, "Body": upload.data,
            "ContentType": upload.content_type, "CacheControl": upload.cache_control,
            "Metadata": {"sha256": upload.sha256},
            # S3 checks the body against our own SHA-256 and rejects a corrupted upload.
            "ChecksumSHA256": base64.b64encode(bytes.fromhex(upload.sha256)).decode("ascii"),
        }
        if upload.acl:
            arguments["ACL"] = upload.acl
        response = self.call(Operation("upload", upload.key, upload.acl), "put_object", **arguments)
        return response["ETag"]

    def get(self, key: str) -> bytes:
        response = self.call(Operation("download", key), "get_object", Bucket=self.target.bucket, Key=key)
        return response["Body"].read()

    def delete(self, keys: list[str]) -> None:
        """Delete `keys`, 1,000 per request (S3's limit for DeleteObjects)."""
        for start in range(0, len(keys), 1000):
            batch = keys[start:start + 1000]
            response = self.call(Operation("delete", batch[0]), "delete_objects", Bucket=self.target.bucket,
                                 Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True})
            errors = response.get("Errors", [])
            if errors:
                first = errors[0]
                raise PublishError(f"S3 did not delete {len(errors)} of {len(batch)} unused objects, for example "
                                   f"{first.get('Key')}: {first.get('Code')} {first.get('Message', '')} (your "
                                   "credentials need s3:DeleteObject; the publish record keeps them for the next "
                                   "--prune)")


def _raise_if_other_region(request_dict, response, operation, **kwargs):
    """botocore `needs-retry` handler: stop at S3's redirect to the bucket's region."""
    if response is None:
        return None
    http, parsed = response
    error = parsed.get("Error", {}) if isinstance(parsed, dict) else {}
    headers = parsed.get("ResponseMetadata", {}).get("HTTPHeaders", {}) if isinstance(parsed, dict) else {}
    redirected = (error.get("Code") in ("PermanentRedirect", "AuthorizationHeaderMalformed",
                                        "IllegalLocationConstraintException")
                  or (http is not None and http.status_code in (301, 307)))
    region = headers.get("x-amz-bucket-region") or error.get("Region")
    client_region = request_dict.get("context", {}).get("client_region")
    # A 307 from a new bucket's DNS settling names the same region; botocore follows that one.
    if redirected and region and region != client_region:
        raise BucketInOtherRegion(region)
    return None
