"""`gtdocs check`: each rule fires on a weak bundle and stays silent on a good one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gtdocs.check import check_bundle, check_project, findings_as_problems
from gtdocs.checking.liquid import check_liquid
from gtdocs.checking.prose import detect_language, split_sentences
from gtdocs.cli import main
from gtdocs.config import load_config
from gtdocs.markdown import make_parser
from gtdocs.source import read_project
from gtdocs.starter import create_project

from conftest import FLOWER_BOX, FIXTURES, bundle_text, default_front

LOOSE_BOX = [100, 40, 400, 370]
SHORT = "Draw one box around each open flower.\nMake the box touch the petals.\n\n[[good | bad]]\n"
FULL = "## Buds\n\nDo not box closed buds, because they are not flowers yet.\n"
LONG_SENTENCE = ("When you see a flower that is partly hidden behind leaves or another flower and you are not sure "
                 "where its petals end, draw the box around the part you can see and leave out the hidden part, "
                 "even if you can guess its full shape and size well.")   # 49 words


def front(**changes) -> dict:
    """A bundle's front matter that every rule accepts."""
    data = default_front()
    good, bad = data["examples"]
    good.update(caption="The box touches the petals on every side.", alt="A dahlia inside a tight box.")
    bad.update(caption="The box leaves a wide gap around the flower.", alt="A dahlia inside a box far too big.")
    data.update(changes)
    return data


def example(example_id: str, verdict: str, box: list, **fields) -> dict:
    entry = {"id": example_id, "image": "images/sklearn_flower.jpg", "verdict": verdict,
             "caption": f"Example {example_id} shows a box drawn around the flower.",
             "alt": f"The dahlia, example {example_id}.", "annotations": [{"label": "Flower", "box": box}]}
    entry.update(fields)
    return entry


def text(short: str = SHORT, full: str = FULL, **changes) -> str:
    return bundle_text(front(**changes), f"{short}\n<!-- full -->\n{full}")


def rules_of(root: Path, render: bool = False) -> list[str]:
    """Return the rule ids found in a project; `render` also runs the rules on rendered output."""
    config = load_config(root)
    bundles = read_project(config)
    if render:
        findings = check_project(config, bundles)
    else:
        findings = [finding for bundle in bundles for finding in check_bundle(config, bundle)]
    return [finding.rule for finding in findings]


def classification(labels: list[str], examples: list[dict]) -> str:
    data = front(task="image-classification", labels=labels, examples=examples)
    return bundle_text(data, SHORT + "\n<!-- full -->\n" + FULL)


def cat(example_id: str, verdict: str, label: str, caption: str) -> dict:
    return {"id": example_id, "image": "images/sklearn_flower.jpg", "verdict": verdict, "caption": caption,
            "alt": "A dahlia.", "annotations": [{"label": label}]}


WORDY = "Look at the whole photo before you draw anything. " * 12
HARD = ("Annotators should meticulously delineate the perimeter of every individually distinguishable "
        "botanical specimen, ensuring comprehensive encapsulation of peripheral petal structures.")

# rule id -> bundle text on which the rule must fire
WEAK = {
    "S101": text(short=WORDY + "\n\n[[good | bad]]\n"),
    "S102": text(short="Draw one box around each open flower and make sure that the box touches the petals on "
                       "every side without any gap at all.\n\n[[good | bad]]\n"),
    "S103": text(short=HARD + "\n\n[[good | bad]]\n"),
    "S104": text(short="Draw one box around each open flower.\n\n[[good]]\n", full="[[bad]]\n"),
    "S105": text(short=WORDY[:400] + "\n\n[[good | bad]]\n"),
    "F101": text(full="Draw a box around each open flower.\n"),
    "F102": text(full="[[good | bad]]\n\n" * 4),
    "F103": text(examples=[front()["examples"][0], {**front()["examples"][1], "caption": "Wrong box."}]),
    "F104": text(labels=["Flower", "Leaf"]),
    "F105": text(labels=["Flower", "Bud"], examples=[
        front()["examples"][0],
        example("bad", "bad", LOOSE_BOX, caption="The bud is boxed, but buds are not open flowers.",
                annotations=[{"label": "Bud", "box": LOOSE_BOX}])]),
    "T101": text(full=LONG_SENTENCE + "\n"),
    "E101": text(examples=[front()["examples"][0], example("bad", "bad", [170, 86, 276, 273])]),
    "E102": text(examples=[example("good", "good", [300, 200, 20, 20]), front()["examples"][1]]),
    "E103": text(examples=front()["examples"] + [example("spare", "good", FLOWER_BOX)]),
    "P101": text(labels=["Flower"] + [f"Label {n}" for n in range(10)]),
    "P102": classification(["Flower"], [cat("good", "good", "Flower", "A dahlia is a Flower."),
                                        cat("bad", "bad", "Flower", "This dahlia is cut off, so it is not a Flower.")]),
    "P104": text(examples=[{**front()["examples"][0], "caption": "", "alt": None}, front()["examples"][1]]),
}
# An example without `alt` and without a caption: drop the `alt: null` line that the YAML dump writes.
WEAK["P104"] = WEAK["P104"].replace("  alt: null\n", "")


@pytest.mark.parametrize("rule", sorted(WEAK))
def test_rule_fires_on_weak_bundle(make_project, rule):
    root = make_project({"flowers": WEAK[rule]})
    assert rule in rules_of(root)


def test_good_bundle_has_no_findings(make_project):
    root = make_project({"flowers": text()})
    assert rules_of(root, render=True) == []


def test_good_classification_is_silent(make_project):
    root = make_project({"photos": classification(
        ["Flower", "Cat"], [cat("good", "good", "Flower", "A dahlia in bloom is a Flower."),
                            cat("bad", "bad", "Cat", "There is no cat in the photo. Choose Flower.")])})
    assert rules_of(root) == ["F105"]   # Cat is shown only as a wrong answer


def test_readability_skips_other_languages(make_project):
    german = ("Zeichnen Sie einen Rahmen um jede offene Blume, die Sie auf dem Foto sehen können. Der Rahmen "
              "soll die äußeren Blütenblätter auf jeder Seite berühren, und er soll nicht mehr zeigen.")
    root = make_project({"flowers": text(short=german + "\n\n[[good | bad]]\n")})
    assert "S103" not in rules_of(root)


def test_language_detection():
    assert detect_language("Draw one box around each open flower and make it touch the petals.") == "en"
    assert detect_language("Dessinez un cadre autour de chaque fleur et touchez les pétales.") == "fr"
    assert detect_language("開いている花ごとに枠を一つ描いてください。") is None


def test_sentences_keep_abbreviations():
    sentences = [sentence for sentence, _ in split_sentences("Box small flowers, e.g. daisies. Skip buds.")]
    assert sentences == ["Box small flowers, e.g. daisies.", "Skip buds."]


def test_finding_names_source_line(make_project):
    root = make_project({"flowers": WEAK["T101"]})
    config = load_config(root)
    [finding] = check_bundle(config, read_project(config)[0])
    lines = (root / "bundles/flowers.md").read_text().splitlines()
    assert lines[finding.line - 1].startswith("When you see a flower")


def test_same_photo_different_boxes_pass(make_project):
    # The good/bad pair on one photo is the usual case; only the boxes must differ visibly.
    root = make_project({"flowers": text()})
    assert "E101" not in rules_of(root)


def test_small_object_message_suggests_crop(make_project):
    root = make_project({"flowers": WEAK["E102"]})
    config = load_config(root)
    [finding] = [f for f in check_bundle(config, read_project(config)[0]) if f.rule == "E102"]
    assert "4 x 4 px as shown 144 px wide" in finding.message
    assert "crop: [" in finding.fix


# -- rules on rendered output ---------------------------------------------------------

def test_inlined_size_over_limit(make_project):
    config = '[check.rules.P103]\nmax_kb = 10\n'
    root = make_project({"flowers": text()}, config=config)
    assert rules_of(root, render=True) == ["P103"]


def test_broken_liquid_in_theme(make_project):
    root = make_project({"flowers": text()})
    (root / "theme").mkdir()
    default = Path(__file__).resolve().parent.parent / "themes/default/template.liquid.html"
    # Jinja2 renders the theme first, so the Liquid for Ground Truth sits inside {% raw %}.
    broken = default.read_text() + "\n{% raw %}{% if task.input.hint %}<p>{{ task.input.hint }}</p>{% endraw %}\n"
    (root / "theme/template.liquid.html").write_text(broken)
    assert rules_of(root, render=True) == ["P105"]


LIQUID_CASES = {
    "{{ task.input.taskObject | grant_read_access }}": [],
    "{% for box in boxes %}{% capture id %}{{ box.id }}{% endcapture %}{% endfor %}": [],
    "{% raw %}{{ not parsed {% if %}{% endraw %}": [],
    "{%- if a -%}x{%- elsif b -%}y{%- else -%}z{%- endif -%}": [],
    "{{ task.input.taskObject": ["'{{' is not closed by '}}'"],
    "{% if a %}x": ["'{% if %}' is never closed by '{% endif %}'"],
    "{% for x in y %}{% endif %}{% endfor %}": ["'{% endif %}' closes '{% for %}' opened on line 1"],
    "{% elsif a %}": ["'{% elsif %}' is outside '{% if %}' or '{% unless %}'"],
    "{% frobnicate %}": ["unknown tag 'frobnicate'"],
    "{{ }}": ["empty output '{{ }}'"],
}


@pytest.mark.parametrize("template", list(LIQUID_CASES))
def test_liquid_tokenizer(template):
    assert [error.message for error in check_liquid(template)] == LIQUID_CASES[template]


@pytest.mark.parametrize("name", ["bounding-box.liquid.html", "image-classification.liquid.html"])
def test_real_templates_parse(name):
    assert check_liquid((FIXTURES / "crowd-templates" / name).read_text()) == []


# -- per-place directives and project settings ---------------------------------------

def test_directive_disables_next_block(make_project):
    short = ("<!-- gtdocs: disable S102 -->\nDraw one box around each open flower and make sure that the box "
             "touches the petals on every side without any gap at all.\n\n[[good | bad]]\n")
    root = make_project({"flowers": text(short=short)})
    assert rules_of(root) == []


def test_directive_renders_nothing():
    html = make_parser().render("<!-- gtdocs: disable S102 -->\nSome text.\n")
    assert html.strip() == "<p>Some text.</p>"


def test_front_matter_directive(make_project):
    bundle = WEAK["E103"].replace("- id: spare\n", "# gtdocs: disable E103\n- id: spare\n")
    assert "# gtdocs: disable E103" in bundle
    root = make_project({"flowers": bundle})
    assert rules_of(root) == []


def test_directive_unknown_rule(make_project):
    root = make_project({"flowers": text(full="<!-- gtdocs: disable S999 -->\n" + FULL)})
    assert rules_of(root) == ["C101"]


def test_config_raises_limit(make_project):
    config = '[check.rules.T101]\nmax = 60\n'
    root = make_project({"flowers": WEAK["T101"]}, config=config)
    assert rules_of(root) == []


def test_config_disables_rule(make_project):
    root = make_project({"flowers": WEAK["E103"]}, config='[check]\ndisable = ["E103"]\n')
    assert rules_of(root) == []


def test_config_severity_fails_check(make_project):
    root = make_project({"flowers": WEAK["F105"]}, config='[check.rules.F105]\nseverity = "error"\n')
    result = CliRunner().invoke(main, ["check", str(root)])
    assert result.exit_code == 1
    assert "error F105" in result.output


@pytest.mark.parametrize("config, key", [
    ('[check.rules.S999]\nmax = 3\n', "check.rules.S999"),
    ('[check.rules.S102]\nmaximum = 25\n', "check.rules.S102.maximum"),
    ('[check.rules.S102]\nmax = "25"\n', "check.rules.S102.max"),
    ('[check]\ndisable = ["S1O2"]\n', "check.disable[0]"),
    ('[check]\nignore = ["S102"]\n', "check.ignore"),
])
def test_bad_config_one_line_error(make_project, config, key):
    root = make_project({"flowers": text()}, config=config)
    result = CliRunner().invoke(main, ["check", str(root)])
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1
    assert key in result.output


# -- the command ----------------------------------------------------------------------

def test_example_project_passes_strict(example_copy):
    result = CliRunner().invoke(main, ["check", str(example_copy), "--strict", "--format", "json"])
    assert result.exit_code == 0
    assert [f for f in json.loads(result.output) if f["severity"] != "info"] == []


def test_long_sentence_fails_strict(example_copy):
    path = example_copy / "bundles/flowers.md"
    path.write_text(path.read_text().replace("## Buds\n", f"## Buds\n\n{LONG_SENTENCE}\n"))
    result = CliRunner().invoke(main, ["check", str(example_copy), "--strict", "--format", "json"])
    assert result.exit_code == 1
    assert [f["rule"] for f in json.loads(result.output) if f["severity"] == "warning"] == ["T101"]


def test_warning_passes_without_strict(make_project):
    root = make_project({"flowers": WEAK["T101"]})
    result = CliRunner().invoke(main, ["check", str(root)])
    assert result.exit_code == 0
    assert "warning T101: sentence of 49 words" in result.output


def test_starter_project_passes(tmp_path):
    create_project(tmp_path / "jobs")
    result = CliRunner().invoke(main, ["check", str(tmp_path / "jobs"), "--strict"])
    assert result.exit_code == 0, result.output


def test_worker_response_times(example_copy):
    responses = FIXTURES / "worker-responses"
    result = CliRunner().invoke(main, ["check", str(example_copy), "--format", "json",
                                       "--worker-responses", str(responses)])
    [timing] = [f for f in json.loads(result.output) if f["rule"] == "R101"]
    assert timing["message"].startswith("median 14.4 s and 90th percentile 24.5 s per task, over 7")


def test_bad_worker_response_file(example_copy, tmp_path):
    (tmp_path / "responses").mkdir()
    (tmp_path / "responses/1.json").write_text('{"answers": [{"timeSpentInSeconds": "slow"}]}')
    result = CliRunner().invoke(main, ["check", str(example_copy), "--worker-responses", str(tmp_path / "responses")])
    assert result.exit_code == 1
    assert "answers[0].timeSpentInSeconds: 'slow' is not a number of seconds" in result.output


def test_findings_as_problems_errors_only(make_project):
    root = make_project({"photos": WEAK["P102"], "flowers": WEAK["T101"]})
    config = load_config(root)
    problems = findings_as_problems(config, read_project(config))
    assert [problem.key for problem in problems] == ["P102"]


def test_build_strict_fails_on_errors(make_project):
    root = make_project({"photos": WEAK["P102"]})
    result = CliRunner().invoke(main, ["build", str(root), "--strict"])
    assert result.exit_code == 1
    assert "bundles/photos.md:4: P102: 1 label for an image-classification job" in result.output


def test_build_without_strict_ignores_check(make_project):
    root = make_project({"photos": WEAK["P102"]})
    result = CliRunner().invoke(main, ["build", str(root)])
    assert result.exit_code == 0
