"""The preview server: build, serve the site, watch the sources, rebuild, and announce each build."""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass, field, replace
from http.server import ThreadingHTTPServer
from pathlib import Path

from gtdocs.build import build, staging_prefix
from gtdocs.config import TOP_LEVEL, ProjectConfig, find_project, load_config
from gtdocs.errors import GtdocsError, InputError
from gtdocs.serving.handler import PreviewHandler
from gtdocs.serving.sources import ALL_BUNDLES, SourceMap
from gtdocs.serving.watch import Debouncer, ProjectWatcher, is_editor_temp

log = logging.getLogger(__name__)

# Seconds of quiet after the last file event before a rebuild starts. One save's events
# arrive within a few milliseconds of each other (bench/serve_latency.py prints the spans).
QUIET_SECONDS = 0.05
# Seconds a batch may be held back while a deleted source has not been written again.
MISSING_FILE_WAIT = 0.5
# Seconds a page request waits for a running build to finish before it is served anyway.
REQUEST_WAIT = 10.0
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class BuildState:
    """The outcome of one build, as sent to the browsers."""

    number: int                               # 1 for the first build, then one more per rebuild
    ok: bool
    errors: tuple[str, ...] = ()              # one line per problem, as Problem.render() writes it
    bundles: tuple[str, ...] | None = None    # bundles rebuilt; None means all of them
    seconds: float = 0.0
    # `gtdocs check` findings by bundle name, each {"severity": ..., "text": Finding.render()}.
    # They are computed after the build is announced, and sent as a new revision of the state.
    findings: dict[str, list[dict]] = field(default_factory=dict)
    revision: int = 0                         # one more for every state sent, builds and findings alike

    def to_json(self) -> dict:
        return {"build": self.number, "ok": self.ok, "errors": list(self.errors),
                "bundles": None if self.bundles is None else list(self.bundles), "seconds": round(self.seconds, 3),
                "findings": self.findings, "revision": self.revision}


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True   # a client that never disconnects cannot keep the process alive

    def __init__(self, address: tuple[str, int], preview: "PreviewServer"):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.preview = preview
        super().__init__(address, PreviewHandler)

    def handle_error(self, request, client_address) -> None:
        # Browsers drop connections all the time (a reload cancels pending image requests).
        log.debug("request from %s failed", client_address[0], exc_info=True)


class PreviewServer:
    """Serves a project's site, rebuilds it when sources change and announces every build.

    `start()` builds the project, starts listening and watching, and returns. Browsers
    receive each build as a server-sent event at EVENTS_PATH (see handler.py), and tests
    can call `wait_for_build()` instead.
    """

    def __init__(self, project: Path, host: str = "127.0.0.1", port: int = 8000,
                 quiet: float = QUIET_SECONDS):
        self.project = Path(project)
        self.host = host
        self.port = port
        self.config = _config_or_defaults(self.project)
        # The site goes to the folder that is being served even if gtdocs.toml changes its `output`.
        self.output_dir = self.config.output_dir
        self.site_root = self.output_dir.resolve()
        self.initial_cache_dir = self.config.cache_dir
        self.sources = SourceMap()
        self.state = BuildState(0, True)
        self._last_result = None
        self.stopping = False
        self._changed = threading.Condition()   # notified on each new state, and on stop
        self._build_lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self.debouncer = Debouncer(self._rebuild_for, quiet, ready=self._sources_present, max_wait=MISSING_FILE_WAIT)
        self.watcher = ProjectWatcher(self.config.root, [self.output_dir, self.initial_cache_dir], self.debouncer.add,
                                      skip=self.is_skipped)
        self.httpd: _HTTPServer | None = None
        self._http_thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Listen, watch, build once and serve, then return while the server runs on its threads."""
        try:
            self.httpd = _HTTPServer((self.host, self.port), self)
        except OSError as error:
            raise GtdocsError(f"cannot listen on {self.host}:{self.port}: {error.strerror or error} "
                              "(choose another address with -a HOST:PORT; port 0 picks a free port)") from error
        self.port = self.httpd.server_address[1]
        # Watch before the first build, so a save during a long first build is not lost.
        self.watcher.start()
        self.debouncer.start()
        self.rebuild(ALL_BUNDLES)
        self._http_thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                             name="gtdocs-http", daemon=True)
        self._http_thread.start()
        if self.host not in LOOPBACK_NAMES:
            log.warning("listening on %s: other machines on the network can read the preview", self.host)

    def stop(self) -> None:
        """Stop watching and serving, and end every open event stream."""
        with self._changed:
            self.stopping = True
            self._changed.notify_all()
        self.watcher.stop()
        self.debouncer.stop()
        if self.httpd is not None:
            if self._http_thread is not None:
                self.httpd.shutdown()
            self.httpd.server_close()

    def __enter__(self) -> "PreviewServer":
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def build_count(self) -> int:
        return self.state.number

    # -- builds -------------------------------------------------------------------------

    def rebuild(self, bundles: set[str] | None) -> BuildState:
        """Build `bundles` (ALL_BUNDLES for all), announce the result, and return it.

        Does not raise for a failed build: bad input and internal errors alike become a
        state with `ok` false that browsers show, and the previous site stays served.
        """
        with self._build_lock:
            self._idle.clear()
            started = time.perf_counter()
            try:
                errors = self._build(bundles)
            finally:
                self._idle.set()
            seconds = time.perf_counter() - started
            names = None if bundles is ALL_BUNDLES else tuple(sorted(bundles))
            state = BuildState(self.state.number + 1, not errors, tuple(errors), names, seconds,
                               findings=self.state.findings, revision=self.state.revision + 1)
            self._announce(state)
            if not errors:
                # After the announcement, so that checking does not delay the reload.
                findings = self._check(self._last_result, complete=bundles is ALL_BUNDLES)
                state = replace(state, findings=findings, revision=state.revision + 1)
                self._announce(state)
        target = "all bundles" if names is None else ", ".join(names)
        if errors:
            kept = "the last good site is still served" if self._last_result else "there is no site to serve yet"
            log.error("Build of %s failed; %s:\n%s", target, kept, "\n".join(errors))
        else:
            log.info("Built %s in %.2f s", target, seconds)
        return state

    def _build(self, bundles: set[str] | None) -> list[str]:
        """Run one build and return one line per problem, or an empty list on success."""
        try:
            result = build(self.project, output=self.output_dir, only=bundles)
        except InputError as error:
            self._reload_config()
            return [problem.render() for problem in error.problems]
        except GtdocsError as error:
            self._reload_config()
            return error.format_message().splitlines() or [type(error).__name__]
        except Exception as error:
            # A bug in a build stage must not end the preview. The traceback goes to the log.
            log.exception("internal error while building %s", self.project)
            self._reload_config()
            return [f"internal error: {type(error).__name__}: {error} (see the terminal for the traceback)"]
        self.config = result.config
        self._last_result = result
        self.sources.update((bundle_result.bundle for bundle_result in result.bundles),
                            complete=bundles is ALL_BUNDLES)
        for warning in result.warnings:
            log.warning("%s", warning.render())
        return []

    def _check(self, result, complete: bool) -> dict[str, list[dict]]:
        """Run `gtdocs check` on the bundles that `result` built, and return the findings of every bundle."""
        from gtdocs.check import check_bundle

        findings = {} if complete else dict(self.state.findings)
        for item in result.bundles:
            try:
                found = [{"severity": finding.severity, "text": finding.render()}
                         for finding in check_bundle(result.config, item.bundle, item.plan, item.fragments)]
            except GtdocsError as error:   # an invalid [check] table in gtdocs.toml
                found = [{"severity": "error", "text": line} for line in error.format_message().splitlines()]
            except Exception:
                log.exception("gtdocs check failed on bundle %s", item.bundle.name)
                found = [{"severity": "error", "text": "gtdocs check failed (see the terminal for the traceback)"}]
            findings[item.bundle.name] = found
        return findings

    def _reload_config(self) -> None:
        try:
            self.config = load_config(self.project, self.output_dir)
        except GtdocsError:
            pass   # the build's own error already reports what is wrong with gtdocs.toml

    def _rebuild_for(self, paths: set[Path]) -> None:
        bundles = self.sources.affected(self.config, paths, last_build_failed=not self.state.ok)
        changed = ", ".join(sorted(self.config.relative(path) for path in paths))
        if bundles == set():
            log.debug("no bundle reads %s", changed)
            return
        log.debug("rebuilding for changes to %s", changed)
        self.rebuild(bundles)

    def is_skipped(self, path: Path) -> bool:
        """Return whether a change to `path` can never need a rebuild.

        That is an editor's temporary file, or a file the build writes: the output, the
        cache (as first configured and as now configured), or a build's staging folder.
        """
        if is_editor_temp(path):
            return True
        folders = (self.output_dir, self.initial_cache_dir, self.config.cache_dir)
        if any(path.is_relative_to(folder) for folder in folders):
            return True
        staging = path.relative_to(self.output_dir.parent).parts if path.is_relative_to(self.output_dir.parent) else ()
        return bool(staging) and staging[0].startswith(staging_prefix(self.output_dir))

    def _sources_present(self, paths: set[Path]) -> bool:
        """Return False while a known source in `paths` is missing, since its editor may be re-creating it."""
        return not any(self.sources.is_known(path) and not path.exists() for path in paths)

    # -- announcements ------------------------------------------------------------------

    def _announce(self, state: BuildState) -> None:
        with self._changed:
            self.state = state
            self._changed.notify_all()

    def wait_for_build(self, after: int, timeout: float) -> BuildState:
        """Return the latest state as soon as its number is above `after`, or when `timeout` seconds pass."""
        with self._changed:
            self._changed.wait_for(lambda: self.state.number > after or self.stopping, timeout)
            return self.state

    def wait_for_revision(self, after: int, timeout: float) -> BuildState:
        """Return the latest state as soon as its revision is above `after`, or when `timeout` seconds pass."""
        with self._changed:
            self._changed.wait_for(lambda: self.state.revision > after or self.stopping, timeout)
            return self.state

    def wait_until_idle(self, timeout: float = REQUEST_WAIT) -> None:
        self._idle.wait(timeout)


def _config_or_defaults(project: Path) -> ProjectConfig:
    """Load gtdocs.toml, or use the default folders if it is invalid, so the error can be served."""
    try:
        return load_config(project)
    except InputError:
        root = find_project(project)
        folders = {key: root / TOP_LEVEL[key].default for key in ("bundles", "output", "cache", "theme")}
        log.warning("gtdocs.toml is invalid, so the default folders are used: serving %s", folders["output"])
        return ProjectConfig(root=root, title=root.name, bundles_dir=folders["bundles"], output_dir=folders["output"],
                             cache_dir=folders["cache"], theme_dir=folders["theme"])
