"""Plan every asset of a build, validate examples against their images, and render.

An asset's key is the SHA-256 of the renderer version, the content of every source file
it reads, and every parameter. Its file name in the site is derived from the key. The
cache folder keeps rendered files by key between builds, so a rebuild with nothing
changed renders nothing and a changed example re-renders only its own assets.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import os
import shutil
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from gtdocs import images
from gtdocs.annotations import Annotations, Box, Mask, Point, Polygon, Polyline
from gtdocs.config import ProjectConfig
from gtdocs.errors import Problem
from gtdocs.files import write_atomic
from gtdocs.source import Animation, Bundle, Example

PAIR_GAP = 12   # CSS px between the two images of a pair; the theme's CSS uses the same gap
EDGE_TOLERANCE = 1.0   # px a shape may overhang the image, as labeling tools round to whole pixels


@dataclass
class Asset:
    key: str
    spec: images.StillSpec | images.AnimationSpec
    # Filled in once rendered or found in the cache:
    file_name: str = ""
    content_type: str = ""
    width: int = 0
    height: int = 0
    sha256: str = ""
    size: int = 0
    warnings: list[str] = field(default_factory=list)
    cached: bool = False

    @property
    def path(self) -> str:
        """The asset's path relative to a bundle's site folder."""
        return f"assets/{self.file_name}"


@dataclass
class Picture:
    """One example in one slot: the asset for each pixel density."""

    example_id: str
    css_width: int
    by_density: dict[int, Asset]

    @property
    def main(self) -> Asset:
        return self.by_density[min(self.by_density)]


@dataclass
class BundlePlan:
    bundle: Bundle
    pictures: dict[tuple[str, int], Picture] = field(default_factory=dict)   # by (example id, CSS width)
    task_picture: Picture | None = None
    warnings: list[Problem] = field(default_factory=list)

    def picture(self, example_id: str, css_width: int) -> Picture:
        return self.pictures[(example_id, css_width)]

    def assets(self) -> list[Asset]:
        unique = {}
        all_pictures = list(self.pictures.values()) + ([self.task_picture] if self.task_picture else [])
        for picture in all_pictures:
            for asset in picture.by_density.values():
                unique[asset.key] = asset
        return list(unique.values())


def slot_width(config: ProjectConfig, section: str, count: int) -> int:
    width = config.render.short_width if section == "short" else config.render.full_width
    return width if count == 1 else (width - PAIR_GAP * (count - 1)) // count


class Planner:
    """Builds the asset plan of a project, probing each source image once."""

    def __init__(self, config: ProjectConfig):
        self.config = config
        self.style_cache: dict[tuple[str, ...], images.Style] = {}
        self.infos: dict[Path, images.ImageInfo | None] = {}
        self.digests: dict[Path, str] = {}
        # One Asset per key, shared by every bundle that shows the same picture, because the
        # build renders each key once and fills in only the object it rendered.
        self.assets: dict[str, Asset] = {}

    def probe(self, path: Path, display: str, line: int | None, key: str | None,
              problems: list[Problem]) -> images.ImageInfo | None:
        if path not in self.infos:
            try:
                self.infos[path] = images.probe(path, self.config.render.max_pixels)
            except images.ImageError as error:
                problems.append(Problem(display, line, key, f"{self.config.relative(path)}: {error}", error.fix))
                self.infos[path] = None
        return self.infos[path]

    def style(self, bundle: Bundle) -> images.Style:
        render = self.config.render
        return images.Style(colors=images.label_colors(bundle.labels), background=render.background,
                            jpeg_quality=render.jpeg_quality, max_pixels=render.max_pixels,
                            mask_opacity=render.mask_opacity)

    def plan_bundle(self, bundle: Bundle, problems: list[Problem]) -> BundlePlan:
        plan = BundlePlan(bundle)
        style = self.style(bundle)
        for example in bundle.examples.values():
            if isinstance(example, Example):
                self.validate_example(bundle, example, problems)

        for placement in bundle.placements:
            css_width = slot_width(self.config, placement.section, len(placement.ids))
            for example_id in placement.ids:
                example = bundle.examples.get(example_id)
                if example is None or (example_id, css_width) in plan.pictures:
                    continue
                picture = self.plan_picture(bundle, example, css_width, style)
                if picture is not None:
                    plan.pictures[(example_id, css_width)] = picture

        task_image = bundle.task_image or _first_image(bundle)
        if task_image is not None and self.infos.get(task_image, True) is not None:
            spec = images.StillSpec(task_image, Annotations(), None, None, self.config.render.full_width, style)
            plan.task_picture = Picture("", self.config.render.full_width, {1: self.asset(spec)})
        return plan

    def plan_picture(self, bundle: Bundle, example, css_width: int, style: images.Style) -> Picture | None:
        densities = self.config.render.densities
        by_density: dict[int, Asset] = {}
        previous_width = None
        for density in densities:
            if isinstance(example, Animation):
                spec = self.animation_spec(bundle, example, css_width * density, style)
            else:
                spec = self.still_spec(example, css_width * density, style)
            if spec is None:
                return None
            # A source narrower than the slot renders at its own width; don't write it twice.
            width = self.expected_width(spec)
            if width == previous_width:
                continue
            previous_width = width
            by_density[density] = self.asset(spec)
        return Picture(example.id, css_width, by_density)

    def still_spec(self, example: Example, width: int, style: images.Style) -> images.StillSpec | None:
        if self.infos.get(example.image) is None:
            return None
        return images.StillSpec(example.image, example.annotations, example.verdict, example.crop, width, style)

    def animation_spec(self, bundle: Bundle, animation: Animation, width: int,
                       style: images.Style) -> images.AnimationSpec | None:
        frames = []
        captions = []
        for frame_id in animation.frames:
            example = bundle.examples.get(frame_id)
            # A frame that is missing or not a still example has been reported by the source stage.
            if not isinstance(example, Example):
                return None
            spec = self.still_spec(example, width, style)
            if spec is None:
                return None
            frames.append(spec)
            captions.append(example.verdict.title() if example.verdict else example.caption or example.id)
        frame_ms = animation.frame_ms or self.config.render.frame_ms
        format_name = animation.format or self.config.render.animation_format
        return images.AnimationSpec(tuple(frames), tuple(captions), frame_ms, format_name)

    def expected_width(self, spec) -> int:
        if isinstance(spec, images.AnimationSpec):
            return min(self.expected_width(frame) for frame in spec.frames)
        if spec.crop is not None:
            return spec.width
        info = self.infos[spec.source]
        return min(spec.width, info.width)

    def asset(self, spec) -> Asset:
        payload = json.dumps({"renderer": images.RENDERER_VERSION, "spec": self.describe(spec)},
                             sort_keys=True, ensure_ascii=False)
        key = hashlib.sha256(payload.encode("utf-8")).hexdigest()
        return self.assets.setdefault(key, Asset(key, spec))

    def describe(self, value):
        """Turn a spec into JSON-ready data, replacing each file path by its content's hash."""
        if isinstance(value, Path):
            return {"sha256": self.digest(value)}
        if dataclasses.is_dataclass(value):
            fields = {f.name: self.describe(getattr(value, f.name)) for f in dataclasses.fields(value)}
            return {"type": type(value).__name__, **fields}
        if isinstance(value, (list, tuple)):
            return [self.describe(item) for item in value]
        return value

    def digest(self, path: Path) -> str:
        if path not in self.digests:
            with path.open("rb") as stream:
                self.digests[path] = hashlib.file_digest(stream, "sha256").hexdigest()
        return self.digests[path]

    # -- validation against the image --------------------------------------------------

    def validate_example(self, bundle: Bundle, example: Example, problems: list[Problem]) -> None:
        index = example.index
        key = f"examples[{index}]"
        info = self.probe(example.image, bundle.display_path, example.line, f"{key}.image", problems)
        if info is None:
            return
        size = (info.width, info.height)
        annotations = example.annotations
        if annotations.size is not None and annotations.size not in (size, (info.raw_width, info.raw_height)):
            problems.append(Problem(
                bundle.display_path, example.line, f"{key}.annotations",
                f"the manifest's annotations are for a {annotations.size[0]} x {annotations.size[1]} image, "
                f"but {example.image_name} is {info.width} x {info.height}",
                "label the same image file, or export the manifest again"))
            return
        bounds = annotations.size or size
        for position, shape in enumerate(annotations.shapes):
            outside = _outside(shape, bounds)
            if outside:
                line, written = example.line, position
                if position < len(example.annotation_lines):
                    line, written = example.annotation_lines[position], example.annotation_indexes[position]
                problems.append(Problem(
                    bundle.display_path, line, f"{key}.annotations[{written}]",
                    f"{outside} is outside the {bounds[0]} x {bounds[1]} image {example.image_name}",
                    "coordinates are pixels of the image as displayed, from its top-left corner"))
            if isinstance(shape, Mask):
                self.probe(shape.path, bundle.display_path, example.line, f"{key}.annotations", problems)
        if example.crop is not None:
            left, top, width, height = example.crop
            if left < 0 or top < 0 or left + width > size[0] + EDGE_TOLERANCE or top + height > size[1] + EDGE_TOLERANCE:
                problems.append(Problem(
                    bundle.display_path, bundle.lines.get(("examples", index, "crop"), example.line), f"{key}.crop",
                    f"crop {_numbers(example.crop)} is outside the {size[0]} x {size[1]} image {example.image_name}",
                    "give [left, top, width, height] within the image as displayed"))


def _first_image(bundle: Bundle) -> Path | None:
    for example in bundle.examples.values():
        if isinstance(example, Example):
            return example.image
    return None


def _numbers(values) -> str:
    return "[" + ", ".join(f"{v:g}" for v in values) + "]"


def _outside(shape, bounds: tuple[int, int]) -> str | None:
    width, height = bounds
    if isinstance(shape, Box):
        points = [(shape.left, shape.top), (shape.right, shape.bottom)]
        description = f"box {_numbers((shape.left, shape.top, shape.width, shape.height))}"
    elif isinstance(shape, (Polygon, Polyline)):
        points = list(shape.points)
        description = f"{type(shape).__name__.lower()} point"
    elif isinstance(shape, Point):
        points = [(shape.x, shape.y)]
        description = f"point {_numbers((shape.x, shape.y))}"
    else:
        return None
    for x, y in points:
        if not (-EDGE_TOLERANCE <= x <= width + EDGE_TOLERANCE and -EDGE_TOLERANCE <= y <= height + EDGE_TOLERANCE):
            if not isinstance(shape, (Box, Point)):
                description += f" {_numbers((x, y))}"
            return description
    return None


# -- rendering, with the cache ---------------------------------------------------------

def cache_paths(cache_dir: Path, key: str) -> tuple[Path, Path]:
    folder = cache_dir / key[:2]
    return folder / f"{key}.json", folder


def load_cached(cache_dir: Path, asset: Asset) -> bool:
    meta_path, folder = cache_paths(cache_dir, asset.key)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not (folder / meta["file_name"]).is_file():
        return False
    _apply_meta(asset, meta)
    asset.cached = True
    return True


def _apply_meta(asset: Asset, meta: dict) -> None:
    asset.file_name = meta["file_name"]
    asset.content_type = meta["content_type"]
    asset.width = meta["width"]
    asset.height = meta["height"]
    asset.sha256 = meta["sha256"]
    asset.size = meta["bytes"]
    asset.warnings = list(meta["warnings"])


def render_to_cache(cache_dir: Path, key: str, spec) -> dict:
    """Render one asset into the cache and return its metadata; runs in a worker process."""
    if isinstance(spec, images.AnimationSpec):
        rendered = images.render_animation(spec)
    else:
        rendered = images.render_still(spec)
    meta = {
        "file_name": f"{key[:20]}.{rendered.extension}",
        "content_type": rendered.content_type,
        "width": rendered.width,
        "height": rendered.height,
        "sha256": hashlib.sha256(rendered.data).hexdigest(),
        "bytes": len(rendered.data),
        "warnings": rendered.warnings,
    }
    meta_path, folder = cache_paths(cache_dir, key)
    folder.mkdir(parents=True, exist_ok=True)
    # Write the image before its metadata, each through a temporary name, so a build that is
    # interrupted never leaves metadata that points at a missing or partial file.
    write_atomic(folder / meta["file_name"], rendered.data)
    write_atomic(meta_path, json.dumps(meta).encode("utf-8"))
    return meta


def render_assets(config: ProjectConfig, assets: list[Asset], progress=None) -> tuple[int, int, list[Problem]]:
    """Fill in every asset from the cache or by rendering.

    Returns the counts of rendered and cached assets, and a problem for each image that
    failed to decode although its header was readable. Rendering runs in worker
    processes when more than one asset needs it. `progress`, if given, is called once
    per finished asset.
    """
    pending = [asset for asset in assets if not load_cached(config.cache_dir, asset)]
    cached = len(assets) - len(pending)
    problems: list[Problem] = []
    workers = min(config.render.workers or os.cpu_count() or 1, len(pending))
    if workers <= 1:
        results = (_render_or_fail(config.cache_dir, asset.key, asset.spec) for asset in pending)
        _collect(config, pending, results, problems, progress)
    else:
        # multiprocessing.Pool rather than ProcessPoolExecutor, for its terminate(): an executor
        # interrupted by a SIGINT sent to the main process alone could wait forever on its workers.
        pool = multiprocessing.Pool(workers, initializer=_ignore_interrupts)
        try:
            jobs = [(config.cache_dir, asset.key, asset.spec) for asset in pending]
            _collect(config, pending, pool.imap(_render_job, jobs), problems, progress)
        except BaseException:
            # On Ctrl+C (or a bug) stop the workers at once; what they were rendering is never cached.
            pool.terminate()
            pool.join()
            raise
        pool.close()
        pool.join()
    return len(pending), cached, problems


def _ignore_interrupts() -> None:
    # Workers leave SIGINT to the main process, which stops them and exits; otherwise each
    # worker prints its own KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _render_job(job: tuple) -> dict:
    return _render_or_fail(*job)


def _render_or_fail(cache_dir: Path, key: str, spec) -> dict:
    # The error goes back as plain data, because exceptions with extra fields don't pickle reliably.
    try:
        return render_to_cache(cache_dir, key, spec)
    except images.ImageError as error:
        return {"error": str(error), "fix": getattr(error, "fix", "")}


def _collect(config: ProjectConfig, pending: list[Asset], results, problems: list[Problem], progress) -> None:
    for asset, result in zip(pending, results):
        if "error" in result:
            spec = asset.spec
            source = spec.frames[0].source if isinstance(spec, images.AnimationSpec) else spec.source
            problems.append(Problem(config.relative(source), None, None, result["error"], result["fix"]))
        else:
            _apply_meta(asset, result)
        if progress:
            progress()


def copy_asset(config: ProjectConfig, asset: Asset, folder: Path) -> None:
    _, cache_folder = cache_paths(config.cache_dir, asset.key)
    target = folder / asset.file_name
    try:
        os.link(cache_folder / asset.file_name, target)
    except OSError:
        shutil.copyfile(cache_folder / asset.file_name, target)


def is_terminal() -> bool:
    return sys.stderr.isatty()
