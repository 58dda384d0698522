"""Encode rendered images as JPEG, PNG, GIF or WebP, without any metadata.

Each encoder saves a fresh image built from the pixels only, so no EXIF, XMP,
ICC profile or comment of the source can reach the output through `Image.info`.
"""

from __future__ import annotations

import io
from typing import Iterable

from PIL import Image
# numpy is imported inside the functions that use it: a build that finds every asset in the
# cache, as a text edit in the live preview does, never needs it (about 50 ms to import).

from gtdocs.imaging import palette

PNG_MAX_COLORS = 4096  # above this many colours a PNG is rarely smaller than the JPEG
GIF_COLORS = 255  # one palette entry stays free for Pillow's transparent "unchanged" pixels
# Entries for the photo's own pixels. 96 rather than every free entry cuts a typical good/bad
# pair by about 20% and keeps SSIM above gifsicle -O3 --lossy=20 on the same frames
# (bench/image_build.py gif). Overlay colours get entries of their own on top.
# NOTE: frames with fine noise need more colours to keep that SSIM. A count chosen per
# animation from the quantization error would suit both kinds of frames.
GIF_PHOTO_COLORS = 96
PALETTE_SAMPLE = 400_000  # pixels of all frames used to build the GIF palette, for speed
WEBP_QUALITY = 80


def pixels_only(image: Image.Image) -> Image.Image:
    """Return a copy with the same pixels and an empty `info`."""
    clean = Image.frombytes(image.mode, image.size, image.tobytes())
    if image.mode == "P":
        clean.putpalette(image.getpalette())
    return clean


def encode_still(image: Image.Image, jpeg_quality: int) -> tuple[bytes, str, str]:
    """Encode as JPEG, or as PNG when the image has few colours and the PNG is smaller.

    Returns the bytes, the file extension and the content type.
    """
    image = pixels_only(image.convert("RGB"))
    best = (_save(image, "JPEG", quality=jpeg_quality, optimize=True, progressive=True), "jpg", "image/jpeg")

    counts = image.getcolors(maxcolors=PNG_MAX_COLORS)
    if counts is not None:
        candidate = _palette_image(image, counts) if len(counts) <= 256 else image
        png = _save(candidate, "PNG", optimize=True)
        if len(png) < len(best[0]):
            best = (png, "png", "image/png")
    return best


def _palette_image(image: Image.Image, counts: list[tuple[int, tuple[int, int, int]]]) -> Image.Image:
    """Convert an image of at most 256 colours to "P" mode without changing any pixel."""
    import numpy as np

    colors = np.array([color for _, color in counts], dtype=np.int32)
    keys = _keys(np.asarray(image))
    color_keys = _keys(colors)
    order = np.argsort(color_keys)
    indices = order[np.searchsorted(color_keys[order], keys)].astype(np.uint8)
    result = Image.fromarray(indices, "P")
    result.putpalette(colors.astype(np.uint8).tobytes())
    return result


def encode_gif(frames: list[Image.Image], exact_colors: Iterable[str], frame_ms: int) -> bytes:
    """Encode RGB frames as a looping GIF with one palette shared by all frames.

    `exact_colors` (overlay colours such as the X red) get palette entries of their
    own, so pixels of those colours keep them exactly and show no dithering. The
    other pixels of all frames together are quantized into the remaining entries.
    """
    import numpy as np

    arrays = [np.asarray(frame.convert("RGB")) for frame in frames]
    keys = [_keys(array) for array in arrays]
    reserved = np.unique(np.array([_key(palette.rgb(color)) for color in exact_colors], dtype=np.int32))
    exact = [np.isin(frame_keys, reserved) for frame_keys in keys]

    photo_colors = _photo_palette(arrays, exact, min(GIF_PHOTO_COLORS, GIF_COLORS - len(reserved)), reserved)
    photo_palette = _palette_holder(photo_colors)
    reserved_rgb = np.stack([(reserved >> 16) & 255, (reserved >> 8) & 255, reserved & 255], axis=1)
    shared = np.concatenate([reserved_rgb, photo_colors]).astype(np.uint8).tobytes()

    indexed = []
    for array, frame_keys, frame_exact in zip(arrays, keys, exact):
        photo_index = np.asarray(Image.fromarray(array).quantize(palette=photo_palette, dither=Image.Dither.NONE))
        index = photo_index.astype(np.int32) + len(reserved)
        index[frame_exact] = np.searchsorted(reserved, frame_keys[frame_exact])
        frame = Image.fromarray(index.astype(np.uint8), "P")
        frame.putpalette(shared)
        indexed.append(frame)

    # With `palette` given, Pillow writes one global colour table and no local ones. With
    # `optimize`, it stores only the bounding box of what changed since the previous frame and
    # makes unchanged pixels inside it transparent, which compresses well.
    return _save(indexed[0], "GIF", save_all=True, append_images=indexed[1:], duration=frame_ms,
                 loop=0, optimize=True, palette=shared)


def _photo_palette(arrays: list[np.ndarray], exact: list[np.ndarray], count: int,
                   reserved: np.ndarray) -> np.ndarray:
    """Return up to `count` RGB colours for the non-overlay pixels of all frames."""
    import numpy as np

    pixels = np.concatenate([array[~mask] for array, mask in zip(arrays, exact)])
    if len(pixels) == 0 or count <= 0:
        return np.zeros((0, 3), dtype=np.uint8)
    step = max(1, len(pixels) // PALETTE_SAMPLE)
    sample = Image.fromarray(np.ascontiguousarray(pixels[::step]).reshape(1, -1, 3), "RGB")
    quantized = sample.quantize(colors=count, method=Image.Quantize.FASTOCTREE,
                                dither=Image.Dither.NONE)
    used = sorted(index for _, index in quantized.getcolors(256))
    colors = np.array(quantized.getpalette()[: 3 * 256], dtype=np.uint8).reshape(-1, 3)[used]
    # A colour equal to a reserved one would appear twice in the shared palette; the reserved entry serves it.
    return colors[~np.isin(_keys(colors), reserved)]


def _palette_holder(colors: np.ndarray) -> Image.Image:
    """Return a "P" image whose palette is `colors`, padded with its first colour.

    Padding with a real colour keeps `quantize(palette=...)` from mapping pixels to unused black entries.
    """
    import numpy as np

    holder = Image.new("P", (1, 1))
    if len(colors) == 0:
        colors = np.zeros((1, 3), dtype=np.uint8)
    padded = np.concatenate([colors, np.repeat(colors[:1], 256 - len(colors), axis=0)])
    holder.putpalette(padded.astype(np.uint8).tobytes())
    return holder


def encode_webp(frames: list[Image.Image], frame_ms: int) -> bytes:
    clean = [pixels_only(frame.convert("RGB")) for frame in frames]
    return _save(clean[0], "WEBP", save_all=True, append_images=clean[1:], duration=frame_ms, loop=0,
                 quality=WEBP_QUALITY, method=4)


def _save(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def _keys(pixels: np.ndarray) -> np.ndarray:
    """Pack RGB triples into one int32 each (0xRRGGBB), for fast exact comparison."""
    import numpy as np

    pixels = pixels.astype(np.int32)
    return (pixels[..., 0] << 16) | (pixels[..., 1] << 8) | pixels[..., 2]


def _key(color: tuple[int, int, int]) -> int:
    return (color[0] << 16) | (color[1] << 8) | color[2]
