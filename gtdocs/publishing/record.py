"""The publish record: what a publish of a bundle put in the bucket, kept as JSON.

A copy is written to `site/<bundle>/published/publish.json` and another is uploaded,
private, as `<prefix>/<bundle>/publish.json`. The next publish compares the bucket's
listing with the record instead of sending a HEAD request per object, because LIST
returns no metadata:

- an object is unchanged when its key is listed with the ETag that our PUT returned,
  and the record contains the same SHA-256 and ACL as the desired object;
- the ETag is only compared with an ETag that S3 itself returned, never with an MD5 of
  our bytes, because S3's ETag is not an MD5 for multipart or KMS-encrypted objects;
- the record names the objects that a later `--prune` may delete: no other object is
  ever deleted.

The local copy also contains what only this machine needs, in its `local` table: whether
the publish completed, a fingerprint of the project's input files, and the ETag and
SHA-256 of the uploaded copy. With those, a publish with nothing changed sends one LIST
and no other request.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from gtdocs.config import ProjectConfig
from gtdocs.files import write_atomic
from gtdocs.publishing.target import RECORD_NAME, Target

FORMAT = 1
PUBLISHED_DIR = "published"


@dataclass
class Entry:
    """One object of a bundle as published."""

    key: str
    kind: str                   # "asset" or "template"
    sha256: str                 # of the object's bytes, also its x-amz-meta-sha256
    bytes: int
    content_type: str
    acl: str                    # "public-read" or "private"
    url: str                    # the URL a worker's browser loads (for the template: its S3 URI)
    etag: str = ""
    verified: bool | None = None    # a worker's anonymous GET succeeded; None where not checked
    uploaded: str = ""              # UTC time of the PUT, ISO 8601

    @classmethod
    def from_json(cls, data: dict) -> Entry:
        names = {item.name for item in dataclasses.fields(cls)}
        return cls(**{name: value for name, value in data.items() if name in names})


@dataclass
class Record:
    bundle: str
    bucket: str
    endpoint_url: str
    region: str
    prefix: str
    access: str
    objects: dict[str, Entry] = field(default_factory=dict)
    unused: dict[str, Entry] = field(default_factory=dict)   # recorded earlier, no longer wanted, not deleted
    # Local only:
    complete: bool = False      # every wanted object was uploaded (the verification may still have failed)
    inputs: str = ""            # fingerprint of the input files that the site was built from
    record_etag: str = ""       # ETag and SHA-256 of the uploaded copy of this record
    record_sha256: str = ""

    @classmethod
    def empty(cls, target: Target, bundle: str, region: str) -> Record:
        return cls(bundle, target.bucket, target.endpoint_url, region, target.prefix, target.access)

    def describes(self, target: Target, bundle: str) -> bool:
        """Return whether this record is about the same bucket, endpoint and key prefix."""
        return (self.bundle, self.bucket, self.endpoint_url, self.prefix) == (
            bundle, target.bucket, target.endpoint_url, target.prefix)

    def shared_data(self) -> dict:
        """Return the content of the uploaded copy, which is the same whenever the record is."""
        # vars() rather than dataclasses.asdict, which deep-copies: an Entry holds only scalars.
        return {
            "format": FORMAT, "bundle": self.bundle, "bucket": self.bucket, "endpoint_url": self.endpoint_url,
            "region": self.region, "prefix": self.prefix, "access": self.access,
            "objects": [dict(vars(entry)) for _, entry in sorted(self.objects.items())],
            "unused": [dict(vars(entry)) for _, entry in sorted(self.unused.items())],
        }

    def local_data(self, shared: dict | None = None) -> dict:
        """Return the content of the local copy: `shared` (or shared_data()) and the `local` table."""
        data = dict(shared if shared is not None else self.shared_data())
        data["local"] = {"complete": self.complete, "inputs": self.inputs, "record_etag": self.record_etag,
                         "record_sha256": self.record_sha256}
        return data


def parse_record(text: bytes | str) -> Record | None:
    """Return the record in `text`, or None if it is not a record this version can read."""
    try:
        data = json.loads(text)
        if data.get("format") != FORMAT:
            return None
        local = data.get("local", {})
        return Record(
            bundle=data["bundle"], bucket=data["bucket"], endpoint_url=data["endpoint_url"],
            region=data["region"], prefix=data["prefix"], access=data["access"],
            objects={item["key"]: Entry.from_json(item) for item in data["objects"]},
            unused={item["key"]: Entry.from_json(item) for item in data.get("unused", [])},
            complete=bool(local.get("complete")), inputs=local.get("inputs", ""),
            record_etag=local.get("record_etag", ""), record_sha256=local.get("record_sha256", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def published_dir(config: ProjectConfig, bundle: str) -> Path:
    return config.output_dir / bundle / PUBLISHED_DIR


def read_local_record(config: ProjectConfig, bundle: str) -> Record | None:
    try:
        return parse_record((published_dir(config, bundle) / RECORD_NAME).read_bytes())
    except OSError:
        return None


def to_json(data: dict) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write_local_record(config: ProjectConfig, record: Record, shared: dict | None = None) -> None:
    write_atomic(published_dir(config, record.bundle) / RECORD_NAME, to_json(record.local_data(shared)))


def bundle_names(config: ProjectConfig) -> list[str]:
    """Return the names of the project's bundles without reading them.

    The rule is gtdocs.source.bundle_files's, repeated here so that a publish with nothing
    changed does not import the Markdown and YAML readers.
    """
    if not config.bundles_dir.is_dir():
        return []
    return sorted(path.stem for path in config.bundles_dir.glob("*.md") if not path.name.startswith("."))


def input_fingerprint(config: ProjectConfig) -> str:
    """Return a hash of the name, size and modification time of every file a build may read.

    That is every file of the project outside its output and cache folders, and gtdocs's
    own code and theme. A publish whose fingerprint equals the one recorded by the last
    complete publish reuses that publish's site instead of building again.
    NOTE: folders whose names start with "." are skipped (version control, virtual
    environments), so an input kept in one is not noticed until another file changes.
    """
    import gtdocs
    import gtdocs.themes

    digest = hashlib.sha256(f"{gtdocs.__version__} {sys.version}".encode())
    skipped = {config.output_dir.resolve(), config.cache_dir.resolve()}
    for root in (config.root, Path(gtdocs.__file__).parent, Path(gtdocs.themes.__file__).parent):
        for folder, folders, files in os.walk(root):
            folders[:] = sorted(name for name in folders if not name.startswith(".") and name != "__pycache__"
                                and (Path(folder) / name).resolve() not in skipped)
            for name in sorted(files):
                path = os.path.join(folder, name)
                try:
                    stat = os.stat(path)
                except OSError:
                    continue
                digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()
