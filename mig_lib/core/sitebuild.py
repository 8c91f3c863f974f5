"""Build the website: write the offline assets, then run Jupyter Book with warnings as errors.

``python -m mig_lib.core.sitebuild``            assets + full build into ``_build/html``
``python -m mig_lib.core.sitebuild --assets``   assets only
``python -m mig_lib.core.sitebuild --page chapters/X.md``  one page into ``_build/page_X`` (a
                                                 quick check for authors, same config)

The build measures every notebook it executes (wall time, peak memory of the kernel and whatever
the kernel starts) through the ``open_book`` extension; the measurements are kept in
``_build/chapter_measurements.json`` beside the execution cache and shown on the reproducibility
page. A cached notebook without a measurement is dropped from the cache before the build, so that
it runs, and is measured, again.

Assets are generated, never committed: the Vega bundle from vl-convert (wrapped in a function
scope, because its top-level ``const`` names would clash with the theme's scripts) goes to
``_static/``, which Jupyter Book loads on every page; MathJax 3 comes from the npm package
``mathjax`` into ``book/_vendor/mathjax`` (an extra path, copied to the site root).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "_static"
VENDOR = ROOT / "book" / "_vendor"
MATHJAX_VERSION = "3.2.2"
MEASUREMENTS_NAME = "chapter_measurements.json"
# Free Binder gives each session between 1 and 2 GB; a chapter at its defaults must fit in 1.5 GB.
BINDER_BUDGET_MB = 1500.0
SAMPLE_SECONDS = 0.05


def write_vega_bundle() -> Path:
    import vl_convert

    target = STATIC / "vega-bundle.js"
    STATIC.mkdir(exist_ok=True)
    bundle = vl_convert.javascript_bundle()
    target.write_text("(function () {\n" + bundle + "\n})();\n")
    return target


def vendor_mathjax() -> Path:
    target = VENDOR / "mathjax"
    marker = target / f".version-{MATHJAX_VERSION}"
    if marker.exists():
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is needed once to vendor MathJax (package mathjax@" + MATHJAX_VERSION + ")")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([npm, "pack", f"mathjax@{MATHJAX_VERSION}", "--silent"], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL)
        (tarball,) = Path(tmp).glob("mathjax-*.tgz")
        with tarfile.open(tarball) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith("package/es5/")]
            tar.extractall(tmp, members=members, filter="data")
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        shutil.copytree(Path(tmp) / "package" / "es5", target / "es5")
    marker.touch()
    return target


def write_assets() -> None:
    write_vega_bundle()
    vendor_mathjax()


def toc_files() -> list[str]:
    """Every page of the book, in reading order, as paths without suffix (from _toc.yml)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return files


def executed_pages() -> list[str]:
    """The pages of ``_toc.yml`` that are notebooks (the build executes them), in reading order."""
    return [page for page in toc_files() if is_notebook(ROOT / f"{page}.md")]


def front_matter(path: Path) -> dict:
    """The YAML front matter of a MyST page (empty for a page without one or a missing file)."""
    if path.suffix != ".md" or not path.exists():
        return {}
    text = path.read_text()
    if not text.startswith("---"):
        return {}
    return yaml.safe_load(text.split("---", 2)[1]) or {}


def is_notebook(path: Path) -> bool:
    """A page is a notebook when it is an .ipynb or its front matter declares a kernel."""
    return (path.suffix == ".ipynb" and path.exists()) or "kernelspec" in front_matter(path)


# Every chapter page says, in a ``chapter:`` block of its front matter, which chapter it belongs
# to, the paper it replicates and the package it calls. The introduction's table, the "How to
# cite" table and the test that maps packages to chapters are made from these blocks, so a new
# chapter is announced in one place: its own page (and _toc.yml, which orders the pages).
CHAPTER_KEYS = {
    "number": "the chapter's number (pages of one chapter share it)",
    "paper": "the BibTeX key, in book/references.bib, of the paper the page replicates",
    "package": "the mig_lib subpackage the page calls, e.g. mig_lib.bht",
}
FIRST_PAGE_KEYS = {
    "title": "the chapter's name in the introduction's table",
    "replicates": "the paper as the introduction names it (MyST, e.g. {cite:t}`liao2020`)",
    "builds": "what the reader builds, in a few words, for the introduction's table",
    "prerequisites": "what a reader should know first, for the instructor's guide",
    "reading_time": "a teacher's estimate of a first careful reading, for the instructor's guide",
}
# A chapter of several pages names each page's part ("the model", "estimation").
PART_KEY = ("part", "what this page of a several-page chapter covers, e.g. 'estimation'")


def chapter_pages() -> list[dict]:
    """The chapter pages of ``_toc.yml`` in reading order, each its ``chapter:`` front matter
    plus ``page`` (the path without suffix). Raises ValueError naming the page and the key
    when a block is missing or incomplete."""
    pages, numbers_seen = [], set()
    for page in toc_files():
        if not page.startswith("chapters/"):
            continue
        block = front_matter(ROOT / f"{page}.md").get("chapter")
        if not isinstance(block, dict):
            raise ValueError(f"{page}.md has no `chapter:` block in its front matter "
                             f"(keys: {', '.join(CHAPTER_KEYS)}; see chapters/_template.md)")
        first = block.get("number") not in numbers_seen
        required = {**CHAPTER_KEYS, **(FIRST_PAGE_KEYS if first else {})}
        for key, meaning in required.items():
            if not block.get(key):
                raise ValueError(f"{page}.md: the front matter's `chapter:` block needs {key!r}: {meaning}")
        numbers_seen.add(block["number"])
        pages.append({**block, "page": page})
    for page in pages:
        if sum(other["number"] == page["number"] for other in pages) > 1 and not page.get(PART_KEY[0]):
            raise ValueError(f"{page['page']}.md: the front matter's `chapter:` block needs {PART_KEY[0]!r}: "
                             f"{PART_KEY[1]}")
    return pages


# Measuring a notebook run. The kernel is a child process: its peak resident memory is read from
# the kernel while it runs (Linux VmHWM, exact for one process) and, once it has exited, from the
# children's maximum resident size; the summed memory of the kernel and any processes it starts
# (dask workers) is sampled every SAMPLE_SECONDS. The peak reported is the largest of the three.

@dataclass
class Measurement:
    started: float = field(default_factory=time.time)
    wall_seconds: float = 0.0
    peak_bytes: int = 0
    load_average: float = 0.0

    def as_record(self) -> dict:
        return {"wall_seconds": round(self.wall_seconds, 2),
                "peak_mb": round(self.peak_bytes / 1e6, 1),
                "measured_at": datetime.fromtimestamp(self.started, timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                "load_average": round(self.load_average, 2),
                "machine": machine()}


def _high_water_mark(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _not_yet_executed(process) -> bool:
    """A fork that has not exec'd yet: it shares its parent's memory image (and command line), so
    its resident size and high-water mark are the parent's, not its own."""
    parent = process.parent()
    return parent is not None and process.cmdline() == parent.cmdline()


def _identity(process) -> tuple:
    """A process's pid with its start time (a pid alone may be reused)."""
    import psutil

    try:
        return process.pid, process.create_time()
    except psutil.Error:
        return process.pid, None


@contextlib.contextmanager
def measure_children():
    """Measure the processes this process starts inside the block (a notebook's kernel)."""
    import psutil

    me = psutil.Process()
    measured = Measurement(load_average=os.getloadavg()[0])
    # Processes alive before the block (a lingering worker of an earlier run) are not the block's:
    # they are left out of the samples, and since one of them may end and be reaped inside the
    # block, the kernel's peak of reaped children is then not attributable to the block either.
    existing = {_identity(child) for child in me.children(recursive=True)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    done = threading.Event()
    sampled_a_child = threading.Event()

    def sample():
        while True:
            total = 0
            for child in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    if _identity(child) in existing or _not_yet_executed(child):
                        continue
                    sampled_a_child.set()
                    total += child.memory_info().rss
                    measured.peak_bytes = max(measured.peak_bytes, _high_water_mark(child.pid))
            measured.peak_bytes = max(measured.peak_bytes, total)
            if done.wait(SAMPLE_SECONDS):
                return

    sampler = threading.Thread(target=sample, daemon=True)
    start = time.perf_counter()
    sampler.start()
    try:
        yield measured
    finally:
        measured.wall_seconds = time.perf_counter() - start
        done.set()
        sampler.join()
        # The peak of reaped children is this process's, not the block's: any process this process
        # reaps inside the block counts (under pytest-xdist, a worker left by an earlier test). It is
        # the block's only when the block's own children were too short-lived to be sampled.
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        if after > before and not existing and not sampled_a_child.is_set():
            measured.peak_bytes = max(measured.peak_bytes, after)


def machine() -> dict:
    import psutil

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu, "cores": cores, "memory_gb": round(psutil.virtual_memory().total / 1e9, 1),
            "system": f"{platform.system()} {platform.release()}",
            "python": platform.python_version()}


def load_measurements(path: Path) -> dict[str, dict]:
    return json.loads(path.read_text()) if path.exists() else {}


def store_measurement(path: Path, page: str, record: dict) -> None:
    measurements = load_measurements(path)
    measurements[page] = record
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(measurements, indent=1, sort_keys=True) + "\n")


def chapter_rows(measurements: dict[str, dict], pages: list[str]) -> list[dict]:
    """One row per executed page: what the reproducibility page and binder_budget.py print."""
    rows = []
    for page in pages:
        record = measurements.get(page)
        if record is None:
            rows.append({"page": page, "wall": "not measured", "peak": "not measured", "fits": "unknown",
                         "measured_at": "", "load": ""})
            continue
        rows.append({"page": page, "wall": f"{record['wall_seconds']:.0f} s",
                     "peak": f"{record['peak_mb']:.0f} MB",
                     "fits": "yes" if record["peak_mb"] <= BINDER_BUDGET_MB else "NO",
                     "measured_at": record["measured_at"], "load": f"{record['load_average']:.1f}"})
    return rows


def pinned_packages() -> dict[str, str]:
    """Every exact pin of pyproject.toml (the library and its extras): name -> version."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {}
    for requirement in [*project["dependencies"], *(r for group in project["optional-dependencies"].values()
                                                     for r in group)]:
        name, _, version = requirement.partition("==")
        pins[name.strip()] = version.strip()
    return pins


def data_sources() -> dict[str, dict]:
    """``data/SOURCES.yaml``: every data file's source and terms, keyed by path under data/."""
    return yaml.safe_load((ROOT / "data" / "SOURCES.yaml").read_text())["files"]


def forget_unmeasured(build_dir: Path) -> list[str]:
    """Drop from the execution cache every notebook page that has no measurement, so that the
    build runs and measures it; returns the pages dropped."""
    cache_dir = build_dir / ".jupyter_cache"
    if not cache_dir.exists():
        return []
    from jupyter_cache import get_cache

    measured = load_measurements(build_dir / MEASUREMENTS_NAME)
    unmeasured = {(ROOT / f"{page}.md").resolve(): page for page in executed_pages() if page not in measured}
    cache = get_cache(cache_dir)
    dropped = []
    for record in cache.list_cache_records():
        page = unmeasured.get(Path(record.uri).resolve())
        if page is not None:
            cache.remove_cache(record.pk)
            dropped.append(page)
    return dropped


def jupyter_book(args: list[str]) -> int:
    env = dict(os.environ, MIG_LIB_BOOK_BUILD="1")
    exe = Path(sys.executable).with_name("jupyter-book")
    return subprocess.call([str(exe), "build", *args], cwd=ROOT, env=env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", action="store_true", help="write the offline assets only")
    parser.add_argument("--page", help="build one page (path relative to the repository root)")
    args = parser.parse_args(argv)
    write_assets()
    if args.assets:
        return 0
    if args.page:
        # The whole book's configuration with a table of contents of just this page, so that
        # paths (bibliography, vendored assets) resolve as in the full build.
        page = Path(args.page).with_suffix("")
        out = ROOT / "_build" / f"page_{page.name}"
        out.mkdir(parents=True, exist_ok=True)
        toc = out / "_toc.yml"
        pages = ["book/how_to_run", page.as_posix(), "book/references"]
        toc.write_text("format: jb-book\nroot: book/intro\nchapters:\n"
                       + "".join(f"  - file: {p}\n" for p in dict.fromkeys(pages)))
        forget_unmeasured(out / "_build")
        return jupyter_book([".", "--toc", str(toc), "--path-output", str(out), "-W", "--keep-going"])
    forget_unmeasured(ROOT / "_build")
    return jupyter_book([".", "-W", "--keep-going"])


if __name__ == "__main__":
    raise SystemExit(main())
