"""Image stage: rendering real fixture photos and checking the output pixels."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from gtdocs.annotations import Annotations, Box, ImageLabel, Mask, Point, Polygon, Polyline
from gtdocs.images import (
    AnimationSpec, ImageError, StillSpec, Style, label_colors, probe, render_animation, render_still,
)
from gtdocs.images import _overlay_colors
from gtdocs.imaging.encode import GIF_PHOTO_COLORS
from gtdocs.imaging.palette import BAD_RED, GOOD_GREEN

ROOT = Path(__file__).resolve().parent.parent
TRICKY = ROOT / "tests" / "fixtures" / "tricky"
PCB = ROOT / "tests" / "fixtures" / "pcb"
PHOTOS = ROOT / "example-project" / "images"
FLOWER = PHOTOS / "sklearn_flower.jpg"  # 640 x 427

# Where the printed word "top" is in the exif_Landscape_* photos, in displayed pixels
# (1800 x 1200): left, top, width, height.
TOP_WORD = (830.0, 20.0, 140.0, 95.0)

PCB_COLORS = (("#ffffff", "BACKGROUND"), ("#2ca02c", "IC"), ("#1f77b4", "resistor1"), ("#ff7f0e", "resistor2"))
IC_AREA = (925, 247, 1117, 392)  # bounding box of the IC class in mask.png, in image pixels

STYLE = Style(colors=label_colors(["object", "lane", "nose", "IC", "resistor1", "resistor2", "cat"]),
              jpeg_quality=95)
OBJECT, LANE, NOSE, IC = (color for _, color in STYLE.colors[:4])

# Largest channel difference accepted where JPEG compression touches a drawn colour.
JPEG_TOLERANCE = 48


def still(source: Path, *shapes, verdict=None, crop=None, width=600, style=STYLE, size=None) -> StillSpec:
    return StillSpec(source, Annotations(tuple(shapes), size), verdict, crop, width, style)


def pixels(rendered) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(rendered.data)).convert("RGB")).astype(int)


def rgb(color: str) -> np.ndarray:
    return np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)])


def near(pixel: np.ndarray, color: str, tolerance: int = JPEG_TOLERANCE) -> bool:
    return int(np.abs(pixel - rgb(color)).max()) <= tolerance


def count_near(array: np.ndarray, color: str, tolerance: int = JPEG_TOLERANCE) -> int:
    return int((np.abs(array - rgb(color)).max(axis=-1) <= tolerance).sum())


def gif_descriptors(data: bytes) -> tuple[bool, list[tuple[int, int, int, int, bool]]]:
    """Parse a GIF's blocks: whether it has a global colour table, and for each frame its
    (left, top, width, height, has local colour table)."""
    flags = data[10]
    position = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    frames = []
    while data[position] != 0x3B:
        if data[position] == 0x21:  # extension: label, then sub-blocks
            position += 2
            while data[position]:
                position += data[position] + 1
            position += 1
            continue
        left, top, width, height, frame_flags = struct.unpack("<HHHHB", data[position + 1:position + 10])
        position += 10
        if frame_flags & 0x80:
            position += 3 * 2 ** ((frame_flags & 7) + 1)
        position += 1  # LZW minimum code size
        while data[position]:
            position += data[position] + 1
        position += 1
        frames.append((left, top, width, height, bool(frame_flags & 0x80)))
    return bool(flags & 0x80), frames


def good_bad_animation(image_format: str, bad_box: Box | None = None) -> AnimationSpec:
    good = still(FLOWER, Box("object", 180, 80, 300, 260), verdict="good")
    bad = still(FLOWER, bad_box or Box("object", 100, 150, 150, 120), verdict="bad")
    return AnimationSpec((good, bad), ("Good", "Bad"), 1500, image_format)


# Probe and load errors

def test_probe_reads_orientation():
    info = probe(TRICKY / "exif_Landscape_6.jpg", 50_000_000)
    assert (info.width, info.height) == (1800, 1200)
    assert (info.raw_width, info.raw_height) == (1200, 1800)
    assert info.orientation == 6
    assert info.format == "JPEG"
    assert info.frames == 1


def test_probe_format_from_content(tmp_path):
    disguised = tmp_path / "screenshot.jpg"
    disguised.write_bytes((TRICKY / "pil123p.png").read_bytes())
    assert probe(disguised, 50_000_000).format == "PNG"


def test_probe_counts_mpo_frames():
    assert probe(TRICKY / "sugarshack.mpo", 50_000_000).frames == 2


def test_probe_pixel_limit_names_limit():
    with pytest.raises(ImageError) as caught:
        probe(FLOWER, 100_000)
    assert "273,280 pixels" in str(caught.value)
    assert "100,000" in str(caught.value)
    assert "render.max_pixels" in str(caught.value)
    assert caught.value.fix


def test_render_pixel_limit_raises():
    with pytest.raises(ImageError, match="100,000"):
        render_still(still(FLOWER, style=Style(colors=(), max_pixels=100_000)))


def test_decompression_bomb_becomes_image_error(tmp_path):
    # A PNG header claiming 40000 x 40000 pixels trips Pillow's own bomb check on open.
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 40_000, 40_000, 8, 2, 0, 0, 0)
    path = tmp_path / "huge.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b""))
                     + chunk(b"IEND", b""))
    with pytest.raises(ImageError, match="render.max_pixels"):
        probe(path, 10**12)
    assert Image.MAX_IMAGE_PIXELS == 89_478_485  # the global default stays untouched


def test_unknown_file_raises(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("not an image")
    with pytest.raises(ImageError, match="not an image format"):
        probe(path, 50_000_000)


def test_heif_without_plugin_names_package(tmp_path):
    try:
        import pillow_heif  # noqa: F401
        pytest.skip("pillow-heif is installed")
    except ImportError:
        pass
    path = tmp_path / "photo.heic"
    path.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")
    with pytest.raises(ImageError) as caught:
        probe(path, 50_000_000)
    assert "HEIF" in str(caught.value)
    assert "pip install pillow-heif" in caught.value.fix


# Orientation

@pytest.mark.parametrize("name", ["exif_Landscape_3.jpg", "exif_Landscape_5.jpg", "exif_Landscape_6.jpg",
                                  "exif_Portrait_8.jpg", "hopper_orientation_6.jpg"])
def test_orientation_matches_exif_transpose(name):
    rendered = render_still(still(TRICKY / name, width=300))
    reference = ImageOps.exif_transpose(Image.open(TRICKY / name)).convert("RGB")
    reference = np.asarray(reference.resize((rendered.width, rendered.height), Image.Resampling.LANCZOS)).astype(int)
    assert pixels(rendered).shape == reference.shape
    assert np.abs(pixels(rendered) - reference).mean() < 6


@pytest.mark.parametrize("name", ["exif_Landscape_3.jpg", "exif_Landscape_5.jpg", "exif_Landscape_6.jpg"])
def test_box_on_top_word_lands_on_top(name):
    rendered = render_still(still(TRICKY / name, Box("object", *TOP_WORD)))
    output = pixels(rendered)
    scale = rendered.width / 1800
    left, top, width, height = (value * scale for value in TOP_WORD)
    assert (rendered.width, rendered.height) == (600, 400)
    assert near(output[round(top), round(left + width / 2)], OBJECT)
    assert near(output[round(top + height / 2), round(left)], OBJECT)
    # The white letters of "top" are inside the box.
    inside = output[round(top) + 4:round(top + height) - 4, round(left) + 4:round(left + width) - 4]
    assert (inside.min(axis=-1) > 220).sum() > 25


def test_raw_size_box_maps_to_display():
    # TOP_WORD in the stored 1200 x 1800 pixels of an orientation-6 photo (turned 90 degrees clockwise).
    left, top, width, height = TOP_WORD
    raw_box = Box("object", top, 1800 - (left + width), height, width)
    rendered = render_still(still(TRICKY / "exif_Landscape_6.jpg", raw_box, size=(1200, 1800)))
    output = pixels(rendered)
    scale = rendered.width / 1800
    assert near(output[round(top * scale), round((left + width / 2) * scale)], OBJECT)
    assert near(output[round((top + height / 2) * scale), round((left + width) * scale)], OBJECT)


def test_annotation_size_mismatch_raises():
    with pytest.raises(ImageError, match="annotations are for a 100 x 100 image"):
        render_still(still(FLOWER, Box("object", 1, 1, 5, 5), size=(100, 100)))


# Colour and transparency

def test_cmyk_matches_naive_conversion():
    source = Image.open(TRICKY / "pil_sample_cmyk.jpg")
    cmyk = np.asarray(source).astype(float) / 255
    naive = 255 * (1 - cmyk[..., :3]) * (1 - cmyk[..., 3:4])
    output = pixels(render_still(still(TRICKY / "pil_sample_cmyk.jpg", width=source.width)))
    assert np.abs(output.mean(axis=(0, 1)) - naive.mean(axis=(0, 1))).max() < 4
    # The fixture shows red letters on black, so red dominates.
    assert output[..., 0].mean() > 2 * output[..., 1].mean()


def test_16bit_grey_scaled_not_clipped(tmp_path):
    camera = np.asarray(Image.open(TRICKY / "skimage_camera_grayscale.png")).astype(np.uint16)
    path = tmp_path / "camera16.png"
    Image.fromarray(camera * 257).save(path)  # full 16-bit range
    assert Image.open(path).mode.startswith("I")
    output = pixels(render_still(still(path, width=512)))
    assert output.min() < 30
    assert output.max() > 220
    assert np.abs(output[..., 0] - camera).mean() < 3


def test_16bit_rgb_spans_range():
    output = pixels(render_still(still(TRICKY / "skimage_chessboard_RGB_16bit.png", width=200)))
    assert output.min() < 30
    assert output.max() > 220


@pytest.mark.parametrize("name", ["p_trns_single.png", "pil123p.png", "i_trns.png"])
def test_transparent_pixel_reads_white(name):
    alpha = np.asarray(Image.open(TRICKY / name).convert("RGBA"))[..., 3]
    if name == "i_trns.png":
        source = Image.open(TRICKY / name)
        alpha = np.where(np.asarray(source) == source.info["transparency"], 0, 255)
    y, x = np.argwhere(alpha == 0)[0]
    width = Image.open(TRICKY / name).width
    output = pixels(render_still(still(TRICKY / name, width=width)))
    assert output[y, x].min() >= 250


def test_transparency_uses_style_background():
    alpha = np.asarray(Image.open(TRICKY / "p_trns_single.png").convert("RGBA"))[..., 3]
    y, x = np.argwhere(alpha == 0)[0]
    black = Style(colors=(), background="#000000")
    output = pixels(render_still(still(TRICKY / "p_trns_single.png", width=64, style=black)))
    assert output[y, x].max() <= 5


def test_mpo_first_frame_warns():
    rendered = render_still(still(TRICKY / "sugarshack.mpo", width=320))
    assert rendered.width == 320
    assert any("2 frames" in warning for warning in rendered.warnings)


# Size and crop

def test_whole_image_never_upscaled():
    rendered = render_still(still(FLOWER, width=2000))
    assert (rendered.width, rendered.height) == (640, 427)


def test_crop_scales_up_to_width():
    rendered = render_still(still(FLOWER, crop=(100, 100, 50, 40), width=500))
    assert (rendered.width, rendered.height) == (500, 400)


def test_jpeg_draft_rounding_per_axis(tmp_path):
    # libjpeg rounds each side of a 1/8 draft up: 1604 x 1199 decodes as 201 x 150. Scaling the
    # height by the width's ratio (201 / 1604) would ask for 150.25 rows of a 150-row image.
    source = tmp_path / "odd.jpg"
    Image.new("RGB", (1604, 1199), "#808080").save(source, "JPEG")
    rendered = render_still(still(source, Box("object", 400, 300, 600, 500), width=50))
    assert (rendered.width, rendered.height) == (50, 37)


def test_crop_out_of_range_clamped():
    rendered = render_still(still(FLOWER, Box("object", -50, -50, 5000, 5000), crop=(600, 400, 500, 500), width=200))
    assert rendered.width == 200


# Shapes

def test_box_edges_at_scaled_coordinates():
    # The flower photo is 640 px wide, so at 600 px one displayed pixel is 0.9375 output pixels.
    rendered = render_still(still(FLOWER, Box("object", 160, 160, 320, 160)))
    output = pixels(rendered)
    assert near(output[150, 300], OBJECT)  # top edge at 160 * 0.9375
    assert near(output[300, 300], OBJECT)  # bottom edge at 320 * 0.9375
    assert near(output[225, 150], OBJECT)  # left edge
    assert near(output[225, 450], OBJECT)  # right edge
    assert not near(output[225, 300], OBJECT)  # inside stays the photo


def test_box_tag_above_box():
    output = pixels(render_still(still(FLOWER, Box("object", 160, 160, 320, 160))))
    assert count_near(output[120:146, 146:200], OBJECT) > 200


def test_polygon_outline_and_tint():
    triangle = Polygon("object", ((100, 300), (300, 300), (200, 100)))
    plain = pixels(render_still(still(FLOWER)))
    output = pixels(render_still(still(FLOWER, triangle)))
    scale = 600 / 640
    assert near(output[round(300 * scale), round(200 * scale)], OBJECT)  # midpoint of the base
    inside = (slice(round(230 * scale), round(270 * scale)), slice(round(180 * scale), round(220 * scale)))
    before = np.abs(plain[inside] - rgb(OBJECT)).mean()
    after = np.abs(output[inside] - rgb(OBJECT)).mean()
    assert after < before - 5  # the fill tints the inside toward the label colour


def test_polyline_along_points():
    output = pixels(render_still(still(FLOWER, Polyline("lane", ((50, 400), (50, 50), (600, 50))))))
    scale = 600 / 640
    assert near(output[round(225 * scale), round(50 * scale)], LANE)
    assert near(output[round(50 * scale), round(325 * scale)], LANE)
    assert not near(output[round(400 * scale), round(600 * scale)], LANE)  # no closing segment


def test_point_drawn_at_keypoint():
    output = pixels(render_still(still(FLOWER, Point("nose", 320, 200))))
    assert near(output[round(200 * 600 / 640), round(320 * 600 / 640)], NOSE)


def test_mask_tints_labelled_class():
    crop = (800.0, 150.0, 500.0, 300.0)
    mask = Mask(PCB / "mask.png", PCB_COLORS)
    plain = pixels(render_still(still(PCB / "s10.png", crop=crop, width=500)))
    output = pixels(render_still(still(PCB / "s10.png", mask, crop=crop, width=500)))
    # Centre of the IC, in output pixels (one image pixel is one output pixel here).
    y, x = (IC_AREA[1] + IC_AREA[3]) // 2 - 150, (IC_AREA[0] + IC_AREA[2]) // 2 - 800
    expected = plain[y, x] * (1 - STYLE.mask_opacity) + rgb(IC) * STYLE.mask_opacity
    assert np.abs(output[y, x] - expected).max() < 12
    assert near(output[IC_AREA[1] - 150 + 1, x], IC)  # border of the class, 2 px wide
    assert np.abs(output[280, 20] - plain[280, 20]).max() < 12  # background class untouched


def test_missing_mask_names_mask():
    mask = Mask(PCB / "missing.png", PCB_COLORS)
    with pytest.raises(ImageError, match="mask missing.png that was not found"):
        render_still(still(PCB / "s10.png", mask, width=200))


def test_mask_background_not_drawn():
    mask = Mask(PCB / "mask.png", (("#ffffff", "BACKGROUND"),))
    plain = pixels(render_still(still(PCB / "s10.png", width=400)))
    output = pixels(render_still(still(PCB / "s10.png", mask, width=400)))
    assert np.abs(output - plain).max() <= 2


def test_image_label_band_at_bottom():
    rendered = render_still(still(FLOWER, ImageLabel("cat")))
    output = pixels(rendered)
    cat = dict(STYLE.colors)["cat"]
    assert rendered.height > 600 * 427 // 640
    assert count_near(output[-30:, :60], cat) > 50


# Verdict marks

def test_bad_centre_is_red():
    rendered = render_still(still(FLOWER, verdict="bad"))
    output = pixels(rendered)
    assert near(output[rendered.height // 2, rendered.width // 2], BAD_RED, tolerance=20)


def test_bad_has_red_tag():
    output = pixels(render_still(still(FLOWER, verdict="bad")))
    assert count_near(output[:50, -80:], BAD_RED) > 300


def test_good_shows_green_check():
    rendered = render_still(still(FLOWER, verdict="good"))
    output = pixels(rendered)
    assert count_near(output, GOOD_GREEN, tolerance=20) > 3000
    assert count_near(output, BAD_RED, tolerance=20) < 100  # a few orange petals come close
    assert not near(output[rendered.height // 2, rendered.width // 2], BAD_RED)
    assert count_near(output[:50, -80:], GOOD_GREEN) > 300


def test_palette_okabe_ito_first():
    colors = [color for _, color in label_colors([f"label{i}" for i in range(12)])]
    assert colors[:7] == ["#0072b2", "#e69f00", "#009e73", "#56b4e9", "#cc79a7", "#f0e442", "#d55e00"]
    assert len(set(colors)) == 12
    assert BAD_RED not in colors


def test_palette_keeps_label_colour():
    assert label_colors(["cat", "dog", "cat"]) == (("cat", "#0072b2"), ("dog", "#e69f00"))


# Encoding

def test_few_colours_encoded_as_png(tmp_path):
    screenshot = Image.new("RGB", (400, 300), "#f3f3f3")
    drawing = ImageDraw.Draw(screenshot)
    drawing.rectangle((0, 0, 399, 40), fill="#2b579a")
    drawing.rectangle((20, 60, 380, 280), fill="#ffffff", outline="#c8c8c8")
    for row in range(8):
        drawing.text((30, 70 + 25 * row), f"Item {row}: click Submit when done", fill="#202020")
    path = tmp_path / "screenshot.png"
    screenshot.save(path)
    rendered = render_still(still(path, width=400))
    assert rendered.extension == "png"
    assert rendered.content_type == "image/png"


def test_photo_encoded_as_jpeg():
    rendered = render_still(still(FLOWER))
    assert rendered.extension == "jpg"
    assert Image.open(io.BytesIO(rendered.data)).format == "JPEG"


METADATA_SOURCES = sorted(
    [path for path in TRICKY.iterdir() if path.suffix in (".jpg", ".png", ".mpo")]
    + [path for path in PHOTOS.iterdir() if path.suffix in (".jpg", ".png")]
    + [PCB / "s10.png"]
)


@pytest.mark.parametrize("source", METADATA_SOURCES, ids=lambda path: path.name)
def test_output_has_no_metadata(source):
    rendered = render_still(still(source, Box("object", 1, 1, 20, 20), verdict="bad", width=200))
    output = Image.open(io.BytesIO(rendered.data))
    for key in ("exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment", "Comment", "photoshop"):
        assert key not in output.info
    assert len(output.getexif()) == 0


@pytest.mark.parametrize("image_format", ["gif", "webp"])
def test_animation_has_no_metadata(image_format):
    rendered = render_animation(good_bad_animation(image_format))
    output = Image.open(io.BytesIO(rendered.data))
    for key in ("exif", "xmp", "icc_profile", "comment"):
        assert key not in output.info
    assert len(output.getexif()) == 0


# Animations

def test_gif_frames_loop_and_durations():
    rendered = render_animation(good_bad_animation("gif"))
    gif = Image.open(io.BytesIO(rendered.data))
    assert rendered.content_type == "image/gif"
    assert gif.n_frames == 2
    assert gif.info["loop"] == 0
    for index in range(2):
        gif.seek(index)
        assert gif.info["duration"] == 1500


def test_gif_overlay_colours_exact():
    rendered = render_animation(good_bad_animation("gif"))
    gif = Image.open(io.BytesIO(rendered.data))
    centre = (rendered.width // 2, rendered.height // 2)
    gif.seek(1)
    bad = np.asarray(gif.convert("RGB")).astype(int)
    assert tuple(bad[centre[1], centre[0]]) == tuple(rgb(BAD_RED))
    box_top = round(150 * 600 / 640)  # top edge of the bad frame's box
    assert tuple(bad[box_top, round(175 * 600 / 640)]) == tuple(rgb(OBJECT))
    gif.seek(0)
    good = np.asarray(gif.convert("RGB")).astype(int)
    assert count_near(good, GOOD_GREEN, tolerance=0) > 3000
    assert tuple(good[round(80 * 600 / 640), round(330 * 600 / 640)]) == tuple(rgb(OBJECT))


def test_gif_shares_one_palette():
    has_global, frames = gif_descriptors(render_animation(good_bad_animation("gif")).data)
    assert has_global
    assert len(frames) == 2
    assert not any(frame[4] for frame in frames)


def test_gif_stores_changed_region_only():
    rendered = render_animation(good_bad_animation("gif"))
    _, frames = gif_descriptors(rendered.data)
    assert frames[0][2:4] == (rendered.width, rendered.height)
    assert frames[1][2] * frames[1][3] < rendered.width * rendered.height


def test_gif_photo_palette_limited():
    spec = good_bad_animation("gif")
    gif = Image.open(io.BytesIO(render_animation(spec).data))
    colors = set()
    for index in range(gif.n_frames):
        gif.seek(index)
        colors.update(color for _, color in gif.convert("RGB").getcolors(65536))
    overlay_colors = set(_overlay_colors(spec))
    assert len(colors) <= GIF_PHOTO_COLORS + len(overlay_colors)


def test_gif_captions_drawn():
    rendered = render_animation(good_bad_animation("gif"))
    gif = Image.open(io.BytesIO(rendered.data))
    gif.seek(0)
    assert count_near(np.asarray(gif.convert("RGB"))[:50, -100:].astype(int), GOOD_GREEN, tolerance=0) > 300
    gif.seek(1)
    assert count_near(np.asarray(gif.convert("RGB"))[:50, -100:].astype(int), BAD_RED, tolerance=0) > 300


def test_identical_frames_warn():
    rendered = render_animation(good_bad_animation("gif", bad_box=Box("object", 180, 80, 300, 260)))
    assert "frames 1 and 2 are identical, so the animation shows no difference between those examples" in rendered.warnings


def test_different_frames_do_not_warn():
    assert render_animation(good_bad_animation("gif")).warnings == []


def test_frames_letterboxed_to_first():
    small = still(TRICKY / "hopper_orientation_6.jpg", verdict="bad")  # 128 x 128, never upscaled
    spec = AnimationSpec((still(FLOWER, verdict="good"), small), ("Good", "Bad"), 800, "gif")
    rendered = render_animation(spec)
    gif = Image.open(io.BytesIO(rendered.data))
    gif.seek(1)
    frame = np.asarray(gif.convert("RGB")).astype(int)
    assert (rendered.width, rendered.height) == (600, 400)
    assert frame[200, 10].min() == 255  # the white background beside the small frame


def test_webp_animated_and_looping():
    rendered = render_animation(good_bad_animation("webp"))
    webp = Image.open(io.BytesIO(rendered.data))
    assert rendered.content_type == "image/webp"
    assert webp.n_frames == 2
    assert webp.info["loop"] == 0
    webp.seek(1)
    webp.load()
    assert webp.info["duration"] == 1500


def test_animation_caption_count_checked():
    spec = good_bad_animation("gif")
    with pytest.raises(ImageError, match="1 captions for 2 frames"):
        render_animation(AnimationSpec(spec.frames, ("Good",), 1500, "gif"))
