"""Open an image safely and decode it to 8-bit sRGB, oriented as displayed.

Pillow's global `Image.MAX_IMAGE_PIXELS` is left alone. The pixel limit of the
style is checked from the header before any pixel data is decoded.
"""

from __future__ import annotations

import io
import math
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from PIL import Image, ImageCms, UnidentifiedImageError
# numpy is imported inside the functions that use it: a build that finds every asset in the
# cache, as a text edit in the live preview does, never needs it (about 50 ms to import).

from gtdocs.imaging.model import ImageError, ImageInfo

ORIENTATION_TAG = 0x0112

# Transpose that turns the stored image into the displayed one, by EXIF orientation.
TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# ISO base media file brands of HEIF and AVIF images (bytes 8..12 of the file).
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
AVIF_BRANDS = {b"avif", b"avis"}

_SRGB = ImageCms.createProfile("sRGB")


def probe(path: Path, max_pixels: int) -> ImageInfo:
    """Read the size, orientation, format and frame count from the header only."""
    with open_image(path, max_pixels) as image:
        return describe(image)


@contextmanager
def open_image(path: Path, max_pixels: int) -> Iterator[Image.Image]:
    """Open `path` lazily, raising ImageError for unreadable, unknown or too large files."""
    container = _heif_container(path)
    if container:
        _register_heif_plugin()
    try:
        with warnings.catch_warnings():
            # The limit is enforced below from `max_pixels`, so Pillow's own warning is noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError as error:
        raise _too_large_error(str(error), max_pixels) from error
    except UnidentifiedImageError as error:
        if container:
            raise ImageError(f"is a {container} image, which Pillow reads only with a plugin",
                             "pip install pillow-heif, or save the image as JPEG") from error
        raise ImageError("is not an image format that Pillow can read",
                         "save it as JPEG, PNG, GIF or WebP") from error
    except FileNotFoundError as error:
        raise ImageError("was not found", "check the file name and its folder") from error
    except OSError as error:
        raise ImageError(f"cannot be read: {error}", "check that the file is a complete image") from error

    with image:
        width, height = image.size
        if width * height > max_pixels:
            raise _too_large_error(f"has {width * height:,} pixels ({width} x {height})", max_pixels)
        yield image


def describe(image: Image.Image) -> ImageInfo:
    orientation = read_orientation(image)
    raw_width, raw_height = image.size
    width, height = (raw_height, raw_width) if orientation >= 5 else (raw_width, raw_height)
    return ImageInfo(width, height, raw_width, raw_height, orientation,
                     image.format or "unknown", getattr(image, "n_frames", 1))


def read_orientation(image: Image.Image) -> int:
    """Return the EXIF orientation 1..8, or 1 when it is absent or invalid."""
    try:
        if image.format == "PNG":
            # PNG getexif() decodes the whole image to look for an eXIf chunk after the pixel data.
            # NOTE: an eXIf chunk after IDAT is ignored, as some browsers also do.
            raw = image.info.get("exif")
            exif = Image.Exif()
            if raw:
                exif.load(raw)
        else:
            exif = image.getexif()
        value = int(exif.get(ORIENTATION_TAG, 1))
    except (OSError, ValueError, TypeError, SyntaxError):
        return 1
    return value if 1 <= value <= 8 else 1


def decode(image: Image.Image, info: ImageInfo, scale: float, background: str,
           warnings_out: list[str]) -> tuple[Image.Image, tuple[float, float]]:
    """Decode the first frame to RGB in sRGB, composited on `background`, oriented as displayed.

    `scale` is output pixels per displayed pixel. A JPEG is decoded at a reduced DCT
    scale when it is at least twice the needed size. Returns the image and its decoded
    pixels per displayed pixel along x and along y: (1.0, 1.0) unless the JPEG was
    reduced. The two differ slightly then, because libjpeg rounds each reduced side up.
    """
    if info.frames > 1:
        warnings_out.append(f"the file has {info.frames} frames ({info.format}); only the first is shown")
        image.seek(0)

    if image.format in ("JPEG", "MPO") and scale < 0.5:
        # Decode at no less than twice the output size so the LANCZOS resize has detail to work with.
        draft_size = (math.ceil(info.raw_width * scale * 2), math.ceil(info.raw_height * scale * 2))
        image.draft("RGB", draft_size)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageError(f"cannot be decoded: {error}", "check that the file is a complete image") from error

    rgb = to_srgb(image, background, warnings_out)
    if info.orientation in TRANSPOSE:
        rgb = rgb.transpose(TRANSPOSE[info.orientation])
    return rgb, (rgb.width / info.width, rgb.height / info.height)


def to_srgb(image: Image.Image, background: str, warnings_out: list[str]) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB in sRGB, with transparency composited on `background`.

    An RGB image with an ICC profile is converted in place, so `image` must not be used afterwards.
    """
    icc = image.info.get("icc_profile")
    alpha = _alpha_channel(image)
    colour = _to_8bit(image)

    if icc:
        colour = _apply_icc(colour, icc, warnings_out)
    # convert() of an RGB image copies it, which for a 24 MP photo is 96 MB more at the peak.
    rgb = colour if colour.mode == "RGB" else colour.convert("RGB")

    if alpha is None:
        return rgb
    base = Image.new("RGB", rgb.size, background)
    base.paste(rgb, mask=alpha)
    return base


def _alpha_channel(image: Image.Image) -> Image.Image | None:
    """Return an "L" alpha mask, or None when the image is opaque."""
    import numpy as np

    if image.mode in ("I;16", "I;16B", "I;16L", "I") and "transparency" in image.info:
        # A tRNS chunk of 16-bit grey names one 16-bit value that is fully transparent.
        values = np.asarray(image)
        return Image.fromarray(np.where(values == image.info["transparency"], 0, 255).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        if image.mode in ("RGBa", "La"):
            image = image.convert(image.mode.upper())
        alpha = image.convert("RGBA").getchannel("A")
        return None if alpha.getextrema() == (255, 255) else alpha
    return None


def _to_8bit(image: Image.Image) -> Image.Image:
    """Drop alpha and scale 16-bit, 32-bit and float channels onto 0..255 (scaled, not clipped)."""
    import numpy as np

    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        if image.mode == "F" or values.max(initial=0) > 65535 or values.min(initial=0) < 0:
            # Float and wide integer data have no fixed range, so stretch what is there.
            low, high = values.min(initial=0), values.max(initial=0)
            values = (values - low) / max(high - low, 1e-12) * 255
        else:
            values = values / 257  # 65535 / 255: full 16-bit range onto full 8-bit range
        return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8), "L")
    if image.mode in ("RGBA", "RGBa"):
        return image.convert("RGB")
    if image.mode in ("LA", "La"):
        return image.convert("L")
    if image.mode in ("P", "PA"):
        # Through RGBA, because Pillow warns when it drops palette transparency given as bytes.
        return image.convert("RGBA").convert("RGB")
    if image.mode in ("1", "L", "RGB", "CMYK"):
        return image
    return image.convert("RGB")  # YCbCr, LAB, HSV and others that Pillow can convert


def _apply_icc(image: Image.Image, icc: bytes, warnings_out: list[str]) -> Image.Image:
    if image.mode not in ("L", "RGB", "CMYK"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if image.mode == "RGB":
            # In place, because a second full-size copy would raise the peak memory by its size.
            ImageCms.profileToProfile(image, source, _SRGB, inPlace=True)
            return image
        return ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError) as error:
        warnings_out.append(f"its ICC colour profile is invalid ({error}); colours may be off")
        return image


def _heif_container(path: Path) -> str | None:
    """Return "HEIF" or "AVIF" when the file starts like one (an ISO base media `ftyp` box), else None."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(12)
    except OSError:
        return None  # open_image reports the problem with the file itself
    if head[4:8] != b"ftyp":
        return None
    if head[8:12] in AVIF_BRANDS:
        return "AVIF"
    return "HEIF" if head[8:12] in HEIF_BRANDS else None


def _register_heif_plugin() -> None:
    """Register pillow-heif's openers when the package is installed."""
    try:
        import pillow_heif
    except ImportError:
        return  # Pillow may still read it (Pillow >= 11.2 can have AVIF built in); open_image reports failure
    pillow_heif.register_heif_opener()
    if hasattr(pillow_heif, "register_avif_opener"):
        pillow_heif.register_avif_opener()


def _too_large_error(detail: str, max_pixels: int) -> ImageError:
    return ImageError(f"{detail}, more than the limit of {max_pixels:,} pixels (render.max_pixels in gtdocs.toml)",
                      "downscale the image, or raise render.max_pixels")
