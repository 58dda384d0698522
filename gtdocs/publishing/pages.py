"""The published fragments and template of a bundle, whose images point at the published objects.

Public mode: every image URL is the object's absolute public URL.

Private mode: no object is public, so the page must ask Ground Truth for a presigned URL.
The template starts with one Liquid assignment per image,

    {% assign gtdocs_image_<hash> = "s3://bucket/key" | grant_read_access %}

and each `src`/`srcset` refers to `{{ gtdocs_image_<hash> }}`. The renderer turns every `{{`
and `{%` in its output into `&#123;` entities, so that author text cannot run as Liquid.
So the renderer is given placeholder URLs, a random marker that author text cannot contain,
and the Liquid replaces the markers after rendering.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from gtdocs.publishing.target import Location, Target

PRIVATE_NOTE = (
    "<!-- Published by gtdocs for private images: each image is a private S3 object that this HTML reaches "
    "through Ground Truth's Liquid filter grant_read_access. It works inside a worker task template that "
    "Ground Truth renders, such as template.liquid.html beside this file; a plain browser shows no images. -->\n")


@dataclass
class Pages:
    short: str
    full: str
    template: str
    assets: list          # the gtdocs.assets.Asset objects that the pages refer to, each once


def render_pages(config, plan, target: Target, location: Location) -> Pages:
    """Render the published short and full fragments and the template of one bundle's `plan`."""
    from gtdocs.render import BundleRenderer, make_environment

    by_path = {asset.path: asset for asset in plan.assets()}
    used: dict[str, object] = {}
    bundle_prefix = target.bundle_prefix(plan.bundle.name)
    environment = make_environment(config)

    if target.public:
        def public_url(path: str) -> str:
            used[path] = by_path[path]
            return location.object_url(target.bucket, bundle_prefix + path)

        renderer = BundleRenderer(config, plan, environment, url_for=public_url)
        fragments = renderer.fragments()
        return Pages(fragments.short, fragments.full, renderer.template(fragments), list(used.values()))

    nonce = secrets.token_hex(12)
    markers: dict[str, str] = {}

    def marker(path: str) -> str:
        used[path] = by_path[path]
        return markers.setdefault(path, f"gtdocs-{nonce}-{len(markers)}-url")

    renderer = BundleRenderer(config, plan, environment, url_for=marker)
    fragments = renderer.fragments()
    liquid = _LiquidImages(target, bundle_prefix, {value: by_path[path] for path, value in markers.items()},
                           re.compile(rf"gtdocs-{nonce}-\d+-url"))
    short, short_assets = liquid.replace(fragments.short)
    full, full_assets = liquid.replace(fragments.full)
    template = renderer.template(type(fragments)(short, full))
    return Pages(
        short=PRIVATE_NOTE + liquid.assignments(short_assets.values()) + short,
        full=PRIVATE_NOTE + liquid.assignments(full_assets.values()) + full,
        template=liquid.assignments({**short_assets, **full_assets}.values()) + template,
        assets=list(used.values()))


class _LiquidImages:
    """Replaces the renderer's placeholder URLs by Liquid variables, and writes their assignments."""

    def __init__(self, target: Target, bundle_prefix: str, by_marker: dict, pattern: re.Pattern):
        self.target = target
        self.bundle_prefix = bundle_prefix
        self.by_marker = by_marker
        self.pattern = pattern

    @staticmethod
    def variable(asset) -> str:
        return "gtdocs_image_" + asset.file_name.split(".")[0]

    def replace(self, html: str) -> tuple[str, dict]:
        """Return `html` with each placeholder replaced by `{{ variable }}`, and the assets it uses by path."""
        found: dict[str, object] = {}

        def substitute(match: re.Match) -> str:
            asset = self.by_marker[match.group(0)]
            found[asset.path] = asset
            return "{{ " + self.variable(asset) + " }}"

        return self.pattern.sub(substitute, html), found

    def assignments(self, assets) -> str:
        lines = []
        for asset in sorted(assets, key=lambda item: item.path):
            uri = self.target.s3_uri(self.bundle_prefix + asset.path)
            lines.append(f'{{% assign {self.variable(asset)} = "{uri}" | grant_read_access %}}\n')
        return "".join(lines)
