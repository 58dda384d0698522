"""Examples as displayed to a worker: sizes after scaling, and good/bad pairs that look the same (E101).

Sizes come from the same geometry as the image stage (`gtdocs.imaging.geometry`): a whole
image is never scaled up, but a crop is scaled to the slot width. At 1x density, one output
pixel is one CSS pixel.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from gtdocs.annotations import Box, ImageLabel, Mask, Point, Polygon, Polyline
from gtdocs.imaging import geometry
from gtdocs.imaging.load import decode, describe, open_image
from gtdocs.imaging.model import ImageError, ImageInfo
from gtdocs.source import Example

THUMBNAIL = 32   # px on a side of the greyscale thumbnail that two photos are compared by


class Pictures:
    def __init__(self, context):
        self.context = context
        self.max_pixels = context.config.render.max_pixels
        self.infos: dict = {}
        self.thumbnails: dict = {}

    def info(self, example: Example) -> ImageInfo | None:
        if example.image not in self.infos:
            try:
                with open_image(example.image, self.max_pixels) as image:
                    self.infos[example.image] = describe(image)
            except ImageError:
                self.infos[example.image] = None   # the build reports unreadable images
        return self.infos[example.image]

    def placement(self, example: Example, css_width: int) -> geometry.Placement | None:
        info = self.info(example)
        if info is None:
            return None
        try:
            to_displayed = geometry.annotation_map(example.annotations.size, info)
        except ImageError:
            return None
        return geometry.place(info, example.crop, css_width, self.max_pixels, to_displayed)

    # -- sizes ---------------------------------------------------------------------------

    def shown_size(self, example: Example, shape, css_width: int) -> tuple[float, float] | None:
        """Return the CSS px width and height of a shape's part inside the shown image, or None if none is."""
        placement = self.placement(example, css_width)
        if placement is None:
            return None
        left, top, right, bottom = _bounds(shape, placement)
        width, height = placement.size
        left, top, right, bottom = max(left, 0), max(top, 0), min(right, width), min(bottom, height)
        if right <= left or bottom <= top:
            return None
        return right - left, bottom - top

    def suggest_crop(self, example: Example, shape, css_width: int, min_size: float) -> str | None:
        """Suggest a crop, in displayed pixels, in which the shape shows at four times `min_size`."""
        info = self.info(example)
        if info is None or isinstance(shape, Polyline):
            return None
        left, top, right, bottom = _bounds(shape, geometry.place(info, None, info.width, self.max_pixels,
                                                                  geometry.annotation_map(example.annotations.size, info)))
        side = max(min(right - left, bottom - top), 1.0)
        width = min(info.width, max(right - left, side * css_width / (4 * min_size)))
        height = min(info.height, max(bottom - top, width * info.height / info.width))
        x = min(max((left + right - width) / 2, 0), info.width - width)
        y = min(max((top + bottom - height) / 2, 0), info.height - height)
        return f"[{x:.0f}, {y:.0f}, {width:.0f}, {height:.0f}]"

    # -- good and bad that look the same -----------------------------------------------

    def thumbnail(self, example: Example) -> np.ndarray | None:
        key = (example.image, example.crop)
        if key not in self.thumbnails:
            self.thumbnails[key] = self._thumbnail(example)
        return self.thumbnails[key]

    def _thumbnail(self, example: Example) -> np.ndarray | None:
        info = self.info(example)
        if info is None:
            return None
        placement = geometry.place(info, example.crop, info.width, self.max_pixels, geometry.IDENTITY)
        left, top, right, bottom = placement.crop
        scale = min(1.0, 4 * THUMBNAIL / max(right - left, bottom - top))
        try:
            with open_image(example.image, self.max_pixels) as image:
                rgb, decoded = decode(image, info, scale, self.context.config.render.background, [])
        except ImageError:
            return None
        # `decoded` is decoded pixels per displayed pixel, horizontally and vertically.
        scale_x, scale_y = decoded
        region = rgb.crop((round(left * scale_x), round(top * scale_y), round(right * scale_x), round(bottom * scale_y)))
        small = region.convert("L").resize((THUMBNAIL, THUMBNAIL), Image.Resampling.BOX)
        return np.asarray(small, dtype=np.float64) / 255

    def look_the_same(self) -> None:
        context = self.context
        if not context.enabled("E101"):
            return
        widths: dict[str, int] = {}
        for shown in context.shown:
            if isinstance(shown.example, Example) and shown.example.verdict in ("good", "bad"):
                widths[shown.example.id] = min(widths.get(shown.example.id, shown.css_width), shown.css_width)
        examples = [context.bundle.examples[example_id] for example_id in widths]
        for good in (example for example in examples if example.verdict == "good"):
            for bad in (example for example in examples if example.verdict == "bad"):
                self._compare(good, bad, min(widths[good.id], widths[bad.id]))

    def _compare(self, good: Example, bad: Example, css_width: int) -> None:
        context = self.context
        first, second = self.thumbnail(good), self.thumbnail(bad)
        if first is None or second is None:
            return
        photo_difference = float(np.mean(np.abs(first - second)))
        if photo_difference > context.option("E101", "max_photo_difference"):
            return
        placements = self.placement(good, css_width), self.placement(bad, css_width)
        if None in placements:
            return
        difference = annotation_difference(good.annotations.shapes, placements[0],
                                           bad.annotations.shapes, placements[1])
        limit = context.option("E101", "min_difference")
        if difference >= limit:
            return
        photo = "the same photo" if photo_difference < 0.005 else "nearly the same photo"
        marks = ("the same annotations" if difference == 0
                 else f"annotations that differ by at most {difference:.1f} px")
        line = next((shown.line for shown in context.shown
                     if {good.id, bad.id} <= set(shown.pair)), bad.line)
        context.report("E101", line,
                       f"good example {good.id!r} and bad example {bad.id!r} look the same {css_width} px wide: "
                       f"{photo} with {marks} (the minimum difference is {limit:g} px)",
                       "make the mistake plain to see, or choose another photo for one of them")


def _bounds(shape, placement: geometry.Placement) -> tuple[float, float, float, float]:
    if isinstance(shape, Box):
        return placement.rectangle(shape.left, shape.top, shape.right, shape.bottom)
    points = [placement.point(x, y) for x, y in _points(shape)]
    xs, ys = [x for x, _ in points], [y for _, y in points]
    return min(xs), min(ys), max(xs), max(ys)


def _points(shape) -> list[tuple[float, float]]:
    if isinstance(shape, Box):
        return [(shape.left, shape.top), (shape.right, shape.top), (shape.right, shape.bottom), (shape.left, shape.bottom)]
    if isinstance(shape, (Polygon, Polyline)):
        return list(shape.points)
    if isinstance(shape, Point):
        return [(shape.x, shape.y)]
    return []


def annotation_difference(first: tuple, first_placement: geometry.Placement,
                          second: tuple, second_placement: geometry.Placement) -> float:
    """Return the maximum distance in CSS px between matched shapes of two examples.

    Shapes match by kind and label. For two examples with different shape counts, kinds or
    labels the distance is infinity, because a worker notices a missing or renamed shape at once.
    """
    if len(first) != len(second):
        return math.inf
    remaining = list(second)
    largest = 0.0
    for shape in first:
        candidates = [(shape_distance(shape, first_placement, other, second_placement), index)
                      for index, other in enumerate(remaining)]
        if not candidates:
            return math.inf
        distance, index = min(candidates)
        if distance == math.inf:
            return math.inf
        largest = max(largest, distance)
        remaining.pop(index)
    return largest


def shape_distance(shape, placement: geometry.Placement, other, other_placement: geometry.Placement) -> float:
    if type(shape) is not type(other) or getattr(shape, "label", None) != getattr(other, "label", None):
        return math.inf
    if isinstance(shape, ImageLabel):
        return 0.0
    if isinstance(shape, Mask):
        return 0.0 if shape.path == other.path else math.inf
    if isinstance(shape, Box):
        edges = placement.rectangle(shape.left, shape.top, shape.right, shape.bottom)
        other_edges = other_placement.rectangle(other.left, other.top, other.right, other.bottom)
        return max(abs(a - b) for a, b in zip(edges, other_edges))
    points = [placement.point(x, y) for x, y in _points(shape)]
    other_points = [other_placement.point(x, y) for x, y in _points(other)]
    return max(_farthest(points, other_points), _farthest(other_points, points))


def _farthest(points: list, others: list) -> float:
    """Return the largest distance from a point of `points` to its nearest point of `others` (Hausdorff)."""
    return max(min(math.dist(point, other) for other in others) for point in points)
