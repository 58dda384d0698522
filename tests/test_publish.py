"""`gtdocs publish` against moto's S3 server on 127.0.0.1: objects, ACLs, URLs, records and failures."""

from __future__ import annotations

import ipaddress
import itertools
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import botocore.session
import pytest
from botocore.stub import Stubber
from click.testing import CliRunner

from gtdocs.build import build
from gtdocs.cli import main
from gtdocs.errors import InputError
from gtdocs.publish import publish
from gtdocs.publishing.failures import PublishError
from gtdocs.publishing.s3 import S3, Upload
from gtdocs.publishing.target import Location, Target, locate, quote_key

from conftest import bundle_text, default_front
from s3server import (S3Server, bucket_in_region, delay_puts, deny_delete, deny_put, ignore_public_acls,
                      slow_down)

ACCESS_KEY = "AKIATESTINGGTDOCS"
SECRET_KEY = "gtdocs-test-secret-never-printed"
SPECIAL_BUNDLE = "fleurs #1 + ?é"
SPECIAL_PREFIX = "docs v2/a+b#c?é"
FLOWERS_BODY = ("Box each flower. Liquid in author text stays text: {{ x }} and {% raw %}.\n\n[[good | bad]]\n\n"
                "<!-- full -->\nThe full instructions.\n\n[[good]]\n")
bucket_numbers = itertools.count()


# -- fixtures ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server():
    s3 = S3Server().start()
    yield s3
    s3.stop()


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch, tmp_path):
    """Dummy credentials, no AWS config files, no instance metadata, and no connection off this machine."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    # A client made without an endpoint would go to this closed loopback port, never to AWS.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)

    connect = socket.socket.connect

    def loopback_only(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not ipaddress.ip_address(address[0]).is_loopback:
            raise RuntimeError(f"a test tried to connect to {address[0]}, off this machine")
        return connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)


@pytest.fixture(scope="module")
def built_project(tmp_path_factory) -> Path:
    """A project of two bundles, built once so that each test's copy renders nothing."""
    root = tmp_path_factory.mktemp("publish") / "project"
    (root / "bundles").mkdir(parents=True)
    (root / "images").mkdir()
    shutil.copyfile(Path(__file__).parent.parent / "example-project" / "images" / "sklearn_flower.jpg",
                    root / "images" / "sklearn_flower.jpg")
    (root / "gtdocs.toml").write_text('title = "Publish test"\n', encoding="utf-8")
    (root / "bundles" / "flowers.md").write_text(bundle_text(default_front(), FLOWERS_BODY), encoding="utf-8")
    (root / "bundles" / f"{SPECIAL_BUNDLE}.md").write_text(
        bundle_text(default_front(), "Short.\n\n[[good]]\n\n<!-- full -->\nFull.\n"), encoding="utf-8")
    build(root)
    return root


@pytest.fixture
def project(built_project, tmp_path) -> Path:
    target = tmp_path / "project"
    shutil.copytree(built_project, target)
    return target


@pytest.fixture(scope="module")
def admin(server):
    return botocore.session.get_session().create_client(
        "s3", region_name="us-east-1", endpoint_url=server.endpoint,
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)


@pytest.fixture
def bucket(admin) -> str:
    name = f"gtdocs-test-{next(bucket_numbers)}"
    admin.create_bucket(Bucket=name)
    return name


@pytest.fixture(autouse=True)
def clean_server(server):
    yield
    server.clear_faults()


def run(server, project: Path, bucket: str, **overrides):
    """Publish `project` in this process; return the result and the lines it printed."""
    lines = []
    settings = {"bucket": bucket, "endpoint_url": server.endpoint, **overrides}
    result = publish(project, settings, echo=lambda message="", **_: lines.append(message),
                     dry_run=settings.pop("dry_run", False), prune=settings.pop("prune", False))
    return result, lines


def record_of(project: Path, bundle: str = "flowers") -> dict:
    return json.loads((project / "site" / bundle / "published" / "publish.json").read_text(encoding="utf-8"))


def is_public(admin, bucket: str, key: str) -> bool:
    grants = admin.get_object_acl(Bucket=bucket, Key=key)["Grants"]
    return any(grant["Grantee"].get("URI", "").endswith("/global/AllUsers") and grant["Permission"] == "READ"
               for grant in grants)


def anonymous_get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), b""


class ImageSources(HTMLParser):
    """Every URL in the src and srcset attributes of <img> elements."""

    def __init__(self, html: str):
        super().__init__()
        self.urls: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag != "img":
            return
        for name, value in attrs:
            if name == "src":
                self.urls.append(value)
            elif name == "srcset":
                self.urls.extend(candidate.strip().rsplit(" ", 1)[0] for candidate in value.split(","))


# -- URLs ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("client_endpoint", "region", "bucket", "expected"), [
    # Virtual-hosted, in the bucket's own region.
    ("https://s3.eu-west-1.amazonaws.com", "eu-west-1", "my-bucket", "https://my-bucket.s3.eu-west-1.amazonaws.com/a/k.png"),
    # botocore's us-east-1 endpoint has no region in it; the URL names the region all the same.
    ("https://s3.amazonaws.com", "us-east-1", "my-bucket", "https://my-bucket.s3.us-east-1.amazonaws.com/a/k.png"),
    # A bucket name with dots does not match S3's certificate as a subdomain: path style.
    ("https://s3.eu-west-1.amazonaws.com", "eu-west-1", "docs.example.com",
     "https://s3.eu-west-1.amazonaws.com/docs.example.com/a/k.png"),
    ("https://s3.cn-north-1.amazonaws.com.cn", "cn-north-1", "my-bucket",
     "https://my-bucket.s3.cn-north-1.amazonaws.com.cn/a/k.png"),
    # Any other endpoint: path style on that endpoint.
    ("http://127.0.0.1:9000/", "us-east-1", "my-bucket", "http://127.0.0.1:9000/my-bucket/a/k.png"),
])
def test_object_url_by_endpoint(client_endpoint, region, bucket, expected):
    assert locate(client_endpoint, region, bucket).object_url(bucket, "a/k.png") == expected


def test_url_encodes_each_segment():
    assert quote_key("docs v2/a+b#c?é/x~y.jpg") == "docs%20v2/a%2Bb%23c%3F%C3%A9/x~y.jpg"


def test_url_keeps_slashes_between_segments():
    location = Location("https://s3.us-east-1.amazonaws.com", "us-east-1", virtual_hosted=True)
    assert location.object_url("b-1", "p/q r/s") == "https://b-1.s3.us-east-1.amazonaws.com/p/q%20r/s"


# -- public mode ------------------------------------------------------------------------------

def test_assets_uploaded_public_read(server, admin, project, bucket):
    run(server, project, bucket)
    assets = [entry for entry in record_of(project)["objects"] if entry["kind"] == "asset"]
    assert assets
    for entry in assets:
        head = admin.head_object(Bucket=bucket, Key=entry["key"])
        local = project / "site" / "flowers" / "assets" / entry["key"].rsplit("/", 1)[1]
        assert is_public(admin, bucket, entry["key"]), entry["key"]
        assert head["ContentType"] == "image/jpeg"
        assert head["CacheControl"] == "public, max-age=31536000, immutable"
        assert head["Metadata"]["sha256"] == entry["sha256"]
        assert head["ContentLength"] == local.stat().st_size


def test_template_and_record_private(server, admin, project, bucket):
    run(server, project, bucket)
    for key in ("flowers/template.liquid.html", "flowers/publish.json"):
        assert not is_public(admin, bucket, key), key
    head = admin.head_object(Bucket=bucket, Key="flowers/template.liquid.html")
    assert head["ContentType"] == "text/html; charset=utf-8"


def test_anonymous_get_public_and_private(server, project, bucket):
    run(server, project, bucket)
    entry = next(entry for entry in record_of(project)["objects"] if entry["kind"] == "asset")
    status, content_type, _ = anonymous_get(entry["url"])
    assert status == 200
    assert content_type == "image/jpeg"
    status, _, _ = anonymous_get(f"{server.endpoint}/{bucket}/flowers/template.liquid.html")
    assert status == 403


def test_published_fragments_use_object_urls(server, project, bucket):
    run(server, project, bucket)
    published = project / "site" / "flowers" / "published"
    urls = ImageSources((published / "short.html").read_text(encoding="utf-8")).urls
    recorded = {entry["url"] for entry in record_of(project)["objects"]}
    assert urls
    assert set(urls) <= recorded
    assert all(url.startswith(f"{server.endpoint}/{bucket}/flowers/assets/") for url in urls)


def test_record_lists_url_and_etag(server, admin, project, bucket):
    run(server, project, bucket)
    for entry in record_of(project)["objects"]:
        assert entry["etag"] == admin.head_object(Bucket=bucket, Key=entry["key"])["ETag"]
    uploaded = json.loads(admin.get_object(Bucket=bucket, Key="flowers/publish.json")["Body"].read())
    assert "local" not in uploaded
    assert [entry["key"] for entry in uploaded["objects"]] == [entry["key"] for entry in record_of(project)["objects"]]


def test_republish_sends_no_put(server, project, bucket):
    first, _ = run(server, project, bucket)
    server.clear_log()
    second, lines = run(server, project, bucket)
    assert first.uploaded > 0
    assert server.seen("PUT") == []
    assert second.uploaded == 0
    assert second.unchanged == first.uploaded
    assert not second.built
    assert any(line.startswith(f"Published 2 bundles: 0 uploaded, {first.uploaded} unchanged") for line in lines)


def test_republish_after_build_sends_no_put(server, project, bucket):
    run(server, project, bucket)
    build(project)
    server.clear_log()
    result, _ = run(server, project, bucket)
    assert server.seen("PUT") == []
    assert result.uploaded == 0


def test_lost_local_record_read_from_bucket(server, project, bucket):
    first, _ = run(server, project, bucket)
    for folder in (project / "site").glob("*/published"):
        shutil.rmtree(folder)
    server.clear_log()
    result, _ = run(server, project, bucket)
    assert server.seen("PUT") == []
    assert result.unchanged == first.uploaded
    assert (project / "site" / "flowers" / "published" / "short.html").is_file()


def test_special_character_keys_load(server, admin, project, bucket):
    run(server, project, bucket, prefix=SPECIAL_PREFIX)
    published = project / "site" / SPECIAL_BUNDLE / "published"
    urls = ImageSources((published / "short.html").read_text(encoding="utf-8")).urls
    assert urls
    for url in urls:
        status, content_type, body = anonymous_get(url)
        assert status == 200, url
        assert content_type.startswith("image/"), url
        assert body, url
    keys = [item["Key"] for item in admin.list_objects_v2(Bucket=bucket)["Contents"]]
    assert any(key.startswith(f"{SPECIAL_PREFIX}/{SPECIAL_BUNDLE}/assets/") for key in keys)


def test_dry_run_uploads_nothing(server, project, bucket):
    server.clear_log()
    result, lines = run(server, project, bucket, dry_run=True)
    assert server.seen("PUT") == []
    assert result.uploaded > 0
    assert any(line.startswith("  upload  assets/") for line in lines)
    assert not (project / "site" / "flowers" / "published").exists()


def test_changed_example_uploads_only_new(server, project, bucket):
    first, _ = run(server, project, bucket)
    source = project / "bundles" / "flowers.md"
    front = default_front()
    front["examples"][1]["annotations"] = [{"label": "Flower", "box": [90, 30, 420, 380]}]
    source.write_text(bundle_text(front, FLOWERS_BODY), encoding="utf-8")
    server.clear_log()
    result, lines = run(server, project, bucket)
    put_keys = sorted(request.key for request in server.seen("PUT"))
    # The bad example's two densities in the short instructions, the template, and the record.
    assert result.uploaded == 3
    assert [key.startswith("flowers/assets/") for key in put_keys] == [True, True, False, False]
    assert put_keys[2:] == ["flowers/publish.json", "flowers/template.liquid.html"]
    assert result.unused == 2
    assert any("--prune" in line for line in lines)


def test_prune_deletes_only_recorded_unused(server, admin, project, bucket):
    run(server, project, bucket)
    old = {entry["key"] for entry in record_of(project)["objects"]}
    admin.put_object(Bucket=bucket, Key="flowers/assets/not-ours.jpg", Body=b"x")
    admin.put_object(Bucket=bucket, Key="elsewhere/file.txt", Body=b"x")
    front = default_front()
    front["examples"][1]["caption"] = "Changed caption, same picture."
    front["examples"][1]["annotations"] = [{"label": "Flower", "box": [90, 30, 420, 380]}]
    (project / "bundles" / "flowers.md").write_text(bundle_text(front, FLOWERS_BODY), encoding="utf-8")
    result, _ = run(server, project, bucket, prune=True)
    keys = {item["Key"] for item in admin.list_objects_v2(Bucket=bucket)["Contents"]}
    current = {entry["key"] for entry in record_of(project)["objects"]}
    assert result.pruned == 2
    assert current <= keys
    assert len(old - current - keys) == 2
    assert {"flowers/assets/not-ours.jpg", "elsewhere/file.txt"} <= keys
    assert record_of(project)["unused"] == []


def test_denied_prune_keeps_record(server, project, bucket):
    run(server, project, bucket)
    front = default_front()
    front["examples"][1]["annotations"] = [{"label": "Flower", "box": [90, 30, 420, 380]}]
    (project / "bundles" / "flowers.md").write_text(bundle_text(front, FLOWERS_BODY), encoding="utf-8")
    server.add_fault(deny_delete(bucket))
    with pytest.raises(PublishError) as info:
        run(server, project, bucket, prune=True)
    assert "s3:DeleteObject" in str(info.value)
    record = record_of(project)
    assert record["local"]["complete"] is True
    assert len(record["unused"]) == 2
    server.clear_faults()
    server.clear_log()
    result, _ = run(server, project, bucket, prune=True)
    assert [request.key for request in server.seen("PUT")] == ["flowers/publish.json"]
    assert result.pruned == 2


# -- private mode -----------------------------------------------------------------------------

LIVE_LIQUID = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
ASSIGNMENT = re.compile(r'\{% assign (gtdocs_image_[0-9a-f]+) = "s3://([^"]+)" \| grant_read_access %\}')
REFERENCE = re.compile(r"\{\{ (gtdocs_image_[0-9a-f]+) \}\}")


def test_private_objects_have_no_acl(server, admin, project, bucket):
    run(server, project, bucket, access="private")
    assets = [entry for entry in record_of(project)["objects"] if entry["kind"] == "asset"]
    for entry in assets:
        assert not is_public(admin, bucket, entry["key"]), entry["key"]
        status, _, _ = anonymous_get(f"{server.endpoint}/{bucket}/{quote_key(entry['key'])}")
        assert status == 403


def test_private_template_grants_each_image_once(server, admin, project, bucket):
    run(server, project, bucket, access="private")
    template = (project / "site" / "flowers" / "published" / "template.liquid.html").read_text(encoding="utf-8")
    assignments = ASSIGNMENT.findall(template)
    variables = [variable for variable, _ in assignments]
    assets = [entry["key"] for entry in record_of(project)["objects"] if entry["kind"] == "asset"]
    assert len(variables) == len(set(variables))
    assert sorted(f"{bucket}/{key}" for key in assets) == sorted(uri for _, uri in assignments)
    # One filter per image, and one for the task's own image.
    assert template.count("grant_read_access") == len(assets) + 1
    assert set(REFERENCE.findall(template)) == set(variables)
    for _, uri in assignments:
        admin.head_object(Bucket=bucket, Key=uri.split("/", 1)[1])


def test_private_template_has_no_other_liquid(server, project, bucket):
    run(server, project, bucket, access="private")
    template = (project / "site" / "flowers" / "published" / "template.liquid.html").read_text(encoding="utf-8")
    live = LIVE_LIQUID.findall(template)
    others = [item for item in live if not ASSIGNMENT.fullmatch(item) and not REFERENCE.fullmatch(item)]
    assert others == ["{{ task.input.taskObject | grant_read_access }}"]
    assert "&#123;&#123; x }}" in template
    assert "&#123;% raw %}" in template
    assert re.search(r"gtdocs-[0-9a-f]+-\d+-url", template) is None    # no placeholder URL is left


def test_private_img_attributes_use_variables(server, project, bucket):
    run(server, project, bucket, access="private")
    template = (project / "site" / "flowers" / "published" / "template.liquid.html").read_text(encoding="utf-8")
    urls = ImageSources(template).urls
    assert urls
    assert all(REFERENCE.fullmatch(url) for url in urls)


def test_private_fragments_say_for_template(server, project, bucket):
    run(server, project, bucket, access="private")
    for name in ("short.html", "full.html"):
        text = (project / "site" / "flowers" / "published" / name).read_text(encoding="utf-8")
        assert text.startswith("<!-- Published by gtdocs for private images")
        assert "template" in text.split("-->", 1)[0]
        assert set(REFERENCE.findall(text)) == {variable for variable, _ in ASSIGNMENT.findall(text)}


def test_switch_to_private_uploads_again(server, admin, project, bucket):
    run(server, project, bucket)
    result, _ = run(server, project, bucket, access="private")
    assets = [entry["key"] for entry in record_of(project)["objects"] if entry["kind"] == "asset"]
    assert result.unchanged == 0
    assert not any(is_public(admin, bucket, key) for key in assets)


def test_private_prefix_rejects_liquid_quote(server, project, bucket):
    with pytest.raises(InputError) as info:
        run(server, project, bucket, access="private", prefix='a"b')
    assert "publish.prefix" in str(info.value)


# -- failures from the server -------------------------------------------------------------------

def test_slow_down_retried(server, project, bucket):
    server.add_fault(slow_down(bucket, times_per_key=1))
    result, _ = run(server, project, bucket)
    puts = [request for request in server.seen("PUT", bucket) if request.key]
    assert result.uploaded > 0
    assert len(puts) == 2 * len({request.key for request in puts})


def test_ignored_public_acl_fails_verification(server, project, bucket):
    server.add_fault(ignore_public_acls(bucket))
    with pytest.raises(PublishError) as info:
        run(server, project, bucket)
    message = str(info.value)
    assert "cannot be loaded by workers" in message
    assert "--access private" in message
    assert all(entry["verified"] is False for entry in record_of(project)["objects"] if entry["kind"] == "asset")


def test_failed_verification_checked_again(server, project, bucket):
    server.add_fault(ignore_public_acls(bucket))
    with pytest.raises(PublishError):
        run(server, project, bucket)
    server.clear_faults()
    server.clear_log()
    result, lines = run(server, project, bucket)
    # Only the record is uploaded again, because it now records that the images load.
    assert sorted(request.key for request in server.seen("PUT")) == [f"{SPECIAL_BUNDLE}/publish.json",
                                                                    "flowers/publish.json"]
    assert any(line.startswith("Verified ") for line in lines)
    assert all(entry["verified"] for entry in record_of(project)["objects"] if entry["kind"] == "asset")


def test_missing_bucket_message(server, project):
    with pytest.raises(PublishError) as info:
        run(server, project, "gtdocs-no-such-bucket")
    assert "bucket 'gtdocs-no-such-bucket' does not exist" in str(info.value)


def test_wrong_region_names_bucket_region(server, project, bucket):
    server.add_fault(bucket_in_region(bucket, "eu-west-1"))
    with pytest.raises(PublishError) as info:
        run(server, project, bucket, region="us-east-1")
    assert "is in region eu-west-1, not us-east-1" in str(info.value)
    assert "--region eu-west-1" in str(info.value)


def test_unset_region_follows_bucket(server, project, bucket):
    server.add_fault(bucket_in_region(bucket, "eu-west-1"))
    result, _ = run(server, project, bucket)
    assert result.uploaded > 0
    assert record_of(project)["region"] == "eu-west-1"
    assert {request.region for request in server.seen("PUT", bucket) if request.key} == {"eu-west-1"}


def test_denied_put_then_run_again_completes(server, admin, project, bucket):
    short = (project / "site" / "flowers" / "short.html").read_text(encoding="utf-8")
    first_asset = ImageSources(short).urls[0].rsplit("/", 1)[1]
    server.add_fault(deny_put(bucket, first_asset))
    with pytest.raises(PublishError) as info:
        run(server, project, bucket)
    assert "Block Public Access" in str(info.value)
    partial = {bundle: record_of(project, bundle) for bundle in ("flowers", SPECIAL_BUNDLE)}
    assert partial["flowers"]["local"]["complete"] is False
    server.clear_faults()
    server.clear_log()
    result, _ = run(server, project, bucket)
    assert result.unchanged == sum(len(record["objects"]) for record in partial.values())
    assert f"flowers/assets/{first_asset}" in {request.key for request in server.seen("PUT")}
    assert record_of(project)["local"]["complete"] is True
    for entry in record_of(project)["objects"]:
        admin.head_object(Bucket=bucket, Key=entry["key"])


def test_interrupted_publish_converges(server, admin, project, bucket):
    server.add_fault(delay_puts(bucket, after=2, seconds=1.5))
    command = [sys.executable, "-m", "gtdocs", "publish", str(project), "--bucket", bucket,
               "--endpoint-url", server.endpoint]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while len(server.seen("PUT", bucket)) < 3 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr.decode()
    partial = record_of(project)
    assert partial["local"]["complete"] is False
    server.clear_faults()
    result, _ = run(server, project, bucket)
    assert result.unchanged >= len(partial["objects"]) > 0
    assert record_of(project)["local"]["complete"] is True
    for entry in record_of(project)["objects"]:
        admin.head_object(Bucket=bucket, Key=entry["key"])


# -- failures S3 returns that moto does not: stubbed client ----------------------------------

def stubbed_s3(access: str = "public-read") -> tuple[S3, Stubber]:
    client = botocore.session.get_session().create_client(
        "s3", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
    target = Target("gtdocs-bucket", "docs", "", "", "", access)
    return S3(target, client), Stubber(client)


PUBLIC_UPLOAD = Upload("docs/flowers/assets/abc.jpg", b"jpeg", "00" * 32, "image/jpeg", "no-cache", "public-read")
PRIVATE_UPLOAD = Upload("docs/flowers/template.liquid.html", b"<p>", "00" * 32, "text/html", "no-cache", None)


# Each error as S3 returns it: code, message, HTTP status and extra fields of the <Error> element.
@pytest.mark.parametrize(("call", "code", "message", "status", "fields", "expected"), [
    ("public put", "AccessControlListNotSupported", "The bucket does not allow ACLs", 400, None,
     ["has ACLs disabled", "--access private"]),
    ("public put", "AccessDenied", "Access Denied", 403, None, ["BlockPublicAcls", "--access private"]),
    ("private put", "AccessDenied", "Access Denied", 403, None, ["s3:PutObject on arn:aws:s3:::gtdocs-bucket/docs/*"]),
    ("list", "ExpiredToken", "The provided token has expired.", 400, None, ["credentials have expired"]),
    ("public put", "SlowDown", "Please reduce your request rate.", 503, None, ["kept throttling", "run again"]),
    ("list", "AuthorizationHeaderMalformed", "The authorization header is malformed; the region 'us-east-1' is "
     "wrong; expecting 'ap-southeast-2'", 400, {"Region": "ap-southeast-2"}, ["is in region ap-southeast-2"]),
], ids=["acls-disabled", "block-public-acls", "denied-private-put", "expired-token", "slow-down-exhausted",
        "wrong-region"])
def test_stubbed_error_message(call, code, message, status, fields, expected):
    s3, stubber = stubbed_s3("private" if call == "private put" else "public-read")
    method = "list_objects_v2" if call == "list" else "put_object"
    stubber.add_client_error(method, code, message, status, service_error_meta=fields)
    with stubber, pytest.raises(PublishError) as info:
        if call == "list":
            s3.list(["docs/"])
        else:
            s3.put(PRIVATE_UPLOAD if call == "private put" else PUBLIC_UPLOAD)
    for phrase in expected:
        assert phrase in str(info.value)
    assert "\n" not in str(info.value)


# -- the command line ---------------------------------------------------------------------------

def test_cli_missing_bucket_setting(project):
    result = CliRunner().invoke(main, ["publish", str(project)])
    assert result.exit_code == 1
    assert "publish.bucket: is not set" in result.output
    assert "Traceback" not in result.output


def test_cli_no_credentials_one_line(server, project, bucket, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = CliRunner().invoke(main, ["publish", str(project), "--bucket", bucket,
                                       "--endpoint-url", server.endpoint])
    assert result.exit_code == 1
    assert "no AWS credentials found" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_cli_never_prints_secret(server, project, bucket):
    result = CliRunner().invoke(main, ["-v", "publish", str(project), "--bucket", bucket,
                                       "--endpoint-url", server.endpoint])
    assert result.exit_code == 0, result.output
    assert SECRET_KEY not in result.output
    assert ACCESS_KEY not in result.output
