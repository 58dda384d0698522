"""Read a bundle: YAML front matter (the example manifest) and a Markdown body.

A bundle file looks like this (docs/format.md has the whole format):

    ---
    title: Draw a box around each flower
    task: bounding-box
    labels: [Flower]
    header: Draw one box around each flower
    examples:
      - id: tight
        image: images/flower.jpg
        verdict: good
        caption: Each box touches the petals.
        annotations: labels/flowers.manifest
    ---
    Short instructions, with examples placed by id: [[tight]] or [[tight | loose]]

    <!-- full -->
    Full instructions.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from gtdocs.annotations import (Annotations, Box, ImageLabel, Point, Polygon, Polyline,
                                ManifestError, read_manifest)
from gtdocs.config import CONFIG_NAME, ProjectConfig
from gtdocs import markdown
from gtdocs.errors import Problem, raise_if_any
from gtdocs.markdown import make_parser
from gtdocs.yamlnodes import FrontMatterError, Located, load_located

FULL_MARKER = "<!-- full -->"
TASK_TYPES = ("bounding-box", "image-classification")
VERDICTS = ("good", "bad")
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

BUNDLE_KEYS = ("title", "task", "labels", "header", "task_image", "examples")
EXAMPLE_KEYS = ("id", "image", "verdict", "caption", "alt", "annotations", "crop")
ANIMATION_KEYS = ("id", "animation", "frame_ms", "format", "verdict", "caption", "alt")
SHAPE_KEYS = ("box", "polygon", "polyline", "point")


@dataclass(frozen=True)
class Example:
    id: str
    image: Path            # resolved, inside the project
    image_name: str        # as written, for messages
    verdict: str | None
    caption: str
    alt: str
    annotations: Annotations
    crop: tuple[float, float, float, float] | None
    line: int
    annotation_lines: tuple[int, ...] = ()   # source line of each annotation, for messages
    annotation_indexes: tuple[int, ...] = ()  # each annotation's position in the written list
    index: int = 0                            # position in the front matter's `examples` list


@dataclass(frozen=True)
class Animation:
    id: str
    frames: tuple[str, ...]   # ids of still examples, shown in turn
    frame_ms: int | None      # None: the project's render.frame_ms
    format: str | None        # None: the project's render.animation_format
    verdict: str | None
    caption: str
    alt: str
    line: int
    index: int = 0            # position in the front matter's `examples` list


@dataclass(frozen=True)
class Placement:
    """Examples placed together in the body: one, or a pair side by side."""

    ids: tuple[str, ...]
    section: str   # "short" or "full"
    line: int      # line in the bundle file


@dataclass
class Bundle:
    name: str
    path: Path
    display_path: str
    title: str
    task: str
    labels: tuple[str, ...]
    header: str
    task_image: Path | None
    examples: dict[str, Example | Animation]
    short_markdown: str
    full_markdown: str
    short_line: int     # file line where the short instructions start
    full_line: int
    placements: list[Placement] = field(default_factory=list)
    lines: dict[tuple, int] = field(default_factory=dict)
    manifests: tuple[Path, ...] = ()   # annotation manifests the examples read, resolved


def bundle_files(config: ProjectConfig) -> list[Path]:
    if not config.bundles_dir.is_dir():
        return []
    return sorted(path for path in config.bundles_dir.glob("*.md") if not path.name.startswith("."))


def read_project(config: ProjectConfig, only: set[str] | None = None,
                 problems: list[Problem] | None = None) -> list[Bundle]:
    """Read every bundle (or those named in `only`).

    Without a `problems` list, raise InputError listing every problem found. With one,
    append to it and return the bundles that could be read, so that a caller can go on
    checking them against their images and report everything together.
    """
    collect = problems is not None
    problems = problems if collect else []
    paths = bundle_files(config)
    if not paths:
        if not config.bundles_dir.is_dir():
            raise_if_any([Problem(CONFIG_NAME, None, "bundles", f"folder not found: {config.relative(config.bundles_dir)}",
                                  "create it and add a Markdown file per labeling job, or set `bundles` to its folder")])
        raise_if_any([Problem(config.relative(config.bundles_dir), None, None, "contains no bundle (*.md) files",
                              "add a Markdown file per labeling job, or run `gtdocs new PATH` for a starter")])
    bundles = []
    for path in paths:
        if only is not None and path.stem not in only:
            continue
        bundle = read_bundle(path, config, problems)
        if bundle is not None:
            bundles.append(bundle)
    if not collect:
        raise_if_any(problems)
    return bundles


def read_bundle(path: Path, config: ProjectConfig, problems: list[Problem]) -> Bundle | None:
    """Read and validate one bundle file, appending every problem found.

    Return None when the file cannot be read as a bundle at all. Otherwise return the
    bundle without the examples that have problems of their own.
    """
    display = config.relative(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        problems.append(Problem(display, None, None, f"is not UTF-8 text ({error.reason} at byte {error.start})",
                                "save the file as UTF-8"))
        return None
    except OSError as error:
        problems.append(Problem(display, None, None, f"cannot be read: {error.strerror}",
                                "check that the file exists and is readable"))
        return None

    split = _split_front_matter(text)
    if split is None:
        problems.append(Problem(display, 1, None, "has no front matter",
                                "start the file with a line '---', the YAML settings, and another '---'"))
        return None
    front_text, body, body_line = split
    try:
        front = load_located(front_text, first_line=2)
    except FrontMatterError as error:
        problems.append(Problem(display, error.line, None, str(error), "fix the YAML between the '---' lines"))
        return None

    reader = _FrontMatterReader(front, display, config, problems)
    bundle = reader.read_bundle(path, body, body_line)
    return bundle


def _split_front_matter(text: str) -> tuple[str, str, int] | None:
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return None
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            return "".join(lines[1:index]), "".join(lines[index + 1:]), index + 2
    return None


class _FrontMatterReader:
    """Validator of front matter against the bundle format, which collects problems with their source lines."""

    def __init__(self, front: Located, display: str, config: ProjectConfig, problems: list[Problem]):
        self.front = front
        self.display = display
        self.config = config
        self.problems = problems
        # Entries of each manifest by image file name. None marks a manifest that could not be used.
        self.manifests: dict[Path, dict[str, object] | None] = {}
        # Ids of examples that have a problem of their own, so their uses are not reported too.
        self.declared_ids: set[str] = set()

    def problem(self, path: tuple, message: str, fix: str) -> None:
        self.problems.append(Problem(self.display, self.front.line(path, 1), _key_name(path), message, fix))

    def read_bundle(self, path: Path, body: str, body_line: int) -> Bundle | None:
        data = self.front.value
        if not isinstance(data, dict):
            self.problem((), "front matter is not a mapping of settings", "write settings as 'key: value' lines")
            return None
        self.check_keys(data, (), BUNDLE_KEYS)

        title = self.text(data, ("title",), required=True)
        task = self.text(data, ("task",), required=True)
        if task and task not in TASK_TYPES:
            self.problem(("task",), f"unknown task type {task!r}", "use one of: " + ", ".join(TASK_TYPES))
        labels = self.labels(data)
        header = self.text(data, ("header",), required=True)
        task_image = None
        if "task_image" in data:
            task_image = self.image_path(data["task_image"], ("task_image",))

        examples = self.examples(data, labels)
        short, full, full_line = _split_body(body, body_line)
        for offset, line in enumerate(full.splitlines()):
            if line.strip() == FULL_MARKER:
                self.problems.append(Problem(self.display, full_line + offset, None,
                                             f"a second {FULL_MARKER} line",
                                             "keep one: the short instructions come before it, the full ones after"))
        bundle = Bundle(
            name=path.stem, path=path, display_path=self.display, title=title, task=task,
            labels=labels, header=header, task_image=task_image, examples=examples,
            short_markdown=short, full_markdown=full, short_line=body_line, full_line=full_line,
            lines=self.front.lines,
            manifests=tuple(self.manifests),
        )
        bundle.placements = find_placements(bundle)
        self.check_placements(bundle)
        return bundle

    # -- generic checks ------------------------------------------------------------------

    def check_keys(self, data: dict, path: tuple, known: tuple[str, ...]) -> None:
        for key in data:
            if key not in known:
                self.problem(path + (key,), "unknown key", "known keys here: " + ", ".join(known))

    def text(self, data: dict, path: tuple, required: bool = False, default: str = "") -> str:
        key = path[-1]
        if key not in data:
            if required:
                self.problem(path, "is missing", f"add '{key}:' to the front matter")
            return default
        value = data[key]
        if not isinstance(value, str) or (required and not value.strip()):
            self.problem(path, f"{value!r} is not text", f"write '{key}:' followed by text")
            return default
        return value.strip()

    def numbers(self, value, path: tuple, count: int, what: str) -> tuple[float, ...] | None:
        if (not isinstance(value, list) or len(value) != count
                or not all(isinstance(n, (int, float)) and not isinstance(n, bool) and math.isfinite(n)
                           for n in value)):
            self.problem(path, f"{value!r} is not a list of {count} numbers", f"write it as {what}")
            return None
        return tuple(float(n) for n in value)

    def image_path(self, value, path: tuple) -> Path | None:
        if not isinstance(value, str) or not value.strip():
            self.problem(path, f"{value!r} is not a file path", "give the image's path relative to the project")
            return None
        resolved = (self.config.root / value).resolve()
        if not resolved.is_relative_to(self.config.root):
            self.problem(path, f"{value!r} is outside the project",
                         "copy the image into the project and give its path relative to the project folder")
            return None
        if not resolved.is_file():
            self.problem(path, f"image not found: {value}", "check the path; it is relative to the project folder")
            return None
        return resolved

    # -- labels and examples -------------------------------------------------------------

    def labels(self, data: dict) -> tuple[str, ...]:
        value = data.get("labels")
        if value is None:
            self.problem(("labels",), "is missing", "add 'labels: [Name, ...]'")
            return ()
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            self.problem(("labels",), f"{value!r} is not a list of label names", "write labels: [Name, ...]")
            return ()
        seen = set()
        for index, label in enumerate(value):
            if label in seen:
                self.problem(("labels", index), f"label {label!r} is listed twice", "list each label once")
            seen.add(label)
        return tuple(label.strip() for label in value)

    def examples(self, data: dict, labels: tuple[str, ...]) -> dict[str, Example | Animation]:
        entries = data.get("examples")
        if entries is None:
            self.problem(("examples",), "is missing", "add 'examples:' with a list of example images")
            return {}
        if not isinstance(entries, list):
            self.problem(("examples",), f"{entries!r} is not a list", "write each example as a '- id: ...' entry")
            return {}
        examples: dict[str, Example | Animation] = {}
        for index, entry in enumerate(entries):
            path = ("examples", index)
            if not isinstance(entry, dict):
                self.problem(path, f"{entry!r} is not a mapping", "write each example as a '- id: ...' entry")
                continue
            example_id = self.text(entry, path + ("id",), required=True)
            if example_id and not ID_PATTERN.match(example_id):
                self.problem(path + ("id",), f"{example_id!r} is not a valid id",
                             "use letters, digits, '-', '_' and '.', starting with a letter or digit")
                continue
            if example_id in examples:
                self.problem(path + ("id",), f"id {example_id!r} is used twice", "give each example its own id")
                continue
            self.declared_ids.add(example_id)
            if "animation" in entry:
                example = self.animation(entry, path, example_id)
            else:
                example = self.still(entry, path, example_id, labels)
            if example is not None and example_id:
                examples[example_id] = example
        self.check_animation_frames(examples)
        return examples

    def verdict(self, entry: dict, path: tuple) -> str | None:
        if "verdict" not in entry:
            return None
        value = entry["verdict"]
        if value not in VERDICTS:
            self.problem(path + ("verdict",), f"unknown verdict {value!r}", "use 'good' or 'bad'")
            return None
        return value

    def still(self, entry: dict, path: tuple, example_id: str, labels: tuple[str, ...]) -> Example | None:
        self.check_keys(entry, path, EXAMPLE_KEYS)
        if "image" not in entry:
            self.problem(path + ("image",), "is missing", "add 'image:' with the path of the example's image")
            return None
        image = self.image_path(entry["image"], path + ("image",))
        verdict = self.verdict(entry, path)
        caption = self.text(entry, path + ("caption",))
        alt = self.text(entry, path + ("alt",), default=caption)
        crop = None
        if "crop" in entry:
            crop = self.numbers(entry["crop"], path + ("crop",), 4, "[left, top, width, height] in pixels")
            if crop is not None and (crop[2] <= 0 or crop[3] <= 0):
                self.problem(path + ("crop",), f"{entry['crop']!r} has no area", "width and height must be above 0")
                crop = None
        annotations, annotation_lines, annotation_indexes = self.annotations(entry, path, image, labels)
        if image is None:
            return None
        return Example(example_id, image, entry["image"], verdict, caption, alt or example_id,
                       annotations, crop, self.front.line(path, 1), annotation_lines, annotation_indexes,
                       index=path[1])

    def annotations(self, entry: dict, path: tuple, image: Path | None,
                    labels: tuple[str, ...]) -> tuple[Annotations, tuple[int, ...], tuple[int, ...]]:
        """Return the example's annotations, and the line and list position of each one written inline."""
        value = entry.get("annotations", [])
        path = path + ("annotations",)
        if isinstance(value, str):
            return self.manifest_annotations(value, path, image, labels), (), ()
        if not isinstance(value, list):
            self.problem(path, f"{value!r} is neither a list nor a manifest path",
                         "write a list of shapes, or the path of a Ground Truth output manifest")
            return Annotations(), (), ()
        shapes = []
        lines = []
        indexes = []
        for index, item in enumerate(value):
            shape = self.shape(item, path + (index,), labels)
            if shape is not None:
                shapes.append(shape)
                lines.append(self.front.line(path + (index,), 1))
                indexes.append(index)
        return Annotations(tuple(shapes)), tuple(lines), tuple(indexes)

    def shape(self, item, path: tuple, labels: tuple[str, ...]):
        if not isinstance(item, dict):
            self.problem(path, f"{item!r} is not a shape", "write e.g. '- {label: Flower, box: [x, y, w, h]}'")
            return None
        self.check_keys(item, path, ("label",) + SHAPE_KEYS)
        label = self.text(item, path + ("label",), required=True)
        if label and labels and label not in labels:
            self.problem(path + ("label",), f"label {label!r} is not in the bundle's labels",
                         "use one of: " + ", ".join(labels) + ", or add it to 'labels'")
        kinds = [key for key in SHAPE_KEYS if key in item]
        if len(kinds) > 1:
            self.problem(path, "has more than one shape (" + ", ".join(kinds) + ")", "give one shape per entry")
            return None
        if not kinds:
            return ImageLabel(label)
        kind = kinds[0]
        value = item[kind]
        if kind == "box":
            numbers = self.numbers(value, path + ("box",), 4, "[left, top, width, height] in pixels")
            if numbers is None:
                return None
            if numbers[2] <= 0 or numbers[3] <= 0:
                self.problem(path + ("box",), f"{value!r} has no area", "width and height must be above 0")
                return None
            return Box(label, *numbers)
        if kind == "point":
            numbers = self.numbers(value, path + ("point",), 2, "[x, y] in pixels")
            return None if numbers is None else Point(label, *numbers)
        minimum = 3 if kind == "polygon" else 2
        if not isinstance(value, list) or len(value) < minimum:
            self.problem(path + (kind,), f"a {kind} needs at least {minimum} points",
                         "write it as [[x, y], [x, y], ...] in pixels")
            return None
        points = [self.numbers(p, path + (kind, i), 2, "[x, y] in pixels") for i, p in enumerate(value)]
        if any(p is None for p in points):
            return None
        return (Polygon if kind == "polygon" else Polyline)(label, tuple(points))

    def manifest_annotations(self, value: str, path: tuple, image: Path | None,
                             labels: tuple[str, ...]) -> Annotations:
        manifest = (self.config.root / value).resolve()
        if not manifest.is_relative_to(self.config.root):
            self.problem(path, f"{value!r} is outside the project", "copy the manifest into the project")
            return Annotations()
        if not manifest.is_file():
            self.problem(path, f"manifest not found: {value}", "check the path; it is relative to the project folder")
            return Annotations()
        if manifest not in self.manifests:
            try:
                entries = read_manifest(manifest, self.config.relative(manifest))
            except ManifestError as error:
                self.problems.append(error.problem)
                self.manifests[manifest] = None   # reported once; its users are not reported again
                return Annotations()
            if not entries:
                self.problem(path, f"{value} contains no labeled images", "export the job's output manifest again")
                self.manifests[manifest] = None
                return Annotations()
            self.manifests[manifest] = {entry.file_name: entry for entry in entries}
        if image is None or self.manifests[manifest] is None:
            return Annotations()
        entry = self.manifests[manifest].get(image.name)
        if entry is None:
            self.problem(path, f"{value} has no line for {image.name}",
                         "label that image in the job, or write the annotations inline")
            return Annotations()
        for label in entry.annotations.labels():
            if labels and label not in labels and label != "BACKGROUND":
                self.problem(path, f"{value} line {entry.line} uses label {label!r}, which is not in the bundle's labels",
                             "add it to 'labels' or relabel the image")
                break
        return entry.annotations

    def animation(self, entry: dict, path: tuple, example_id: str) -> Animation | None:
        self.check_keys(entry, path, ANIMATION_KEYS)
        frames = entry["animation"]
        if not isinstance(frames, list) or len(frames) < 2 or not all(isinstance(f, str) for f in frames):
            self.problem(path + ("animation",), f"{frames!r} is not a list of two or more example ids",
                         "write animation: [good-id, bad-id]")
            return None
        frame_ms = entry.get("frame_ms")
        if frame_ms is not None and (not isinstance(frame_ms, int) or isinstance(frame_ms, bool)
                                     or not 20 <= frame_ms <= 60_000):
            self.problem(path + ("frame_ms",), f"{frame_ms!r} is not a frame time from 20 to 60000",
                         "give the time each frame shows, in milliseconds")
            frame_ms = None
        format_name = entry.get("format")
        if format_name is not None and format_name not in ("gif", "webp"):
            self.problem(path + ("format",), f"unknown format {format_name!r}", "use 'gif' or 'webp'")
            format_name = None
        caption = self.text(entry, path + ("caption",))
        alt = self.text(entry, path + ("alt",), default=caption)
        return Animation(example_id, tuple(frames), frame_ms, format_name, self.verdict(entry, path),
                         caption, alt or example_id, self.front.line(path, 1), index=path[1])

    def check_animation_frames(self, examples: dict[str, Example | Animation]) -> None:
        for example in examples.values():
            if not isinstance(example, Animation):
                continue
            for position, frame in enumerate(example.frames):
                target = examples.get(frame)
                path = ("examples", example.index, "animation", position)
                if target is None and frame in self.declared_ids:
                    continue
                if target is None:
                    self.problem(path, f"unknown example id {frame!r}",
                                 "use the id of a still example: " + ", ".join(_still_ids(examples)))
                elif isinstance(target, Animation):
                    self.problem(path, f"{frame!r} is an animation", "an animation's frames must be still examples")

    def check_placements(self, bundle: Bundle) -> None:
        for placement in bundle.placements:
            if len(placement.ids) > 2 or not all(placement.ids):
                self.problems.append(Problem(self.display, placement.line, None,
                                             f"invalid placement [[{' | '.join(placement.ids)}]]",
                                             "write [[id]] for one example or [[good-id | bad-id]] for a pair"))
                continue
            for example_id in placement.ids:
                if example_id not in bundle.examples and example_id not in self.declared_ids:
                    known = ", ".join(bundle.examples) or "none defined"
                    self.problems.append(Problem(self.display, placement.line, None,
                                                 f"unknown example id {example_id!r} in [[...]]",
                                                 f"use an id from the front matter ({known})"))


def _still_ids(examples: dict) -> list[str]:
    return [key for key, value in examples.items() if isinstance(value, Example)]


def _split_body(body: str, body_line: int) -> tuple[str, str, int]:
    lines = body.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.strip() == FULL_MARKER:
            return "".join(lines[:index]), "".join(lines[index + 1:]), body_line + index + 1
    return body, "", body_line + len(lines)


def find_placements(bundle: Bundle) -> list[Placement]:
    """Find the `[[id]]` and `[[good-id | bad-id]]` lines in both sections of the body."""
    parser = make_parser()
    placements = []
    for section, text, first in (("short", bundle.short_markdown, bundle.short_line),
                                 ("full", bundle.full_markdown, bundle.full_line)):
        for ids, offset in markdown.find_placements(parser, text):
            placements.append(Placement(ids, section, first + offset))
    return placements


def _key_name(path: tuple) -> str | None:
    if not path:
        return None
    name = ""
    for part in path:
        if isinstance(part, int):
            name += f"[{part}]"
        elif name:
            name += f".{part}"
        else:
            name = str(part)
    return name
