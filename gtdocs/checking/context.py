"""Input of the check rules for one bundle: its source, its settings and its rendered build output."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from gtdocs.assets import BundlePlan, slot_width
from gtdocs.checking.prose import Sentence, caption_sentences, markdown_sentences
from gtdocs.checking.rules import Finding
from gtdocs.checking.settings import CheckSettings
from gtdocs.config import ProjectConfig
from gtdocs.render import Fragments
from gtdocs.source import Animation, Bundle, Example


@dataclass(frozen=True)
class Shown:
    """Placement of one example as displayed to a worker: its section, CSS width and source line."""

    example: Example | Animation
    section: str
    css_width: int
    line: int
    pair: tuple[str, ...]   # ids of the placement it is part of


@dataclass
class BundleContext:
    config: ProjectConfig
    bundle: Bundle
    settings: CheckSettings
    plan: BundlePlan | None = None
    fragments: Fragments | None = None
    template: str | None = None
    findings: list[Finding] = field(default_factory=list)

    def enabled(self, rule_id: str) -> bool:
        return self.settings.enabled(rule_id)

    def option(self, rule_id: str, name: str):
        return self.settings.option(rule_id, name)

    def report(self, rule_id: str, line: int | None, message: str, fix: str, file: str | None = None) -> None:
        if self.settings.enabled(rule_id):
            self.findings.append(Finding(rule_id, self.settings.severity(rule_id), file or self.bundle.display_path,
                                         line, message, fix))

    # -- what is shown where -------------------------------------------------------------

    @cached_property
    def shown(self) -> list[Shown]:
        """Every placed example, and every frame of a placed animation, in placement order."""
        shown = []
        for placement in self.bundle.placements:
            width = slot_width(self.config, placement.section, len(placement.ids))
            for example_id in placement.ids:
                example = self.bundle.examples.get(example_id)
                if example is None:
                    continue
                shown.append(Shown(example, placement.section, width, placement.line, placement.ids))
                if isinstance(example, Animation):
                    for frame_id in example.frames:
                        frame = self.bundle.examples.get(frame_id)
                        if isinstance(frame, Example):
                            shown.append(Shown(frame, placement.section, width, placement.line, (example_id,)))
        return shown

    def placed(self, section: str | None = None) -> list[Example | Animation]:
        """Return the examples placed directly (not as animation frames), each once, in placement order.

        With `section`, only placements in that section count.
        """
        examples: dict[str, Example | Animation] = {}
        for placement in self.bundle.placements:
            if section is None or placement.section == section:
                for example_id in placement.ids:
                    if example_id in self.bundle.examples:
                        examples.setdefault(example_id, self.bundle.examples[example_id])
        return list(examples.values())

    def verdicts(self, example: Example | Animation) -> set[str]:
        """Return the verdicts an example displays.

        That is its own verdict if it has one, otherwise for an animation the verdicts of its frames.
        """
        if example.verdict:
            return {example.verdict}
        if isinstance(example, Animation):
            return {frame.verdict for frame_id in example.frames
                    if (frame := self.bundle.examples.get(frame_id)) is not None and frame.verdict}
        return set()

    def key_line(self, example: Example | Animation, key: str) -> int:
        index = example.index
        return self.bundle.lines.get(("examples", index, key), example.line)

    def has_key(self, example: Example | Animation, key: str) -> bool:
        index = example.index
        return ("examples", index, key) in self.bundle.lines

    # -- text ----------------------------------------------------------------------------

    @cached_property
    def body_sentences(self) -> dict[str, list[Sentence]]:
        bundle = self.bundle
        return {"short": markdown_sentences(bundle.short_markdown, bundle.short_line, "short"),
                "full": markdown_sentences(bundle.full_markdown, bundle.full_line, "full")}

    def caption_sentences(self, section: str) -> list[Sentence]:
        sentences = []
        for example in self.placed(section):
            if example.caption:
                sentences.extend(caption_sentences(example.caption, self.key_line(example, "caption"), section))
        return sentences

    def sentences(self, section: str) -> list[Sentence]:
        """Body sentences and captions of the examples placed in `section`: all that a worker reads there."""
        return self.body_sentences[section] + self.caption_sentences(section)
