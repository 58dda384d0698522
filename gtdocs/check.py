"""`gtdocs check`: lint the instructions the way a careful reviewer would.

The rules live in `gtdocs.checking` (docs/check.md lists each with its default and the reason).
This module runs them: on one bundle for the live preview (`check_bundle`), on a project for
the command (`run_check`), and as Problems for `gtdocs build --strict` (`findings_as_problems`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import click

from gtdocs.assets import BundlePlan
from gtdocs.build import plan_and_render
from gtdocs.checking.context import BundleContext
from gtdocs.checking.directives import read_directives
from gtdocs.checking.examples import check_examples
from gtdocs.checking.platform import check_platform
from gtdocs.checking.responses import read_task_seconds, task_time_finding
from gtdocs.checking.rules import RULES, SEVERITIES, Finding
from gtdocs.checking.settings import CheckSettings, parse_settings
from gtdocs.checking.text import check_text
from gtdocs.config import ProjectConfig, load_config
from gtdocs.errors import Problem, raise_if_any
from gtdocs.render import BundleRenderer, Fragments, make_environment
from gtdocs.source import Bundle, read_project

__all__ = ["Finding", "RULES", "check_bundle", "check_project", "findings_as_problems", "run_check"]


@dataclass
class Rendered:
    """Build output of one bundle that the check rules need: its asset plan and rendered fragments."""

    plan: BundlePlan
    fragments: Fragments


def check_bundle(config: ProjectConfig, bundle: Bundle, plan: BundlePlan | None = None,
                 fragments: Fragments | None = None, settings: CheckSettings | None = None) -> list[Finding]:
    """Return the findings of one bundle, sorted by line.

    Pass the build's `plan` and `fragments` (as the live preview has them) to include the
    rules on rendered output: the inlined size (P103), alt text in the HTML and the
    template's Liquid (P105). Without them those rules are skipped.
    Raises InputError for a bad `[check]` table.
    """
    settings = settings or parse_settings(config.check)
    context = BundleContext(config, bundle, settings, plan, fragments)
    if plan is not None and fragments is not None:
        context.template = BundleRenderer(config, plan, make_environment(config)).template(fragments)
    check_text(context)
    check_examples(context)
    check_platform(context)
    directives, problems = read_directives(bundle)
    findings = [finding for finding in context.findings
                if not any(directive.covers(finding) for directive in directives)]
    findings += [problem for problem in problems if settings.enabled(problem.rule)]
    return sorted(findings, key=_order)


def _order(finding: Finding) -> tuple:
    return finding.file, finding.line or 0, finding.rule, finding.message


def render_bundles(config: ProjectConfig, bundles: list[Bundle]) -> dict[str, Rendered]:
    """Plan and render every asset (from the cache where it can) and the fragments; write no site."""
    plans, _, _ = plan_and_render(config, bundles)
    environment = make_environment(config)
    return {plan.bundle.name: Rendered(plan, BundleRenderer(config, plan, environment).fragments()) for plan in plans}


def check_project(config: ProjectConfig, bundles: list[Bundle], built: dict | None = None) -> list[Finding]:
    """Return the findings of every bundle.

    `built` maps a bundle's name to an object with `.plan` and `.fragments`, such as the
    build's BundleResult. Without it, the assets are rendered into the cache first.
    """
    settings = parse_settings(config.check)
    built = built if built is not None else render_bundles(config, bundles)
    findings = []
    for bundle in bundles:
        result = built.get(bundle.name)
        findings += check_bundle(config, bundle, getattr(result, "plan", None), getattr(result, "fragments", None),
                                 settings)
    return findings


def findings_as_problems(config: ProjectConfig, bundles: list[Bundle], errors_only: bool = True,
                         built: dict | None = None) -> list[Problem]:
    """Return the check's findings as Problems, for `gtdocs build --strict` to fail on.

    With `errors_only`, only findings of severity error; otherwise also warnings (never info).
    """
    severities = ("error",) if errors_only else ("error", "warning")
    return [finding.as_problem() for finding in check_project(config, bundles, built)
            if finding.severity in severities]


def run_check(project: Path, output_format: str = "text", strict: bool = False,
              worker_responses: Path | None = None) -> int:
    """Check a project, print the findings, and return the exit code: 1 on errors, or on warnings with `strict`."""
    config = load_config(project)
    settings = parse_settings(config.check)
    bundles = read_project(config)
    findings = check_project(config, bundles)
    if worker_responses is not None and settings.enabled("R101"):
        findings.append(_task_time(worker_responses, settings))

    if output_format == "json":
        click.echo(json.dumps([finding.as_dict() for finding in findings], indent=2, ensure_ascii=False))
    else:
        for finding in findings:
            click.echo(finding.render())
        click.echo(_summary(findings, len(bundles)))

    counts = {severity: sum(finding.severity == severity for finding in findings) for severity in SEVERITIES}
    failed = counts["error"] > 0 or (strict and counts["warning"] > 0)
    return 1 if failed else 0


def _task_time(path: Path, settings: CheckSettings) -> Finding:
    display = str(path)
    seconds = read_task_seconds(path, display)
    if not seconds:
        raise_if_any([Problem(display, None, None, "holds no timeSpentInSeconds values",
                              "pass the worker responses of a job in which workers submitted tasks")])
    finding = task_time_finding(seconds, display)
    return Finding(finding.rule, settings.severity("R101"), finding.file, finding.line, finding.message, finding.fix)


def _summary(findings: list[Finding], bundle_count: int) -> str:
    parts = []
    for severity in SEVERITIES:
        count = sum(finding.severity == severity for finding in findings)
        parts.append(f"{count} {severity}{'s' if count != 1 else ''}")
    return f"Checked {bundle_count} bundle{'s' if bundle_count != 1 else ''}: " + ", ".join(parts)
