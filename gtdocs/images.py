"""The image stage: example images with annotations and verdict marks, as encoded bytes.

Every render function is a pure function of its spec and the files the spec names,
so callers can cache outputs by a hash of (spec, file contents, RENDERER_VERSION)
and run renders in worker processes.
"""

from __future__ import annotations

import dataclasses
import math

from PIL import Image
# numpy is imported inside the functions that use it: a build that finds every asset in the
# cache, as a text edit in the live preview does, never needs it (about 50 ms to import).

from gtdocs.imaging import draw, encode, palette
from gtdocs.imaging.compose import Still, compose
from gtdocs.imaging.load import probe
from gtdocs.imaging.model import AnimationSpec, ImageError, ImageInfo, Rendered, StillSpec, Style
from gtdocs.imaging.palette import label_colors

__all__ = [
    "RENDERER_VERSION", "ImageError", "ImageInfo", "Style", "StillSpec", "AnimationSpec", "Rendered",
    "probe", "label_colors", "render_still", "render_animation", "animation_frames",
]

# Bump whenever the same input would render differently; it is part of the cache key.
RENDERER_VERSION = "3"

VERDICT_WORDS = {"good": "Good", "bad": "Bad"}
ANIMATION_TYPES = {"gif": "image/gif", "webp": "image/webp"}


def render_still(spec: StillSpec) -> Rendered:
    still = compose(spec)
    image = _finish(still, spec.verdict, VERDICT_WORDS.get(spec.verdict or ""))
    data, extension, content_type = encode.encode_still(image, spec.style.jpeg_quality)
    return Rendered(data, extension, content_type, image.width, image.height, still.warnings)


def render_animation(spec: AnimationSpec) -> Rendered:
    """Render each frame as a still at the first frame's size and encode them as a looping animation.

    Each frame shows its caption in a tag. A warning names consecutive frames that
    are identical apart from their verdict marks and captions.
    """
    finished, warnings = animation_frames(spec)
    width, height = finished[0].size
    if spec.format == "gif":
        data = encode.encode_gif(finished, _overlay_colors(spec), spec.frame_ms)
    else:
        data = encode.encode_webp(finished, spec.frame_ms)
    return Rendered(data, spec.format, ANIMATION_TYPES[spec.format], width, height, warnings)


def animation_frames(spec: AnimationSpec) -> tuple[list[Image.Image], list[str]]:
    """Return the finished RGB frames of an animation, before encoding, and its warnings."""
    if spec.format not in ANIMATION_TYPES:
        raise ImageError(f"has animation format {spec.format!r}", "use gif or webp")
    if not spec.frames:
        raise ImageError("has an animation without frames", "give the animation at least one example")
    if len(spec.captions) != len(spec.frames):
        raise ImageError(f"has {len(spec.captions)} captions for {len(spec.frames)} frames",
                         "give one caption for each frame")

    stills = [compose(spec.frames[0])]
    size = stills[0].image.size
    for frame in spec.frames[1:]:
        still = compose(frame)
        if still.image.height > size[1]:
            # Render a taller frame narrower, so it fits and its strokes stay crisp and exact.
            narrower = math.floor(still.image.width * size[1] / still.image.height)
            still = compose(dataclasses.replace(frame, width=max(1, narrower)))
        stills.append(still)
    background = spec.frames[0].style.background
    contents = [_letterbox(still.image, size, background) for still in stills]

    warnings = [f"frame {index + 1}: {message}" for index, still in enumerate(stills) for message in still.warnings]
    warnings += _identical_frame_warnings(contents)

    finished = []
    for content, still, frame, caption in zip(contents, stills, spec.frames, spec.captions):
        # The first frame's metrics size every caption alike, whatever width a frame was rendered at.
        letterboxed = Still(content, stills[0].metrics, still.warnings)
        finished.append(_finish(letterboxed, frame.verdict, caption or VERDICT_WORDS.get(frame.verdict or "")))
    return finished, warnings


def _finish(still: Still, verdict: str | None, tag_text: str | None) -> Image.Image:
    """Return a copy of the still with its verdict mark and its verdict or caption tag."""
    image = still.image.copy()
    if verdict in VERDICT_WORDS:
        draw.verdict_mark(image, verdict)
    if tag_text:
        draw.verdict_tag(image, tag_text, verdict, still.metrics)
    return image


def _letterbox(image: Image.Image, size: tuple[int, int], background: str) -> Image.Image:
    """Centre the image on a `size` canvas of the background colour, shrinking it first if it is larger."""
    if image.size == size:
        return image
    if image.width > size[0] or image.height > size[1]:
        # Only a rounding pixel or a wider frame gets here; shrinking blends its drawn strokes.
        image = image.copy()
        image.thumbnail(size, Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", size, background)
    canvas.paste(image, ((size[0] - image.width) // 2, (size[1] - image.height) // 2))
    return canvas


def _identical_frame_warnings(frames: list[Image.Image]) -> list[str]:
    import numpy as np

    warnings = []
    for index in range(1, len(frames)):
        if np.array_equal(np.asarray(frames[index - 1]), np.asarray(frames[index])):
            warnings.append(f"frames {index} and {index + 1} are identical, so the animation shows no "
                            "difference between those examples")
    return warnings


def _overlay_colors(spec: AnimationSpec) -> list[str]:
    """List the colours that overlays draw unblended, which the GIF palette must hold exactly."""
    colors = [palette.BAD_RED, palette.GOOD_GREEN, palette.WHITE, palette.DARK, palette.NEUTRAL_TAG,
              palette.BAND]
    for frame in spec.frames:
        colors.append(frame.style.background)
        for label in frame.annotations.labels():
            colors.append(palette.color_of(label, frame.style.colors))
    return colors
