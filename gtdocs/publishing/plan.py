"""Decide, for each bundle, what to upload, what is unchanged and what is no longer used."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from gtdocs.publishing.failures import PublishError
from gtdocs.publishing.record import Entry, Record
from gtdocs.publishing.s3 import Listed, Upload
from gtdocs.publishing.target import PRIVATE, TEMPLATE_NAME, Location, Target

# Asset keys are content-addressed, so a browser may keep an asset for good.
IMMUTABLE = "public, max-age=31536000, immutable"
# The template and the record keep their key when their content changes.
REVALIDATE = "no-cache"
TEMPLATE_TYPE = "text/html; charset=utf-8"


@dataclass
class Desired:
    """An object of the desired state: what the bucket must contain after this publish."""

    key: str
    kind: str               # "asset" or "template"
    sha256: str
    size: int
    content_type: str
    acl: str                # "public-read" or "private"
    url: str
    path: Path | None = None    # where its bytes are, unless in `data`
    data: bytes | None = None

    def upload(self) -> Upload:
        """Read the bytes and return the PUT; raise PublishError if the file changed since the build."""
        try:
            data = self.data if self.data is not None else self.path.read_bytes()
        except OSError as error:
            raise PublishError(f"cannot read {self.path}: {error.strerror} (run `gtdocs build`, then publish "
                               "again)") from error
        if hashlib.sha256(data).hexdigest() != self.sha256:
            raise PublishError(f"{self.path} changed after the build (run `gtdocs build`, then publish again)")
        cache_control = IMMUTABLE if self.kind == "asset" else REVALIDATE
        return Upload(self.key, data, self.sha256, self.content_type, cache_control,
                      None if self.acl == PRIVATE else self.acl)

    def entry(self, etag: str) -> Entry:
        uploaded = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        return Entry(self.key, self.kind, self.sha256, self.size, self.content_type, self.acl, self.url, etag,
                     uploaded=uploaded)


@dataclass
class BundleWork:
    """One bundle's part of a publish: its desired objects, compared with the bucket and the last record."""

    name: str
    folder: Path            # site/<bundle>
    desired: list[Desired]
    baseline: Record        # the last publish's record, or an empty one
    pages: object = None    # publishing.pages.Pages to write, or None to keep those of the last publish
    uploads: list[tuple[Desired, str]] = field(default_factory=list)   # with the reason
    unchanged: list[Desired] = field(default_factory=list)
    unused: list[Entry] = field(default_factory=list)      # recorded, no longer desired, still in the bucket
    known: dict[str, Entry] = field(default_factory=dict)  # every recorded object, updated as uploads finish


def desired_asset(target: Target, location: Location, bundle: str, folder: Path, asset) -> Desired:
    """Return the object for a built `asset` (gtdocs.assets.Asset) of `bundle`."""
    key = target.bundle_prefix(bundle) + asset.path
    return Desired(key, "asset", asset.sha256, asset.size, asset.content_type, target.access,
                  location.object_url(target.bucket, key), path=folder / asset.path)


def desired_template(target: Target, bundle: str, template: str) -> Desired:
    data = template.encode("utf-8")
    key = target.template_key(bundle)
    return Desired(key, "template", hashlib.sha256(data).hexdigest(), len(data), TEMPLATE_TYPE, PRIVATE,
                  target.s3_uri(key), data=data)


def desired_from_record(record: Record, folder: Path, published: Path) -> list[Desired] | None:
    """Return the objects of the last complete publish, read from the site, or None if a file is missing."""
    objects = []
    for entry in record.objects.values():
        if entry.kind == "template":
            path = published / TEMPLATE_NAME
        else:
            path = folder / "assets" / entry.key.rsplit("/", 1)[-1]
        if not path.is_file():
            return None
        objects.append(Desired(entry.key, entry.kind, entry.sha256, entry.bytes, entry.content_type, entry.acl,
                             entry.url, path=path))
    return objects


def decide(work: BundleWork, listing: dict[str, Listed], bundle_prefix: str) -> None:
    """Fill in `work.uploads`, `.unchanged` and `.unused` from the bucket's listing and the last record."""
    work.known = {**work.baseline.unused, **work.baseline.objects}
    for item in work.desired:
        reason = upload_reason(item, work.known.get(item.key), listing.get(item.key))
        if reason:
            work.uploads.append((item, reason))
        else:
            work.unchanged.append(item)
    desired_keys = {item.key for item in work.desired}
    work.unused = [entry for key, entry in sorted(work.known.items())
                   if key not in desired_keys and key in listing and key.startswith(bundle_prefix)]


def upload_reason(desired: Desired, recorded: Entry | None, listed: Listed | None) -> str | None:
    """Return why `desired` must be uploaded, or None when the bucket already contains it."""
    if listed is None:
        return "new" if recorded is None else "missing from the bucket"
    if recorded is None:
        return "not in the publish record"
    if recorded.sha256 != desired.sha256:
        return "changed"
    if recorded.acl != desired.acl:
        return f"access changed to {desired.acl}"
    if recorded.etag != listed.etag:
        return "replaced in the bucket since the last publish"
    return None


def assemble(work: BundleWork, target: Target, region: str, complete: bool, pruned: set[str] = frozenset()) -> Record:
    """Return the record of `work` at this point: the desired objects, then the unused ones.

    An incomplete record (a failed or interrupted publish) keeps the last record's entry
    for each object not uploaded yet, so that the next publish uploads it.
    """
    record = Record.empty(target, work.name, region)
    desired_keys = {item.key for item in work.desired}
    unused_keys = {entry.key for entry in work.unused}
    for key, entry in sorted(work.known.items()):
        if key in desired_keys:
            record.objects[key] = entry
        elif key in pruned:
            continue
        elif key in unused_keys or not complete:
            record.unused[key] = entry
    record.complete = complete and all(key in record.objects for key in desired_keys)
    return record
