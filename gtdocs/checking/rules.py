"""Every rule of `gtdocs check`: its id, default severity, options with defaults, and the finding type.

docs/check.md gives the reason for each default; keep the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gtdocs.errors import Problem

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    """One weakness found in a bundle, at a file and line, with the fix."""

    rule: str
    severity: str   # one of SEVERITIES
    file: str       # relative to the project, as in Problem
    line: int | None
    message: str
    fix: str = ""

    def render(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        text = f"{where}: {self.severity} {self.rule}: {self.message}"
        if self.fix:
            text += f" ({self.fix})"
        return text

    def as_dict(self) -> dict:
        return {"rule": self.rule, "severity": self.severity, "file": self.file, "line": self.line,
                "message": self.message, "fix": self.fix}

    def as_problem(self) -> Problem:
        return Problem(self.file, self.line, self.rule, self.message, self.fix)


@dataclass(frozen=True)
class Option:
    """A number that a project can set in `[check.rules.<ID>]`."""

    default: int | float
    help: str
    minimum: float = 0
    maximum: float | None = None
    integer: bool = True


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    severity: str
    summary: str
    options: dict[str, Option] = field(default_factory=dict)


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {rule.id: rule for rule in rules}


RULES = _rules(
    # Short instructions: the text displayed to a worker beside every task.
    Rule("S101", "short-words", "warning", "the short instructions have too many words",
         {"max": Option(100, "words in the short instructions, captions included", 1)}),
    Rule("S102", "short-sentence-length", "warning", "a sentence in the short instructions is too long",
         {"max": Option(20, "words in one sentence of the short instructions", 1)}),
    Rule("S103", "short-readability", "warning", "the English short instructions read above a school grade",
         {"max_grade": Option(8, "Flesch-Kincaid grade level", 1, 20, integer=False),
          "min_words": Option(25, "fewest words for which the grade is measured", 1)}),
    Rule("S104", "short-good-and-bad", "warning",
         "the short instructions lack a good or a bad example image"),
    Rule("S105", "short-image-first", "warning", "the first example image comes after too much text",
         {"max_words_before": Option(40, "words of text allowed before the first image", 0)}),
    # Full instructions: the dialog behind "View full instructions".
    Rule("F101", "full-repeats-short", "warning", "a sentence of the full instructions repeats the short ones",
         {"min_similarity": Option(0.8, "token similarity (Dice, 0 to 1) from which a sentence repeats", 0.1, 1,
                                   integer=False),
          "min_words": Option(4, "shortest sentence compared, in words", 1)}),
    Rule("F102", "full-pair-count", "warning", "the full instructions have too many good/bad pairs",
         {"max": Option(3, "good/bad pairs in the full instructions", 0)}),
    Rule("F103", "bad-caption-reason", "warning", "a bad example's caption does not say what is wrong",
         {"min_words": Option(4, "fewest words in a bad example's caption", 1)}),
    Rule("F104", "label-not-shown", "warning", "no example shows a label"),
    Rule("F105", "label-only-bad", "info", "only bad examples show a label"),
    # All instructions.
    Rule("T101", "sentence-length", "warning", "a sentence is too long",
         {"max": Option(30, "words in one sentence anywhere in the instructions", 1)}),
    # Examples.
    Rule("E101", "good-bad-look-same", "warning", "a good and a bad example look the same",
         {"min_difference": Option(4, "CSS px by which the annotations of a good and a bad example must differ",
                                   0, integer=False),
          "max_photo_difference": Option(0.03, "mean pixel difference (0 to 1) up to which two photos count "
                                               "as the same", 0, 1, integer=False)}),
    Rule("E102", "object-too-small", "warning", "an annotated object is too small to see at its display size",
         {"min_size": Option(8, "CSS px of an annotated object's shorter side as shown", 1, integer=False)}),
    Rule("E103", "example-unused", "warning", "an example is defined but never shown"),
    # Platform limits.
    Rule("P101", "box-label-count", "error", "a bounding-box job has more labels than Ground Truth allows",
         {"max": Option(10, "labels of a bounding-box job", 1)}),
    Rule("P102", "classification-label-count", "error", "a classification job has fewer than two labels",
         {"min": Option(2, "labels of an image-classification job", 1)}),
    Rule("P103", "short-size-inlined", "error",
         "the short instructions with their images inlined exceed Ground Truth's size limit",
         {"max_kb": Option(100, "kilobytes (1000 bytes) of the short instructions with images inlined", 1)}),
    Rule("P104", "image-alt", "warning", "an example image has no alt text"),
    Rule("P105", "template-liquid", "error", "the worker task template has Liquid that does not parse"),
    Rule("C101", "directive", "error", "a gtdocs directive comment cannot be read"),
    # Worker responses of a job (with --worker-responses).
    Rule("R101", "task-time", "info", "seconds per task from the job's worker responses"),
)
