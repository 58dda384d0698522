"""Coordinate mapping: annotation coordinates to displayed pixels to output pixels."""

from __future__ import annotations

from dataclasses import dataclass

from gtdocs.imaging.model import ImageError, ImageInfo


@dataclass(frozen=True)
class Placement:
    """The source region and size of an output. `crop` is (left, top, right, bottom) in
    displayed pixels, clamped to the image, and `size` is the output (width, height)."""

    crop: tuple[float, float, float, float]
    size: tuple[int, int]
    to_displayed: "OrientationMap"

    @property
    def scale(self) -> float:
        """Output pixels per displayed pixel."""
        return self.size[0] / (self.crop[2] - self.crop[0])

    def point(self, x: float, y: float) -> tuple[float, float]:
        """Map an annotation coordinate to output pixels."""
        x, y = self.to_displayed(x, y)
        left, top, right, bottom = self.crop
        return ((x - left) * self.size[0] / (right - left),
                (y - top) * self.size[1] / (bottom - top))

    def rectangle(self, left: float, top: float, right: float, bottom: float) -> tuple[float, float, float, float]:
        """Map a rectangle, which an orientation can turn and mirror, to output pixels."""
        x1, y1 = self.point(left, top)
        x2, y2 = self.point(right, bottom)
        return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


class OrientationMap:
    """Maps coordinates of the stored (raw) image onto the displayed image.

    The mapping is the one Pillow's `exif_transpose` applies to the pixels, in
    continuous coordinates, so a pixel edge maps to a pixel edge.
    """

    def __init__(self, orientation: int, raw_width: float, raw_height: float):
        self.orientation = orientation
        self.width = raw_width
        self.height = raw_height

    def __call__(self, x: float, y: float) -> tuple[float, float]:
        w, h = self.width, self.height
        match self.orientation:
            case 2:
                return w - x, y
            case 3:
                return w - x, h - y
            case 4:
                return x, h - y
            case 5:
                return y, x
            case 6:
                return h - y, x
            case 7:
                return h - y, w - x
            case 8:
                return y, w - x
            case _:
                return x, y


IDENTITY = OrientationMap(1, 0, 0)


def annotation_map(size: tuple[int, int] | None, info: ImageInfo) -> OrientationMap:
    """Choose how annotation coordinates map onto the displayed image.

    A size equal to the displayed size wins, so for orientations 2, 3 and 4, where
    raw and displayed sizes are equal, coordinates are taken as displayed.
    """
    if size is None or tuple(size) == (info.width, info.height):
        return IDENTITY
    if tuple(size) == (info.raw_width, info.raw_height):
        return OrientationMap(info.orientation, info.raw_width, info.raw_height)
    raise ImageError(
        f"annotations are for a {size[0]} x {size[1]} image but the image is "
        f"{info.width} x {info.height} (stored as {info.raw_width} x {info.raw_height})",
        "label the same image file that the instructions show")


def place(info: ImageInfo, crop: tuple[float, float, float, float] | None, width: int,
          max_pixels: int, to_displayed: OrientationMap) -> Placement:
    """Clamp the crop to the image and size the output.

    A crop is scaled, up if needed, to `width`. A whole image is never upscaled.
    """
    if crop is None:
        box = (0.0, 0.0, float(info.width), float(info.height))
        out_width = max(1, min(int(width), info.width))
    else:
        box = _clamp_crop(crop, info)
        out_width = max(1, int(width))
    out_height = max(1, round((box[3] - box[1]) * out_width / (box[2] - box[0])))
    limit = max(1, max_pixels // out_width)
    if out_height > limit:
        # A thin tall crop scaled to the width could be huge, so cut its bottom to keep the pixel limit.
        out_height = limit
        box = (box[0], box[1], box[2], box[1] + limit * (box[2] - box[0]) / out_width)
    return Placement(box, (out_width, out_height), to_displayed)


def _clamp_crop(crop: tuple[float, float, float, float], info: ImageInfo) -> tuple[float, float, float, float]:
    left, top, width, height = (float(value) for value in crop)
    left = min(max(left, 0.0), info.width - 1.0)
    top = min(max(top, 0.0), info.height - 1.0)
    right = min(max(left + width, left + 1.0), float(info.width))
    bottom = min(max(top + height, top + 1.0), float(info.height))
    return left, top, right, bottom
