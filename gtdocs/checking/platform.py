"""Rules on platform limits: label counts, the inlined size of the short instructions, alt text, Liquid."""

from __future__ import annotations

import math
from html.parser import HTMLParser

from gtdocs.checking.context import BundleContext
from gtdocs.checking.liquid import check_liquid


TEMPLATE_NAME = "template.liquid.html"


def check_platform(context: BundleContext) -> None:
    label_counts(context)
    alt_text(context)
    if context.fragments is not None and context.plan is not None:
        inlined_size(context)
        rendered_alt_text(context)
    if context.template is not None:
        template_liquid(context)


def label_counts(context: BundleContext) -> None:
    bundle = context.bundle
    line = bundle.lines.get(("labels",))
    count = len(bundle.labels)
    if bundle.task == "bounding-box" and count > context.option("P101", "max"):
        limit = context.option("P101", "max")
        context.report("P101", line, f"{count} labels for a bounding-box job; Ground Truth's bounding-box tool "
                                     f"takes at most {limit}",
                       "split the job by label group, or merge labels that workers cannot tell apart")
    if bundle.task == "image-classification" and count < context.option("P102", "min"):
        context.report("P102", line, f"{count} label for an image-classification job leaves workers no choice",
                       "add the other categories, including one such as 'None of these' if it applies")


def alt_text(context: BundleContext) -> None:
    """P104: an example without `alt` and without a caption falls back to its id as alt text."""
    for example in context.placed():
        if not context.has_key(example, "alt") and not example.caption:
            context.report("P104", example.line, f"example {example.id!r} has no alt text "
                                                 f"(a screen reader reads its id {example.id!r})",
                           "add 'alt:' describing what the image shows")


class _Images(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.images: list[dict[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))


def _images(html: str) -> list[dict[str, str | None]]:
    parser = _Images()
    parser.feed(html)
    parser.close()
    return parser.images


def rendered_alt_text(context: BundleContext) -> None:
    """P104 on the rendered fragments, for a theme whose example template drops the alt attribute."""
    for section, html in (("short", context.fragments.short), ("full", context.fragments.full)):
        for image in _images(html):
            if not (image.get("alt") or "").strip():
                context.report("P104", None, f"an image in the {section} fragment has no alt text: {image.get('src')}",
                               "keep alt=\"{{ example.alt }}\" on <img> in the theme's example.html")


def inlined_size(context: BundleContext) -> None:
    """P103: estimate the short fragment's size with every image URL replaced by a base64 data URI."""
    assets = {asset.path: asset for asset in context.plan.assets()}
    html = context.fragments.short
    total = len(html.encode("utf-8"))
    images = 0
    for image in _images(html):
        urls = [image.get("src") or ""]
        urls += [candidate.split()[0] for candidate in (image.get("srcset") or "").split(",") if candidate.strip()]
        for url in urls:
            asset = assets.get(url)
            if asset is None or not asset.size:
                continue
            images += 1
            total += len(f"data:{asset.content_type};base64,") + 4 * math.ceil(asset.size / 3) - len(url)
    limit = context.option("P103", "max_kb")
    if total > limit * 1000:
        context.report("P103", context.bundle.short_line,
                       f"the short instructions are about {total / 1000:.0f} KB with their {images} image URLs "
                       f"inlined as base64 data URIs, over the limit of {limit} KB",
                       "show fewer or smaller images in the short instructions, or set render.densities = [1]; "
                       "if the images are always published and linked, disable P103")


def template_liquid(context: BundleContext) -> None:
    source = context.config.theme_dir / TEMPLATE_NAME
    origin = (f"from {context.config.relative(source)}" if source.is_file()
              else "from the default theme")
    built = context.config.relative(context.config.output_dir / context.bundle.name / TEMPLATE_NAME)
    for error in check_liquid(context.template):
        context.report("P105", error.line, f"Liquid error in the worker task template ({origin}): {error.message}",
                       "fix the template's Liquid; Ground Truth fails every task whose template does not parse",
                       file=built)


