"""End-to-end builds: the site a build writes, read back through parsers."""

from __future__ import annotations

import hashlib
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from gtdocs.build import build
from gtdocs.cli import main

from conftest import bundle_text, default_front


class Elements(HTMLParser):
    """Collects every start tag with its attributes, and the text inside given tags."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def all(self, tag: str) -> list[dict]:
        return [attrs for name, attrs in self.tags if name == tag]


@pytest.fixture(scope="module")
def example_site(tmp_path_factory):
    """One cold build of the example project, shared by the tests that only read it."""
    import shutil
    from conftest import EXAMPLE_PROJECT
    root = tmp_path_factory.mktemp("example") / "project"
    shutil.copytree(EXAMPLE_PROJECT, root, ignore=shutil.ignore_patterns("site", ".gtdocs-cache"))
    result = build(root)
    return root, result


def test_example_project_writes_every_file(example_site):
    root, result = example_site
    assert [item.bundle.name for item in result.bundles] == ["flowers", "photo-subject"]
    for name in ("flowers", "photo-subject"):
        folder = root / "site" / name
        for file in ("index.html", "short.html", "full.html", "template.liquid.html", "bundle.json"):
            assert (folder / file).is_file(), f"{name}/{file} missing"
        assert any((folder / "assets").iterdir())
    assert (root / "site/index.html").is_file()


def test_summary_counts_rendered_assets(example_site):
    _, result = example_site
    assert result.rendered == result.asset_count
    assert result.cached == 0
    assert result.summary().startswith(f"Built 2 bundles: {result.asset_count} assets ({result.asset_count} rendered, 0 cached) in ")


def test_second_build_renders_nothing(example_site):
    root, first = example_site
    second = build(root)
    assert second.rendered == 0
    assert second.cached == first.asset_count


def test_bundle_json_matches_files(example_site):
    root, _ = example_site
    folder = root / "site/flowers"
    manifest = json.loads((folder / "bundle.json").read_text(encoding="utf-8"))
    assert manifest["task"] == "bounding-box"
    assert manifest["fragments"]["short"]["words"] > 5
    assert manifest["assets"], "no assets listed"
    for asset in manifest["assets"]:
        data = (folder / asset["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == asset["sha256"]
        assert len(data) == asset["bytes"]
        with Image.open(folder / asset["path"]) as image:
            assert image.size == (asset["width"], asset["height"])
            assert Image.MIME[image.format] == asset["content_type"]
    listed = {asset["path"] for asset in manifest["assets"]}
    on_disk = {f"assets/{path.name}" for path in (folder / "assets").iterdir()}
    assert listed == on_disk


def test_short_fragment_shows_pair(example_site):
    root, _ = example_site
    html = (root / "site/flowers/short.html").read_text(encoding="utf-8")
    page = Elements(html)
    images = page.all("img")
    assert len(images) == 2
    assert images[0]["alt"].startswith("Good example: ")
    assert images[1]["alt"].startswith("Bad example: ")
    for image in images:
        assert image["src"].startswith("assets/")
        assert (root / "site/flowers" / image["src"]).is_file()
        assert " 2x" in image["srcset"]
        assert int(image["width"]) <= 300
    assert not page.all("script")
    assert page.all("style"), "fragment has no scoped CSS"
    assert "✗ Bad:" in "".join(page.text)


def test_full_fragment_has_animation(example_site):
    root, _ = example_site
    page = Elements((root / "site/flowers/full.html").read_text(encoding="utf-8"))
    sources = [image["src"] for image in page.all("img")]
    gifs = [src for src in sources if src.endswith(".gif")]
    assert len(gifs) == 1
    with Image.open(root / "site/flowers" / gifs[0]) as gif:
        assert gif.n_frames == 2
        assert gif.info["loop"] == 0
        assert gif.info["duration"] == 1200


def test_every_image_has_alt_text(example_site):
    root, _ = example_site
    for page_path in (root / "site").glob("*/*.html"):
        for image in Elements(page_path.read_text(encoding="utf-8")).all("img"):
            assert image.get("alt"), f"{page_path.name}: img without alt"


def test_template_has_one_crowd_element(example_site):
    root, _ = example_site
    html = (root / "site/flowers/template.liquid.html").read_text(encoding="utf-8")
    page = Elements(html)
    tags = [name for name, _ in page.tags]
    assert tags.count("crowd-form") == 1
    assert tags.count("crowd-bounding-box") == 1
    assert tags.count("short-instructions") == 1
    assert tags.count("full-instructions") == 1
    [element] = page.all("crowd-bounding-box")
    assert element["src"] == "{{ task.input.taskObject | grant_read_access }}"
    assert json.loads(element["labels"]) == ["Flower"]
    assert element["header"] == "Draw one tight box around each open flower."
    assert element["name"] == "annotatedResult"
    [full] = page.all("full-instructions")
    assert full["header"] == "Draw a box around each flower"


def test_classification_template_uses_categories(example_site):
    root, _ = example_site
    page = Elements((root / "site/photo-subject/template.liquid.html").read_text(encoding="utf-8"))
    [element] = page.all("crowd-image-classifier")
    assert json.loads(element["categories"]) == ["Cat", "Coffee", "Rocket", "Person"]


def test_preview_page_is_workers_view(example_site):
    root, _ = example_site
    page = Elements((root / "site/flowers/index.html").read_text(encoding="utf-8"))
    assert page.all("dialog"), "full instructions dialog missing"
    links = {attrs.get("href") for attrs in page.all("a")}
    assert {"short.html", "full.html", "template.liquid.html", "bundle.json"} <= links
    text = " ".join(page.text)
    assert "View full instructions" in text
    assert "Draw one tight box around each open flower." in text


def test_author_liquid_is_neutralised(make_project):
    front = default_front(header="Box {{ task.input.secret }} flowers", title="Title {% if x %}")
    front["examples"][0]["caption"] = "Caption {{ 7 * 7 }} <b>bold</b>"
    body = "Short {{ danger }} and {% raw %}.\n\n[[good | bad]]\n\n<!-- full -->\nFull `{{ code }}` <script>alert(1)</script>\n"
    root = make_project({"flowers": bundle_text(front, body)})
    build(root)
    template = (root / "site/flowers/template.liquid.html").read_text(encoding="utf-8")
    live = [part.split("}}")[0] for part in template.split("{{")[1:]]
    assert live == [" task.input.taskObject | grant_read_access "]
    assert "{%" not in template
    page = Elements(template)
    shown = " ".join(page.text)
    assert "Short {{ danger }} and {% raw %}." in shown
    assert "Caption {{ 7 * 7 }} <b>bold</b>" in shown
    assert "<script>alert(1)</script>" in shown
    assert not page.all("script")[1:], "author HTML became a script element"
    assert page.all("crowd-bounding-box")[0]["header"] == "Box {{ task.input.secret }} flowers"


def test_utf8_bundle_builds(make_project):
    front = default_front(title="花の周りに枠を描く", labels=["花"], header="Нарисуйте рамку")
    for example in front["examples"]:
        example["annotations"][0]["label"] = "花"
    body = "花ごとに枠を一つ描きます。\n\n[[good | bad]]\n"
    root = make_project({"花": bundle_text(front, body)})
    build(root)
    short = (root / "site/花/short.html").read_text(encoding="utf-8")
    assert "花ごとに枠を一つ描きます。" in short
    template = (root / "site/花/template.liquid.html").read_text(encoding="utf-8")
    assert json.loads(Elements(template).all("crowd-bounding-box")[0]["labels"]) == ["花"]


def test_failed_build_keeps_previous_site(make_project):
    root = make_project()
    build(root)
    before = (root / "site/flowers/short.html").read_text(encoding="utf-8")
    text = (root / "bundles/flowers.md").read_text(encoding="utf-8")
    (root / "bundles/flowers.md").write_text(text.replace("verdict: bad", "verdict: baad"), encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(root)])
    assert result.exit_code == 1
    assert (root / "site/flowers/short.html").read_text(encoding="utf-8") == before
    leftovers = [path.name for path in root.iterdir() if path.name.startswith(".site-build-")]
    assert leftovers == []


def test_output_option_sets_folder(make_project, tmp_path):
    root = make_project()
    result = CliRunner().invoke(main, ["build", str(root), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out/flowers/template.liquid.html").is_file()
    assert "Built 1 bundle: " in result.output


def _cli_error(root: Path) -> str:
    result = CliRunner().invoke(main, ["build", str(root)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.output


def test_cli_box_outside_image(make_project):
    front = default_front()
    front["examples"][0]["annotations"][0]["box"] = [600, 400, 100, 100]
    output = _cli_error(make_project({"flowers": bundle_text(front)}))
    assert "examples[0].annotations[0]: box [600, 400, 100, 100] is outside the 640 x 427 image" in output


def test_cli_crop_outside_image(make_project):
    front = default_front()
    front["examples"][0]["crop"] = [500, 300, 200, 200]
    output = _cli_error(make_project({"flowers": bundle_text(front)}))
    assert "examples[0].crop: crop [500, 300, 200, 200] is outside the 640 x 427 image" in output


def test_cli_unreadable_image(make_project):
    root = make_project()
    (root / "images/sklearn_flower.jpg").write_bytes(b"not an image at all")
    output = _cli_error(root)
    assert "bundles/flowers.md:" in output
    assert "images/sklearn_flower.jpg" in output


def test_cli_reports_all_problems(make_project):
    front = default_front()
    front["examples"][0]["annotations"][0]["box"] = [600, 400, 100, 100]
    front["examples"][1]["verdit"] = "bad"
    output = _cli_error(make_project({"flowers": bundle_text(front)}))
    assert len(output.strip().splitlines()) == 2


def test_cli_no_project(tmp_path):
    result = CliRunner().invoke(main, ["build", str(tmp_path)])
    assert result.exit_code == 1
    assert "no gtdocs.toml found" in result.output


def test_new_project_builds(tmp_path):
    runner = CliRunner()
    created = runner.invoke(main, ["new", str(tmp_path / "starter")])
    assert created.exit_code == 0, created.output
    assert (tmp_path / "starter/.gitignore").read_text().count("site/") == 1
    built = runner.invoke(main, ["build", str(tmp_path / "starter")])
    assert built.exit_code == 0, built.output
    short = Elements((tmp_path / "starter/site/flowers/short.html").read_text(encoding="utf-8"))
    assert len(short.all("img")) == 2
    again = runner.invoke(main, ["new", str(tmp_path / "starter")])
    assert again.exit_code == 1
    assert "already exists" in again.output


def test_unchanged_project_skips_build(make_project):
    root = make_project()
    runner = CliRunner()
    first = runner.invoke(main, ["build", str(root)])
    assert "(5 rendered, 0 cached)" in first.output
    second = runner.invoke(main, ["build", str(root)])
    assert second.exit_code == 0, second.output
    assert "(0 rendered, 5 cached)" in second.output
    assert "nothing changed since the last build" in second.output


def test_changed_input_rebuilds(make_project):
    root = make_project()
    runner = CliRunner()
    runner.invoke(main, ["build", str(root)])
    bundle = root / "bundles/flowers.md"
    bundle.write_text(bundle.read_text(encoding="utf-8").replace("Loose box.", "Too loose."), encoding="utf-8")
    edited = runner.invoke(main, ["build", str(root)])
    assert "nothing changed" not in edited.output
    assert "Too loose." in (root / "site/flowers/short.html").read_text(encoding="utf-8")

    asset = next((root / "site/flowers/assets").iterdir())
    asset.unlink()
    repaired = runner.invoke(main, ["build", str(root)])
    assert "nothing changed" not in repaired.output
    assert asset.is_file()

    Image.open(root / "images/sklearn_flower.jpg").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(
        root / "images/sklearn_flower.jpg")
    flipped = runner.invoke(main, ["build", str(root)])
    assert "(5 rendered, 0 cached)" in flipped.output


@pytest.mark.parametrize("change, expected", [
    ({"frames": ["good", "missing"]}, "examples[2].animation[1]: unknown example id 'missing'"),
    ({"frames": ["good", "flip"]}, "examples[2].animation[1]: 'flip' is an animation"),
    ({"image": "images/nope.jpg"}, "examples[0].image: image not found: images/nope.jpg"),
])
def test_cli_broken_animation_frame(make_project, change, expected):
    front = default_front()
    front["examples"].append({"id": "flip", "animation": change.get("frames", ["good", "bad"])})
    if "image" in change:
        front["examples"][0]["image"] = change["image"]
    body = "Short.\n\n[[good | bad]]\n\n<!-- full -->\n[[flip]]\n"
    output = _cli_error(make_project({"flowers": bundle_text(front, body)}))
    assert expected in output
    assert "internal error" not in output


def test_classification_preview_offers_choices(example_site):
    root, _ = example_site
    page = Elements((root / "site/photo-subject/index.html").read_text(encoding="utf-8"))
    choices = [attrs["value"] for attrs in page.all("input") if attrs.get("type") == "radio"]
    assert choices == ["Cat", "Coffee", "Rocket", "Person"]


def test_output_folder_not_ours_kept(make_project):
    root = make_project()
    (root / "docs/flowers").mkdir(parents=True)
    (root / "docs/flowers/notes.txt").write_text("precious", encoding="utf-8")
    (root / "gtdocs.toml").write_text('output = "docs"\n', encoding="utf-8")
    output = _cli_error(root)
    assert "its output folder" in output
    assert "was not written by gtdocs build" in output
    assert (root / "docs/flowers/notes.txt").read_text(encoding="utf-8") == "precious"


@pytest.mark.parametrize("target", [".", "..", "/"])
def test_output_containing_project_rejected(make_project, target):
    root = make_project()
    result = CliRunner().invoke(main, ["build", str(root), "-o", str((root / target).resolve())])
    assert result.exit_code == 1
    assert "contains the project" in result.output
    assert not (root / "flowers").exists()


def test_output_with_other_files_rejected(make_project, tmp_path):
    root = make_project()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine/index.html").write_text("my page", encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(root), "-o", str(tmp_path / "mine")])
    assert result.exit_code == 1
    assert "is not empty and was not written by gtdocs build" in result.output
    assert (tmp_path / "mine/index.html").read_text(encoding="utf-8") == "my page"


def test_interrupt_stops_workers(make_project):
    import signal
    import subprocess
    import sys
    import time

    front = default_front()
    front["examples"] = [
        {"id": f"e{index}", "image": "images/sklearn_flower.jpg", "verdict": "good",
         "crop": [index, index, 300, 200], "annotations": [{"label": "Flower", "box": [169, 85, 277, 274]}]}
        for index in range(60)
    ]
    body = "Short.\n\n" + "\n\n".join(f"[[e{index}]]" for index in range(60)) + "\n"
    root = make_project({"flowers": bundle_text(front, body)})
    process = subprocess.Popen([sys.executable, "-m", "gtdocs", "build", str(root)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list((root / ".gtdocs-cache").rglob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)   # to the main process only, as `kill -INT` does
    _, errors = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "Interrupted." in errors
    assert "Traceback" not in errors
    assert not (root / "site").exists()
    leftovers = [path.name for path in root.iterdir() if path.name.startswith(".site-build-")]
    assert leftovers == []


@pytest.mark.parametrize("template, expected", [
    ("<p>\n{{ nope }}</p>\n", "theme/short.html:2: template error: 'nope' is undefined"),
    ("{% if %}\n", "theme/short.html:1: template error:"),
])
def test_theme_error_names_template(make_project, template, expected):
    root = make_project()
    (root / "theme").mkdir()
    (root / "theme/short.html").write_text(template, encoding="utf-8")
    output = _cli_error(root)
    assert expected in output
    assert "internal error" not in output


def test_messages_index_written_positions(make_project):
    front = default_front()
    front["examples"].insert(1, {"id": "bad id", "image": "images/sklearn_flower.jpg"})
    front["examples"][2]["annotations"] = [{"label": "Flower", "box": [1, 2, 3]},
                                           {"label": "Flower", "box": [0, 0, 900, 10]}]
    front["examples"].append({"id": "flip", "animation": ["good", "missing"]})
    output = _cli_error(make_project({"flowers": bundle_text(front)}))
    assert "examples[3].animation[1]: unknown example id 'missing'" in output
    assert "examples[2].annotations[1]: box [0, 0, 900, 10] is outside" in output
    assert "examples[2].annotations[0].box:" in output


def test_build_rejects_unknown_check_setting(make_project):
    root = make_project(config='[check]\nfoo = 1\n')
    output = _cli_error(root)
    assert "gtdocs.toml: check.foo: unknown setting" in output
