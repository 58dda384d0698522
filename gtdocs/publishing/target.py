"""The publish target of a project: its settings, the object keys and the URLs workers load.

Each bundle is published under its own key prefix, `<prefix>/<bundle>/`:

    <prefix>/<bundle>/assets/<hash>.<ext>      images (public-read, or private)
    <prefix>/<bundle>/template.liquid.html     the worker task template (private)
    <prefix>/<bundle>/publish.json             the publish record (private)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from gtdocs.config import CONFIG_NAME, PublishSettings
from gtdocs.errors import Problem, raise_if_any

PUBLIC_READ = "public-read"
PRIVATE = "private"
TEMPLATE_NAME = "template.liquid.html"
RECORD_NAME = "publish.json"
DEFAULT_REGION = "us-east-1"
AWS_DOMAINS = ("amazonaws.com", "amazonaws.com.cn")

# Characters that would end the Liquid string literal `"s3://bucket/key"`, or a Liquid tag
# around it, in the private mode's template.
LIQUID_UNSAFE = set('"{}%')


@dataclass(frozen=True)
class Target:
    """The publish settings after the command line's overrides, with the prefix normalised."""

    bucket: str
    prefix: str            # without leading or trailing "/"; "" publishes bundles at the bucket's root
    region: str            # "" when not set: the client's default region, corrected by the bucket's own
    profile: str
    endpoint_url: str
    access: str            # PUBLIC_READ or PRIVATE

    @property
    def public(self) -> bool:
        return self.access == PUBLIC_READ

    def bundle_prefix(self, bundle: str) -> str:
        return f"{self.prefix}/{bundle}/" if self.prefix else f"{bundle}/"

    def template_key(self, bundle: str) -> str:
        return self.bundle_prefix(bundle) + TEMPLATE_NAME

    def record_key(self, bundle: str) -> str:
        return self.bundle_prefix(bundle) + RECORD_NAME

    def s3_uri(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{key}"


def resolve_target(settings: PublishSettings, overrides: dict) -> Target:
    """Merge the command line's `overrides` into the [publish] settings and check them.

    Raises InputError naming each bad setting, as `gtdocs.toml: publish.KEY`.
    """
    values = dataclasses.asdict(settings)
    values.update({key: value for key, value in overrides.items() if value is not None})
    problems: list[Problem] = []
    bucket = values["bucket"].strip()
    if not bucket:
        problems.append(Problem(CONFIG_NAME, None, "publish.bucket", "is not set",
                                'set [publish] bucket = "NAME" in gtdocs.toml, or pass --bucket NAME'))
    elif not _valid_bucket(bucket):
        problems.append(Problem(CONFIG_NAME, None, "publish.bucket", f"{bucket!r} is not a valid S3 bucket name",
                                "use the bucket's name alone, 3 to 63 lowercase letters, digits, dots and "
                                "hyphens, without s3:// or a path; put a path in [publish] prefix"))
    prefix = "/".join(part for part in values["prefix"].split("/") if part)
    message = key_part_problem(prefix, values["access"] == PRIVATE)
    if message:
        problems.append(Problem(CONFIG_NAME, None, "publish.prefix", f"{values['prefix']!r} {message}",
                                "choose a prefix such as 'instructions/v1'"))
    endpoint = values["endpoint_url"].strip().rstrip("/")
    if endpoint and urlsplit(endpoint).scheme not in ("http", "https"):
        problems.append(Problem(CONFIG_NAME, None, "publish.endpoint_url", f"{endpoint!r} is not an http(s) URL",
                                "write it as https://HOST[:PORT], or leave it empty for AWS"))
    raise_if_any(problems)
    return Target(bucket=bucket, prefix=prefix, region=values["region"].strip(), profile=values["profile"].strip(),
                  endpoint_url=endpoint, access=values["access"])


def key_part_problem(text: str, private: bool) -> str | None:
    """Return why `text` (a prefix or a bundle name) cannot be part of an object key, or None."""
    if any(ord(character) < 32 or ord(character) == 127 for character in text):
        return "contains a control character"
    # Browsers resolve "." and ".." in a URL's path (even written as %2E), so such a key cannot be loaded.
    if any(segment in (".", "..") for segment in text.split("/")):
        return "contains a '.' or '..' path segment, which browsers remove from URLs"
    if private and LIQUID_UNSAFE & set(text):
        return "contains one of \" { } %, which cannot be written inside the template's Liquid"
    return None


def _valid_bucket(name: str) -> bool:
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789.-")
    return 3 <= len(name) <= 63 and set(name) <= allowed and name[0].isalnum() and name[-1].isalnum()


def quote_key(key: str) -> str:
    """Percent-encode each path segment of `key` as UTF-8, so that any key is one exact URL path."""
    return "/".join(quote(segment, safe="") for segment in key.split("/"))


@dataclass(frozen=True)
class Location:
    """The endpoint that serves a bucket's objects to browsers, and how a URL names the bucket."""

    endpoint: str           # scheme://host[:port][/path], without a trailing "/"
    region: str
    virtual_hosted: bool    # https://BUCKET.s3.REGION.amazonaws.com/KEY rather than ENDPOINT/BUCKET/KEY

    def object_url(self, bucket: str, key: str) -> str:
        if self.virtual_hosted:
            parts = urlsplit(self.endpoint)
            return f"{parts.scheme}://{bucket}.{parts.netloc}/{quote_key(key)}"
        return f"{self.endpoint}/{quote(bucket, safe='')}/{quote_key(key)}"


def locate(client_endpoint: str, region: str, bucket: str) -> Location:
    """Return the Location of `bucket` for a client whose endpoint URL is `client_endpoint`.

    On AWS the URL names the bucket's own region (`s3.REGION.amazonaws.com`), so that a
    browser is not redirected. A bucket name with dots uses path style, because
    `a.b.s3...` does not match S3's TLS certificate. Any endpoint that is not AWS's (MinIO,
    moto, a proxy) uses path style too, because those rarely resolve bucket subdomains.
    """
    parts = urlsplit(client_endpoint.rstrip("/"))
    host = parts.hostname or ""
    domain = next((domain for domain in AWS_DOMAINS if host.endswith("." + domain)), None)
    if domain is None:
        return Location(client_endpoint.rstrip("/"), region, virtual_hosted=False)
    # NOTE: FIPS and dual-stack endpoints are not kept; URLs use the standard regional endpoint.
    endpoint = f"https://s3.{region}.{domain}"
    return Location(endpoint, region, virtual_hosted="." not in bucket)
