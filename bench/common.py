"""Helpers shared by the image-stage benchmarks: machine facts, timing, test projects, SSIM, GIF parsing."""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import PIL
import yaml
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
SMALL_PHOTOS = REPO / "example-project" / "images"

# The two large photos the benchmarks were written for: Kleiber_by_Lukas_Baubkus.jpg (6028 x 3391)
# and Painting-Colors_by__herobrine7gamer.jpg (6000 x 4000), both CC-BY-SA-3.0. Pass their folder
# with --photos; without it, synthetic JPEGs of the same sizes stand in.
LARGE_SIZES = ((6028, 3391), (6000, 4000))
RUNS = 3


# -- the machine ------------------------------------------------------------------------

def machine() -> dict[str, str]:
    """Describe the machine and the library versions that a timing depends on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        vips = subprocess.run(["vips", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        vips = "not installed"
    try:
        gifsicle = subprocess.run(["gifsicle", "--version"], capture_output=True, text=True,
                                  check=True).stdout.splitlines()[0]
    except (OSError, subprocess.CalledProcessError):
        gifsicle = "not installed"
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "pillow": PIL.__version__,
        "libvips": vips,
        "gifsicle": gifsicle,
    }


def print_machine() -> None:
    for name, value in machine().items():
        print(f"# {name}: {value}")


# -- timing -----------------------------------------------------------------------------

@dataclass
class Timing:
    seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def spread(self) -> float:
        """Max minus min of the runs, in seconds."""
        return max(self.seconds) - min(self.seconds)

    def __str__(self) -> str:
        runs = ", ".join(f"{value:.3f}" for value in self.seconds)
        return f"median {self.median:.3f} s, spread {self.spread:.3f} s (runs: {runs})"


def time_command(command: list[str] | str, before=None, runs: int = RUNS, **options) -> Timing:
    """Time `command` `runs` times as a subprocess, calling `before()` untimed before each run."""
    seconds = []
    for _ in range(runs):
        if before is not None:
            before()
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, **options)
        seconds.append(time.perf_counter() - started)
    return Timing(seconds)


def gtdocs_command(*arguments: str) -> list[str]:
    """Run gtdocs as a user does, through the same interpreter as this script."""
    return [sys.executable, "-m", "gtdocs", *arguments]


def max_rss_mib(command: list[str]) -> float:
    """Run `command` under GNU time and return its peak resident set in MiB.

    GNU time's %M is wait4's ru_maxrss: the largest of the child and the descendants it
    waited for, so for a process pool it is the largest single process, not their sum.
    The command is not forked from this process, because a forked child's ru_maxrss
    starts at its parent's resident size.
    """
    with tempfile.NamedTemporaryFile(mode="r", suffix=".txt") as report:
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report.name, *command], check=True,
                       stdout=subprocess.DEVNULL)
        kibibytes = int(report.read().strip().splitlines()[-1])
    return kibibytes / 1024


# -- source photos ----------------------------------------------------------------------

def large_photos(photos_dir: Path | None, scratch: Path) -> list[Path]:
    """Return the two large JPEGs: the largest JPEGs in `photos_dir`, or synthetic ones written to `scratch`."""
    if photos_dir is not None:
        found = sorted(photos_dir.glob("*.jp*g"), key=lambda path: path.stat().st_size, reverse=True)
        if len(found) < 2:
            raise SystemExit(f"--photos {photos_dir}: expected two large JPEGs, found {len(found)}")
        return found[:2]
    return [synthetic_photo(scratch / f"synthetic-{width}x{height}.jpg", width, height, seed)
            for seed, (width, height) in enumerate(LARGE_SIZES)]


def synthetic_photo(path: Path, width: int, height: int, seed: int) -> Path:
    """Write a JPEG of smooth colour gradients with sensor-like noise.

    The noise keeps the file near the size of a real photo of that resolution
    (a few MB at quality 90), so decoding costs about what a real photo costs.
    An existing file at `path` is reused.
    """
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, size=(6, 9, 3), dtype=np.uint8)
    # Bicubic upscaling of a tiny random image gives smooth, photo-like colour fields.
    image = Image.fromarray(coarse, "RGB").resize((width, height), Image.Resampling.BICUBIC)
    pixels = np.asarray(image).astype(np.int16)
    noise = rng.normal(0, 6, size=(height, width, 1)).astype(np.int16)
    pixels = np.clip(pixels + noise, 0, 255).astype(np.uint8)
    Image.fromarray(pixels, "RGB").save(path, "JPEG", quality=90)
    return path


def small_photos() -> list[Path]:
    return sorted(path for path in SMALL_PHOTOS.iterdir() if path.suffix in (".jpg", ".png"))


# -- test projects ----------------------------------------------------------------------

def write_project(root: Path, sources: list[Path], front: dict, body: str, config: str = "") -> Path:
    """Write a project with one bundle `bench.md`, copying each source into images/."""
    (root / "bundles").mkdir(parents=True)
    (root / "images").mkdir()
    for source in sources:
        shutil.copyfile(source, root / "images" / source.name)
    (root / "gtdocs.toml").write_text('title = "Benchmark"\n' + config, encoding="utf-8")
    text = "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True) + "---\n" + body
    (root / "bundles" / "bench.md").write_text(text, encoding="utf-8")
    return root


def boxes_for(size: tuple[int, int], count: int, seed: int) -> list[dict]:
    """Return `count` boxes inside an image of `size`, in displayed pixels."""
    rng = np.random.default_rng(seed)
    width, height = size
    boxes = []
    for _ in range(count):
        box_width = int(rng.uniform(0.15, 0.4) * width)
        box_height = int(rng.uniform(0.15, 0.4) * height)
        left = int(rng.uniform(0, width - box_width))
        top = int(rng.uniform(0, height - box_height))
        boxes.append({"label": "Object", "box": [left, top, box_width, box_height]})
    return boxes


def image_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


# -- SSIM -------------------------------------------------------------------------------

def luma(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma of an RGB uint8 array, as float64 on 0..255."""
    rgb = rgb.astype(np.float64)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def _gaussian_filter(values: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Filter with a separable kernel, keeping only positions where the window fits ("valid")."""
    rows = np.apply_along_axis(lambda row: np.convolve(row, kernel, mode="valid"), 1, values)
    return np.apply_along_axis(lambda column: np.convolve(column, kernel, mode="valid"), 0, rows)


def ssim(reference: np.ndarray, test: np.ndarray) -> float:
    """Mean SSIM of two RGB images on luma, with the 11 x 11 Gaussian window (sigma 1.5).

    The constants are those of Wang et al. 2004: K1 = 0.01, K2 = 0.03, L = 255.
    """
    if reference.shape != test.shape:
        raise ValueError(f"SSIM needs equal shapes, got {reference.shape} and {test.shape}")
    x, y = luma(reference), luma(test)
    offsets = np.arange(11) - 5
    kernel = np.exp(-(offsets ** 2) / (2 * 1.5 ** 2))
    kernel /= kernel.sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    mu_x, mu_y = _gaussian_filter(x, kernel), _gaussian_filter(y, kernel)
    var_x = _gaussian_filter(x * x, kernel) - mu_x ** 2
    var_y = _gaussian_filter(y * y, kernel) - mu_y ** 2
    covariance = _gaussian_filter(x * y, kernel) - mu_x * mu_y
    numerator = (2 * mu_x * mu_y + c1) * (2 * covariance + c2)
    denominator = (mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2)
    return float(np.mean(numerator / denominator))


def gif_frames_rgb(data_path: Path) -> list[np.ndarray]:
    """Decode every frame of an animation to full-canvas RGB, as a browser shows it."""
    frames = []
    with Image.open(data_path) as animation:
        for index in range(getattr(animation, "n_frames", 1)):
            animation.seek(index)
            frames.append(np.asarray(animation.convert("RGB")))
    return frames


# -- GIF structure ----------------------------------------------------------------------

def gif_frame_rectangles(data: bytes) -> list[tuple[int, int, int, int]]:
    """Return each frame's stored rectangle (left, top, width, height) from its image descriptor.

    Follows the GIF89a block layout: header, logical screen descriptor, optional global
    colour table, then extension blocks (0x21) and image descriptors (0x2C) up to 0x3B.
    """
    if data[:6] not in (b"GIF87a", b"GIF89a"):
        raise ValueError("not a GIF")
    flags = data[10]
    position = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    rectangles = []
    while position < len(data):
        block = data[position]
        if block == 0x3B:
            break
        if block == 0x21:
            position += 2
            position = _skip_sub_blocks(data, position)
        elif block == 0x2C:
            left, top, width, height, local_flags = struct.unpack_from("<HHHHB", data, position + 1)
            rectangles.append((left, top, width, height))
            position += 10
            if local_flags & 0x80:
                position += 3 * 2 ** ((local_flags & 7) + 1)
            position += 1   # LZW minimum code size
            position = _skip_sub_blocks(data, position)
        else:
            raise ValueError(f"unexpected GIF block 0x{block:02x} at byte {position}")
    return rectangles


def _skip_sub_blocks(data: bytes, position: int) -> int:
    while data[position] != 0:
        position += data[position] + 1
    return position + 1
