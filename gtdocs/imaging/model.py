"""Data types of the image stage: the render requests, their result and the image error."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gtdocs.annotations import Annotations


class ImageError(Exception):
    """A problem with an image that the user must fix.

    `str(error)` is the message without the file name, because the caller prefixes
    the file. `fix` is the suggested fix as a short phrase.
    """

    def __init__(self, message: str, fix: str = ""):
        super().__init__(message)
        self.fix = fix


@dataclass(frozen=True)
class ImageInfo:
    width: int  # as displayed, after the EXIF orientation
    height: int
    raw_width: int  # as stored in the file
    raw_height: int
    orientation: int  # EXIF orientation 1..8, 1 when the tag is absent
    format: str  # Pillow format name, found from the file content
    frames: int


@dataclass(frozen=True)
class Style:
    colors: tuple[tuple[str, str], ...]  # (label, "#rrggbb") pairs
    background: str = "#ffffff"  # transparent pixels are composited on this colour
    jpeg_quality: int = 85
    max_pixels: int = 50_000_000
    mask_opacity: float = 0.5


@dataclass(frozen=True)
class StillSpec:
    source: Path
    annotations: Annotations
    verdict: str | None  # "good", "bad" or None
    crop: tuple[float, float, float, float] | None  # left, top, width, height in displayed pixels
    width: int  # output width in pixels
    style: Style


@dataclass(frozen=True)
class AnimationSpec:
    frames: tuple[StillSpec, ...]
    captions: tuple[str, ...]  # one per frame
    frame_ms: int
    format: str  # "gif" or "webp"


@dataclass
class Rendered:
    data: bytes
    extension: str  # "jpg", "png", "gif" or "webp"
    content_type: str
    width: int
    height: int
    warnings: list[str] = field(default_factory=list)
