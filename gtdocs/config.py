"""Load and validate `gtdocs.toml`, the project's settings.

Every setting is declared once in a schema below. An unknown key, a wrong type or an
out-of-range value is a Problem that names the key, the value and the fix.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from gtdocs.errors import Problem, raise_if_any

CONFIG_NAME = "gtdocs.toml"


@dataclass(frozen=True)
class Setting:
    """One key of a settings table: its type(s), default, and an optional value check.

    `check` returns an error message for a bad value, or None.
    """

    types: tuple[type, ...]
    default: Any
    help: str
    check: Callable[[Any], str | None] | None = None


def _positive(value) -> str | None:
    return None if value > 0 else "must be greater than 0"


def _between(low: float, high: float) -> Callable[[Any], str | None]:
    def check(value) -> str | None:
        return None if low <= value <= high else f"must be between {low} and {high}"
    return check


def _one_of(*choices: str) -> Callable[[Any], str | None]:
    def check(value) -> str | None:
        return None if value in choices else "must be one of: " + ", ".join(choices)
    return check


def _hex_color(value: str) -> str | None:
    digits = value[1:] if value.startswith("#") else ""
    if len(digits) == 6 and all(c in "0123456789abcdefABCDEF" for c in digits):
        return None
    return "must be a colour written as #rrggbb"


def _densities(value: list) -> str | None:
    if value and all(isinstance(d, int) and 1 <= d <= 4 for d in value):
        return None
    return "must be a non-empty list of whole numbers from 1 to 4"


# Pillow refuses to open an image of more than twice Image.MAX_IMAGE_PIXELS (89,478,485 in
# Pillow 10 to 13) pixels, and gtdocs never lowers that guard, so a larger max_pixels would have
# no effect. Kept here as a number, because importing Pillow would slow every command.
PILLOW_BOMB_LIMIT = 2 * 89_478_485


TOP_LEVEL = {
    "title": Setting((str,), "", "the project's title, shown on the site's front page"),
    "bundles": Setting((str,), "bundles", "folder of bundle Markdown files"),
    "output": Setting((str,), "site", "folder the build writes"),
    "cache": Setting((str,), ".gtdocs-cache", "folder of rendered images kept between builds"),
    "theme": Setting((str,), "theme", "folder of templates that override the default theme's"),
}

RENDER = {
    "short_width": Setting((int,), 300, "CSS pixel width of an image in the short instructions", _positive),
    "full_width": Setting((int,), 800, "CSS pixel width of an image in the full instructions", _positive),
    "densities": Setting((list,), [1, 2], "pixel densities rendered for each image (2 is for high-density screens)", _densities),
    "jpeg_quality": Setting((int,), 85, "JPEG quality, 1 to 95", _between(1, 95)),
    "background": Setting((str,), "#ffffff", "colour that transparent pixels are composited on", _hex_color),
    "max_pixels": Setting((int,), 50_000_000, "largest source image accepted, in pixels",
                          _between(1, PILLOW_BOMB_LIMIT)),
    "animation_format": Setting((str,), "gif", "file format of animations", _one_of("gif", "webp")),
    "frame_ms": Setting((int,), 1200, "default time each animation frame shows, in milliseconds", _positive),
    "mask_opacity": Setting((float, int), 0.5, "opacity of segmentation masks, 0 to 1", _between(0, 1)),
    "workers": Setting((int,), 0, "processes that render images; 0 uses every core", _between(0, 256)),
}

PUBLISH = {
    "bucket": Setting((str,), "", "S3 bucket name"),
    "prefix": Setting((str,), "", "key prefix under which each bundle is published"),
    "region": Setting((str,), "", "the bucket's AWS region"),
    "profile": Setting((str,), "", "AWS profile name from the shared credentials file"),
    "endpoint_url": Setting((str,), "", "S3 API endpoint for S3-compatible stores and tests"),
    "access": Setting((str,), "public-read", "how workers read the images", _one_of("public-read", "private")),
}


@dataclass(frozen=True)
class RenderSettings:
    short_width: int = 300
    full_width: int = 800
    densities: tuple[int, ...] = (1, 2)
    jpeg_quality: int = 85
    background: str = "#ffffff"
    max_pixels: int = 50_000_000
    animation_format: str = "gif"
    frame_ms: int = 1200
    mask_opacity: float = 0.5
    workers: int = 0


@dataclass(frozen=True)
class PublishSettings:
    bucket: str = ""
    prefix: str = ""
    region: str = ""
    profile: str = ""
    endpoint_url: str = ""
    access: str = "public-read"


@dataclass(frozen=True)
class ProjectConfig:
    root: Path
    title: str
    bundles_dir: Path
    output_dir: Path
    cache_dir: Path
    theme_dir: Path
    render: RenderSettings = field(default_factory=RenderSettings)
    publish: PublishSettings = field(default_factory=PublishSettings)
    # The [check] table is validated by the check stage, which owns its rules.
    check: dict = field(default_factory=dict)

    def relative(self, path: Path) -> str:
        """Return `path` as shown in messages: relative to the project, with forward slashes."""
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def inside(self, path: Path) -> bool:
        """Return whether `path` (after resolving links) is inside the project."""
        return path.resolve().is_relative_to(self.root)


def read_table(data: dict, schema: dict[str, Setting], prefix: str, file: str,
               problems: list[Problem]) -> dict:
    """Check a table against its schema and return every key's value, defaults filled in.

    Problems go to `problems`; a bad value falls back to its default so that
    the rest of the project can still be checked.
    """
    values = {key: setting.default for key, setting in schema.items()}
    for key, value in data.items():
        name = f"{prefix}{key}"
        setting = schema.get(key)
        if setting is None:
            problems.append(Problem(file, None, name, "unknown setting",
                                    "known settings here: " + ", ".join(schema)))
            continue
        if isinstance(value, bool) or not isinstance(value, setting.types):
            expected = " or ".join(_TYPE_NAMES[t] for t in setting.types)
            problems.append(Problem(file, None, name, f"{value!r} is not {expected}",
                                    f"set it to {setting.help}"))
            continue
        message = setting.check(value) if setting.check else None
        if message:
            problems.append(Problem(file, None, name, f"{value!r} {message}", f"set it to {setting.help}"))
            continue
        values[key] = value
    return values


_TYPE_NAMES = {str: "a string", int: "a whole number", float: "a number", list: "a list", dict: "a table"}


def find_project(path: Path) -> Path:
    """Return the project folder: `path` itself or the nearest parent holding gtdocs.toml."""
    start = path.resolve()
    if not start.exists():
        raise_if_any([Problem(str(path), None, None, "folder not found",
                              "check the path, or create a project there with `gtdocs new PATH`")])
    for folder in (start, *start.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise_if_any([Problem(str(path), None, None, f"no {CONFIG_NAME} found here or in any parent folder",
                          "run gtdocs in a project folder, or create one with `gtdocs new PATH`")])
    raise AssertionError("unreachable")


def load_config(project: Path, output: Path | None = None) -> ProjectConfig:
    """Read and validate `project/gtdocs.toml`; raise InputError listing every problem."""
    root = find_project(project)
    path = root / CONFIG_NAME
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as error:
        raise_if_any([Problem(CONFIG_NAME, None, None, f"is not UTF-8 text ({error.reason})",
                              "save the file as UTF-8")])
    except tomllib.TOMLDecodeError as error:
        raise_if_any([Problem(CONFIG_NAME, _toml_line(error), None, f"invalid TOML: {error}",
                              "fix the syntax; see https://toml.io")])
    except OSError as error:
        raise_if_any([Problem(CONFIG_NAME, None, None, f"cannot be read: {error.strerror}",
                              "check the file's permissions")])

    problems: list[Problem] = []
    tables = {"render": RENDER, "publish": PUBLISH}
    top = {key: value for key, value in data.items() if key not in tables and key != "check"}
    values = read_table(top, TOP_LEVEL, "", CONFIG_NAME, problems)
    sections = {}
    for name, schema in tables.items():
        table = data.get(name, {})
        if not isinstance(table, dict):
            problems.append(Problem(CONFIG_NAME, None, name, "is not a table", f"write it as [{name}]"))
            table = {}
        sections[name] = read_table(table, schema, f"{name}.", CONFIG_NAME, problems)
    check = data.get("check", {})
    if not isinstance(check, dict):
        problems.append(Problem(CONFIG_NAME, None, "check", "is not a table", "write it as [check]"))
        check = {}

    folders = {}
    for key in ("bundles", "output", "cache", "theme"):
        folders[key] = _project_folder(root, values[key], key, problems)
    raise_if_any(problems)

    render_values = dict(sections["render"])
    render_values["densities"] = tuple(sorted(set(render_values["densities"])))
    render_values["mask_opacity"] = float(render_values["mask_opacity"])
    if output is not None:
        folders["output"] = Path(os.path.abspath(output))
    return ProjectConfig(
        root=root,
        title=values["title"] or root.name,
        bundles_dir=folders["bundles"],
        output_dir=folders["output"],
        cache_dir=folders["cache"],
        theme_dir=folders["theme"],
        render=RenderSettings(**render_values),
        publish=PublishSettings(**sections["publish"]),
        check=check,
    )


def _project_folder(root: Path, value: str, key: str, problems: list[Problem]) -> Path:
    folder = (root / value).resolve()
    if not folder.is_relative_to(root) or folder == root and key in ("output", "cache"):
        problems.append(Problem(CONFIG_NAME, None, key, f"{value!r} is not a folder inside the project",
                                "use a relative path such as " + repr(TOP_LEVEL[key].default)))
    return folder


def _toml_line(error: tomllib.TOMLDecodeError) -> int | None:
    # tomllib puts "(at line N, column M)" in the message; Python 3.14 adds .lineno.
    line = getattr(error, "lineno", None)
    if line is None and "at line " in str(error):
        try:
            line = int(str(error).split("at line ")[1].split(",")[0])
        except ValueError:
            line = None
    return line
