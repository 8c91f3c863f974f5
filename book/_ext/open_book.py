"""What a reader needs to reuse, cite and reproduce the book, filled in when the book builds.

- The version in ``pyproject.toml`` becomes Sphinx's ``release``, the ``{{ book_version }}``
  substitution (the "How to cite" page) and the ``{version}`` in the licence footer
  (``html.extra_footer`` in ``_config.yml``).
- Every notebook the build executes is measured: wall time and peak memory of its kernel (and
  anything the kernel starts), on this machine. Measurements are kept beside the execution cache,
  so a chapter served from the cache keeps the numbers of the run that made it.
- ``{chapter-list}`` (the introduction) and ``{chapter-papers}`` ("How to cite") are tables made
  from the ``chapter:`` block of every chapter page's front matter (see chapters/_template.md).
- ``{reproducibility-report}`` (the reproducibility page) is replaced, once every page has been
  read and executed, by the machine, the measurements, the package versions and the data
  statement of ``data/SOURCES.yaml``. A chapter over the Binder memory budget is a build warning,
  which fails the build (warnings are errors).
"""

from __future__ import annotations

import contextvars
import functools
import importlib.metadata
import json
import tomllib
from pathlib import Path

import yaml

from docutils import nodes
from docutils.statemachine import StringList
from sphinx import addnodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from mig_lib.core import sitebuild

logger = logging.getLogger(__name__)
REPORT_PAGE = "book/reproducibility"
_executing = contextvars.ContextVar("executing_notebook", default=None)


def book_version() -> str:
    return tomllib.loads((sitebuild.ROOT / "pyproject.toml").read_text())["project"]["version"]


def _set_version(app, config):
    version = book_version()
    config.version = config.release = version
    config.myst_substitutions = {**(config.myst_substitutions or {}), "book_version": version,
                                 "book_repository": config.html_theme_options.get("repository_url", "")}


def _footer(app, pagename, templatename, context, doctree):
    """The licence footer of ``_config.yml`` with the version and links that work from any page."""
    footer = app.config.html_theme_options.get("extra_footer", "")
    pathto = context["pathto"]
    context["theme_extra_footer"] = (footer.replace("{version}", app.config.release)
                                     .replace("{license}", pathto("book/license"))
                                     .replace("{cite}", pathto("book/how_to_cite")))


class BookBibtex(SphinxDirective):
    """The book's BibTeX entry, made from CITATION.cff, the version in pyproject.toml and the
    address of ``repository.url`` in ``_config.yml`` (a fork's copy cites the fork)."""

    def run(self):
        cff_path = sitebuild.ROOT / "CITATION.cff"
        self.env.note_dependency(str(cff_path))
        self.env.note_dependency(str(sitebuild.ROOT / "pyproject.toml"))
        cff = yaml.safe_load(cff_path.read_text())
        authors = " and ".join(a.get("name") or f"{a['family-names']}, {a['given-names']}" for a in cff["authors"])
        year = str(cff.get("date-released", ""))[:4]
        entry = (f"@book{{why_people_move,\n"
                 f"  author  = {{{{{authors}}}}},\n"
                 f"  title   = {{{{{cff['title']}}}}},\n"
                 f"  year    = {{{year}}},\n"
                 f"  version = {{{book_version()}}},\n"
                 f"  url     = {{{self.config.html_theme_options.get('repository_url', '')}}},\n"
                 f"  note    = {{Text, figures and notebooks under CC BY 4.0; code under MIT}}\n}}")
        return [nodes.literal_block(entry, entry, language="bibtex")]


def _chapter_pages(directive: SphinxDirective) -> list[dict]:
    """The chapters' front-matter blocks (mig_lib.core.sitebuild.chapter_pages); the directive's
    page is rebuilt when any chapter page changes."""
    try:
        pages = sitebuild.chapter_pages()
    except ValueError as error:
        raise directive.error(str(error)) from None
    for page in pages:
        directive.env.note_dependency(str(sitebuild.ROOT / f"{page['page']}.md"))
    return pages


def _doc_link(directive: SphinxDirective, page: str, text: str) -> str:
    """A MyST link to a page, or the bare text when the page is not in this build (one-page builds)."""
    return f"{{doc}}`{text} </{page}>`" if page in directive.env.found_docs else text


class ChapterList(SphinxDirective):
    """A table of the chapters made from the ``chapter:`` front matter of every chapter page in
    _toc.yml. ``{chapter-list}`` (the introduction): chapter, paper, what the reader builds and
    the package of mig_lib that holds its code; ``{chapter-list} teaching`` (the instructor's
    guide): chapter, its pages, prerequisites and reading time."""

    optional_arguments = 1

    def run(self):
        view = self.arguments[0] if self.arguments else "papers"
        if view not in ("papers", "teaching"):
            raise self.error(f"chapter-list: {view!r} is not one of 'papers', 'teaching'")
        chapters: dict = {}
        for page in _chapter_pages(self):
            chapters.setdefault(page["number"], []).append(page)
        if view == "papers":
            lines = ["| Chapter | Paper | What you will build | Library |", "|---|---|---|---|"]
        else:
            lines = ["| Chapter | Pages | Prerequisites | Reading time |", "|---|---|---|---|"]
        for number, pages in chapters.items():
            first = pages[0]
            if len(pages) == 1:
                page_links = _doc_link(self, first["page"], "one page")
            else:
                page_links = ", ".join(_doc_link(self, page["page"], f"part {i}: {page['part']}")
                                       for i, page in enumerate(pages, start=1))
            if view == "teaching":
                lines.append(f"| {number}. {first['title']} | {page_links} | {first['prerequisites']} "
                             f"| {first['reading_time']} |")
                continue
            title = _doc_link(self, first["page"], f"{number}. {first['title']}")
            if len(pages) > 1:
                title += f" ({page_links})"
            packages = ", ".join(dict.fromkeys(f"`{page['package']}`" for page in pages))
            lines.append(f"| {title} | {first['replicates']} | {first['builds']} | {packages} |")
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source=self.env.docname), self.content_offset, container)
        return container.children


class ChapterPapers(SphinxDirective):
    """A table of the chapter pages and the paper each replicates, from the ``chapter:`` front
    matter of every chapter page; the full reference and its BibTeX entry come from
    book/references.bib."""

    def run(self):
        from pybtex.database import parse_file

        bib_path = sitebuild.ROOT / "book" / "references.bib"
        self.env.note_dependency(str(bib_path))
        bibliography = parse_file(str(bib_path))
        rows = []
        for chapter in _chapter_pages(self):
            page, key = chapter["page"], chapter["paper"]
            if key not in bibliography.entries:
                raise self.error(f"chapter-papers: {page}.md names the paper {key!r}, which is not in "
                                 f"book/references.bib")
            entry = bibliography.entries[key]
            # A cross-reference, resolved to the chapter's title once every page has been read.
            link = addnodes.pending_xref("", nodes.inline(page, page, classes=["xref", "std", "std-doc"]),
                                         refdoc=self.env.docname, refdomain="std", reftype="doc",
                                         refexplicit=False, refwarn=True, reftarget="/" + page)
            bibtex = entry.to_string("bibtex").strip()
            rows.append([_paragraph(link), _reference_text(entry),
                         nodes.literal_block(bibtex, bibtex, language="bibtex")])
        return [_table(["Chapter", "Paper it replicates", "BibTeX"], rows)]


def _reference_text(entry) -> str:
    people = entry.persons.get("author", [])
    authors = ", ".join(" ".join(p.first_names + p.middle_names + p.prelast_names + p.last_names)
                        for p in people) or "Authors not given"
    fields = entry.fields
    title = str(fields.get("title", "")).replace("{", "").replace("}", "")
    venue = fields.get("journal") or " ".join(x for x in (fields.get("type"), fields.get("number")) if x) \
        or fields.get("note", "")
    details = ", ".join(x for x in (fields.get("volume") and f"vol. {fields['volume']}",
                                    fields.get("pages") and f"pp. {fields['pages']}".replace("--", "-")) if x)
    year = fields.get("year", "n.d.")
    return f"{authors} ({year}). {title}. {venue}" + (f", {details}" if details else "") + "."


# Measuring the notebooks the build executes. myst-nb executes each notebook in
# NotebookClient*.start_client through jupyter-cache's single_nb_execution; the first knows the
# page, the second is where the kernel lives, so both are wrapped.

def _measurements_path(app) -> Path:
    return Path(app.outdir).parent / sitebuild.MEASUREMENTS_NAME


def _install_measurement(app):
    from myst_nb.core.execute import base, cache, direct

    path = _measurements_path(app)
    srcdir = Path(app.srcdir)

    def wrap_start(original):
        @functools.wraps(original)
        def start_client(self):
            token = _executing.set(self.path)
            try:
                return original(self)
            finally:
                _executing.reset(token)
        return start_client

    def wrap_execution(original):
        @functools.wraps(original)
        def single_nb_execution(*args, **kwargs):
            notebook = _executing.get()
            with sitebuild.measure_children() as measured:
                result = original(*args, **kwargs)
            if notebook is not None and result.err is None:
                page = Path(notebook).resolve().relative_to(srcdir.resolve()).with_suffix("").as_posix()
                sitebuild.store_measurement(path, page, measured.as_record())
            return result
        return single_nb_execution

    for module in (cache, direct):
        if not getattr(module.single_nb_execution, "_measured", False):
            module.single_nb_execution = wrap_execution(module.single_nb_execution)
            module.single_nb_execution._measured = True
    for client in base.NotebookClientBase.__subclasses__():
        if "start_client" in vars(client) and not getattr(client.start_client, "_measured", False):
            client.start_client = wrap_start(client.start_client)
            client.start_client._measured = True


class report_placeholder(nodes.General, nodes.Element):
    pass


class ReproducibilityReport(SphinxDirective):
    """``{reproducibility-report} PART``: where a generated table goes (PART: machine, chapters,
    packages, frozen or data); filled in once every notebook has run."""

    required_arguments = 1

    def run(self):
        self.env.note_dependency(str(sitebuild.ROOT / "data" / "SOURCES.yaml"))
        part = self.arguments[0]
        if part not in REPORT_PARTS:
            raise self.error(f"reproducibility-report: part {part!r} is not one of {sorted(REPORT_PARTS)}")
        return [report_placeholder(part=part)]


def _always_reread(app, env, added, changed, removed):
    return [REPORT_PAGE] if REPORT_PAGE in env.found_docs else []


def _table(headers: list[str], rows: list[list]) -> nodes.table:
    table = nodes.table(classes=["open-book-report"])
    group = nodes.tgroup(cols=len(headers))
    table += group
    group += [nodes.colspec(colwidth=1) for _ in headers]

    def row(cells):
        line = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += cell if isinstance(cell, nodes.Element) else nodes.paragraph(text=str(cell))
            line += entry
        return line

    group += nodes.thead("", row(headers))
    group += nodes.tbody("", *[row(r) for r in rows])
    return table


def _paragraph(*parts) -> nodes.paragraph:
    paragraph = nodes.paragraph()
    for part in parts:
        paragraph += part if isinstance(part, nodes.Node) else nodes.Text(part)
    return paragraph


def _machine_part(app, docname, measurements):
    machines = {json.dumps(r["machine"], sort_keys=True): r["machine"] for r in measurements.values()}
    if not machines:
        return [_paragraph("No notebook has been measured yet.")]
    return [_table(["Processor", "Cores", "Memory", "System", "Python"],
                   [[m["cpu"], m["cores"], f"{m['memory_gb']:.0f} GB", m["system"], m["python"]]
                    for m in machines.values()])]


def _chapters_part(app, docname, measurements):
    pages = sitebuild.executed_pages()
    for page in pages:
        record = measurements.get(page)
        if record is None:
            logger.warning(f"no time or memory measured for {page}: run `make clean` and build again",
                           location=docname)
        elif record["peak_mb"] > sitebuild.BINDER_BUDGET_MB:
            logger.warning(f"{page} peaked at {record['peak_mb']:.0f} MB at its defaults, over the "
                           f"Binder budget of {sitebuild.BINDER_BUDGET_MB:.0f} MB", location=docname)
    titles = {name: title.astext() for name, title in app.env.titles.items()}
    rows = []
    for row in sitebuild.chapter_rows(measurements, pages):
        link = nodes.reference("", titles.get(row["page"], row["page"]), internal=True,
                               refuri=app.builder.get_relative_uri(docname, row["page"]))
        rows.append([_paragraph(link), row["wall"], row["peak"], row["fits"], row["measured_at"],
                     row["load"]])
    return [_table(["Page", "Wall time", "Peak memory", f"Under {sitebuild.BINDER_BUDGET_MB / 1000:.1f} GB",
                    "Measured", "Load average"], rows)]


def _packages_part(app, docname, measurements):
    rows = [["Python", "3.11.*", sitebuild.platform.python_version()]]
    for name, pinned in sitebuild.pinned_packages().items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = "not installed"
        rows.append([name, pinned, installed])
    return [_table(["Package", "Pinned in pyproject.toml", "Installed for this build"], rows)]


def _frozen_part(app, docname, measurements):
    frozen = {path: entry for path, entry in sitebuild.data_sources().items() if entry["kind"] == "frozen"}
    if not frozen:
        return [_paragraph("No result under data/ is frozen: every number in the book is computed "
                           "when its page runs, at the parameters the page shows.")]
    return [_table(["File", "What", "Made by"],
                   [[_paragraph(nodes.literal(text=f"data/{path}")), entry["what"],
                     _paragraph(nodes.literal(text=entry["command"]))] for path, entry in frozen.items()])]


def _data_part(app, docname, measurements):
    return [_table(["File", "Source", "Licence", "Terms"],
                   [[_paragraph(nodes.literal(text=f"data/{path}")), entry["source"], entry["licence"],
                     entry["terms"]] for path, entry in sitebuild.data_sources().items()])]


REPORT_PARTS = {"machine": _machine_part, "chapters": _chapters_part, "packages": _packages_part,
                "frozen": _frozen_part, "data": _data_part}


def _fill_report(app, doctree, docname):
    placeholders = list(doctree.findall(report_placeholder))
    if not placeholders:
        return
    measurements = sitebuild.load_measurements(_measurements_path(app))
    for placeholder in placeholders:
        placeholder.replace_self(REPORT_PARTS[placeholder["part"]](app, docname, measurements))


def _patient_notebook_client() -> None:
    """The book build executes notebooks through nbclient, which waits only 4 s for a cell's last
    outputs after the kernel reports the cell done and then drops the rest with a log warning: on
    a busy machine a cell that records hundreds of values (chapter 3's Appendix D) lost its last
    records, and the pages' glue failed. Wait as long as papermill runs do, and fail loudly."""
    from nbclient import NotebookClient

    from mig_lib.run.chapter import IOPUB_TIMEOUT

    if getattr(NotebookClient.__init__, "patient", False):
        return
    original = NotebookClient.__init__

    def patient(self, *args, **kwargs):
        kwargs.setdefault("iopub_timeout", IOPUB_TIMEOUT)
        kwargs.setdefault("raise_on_iopub_timeout", True)
        original(self, *args, **kwargs)

    patient.patient = True
    NotebookClient.__init__ = patient


def setup(app):
    _patient_notebook_client()
    app.add_node(report_placeholder)
    app.add_directive("reproducibility-report", ReproducibilityReport)
    app.add_directive("book-bibtex", BookBibtex)
    app.add_directive("chapter-papers", ChapterPapers)
    app.add_directive("chapter-list", ChapterList)
    app.connect("config-inited", _set_version)
    app.connect("html-page-context", _footer)
    app.connect("builder-inited", _install_measurement)
    app.connect("env-get-outdated", _always_reread)
    app.connect("doctree-resolved", _fill_report)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
