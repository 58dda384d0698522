"""The `gtdocs` command line."""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gtdocs import __version__
from gtdocs.errors import GtdocsError, Problem

log = logging.getLogger("gtdocs")
stderr = Console(stderr=True, highlight=False, soft_wrap=True)

PROJECT = click.argument("project", type=click.Path(file_okay=False, path_type=Path), default=".")


class GtdocsGroup(click.Group):
    """Prints a traceback for errors only with -v; an unexpected error names itself in one line."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except GtdocsError:
            if ctx.meta.get("gtdocs.verbose"):
                traceback.print_exc()
            raise
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            raise click.exceptions.Exit(130)
        except Exception as error:
            if ctx.meta.get("gtdocs.verbose"):
                raise
            raise GtdocsError(f"internal error: {type(error).__name__}: {error} "
                              "(run again with -v for the traceback, and report it)") from error


@click.group(cls=GtdocsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gtdocs")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages and show tracebacks.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """Build, preview, check and publish worker instructions for labeling jobs."""
    ctx.meta["gtdocs.verbose"] = verbose
    handler = RichHandler(console=stderr, show_time=False, show_path=False, markup=False)
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s",
                        handlers=[handler], force=True)
    # Third-party libraries log a lot at debug level; keep only gtdocs's own.
    for name in ("botocore", "boto3", "urllib3", "watchdog", "PIL", "markdown_it", "s3transfer"):
        logging.getLogger(name).setLevel(logging.WARNING)


def report_warnings(warnings: list[Problem], strict: bool) -> None:
    for warning in warnings:
        stderr.print(f"warning: {warning.render()}", style="yellow")
    if strict and warnings:
        raise GtdocsError(f"{len(warnings)} warning{'s' if len(warnings) != 1 else ''} "
                          "with --strict (fix them, or build without --strict)")


def progress_bar():
    """Return a progress callback factory for the build: a rich bar on a terminal, else nothing."""
    if not stderr.is_terminal:
        return None
    state = {}

    def start(total: int):
        # A handful of assets renders in a moment; a bar would only flicker.
        if total < 8:
            return None
        progress = Progress(TextColumn("Rendering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            console=stderr, transient=True)
        progress.start()
        task = progress.add_task("render", total=total)
        state["progress"] = progress

        def advance():
            progress.advance(task)
            if progress.finished:
                progress.stop()
        return advance
    return start


@main.command()
@PROJECT
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the site to (default: the project's `output` setting, site/).")
@click.option("--strict", is_flag=True, help="Fail on warnings and on errors found by `gtdocs check`.")
def build(project: Path, output: Path | None, strict: bool) -> None:
    """Render examples, instructions and templates of every bundle in PROJECT."""
    from gtdocs.build import build as run_build

    result = run_build(project, output, progress=progress_bar())
    report_warnings(result.warnings, strict)
    click.echo(result.summary())
    index = result.config.output_dir / "index.html"
    click.echo(f"Preview: {index} (or run `gtdocs serve {project}` for a live preview)")


@main.command()
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
def new(path: Path) -> None:
    """Create a starter project in PATH that builds as it is."""
    from gtdocs.starter import create_project

    created = create_project(path)
    for file in created:
        click.echo(f"created {file}")
    click.echo(f"Next: gtdocs build {path}")


def run() -> None:
    main(prog_name="gtdocs")


if __name__ == "__main__":
    sys.exit(run())
