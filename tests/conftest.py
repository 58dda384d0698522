"""Shared fixtures: projects built from a dict, on copies of real photos."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_PROJECT = REPO / "example-project"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PHOTOS = EXAMPLE_PROJECT / "images"

FLOWER_BOX = [169, 85, 277, 274]   # the dahlia in sklearn_flower.jpg (640 x 427), from the example manifest


def bundle_text(front: dict | str, body: str = "Short.\n\n[[good]]\n\n<!-- full -->\nFull text.\n") -> str:
    if isinstance(front, dict):
        front = yaml.safe_dump(front, sort_keys=False, allow_unicode=True)
    return f"---\n{front}---\n{body}"


def default_front(**changes) -> dict:
    front = {
        "title": "Box the flowers",
        "task": "bounding-box",
        "labels": ["Flower"],
        "header": "Draw a box around each flower.",
        "examples": [
            {"id": "good", "image": "images/sklearn_flower.jpg", "verdict": "good", "caption": "Tight box.",
             "annotations": [{"label": "Flower", "box": FLOWER_BOX}]},
            {"id": "bad", "image": "images/sklearn_flower.jpg", "verdict": "bad", "caption": "Loose box.",
             "annotations": [{"label": "Flower", "box": [100, 40, 400, 370]}]},
        ],
    }
    front.update(changes)
    return front


@pytest.fixture
def make_project(tmp_path):
    """Return a function that writes a project and returns its folder.

    `bundles` maps a bundle name to its full text (see bundle_text). `config` is the
    text of gtdocs.toml. `images` lists photo file names copied from the example project.
    """

    def make(bundles: dict[str, str] | None = None, config: str = 'title = "Test"\n',
             images: tuple[str, ...] = ("sklearn_flower.jpg", "pillow_flower.jpg"),
             name: str = "project") -> Path:
        root = tmp_path / name
        (root / "bundles").mkdir(parents=True)
        (root / "images").mkdir()
        (root / "gtdocs.toml").write_text(config, encoding="utf-8")
        for image in images:
            shutil.copyfile(PHOTOS / image, root / "images" / image)
        if bundles is None:
            bundles = {"flowers": bundle_text(default_front(), "Short.\n\n[[good | bad]]\n\n<!-- full -->\nFull.\n")}
        for bundle_name, text in bundles.items():
            (root / "bundles" / f"{bundle_name}.md").write_text(text, encoding="utf-8")
        return root

    return make


@pytest.fixture
def example_copy(tmp_path) -> Path:
    """A copy of example-project, without any site or cache it may have."""
    target = tmp_path / "example"
    shutil.copytree(EXAMPLE_PROJECT, target, ignore=shutil.ignore_patterns("site", ".gtdocs-cache"))
    return target
