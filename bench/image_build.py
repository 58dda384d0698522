"""Benchmarks of the image stage: cold and no-op builds against vipsthumbnail, GIF size, peak memory.

    python bench/image_build.py build  [--photos DIR]   # (a) cold build vs vipsthumbnail, (b) no-op rebuild
    python bench/image_build.py gif    [--photos DIR]   # (c) GIF bytes and SSIM vs gifsicle, WebP bytes
    python bench/image_build.py memory [--photos DIR]   # (d) peak RSS for one example from the 24 MP photo
    python bench/image_build.py all    [--photos DIR]

--photos names a folder that contains the two large JPEGs (6028 x 3391 and 6000 x 4000).
Without it, synthetic JPEGs of those sizes are generated. Needs vipsthumbnail and vips (Debian's
libvips-tools) and gifsicle. Each timing runs 3 times, and the median and spread are printed.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from bench import common  # noqa: E402

EXAMPLES = 50
JPEG_QUALITY = 85          # gtdocs' default render.jpeg_quality, passed to vipsthumbnail too
PARALLEL = 2               # processes for vipsthumbnail, as gtdocs uses one per core here
NOOP_TARGET = 0.03         # a no-op rebuild may take at most this fraction of the cold build
RATIO_TARGET = 1.2         # cold build time / vipsthumbnail time


# -- (a) and (b): build times -----------------------------------------------------------

def build_project(root: Path, large: list[Path]) -> tuple[Path, dict[str, dict]]:
    """Write the 50-example project and return it with each example's source and crop.

    Example i uses source i mod 11 (the two large photos, then nine small ones), so ten
    examples are 20-24 MP. Every seventh example on a small photo shows a crop of its
    middle. Examples are placed as pairs and singles in the short and the full
    instructions, so each image is rendered at 144, 288, 300, 394, 600, 788, 800 or 1600
    px wide, where the source is that wide.
    """
    sources = large + common.small_photos()
    examples = []
    layout = {}
    for index in range(EXAMPLES):
        source = sources[index % len(sources)]
        size = common.image_size(source)
        example_id = f"e{index:02d}"
        example = {
            "id": example_id,
            "image": f"images/{source.name}",
            "caption": f"Example {index}.",
            "annotations": common.boxes_for(size, 1 + index % 3, seed=index),
        }
        if index % 5 != 4:
            example["verdict"] = "good" if index % 2 == 0 else "bad"
        crop = None
        if source not in large and index % 7 == 3:
            crop = [size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2]
            example["crop"] = crop
        examples.append(example)
        layout[example_id] = {"source": source, "crop": crop}

    front = {
        "title": "Benchmark bundle",
        "task": "bounding-box",
        "labels": ["Object"],
        "header": "Draw a box around each object.",
        "task_image": f"images/{large[0].name}",
        "examples": examples,
    }
    ids = [example["id"] for example in examples]
    short = ["Short instructions.", f"[[{ids[0]} | {ids[1]}]]", f"[[{ids[2]}]]"]
    full = ["<!-- full -->", "## Full instructions", f"[[{ids[0]}]]"]
    position = 3
    while position < len(ids):
        # Alternate singles and pairs, so both full-section slot widths occur.
        if (position // 3) % 2 == 0 or position + 1 == len(ids):
            full.append(f"[[{ids[position]}]]")
            position += 1
        else:
            full.append(f"[[{ids[position]} | {ids[position + 1]}]]")
            position += 2
    body = "\n\n".join(short + full) + "\n"
    common.write_project(root, sources, front, body)
    return root, layout


def vips_jobs(project: Path, layout: dict[str, dict], large: list[Path], output: Path) -> list[str]:
    """Return one shell command per gtdocs asset that makes a JPEG of the same size with libvips.

    Sizes are read from bundle.json. A crop is cut with `vips crop` into a .v file first,
    because vipsthumbnail resizes whole images only.
    """
    manifest = json.loads((project / "site" / "bench" / "bundle.json").read_text(encoding="utf-8"))
    owner = {}
    for example in manifest["examples"]:
        for path in example["assets"]:
            owner[path] = layout[example["id"]]
    task = {"source": large[0], "crop": None}

    jobs = []
    for number, asset in enumerate(manifest["assets"]):
        entry = owner.get(asset["path"], task)
        source = project / "images" / entry["source"].name
        target = output / f"{number}.jpg"
        size = f"{asset['width']}x{asset['height']}"
        thumbnail = f"vipsthumbnail {{}} --size {size} -o {shlex.quote(str(target))}[Q={JPEG_QUALITY}]"
        if entry["crop"] is None:
            jobs.append(thumbnail.format(shlex.quote(str(source))))
        else:
            cut = output / f"{number}.v"
            crop = " ".join(str(value) for value in entry["crop"])
            jobs.append(f"vips crop {shlex.quote(str(source))} {shlex.quote(str(cut))} {crop} && "
                        + thumbnail.format(shlex.quote(str(cut))))
    return jobs


def run_vips(jobs_file: Path) -> None:
    # Each line is one shell command; xargs keeps PARALLEL of them running.
    subprocess.run(f"xargs -P {PARALLEL} -d '\\n' -I CMD sh -c CMD < {shlex.quote(str(jobs_file))}",
                   shell=True, check=True)


def bench_build(photos: Path | None, scratch: Path) -> dict:
    large = common.large_photos(photos, scratch)
    project, layout = build_project(scratch / "project", large)
    vips_output = scratch / "vips"
    jobs_file = scratch / "vips-jobs.txt"

    def clear_build() -> None:
        shutil.rmtree(project / ".gtdocs-cache", ignore_errors=True)
        shutil.rmtree(project / "site", ignore_errors=True)

    def clear_vips() -> None:
        shutil.rmtree(vips_output, ignore_errors=True)
        vips_output.mkdir()

    # An untimed build puts the sources in the page cache and writes the bundle.json that sizes the vips jobs.
    clear_build()
    subprocess.run(common.gtdocs_command("build", str(project)), check=True, stdout=subprocess.DEVNULL)
    jobs = vips_jobs(project, layout, large, vips_output)
    jobs_file.write_text("\n".join(jobs) + "\n", encoding="utf-8")
    clear_vips()
    run_vips(jobs_file)

    # Interleave the two tools, so load from other processes on the machine hits both alike.
    cold_runs, vips_runs = [], []
    for _ in range(common.RUNS):
        cold_runs += common.time_command(common.gtdocs_command("build", str(project)), clear_build, runs=1).seconds
        vips_runs += common.time_command(["sh", "-c", f"xargs -P {PARALLEL} -d '\\n' -I CMD sh -c CMD "
                                          f"< {shlex.quote(str(jobs_file))}"], clear_vips, runs=1).seconds
    cold = common.Timing(cold_runs)
    vips = common.Timing(vips_runs)
    ratios = [ours / theirs for ours, theirs in zip(cold_runs, vips_runs)]

    # The cache is now warm: nothing changed, so nothing should render.
    noop = common.time_command(common.gtdocs_command("build", str(project)))
    summary = subprocess.run(common.gtdocs_command("build", str(project)), check=True, capture_output=True,
                             text=True).stdout.strip()
    startup = common.time_command([sys.executable, "-c", "import gtdocs.cli, gtdocs.build"])

    manifest = json.loads((project / "site" / "bench" / "bundle.json").read_text(encoding="utf-8"))
    widths = sorted({asset["width"] for asset in manifest["assets"]})
    result = {
        "assets": len(manifest["assets"]),
        "widths": widths,
        "large": [f"{path.name} {common.image_size(path)[0]}x{common.image_size(path)[1]}" for path in large],
        "cold": cold,
        "vips": vips,
        "ratios": ratios,
        "noop": noop,
        "noop_summary": summary,
        "startup": startup,
    }
    print(f"(a) {result['assets']} assets at widths {widths}; large sources: {result['large']}")
    print(f"    gtdocs build (subprocess, cold cache): {cold}")
    print(f"    vipsthumbnail, xargs -P {PARALLEL}:            {vips}")
    print(f"    ratio per run: {', '.join(f'{ratio:.2f}' for ratio in ratios)}; "
          f"median {statistics.median(ratios):.2f} (target <= {RATIO_TARGET})")
    noop_fraction = noop.median / cold.median
    print(f"(b) no-op rebuild (subprocess): {noop}")
    print(f"    = {100 * noop_fraction:.1f}% of the cold build (target <= {100 * NOOP_TARGET:.0f}%)")
    print(f"    gtdocs' own summary: {summary}")
    print(f"    interpreter start-up and imports alone: {startup}")
    return result


# -- (c): GIF and WebP bytes ------------------------------------------------------------

def animation_specs(photo: Path, formats: tuple[str, ...]) -> tuple[dict, list]:
    """Return a good/bad pair on one photo, as the planner would build it for an 800 px slot."""
    from gtdocs import images
    from gtdocs.annotations import Annotations, Box

    size = common.image_size(photo)
    width, height = size
    tight = Box("Object", width * 0.30, height * 0.25, width * 0.30, height * 0.40)
    loose = Box("Object", width * 0.20, height * 0.15, width * 0.55, height * 0.65)
    style = images.Style(colors=images.label_colors(["Object"]))
    good = images.StillSpec(photo, Annotations(shapes=(tight,)), "good", None, 800, style)
    bad = images.StillSpec(photo, Annotations(shapes=(loose,)), "bad", None, 800, style)
    specs = {name: images.AnimationSpec((good, bad), ("Good", "Bad"), 1200, name) for name in formats}
    return specs, [good, bad]


def bench_gif(photos: Path | None, scratch: Path) -> dict:
    from gtdocs import images

    photo = common.large_photos(photos, scratch)[0]
    specs, _ = animation_specs(photo, ("gif", "webp"))
    frames, _ = images.animation_frames(specs["gif"])
    ours = images.render_animation(specs["gif"]).data
    webp = images.render_animation(specs["webp"]).data
    (scratch / "ours.gif").write_bytes(ours)
    (scratch / "ours.webp").write_bytes(webp)

    # gifsicle reads only GIF, so its input is the same RGB frames reduced to one shared
    # 256-colour palette (median cut over both frames, no dithering). Each frame is saved as
    # a single-frame GIF, because Pillow crops later frames of a multi-frame GIF to what
    # changed. `gifsicle --merge` without -O then joins them with every frame whole.
    rgb = [np.asarray(frame.convert("RGB")) for frame in frames]
    stacked = Image.fromarray(np.concatenate(rgb, axis=0), "RGB")
    shared = stacked.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    single_frames = []
    for index, frame in enumerate(frames):
        indexed = frame.convert("RGB").quantize(palette=shared, dither=Image.Dither.NONE)
        path = scratch / f"frame{index}.gif"
        indexed.save(path, "GIF")
        single_frames.append(str(path))
    unoptimised = scratch / "unoptimised.gif"
    subprocess.run(["gifsicle", "--merge", "--loopcount=forever", "--delay=120", *single_frames,
                    "-o", str(unoptimised)], check=True)
    theirs_path = scratch / "gifsicle.gif"
    subprocess.run(["gifsicle", "-O3", "--lossy=20", str(unoptimised), "-o", str(theirs_path)], check=True)
    theirs = theirs_path.read_bytes()

    ssim_ours = statistics.mean(common.ssim(reference, decoded)
                                for reference, decoded in zip(rgb, common.gif_frames_rgb(scratch / "ours.gif")))
    ssim_theirs = statistics.mean(common.ssim(reference, decoded)
                                  for reference, decoded in zip(rgb, common.gif_frames_rgb(theirs_path)))
    ssim_webp = statistics.mean(common.ssim(reference, decoded)
                                for reference, decoded in zip(rgb, common.gif_frames_rgb(scratch / "ours.webp")))
    changed = int(np.any(rgb[0] != rgb[1], axis=-1).sum())
    rectangles = common.gif_frame_rectangles(ours)
    input_rectangles = common.gif_frame_rectangles(unoptimised.read_bytes())
    their_rectangles = common.gif_frame_rectangles(theirs)

    result = {"photo": photo.name, "size": frames[0].size, "ours": len(ours), "gifsicle": len(theirs),
              "unoptimised": unoptimised.stat().st_size, "webp": len(webp), "ssim_ours": ssim_ours,
              "ssim_gifsicle": ssim_theirs, "ssim_webp": ssim_webp, "rectangles": rectangles,
              "gifsicle_rectangles": their_rectangles, "changed_pixels": changed}
    print(f"(c) good/bad pair on {photo.name}, frames {frames[0].size[0]}x{frames[0].size[1]}")
    print(f"    gtdocs GIF: {len(ours):,} B, SSIM {ssim_ours:.4f}; frame rectangles {rectangles}")
    print(f"    gifsicle -O3 --lossy=20: {len(theirs):,} B, SSIM {ssim_theirs:.4f}; "
          f"frame rectangles {their_rectangles} (input {unoptimised.stat().st_size:,} B, "
          f"rectangles {input_rectangles})")
    second = rectangles[1]
    print(f"    frame 2 stores {second[2]}x{second[3]} of {frames[0].size[0]}x{frames[0].size[1]} "
          f"({100 * second[2] * second[3] / (frames[0].size[0] * frames[0].size[1]):.0f}% of the area); "
          f"{changed:,} pixels ({100 * changed / (frames[0].size[0] * frames[0].size[1]):.0f}%) differ, "
          f"the rest of the rectangle is transparent")
    print(f"    bytes ratio gtdocs / gifsicle: {len(ours) / len(theirs):.3f} (target <= 1.0, "
          f"SSIM not below gifsicle's)")
    print(f"    animated WebP: {len(webp):,} B = {len(webp) / len(ours):.2f} of the GIF (target <= 0.5), "
          f"SSIM {ssim_webp:.4f}")
    return result


# -- (d): peak memory -------------------------------------------------------------------

def bench_memory(photos: Path | None, scratch: Path) -> dict:
    """Build one example from the 6000 x 4000 photo in a child process and read its ru_maxrss."""
    large = common.large_photos(photos, scratch)
    photo = max(large, key=lambda path: common.image_size(path)[0] * common.image_size(path)[1])
    size = common.image_size(photo)
    front = {
        "title": "Memory", "task": "bounding-box", "labels": ["Object"], "header": "Box each object.",
        "examples": [{"id": "one", "image": f"images/{photo.name}", "verdict": "bad",
                      "annotations": common.boxes_for(size, 2, seed=1)}],
    }
    body = "Short.\n\n<!-- full -->\n[[one]]\n"
    project = common.write_project(scratch / "memory", [photo], front, body)

    ours = []
    for _ in range(common.RUNS):
        shutil.rmtree(project / ".gtdocs-cache", ignore_errors=True)
        ours.append(common.max_rss_mib(common.gtdocs_command("build", str(project))))
    manifest = json.loads((project / "site" / "bench" / "bundle.json").read_text(encoding="utf-8"))
    widest = max(manifest["assets"], key=lambda asset: asset["width"])
    theirs = []
    for _ in range(common.RUNS):
        theirs.append(common.max_rss_mib(["vipsthumbnail", str(project / "images" / photo.name), "--size",
                                          f"{widest['width']}x{widest['height']}",
                                          "-o", f"{scratch / 'memory.jpg'}[Q={JPEG_QUALITY}]"]))
    baseline = common.max_rss_mib([sys.executable, "-c", "import gtdocs.cli, gtdocs.build, gtdocs.images"])
    widths = sorted(asset["width"] for asset in manifest["assets"])
    print(f"(d) one example from {photo.name} ({size[0]}x{size[1]}), assets at widths {widths}")
    print(f"    gtdocs build, ru_maxrss: {', '.join(f'{value:.0f}' for value in ours)} MiB "
          f"(median {statistics.median(ours):.0f})")
    print(f"    vipsthumbnail --size {widest['width']}x{widest['height']}, ru_maxrss: "
          f"{', '.join(f'{value:.0f}' for value in theirs)} MiB (median {statistics.median(theirs):.0f})")
    print(f"    python with gtdocs imported, nothing built: {baseline:.0f} MiB")
    return {"ours": ours, "vips": theirs, "baseline": baseline}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", choices=["build", "gif", "memory", "all"])
    parser.add_argument("--photos", type=Path, help="folder with the two large JPEGs (default: synthetic ones)")
    arguments = parser.parse_args()

    common.print_machine()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gtdocs-bench-") as folder:
        scratch = Path(folder)
        if arguments.which in ("build", "all"):
            bench_build(arguments.photos, scratch)
        if arguments.which in ("gif", "all"):
            bench_gif(arguments.photos, scratch)
        if arguments.which in ("memory", "all"):
            bench_memory(arguments.photos, scratch)
    print(f"# total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
