"""Build the site: validate the whole project, render assets and HTML, then write atomically.

Nothing is written to the output folder until every bundle has validated and rendered.
Each bundle's folder is written beside the output under a temporary name and then
swapped in, so a failed or interrupted build leaves the previous site as it was.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from gtdocs import assets as asset_stage
from gtdocs import stamp
from gtdocs.annotations import Mask
from gtdocs.checking.settings import parse_settings as parse_check_settings
from gtdocs.config import ProjectConfig, load_config
from gtdocs.errors import Problem, raise_if_any
from gtdocs.render import (BundleRenderer, Fragments, make_environment, render_site_index, template_problem,
                           word_count)
from gtdocs.source import Animation, Bundle, read_project

log = logging.getLogger(__name__)

SITE_MARKER = ".gtdocs-site"   # marks an output folder as written by a build
PUBLISHED = "published"   # the subfolder of a bundle's site folder that `gtdocs publish` writes


@dataclass
class BundleResult:
    bundle: Bundle
    plan: asset_stage.BundlePlan
    fragments: Fragments
    folder: Path


@dataclass
class BuildResult:
    config: ProjectConfig
    bundles: list[BundleResult]
    rendered: int
    cached: int
    seconds: float
    warnings: list[Problem] = field(default_factory=list)

    @property
    def asset_count(self) -> int:
        return self.rendered + self.cached

    def summary(self) -> str:
        return stamp.summary_line(len(self.bundles), self.rendered, self.cached, self.seconds)


def plan_and_render(config: ProjectConfig, bundles: list[Bundle], problems: list[Problem] | None = None,
                    progress=None) -> tuple[list[asset_stage.BundlePlan], int, int]:
    """Plan every bundle's assets and render those not in the cache.

    Returns the plans and the counts of rendered and cached assets. Raises InputError
    listing `problems` found earlier together with every problem found here.
    """
    problems = problems if problems is not None else []
    planner = asset_stage.Planner(config)
    plans = [planner.plan_bundle(bundle, problems) for bundle in bundles]
    raise_if_any(problems)

    all_assets = {asset.key: asset for plan in plans for asset in plan.assets()}
    advance = progress(len(all_assets)) if progress else None
    rendered, cached, problems = asset_stage.render_assets(config, list(all_assets.values()), advance)
    raise_if_any(problems)
    return plans, rendered, cached


def build(project: Path, output: Path | None = None, only: set[str] | None = None,
          progress=None) -> BuildResult:
    """Build the project at `project` into its output folder.

    `only` limits the build to the named bundles (the live preview rebuilds just those).
    `progress(total)` is called before rendering and returns a callable that is called
    once per finished asset.
    """
    started = time.perf_counter()
    config = load_config(project, output)
    # gtdocs.toml is validated whole by every command, [check] included, so a typo shows at once.
    parse_check_settings(config.check)
    problems: list[Problem] = []
    bundles = read_project(config, only, problems)
    problems.extend(output_problems(config, bundles))
    plans, rendered, cached = plan_and_render(config, bundles, problems, progress)

    environment = make_environment(config)
    results = []
    warnings = []
    staging = _staging_folder(config.output_dir)
    try:
        try:
            for plan in plans:
                results.append(_write_bundle(config, plan, environment, staging))
                warnings.extend(_asset_warnings(plan))
            all_bundles = bundles if only is None else read_project(config, problems=[])
            site_index = render_site_index(environment, config, all_bundles)
        except jinja2.TemplateError as error:
            raise_if_any([template_problem(error, config)])
        (staging / "index.html").write_text(site_index, encoding="utf-8")
        _swap_in(staging, config.output_dir, [result.bundle.name for result in results])
        if only is None:
            _remove_stale_bundles(config.output_dir, {bundle.name for bundle in bundles})
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    for result in results:
        result.folder = config.output_dir / result.bundle.name
    outcome = BuildResult(config, results, rendered, cached, time.perf_counter() - started, warnings)
    if only is None:
        written = [path for result in results for path in _site_files(result.folder)]
        stamp.write_stamp(config, _files_read(bundles), written + [config.output_dir / "index.html"],
                          {"bundles": len(results), "assets": outcome.asset_count},
                          [warning.render() for warning in warnings])
    return outcome


def output_problems(config: ProjectConfig, bundles: list[Bundle]) -> list[Problem]:
    """Return why the build must not write where it would, because it would replace files it did not write.

    A build replaces `<output>/<bundle>/` whole, so that folder must be absent or one that a
    build wrote (it contains bundle.json), and the output must not be the project or a parent of it.
    """
    output = config.output_dir
    shown = str(output)
    fix = "choose an output folder of its own with -o or the `output` setting"
    if config.root.is_relative_to(output):
        return [Problem(shown, None, None, "contains the project, so a build could replace its sources", fix)]
    if output.exists() and not output.is_dir():
        return [Problem(shown, None, None, "is a file, not a folder", fix)]
    problems = []
    if output.is_dir() and any(output.iterdir()) and not _is_site(output):
        problems.append(Problem(shown, None, None, "is not empty and was not written by gtdocs build", fix))
    for bundle in bundles:
        if bundle.name == "index.html":
            problems.append(Problem(bundle.display_path, None, None, "is named like the site's front page",
                                    "rename the bundle file"))
            continue
        target = output / bundle.name
        if (target.exists() or target.is_symlink()) and not (target.is_dir() and (target / "bundle.json").is_file()):
            problems.append(Problem(bundle.display_path, None, None,
                                    f"its output folder {target} exists and was not written by gtdocs build",
                                    "move that folder away, rename the bundle, or " + fix))
    return problems


def _is_site(output: Path) -> bool:
    if (output / SITE_MARKER).is_file():
        return True
    return any((folder / "bundle.json").is_file() for folder in output.iterdir() if folder.is_dir())


def _files_read(bundles: list[Bundle]) -> set[Path]:
    files = set()
    for bundle in bundles:
        files.add(bundle.path)
        files.update(bundle.manifests)
        if bundle.task_image is not None:
            files.add(bundle.task_image)
        for example in bundle.examples.values():
            if isinstance(example, Animation):
                continue
            files.add(example.image)
            files.update(shape.path for shape in example.annotations.shapes if isinstance(shape, Mask))
    return files


def _site_files(folder: Path) -> list[Path]:
    # published/ belongs to `gtdocs publish`, which may rewrite it between builds.
    return [path for path in folder.rglob("*") if path.is_file() and PUBLISHED not in path.relative_to(folder).parts]


def _write_bundle(config: ProjectConfig, plan: asset_stage.BundlePlan, environment, staging: Path) -> BundleResult:
    bundle = plan.bundle
    folder = staging / bundle.name
    (folder / "assets").mkdir(parents=True)
    renderer = BundleRenderer(config, plan, environment)
    fragments = renderer.fragments()
    pages = {
        "short.html": fragments.short,
        "full.html": fragments.full,
        "index.html": renderer.index(fragments),
        "template.liquid.html": renderer.template(fragments),
    }
    for name, html in pages.items():
        (folder / name).write_text(html, encoding="utf-8")
    for asset in plan.assets():
        asset_stage.copy_asset(config, asset, folder / "assets")
    manifest = bundle_manifest(plan, fragments)
    (folder / "bundle.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return BundleResult(bundle, plan, fragments, folder)


def bundle_manifest(plan: asset_stage.BundlePlan, fragments: Fragments) -> dict:
    """Describe what was built for a bundle: `bundle.json`."""
    bundle = plan.bundle
    examples = []
    for example in bundle.examples.values():
        pictures = [picture for (example_id, _), picture in plan.pictures.items() if example_id == example.id]
        examples.append({
            "id": example.id,
            "kind": "animation" if isinstance(example, Animation) else "image",
            "verdict": example.verdict,
            "caption": example.caption,
            "alt": example.alt,
            "assets": sorted({asset.path for picture in pictures for asset in picture.by_density.values()}),
        })
    return {
        "bundle": bundle.name,
        "title": bundle.title,
        "task": bundle.task,
        "labels": list(bundle.labels),
        "header": bundle.header,
        "source": bundle.display_path,
        "assets": [
            {"path": asset.path, "sha256": asset.sha256, "bytes": asset.size, "content_type": asset.content_type,
             "width": asset.width, "height": asset.height}
            for asset in sorted(plan.assets(), key=lambda asset: asset.path)
        ],
        "examples": examples,
        "fragments": {
            "short": {"path": "short.html", "words": word_count(fragments.short), "bytes": len(fragments.short.encode())},
            "full": {"path": "full.html", "words": word_count(fragments.full), "bytes": len(fragments.full.encode())},
        },
    }


def _asset_warnings(plan: asset_stage.BundlePlan) -> list[Problem]:
    warnings = []
    seen = set()
    for (example_id, _), picture in plan.pictures.items():
        example = plan.bundle.examples[example_id]
        for asset in picture.by_density.values():
            for message in asset.warnings:
                if (example_id, message) not in seen:
                    seen.add((example_id, message))
                    warnings.append(Problem(plan.bundle.display_path, example.line, None,
                                            f"example {example_id!r}: {message}"))
    return warnings


def staging_prefix(output: Path) -> str:
    """Return the name prefix of the temporary folders that a build writes beside `output`."""
    return f".{output.name}-build-"


def _staging_folder(output: Path) -> Path:
    output.parent.mkdir(parents=True, exist_ok=True)
    # Beside the output, on the same file system, so that the swap is a rename.
    return Path(tempfile.mkdtemp(prefix=staging_prefix(output), dir=output.parent))


def _remove_stale_bundles(output: Path, names: set[str]) -> None:
    # Only folders that a build wrote (they hold bundle.json) are removed, never anything else.
    for folder in output.iterdir():
        if folder.is_dir() and folder.name not in names and (folder / "bundle.json").is_file():
            log.info("removing %s: its bundle no longer exists", folder)
            shutil.rmtree(folder)


def _swap_in(staging: Path, output: Path, names: list[str]) -> None:
    output.mkdir(parents=True, exist_ok=True)
    for name in names:
        target = output / name
        old = staging / f".old-{name}"
        if target.exists():
            # `gtdocs publish` writes published/ into the bundle's folder; a build keeps it.
            if (target / PUBLISHED).is_dir():
                os.replace(target / PUBLISHED, staging / name / PUBLISHED)
            os.replace(target, old)
        os.replace(staging / name, target)
    os.replace(staging / "index.html", output / "index.html")
    (output / SITE_MARKER).write_text("Written by gtdocs build; the build replaces this folder's bundle folders.\n",
                                      encoding="utf-8")
