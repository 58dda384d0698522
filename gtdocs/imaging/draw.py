"""Draw annotations, verdict marks and tags on an output-sized RGB image.

Everything is drawn after resizing, so strokes are crisp at the output size.
Coordinates arrive as output pixels and may lie outside the image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from gtdocs.imaging import palette
from gtdocs.imaging.palette import BAD_RED, DARK, GOOD_GREEN, WHITE

XY = tuple[float, float]

POLYGON_FILL_ALPHA = 64  # of 255: a light tint that keeps the object visible


@dataclass(frozen=True)
class Metrics:
    """Stroke and text sizes in output pixels, scaled to the output width."""

    line: int
    edge: int
    font_size: int

    @classmethod
    def for_width(cls, width: int) -> "Metrics":
        line = max(2, round(width / 150))
        return cls(line=line, edge=max(1, round(line / 3)), font_size=max(11, round(width / 42)))


@lru_cache(maxsize=64)
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow >= 10.1 ships a scalable default font (Aileron) when FreeType is available.
    return ImageFont.load_default(size=size)


def clamp_xy(point: XY, size: tuple[int, int]) -> XY:
    """Keep a point within a few image sizes of the image, so Pillow's integer coordinates cannot overflow."""
    width, height = size
    x = min(max(point[0], -2.0 * width), 3.0 * width)
    y = min(max(point[1], -2.0 * height), 3.0 * height)
    return x, y


def box(image: Image.Image, rectangle: tuple[float, float, float, float], color: str, metrics: Metrics) -> None:
    """Draw a box whose stroke is centred on the annotated edge, with a contrast edge on both sides."""
    left, top = clamp_xy(rectangle[:2], image.size)
    right, bottom = clamp_xy(rectangle[2:], image.size)
    half = metrics.line / 2
    draw = ImageDraw.Draw(image)
    outer = metrics.line + 2 * metrics.edge
    draw.rectangle(_grow((left, top, right, bottom), half + metrics.edge), outline=palette.edge_color(color), width=outer)
    draw.rectangle(_grow((left, top, right, bottom), half), outline=color, width=metrics.line)


def _grow(rectangle: tuple[float, float, float, float], amount: float) -> tuple[int, int, int, int]:
    left, top, right, bottom = rectangle
    grown = (round(left - amount), round(top - amount), round(right + amount), round(bottom + amount))
    # Pillow rejects a rectangle whose right edge is left of its left edge.
    return grown[0], grown[1], max(grown[0], grown[2]), max(grown[1], grown[3])


def polygon_fill(image: Image.Image, points: list[XY], color: str) -> Image.Image:
    """Return the image with a translucent fill of the polygon."""
    if len(points) < 3:
        return image
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    ImageDraw.Draw(layer).polygon([clamp_xy(p, image.size) for p in points], fill=(*palette.rgb(color), POLYGON_FILL_ALPHA))
    base = image.convert("RGBA")
    base.alpha_composite(layer)
    return base.convert("RGB")


def polyline(image: Image.Image, points: list[XY], color: str, metrics: Metrics, closed: bool) -> None:
    points = [clamp_xy(p, image.size) for p in points]
    if closed and len(points) > 2:
        points = [*points, points[0], points[1]]  # repeat a segment so the closing corner gets its joint
    draw = ImageDraw.Draw(image)
    outer = metrics.line + 2 * metrics.edge
    if len(points) == 1:
        point(image, points[0], color, metrics)
        return
    draw.line(points, fill=palette.edge_color(color), width=outer, joint="curve")
    draw.line(points, fill=color, width=metrics.line, joint="curve")


def point(image: Image.Image, center: XY, color: str, metrics: Metrics) -> None:
    """Draw a keypoint as a filled circle with a contrast outline."""
    x, y = clamp_xy(center, image.size)
    radius = max(3.0, metrics.line * 1.6)
    outline = radius + metrics.edge
    draw = ImageDraw.Draw(image)
    draw.ellipse((x - outline, y - outline, x + outline, y + outline), fill=palette.edge_color(color))
    draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=color)


def tag(image: Image.Image, anchor: XY, text: str, fill: str, font_size: int, below_anchor: bool = False) -> None:
    """Draw a filled label tag whose bottom-left corner is at `anchor`.

    The tag is placed below the anchor instead when `below_anchor` is set or when
    it would leave the top of the image, and is kept inside the image horizontally.
    """
    face = font(font_size)
    text_left, text_top, text_right, text_bottom = face.getbbox(text)
    pad = max(2, round(font_size * 0.3))
    width = text_right - text_left + 2 * pad
    height = font_size + 2 * pad
    x = round(min(max(anchor[0], 0), max(0, image.width - width)))
    y = round(anchor[1] if below_anchor or anchor[1] - height < 0 else anchor[1] - height)
    y = min(max(y, 0), max(0, image.height - height))

    draw = ImageDraw.Draw(image)
    draw.rectangle((x, y, x + width - 1, y + height - 1), fill=fill)
    # Centre the ink box vertically; the font's ascent leaves room above the letters.
    text_y = y + (height - (text_bottom - text_top)) / 2 - text_top
    draw.text((x + pad - text_left, text_y), text, fill=palette.text_color(fill), font=face)


def caption_band(image: Image.Image, labels: list[tuple[str, str]], metrics: Metrics) -> Image.Image:
    """Return the image with a band below it naming image-level labels, each after a swatch of its colour."""
    size = metrics.font_size
    height = round(size * 1.9)
    band = Image.new("RGB", (image.width, image.height + height), palette.BAND)
    band.paste(image, (0, 0))
    draw = ImageDraw.Draw(band)
    face = font(size)
    x = float(size * 0.5)
    middle = image.height + height / 2
    for text, color in labels:
        swatch = size * 0.8
        draw.rectangle((x, middle - swatch / 2, x + swatch, middle + swatch / 2), fill=color, outline=WHITE)
        x += swatch + size * 0.35
        draw.text((x, middle), text, fill=WHITE, font=face, anchor="lm")
        x += face.getlength(text) + size * 1.0
    # NOTE: labels that do not fit the width are cut off at the right edge.
    return band


def verdict_mark(image: Image.Image, verdict: str) -> None:
    """Draw a red X ("bad") across the image centre, or a green check mark ("good") in the
    bottom-right corner, where it leaves the annotations it approves in view.

    Shapes and words differ as well as colours, so the marks read without colour vision.
    """
    width, height = image.size
    side = min(width, height)
    thickness = max(5, round(side / 20))
    white_ring = max(2, round(thickness / 5))
    dark_ring = max(1, round(thickness / 8))
    cx, cy = width / 2, height / 2
    reach = 0.3 * side

    if verdict == "bad":
        strokes = [((cx - reach, cy - reach), (cx + reach, cy + reach)),
                   ((cx - reach, cy + reach), (cx + reach, cy - reach))]
        color = BAD_RED
    else:
        # A smaller mark, centred a mark's width in from the bottom-right corner.
        reach = 0.16 * side
        thickness = max(5, round(side / 24))
        cx, cy = width - 1.1 * reach - thickness, height - 0.9 * reach - thickness
        corner = (cx - 0.15 * reach, cy + 0.45 * reach)
        strokes = [((cx - 0.6 * reach, cy), corner), (corner, (cx + 0.65 * reach, cy - 0.55 * reach))]
        color = GOOD_GREEN

    draw = ImageDraw.Draw(image)
    # Layers from the outside in, so the white and red of one stroke cover the rings of the other.
    for layer_color, extra in ((DARK, white_ring + dark_ring), (WHITE, white_ring), (color, 0)):
        half = thickness / 2 + extra
        for start, end in strokes:
            draw.polygon(_stroke_polygon(start, end, half, extend=extra), fill=layer_color)
        if verdict != "bad":
            joint = strokes[0][1]
            draw.ellipse((joint[0] - half, joint[1] - half, joint[0] + half, joint[1] + half), fill=layer_color)


def _stroke_polygon(start: XY, end: XY, half: float, extend: float) -> list[XY]:
    """Return the corners of a straight stroke `2 * half` wide, lengthened by `extend` at both ends."""
    dx, dy = end[0] - start[0], end[1] - start[1]
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    nx, ny = -uy * half, ux * half
    sx, sy = start[0] - ux * extend, start[1] - uy * extend
    ex, ey = end[0] + ux * extend, end[1] + uy * extend
    return [(sx + nx, sy + ny), (ex + nx, ey + ny), (ex - nx, ey - ny), (sx - nx, sy - ny)]


def verdict_tag(image: Image.Image, text: str, verdict: str | None, metrics: Metrics) -> None:
    """Draw the verdict word (or an animation caption) in a tag at the top-right corner.

    Box label tags sit at a box's top-left, so the top-right corner covers them less often.
    """
    fill = {"bad": BAD_RED, "good": GOOD_GREEN}.get(verdict or "", palette.NEUTRAL_TAG)
    margin = metrics.line * 2
    # tag() keeps a tag inside the image, so an anchor past the right edge puts it flush right.
    font_size = round(metrics.font_size * 1.25)
    width = font(font_size).getlength(text) + 2 * max(2, round(font_size * 0.3))
    tag(image, (image.width - margin - width, margin), text, fill, font_size, below_anchor=True)
