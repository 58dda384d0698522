"""Build one still: decode, crop and resize the photo, then draw its annotations."""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image
# numpy is imported inside the functions that use it: a build that finds every asset in the
# cache, as a text edit in the live preview does, never needs it (about 50 ms to import).

from gtdocs.annotations import Box, ImageLabel, Mask, Point, Polygon, Polyline
from gtdocs.imaging import draw, load, palette
from gtdocs.imaging.geometry import Placement, annotation_map, place
from gtdocs.imaging.model import ImageError, ImageInfo, StillSpec, Style

# Resizing in steps of this factor (Pillow's `reducing_gap`) is fast and looks the same as one LANCZOS pass.
REDUCING_GAP = 3.0


@dataclass
class Still:
    """An output-sized RGB image with its annotations drawn, before the verdict mark."""

    image: Image.Image
    metrics: draw.Metrics
    warnings: list[str] = field(default_factory=list)


def compose(spec: StillSpec) -> Still:
    if spec.verdict not in (None, "good", "bad"):
        raise ImageError(f"has verdict {spec.verdict!r}", "use good, bad or leave it out")
    warnings: list[str] = []
    with load.open_image(spec.source, spec.style.max_pixels) as source:
        info = load.describe(source)
        to_displayed = annotation_map(spec.annotations.size, info)
        placement = place(info, spec.crop, spec.width, spec.style.max_pixels, to_displayed)
        photo, decoded_scale = load.decode(source, info, placement.scale, spec.style.background, warnings)

    # The crop box in the pixels of the decoded image, which a JPEG draft may have reduced.
    x_scale, y_scale = decoded_scale
    left, top, right, bottom = placement.crop
    box = (left * x_scale, top * y_scale, right * x_scale, bottom * y_scale)
    if box == (0.0, 0.0, *photo.size) and placement.size == photo.size:
        image = photo  # full size: skip the resize, which would blur flat colours such as screenshots
    else:
        reducing_gap = REDUCING_GAP if decoded_scale == (1.0, 1.0) else None
        image = photo.resize(placement.size, Image.Resampling.LANCZOS, box=box, reducing_gap=reducing_gap)

    metrics = draw.Metrics.for_width(image.width)
    image = draw_annotations(image, spec, placement, info, metrics)
    return Still(image, metrics, warnings)


def draw_annotations(image: Image.Image, spec: StillSpec, placement: Placement, info: ImageInfo,
                     metrics: draw.Metrics) -> Image.Image:
    """Draw fills first and tags last, so no shape hides another shape's label."""
    shapes = spec.annotations.shapes
    colors = spec.style.colors

    for shape in shapes:
        if isinstance(shape, Mask):
            image = blend_mask(image, shape, placement, info, spec.style, max(2, metrics.line // 2))
    for shape in shapes:
        if isinstance(shape, Polygon):
            image = draw.polygon_fill(image, [placement.point(*p) for p in shape.points], palette.color_of(shape.label, colors))

    tags = []
    for shape in shapes:
        color = palette.color_of(getattr(shape, "label", ""), colors)
        if isinstance(shape, (Polygon, Polyline)) and shape.points:
            points = [placement.point(*p) for p in shape.points]
            draw.polyline(image, points, color, metrics, closed=isinstance(shape, Polygon))
            top_left = min(points, key=lambda p: (p[1], p[0]))
            tags.append(((top_left[0] - metrics.line / 2, top_left[1] - metrics.line / 2), shape.label, color))
        elif isinstance(shape, Box):
            rectangle = placement.rectangle(shape.left, shape.top, shape.right, shape.bottom)
            draw.box(image, rectangle, color, metrics)
            outer = metrics.line / 2 + metrics.edge
            tags.append(((rectangle[0] - outer, rectangle[1] - outer), shape.label, color))
    for shape in shapes:
        if isinstance(shape, Point):
            draw.point(image, placement.point(shape.x, shape.y), palette.color_of(shape.label, colors), metrics)
    # NOTE: keypoints get no tag, because tags of close keypoints would cover each other.
    for anchor, text, color in tags:
        draw.tag(image, anchor, text, color, metrics.font_size)

    image_labels = [(shape.label, palette.color_of(shape.label, colors)) for shape in shapes if isinstance(shape, ImageLabel)]
    if image_labels:
        image = draw.caption_band(image, image_labels, metrics)
    return image


def blend_mask(image: Image.Image, mask: Mask, placement: Placement, info: ImageInfo, style: Style,
               border_width: int) -> Image.Image:
    """Tint each labelled class of a segmentation mask with its label colour and outline its border
    `border_width` pixels wide in the label colour.

    The background class (#ffffff or the label BACKGROUND) is left untinted.
    """
    import numpy as np

    try:
        with load.open_image(mask.path, style.max_pixels) as source:
            source.load()
            classes = source.convert("RGB")
    except ImageError as error:
        raise ImageError(f"has a mask {mask.path.name} that {error}", error.fix) from error
    if classes.size == (info.raw_width, info.raw_height) and classes.size != (info.width, info.height):
        classes = classes.transpose(load.TRANSPOSE[info.orientation])
    if classes.size != (info.width, info.height):
        raise ImageError(f"has a mask of {classes.width} x {classes.height} but the image is {info.width} x {info.height}",
                         "use the mask that Ground Truth wrote for this image")

    # NEAREST keeps class colours exact; any other filter would invent colours between classes.
    classes = classes.resize(image.size, Image.Resampling.NEAREST, box=placement.crop)
    class_pixels = np.asarray(classes).astype(np.int32)
    keys = (class_pixels[..., 0] << 16) | (class_pixels[..., 1] << 8) | class_pixels[..., 2]
    pixels = np.asarray(image).astype(np.float32)
    opacity = min(max(style.mask_opacity, 0.0), 1.0)

    for hex_color, label in mask.colors:
        if hex_color.lower() == "#ffffff" or label.upper() == "BACKGROUND":
            continue
        red, green, blue = palette.rgb(hex_color)
        selected = keys == ((red << 16) | (green << 8) | blue)
        if not selected.any():
            continue
        tint = np.array(palette.rgb(palette.color_of(label, style.colors)), dtype=np.float32)
        pixels[selected] = pixels[selected] * (1 - opacity) + tint * opacity
        pixels[_border(selected, border_width)] = tint
    return Image.fromarray(np.rint(pixels).astype(np.uint8), "RGB")


def _border(selected: np.ndarray, width: int) -> np.ndarray:
    """Return the pixels of `selected` within `width` steps of an unselected 4-neighbour."""
    import numpy as np

    inner = selected
    for _ in range(width):
        padded = np.pad(inner, 1, mode="edge")
        inner = inner & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return selected & ~inner
