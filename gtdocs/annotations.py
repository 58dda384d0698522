"""Annotation shapes and the reader for Ground Truth output manifests.

Coordinates are pixels of the image as it is displayed, that is after its EXIF
orientation is applied, unless `Annotations.size` gives another size (see there).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from gtdocs.errors import Problem


@dataclass(frozen=True)
class Box:
    label: str
    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height


@dataclass(frozen=True)
class Polygon:
    """A closed outline; `points` are (x, y) pairs."""

    label: str
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Polyline:
    """An open line through `points`, such as a lane marking."""

    label: str
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Point:
    """A keypoint."""

    label: str
    x: float
    y: float


@dataclass(frozen=True)
class Mask:
    """A semantic-segmentation label image: a palette PNG inside the project and
    the colour of each label in it (`#rrggbb` to label name)."""

    path: Path
    colors: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ImageLabel:
    """A label for the whole image, as image classification produces."""

    label: str


Shape = Box | Polygon | Polyline | Point | Mask | ImageLabel


@dataclass(frozen=True)
class Annotations:
    """The annotations of one example image.

    `size` is the (width, height) the coordinates refer to. It is None for
    annotations written by the author, which always refer to the displayed
    (oriented) image. A Ground Truth manifest states the size it labelled, which
    can be the raw, unrotated size of a photo with an EXIF orientation. The image
    stage maps such coordinates onto the displayed image.
    """

    shapes: tuple[Shape, ...] = ()
    size: tuple[int, int] | None = None

    def labels(self) -> list[str]:
        found = []
        for shape in self.shapes:
            if isinstance(shape, Mask):
                found.extend(label for _, label in shape.colors)
            else:
                found.append(shape.label)
        return found


@dataclass
class ManifestLine:
    """One image's entry in a Ground Truth output manifest."""

    line: int
    source_ref: str
    annotations: Annotations
    task_type: str
    raw: dict = field(repr=False)

    @property
    def file_name(self) -> str:
        # source-ref is an S3 URI; real ones contain spaces and percent-escapes.
        return unquote(PurePosixPath(self.source_ref).name)


TASK_TYPES = {
    "groundtruth/object-detection": "bounding-box",
    "groundtruth/image-classification": "image-classification",
    "groundtruth/image-classification-multilabel": "image-classification",
    "groundtruth/semantic-segmentation": "semantic-segmentation",
    "groundtruth/label-verification": "label-verification",
}


class ManifestError(Exception):
    def __init__(self, problem: Problem):
        super().__init__(problem.render())
        self.problem = problem


def read_manifest(path: Path, display_path: str) -> list[ManifestLine]:
    """Read a Ground Truth output manifest (JSON Lines, one image a line).

    The label attribute name is the job author's choice, so it is found through the
    key that ends in `-metadata` and whose `type` names a known task.
    Raises ManifestError naming the file and line of the first broken entry.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise ManifestError(Problem(display_path, None, None,
                                    f"is not UTF-8 text ({error.reason} at byte {error.start})",
                                    "save the manifest as UTF-8")) from error
    except OSError as error:
        raise ManifestError(Problem(display_path, None, None, f"cannot be read: {error.strerror}",
                                    "check that the file exists and is readable")) from error

    entries = []
    for number, text_line in enumerate(text.splitlines(), start=1):
        if not text_line.strip():
            continue
        try:
            record = json.loads(text_line)
        except json.JSONDecodeError as error:
            raise ManifestError(Problem(display_path, number, None,
                                        f"invalid JSON: {error.msg} at column {error.colno}",
                                        "each line must be one JSON object, as Ground Truth writes it")) from error
        if not isinstance(record, dict):
            raise ManifestError(Problem(display_path, number, None, "is not a JSON object",
                                        "each line must be one JSON object, as Ground Truth writes it"))
        entries.append(_parse_record(record, number, display_path, path.parent))
    return entries


def _parse_record(record: dict, number: int, display_path: str, folder: Path) -> ManifestLine:
    def fail(message: str, fix: str, key: str | None = None) -> ManifestError:
        return ManifestError(Problem(display_path, number, key, message, fix))

    source_ref = record.get("source-ref")
    if not isinstance(source_ref, str) or not source_ref:
        raise fail("has no 'source-ref'", "each line needs the image's 'source-ref'", "source-ref")

    attribute, metadata = _find_label_attribute(record)
    if attribute is None:
        raise fail("has no '<label>-metadata' object with a known 'type'",
                   "known types: " + ", ".join(sorted(TASK_TYPES)))
    task_type = TASK_TYPES[metadata["type"]]
    class_map = metadata.get("class-map") or {}
    if not isinstance(class_map, dict):
        raise fail("'class-map' is not an object", "it maps class ids (as strings) to label names",
                   f"{attribute}-metadata")

    try:
        if task_type == "bounding-box":
            annotations = _read_boxes(record[attribute], class_map)
        elif task_type == "image-classification":
            annotations = _read_classes(record[attribute], metadata, class_map)
        elif task_type == "semantic-segmentation":
            annotations = _read_mask(record, attribute, metadata, folder)
        else:
            annotations = Annotations()
    except (KeyError, TypeError, ValueError) as error:
        raise fail(f"'{attribute}' is not a valid {metadata['type']} label ({error})",
                   "compare the line with the Ground Truth output format for this task type",
                   attribute) from error
    return ManifestLine(number, source_ref, annotations, task_type, record)


def _find_label_attribute(record: dict) -> tuple[str | None, dict]:
    for key, value in record.items():
        if key.endswith("-metadata") and isinstance(value, dict) and value.get("type") in TASK_TYPES:
            attribute = key[: -len("-metadata")]
            # Semantic segmentation names its attribute `<name>-ref` (a URI of the mask).
            if attribute in record:
                return attribute, value
    return None, {}


def _class_name(class_map: dict, class_id) -> str:
    # class-map keys are strings ("0") while class_id is an integer.
    return str(class_map.get(str(class_id), class_id))


def _read_boxes(label: dict, class_map: dict) -> Annotations:
    sizes = label.get("image_size") or []
    size = (int(sizes[0]["width"]), int(sizes[0]["height"])) if sizes else None
    shapes = tuple(
        Box(_class_name(class_map, item["class_id"]), float(item["left"]), float(item["top"]),
            float(item["width"]), float(item["height"]))
        for item in label["annotations"]
    )
    return Annotations(shapes, size)


def _read_classes(label, metadata: dict, class_map: dict) -> Annotations:
    if "class-name" in metadata:
        return Annotations((ImageLabel(str(metadata["class-name"])),))
    if "class-map" in metadata and isinstance(label, list):
        return Annotations(tuple(ImageLabel(_class_name(class_map, item)) for item in label))
    return Annotations((ImageLabel(_class_name(class_map, label)),))


def _read_mask(record: dict, attribute: str, metadata: dict, folder: Path) -> Annotations:
    reference = record[attribute]
    color_map = metadata["internal-color-map"]
    colors = tuple(
        (str(entry["hex-color"]).lower(), str(entry["class-name"]))
        for _, entry in sorted(color_map.items(), key=lambda item: int(item[0]))
    )
    mask_path = folder / unquote(PurePosixPath(reference).name)
    return Annotations((Mask(mask_path, colors),))
