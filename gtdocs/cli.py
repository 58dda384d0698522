"""The `gtdocs` command line."""

from __future__ import annotations

import logging
import shlex
import sys
import time
import traceback
from pathlib import Path

import click

from gtdocs import __version__
from gtdocs.errors import GtdocsError, Problem

# Command modules and heavy libraries (rich, Pillow, numpy, boto3) are imported inside the
# commands that use them, so `gtdocs build` of an unchanged project starts fast.

log = logging.getLogger("gtdocs")

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
            # The build writes nothing until it has rendered everything, so nothing is half-written.
            click.echo("Interrupted.", err=True)
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
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LevelFormatter())
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler], force=True)
    # Third-party libraries log a lot at debug level; keep only gtdocs's own.
    for name in ("botocore", "boto3", "urllib3", "watchdog", "PIL", "markdown_it", "s3transfer"):
        logging.getLogger(name).setLevel(logging.WARNING)


class _LevelFormatter(logging.Formatter):
    """Formats records as `warning: message`, or a bare message for info."""

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        if record.levelno == logging.INFO:
            return message
        return f"{record.levelname.lower()}: {message}"


def report_warnings(warnings: list[str], strict: bool) -> None:
    for warning in warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    if strict and warnings:
        raise GtdocsError(f"{len(warnings)} warning{'s' if len(warnings) != 1 else ''} "
                          "with --strict (fix them, or build without --strict)")


def progress_bar():
    """Return a progress callback factory for the build: a rich bar on a terminal, else nothing."""
    if not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    state = {}

    def start(total: int):
        # A handful of assets renders in a moment; a bar would only flicker.
        if total < 8:
            return None
        progress = Progress(TextColumn("Rendering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            console=Console(stderr=True), transient=True)
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
@click.option("--strict", is_flag=True,
              help="Exit 1 on the build's own warnings and on error findings of `gtdocs check` "
                   "(`gtdocs check --strict` also fails on check warnings).")
def build(project: Path, output: Path | None, strict: bool) -> None:
    """Render examples, instructions and templates of every bundle in PROJECT."""
    started = time.perf_counter()
    if not strict and _report_unchanged(project, output, started):
        return
    from gtdocs.build import build as run_build

    result = run_build(project, output, progress=progress_bar())
    report_warnings([warning.render() for warning in result.warnings], strict)
    if strict:
        from gtdocs.check import findings_as_problems
        from gtdocs.errors import raise_if_any

        # Errors of `gtdocs check` fail a strict build; the build's own plans and fragments are reused.
        built = {item.bundle.name: item for item in result.bundles}
        raise_if_any(findings_as_problems(result.config, [item.bundle for item in result.bundles], built=built))
    click.echo(result.summary())
    index = result.config.output_dir / "index.html"
    _print_preview_hint(index, project)


def _print_preview_hint(index: Path, project: Path) -> None:
    # Quoted, so that the command can be pasted into a shell whatever the folder's name.
    click.echo(f"Preview: {index} (or run `gtdocs serve {shlex.quote(str(project))}` for a live preview)")


def _report_unchanged(project: Path, output: Path | None, started: float) -> bool:
    """Print the last build's outcome and return True if nothing it read or wrote has changed."""
    from gtdocs.config import load_config
    from gtdocs.stamp import summary_line, unchanged_build

    config = load_config(project, output)
    stamp = unchanged_build(config)
    if stamp is None:
        return False
    report_warnings(stamp["warnings"], strict=False)
    summary = stamp["summary"]
    line = summary_line(summary["bundles"], 0, summary["assets"], time.perf_counter() - started)
    click.echo(f"{line}; nothing changed since the last build")
    _print_preview_hint(config.output_dir / "index.html", project)
    return True


@main.command()
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
def new(path: Path) -> None:
    """Create a starter project in PATH that builds as it is."""
    from gtdocs.starter import create_project

    created = create_project(path)
    for file in created:
        click.echo(f"created {file}")
    click.echo(f"Next: gtdocs build {shlex.quote(str(path))}")


def parse_address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise click.BadParameter(f"{value!r} is not HOST:PORT (for example 127.0.0.1:8000; port 0 picks a free port)")
    return host.strip("[]"), int(port)


@main.command()
@PROJECT
@click.option("-a", "--dev-addr", default="127.0.0.1:8000", show_default=True,
              help="Address to listen on, as HOST:PORT; port 0 picks a free port.")
@click.option("--open", "open_browser", is_flag=True, help="Open the preview in a web browser.")
def serve(project: Path, dev_addr: str, open_browser: bool) -> None:
    """Serve a live preview of PROJECT that rebuilds and reloads on every save."""
    from gtdocs.serve import serve as run_serve

    host, port = parse_address(dev_addr)
    run_serve(project, host, port, open_browser)


@main.command()
@PROJECT
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format of the findings.")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too, not only on errors.")
@click.option("--worker-responses", type=click.Path(exists=True, path_type=Path),
              help="Folder or file of Ground Truth worker-response JSON, to report seconds per task.")
def check(project: Path, output_format: str, strict: bool, worker_responses: Path | None) -> None:
    """Check the instructions of PROJECT the way a careful reviewer would."""
    from gtdocs.check import run_check

    code = run_check(project, output_format, strict, worker_responses)
    if code:
        raise click.exceptions.Exit(code)


@main.command()
@PROJECT
@click.option("--bucket", help="S3 bucket (overrides [publish] bucket).")
@click.option("--prefix", help="Key prefix under which each bundle is published.")
@click.option("--region", help="The bucket's AWS region.")
@click.option("--profile", help="AWS profile from the shared credentials file.")
@click.option("--endpoint-url", help="S3 API endpoint, for S3-compatible stores and tests.")
@click.option("--access", type=click.Choice(["public-read", "private"]),
              help="public-read: each image gets a public-read ACL; private: no ACL, images reach "
                   "workers through the template's grant_read_access.")
@click.option("--dry-run", is_flag=True, help="Print the plan and upload nothing.")
@click.option("--prune", is_flag=True, help="Delete objects that an earlier publish of a bundle recorded and "
                                             "this one no longer has.")
def publish(project: Path, bucket, prefix, region, profile, endpoint_url, access, dry_run: bool, prune: bool) -> None:
    """Upload the assets of PROJECT to S3 and write the published fragments and template."""
    from gtdocs.publish import publish as run_publish

    overrides = {"bucket": bucket, "prefix": prefix, "region": region, "profile": profile,
                 "endpoint_url": endpoint_url, "access": access}
    run_publish(project, {key: value for key, value in overrides.items() if value is not None},
                dry_run=dry_run, prune=prune)


def run() -> None:
    main(prog_name="gtdocs")


if __name__ == "__main__":
    sys.exit(run())
