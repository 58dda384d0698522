"""Time `gtdocs publish` against `aws s3 sync --acl public-read` on the same 200 images, on a local moto S3.

    python bench/publish_speed.py [--aws /tmp/awscli-venv/bin/aws] [--runs 5]

Needs the AWS CLI in a virtual environment of its own, so that its botocore does not
replace the project's:

    python -m venv /tmp/awscli-venv && /tmp/awscli-venv/bin/pip install awscli

It writes a project of one bundle whose 100 examples render to 200 JPEGs (1x and 2x),
builds it once (not timed), starts `moto_server` on a free loopback port and times, each
`--runs` times, alternating the two tools:

- cold: each tool into an empty bucket (gtdocs also builds from its warm cache, renders
  the pages, uploads the template and record, and GETs every image anonymously);
- no-op: the same command again, with nothing changed.

It prints the median wall time of each and the ratio gtdocs / aws (lower is faster).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PHOTO = REPO / "example-project" / "images" / "sklearn_flower.jpg"    # 640 x 427
EXAMPLES = 100


def write_project(root: Path) -> None:
    """Write a bundle of EXAMPLES examples, each with its own box, placed once in the short instructions."""
    (root / "bundles").mkdir(parents=True)
    (root / "images").mkdir()
    shutil.copyfile(PHOTO, root / "images" / PHOTO.name)
    (root / "gtdocs.toml").write_text('title = "Publish benchmark"\n[render]\ndensities = [1, 2]\n', encoding="utf-8")
    lines = ["---", "title: Box the flower", "task: bounding-box", "labels: [Flower]",
             "header: Draw a box around the flower.", "examples:"]
    for index in range(EXAMPLES):
        lines += [f"  - id: example-{index}", f"    image: images/{PHOTO.name}",
                  f"    verdict: {'good' if index % 2 else 'bad'}", f"    caption: Example {index}.",
                  f"    annotations: [{{label: Flower, box: [{100 + index}, {20 + index}, 250, 250]}}]"]
    lines += ["---", "Box the flower.", ""]
    lines += [f"[[example-{index}]]\n" for index in range(EXAMPLES)]
    (root / "bundles" / "flowers.md").write_text("\n".join(lines), encoding="utf-8")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_moto(port: int) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("moto_server did not start within 30 s")


def timed(command: list[str], environment: dict) -> tuple[float, str]:
    """Run `command`; return its wall time in seconds and its standard error."""
    started = time.perf_counter()
    completed = subprocess.run(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{completed.stdout.decode()}{completed.stderr.decode()}")
    return seconds, completed.stderr.decode()


def phase_times(log: str) -> dict[str, float]:
    """Return the phase durations that `gtdocs -v publish` logs, by phase name."""
    return {match.group(1): float(match.group(2))
            for match in re.finditer(r"Publish phase (.+?) took ([0-9.]+) s", log)}


def verification_cost(endpoint: str, folder: Path, runs: int) -> tuple[float, float]:
    """Return the median seconds of 16-thread PUTs of every file in `folder`, without and with the checks.

    With the checks, each PUT is followed by an anonymous GET of the object, as
    `gtdocs publish` does. The difference is what verification costs on this server.
    """
    import botocore.session
    from botocore.config import Config

    # The same checks, on the same threads, as `gtdocs publish` runs.
    from gtdocs.publishing.verify import Check, Verifier

    client = botocore.session.get_session().create_client(
        "s3", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="bench",
        aws_secret_access_key="bench", config=Config(max_pool_connections=16))
    files = sorted(folder.iterdir())
    seconds: dict[bool, list[float]] = {False: [], True: []}
    for run in range(runs):
        for checked in (False, True):
            bucket = f"cost-{run}-{int(checked)}"
            client.create_bucket(Bucket=bucket)
            verifier = Verifier()

            def put(path: Path) -> None:
                data = path.read_bytes()
                client.put_object(Bucket=bucket, Key=path.name, Body=data, ACL="public-read",
                                  ContentType="image/jpeg")
                if checked:
                    verifier.submit(Check(path.name, f"{endpoint}/{bucket}/{path.name}",
                                          hashlib.sha256(data).hexdigest()))

            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=16) as pool:
                list(pool.map(put, files))
            problems = [cause for cause in verifier.results().values() if cause]
            seconds[checked].append(time.perf_counter() - started)
            verifier.close()
            if problems:
                raise SystemExit(f"verification failed: {problems[0]}")
    return statistics.median(seconds[False]), statistics.median(seconds[True])


def published_assets(site: Path) -> list[str]:
    manifest = json.loads((site / "bundle.json").read_text(encoding="utf-8"))
    return sorted({path for example in manifest["examples"] for path in example["assets"]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--aws", default="/tmp/awscli-venv/bin/aws", help="the AWS CLI to compare with")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each command")
    options = parser.parse_args()
    if not Path(options.aws).exists():
        raise SystemExit(f"{options.aws} not found (install the AWS CLI as this script's docstring shows)")

    work = Path(tempfile.mkdtemp(prefix="gtdocs-publish-bench-"))
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    environment = {**os.environ, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                   "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
                   "AWS_CONFIG_FILE": str(work / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(work / "none")}
    # An installed package ships compiled bytecode; an editable checkout has it only once compiled.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "gtdocs")], check=True,
                   stdout=subprocess.DEVNULL)
    gtdocs = Path(sys.executable).parent / "gtdocs"
    gtdocs_command = [str(gtdocs)] if gtdocs.exists() else [sys.executable, "-m", "gtdocs"]

    project = work / "project"
    write_project(project)
    print("Building the benchmark project (not timed) ...", flush=True)
    subprocess.run(gtdocs_command + ["build", str(project)], check=True, env=environment, stdout=subprocess.DEVNULL)
    site = project / "site" / "flowers"
    assets = published_assets(site)
    sync_folder = work / "sync"
    sync_folder.mkdir()
    for path in assets:
        shutil.copyfile(site / path, sync_folder / Path(path).name)
    total_bytes = sum((sync_folder / Path(path).name).stat().st_size for path in assets)

    server = start_moto(port)
    import botocore.session

    admin = botocore.session.get_session().create_client(
        "s3", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="bench", aws_secret_access_key="bench")
    times: dict[str, list[float]] = {"gtdocs cold": [], "aws cold": [], "gtdocs no-op": [], "aws no-op": []}
    phases: dict[str, list[float]] = {}
    try:
        for run in range(options.runs):
            bucket = f"bench-{run}"
            admin.create_bucket(Bucket=bucket)
            shutil.rmtree(site / "published", ignore_errors=True)
            # -v logs the time of each phase; it prints nothing else on a publish that succeeds.
            publish = gtdocs_command + ["-v", "publish", str(project), "--bucket", bucket, "--prefix", "docs",
                                        "--endpoint-url", endpoint]
            sync = [options.aws, "s3", "sync", str(sync_folder), f"s3://{bucket}/sync/assets", "--acl",
                    "public-read", "--endpoint-url", endpoint, "--only-show-errors"]
            # Alternate which tool goes first, so that neither always meets a warmer server.
            order = [("gtdocs", publish), ("aws", sync)] if run % 2 == 0 else [("aws", sync), ("gtdocs", publish)]
            for name, command in order:
                seconds, log = timed(command, environment)
                times[f"{name} cold"].append(seconds)
                if name == "gtdocs":
                    for phase, phase_seconds in phase_times(log).items():
                        phases.setdefault(phase, []).append(phase_seconds)
                    phases.setdefault("start-up and exit (the rest)", []).append(
                        seconds - sum(phase_times(log).values()))
            for name, command in order:
                times[f"{name} no-op"].append(timed(command, environment)[0])
            listed = admin.list_objects_v2(Bucket=bucket, Prefix="docs/flowers/assets/")
            if listed.get("KeyCount") != len(assets):
                raise SystemExit(f"gtdocs published {listed.get('KeyCount')} images, expected {len(assets)}")
        puts_alone, puts_checked = verification_cost(endpoint, sync_folder, options.runs)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)

    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"{len(assets)} JPEGs, {total_bytes / 1e6:.1f} MB; {options.runs} runs each; "
          f"{os.cpu_count()} cores; Python {platform.python_version()}")
    for name, values in times.items():
        print(f"  {name:13} median {medians[name]:.2f} s   (runs: {', '.join(f'{value:.2f}' for value in values)})")
    print("gtdocs cold, by phase:")
    for phase, values in phases.items():
        print(f"  {phase:32} median {statistics.median(values):.2f} s")
    print(f"{len(assets)} PUTs on 16 threads: median {puts_alone:.2f} s; each followed by its anonymous GET: "
          f"{puts_checked:.2f} s")
    print(f"cold publish / cold sync:   {medians['gtdocs cold'] / medians['aws cold']:.2f}x")
    print(f"no-op publish / no-op sync: {medians['gtdocs no-op'] / medians['aws no-op']:.2f}x")


if __name__ == "__main__":
    main()
