"""`gtdocs publish`: put each bundle's images on S3, check that workers can load them, and write
the published fragments and template.

The steps, for all bundles together:

1. plan: list the bucket under the prefix (one paginated LIST). Reuse the site of the last
   complete publish if its input files are unchanged, or else build and render the pages
   with the published URLs. Compare with the last publish record;
2. upload what is new or changed, in parallel (`--dry-run` stops before this step);
3. write `site/<bundle>/published/`, then verify from a worker's side: an anonymous GET of
   each newly published image (public mode), or a second LIST (private mode);
4. delete unused objects that an earlier publish recorded (`--prune` only), and save the
   publish record, locally and as a private object.

docs/publish.md describes the command, its settings and every failure.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import click

from gtdocs.config import ProjectConfig, load_config
from gtdocs.errors import Problem, raise_if_any
from gtdocs.files import write_atomic
from gtdocs.publishing import record as records
from gtdocs.publishing.failures import PublishError
from gtdocs.publishing.plan import (REVALIDATE, BundleWork, Desired, assemble, decide, desired_asset,
                                    desired_from_record, desired_template)
from gtdocs.publishing.record import Record
from gtdocs.publishing.s3 import S3, Listed, Upload
from gtdocs.publishing.target import TEMPLATE_NAME, Target, key_part_problem, resolve_target
from gtdocs.publishing.upload import ProgressBar, upload_all

log = logging.getLogger(__name__)

PAGE_NAMES = {"short": "short.html", "full": "full.html", "template": TEMPLATE_NAME}


@dataclass
class PublishResult:
    """The counts of a publish, in objects: images and templates, without the publish records."""

    bundles: list[str]
    built: bool                         # False when the site of the last publish was reused
    uploaded: int = 0
    unchanged: int = 0
    unused: int = 0                     # recorded, no longer used, kept because --prune was not given
    pruned: int = 0
    failed: dict[str, str] = field(default_factory=dict)    # URL: why a worker cannot load it


def publish(project: Path, overrides: dict, dry_run: bool = False, prune: bool = False, *,
            client=None, echo: Callable[..., None] = click.echo) -> PublishResult:
    """Publish every bundle of `project`, and raise PublishError (exit 1) for anything that failed.

    `overrides` contains the [publish] settings given on the command line. `client` is a botocore
    S3 client to use instead of one made from the settings (tests pass a stubbed one).
    """
    started = time.perf_counter()
    config = load_config(project)
    target = resolve_target(config.publish, overrides)
    publication = Publication(config, target, S3(target, client), echo)
    works, built = publication.plan()
    _log_time("plan", started)
    if dry_run:
        publication.print_plan(works, prune)
        return publication.result(works, built)
    return publication.run(works, built, prune)


class Publication:
    """One run of `gtdocs publish` over all bundles of a project."""

    def __init__(self, config: ProjectConfig, target: Target, s3: S3, echo: Callable[..., None]):
        self.config = config
        self.target = target
        self.s3 = s3
        self.echo = echo
        self.listing: dict[str, Listed] = {}
        self.fingerprint = ""

    # -- plan -------------------------------------------------------------------------

    def plan(self) -> tuple[list[BundleWork], bool]:
        """Return each bundle's work, decided against the bucket, and whether the site was built."""
        names = records.bundle_names(self.config)
        self._check_names(names)
        self.fingerprint = records.input_fingerprint(self.config)
        # Read before building: the build replaces each bundle's site folder.
        last = {name: records.read_local_record(self.config, name) for name in names}
        prefixes = [self.target.prefix + "/"] if self.target.prefix else [
            self.target.bundle_prefix(name) for name in names]
        self.listing = self.s3.list(prefixes)

        works = self._reuse(names, last)
        built = works is None
        if built:
            works = self._build()
        for work in works:
            work.baseline = self._baseline(work.name, last.get(work.name))
            decide(work, self.listing, self.target.bundle_prefix(work.name))
        return works, built

    def _check_names(self, names: list[str]) -> None:
        if not names:
            from gtdocs.source import read_project

            read_project(self.config)     # raises the error that explains an empty bundles folder
        problems = []
        for name in names:
            message = key_part_problem(name, not self.target.public)
            if message:
                problems.append(Problem(self.config.relative(self.config.bundles_dir / f"{name}.md"), None, None,
                                        f"the bundle name {name!r} {message}", "rename the file"))
        raise_if_any(problems)

    def _reuse(self, names: list[str], last: dict[str, Record | None]) -> list[BundleWork] | None:
        """Return the works of the last complete publish if nothing it was built from has changed."""
        location = self.s3.location
        works = []
        for name in names:
            record = last.get(name)
            if (record is None or not record.complete or record.inputs != self.fingerprint
                    or not record.describes(self.target, name) or record.access != self.target.access):
                return None
            if any(entry.kind == "asset" and entry.url != location.object_url(self.target.bucket, entry.key)
                   for entry in record.objects.values()):
                return None
            folder = self.config.output_dir / name
            published = records.published_dir(self.config, name)
            objects = desired_from_record(record, folder, published)
            if objects is None or not all((published / page).is_file() for page in PAGE_NAMES.values()):
                return None
            works.append(BundleWork(name, folder, objects, record))
        log.debug("No input changed since the last publish; reusing its site.")
        return works

    def _build(self) -> list[BundleWork]:
        from gtdocs.build import build
        from gtdocs.publishing.pages import render_pages

        bar = ProgressBar("Rendering")
        try:
            result = build(self.config.root, progress=bar.start)
        finally:
            bar.close()
        for warning in result.warnings:
            self.echo(f"warning: {warning.render()}", err=True)
        location = self.s3.location
        works = []
        for bundle in result.bundles:
            name = bundle.bundle.name
            pages = render_pages(self.config, bundle.plan, self.target, location)
            objects = [desired_asset(self.target, location, name, bundle.folder, asset) for asset in pages.assets]
            objects.append(desired_template(self.target, name, pages.template))
            works.append(BundleWork(name, bundle.folder, objects, Record.empty(self.target, name, location.region),
                                    pages=pages))
        return works

    def _baseline(self, name: str, local: Record | None) -> Record:
        """Return the record to compare with: the local copy if it is the uploaded one, else the uploaded one."""
        key = self.target.record_key(name)
        listed = self.listing.get(key)
        if local is not None and local.describes(self.target, name):
            if listed is None or local.record_etag == listed.etag:
                return local
        if listed is not None:
            data = self.s3.get(key)
            remote = records.parse_record(data)
            if remote is not None and remote.describes(self.target, name):
                remote.record_etag = listed.etag
                remote.record_sha256 = hashlib.sha256(data).hexdigest()
                return remote
            log.warning("%s is not a publish record this version of gtdocs can read; objects it lists "
                        "are uploaded again and never pruned.", self.target.s3_uri(key))
        return Record.empty(self.target, name, self.s3.region)

    def print_plan(self, works: list[BundleWork], prune: bool) -> None:
        echo = self.echo
        echo(f"Dry run for {self._where()} ({self.target.access}): nothing is uploaded.")
        total = 0
        for work in works:
            echo(f"{work.name}: {len(work.uploads)} to upload, {len(work.unchanged)} unchanged, "
                 f"{len(work.unused)} unused")
            prefix = self.target.bundle_prefix(work.name)
            for item, reason in work.uploads:
                total += item.size
                echo(f"  upload  {item.key[len(prefix):]}  {_size(item.size)}, {reason}")
            for entry in work.unused:
                action = "delete" if prune else "unused"
                echo(f"  {action}  {entry.key[len(prefix):]}" + ("" if prune else "  (kept; --prune deletes it)"))
        uploads = sum(len(work.uploads) for work in works)
        echo(f"Would upload {uploads} object{_s(uploads)} ({_size(total)}); nothing was uploaded.")

    # -- act --------------------------------------------------------------------------

    def run(self, works: list[BundleWork], built: bool, prune: bool) -> PublishResult:
        for work in works:
            reasons = {}
            for _, reason in work.uploads:
                reasons[reason] = reasons.get(reason, 0) + 1
            detail = f" ({', '.join(f'{count} {reason}' for reason, count in reasons.items())})" if reasons else ""
            self.echo(f"{work.name}: {len(work.uploads)} to upload{detail}, {len(work.unchanged)} unchanged")

        verifier = None
        if self.target.public and any(work.uploads or any(work.known[item.key].verified is not True
                                                          for item in work.unchanged if item.kind == "asset")
                                      for work in works):
            from gtdocs.publishing.verify import Verifier

            verifier = Verifier()
        uploaded = False
        pruned: set[str] = set()
        try:
            started = time.perf_counter()
            self._upload(works, verifier)   # records what reached the bucket if it fails
            uploaded = True
            _log_time("upload", started)
            for work in works:
                if work.pages is not None:
                    self._write_pages(work)
            started = time.perf_counter()
            failed = self._verify(works, verifier)
            _log_time("verification after the uploads", started)
            if prune:
                pruned = self._prune(works)
        except BaseException:
            if uploaded:    # every object is in the bucket: keep the record, uploaded next time
                for work in works:
                    records.write_local_record(self.config, self._final_record(work, pruned))
            raise
        finally:
            if verifier is not None:
                verifier.close()
        for work in works:
            self._save(work, pruned)

        result = self.result(works, built)
        result.pruned = len(pruned)
        result.failed = failed
        self._report(result, works)
        if failed:
            raise PublishError(f"{len(failed)} published image{_s(len(failed))} cannot be loaded by workers "
                               f"(listed above; {_fix_for(failed.values())})")
        return result

    def _upload(self, works: list[BundleWork], verifier) -> None:
        """Upload every bundle's changed objects, and hand each uploaded image to `verifier` at once."""
        owner = {item.key: work for work in works for item, _ in work.uploads}

        def done(item: Desired, etag: str) -> None:
            owner[item.key].known[item.key] = item.entry(etag)
            if verifier is not None and item.kind == "asset":
                verifier.submit(_check(item))

        # Images first, templates after, so that no uploaded template refers to a missing image.
        assets = [item for work in works for item, _ in work.uploads if item.kind == "asset"]
        templates = [item for work in works for item, _ in work.uploads if item.kind != "asset"]
        if not assets and not templates:
            return
        bar = ProgressBar("Uploading")
        try:
            upload_all(self.s3, assets, done, bar.start(len(assets)))
            upload_all(self.s3, templates, done)
        except BaseException:
            # Record what reached the bucket, so that the next run uploads only the rest.
            for work in works:
                records.write_local_record(self.config, assemble(work, self.target, self.s3.region, False))
            raise
        finally:
            bar.close()

    def _write_pages(self, work: BundleWork) -> None:
        folder = records.published_dir(self.config, work.name)
        for attribute, file_name in PAGE_NAMES.items():
            write_atomic(folder / file_name, getattr(work.pages, attribute).encode("utf-8"))

    def _verify(self, works: list[BundleWork], verifier) -> dict[str, str]:
        """Return, by URL, why a worker cannot load each image that failed; print each.

        Public mode: an anonymous GET of each image uploaded now (already started by the
        upload) or not verified by an earlier publish. Private mode: a LIST after uploading.
        """
        uploaded = {item.key for work in works for item, _ in work.uploads}
        if not self.target.public:
            if uploaded:
                self._verify_listed(works, uploaded)
            return {}
        if verifier is None:    # nothing uploaded, and every image verified by an earlier publish
            return {}
        for work in works:
            for item in work.desired:
                if item.kind == "asset" and work.known[item.key].verified is not True:
                    verifier.submit(_check(item))
        bar = ProgressBar("Verifying")
        try:
            results = verifier.results(bar.start(len(verifier.futures)))
        finally:
            bar.close()
        failed = {}
        for work in works:
            for item in work.desired:
                if item.key in results:
                    cause = results[item.key]
                    work.known[item.key].verified = cause is None
                    if cause:
                        failed[item.url] = cause
                        self.echo(f"error: {work.name}: a worker cannot load {item.url}: {cause}", err=True)
        if results and not failed:
            self.echo(f"Verified {len(results)} image{_s(len(results))}: each loads without credentials.")
        return failed

    def _verify_listed(self, works: list[BundleWork], uploaded: set[str]) -> None:
        listing = self.s3.list(sorted({self.target.bundle_prefix(work.name) for work in works}))
        for work in works:
            for item in work.desired:
                listed = listing.get(item.key)
                if item.key in uploaded and (listed is None or listed.etag != work.known[item.key].etag):
                    raise PublishError(f"{self.target.s3_uri(item.key)} is not in the bucket after its upload "
                                       "(another process may be writing the same prefix; run again)")

    def _prune(self, works: list[BundleWork]) -> set[str]:
        keys = [entry.key for work in works for entry in work.unused]
        if keys:
            self.s3.delete(keys)
            self.echo(f"Deleted {len(keys)} unused object{_s(len(keys))} recorded by an earlier publish.")
        return set(keys)

    def _final_record(self, work: BundleWork, pruned: set[str]) -> Record:
        record = assemble(work, self.target, self.s3.region, True, pruned)
        record.inputs = self.fingerprint
        record.record_etag, record.record_sha256 = work.baseline.record_etag, work.baseline.record_sha256
        return record

    def _save(self, work: BundleWork, pruned: set[str]) -> None:
        """Write the record locally and upload a private copy, unless the uploaded copy is the same."""
        record = self._final_record(work, pruned)
        shared_data = record.shared_data()
        shared = records.to_json(shared_data)
        digest = hashlib.sha256(shared).hexdigest()
        key = self.target.record_key(work.name)
        listed = self.listing.get(key)
        # Saved first with the old copy's ETag: if the upload fails, the next run reads the bucket's copy.
        records.write_local_record(self.config, record, shared_data)
        if digest == record.record_sha256 and listed is not None and listed.etag == record.record_etag:
            return
        record.record_etag = self.s3.put(Upload(key, shared, digest, "application/json", REVALIDATE, None))
        record.record_sha256 = digest
        records.write_local_record(self.config, record, shared_data)

    # -- report -----------------------------------------------------------------------

    def _where(self) -> str:
        return self.target.s3_uri(self.target.prefix + "/" if self.target.prefix else "")

    def result(self, works: list[BundleWork], built: bool) -> PublishResult:
        return PublishResult(
            bundles=[work.name for work in works], built=built,
            uploaded=sum(len(work.uploads) for work in works),
            unchanged=sum(len(work.unchanged) for work in works),
            unused=sum(len(work.unused) for work in works))

    def _report(self, result: PublishResult, works: list[BundleWork]) -> None:
        count = len(result.bundles)
        parts = [f"{result.uploaded} uploaded", f"{result.unchanged} unchanged"]
        if result.pruned:
            parts.append(f"{result.pruned} deleted")
        elif result.unused:
            parts.append(f"{result.unused} unused (run with --prune to delete them)")
        nothing = "; nothing to upload" if not result.uploaded else ""
        self.echo(f"Published {count} bundle{_s(count)}: {', '.join(parts)}{nothing} ({self._where()})")
        folders = ", ".join(self.config.relative(records.published_dir(self.config, work.name)) for work in works)
        self.echo(f"Published fragments and templates: {folders}")


def _log_time(phase: str, started: float) -> None:
    log.debug("Publish phase %s took %.3f s", phase, time.perf_counter() - started)


def _check(item: Desired):
    from gtdocs.publishing.verify import Check

    return Check(item.key, item.url, item.sha256)


def _fix_for(causes) -> str:
    if any(cause.startswith("HTTP 403") for cause in causes):
        return ("ask the bucket's owner to turn off IgnorePublicAcls and RestrictPublicBuckets for this bucket, "
                "or publish with --access private, where the template reaches each image through "
                "grant_read_access")
    return "fix the cause given for each, then publish again"


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _size(size: int) -> str:
    return f"{size / 1000:.1f} kB" if size < 1_000_000 else f"{size / 1_000_000:.1f} MB"
