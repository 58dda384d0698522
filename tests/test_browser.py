"""The preview in headless Chromium: the worker's view, live reload, and the error overlay.

These tests need Debian's Chromium (`apt-get install chromium`, as .ci/run does); set
GTDOCS_CHROMIUM to use another binary. Without it they fail rather than skip, so that
CI cannot pass without having run them.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, sync_playwright

from test_serve import edit_text, project, server, warm_cache  # noqa: F401 (fixtures)

CHROMIUM = Path(os.environ.get("GTDOCS_CHROMIUM", "/usr/bin/chromium"))
# Running as root in a container needs --no-sandbox. The other flags keep Chromium off the network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
RELOAD_TIMEOUT = 15_000   # milliseconds to wait for a rebuild and the page's own reload


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install it with `apt-get install chromium`, "
                    "or set GTDOCS_CHROMIUM to its path", pytrace=False)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, server):
    context = browser.new_context(viewport={"width": 1200, "height": 700})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(server.url + "flowers/index.html")
    yield tab
    context.close()
    assert errors == []


def dialog_open(page: Page) -> bool:
    return page.evaluate("document.getElementById('full-instructions').open")


def test_task_shows_image_header_labels(page: Page):
    image = page.locator(".task-image img")
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    assert page.locator(".task-header").inner_text() == "Draw one tight box around each open flower."
    assert page.locator(".labels li").all_inner_texts() == ["Flower"]
    assert page.locator(".submit").is_visible()


def test_sidebar_has_real_width(page: Page):
    box = page.locator("aside.sidebar").bounding_box()
    assert box is not None
    assert abs(box["width"] - (300 + 34)) <= 1
    examples = page.locator("aside.sidebar img")
    assert examples.count() == 2
    for index in range(examples.count()):
        assert examples.nth(index).evaluate("img => img.complete && img.naturalWidth > 0")


def test_full_instructions_dialog(page: Page):
    assert not dialog_open(page)
    page.click("#open-full")
    assert dialog_open(page)
    assert page.locator("#full-instructions h2", has_text="Tight boxes").is_visible()
    animation = page.locator("#full-instructions img[src$='.gif']")
    assert animation.evaluate("img => img.complete && img.naturalWidth > 0")
    page.click("#close-full")
    assert not dialog_open(page)


def test_narrow_screen_switch(page: Page):
    page.click("#toggle-narrow")
    assert page.get_attribute("#toggle-narrow", "aria-pressed") == "true"
    worker = page.locator("#worker").bounding_box()
    assert worker is not None
    assert worker["width"] <= 420
    page.click("#toggle-narrow")
    assert page.get_attribute("#toggle-narrow", "aria-pressed") == "false"


def test_preview_links_resolve(page: Page):
    links = page.locator("nav.preview-bar a").evaluate_all("links => links.map(link => link.href)")
    assert [link.rsplit("/", 1)[-1] for link in links] == [
        "short.html", "full.html", "template.liquid.html", "bundle.json", "index.html"]
    for link in links:
        assert page.request.get(link).status == 200, link


def test_root_links_to_bundles(page: Page, server):
    page.goto(server.url)
    page.click("text=Draw a box around each flower")
    assert page.url == server.url + "flowers/index.html"
    assert page.locator(".task-header").is_visible()


def test_edit_reloads_keeping_dialog(page: Page, project):
    page.set_viewport_size({"width": 900, "height": 420})
    page.click("#open-full")
    page.evaluate("document.getElementById('full-instructions').scrollTop = 300")
    top = page.evaluate("document.getElementById('full-instructions').scrollTop")
    assert top > 0
    bundle = project / "bundles" / "flowers.md"
    with page.expect_navigation(timeout=RELOAD_TIMEOUT):
        bundle.write_text(edit_text(bundle, "Closed buds are not flowers yet.",
                                    "Closed buds are not flowers yet, said the zebra."), encoding="utf-8")
    page.wait_for_load_state("load")
    assert "said the zebra" in page.locator("#full-instructions").inner_text()
    assert dialog_open(page)
    assert abs(page.evaluate("document.getElementById('full-instructions').scrollTop") - top) <= 2


def test_edit_reloads_keeping_scroll(page: Page, project):
    page.set_viewport_size({"width": 900, "height": 300})
    page.evaluate("window.scrollTo(0, 200)")
    assert page.evaluate("window.scrollY") == 200
    bundle = project / "bundles" / "flowers.md"
    with page.expect_navigation(timeout=RELOAD_TIMEOUT):
        bundle.write_text(edit_text(bundle, "Make the box touch", "Make the box touch, snugly,"), encoding="utf-8")
    page.wait_for_load_state("load")
    assert "snugly" in page.locator("aside.sidebar").inner_text()
    assert page.evaluate("window.scrollY") == 200


def test_error_overlay_shows_and_clears(page: Page, project):
    page.click("#open-full")
    bundle = project / "bundles" / "flowers.md"
    good = bundle.read_text(encoding="utf-8")
    bundle.write_text(good.replace("task: bounding-box", "task: bounding-boxes"), encoding="utf-8")
    overlay = page.locator("#gtdocs-error-overlay")
    overlay.wait_for(state="visible", timeout=RELOAD_TIMEOUT)
    assert "bundles/flowers.md:3: task: unknown task type 'bounding-boxes'" in overlay.inner_text()
    # The overlay is drawn above the open modal dialog: the pixels there are its background.
    box = overlay.bounding_box()
    assert box is not None
    shot = Image.open(io.BytesIO(page.screenshot(clip={"x": box["x"] + box["width"] / 2, "y": box["y"] + 2,
                                                       "width": 4, "height": 4})))
    assert shot.convert("RGB").getpixel((1, 1)) == (255, 245, 245)
    assert page.locator(".task-header").inner_text() == "Draw one tight box around each open flower."

    with page.expect_navigation(timeout=RELOAD_TIMEOUT):
        bundle.write_text(good, encoding="utf-8")
    page.wait_for_load_state("load")
    assert page.locator("#gtdocs-error-overlay").count() == 0
    assert dialog_open(page)


def test_error_overlay_can_be_hidden(page: Page, project):
    bundle = project / "bundles" / "flowers.md"
    bundle.write_text(edit_text(bundle, "task: bounding-box", "task: boxes"), encoding="utf-8")
    overlay = page.locator("#gtdocs-error-overlay")
    overlay.wait_for(state="visible", timeout=RELOAD_TIMEOUT)
    page.click("#gtdocs-error-hide")
    assert overlay.count() == 0
    page.click("#toggle-narrow")
    assert page.get_attribute("#toggle-narrow", "aria-pressed") == "true"


def test_failed_first_build_page_recovers(browser: Browser, make_project):
    from conftest import bundle_text, default_front
    from gtdocs.serving.server import PreviewServer

    root = make_project(bundles={"flowers": "no front matter\n"})
    preview = PreviewServer(root, "127.0.0.1", 0)
    preview.start()
    context = browser.new_context()
    try:
        tab = context.new_page()
        tab.goto(preview.url)
        overlay = tab.locator("#gtdocs-error-overlay")
        overlay.wait_for(state="visible", timeout=RELOAD_TIMEOUT)
        assert "bundles/flowers.md:1: has no front matter" in overlay.inner_text()
        with tab.expect_navigation(timeout=RELOAD_TIMEOUT):
            (root / "bundles" / "flowers.md").write_text(bundle_text(default_front()), encoding="utf-8")
        tab.wait_for_load_state("load")
        assert tab.locator("a", has_text="Box the flowers").count() == 1
    finally:
        context.close()
        preview.stop()


def test_findings_panel_beside_page(page: Page, project):
    panel = page.locator("#gtdocs-findings summary")
    panel.wait_for(timeout=RELOAD_TIMEOUT)
    assert panel.inner_text() == "gtdocs check: no findings"
    bundle = project / "bundles" / "flowers.md"
    long_sentence = ("When a flower is partly hidden behind a leaf or another flower and you can still see most of "
                     "its petals clearly, draw the box around the part that you can see and do not guess where the "
                     "hidden petals end.")
    with page.expect_navigation(timeout=RELOAD_TIMEOUT):
        bundle.write_text(edit_text(bundle, "Leave no gap of background.", long_sentence), encoding="utf-8")
    page.wait_for_function("document.querySelector('#gtdocs-findings summary')?.textContent.includes('1 warning,')",
                           timeout=RELOAD_TIMEOUT)
    page.click("#gtdocs-findings summary")
    assert "T101" in page.locator("#gtdocs-findings li").first.inner_text()
