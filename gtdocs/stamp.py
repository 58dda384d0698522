"""Skip a build when nothing it reads has changed since the last one.

After a full build, the stamp records the size and modification time of every file the
build read: gtdocs.toml, each bundle, image, manifest and mask, the theme, and gtdocs's own
code. It records the same for every file the build wrote, with the summary and warnings. The next
`gtdocs build` compares those with a stat of each file before it imports anything heavy,
so an unchanged project costs milliseconds instead of a full read, plan and render.

This module imports only the standard library and gtdocs.config, on purpose.
"""

from __future__ import annotations

import json
from pathlib import Path

import gtdocs
import gtdocs.themes
from gtdocs.config import CONFIG_NAME, ProjectConfig
from gtdocs.files import write_atomic

STAMP_NAME = "build-stamp.json"
STAMP_FORMAT = 1


def summary_line(bundles: int, rendered: int, cached: int, seconds: float) -> str:
    """Return the line that ends a build, such as `Built 2 bundles: 14 assets (14 rendered, 0 cached) in 1.9 s`."""
    return (f"Built {bundles} bundle{'s' if bundles != 1 else ''}: {rendered + cached} assets "
            f"({rendered} rendered, {cached} cached) in {seconds:.1f} s")


def _signature(path: Path) -> list[int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return [status.st_size, status.st_mtime_ns]


def _folder_files(folder: Path, pattern: str = "*") -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.rglob(pattern) if path.is_file() and "__pycache__" not in path.parts)


def _code_files() -> list[Path]:
    # gtdocs's own code and default theme: a changed renderer must rebuild.
    package = Path(gtdocs.__file__).parent
    # gtdocs.themes.__path__ rather than importlib.resources, whose import alone takes ~10 ms.
    theme = Path(gtdocs.themes.__path__[0]) / "default"
    return _folder_files(package, "*.py") + _folder_files(theme)


def _watched_files(config: ProjectConfig) -> list[Path]:
    """Return the files whose change may change the site, apart from those the bundles read."""
    bundles = sorted(config.bundles_dir.glob("*.md")) if config.bundles_dir.is_dir() else []
    return [config.root / CONFIG_NAME, *bundles, *_folder_files(config.theme_dir)]


def write_stamp(config: ProjectConfig, read_files: set[Path], written_files: list[Path],
                summary: dict, warnings: list[str]) -> None:
    """Record a successful full build; see the module's docstring."""
    files = sorted({*read_files, *_watched_files(config), *_code_files()})
    stamp = {
        "format": STAMP_FORMAT,
        "version": gtdocs.__version__,
        "output": str(config.output_dir),
        "bundles_listing": _listing(config),
        "inputs": {str(path): _signature(path) for path in files},
        "outputs": {str(path): _signature(path) for path in written_files},
        "summary": summary,
        "warnings": warnings,
    }
    write_atomic(config.cache_dir / STAMP_NAME, json.dumps(stamp).encode("utf-8"))


def remove_stamp(config: ProjectConfig) -> None:
    try:
        (config.cache_dir / STAMP_NAME).unlink()
    except FileNotFoundError:
        pass


def _listing(config: ProjectConfig) -> list[str]:
    # A new bundle file or theme override changes the site although no recorded file changed.
    return [str(path) for path in _watched_files(config)]


def unchanged_build(config: ProjectConfig) -> dict | None:
    """Return the last build's stamp if nothing it read or wrote has changed since, else None."""
    try:
        stamp = json.loads((config.cache_dir / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (stamp.get("format") != STAMP_FORMAT or stamp.get("version") != gtdocs.__version__
            or stamp.get("output") != str(config.output_dir)
            or stamp.get("bundles_listing") != _listing(config)):
        return None
    for files in (stamp["inputs"], stamp["outputs"]):
        for name, signature in files.items():
            if _signature(Path(name)) != signature:
                return None
    return stamp
