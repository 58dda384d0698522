"""Watch a project's sources and turn each editor save into one batch of changed paths.

Editors save in several ways: writing the file in place, writing a temporary file and
renaming it over the original, deleting and re-creating the file, or renaming the
original to a backup first. Each way gives a burst of file system events within a few
milliseconds (bench/serve_latency.py measures the spans). A quiet period after the last
event groups a burst into one batch, so one save gives one rebuild.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from pathlib import Path
from typing import Callable, Iterable

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

log = logging.getLogger(__name__)

# Event types that mean a file's content or presence changed. Watchdog also reports
# "opened" and "closed_no_write", which the build itself causes by reading its sources.
CHANGE_EVENTS = {"created", "deleted", "modified", "moved", "closed"}

# Seconds between scans when inotify is not available and the project is polled instead.
POLL_SECONDS = 0.5

# Folders that hold no project sources and can be large, so they get no inotify watches.
UNWATCHED_FOLDERS = {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__",
                     ".mypy_cache", ".pytest_cache", ".tox", ".idea", ".vscode"}

# Names that editors write next to the file being edited:
#   name~            backup (Vim, Emacs, gedit, Kate)
#   .name.swp/.swx   Vim swap files (.swp, then .swo, .swn ... when one exists) and swap-name probes
#   4913             Vim's probe for whether the folder is writable; Vim adds 123 while the name exists
#                    (matched separately, in is_editor_temp)
#   .#name, #name#   Emacs lock link and auto-save file
#   .goutputstream-* GLib's temporary file, renamed over the original (gedit)
#   *___jb_tmp___    JetBrains' temporary and old copies
VIM_PROBE = 4913
EDITOR_TEMP_NAME = re.compile(
    r"""( ~$
        | ^\..*\.sw[a-px]$
        | ^\.\#
        | ^\#.*\#$
        | ^\.goutputstream-
        | ___jb_(tmp|old)___$
        )""",
    re.VERBOSE,
)


def is_editor_temp(path: Path) -> bool:
    """Return whether `path` names a backup, swap, lock or temporary file of an editor."""
    name = path.name
    if name.isdigit() and int(name) >= VIM_PROBE and (int(name) - VIM_PROBE) % 123 == 0:
        return True
    return bool(EDITOR_TEMP_NAME.search(name))


def watch_roots(root: Path, excluded: Iterable[Path],
                skip: Callable[[Path], bool] = lambda path: False) -> list[tuple[Path, bool]]:
    """Return the folders to watch as (folder, recursive), leaving out `excluded` entirely.

    The project folder itself is watched without recursion, for gtdocs.toml and new
    folders. A folder for which `skip(folder)` is true is left out too.
    """
    excluded = [path.resolve() for path in excluded]
    roots = [(root, False)]
    for child in _subfolders(root):
        roots.extend(folder_roots(child, excluded, skip))
    return roots


def folder_roots(folder: Path, excluded: list[Path],
                 skip: Callable[[Path], bool] = lambda path: False) -> list[tuple[Path, bool]]:
    """Return the watches that cover `folder` and its subfolders except the `excluded` ones.

    Inotify cannot skip a subfolder of a recursive watch, so a folder that contains an
    excluded folder (such as a nested output folder) is watched on its own, and its other
    subfolders recursively.
    """
    if skip(folder) or any(folder.is_relative_to(path) for path in excluded):
        return []
    if not any(path.is_relative_to(folder) for path in excluded):
        return [(folder, True)]
    roots = [(folder, False)]
    for child in _subfolders(folder):
        roots.extend(folder_roots(child, excluded, skip))
    return roots


def _subfolders(folder: Path) -> list[Path]:
    return sorted(child for child in folder.iterdir()
                  if child.is_dir() and not child.is_symlink() and child.name not in UNWATCHED_FOLDERS)


class Debouncer:
    """Collects changed paths and hands them over in one batch once events stop arriving.

    `callback(paths)` runs on the debouncer's own thread, one batch at a time, so events
    that arrive during a rebuild are collected into the next batch. `ready(paths)`, if
    given, can hold a batch back (up to `max_wait` seconds after its first event) while
    it returns False, for example while a deleted file has not been written again yet.
    """

    def __init__(self, callback: Callable[[set[Path]], None], quiet: float,
                 ready: Callable[[set[Path]], bool] | None = None, max_wait: float = 0.5):
        self.callback = callback
        self.quiet = quiet
        self.ready = ready
        self.max_wait = max_wait
        self.pending: set[Path] = set()
        self.first_event = 0.0
        self.last_event = 0.0
        self.last_span = 0.0   # seconds between the first and last event of the latest batch
        self.condition = threading.Condition()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="gtdocs-debounce", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        with self.condition:
            self.stopping = True
            self.condition.notify_all()
        if self.thread.is_alive():
            self.thread.join(timeout=5)

    def add(self, paths: Iterable[Path]) -> None:
        now = time.monotonic()
        with self.condition:
            if not self.pending:
                self.first_event = now
            self.pending.update(paths)
            self.last_event = now
            self.condition.notify_all()

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            try:
                self.callback(batch)
            except Exception:
                # The callback is the server's rebuild, which reports build errors itself.
                # Anything that reaches here is a bug, and the watcher must keep going.
                log.exception("handling changes to %d files failed", len(batch))

    def _next_batch(self) -> set[Path] | None:
        held_back = False   # whether this batch waited because `ready` returned False
        with self.condition:
            while True:
                if self.stopping:
                    return None
                if not self.pending:
                    self.condition.wait()
                    continue
                now = time.monotonic()
                wait = self.last_event + self.quiet - now
                if wait <= 0 and self.ready is not None:
                    if now - self.first_event < self.max_wait and not self.ready(self.pending):
                        held_back = True
                        wait = self.quiet
                    elif held_back:
                        # The file is back on disk, but the events of its writing may not have
                        # arrived yet: wait one more quiet period from now.
                        held_back = False
                        self.last_event = now
                        wait = self.quiet
                if wait > 0:
                    self.condition.wait(wait)
                    continue
                batch, self.pending = self.pending, set()
                self.last_span = self.last_event - self.first_event
                return batch


class _ChangeHandler(FileSystemEventHandler):
    def __init__(self, on_paths: Callable[[list[Path]], None]):
        self.on_paths = on_paths

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in CHANGE_EVENTS:
            return
        # A directory's own "modified" event only means that an entry in it changed,
        # and that entry has an event of its own.
        if event.is_directory and event.event_type in ("modified", "closed"):
            return
        paths = [event.src_path]
        if event.event_type == "moved":
            paths.append(event.dest_path)
        self.on_paths([Path(os.fsdecode(path)) for path in paths])


class ProjectWatcher:
    """Watches the project folder, minus the output and cache folders, with watchdog.

    `on_paths(paths)` receives the changed paths of each event, except those for which
    `skip(path)` is true. It runs on watchdog's thread and must return quickly.
    """

    def __init__(self, root: Path, excluded: Iterable[Path], on_paths: Callable[[list[Path]], None],
                 skip: Callable[[Path], bool] = lambda path: False):
        self.root = root
        self.excluded = [path.resolve() for path in excluded]
        self.on_paths = on_paths
        self.skip = skip
        self.observer = Observer()
        self.observer.daemon = True
        self.handler = _ChangeHandler(self._changed)
        self.watched: set[Path] = set()

    def start(self) -> None:
        roots = watch_roots(self.root, self.excluded, self.skip)
        for folder, recursive in roots:
            self._schedule(folder, recursive)
        try:
            self.observer.start()
        except OSError as error:
            # Inotify can run out of instances or watches (fs.inotify.max_user_instances and
            # max_user_watches). Polling is slower but needs neither.
            log.warning("file watching with inotify failed (%s), so the project is polled every %.1f s instead",
                        error, POLL_SECONDS)
            self.observer.unschedule_all()
            self.observer = PollingObserver(timeout=POLL_SECONDS)
            self.observer.daemon = True
            self.watched.clear()
            for folder, recursive in roots:
                self._schedule(folder, recursive)
            self.observer.start()

    def stop(self) -> None:
        if self.observer.is_alive():
            self.observer.stop()
            self.observer.join(timeout=5)

    def _schedule(self, folder: Path, recursive: bool) -> None:
        try:
            self.observer.schedule(self.handler, str(folder), recursive=recursive)
            self.watched.add(folder)
        except OSError as error:
            # For example the inotify watch limit (fs.inotify.max_user_watches) is reached.
            log.warning("failed to watch %s: %s. Changes in it will not trigger a rebuild "
                        "(raise fs.inotify.max_user_watches, or restart with fewer folders)", folder, error)

    def _changed(self, paths: list[Path]) -> None:
        paths = [path for path in paths if not self.skip(path)]
        for path in paths:
            # A folder created in the project folder is outside every recursive watch.
            if path.parent == self.root and path not in self.watched and path.name not in UNWATCHED_FOLDERS \
                    and path.is_dir() and not path.is_symlink():
                for folder, recursive in folder_roots(path, self.excluded, self.skip):
                    self._schedule(folder, recursive)
        if paths:
            self.on_paths(paths)
