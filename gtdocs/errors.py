"""Errors meant for the user: one line each, naming the file, the line or key, and the fix."""

from __future__ import annotations

from dataclasses import dataclass

import click


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input.

    `file` is shown relative to the project; `line` is 1-based; `key` is the dotted
    path of a setting or front-matter entry, such as `examples[2].verdict`.
    """

    file: str
    line: int | None
    key: str | None
    message: str
    fix: str = ""

    def render(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        subject = f"{where}: {self.key}" if self.key else where
        text = f"{subject}: {self.message}"
        if self.fix:
            text += f" ({self.fix})"
        return text


class GtdocsError(click.ClickException):
    """Base of every error that gtdocs reports to the user; click prints it and exits 1."""

    exit_code = 1

    def format_message(self) -> str:
        return self.message

    def show(self, file=None) -> None:
        # One "error: " line per problem, so each can be read (and grepped) alone.
        for line in self.format_message().splitlines():
            click.echo(f"error: {line}", file=file, err=file is None)


class InputError(GtdocsError):
    """The project's input has one or more problems; all of them are reported together."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(problem.render() for problem in self.problems))


def raise_if_any(problems: list[Problem]) -> None:
    if problems:
        raise InputError(problems)
