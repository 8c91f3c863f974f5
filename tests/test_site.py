"""The website, as a reader sees it: built once, served on 127.0.0.1, opened page by page in
headless Debian Chromium at a desktop width (1300 px) and a phone width (375 px). Charts drawn,
math typeset, citations and the Binder link present, no console errors, no request leaving the
machine. And the page reads at that width: the main text never scrolls sideways, nothing in the
main column is wider than the column unless it sits in its own scrolling box, every display
equation fits its column on the desktop (on the phone it fits or scrolls in its own box), every
chart lies inside the window. One screenshot per page and width (the first window), in ``_build/screenshots``."""

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
DESKTOP, PHONE = 1300, 375
WIDTHS = {DESKTOP: 900, PHONE: 812}  # viewport width -> height
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


# Measured in the page, after charts are drawn and math typeset. The main column is the theme's
# article; an element "sits in a scrolling box" when an ancestor inside the column clips or
# scrolls horizontally (overflow-x other than visible) and that box itself fits the column.
_LAYOUT_JS = """() => {
  const column = document.querySelector('article.bd-article');
  if (!column) { return {error: 'no article.bd-article on the page'}; }
  const style = getComputedStyle(column);
  const box = column.getBoundingClientRect();
  const left = box.left + parseFloat(style.paddingLeft) - 1;
  const right = box.right - parseFloat(style.paddingRight) + 1;
  const viewport = document.documentElement.clientWidth;
  const describe = (el) => {
    const r = el.getBoundingClientRect();
    let text = (el.textContent || '').replace(/\\s+/g, ' ').trim().slice(0, 60);
    let id = el.id || (el.closest('[id]') ? el.closest('[id]').id : '');
    return `<${el.tagName.toLowerCase()} class="${el.getAttribute('class') || ''}"> in #${id} `
      + `spans ${Math.round(r.left)}..${Math.round(r.right)} px: "${text}"`;
  };
  const clipped = (el) => {
    for (let a = el.parentElement; a && a !== column; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') { return a; }
    }
    return null;
  };
  // hidden elements (a heading's link before it is hovered) still take room and can widen the page
  const laidOut = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).position !== 'fixed';
  };
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.position !== 'fixed';
  };

  const wide = [];
  const reported = new Set();
  for (const el of column.querySelectorAll('*')) {
    if (!laidOut(el)) { continue; }
    const r = el.getBoundingClientRect();
    if (r.left >= left && r.right <= right) { continue; }
    if (clipped(el)) { continue; }
    let inside = false;
    for (let a = el.parentElement; a && a !== column; a = a.parentElement) {
      if (reported.has(a)) { inside = true; break; }
    }
    reported.add(el);
    if (!inside) { wide.push(describe(el)); }
  }

  const equations = [];
  for (const eq of column.querySelectorAll('mjx-container[display="true"]')) {
    const math = eq.querySelector('mjx-math');
    if (!math || !visible(eq)) { continue; }
    const r = math.getBoundingClientRect();
    const wrapper = eq.closest('div.math') || eq;
    let scrolled = null;
    for (let a = math.parentElement; a && a !== wrapper.parentElement; a = a.parentElement) {
      if (a.scrollWidth > a.clientWidth + 1) { scrolled = a; break; }
    }
    const fits = r.left >= left && r.right <= right && scrolled === null;
    // "its own box": the element that scrolls belongs to this equation and itself fits the column
    const own = scrolled !== null && scrolled.getBoundingClientRect().left >= left
      && scrolled.getBoundingClientRect().right <= right;
    const label = (eq.closest('[id]') || {}).id || '';
    // what the reader sees of the equation: the part inside its box
    const shown = (scrolled || eq).getBoundingClientRect();
    const seen = {left: Math.max(r.left, shown.left), right: Math.min(r.right, shown.right)};
    const number = wrapper.querySelector(':scope > .eqno');
    let overlap = false;
    if (number && visible(number)) {
      const n = number.getBoundingClientRect();
      overlap = n.left < seen.right - 1 && n.right > seen.left + 1 && n.top < r.bottom && n.bottom > r.top;
    }
    equations.push({label: label, width: Math.round(r.width), box: Math.round(shown.width),
                    column: Math.round(right - left - 2),
                    fits: fits, own_box: own, number_overlaps: overlap,
                    tex: (eq.getAttribute('aria-label') || eq.textContent || '').slice(0, 80)});
  }

  const charts = [];
  for (const svg of document.querySelectorAll('.vega-embed svg')) {
    const r = svg.getBoundingClientRect();
    if (r.left < -1 || r.right > viewport + 1) {
      const chart = svg.closest('.vega-embed');
      charts.push(`chart #${chart ? chart.id : '?'} spans ${Math.round(r.left)}..${Math.round(r.right)} px`);
    }
  }
  return {page_width: document.documentElement.scrollWidth, viewport: viewport,
          column: [Math.round(left + 1), Math.round(right - 1)], wide: wide, equations: equations,
          charts: charts};
}"""


def layout_problems(layout: dict, width: int) -> list[str]:
    """What a reader at this window width would trip over, in words."""
    if "error" in layout:
        return [layout["error"]]
    problems = []
    if layout["page_width"] > layout["viewport"] + 1:
        problems.append(f"the page scrolls sideways: {layout['page_width']} px of content in a "
                        f"{layout['viewport']} px window")
    problems += [f"wider than the main column {layout['column']}: {w}" for w in layout["wide"]]
    for eq in layout["equations"]:
        where = (f"equation {eq['label'] or eq['tex']!r} ({eq['width']} px wide, its box "
                 f"{eq['box']} px, the column {eq['column']} px)")
        if width >= DESKTOP and not eq["fits"]:
            problems.append(f"{where} does not fit its column")
        elif not eq["fits"] and not eq["own_box"]:
            problems.append(f"{where} neither fits nor scrolls in its own box")
        if eq["number_overlaps"]:
            problems.append(f"{where}: its number is drawn over the equation")
    problems += [f"outside the {layout['viewport']} px window: {c}" for c in layout["charts"]]
    return problems


@pytest.mark.parametrize("width", list(WIDTHS), ids=[f"{w}px" for w in WIDTHS])
@pytest.mark.parametrize("name", PAGES)
def test_page(site, browser, name, width):
    context = browser.new_context(viewport={"width": width, "height": WIDTHS[width]})
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

    layout = page.evaluate(_LAYOUT_JS)
    # The window the reader first sees: a full-page capture of the longest chapter took over 30 s on a
    # loaded two-core machine (CI timed out on it); the layout checks above already read the whole page.
    page.screenshot(path=str(SCREENSHOTS / f"{name.replace('/', '__')}@{width}px.png"), timeout=120_000)
    context.close()
    assert not outside, f"{name}: requests left 127.0.0.1: {outside[:5]}"
    assert not errors, f"{name}: console errors: {errors[:5]}"
    problems = layout_problems(layout, width)
    assert not problems, f"{name} at {width} px:\n  " + "\n  ".join(problems)


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
