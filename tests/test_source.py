"""The bundle format: what it accepts, and the message for each thing it rejects."""

from __future__ import annotations

import pytest

from gtdocs.annotations import Box, ImageLabel, Point, Polygon, Polyline
from gtdocs.source import read_project
from gtdocs.config import load_config
from gtdocs.errors import InputError
from gtdocs.source import Animation, Example

from conftest import FLOWER_BOX, bundle_text, default_front


def read(root):
    return read_project(load_config(root))


def problems_of(root) -> list[str]:
    with pytest.raises(InputError) as caught:
        read(root)
    return [problem.render() for problem in caught.value.problems]


def test_valid_bundle_parses(make_project):
    [bundle] = read(make_project())
    assert bundle.name == "flowers"
    assert bundle.task == "bounding-box"
    assert bundle.labels == ("Flower",)
    assert list(bundle.examples) == ["good", "bad"]
    good = bundle.examples["good"]
    assert isinstance(good, Example)
    assert good.verdict == "good"
    assert good.annotations.shapes == (Box("Flower", *map(float, FLOWER_BOX)),)
    assert bundle.short_markdown.strip().startswith("Short.")
    assert bundle.full_markdown.strip() == "Full."


def test_placements_found_with_lines(make_project):
    body = "Line one.\n[[good | bad]]\n\n```\n[[not-a-placement]]\n```\n<!-- full -->\n\n[[bad]]\n"
    root = make_project({"flowers": bundle_text(default_front(), body)})
    [bundle] = read(root)
    placed = [(p.ids, p.section, p.line) for p in bundle.placements]
    front_lines = (root / "bundles/flowers.md").read_text().splitlines()
    first_body_line = front_lines.index("---", 1) + 2
    assert placed == [
        (("good", "bad"), "short", first_body_line + 1),
        (("bad",), "full", first_body_line + 8),
    ]


def test_every_shape_kind_parses(make_project):
    front = default_front()
    front["examples"][0]["annotations"] = [
        {"label": "Flower", "box": [1, 2, 3, 4]},
        {"label": "Flower", "polygon": [[1, 1], [5, 1], [3, 4]]},
        {"label": "Flower", "polyline": [[0, 0], [10, 10]]},
        {"label": "Flower", "point": [7, 8]},
        {"label": "Flower"},
    ]
    [bundle] = read(make_project({"flowers": bundle_text(front)}))
    shapes = bundle.examples["good"].annotations.shapes
    assert [type(shape) for shape in shapes] == [Box, Polygon, Polyline, Point, ImageLabel]
    assert shapes[1].points == ((1.0, 1.0), (5.0, 1.0), (3.0, 4.0))


def test_manifest_annotations_match_file_name(example_copy):
    bundles = {bundle.name: bundle for bundle in read(example_copy)}
    tight = bundles["flowers"].examples["tight"]
    assert tight.annotations.size == (640, 427)
    assert [shape.left for shape in tight.annotations.shapes] == [169.0, 288.0]


def test_animation_parses(make_project):
    front = default_front()
    front["examples"].append({"id": "flip", "animation": ["good", "bad"], "frame_ms": 700})
    [bundle] = read(make_project({"flowers": bundle_text(front)}))
    flip = bundle.examples["flip"]
    assert isinstance(flip, Animation)
    assert flip.frames == ("good", "bad")
    assert flip.frame_ms == 700


def test_utf8_text_in_any_script(make_project):
    front = default_front(title="花の周りに枠を描く", header="Нарисуйте рамку вокруг цветка")
    front["examples"][0]["caption"] = "مربع ضيق حول الزهرة"
    [bundle] = read(make_project({"flowers": bundle_text(front, "短い説明。\n\n[[good]]\n")}))
    assert bundle.title == "花の周りに枠を描く"
    assert bundle.examples["good"].caption == "مربع ضيق حول الزهرة"


def _front_line(root, text: str) -> int:
    lines = (root / "bundles/flowers.md").read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if text in line)


def test_unknown_key_names_line_and_key(make_project):
    front = default_front()
    front["examples"][1]["verdit"] = "bad"
    root = make_project({"flowers": bundle_text(front)})
    [message] = problems_of(root)
    line = _front_line(root, "verdit:")
    assert message.startswith(f"bundles/flowers.md:{line}: examples[1].verdit: unknown key")
    assert "verdict" in message


def test_misspelt_verdict_rejected(make_project):
    front = default_front()
    front["examples"][1]["verdict"] = "baad"
    [message] = problems_of(make_project({"flowers": bundle_text(front)}))
    assert "examples[1].verdict: unknown verdict 'baad'" in message
    assert "use 'good' or 'bad'" in message


def test_invalid_yaml_names_line(make_project):
    text = "---\ntitle: Boxes\ntask: bounding-box\nlabels: [Flower\nheader: x\n---\nBody\n"
    [message] = problems_of(make_project({"flowers": text}))
    assert message.startswith("bundles/flowers.md:")
    assert "invalid YAML" in message


def test_missing_front_matter(make_project):
    [message] = problems_of(make_project({"flowers": "# Just Markdown\n"}))
    assert message.startswith("bundles/flowers.md:1: has no front matter")


def test_missing_image_named(make_project):
    front = default_front()
    front["examples"][0]["image"] = "images/nope.jpg"
    root = make_project({"flowers": bundle_text(front)})
    [message] = problems_of(root)
    assert f"bundles/flowers.md:{_front_line(root, 'nope.jpg')}: examples[0].image: image not found: images/nope.jpg" in message


def test_image_outside_project_rejected(make_project):
    front = default_front()
    front["examples"][0]["image"] = "../outside.jpg"
    [message] = problems_of(make_project({"flowers": bundle_text(front)}))
    assert "examples[0].image: '../outside.jpg' is outside the project" in message


def test_unknown_example_id_in_body(make_project):
    root = make_project({"flowers": bundle_text(default_front(), "Intro.\n\n[[good | missing]]\n")})
    [message] = problems_of(root)
    assert message.startswith(f"bundles/flowers.md:{_front_line(root, '[[good | missing]]')}: unknown example id 'missing'")
    assert "good, bad" in message


def test_label_not_in_labels(make_project):
    front = default_front()
    front["examples"][0]["annotations"][0]["label"] = "Flowr"
    [message] = problems_of(make_project({"flowers": bundle_text(front)}))
    assert "examples[0].annotations[0].label: label 'Flowr' is not in the bundle's labels" in message


def test_all_problems_reported_together(make_project):
    front = default_front(task="boxes")
    front["examples"][0]["verdict"] = "fine"
    front["examples"][1]["image"] = "images/none.png"
    messages = problems_of(make_project({"flowers": bundle_text(front)}))
    assert len(messages) == 3
    assert any("unknown task type 'boxes'" in m for m in messages)


def test_not_utf8_named(make_project):
    root = make_project()
    (root / "bundles/flowers.md").write_bytes(b"---\ntitle: caf\xe9\n---\n")
    [message] = problems_of(root)
    assert message.startswith("bundles/flowers.md: is not UTF-8 text")


def test_broken_manifest_names_line(make_project):
    root = make_project()
    (root / "labels").mkdir()
    (root / "labels/job.manifest").write_text('{"source-ref": "s3://b/sklearn_flower.jpg"}\n{broken\n')
    front = default_front()
    front["examples"][0]["annotations"] = "labels/job.manifest"
    [message] = problems_of(_rewrite(root, front))
    assert message.startswith("labels/job.manifest:1: has no '<label>-metadata' object")


def _rewrite(root, front):
    (root / "bundles/flowers.md").write_text(bundle_text(front), encoding="utf-8")
    return root


def test_manifest_invalid_json_line(make_project):
    root = make_project()
    (root / "labels").mkdir()
    good_line = ('{"source-ref":"s3://b/x.jpg","l":{"image_size":[{"width":1,"height":1,"depth":3}],"annotations":[]},'
                 '"l-metadata":{"type":"groundtruth/object-detection","class-map":{}}}')
    (root / "labels/job.manifest").write_text(good_line + "\n{broken\n")
    front = default_front()
    front["examples"][0]["annotations"] = "labels/job.manifest"
    [message] = problems_of(_rewrite(root, front))
    assert message.startswith("labels/job.manifest:2: invalid JSON")


def test_config_unknown_key(make_project):
    root = make_project(config='title = "T"\n[render]\nshort_widht = 300\n')
    with pytest.raises(InputError) as caught:
        load_config(root)
    [problem] = caught.value.problems
    assert problem.render().startswith("gtdocs.toml: render.short_widht: unknown setting")


def test_config_bad_value(make_project):
    root = make_project(config='[render]\njpeg_quality = 300\n')
    with pytest.raises(InputError) as caught:
        load_config(root)
    assert "render.jpeg_quality: 300 must be between 1 and 95" in caught.value.problems[0].render()


def test_alias_bomb_rejected(make_project):
    levels = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        previous = chr(ord("a") + level - 1)
        name = chr(ord("a") + level)
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    text = "---\n" + "\n".join(levels) + "\ntitle: T\n---\nBody\n"
    [message] = problems_of(make_project({"flowers": text}))
    assert "expands to more than 100,000 values" in message
    assert message.startswith("bundles/flowers.md:")


@pytest.mark.parametrize("depth", [60, 200_000])
def test_deep_nesting_rejected(make_project, depth):
    text = "---\ntitle: " + "[" * depth + "]" * depth + "\n---\nBody\n"
    [message] = problems_of(make_project({"flowers": text}))
    assert message.startswith("bundles/flowers.md:2: nested more than 50 levels deep")


@pytest.mark.parametrize("line", ["[[good | bad | good]]", "[[good |]]", "[[ ]]"])
def test_invalid_placement_rejected(make_project, line):
    root = make_project({"flowers": bundle_text(default_front(), f"Intro.\n\n{line}\n")})
    [message] = problems_of(root)
    assert message.startswith(f"bundles/flowers.md:{_front_line(root, line)}: invalid placement")


def test_second_full_marker_rejected(make_project):
    root = make_project({"flowers": bundle_text(default_front(), "A.\n<!-- full -->\nB.\n<!-- full -->\nC.\n")})
    [message] = problems_of(root)
    assert "a second <!-- full --> line" in message


def test_empty_manifest_rejected(make_project):
    root = make_project()
    (root / "labels").mkdir()
    (root / "labels/job.manifest").write_text("", encoding="utf-8")
    front = default_front()
    front["examples"][0]["annotations"] = "labels/job.manifest"
    [message] = problems_of(_rewrite(root, front))
    assert "labels/job.manifest contains no labeled images" in message


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_non_finite_crop_rejected(make_project, value):
    text = bundle_text(default_front()).replace("  verdict: good\n", f"  verdict: good\n  crop: [{value}, 0, 10, 10]\n", 1)
    [message] = problems_of(make_project({"flowers": text}))
    assert "examples[0].crop:" in message
    assert "is not a list of 4 numbers" in message


def test_max_pixels_beyond_pillow_rejected(make_project):
    from PIL import Image

    assert 2 * Image.MAX_IMAGE_PIXELS == 178_956_970
    root = make_project(config="[render]\nmax_pixels = 1000000000\n")
    with pytest.raises(InputError) as caught:
        load_config(root)
    assert "render.max_pixels: 1000000000 must be between 1 and 178956970" in caught.value.problems[0].render()
