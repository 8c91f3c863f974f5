"""The book's skeleton: every chapter page declares its chapter, paper and package in its front
matter, imports its package one way, validates every parameter in the cell after the parameters
cell (the one place a range is written) and writes its records last; chapters/_template.md
follows the same skeleton."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import jupytext
import pytest

import mig_lib
from conftest import ROOT, source_of, toc_files
from mig_lib.core.sitebuild import CHAPTER_KEYS, FIRST_PAGE_KEYS, chapter_pages, front_matter

TEMPLATE = ROOT / "chapters" / "_template.md"
CHAPTER_PAGES = [page for page in toc_files() if page.startswith("chapters/")]
# Subpackages of mig_lib that serve every chapter rather than one paper.
SHARED_PACKAGES = {"core", "run"}
# Work in progress elsewhere: each entry is (what, the page or package) -> why it is skipped for now.
PENDING = {
}


def skip_if_pending(what: str, item: str) -> None:
    if (what, item) in PENDING:
        pytest.skip(PENDING[what, item])


def code_cells(path: Path) -> list:
    return [cell for cell in jupytext.read(path).cells if cell.cell_type == "code"]


def test_every_chapter_page_declares_its_chapter_paper_and_package():
    pages = chapter_pages()   # raises, naming the page and the key, for a missing or short block
    assert [page["page"] for page in pages] == CHAPTER_PAGES
    numbers = [page["number"] for page in pages]
    assert numbers == sorted(numbers) and sorted(set(numbers)) == list(range(1, len(set(numbers)) + 1)), \
        f"chapter numbers must run 1, 2, ... in the order of _toc.yml: {numbers}"
    bib = (ROOT / "book" / "references.bib").read_text()
    for page in pages:
        assert re.search(r"@\w+\{" + re.escape(page["paper"]) + ",", bib), \
            f"{page['page']}.md names the paper {page['paper']!r}, which is not in book/references.bib"


PAPER_PACKAGES = sorted(f"mig_lib.{info.name}" for info in pkgutil.iter_modules(mig_lib.__path__)
                        if info.ispkg and info.name not in SHARED_PACKAGES)


def test_every_paper_package_belongs_to_a_chapter():
    declared = {page["package"] for page in chapter_pages()}
    assert declared == set(PAPER_PACKAGES), (
        f"packages without a chapter: {sorted(set(PAPER_PACKAGES) - declared)}; "
        f"chapters naming a missing package: {sorted(declared - set(PAPER_PACKAGES))}")


@pytest.mark.parametrize("name", PAPER_PACKAGES)
def test_paper_package_has_a_front_door(name):
    skip_if_pending("front door", name)
    package = importlib.import_module(name)
    exported = getattr(package, "__all__", None)
    assert exported, f"{name} exports nothing: list its public API in its __init__.py's __all__"
    assert len(set(exported)) == len(exported), f"{name}.__all__ lists a name twice"
    missing = [item for item in exported if not hasattr(package, item)]
    assert not missing, f"{name}.__all__ names what the package does not define: {missing}"


@pytest.mark.parametrize("page", CHAPTER_PAGES)
def test_chapter_imports_its_package_one_way(page):
    skip_if_pending("imports", page)
    package = next(p["package"] for p in chapter_pages() if p["page"] == page)
    short = package.rsplit(".", 1)[1]
    source = "\n".join(cell.source for cell in code_cells(source_of(page)))
    assert f"import {package} as {short}" in source, f"{page}: import the package as `import {package} as {short}`"
    paper_packages = "|".join(sorted({p["package"].rsplit(".", 1)[1] for p in chapter_pages()}))
    other_styles = re.findall(rf"^\s*(from mig_lib\.(?:{paper_packages})\b.*|import mig_lib\.(?:{paper_packages})\.\S+.*)$",
                              source, flags=re.M)
    assert not other_styles, f"{page}: call the package through its front door ({short}.name), not {other_styles}"


def _parameters_and_validation(path: Path) -> tuple[str, str]:
    cells = code_cells(path)
    (index,) = [i for i, cell in enumerate(cells) if "parameters" in cell.metadata.get("tags", [])]
    return cells[index].source, cells[index + 1].source


@pytest.mark.parametrize("page", [*CHAPTER_PAGES, "book/how_to_run", "chapters/_template"])
def test_the_cell_after_the_parameters_validates_every_parameter(page):
    parameters, validation = _parameters_and_validation(source_of(page))
    names = {target.id for node in ast.parse(parameters).body if isinstance(node, ast.Assign)
             for target in node.targets if isinstance(target, ast.Name)}
    calls = [node for node in ast.walk(ast.parse(validation))
             if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check_parameters"]
    assert len(calls) == 1, f"{page}: the cell after the parameters cell calls check_parameters once"
    values, specs = calls[0].args
    assert isinstance(specs, ast.Dict), f"{page}: write the specs as a dict literal in the call"
    spec_names = {key.value for key in specs.keys}
    assert spec_names == names, (f"{page}: parameters without a spec: {sorted(names - spec_names)}; "
                                 f"specs without a parameter: {sorted(spec_names - names)}")


# A range written in a comment, e.g. "in [0, 10]", "integer in (0, 1)", "in [-5, 5]".
RANGE_IN_COMMENT = re.compile(r"#.*\bin [\[(]\s*-?[\w.*]+\s*,")


@pytest.mark.parametrize("page", [*CHAPTER_PAGES, "book/how_to_run", "chapters/_template"])
def test_parameter_ranges_are_written_once(page):
    skip_if_pending("ranges", page)
    parameters, _ = _parameters_and_validation(source_of(page))
    repeated = [line.strip() for line in parameters.splitlines() if RANGE_IN_COMMENT.search(line)]
    assert not repeated, f"{page}: ranges belong in the validation call only, not in comments: {repeated}"


def test_chapter_writes_its_records_last():
    for page in [*CHAPTER_PAGES, "book/how_to_run", "chapters/_template"]:
        assert code_cells(source_of(page))[-1].source.strip() == "write_records(results_path)", \
            f"{page}: the last code cell is `write_records(results_path)`"


def test_template_is_not_a_page_of_the_book_and_shows_every_front_matter_key():
    assert TEMPLATE.exists()
    block = front_matter(TEMPLATE)["chapter"]
    assert set(CHAPTER_KEYS) | set(FIRST_PAGE_KEYS) <= set(block), "the template's `chapter:` block lacks keys"
    assert "chapters/_template" not in toc_files()
    assert "_template" not in (ROOT / "_toc.yml").read_text()


@pytest.mark.parametrize("page, directive", [("book/intro", "```{chapter-list}\n```"),
                                             ("book/instructors", "```{chapter-list} teaching\n```"),
                                             ("book/how_to_cite", "```{chapter-papers}\n```")])
def test_chapter_tables_are_made_from_the_front_matter(page, directive):
    """No page keeps a hand-written list of the chapters: a new chapter is announced once."""
    assert directive in source_of(page).read_text(), f"{page}.md should list the chapters with {directive!r}"
