"""Rules on the examples: good and bad shown, pairs, captions' labels, unused and tiny objects."""

from __future__ import annotations

import re

from gtdocs.annotations import Box, Polygon, Polyline
from gtdocs.checking.context import BundleContext
from gtdocs.checking.pictures import Pictures
from gtdocs.source import Animation, Example


def check_examples(context: BundleContext) -> None:
    short_good_and_bad(context)
    full_pairs(context)
    labels_shown(context)
    unused_examples(context)
    pictures = Pictures(context)
    small_objects(context, pictures)
    pictures.look_the_same()


def short_good_and_bad(context: BundleContext) -> None:
    verdicts = set()
    for example in context.placed("short"):
        verdicts |= context.verdicts(example)
    missing = [verdict for verdict in ("good", "bad") if verdict not in verdicts]
    if not missing:
        return
    lines = [placement.line for placement in context.bundle.placements if placement.section == "short"]
    what = " or ".join(missing)
    context.report("S104", min(lines, default=context.bundle.short_line),
                   f"the short instructions show no {what} example",
                   "place a good and a bad example side by side near the top: [[good-id | bad-id]]")


def full_pairs(context: BundleContext) -> None:
    limit = context.option("F102", "max")
    pairs = 0
    for placement in context.bundle.placements:
        if placement.section != "full":
            continue
        verdicts = set()
        for example_id in placement.ids:
            if example_id in context.bundle.examples:
                verdicts |= context.verdicts(context.bundle.examples[example_id])
        if {"good", "bad"} <= verdicts:
            pairs += 1
            if pairs == limit + 1:
                context.report("F102", placement.line,
                               f"good/bad pair number {pairs} in the full instructions (the limit is {limit})",
                               "keep the pairs that show the most common mistakes; workers skim long pages")


def labels_shown(context: BundleContext) -> None:
    """F104 for a label that no example shows, F105 for one that only bad examples show."""
    bundle = context.bundle
    by_verdict: dict[str, set[str]] = {"good": set(), "bad": set()}
    for shown in context.shown:
        example = shown.example
        labels = set()
        if isinstance(example, Example):
            labels |= set(example.annotations.labels())
        if bundle.task == "image-classification" and example.caption:
            # A classification example shows its answer in the caption as often as on the image.
            labels |= {label for label in bundle.labels if _names(example.caption, label)}
        by_verdict["bad" if example.verdict == "bad" else "good"] |= labels
    for index, label in enumerate(bundle.labels):
        line = bundle.lines.get(("labels", index), bundle.lines.get(("labels",)))
        if label not in by_verdict["good"] | by_verdict["bad"]:
            context.report("F104", line, f"no example shows the label {label!r}",
                           f"add an example that shows a {label}, or remove the label if the job does not need it")
        elif label not in by_verdict["good"]:
            context.report("F105", line, f"only bad examples show the label {label!r}",
                           f"add a good example that shows what a {label} is")


def _names(text: str, label: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(label)}(?!\w)", text, re.IGNORECASE) is not None


def unused_examples(context: BundleContext) -> None:
    shown = {item.example.id for item in context.shown}
    for example in context.bundle.examples.values():
        if example.id not in shown:
            what = "animation" if isinstance(example, Animation) else "example"
            context.report("E103", example.line, f"{what} {example.id!r} is defined but never shown",
                           f"place it with [[{example.id}]] in the instructions, or delete it from the front matter")


def small_objects(context: BundleContext, pictures: Pictures) -> None:
    """E102: report each annotated object once, at the narrowest width it is shown."""
    min_size = context.option("E102", "min_size")
    smallest: dict[tuple[str, int], tuple[float, float, object]] = {}
    for shown in context.shown:
        example = shown.example
        if not isinstance(example, Example):
            continue
        for index, shape in enumerate(example.annotations.shapes):
            if not isinstance(shape, (Box, Polygon, Polyline)):
                continue
            size = pictures.shown_size(example, shape, shown.css_width)
            if size is None:
                continue
            side = max(size) if isinstance(shape, Polyline) else min(size)
            if side < min_size and side < smallest.get((example.id, index), (float("inf"),))[0]:
                smallest[(example.id, index)] = (side, size, shown)
    for (example_id, index), (_, size, shown) in smallest.items():
        example = shown.example
        shape = example.annotations.shapes[index]
        line = example.annotation_lines[index] if index < len(example.annotation_lines) else example.line
        where = "short" if shown.section == "short" else "full"
        crop = pictures.suggest_crop(example, shape, shown.css_width, min_size)
        hint = f"crop the example to it (crop: {crop})" if crop else "crop the example to it"
        context.report("E102", line,
                       f"the {shape.label} {type(shape).__name__.lower()} of example {example.id!r} is "
                       f"{size[0]:.0f} x {size[1]:.0f} px as shown {shown.css_width} px wide in the {where} "
                       f"instructions (the minimum is {min_size:g} px)",
                       f"{hint}, or show it wider in the full instructions")

