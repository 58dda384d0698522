"""Colours of labels and marks, and the text colour that reads on each."""

from __future__ import annotations

import colorsys
import zlib
from typing import Sequence

# Okabe–Ito order (colour-blind safe, without its black), then Paul Tol's muted colours.
# None of them is close to BAD_RED, which only the "bad" mark uses.
LABEL_PALETTE = (
    "#0072b2", "#e69f00", "#009e73", "#56b4e9", "#cc79a7", "#f0e442", "#d55e00",
    "#882255", "#44aa99", "#999933", "#332288", "#aa4499", "#117733", "#ddcc77",
)

BAD_RED = "#e41a1c"
GOOD_GREEN = "#15803d"
WHITE = "#ffffff"
DARK = "#1a1a1a"
NEUTRAL_TAG = "#404040"  # tag of a caption without a verdict
BAND = "#1f1f1f"  # caption band of image-level labels

_GOLDEN_ANGLE = 137.508  # degrees; spreads generated hues evenly
_RED_HUES = 25.0  # generated hues within this many degrees of red are shifted away


def label_colors(labels: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """Assign colours to labels in order of first appearance; repeated labels keep one colour."""
    unique = list(dict.fromkeys(labels))
    return tuple((label, _palette_color(index)) for index, label in enumerate(unique))


def color_of(label: str, colors: tuple[tuple[str, str], ...]) -> str:
    """Return the label's colour from the style, or a stable palette colour for a label it lacks."""
    for name, color in colors:
        if name == label:
            return color.lower()
    return LABEL_PALETTE[zlib.crc32(label.encode("utf-8")) % len(LABEL_PALETTE)]


def _palette_color(index: int) -> str:
    if index < len(LABEL_PALETTE):
        return LABEL_PALETTE[index]
    hue = (index * _GOLDEN_ANGLE) % 360
    if hue < _RED_HUES or hue > 360 - _RED_HUES:
        hue = (hue + 2 * _RED_HUES) % 360
    red, green, blue = colorsys.hsv_to_rgb(hue / 360, 0.65, 0.85)
    return "#{:02x}{:02x}{:02x}".format(round(red * 255), round(green * 255), round(blue * 255))


def rgb(color: str) -> tuple[int, int, int]:
    value = color.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def luminance(color: str) -> float:
    """WCAG 2 relative luminance, 0 (black) to 1 (white)."""
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(channel) for channel in rgb(color))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def text_color(fill: str) -> str:
    """Return white or dark, whichever has the higher WCAG contrast ratio on `fill`."""
    lum = luminance(fill)
    white_contrast = 1.05 / (lum + 0.05)
    dark_contrast = (lum + 0.05) / (luminance(DARK) + 0.05)
    return WHITE if white_contrast >= dark_contrast else DARK


def edge_color(fill: str) -> str:
    """Return the outline that sets a stroke of `fill` off from the photo behind it."""
    return WHITE if text_color(fill) == WHITE else DARK
