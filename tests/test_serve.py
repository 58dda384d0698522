"""The live preview on a real server: HTTP, file watching, rebuilds, build events and safety."""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gtdocs import assets
from gtdocs.build import build
from gtdocs.serving.handler import EVENTS_PATH
from gtdocs.serving.server import PreviewServer
from gtdocs.serving import watch
from gtdocs.serving.watch import is_editor_temp, watch_roots

from conftest import EXAMPLE_PROJECT

EVENT_TIMEOUT = 15.0   # seconds to wait for a build event; generous for a loaded CI machine
SETTLE = 0.6           # seconds without a further event before a save counts as one rebuild


# -- helpers ----------------------------------------------------------------------------

class EventStream:
    """A client of the server-sent build events, reading them on a background thread."""

    def __init__(self, server: PreviewServer):
        self.connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        self.connection.request("GET", EVENTS_PATH)
        self.socket = self.connection.sock   # getresponse() hands the socket to the response and clears .sock
        self.response = self.connection.getresponse()
        self.events: queue.Queue[dict] = queue.Queue()
        self.findings: queue.Queue[dict] = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        event_type, data = None, None
        try:
            for raw in self.response:
                line = raw.decode("utf-8").rstrip("\n")
                if line.startswith("event: "):
                    event_type = line[len("event: "):]
                elif line.startswith("data: "):
                    data = line[len("data: "):]
                elif not line and event_type == "build":
                    self.events.put(json.loads(data))
                    event_type, data = None, None
                elif not line and event_type == "findings":
                    self.findings.put(json.loads(data))
                    event_type, data = None, None
        except (OSError, ValueError):
            pass

    def next(self, timeout: float = EVENT_TIMEOUT) -> dict | None:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return None

    def next_findings(self, timeout: float = EVENT_TIMEOUT) -> dict | None:
        try:
            return self.findings.get(timeout=timeout)
        except queue.Empty:
            return None

    def rest(self, seconds: float = SETTLE) -> list[dict]:
        """Return the events that arrive within `seconds`."""
        events = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            event = self.next(left)
            if event is not None:
                events.append(event)
        return events

    def close(self) -> None:
        try:
            self.socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.socket.close()
        self.thread.join(timeout=5)


def fetch(server: PreviewServer, path: str, headers: dict | None = None,
          method: str = "GET") -> tuple[int, http.client.HTTPMessage, bytes]:
    """Send `path` exactly as given (no normalization) and return status, headers and body."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.putrequest(method, path, skip_host="Host" in (headers or {}), skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def page_state(body: bytes) -> dict:
    """Return the build state embedded in a served page's reload script."""
    match = re.search(rb"\}\)\((\{.*\})\);\s*</script>", body)
    assert match, "the served page has no reload script"
    return json.loads(match.group(1))


@pytest.fixture(scope="session")
def warm_cache(tmp_path_factory) -> Path:
    """The example project's cache folder, rendered once for the whole session."""
    project = tmp_path_factory.mktemp("warm") / "example"
    shutil.copytree(EXAMPLE_PROJECT, project, ignore=shutil.ignore_patterns("site", ".gtdocs-cache"))
    build(project)
    return project / ".gtdocs-cache"


@pytest.fixture
def project(example_copy, warm_cache) -> Path:
    shutil.copytree(warm_cache, example_copy / ".gtdocs-cache")
    return example_copy


@pytest.fixture
def server(project):
    preview = PreviewServer(project, "127.0.0.1", 0)
    preview.start()
    yield preview
    preview.stop()


@pytest.fixture
def events(server):
    stream = EventStream(server)
    first = stream.next()
    assert first is not None and first["build"] == server.build_count
    yield stream
    stream.close()


def edit_text(path: Path, old: str, new: str) -> str:
    text = path.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


# -- serving ------------------------------------------------------------------------------

def test_root_lists_bundles(server):
    status, headers, body = fetch(server, "/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert b'href="flowers/index.html"' in body
    assert b'href="photo-subject/index.html"' in body


def test_reload_script_only_served(server, project):
    _, _, body = fetch(server, "/flowers/index.html")
    built = (project / "site" / "flowers" / "index.html").read_text(encoding="utf-8")
    assert b'id="gtdocs-livereload"' in body
    assert body.index(b'id="gtdocs-livereload"') < body.rindex(b"</body>")
    assert "gtdocs-livereload" not in built
    assert page_state(body)["ok"] is True


def test_fragment_gets_reload_script(server):
    _, _, body = fetch(server, "/flowers/short.html")
    assert body.rstrip().endswith(b"</script>")
    assert b'id="gtdocs-livereload"' in body


def test_content_types(server, project):
    site = project / "site"
    (site / "extra.css").write_text("body { color: red; }\n", encoding="utf-8")
    shutil.copyfile(site / "flowers" / "bundle.json", site / "copy.json")
    (site / "still.webp").write_bytes(b"RIFF\x00\x00\x00\x00WEBP")
    assets = sorted((site / "flowers" / "assets").iterdir())
    jpeg = next(path.name for path in assets if path.suffix == ".jpg")
    gif = next(path.name for path in assets if path.suffix == ".gif")
    expected = {
        "/flowers/index.html": "text/html; charset=utf-8",
        "/flowers/template.liquid.html": "text/html; charset=utf-8",
        "/flowers/bundle.json": "application/json",
        f"/flowers/assets/{jpeg}": "image/jpeg",
        f"/flowers/assets/{gif}": "image/gif",
        "/still.webp": "image/webp",
        "/extra.css": "text/css; charset=utf-8",
    }
    for path, content_type in expected.items():
        status, headers, body = fetch(server, path)
        assert status == 200, path
        assert headers["Content-Type"] == content_type, path
        assert int(headers["Content-Length"]) == len(body), path


def test_head_has_no_body(server):
    status, headers, body = fetch(server, "/flowers/bundle.json", method="HEAD")
    assert status == 200
    assert int(headers["Content-Length"]) > 0
    assert body == b""


def test_folder_redirects_to_slash(server):
    status, headers, _ = fetch(server, "/flowers?x=1")
    assert status == 301
    assert headers["Location"] == "/flowers/?x=1"
    status, _, body = fetch(server, "/flowers/")
    assert status == 200
    assert b"View full instructions" in body


def test_folder_without_index_is_404(server):
    status, _, body = fetch(server, "/flowers/assets/")
    assert status == 404
    assert b".jpg" not in body


@pytest.mark.parametrize("path", [
    "/../gtdocs.toml",
    "/flowers/../../gtdocs.toml",
    "/%2e%2e/gtdocs.toml",
    "/%2E%2E%2Fgtdocs.toml",
    "/..%2fgtdocs.toml",
    "/%252e%252e/gtdocs.toml",
    "/%252e%252e%252fgtdocs.toml",
    "/..\\gtdocs.toml",
    "/flowers/..%5c..%5cgtdocs.toml",
    "/%5c..%5cgtdocs.toml",
    "/..%00/gtdocs.toml",
    "//etc/passwd",
    "/%2fetc%2fpasswd",
    "/%c0%ae%c0%ae/gtdocs.toml",
])
def test_traversal_is_404(server, path):
    status, _, body = fetch(server, path)
    assert status == 404
    assert b"gtdocs example project\"\nbundles" not in body
    assert b"root:" not in body


def test_symlink_out_of_site_is_404(server, project):
    site = project / "site"
    os.symlink(project / "gtdocs.toml", site / "leak.txt")
    os.symlink(project / "bundles", site / "sources")
    for path in ("/leak.txt", "/sources/flowers.md", "/sources/"):
        status, _, body = fetch(server, path)
        assert status == 404, path
        assert b"task: bounding-box" not in body, path


def test_symlink_inside_site_served(server, project):
    site = project / "site"
    os.symlink(site / "flowers" / "bundle.json", site / "alias.json")
    status, _, body = fetch(server, "/alias.json")
    assert status == 200
    assert json.loads(body)["bundle"] == "flowers"


def test_foreign_host_rejected(server):
    status, _, _ = fetch(server, "/", headers={"Host": "attacker.example:8000"})
    assert status == 403
    assert fetch(server, "/", headers={"Host": f"localhost:{server.port}"})[0] == 200


def test_post_not_allowed(server):
    status, _, _ = fetch(server, "/", method="POST")
    assert status == 501


def test_concurrent_clients_served(server):
    results = queue.Queue()

    def get():
        results.put(fetch(server, "/flowers/index.html")[0])

    threads = [threading.Thread(target=get) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    statuses = [results.get_nowait() for _ in range(results.qsize())]
    assert statuses == [200] * 24


def test_dropped_clients_leak_no_threads(server):
    baseline = threading.active_count()
    streams = [EventStream(server) for _ in range(20)]
    for stream in streams:
        assert stream.next() is not None
    assert threading.active_count() >= baseline + 20
    for stream in streams:
        stream.close()
    deadline = time.monotonic() + 10
    while threading.active_count() > baseline and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= baseline


def test_stop_ends_open_streams(project):
    server = PreviewServer(project, "127.0.0.1", 0)
    server.start()
    baseline = threading.active_count()
    stream = EventStream(server)
    assert stream.next() is not None
    server.stop()
    stream.thread.join(timeout=5)
    assert not stream.thread.is_alive()
    deadline = time.monotonic() + 5
    while threading.active_count() >= baseline and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() < baseline


# -- rebuilds -----------------------------------------------------------------------------

def test_text_rebuild_starts_no_workers(server, events, project, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a rebuild with nothing to render started worker processes")

    monkeypatch.setattr(assets.multiprocessing, "Pool", refuse)
    bundle = project / "bundles" / "flowers.md"
    bundle.write_text(edit_text(bundle, "Make the box touch", "Make every box touch"), encoding="utf-8")
    event = events.next()
    assert event is not None
    assert event["errors"] == []
    assert event["ok"] is True


def save_write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def save_in_place(path: Path, text: str) -> None:
    # In two writes, as an editor that streams a large buffer out does.
    with path.open("w", encoding="utf-8") as stream:
        stream.write(text[:20])
        stream.flush()
        stream.write(text[20:])


def save_temp_rename(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp.{os.getpid()}")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def save_delete_create(path: Path, text: str) -> None:
    path.unlink()
    time.sleep(0.15)   # longer than the quiet period: the server must wait for the file to return
    path.write_text(text, encoding="utf-8")


def save_with_backup(path: Path, text: str) -> None:
    os.replace(path, path.with_name(path.name + "~"))
    path.write_text(text, encoding="utf-8")


def save_like_vim(path: Path, text: str) -> None:
    # Vim with 'backup' and 'writebackup': probe the folder, keep a backup, write, drop the backup.
    swap = path.with_name(f".{path.name}.swp")
    swap.write_bytes(b"b0VIM 9.0")
    probe = path.with_name("4913")
    probe.write_bytes(b"")
    probe.unlink()
    backup = path.with_name(path.name + "~")
    os.replace(path, backup)
    path.write_text(text, encoding="utf-8")
    backup.unlink()
    swap.write_bytes(b"b0VIM 9.0 written")


@pytest.mark.parametrize("save", [save_write_text, save_in_place, save_temp_rename, save_delete_create, save_with_backup,
                                  save_like_vim])
def test_save_pattern_one_rebuild(server, events, project, save):
    bundle = project / "bundles" / "flowers.md"
    before = server.build_count
    save(bundle, edit_text(bundle, "Leave no gap", f"Leave no gap ({save.__name__})"))
    event = events.next()
    assert event is not None
    assert event["ok"] is True
    assert event["bundles"] == ["flowers"]
    assert events.rest() == []
    assert server.build_count == before + 1
    _, _, body = fetch(server, "/flowers/index.html")
    assert f"({save.__name__})".encode() in body


def test_editor_files_no_rebuild(server, events, project):
    folder = project / "bundles"
    before = server.build_count
    for name in (".flowers.md.swp", ".flowers.md.swx", "4913", ".#flowers.md", "#flowers.md#", "flowers.md~",
                 ".goutputstream-ABC123"):
        (folder / name).write_text("scratch", encoding="utf-8")
    (project / "images" / "pillow_flower.jpg~").write_bytes(b"old")
    assert events.rest() == []
    assert server.build_count == before


def test_unrelated_file_no_rebuild(server, events, project):
    before = server.build_count
    (project / "notes.txt").write_text("to do", encoding="utf-8")
    (project / "images" / "unused.jpg").write_bytes((project / "images" / "pillow_flower.jpg").read_bytes())
    assert events.rest() == []
    assert server.build_count == before


def test_image_rebuilds_its_bundles(server, events, project):
    image = project / "images" / "skimage_coffee.png"
    image.write_bytes(image.read_bytes())
    event = events.next()
    assert event is not None
    assert event["bundles"] == ["photo-subject"]
    assert events.rest() == []


def test_manifest_rebuilds_its_bundles(server, events, project):
    manifest = project / "labels" / "flowers.manifest"
    save_temp_rename(manifest, manifest.read_text(encoding="utf-8"))
    event = events.next()
    assert event is not None
    assert event["bundles"] == ["flowers"]


def test_config_rebuilds_all(server, events, project):
    config = project / "gtdocs.toml"
    config.write_text(edit_text(config, 'title = "gtdocs example project"', 'title = "Renamed project"'),
                      encoding="utf-8")
    event = events.next()
    assert event is not None
    assert event["ok"] is True
    assert event["bundles"] is None
    _, _, body = fetch(server, "/")
    assert b"Renamed project" in body


def test_new_bundle_built(server, events, project):
    source = (project / "bundles" / "flowers.md").read_text(encoding="utf-8")
    (project / "bundles" / "tulips.md").write_text(source.replace("Draw a box around each flower", "Tulips"),
                                                   encoding="utf-8")
    event = events.next()
    assert event is not None
    assert event["bundles"] == ["tulips"]
    assert fetch(server, "/tulips/index.html")[0] == 200
    assert b"tulips/index.html" in fetch(server, "/")[2]


def test_output_writes_no_rebuild(server, events, project):
    (project / "site" / "scratch.html").write_text("<p>x</p>", encoding="utf-8")
    (project / ".gtdocs-cache" / "scratch.json").write_text("{}", encoding="utf-8")
    assert events.rest() == []


# -- errors -------------------------------------------------------------------------------

def test_broken_edit_shows_error(server, events, project):
    bundle = project / "bundles" / "flowers.md"
    good = bundle.read_text(encoding="utf-8")
    bundle.write_text(good.replace("task: bounding-box", "task: bounding-boxes"), encoding="utf-8")
    event = events.next()
    assert event is not None
    assert event["ok"] is False
    assert any(line.startswith("bundles/flowers.md:3: task: unknown task type 'bounding-boxes'")
               for line in event["errors"])

    status, _, body = fetch(server, "/flowers/index.html")
    assert status == 200
    assert b"Draw one tight box around each open flower." in body
    assert any("unknown task type" in line for line in page_state(body)["errors"])

    bundle.write_text(good, encoding="utf-8")
    fixed = events.next()
    assert fixed is not None
    assert fixed["ok"] is True
    assert fixed["errors"] == []
    assert page_state(fetch(server, "/flowers/index.html")[2])["ok"] is True


def test_error_then_other_change_rebuilds_all(server, events, project):
    bundle = project / "bundles" / "photo-subject.md"
    bundle.write_text(edit_text(bundle, "images/skimage_coffee.png", "images/missing.png"), encoding="utf-8")
    event = events.next()
    assert event is not None
    assert event["ok"] is False
    assert any("image not found: images/missing.png" in line for line in event["errors"])
    shutil.copyfile(project / "images" / "skimage_coffee.png", project / "images" / "missing.png")
    fixed = events.next()
    assert fixed is not None
    assert fixed["ok"] is True
    assert fixed["bundles"] is None


def test_theme_error_keeps_serving(server, events, project):
    theme = project / "theme"
    theme.mkdir()
    (theme / "short.html").write_text("{{ no_such_variable }}", encoding="utf-8")
    event = events.next()
    assert event is not None
    assert event["ok"] is False
    assert any("no_such_variable" in line for line in event["errors"])
    assert fetch(server, "/flowers/index.html")[0] == 200
    (theme / "short.html").unlink()
    fixed = events.next()
    assert fixed is not None
    assert fixed["ok"] is True


def test_failed_first_build_serves_error(make_project):
    root = make_project(bundles={"flowers": "no front matter\n"})
    server = PreviewServer(root, "127.0.0.1", 0)
    server.start()
    try:
        assert server.state.ok is False
        status, headers, body = fetch(server, "/")
        assert status == 404
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert any("bundles/flowers.md:1: has no front matter" in line for line in page_state(body)["errors"])

        stream = EventStream(server)
        assert stream.next() is not None
        from conftest import bundle_text, default_front
        (root / "bundles" / "flowers.md").write_text(bundle_text(default_front()), encoding="utf-8")
        event = stream.next()
        assert event is not None
        assert event["ok"] is True
        assert fetch(server, "/")[0] == 200
        stream.close()
    finally:
        server.stop()


def test_invalid_config_still_serves(make_project):
    root = make_project(config="title = [broken\n")
    server = PreviewServer(root, "127.0.0.1", 0)
    server.start()
    try:
        assert server.state.ok is False
        assert server.state.errors[0].startswith("gtdocs.toml:1: invalid TOML")
        (root / "gtdocs.toml").write_text('title = "Fixed"\n', encoding="utf-8")
        state = server.wait_for_build(1, EVENT_TIMEOUT)
        assert state.ok is True
        assert b"Fixed" in fetch(server, "/")[2]
    finally:
        server.stop()


# -- units --------------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("flowers.md~", True), (".flowers.md.swp", True), (".flowers.md.swx", True), (".flowers.md.swo", True),
    ("4913", True), (".#flowers.md", True), ("#flowers.md#", True), (".goutputstream-XYZ", True),
    ("flowers.md___jb_tmp___", True),
    ("flowers.md", False), ("flower.jpg", False), ("gtdocs.toml", False), ("v2.swp.md", False),
])
def test_editor_temp_names(name, expected):
    assert is_editor_temp(Path("/p") / name) is expected


def test_watch_roots_skip_output(tmp_path):
    for folder in ("bundles", "images/a", "build/site/x", "build/other", ".git/objects", ".gtdocs-cache"):
        (tmp_path / folder).mkdir(parents=True)
    roots = dict(watch_roots(tmp_path, [tmp_path / "build" / "site", tmp_path / ".gtdocs-cache"]))
    assert roots[tmp_path] is False
    assert roots[tmp_path / "bundles"] is True
    assert roots[tmp_path / "images"] is True
    assert roots[tmp_path / "build"] is False
    assert roots[tmp_path / "build" / "other"] is True
    assert tmp_path / "build" / "site" not in roots
    assert tmp_path / ".gtdocs-cache" not in roots
    assert tmp_path / ".git" not in roots


def test_watcher_falls_back_to_polling(tmp_path, monkeypatch):
    class BrokenInotify(watch.Observer):
        def start(self):
            raise OSError(24, "inotify instance limit reached")

    monkeypatch.setattr(watch, "Observer", BrokenInotify)
    changed = queue.Queue()
    watcher = watch.ProjectWatcher(tmp_path, [], changed.put)
    watcher.start()
    try:
        assert isinstance(watcher.observer, watch.PollingObserver)
        (tmp_path / "gtdocs.toml").write_text("title = 'x'\n", encoding="utf-8")
        assert tmp_path / "gtdocs.toml" in changed.get(timeout=10)
    finally:
        watcher.stop()


# -- command line -------------------------------------------------------------------------

def test_cli_prints_url_and_stops(project):
    process = subprocess.Popen([sys.executable, "-m", "gtdocs", "serve", str(project), "-a", "127.0.0.1:0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        match = re.fullmatch(r"Serving (http://127\.0\.0\.1:(\d+)/) \(Ctrl\+C to stop\)\n", line)
        assert match, line
        connection = http.client.HTTPConnection("127.0.0.1", int(match.group(2)), timeout=30)
        connection.request("GET", "/flowers/index.html")
        assert connection.getresponse().status == 200
        connection.close()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
        assert "Stopped." in process.stdout.read()
    finally:
        process.kill()
        process.wait()


def test_cli_port_in_use(project):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "gtdocs", "serve", str(project), "-a", f"127.0.0.1:{port}"],
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_bad_address(project):
    result = subprocess.run([sys.executable, "-m", "gtdocs", "serve", str(project), "-a", "localhost"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "is not HOST:PORT" in result.stderr


# -- check findings --------------------------------------------------------------------------

LONG_SENTENCE = ("When a flower is partly hidden behind a leaf or another flower and you can still see most "
                 "of its petals clearly, draw the box around the part that you can see and do not guess where "
                 "the hidden petals end behind the leaf.")


def test_findings_follow_each_build(server, project):
    # The first build's findings arrive one revision after the build itself.
    state = server.wait_for_revision(1, timeout=EVENT_TIMEOUT)
    assert state.findings["flowers"] == []
    assert state.findings["photo-subject"] == []

    bundle = project / "bundles" / "flowers.md"
    stream = EventStream(server)
    assert stream.next() is not None
    bundle.write_text(edit_text(bundle, "Leave no gap of background.", LONG_SENTENCE), encoding="utf-8")
    build_event = stream.next()
    findings_event = stream.next_findings()
    stream.close()
    assert build_event["bundles"] == ["flowers"]
    assert findings_event["build"] == build_event["build"]
    texts = [finding["text"] for finding in findings_event["findings"]["flowers"]]
    assert any(" T101: " in text for text in texts), texts
    assert findings_event["findings"]["photo-subject"] == []


def test_served_page_carries_findings(server):
    server.wait_for_revision(1, timeout=EVENT_TIMEOUT)
    status, _, body = fetch(server, "/flowers/index.html")
    assert status == 200
    assert page_state(body)["findings"]["flowers"] == []
