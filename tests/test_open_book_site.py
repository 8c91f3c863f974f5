"""The built website shows what readers need to reuse, cite and reproduce it: the licence footer
and version on every page, the "How to cite" page, and the reproducibility page with each notebook's
time and memory measured during the build (every one under the Binder budget).

Reads the HTML the site test builds (one build per session, shared with tests/test_site.py)."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
import tomllib

import pytest

from conftest import ROOT, is_notebook, source_of, toc_files

pytestmark = pytest.mark.site
HTML = ROOT / "_build" / "html"
MEASUREMENTS = ROOT / "_build" / "chapter_measurements.json"
BUDGET_MB = 1500.0
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
NOTEBOOK_PAGES = [p for p in toc_files() if is_notebook(source_of(p))]


@pytest.fixture(scope="module")
def site():
    try:  # the site test's build, when it ran in this session
        from test_site import _build_site
        failure = _build_site()
    except ImportError:
        build = subprocess.run([sys.executable, "-m", "mig_lib.core.sitebuild"], cwd=ROOT,
                               capture_output=True, text=True)
        failure = "" if build.returncode == 0 else build.stdout[-8000:] + build.stderr[-8000:]
    if failure:
        pytest.fail("book build failed:\n" + failure)
    return HTML


def _text(page: str) -> str:
    return (HTML / f"{page}.html").read_text()


def _plain(markup: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup)))


@pytest.mark.parametrize("page", toc_files())
def test_every_page_shows_the_licences_and_the_version(site, page):
    markup = _text(page)
    footer = re.search(r'<p class="open-book-footer">(.*?)</p>', markup, flags=re.S)
    assert footer, f"{page}: no licence footer"
    text = _plain(footer.group(1))
    assert f"version {VERSION}" in text and "CC BY 4.0" in text and "MIT" in text, text
    for target in re.findall(r'href="([^"]+)"', footer.group(1)):
        target = target.split("#", 1)[0]  # the page's own link is "#"
        if target and not target.startswith("http"):
            assert (HTML / page).parent.joinpath(target).resolve().exists(), f"{page}: footer link {target} is broken"


def test_how_to_cite_cites_the_book_with_its_version_and_each_chapters_paper(site):
    text = _plain(_text("book/how_to_cite"))
    assert f"version {VERSION}" in text
    assert f"version = {{{VERSION}}}" in text, "the BibTeX entry lacks the version"
    for needed in ("Kennan", "Econometrica", "Liao", "27767", "Heterogeneous Social Interactions"):
        assert needed in text, f"How to cite lacks {needed!r}"


def test_reproducibility_page_shows_each_notebook_measured_under_the_budget(site):
    measurements = json.loads(MEASUREMENTS.read_text())
    missing = [p for p in NOTEBOOK_PAGES if p not in measurements]
    assert not missing, f"no measurement for {missing}"
    over = {p: measurements[p]["peak_mb"] for p in NOTEBOOK_PAGES if measurements[p]["peak_mb"] > BUDGET_MB}
    assert not over, f"over the {BUDGET_MB:.0f} MB Binder budget at the defaults: {over}"
    text = _plain(_text("book/reproducibility"))
    for page in NOTEBOOK_PAGES:
        record = measurements[page]
        assert f"{record['wall_seconds']:.0f} s {record['peak_mb']:.0f} MB yes" in text, \
            f"the reproducibility page does not show {page}'s measurement {record}"
    machine = measurements[NOTEBOOK_PAGES[0]]["machine"]
    assert machine["cpu"] in text and f"{machine['memory_gb']:.0f} GB" in text
    for package in ("numpy", "numba", "jupyter-book"):
        assert re.search(rf"{package} (\S+) \1", text), f"{package}: pinned and installed versions not shown"
    assert "data/china/capitals.csv" in text and "MIT" in text
