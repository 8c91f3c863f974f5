"""The website, as a reader sees it: built once, served on 127.0.0.1, opened page by page in
headless Debian Chromium. Charts drawn, math typeset, citations and the Binder link present,
no console errors, no request leaving the machine. One screenshot per page."""

from __future__ import annotations

import functools
import http.server
import re
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

from conftest import IN_CI, ROOT, is_notebook, source_of, toc_files

pytestmark = pytest.mark.site
CHROMIUM = Path("/usr/bin/chromium")
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
PAGES = toc_files()
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        message = (f"NO BROWSER: {CHROMIUM} is missing, so the website was NOT checked. "
                   "Install Debian's chromium (apt-get install chromium) or run `make test` as root.")
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@functools.cache
def _build_site() -> str:
    """Build the book once per session (warnings are errors); return its log if it failed."""
    build = subprocess.run([sys.executable, "-m", "mig_lib.core.sitebuild"], cwd=ROOT,
                           capture_output=True, text=True)
    return "" if build.returncode == 0 else build.stdout[-8000:] + build.stderr[-8000:]


@pytest.fixture(scope="module")
def site(browser):
    """The built book, served on 127.0.0.1."""
    failure = _build_site()
    if failure:
        pytest.fail("book build failed:\n" + failure)
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _wait_for_math(page) -> None:
    page.wait_for_function(
        "() => window.MathJax && MathJax.startup && MathJax.startup.promise"
        " && MathJax.startup.document && MathJax.startup.document.getMathItemsWithin"
        " && document.readyState === 'complete'", timeout=30_000)
    page.evaluate("() => MathJax.startup.promise")


@pytest.mark.parametrize("name", PAGES)
def test_page(site, browser, name):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def guard(route):
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.goto(f"{site}/{name}.html", wait_until="load")

    charts = page.locator(".mig-lib-chart").count()
    if charts:
        page.wait_for_function(
            f"() => document.querySelectorAll('.vega-embed svg').length >= {charts}", timeout=30_000)
    assert page.locator(".vega-embed svg").count() >= charts

    has_math = page.locator(".math").count() > 0
    if has_math:
        _wait_for_math(page)
        assert page.locator("mjx-container").count() > 0, f"{name}: math was not typeset"
        assert page.locator("mjx-merror").count() == 0, f"{name}: MathJax could not typeset some math"

    if is_notebook(source_of(name)):
        assert page.locator("a[href*='mybinder.org/v2/gh/']").count() > 0, f"{name}: no Binder link"
    if name == "book/references":
        assert page.locator("div.citation, dl.citation, .bibliography dt, .bibliography").count() > 0

    page.screenshot(path=str(SCREENSHOTS / f"{name.replace('/', '__')}.png"), full_page=True)
    context.close()
    assert not outside, f"{name}: requests left 127.0.0.1: {outside[:5]}"
    assert not errors, f"{name}: console errors: {errors[:5]}"


def test_every_page_was_built(site):
    missing = [p for p in PAGES if not (HTML / f"{p}.html").exists()]
    assert not missing, f"pages in _toc.yml missing from the site: {missing}"


def test_site_has_no_external_script_or_stylesheet(site):
    """Belt and braces: no page's HTML even names an external script or stylesheet."""
    external = re.compile(r"<script[^>]*\ssrc=[\"']https?://|<link[^>]*\shref=[\"']https?://[^>]*stylesheet"
                          r"|<link[^>]*stylesheet[^>]*\shref=[\"']https?://")
    offenders = [str(html.relative_to(HTML)) for html in HTML.rglob("*.html")
                 if external.search(html.read_text(errors="replace"))]
    assert not offenders, f"pages that load external scripts or styles: {offenders[:10]}"
