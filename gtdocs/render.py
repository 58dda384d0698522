"""Render a bundle's Markdown and examples to HTML through the theme.

The theme is a folder of Jinja2 templates; a project's `theme/` folder overrides any of
them by file name. Jinja2 runs with autoescape and StrictUndefined, so author text is
escaped and a misspelt variable in a theme is an error rather than an empty string.
"""

from __future__ import annotations

import json
import re
import traceback
from dataclasses import dataclass
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Callable

import jinja2
from markupsafe import Markup, escape

from gtdocs.assets import BundlePlan, Picture, slot_width
from gtdocs.config import ProjectConfig
from gtdocs.errors import Problem
from gtdocs.markdown import PLACEMENT_TOKEN, make_parser
from gtdocs.source import Animation, Bundle

UrlFor = Callable[[str], str]   # maps an asset's site-relative path ("assets/x.jpg") to its URL

TEMPLATE_NAMES = ("short.html", "full.html", "example.html", "index.html", "template.liquid.html",
                  "site_index.html", "fragment.css")
CROWD_ELEMENTS = {
    "bounding-box": ("crowd-bounding-box", "labels", "annotatedResult"),
    "image-classification": ("crowd-image-classifier", "categories", "category"),
}


def default_theme_dir() -> Path:
    return Path(str(resources.files("gtdocs.themes") / "default"))


def make_environment(config: ProjectConfig) -> jinja2.Environment:
    loaders = []
    if config.theme_dir.is_dir():
        loaders.append(jinja2.FileSystemLoader(config.theme_dir, encoding="utf-8"))
    loaders.append(jinja2.FileSystemLoader(default_theme_dir(), encoding="utf-8"))
    environment = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    environment.filters["liquid_safe"] = liquid_safe
    return environment


def neutralize_liquid(html: str) -> str:
    """Stop Liquid from reading `{{` and `{%` in rendered text.

    Ground Truth runs the whole task template through Liquid before the browser receives it.
    A brace written as the entity `&#123;` looks the same to a worker but is not a Liquid
    delimiter. The rendered HTML contains no Liquid of ours, so every occurrence is
    author or label text.
    """
    return html.replace("{{", "&#123;&#123;").replace("{%", "&#123;%")


def liquid_safe(value) -> Markup:
    """Jinja2 filter: escape for HTML, then neutralize Liquid delimiters."""
    return Markup(neutralize_liquid(str(escape(value))))


@dataclass
class Fragments:
    short: str
    full: str


class BundleRenderer:
    """Renders the HTML of one bundle from its plan."""

    def __init__(self, config: ProjectConfig, plan: BundlePlan, environment: jinja2.Environment,
                 url_for: UrlFor = lambda path: path):
        self.config = config
        self.plan = plan
        self.bundle: Bundle = plan.bundle
        self.environment = environment
        self.url_for = url_for
        self.parser = make_parser()
        self.parser.renderer.rules[PLACEMENT_TOKEN] = self._render_placement
        self.section = "short"

    # -- fragments --------------------------------------------------------------------

    def fragments(self) -> Fragments:
        css = self.environment.get_template("fragment.css").render()
        parts = {}
        for section, markdown_text in (("short", self.bundle.short_markdown), ("full", self.bundle.full_markdown)):
            self.section = section
            body = Markup(self.parser.render(markdown_text))
            html = self.environment.get_template(f"{section}.html").render(
                bundle=self.bundle, body=body, css=Markup(css))
            parts[section] = neutralize_liquid(html)
        return Fragments(parts["short"], parts["full"])

    def _render_placement(self, tokens, index, options, env) -> str:
        ids = tokens[index].meta["ids"]
        css_width = slot_width(self.config, self.section, len(ids))
        figures = []
        for example_id in ids:
            example = self.bundle.examples[example_id]
            picture = self.plan.pictures.get((example_id, css_width))
            if picture is None:
                continue
            figures.append({"example": example, "image": self.image(picture),
                            "animated": isinstance(example, Animation)})
        return self.environment.get_template("example.html").render(figures=figures, pair=len(ids) > 1)

    def image(self, picture: Picture) -> dict:
        main = picture.main
        srcset = ", ".join(f"{self.url_for(asset.path)} {density}x"
                           for density, asset in sorted(picture.by_density.items()))
        # The CSS size is the 1x asset's size, which is below the slot width for a small source.
        css_width = min(picture.css_width, main.width)
        css_height = round(main.height * css_width / main.width) if main.width else main.height
        return {"src": self.url_for(main.path), "srcset": srcset, "width": css_width, "height": css_height}

    # -- pages ------------------------------------------------------------------------

    def template(self, fragments: Fragments, task_src: str | None = None) -> str:
        element, list_attribute, name = CROWD_ELEMENTS[self.bundle.task]
        return self.environment.get_template("template.liquid.html").render(
            bundle=self.bundle, fragments=fragments, element=element, list_attribute=list_attribute,
            name=name, labels_json=json.dumps(list(self.bundle.labels), ensure_ascii=False),
            short=Markup(fragments.short), full=Markup(fragments.full),
            task_src=task_src)

    def index(self, fragments: Fragments) -> str:
        task = self.image(self.plan.task_picture) if self.plan.task_picture else None
        return self.environment.get_template("index.html").render(
            bundle=self.bundle, short=Markup(fragments.short), full=Markup(fragments.full),
            task=task, short_width=self.config.render.short_width, project_title=self.config.title)


def template_problem(error: jinja2.TemplateError, config: ProjectConfig) -> Problem:
    """Describe a theme template's error as a Problem naming the template file and line."""
    filename, line = getattr(error, "filename", None), getattr(error, "lineno", None)
    if filename is None:
        # Errors raised while rendering (an undefined name) carry the template's frame in the traceback.
        for frame, frame_line in traceback.walk_tb(error.__traceback__):
            name = frame.f_code.co_filename
            if name.endswith((".html", ".css")) and Path(name).is_file():
                filename, line = name, frame_line
    shown = config.relative(Path(filename)) if filename else "theme"
    return Problem(shown, line, None, f"template error: {error.message or type(error).__name__}",
                   "fix the template, or delete it to use the default theme's")


def render_site_index(environment: jinja2.Environment, config: ProjectConfig, bundles: list[Bundle]) -> str:
    return environment.get_template("site_index.html").render(project_title=config.title, bundles=bundles)


class _TextCollector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self.skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "script") and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    return " ".join(collector.parts)


WORD = re.compile(r"\w+(?:[-'’]\w+)*")


def word_count(html: str) -> int:
    """Count the words a worker reads in an HTML fragment, captions included.

    NOTE: scripts written without spaces (Chinese, Japanese, Thai) count each run of
    characters between punctuation as one word.
    """
    return len(WORD.findall(visible_text(html)))
