"""Measure the time from saving a file to the reload event reaching a browser, for `gtdocs serve`.

    python bench/serve_latency.py [--edits 20] [--mkdocs PATH] [--profile]

Runs the preview server on a copy of example-project (with its image cache warmed first),
connects an event-stream client, and times `--edits` saves of a bundle's text and of an
image. With `--mkdocs PATH` (the `mkdocs` executable) it times the same kind of one-page
edit under `mkdocs serve`, from the write to the response of its livereload long poll.
It also prints how long the file events of one save are spread out for common editor save
patterns, which bounds the debounce quiet period, and with `--profile` where a text-only
rebuild spends its time. Results go to stdout as Markdown.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import json
import os
import platform
import pstats
import queue
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from PIL import Image

from common import REPO, machine  # bench/common.py, beside this script

sys.path.insert(0, str(REPO))

from gtdocs.build import build  # noqa: E402
from gtdocs.serving.handler import EVENTS_PATH  # noqa: E402
from gtdocs.serving.server import PreviewServer  # noqa: E402

TEXT_ANCHOR = "Make the box touch the petals on every side."
EDITED_IMAGE = "images/pillow_flower.jpg"   # read by two examples of the flowers bundle
PAUSE = 0.3   # seconds between edits, so that each edit is its own save


class EventClient:
    """Reads the server's build events and records when each one arrives."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.connection.request("GET", EVENTS_PATH)
        self.response = self.connection.getresponse()
        self.arrivals: queue.Queue[tuple[float, dict]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for raw in self.response:
            line = raw.decode("utf-8")
            if line.startswith("data: "):
                self.arrivals.put((time.perf_counter(), json.loads(line[len("data: "):])))

    def next_build(self, after: int, timeout: float = 30) -> tuple[float, dict]:
        while True:
            arrival, event = self.arrivals.get(timeout=timeout)
            if event["build"] > after:
                return arrival, event


def time_edits(server: PreviewServer, client: EventClient, writes: list) -> tuple[list[float], list[float]]:
    """Run each write and return the latencies to its reload event and the server's build seconds."""
    latencies, builds = [], []
    for write in writes:
        time.sleep(PAUSE)
        before = server.build_count
        started = time.perf_counter()
        write()
        arrival, event = client.next_build(before)
        if not event["ok"]:
            raise SystemExit(f"the build failed: {event['errors']}")
        latencies.append(arrival - started)
        builds.append(event["seconds"])
    return latencies, builds


def text_writes(project: Path, count: int) -> list:
    bundle = project / "bundles" / "flowers.md"
    original = bundle.read_text(encoding="utf-8")

    def write(index: int):
        return lambda: bundle.write_text(original.replace(TEXT_ANCHOR, f"{TEXT_ANCHOR} Edit {index}."),
                                         encoding="utf-8")
    return [write(index) for index in range(count)]


def image_writes(project: Path, count: int) -> list:
    """Return writes of `count` different versions of an image, so that each one renders anew."""
    path = project / EDITED_IMAGE
    source = Image.open(path).convert("RGB")
    versions = []
    for index in range(count):
        image = source.copy()
        image.putpixel((0, 0), (index * 7 % 256, 0, 0))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=92)
        versions.append(buffer.getvalue())
    return [lambda data=data: path.write_bytes(data) for data in versions]


def save_spans(server: PreviewServer, project: Path, repeats: int = 5) -> dict[str, float]:
    """Return, per editor save pattern, the largest spread in seconds of one save's file events."""
    bundle = project / "bundles" / "flowers.md"
    text = bundle.read_text(encoding="utf-8")

    def in_place():
        bundle.write_text(text, encoding="utf-8")

    def temp_rename():
        temporary = bundle.with_name(".flowers.md.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, bundle)

    def delete_create():
        bundle.unlink()
        bundle.write_text(text, encoding="utf-8")

    def vim_backup():
        probe = bundle.with_name("4913")
        probe.write_bytes(b"")
        probe.unlink()
        backup = bundle.with_name("flowers.md~")
        os.replace(bundle, backup)
        bundle.write_text(text, encoding="utf-8")
        backup.unlink()

    spans = {}
    for save in (in_place, temp_rename, delete_create, vim_backup):
        worst = 0.0
        for _ in range(repeats):
            time.sleep(PAUSE)
            before = server.build_count
            save()
            server.wait_for_build(before, 30)
            worst = max(worst, server.debouncer.last_span)
        spans[save.__name__] = worst
    return spans


def profile_text_rebuild(project: Path) -> str:
    bundle = project / "bundles" / "flowers.md"
    bundle.write_text(bundle.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(10):
        build(project, only={"flowers"})
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    return out.getvalue()


# -- mkdocs --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def time_mkdocs(mkdocs: str, workdir: Path, count: int) -> list[float]:
    """Time `count` one-page edits under `mkdocs serve`, from the write to its long-poll response."""
    project = workdir / "mkdocs-project"
    (project / "docs").mkdir(parents=True)
    (project / "mkdocs.yml").write_text("site_name: Bench\n", encoding="utf-8")
    page = project / "docs" / "index.md"
    page.write_text("# Bench\n\nDraw one box around each open flower.\n", encoding="utf-8")
    port = free_port()
    process = subprocess.Popen([mkdocs, "serve", "-a", f"127.0.0.1:{port}"], cwd=project,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        html = _wait_for_page(f"http://127.0.0.1:{port}/")
        match = re.search(r"livereload\((\d+), (\d+)\)", html)
        if not match:
            raise SystemExit("mkdocs served no livereload script; is this mkdocs 1.4 or later?")
        epoch, request_id = int(match.group(1)), match.group(2)
        latencies = []
        for index in range(count):
            time.sleep(PAUSE)
            responses: queue.Queue[tuple[float, int]] = queue.Queue()

            def poll(epoch=epoch):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/livereload/{epoch}/{request_id}",
                                            timeout=60) as response:
                    responses.put((time.perf_counter(), int(response.read())))

            threading.Thread(target=poll, daemon=True).start()
            time.sleep(0.1)   # let the long poll reach the server before the edit
            started = time.perf_counter()
            page.write_text(f"# Bench\n\nDraw one box around each open flower. Edit {index}.\n", encoding="utf-8")
            arrival, epoch = responses.get(timeout=60)
            latencies.append(arrival - started)
        return latencies
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for_page(url: str) -> str:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode("utf-8")
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


# -- report --------------------------------------------------------------------------------

def row(name: str, seconds: list[float]) -> str:
    ms = sorted(value * 1000 for value in seconds)
    p90 = ms[min(len(ms) - 1, round(0.9 * (len(ms) - 1)))]
    return f"| {name} | {len(ms)} | {statistics.median(ms):.0f} | {p90:.0f} | {ms[0]:.0f} | {ms[-1]:.0f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=20, help="edits timed per case (default 20)")
    parser.add_argument("--mkdocs", help="path of an `mkdocs` executable, to time `mkdocs serve` too")
    parser.add_argument("--profile", action="store_true", help="profile ten text-only rebuilds")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        project = workdir / "example"
        shutil.copytree(REPO / "example-project", project, ignore=shutil.ignore_patterns("site", ".gtdocs-cache"))
        build(project)   # warm the image cache, as after any earlier build

        server = PreviewServer(project, "127.0.0.1", 0)
        server.start()
        try:
            client = EventClient(server.port)
            client.next_build(0)
            text, text_builds = time_edits(server, client, text_writes(project, args.edits))
            image, image_builds = time_edits(server, client, image_writes(project, args.edits))
            spans = save_spans(server, project)
        finally:
            server.stop()
        mkdocs = time_mkdocs(args.mkdocs, workdir, args.edits) if args.mkdocs else None
        profile = profile_text_rebuild(project) if args.profile else None

    facts = machine()
    print(f"Machine: {facts['nproc']} cores ({facts['cpu']}), Python {facts['python']}, {platform.system()} "
          f"{platform.release()}\n")
    print("From the write to the reload event at the client, in milliseconds:\n")
    print("| case | edits | median | p90 | min | max |")
    print("|---|---|---|---|---|---|")
    print(row("gtdocs serve, text edit (flowers.md)", text))
    print(row("gtdocs serve, image edit (pillow_flower.jpg, 4 assets re-rendered)", image))
    if mkdocs:
        print(row("mkdocs serve, one-page text edit", mkdocs))
    print("\nBuild time inside those, in milliseconds:\n")
    print("| case | median | max |")
    print("|---|---|---|")
    for name, seconds in (("text edit", text_builds), ("image edit", image_builds)):
        print(f"| {name} | {statistics.median(seconds) * 1000:.0f} | {max(seconds) * 1000:.0f} |")
    print("\nLargest spread of one save's file events (5 saves each), in milliseconds:\n")
    print("| save pattern | spread |")
    print("|---|---|")
    for name, span in spans.items():
        print(f"| {name} | {span * 1000:.1f} |")
    if profile:
        print("\nProfile of ten text-only rebuilds of one bundle:\n")
        print("```\n" + profile.strip() + "\n```")


if __name__ == "__main__":
    main()
