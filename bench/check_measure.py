"""Print the measures behind `gtdocs check`'s defaults for every bundle of a project.

    python bench/check_measure.py example-project

For each bundle it prints:
- words in the short instructions, captions included;
- the longest sentence in each section;
- the Flesch-Kincaid grade of the short instructions;
- words before the first image;
- the smallest annotated object at its display size;
- the photo and annotation difference of each good/bad pair;
- the short fragment's size with its images inlined.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from gtdocs.annotations import Box, Polygon
from gtdocs.check import render_bundles
from gtdocs.checking.context import BundleContext
from gtdocs.checking.pictures import Pictures, annotation_difference
from gtdocs.checking.prose import detect_language, grade_level
from gtdocs.checking.settings import parse_settings
from gtdocs.config import load_config
from gtdocs.render import BundleRenderer, make_environment
from gtdocs.source import Example, read_project


def measure(project: Path) -> None:
    config = load_config(project)
    bundles = read_project(config)
    built = render_bundles(config, bundles)
    for bundle in bundles:
        context = BundleContext(config, bundle, parse_settings(config.check), built[bundle.name].plan,
                                built[bundle.name].fragments)
        short = context.sentences("short")
        body = [sentence for sentence in short if sentence.kind != "heading"]
        print(f"{bundle.display_path}")
        print(f"  short words (captions included): {sum(len(s.words) for s in short)}")
        for section in ("short", "full"):
            lengths = [len(s.words) for s in context.sentences(section) if s.kind != "heading"]
            print(f"  longest sentence in {section}: {max(lengths, default=0)} words")
        text = " ".join(s.text for s in body)
        grade = grade_level(body)
        print(f"  language: {detect_language(text)}, grade: {grade:.1f}" if grade is not None else "  no text")
        placements = [p.line for p in bundle.placements if p.section == "short"]
        if placements:
            before = sum(len(s.words) for s in context.body_sentences["short"] if s.line < min(placements))
            print(f"  words before the first image: {before}")
        pictures = Pictures(context)
        sides = []
        for shown in context.shown:
            if isinstance(shown.example, Example):
                for shape in shown.example.annotations.shapes:
                    if isinstance(shape, (Box, Polygon)):
                        size = pictures.shown_size(shown.example, shape, shown.css_width)
                        if size:
                            sides.append((min(size), shown.example.id, shown.css_width))
        if sides:
            side, example_id, width = min(sides)
            print(f"  smallest object: {side:.1f} px ({example_id!r} at {width} px)")
        widths: dict[str, int] = {}
        for shown in context.shown:
            if isinstance(shown.example, Example):
                widths[shown.example.id] = min(widths.get(shown.example.id, shown.css_width), shown.css_width)
        stills = [bundle.examples[example_id] for example_id in widths]
        goods = {e.id: e for e in stills if e.verdict == "good"}
        bads = {e.id: e for e in stills if e.verdict == "bad"}
        for good in goods.values():
            for bad in bads.values():
                first, second = pictures.thumbnail(good), pictures.thumbnail(bad)
                photo = float(np.mean(np.abs(first - second)))
                width = min(widths[good.id], widths[bad.id])
                difference = annotation_difference(good.annotations.shapes, pictures.placement(good, width),
                                                   bad.annotations.shapes, pictures.placement(bad, width))
                shown = "different shapes" if math.isinf(difference) else f"{difference:.1f} px"
                print(f"  {good.id} / {bad.id} at {width} px: photo difference {photo:.3f}, annotations {shown}")
        html = built[bundle.name].fragments.short
        assets = {asset.path: asset for asset in built[bundle.name].plan.assets()}
        inlined = len(html.encode()) + sum(4 * math.ceil(asset.size / 3) for path, asset in assets.items()
                                           if path in html)
        template = BundleRenderer(config, built[bundle.name].plan, make_environment(config)).template(
            built[bundle.name].fragments)
        print(f"  short fragment: {len(html.encode())} bytes, about {inlined / 1000:.0f} KB with images inlined "
              f"once each; template {len(template.encode())} bytes")


if __name__ == "__main__":
    for folder in sys.argv[1:] or ["example-project"]:
        measure(Path(folder))
