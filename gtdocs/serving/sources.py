"""Find the bundles that a set of changed files affects, from the files each bundle was built from."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from gtdocs.annotations import Mask
from gtdocs.config import CONFIG_NAME, ProjectConfig
from gtdocs.source import Bundle, Example

ALL_BUNDLES = None   # the value of SourceMap.affected() that means "rebuild every bundle"


def bundle_sources(bundle: Bundle) -> set[Path]:
    """Return every file a bundle reads: its Markdown, images, manifests and masks."""
    files = {bundle.path.resolve(), *bundle.manifests}
    if bundle.task_image is not None:
        files.add(bundle.task_image)
    for example in bundle.examples.values():
        if isinstance(example, Example):
            files.add(example.image)
            files.update(shape.path for shape in example.annotations.shapes if isinstance(shape, Mask))
    return files


def is_bundle_file(config: ProjectConfig, path: Path) -> bool:
    """Return whether `path` is where a bundle's Markdown is read from (see source.bundle_files)."""
    return path.parent == config.bundles_dir and path.suffix == ".md" and not path.name.startswith(".")


class SourceMap:
    """The files each bundle was built from, updated after every successful build."""

    def __init__(self) -> None:
        self.files: dict[str, set[Path]] = {}

    def update(self, bundles: Iterable[Bundle], complete: bool) -> None:
        """Record the sources of `bundles`, which are all the project's bundles if `complete` is true."""
        if complete:
            self.files.clear()
        for bundle in bundles:
            self.files[bundle.name] = bundle_sources(bundle)

    def is_known(self, path: Path) -> bool:
        return any(path in files for files in self.files.values())

    def affected(self, config: ProjectConfig, paths: Iterable[Path], last_build_failed: bool) -> set[str] | None:
        """Return the names of the bundles to rebuild for `paths`, or ALL_BUNDLES.

        A bundle file affects its bundle, an image or manifest the bundles that read it,
        and gtdocs.toml or a theme file every bundle. After a failed build any change
        rebuilds everything, because the files of a bundle that failed are not known.
        `paths` must not include editor files or files the build writes (see
        PreviewServer.is_skipped), since after a failed build they would rebuild too.
        """
        names: set[str] = set()
        for path in paths:
            if self._affects_all(config, path):
                return ALL_BUNDLES
            if is_bundle_file(config, path):
                names.add(path.stem)
                continue
            users = {name for name, files in self.files.items()
                     if any(file == path or file.is_relative_to(path) for file in files)}
            if not users and last_build_failed:
                return ALL_BUNDLES
            names.update(users)
        return names

    @staticmethod
    def _affects_all(config: ProjectConfig, path: Path) -> bool:
        if path == config.root / CONFIG_NAME or path.is_relative_to(config.theme_dir):
            return True
        # A deleted bundle drops out of the site's index page, which every bundle's build writes.
        if is_bundle_file(config, path) and not path.exists():
            return True
        # A moved or deleted folder that contains the bundles or the theme.
        return path != config.root and (config.bundles_dir.is_relative_to(path) or config.theme_dir.is_relative_to(path))
