"""Upload objects in parallel, and a progress bar for the long steps of a publish."""

from __future__ import annotations

import logging
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Callable

from gtdocs.publishing.plan import Desired
from gtdocs.publishing.s3 import S3, UPLOAD_THREADS

log = logging.getLogger(__name__)


def upload_all(s3: S3, items: list[Desired], on_done: Callable[[Desired, str], None], progress=None) -> None:
    """PUT every item, UPLOAD_THREADS at a time; call `on_done(item, etag)` in this thread as each ends.

    On the first error or Ctrl-C, no further upload starts. The uploads already running
    finish and are reported through `on_done` before the error is raised, so that the
    caller can record what reached the bucket.
    """
    if not items:
        return
    pool = ThreadPoolExecutor(max_workers=min(UPLOAD_THREADS, len(items)), thread_name_prefix="gtdocs-upload")
    pending: dict = {}
    failure: BaseException | None = None
    try:
        # Inside the try: starting the threads takes long enough for uploads to finish meanwhile.
        for item in items:
            pending[pool.submit(_put, s3, item)] = item
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                item = pending.pop(future)
                if future.cancelled():
                    continue
                error = future.exception()
                if error is not None:
                    failure = failure or error
                    _cancel(pending)
                    continue
                on_done(item, future.result())
                if progress:
                    progress()
    except BaseException as error:      # KeyboardInterrupt: keep what has been uploaded, then stop
        failure = failure or error
        _cancel(pending)
        for future, item in pending.items():
            if not future.cancelled() and future.exception() is None:
                on_done(item, future.result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if failure is not None:
        raise failure


def _put(s3: S3, item: Desired) -> str:
    return s3.put(item.upload())


def _cancel(pending: dict) -> None:
    for future in pending:
        future.cancel()


class ProgressBar:
    """A rich progress bar on standard error, shown only on a terminal and for at least 8 steps."""

    def __init__(self, label: str):
        from rich.console import Console

        self.label = label
        self.console = Console(stderr=True)
        self.progress = None
        self.task = None

    def start(self, total: int):
        """Show the bar for `total` steps; return `advance`, or None when no bar is shown."""
        if not self.console.is_terminal or total < 8:    # a few steps end in a moment: no flicker
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn(self.label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 console=self.console, transient=True)
        self.progress.start()
        self.task = self.progress.add_task(self.label, total=total)
        return self.advance

    def advance(self) -> None:
        self.progress.advance(self.task)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
