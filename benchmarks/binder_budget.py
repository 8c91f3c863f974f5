"""Does every page of the book run on free Binder? Wall time and peak memory of each notebook page
at its default parameters, the same measurement the book build makes for the reproducibility page.

Each page runs through papermill in a fresh kernel (as in Binder, one kernel per notebook); the
peak is that of the kernel and any process it starts (mig_lib.core.sitebuild.measure_children).
Printed beside each run: the measurement of the last book build (_build/chapter_measurements.json),
so the two can be compared side by side. Exits 1 if a page peaks over the 1.5 GB budget.

Usage: python benchmarks/binder_budget.py [--pages chapters/02_kennan_walker ...] [--build-only] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mig_lib.core import sitebuild  # noqa: E402
from mig_lib.run import execute_chapter  # noqa: E402


def measure_page(page: str) -> dict:
    source = ROOT / f"{page}.md"
    with tempfile.TemporaryDirectory() as tmp, sitebuild.measure_children() as measured:
        # The build runs each notebook in its own folder; so does this, writing nothing there.
        execute_chapter(source, Path(tmp) / "out.ipynb", cwd=source.parent)
    return measured.as_record()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", nargs="+", help="pages to run (default: every notebook page of _toc.yml)")
    parser.add_argument("--build-only", action="store_true", help="print the last build's measurements, run nothing")
    parser.add_argument("--json", action="store_true", help="print the measurements as JSON")
    args = parser.parse_args(argv)

    pages = args.pages or sitebuild.executed_pages()
    unknown = [p for p in pages if p not in sitebuild.executed_pages()]
    if unknown:
        parser.error(f"--pages {unknown} are not notebook pages of _toc.yml; allowed: {sitebuild.executed_pages()}")
    built = sitebuild.load_measurements(ROOT / "_build" / sitebuild.MEASUREMENTS_NAME)
    fresh = {} if args.build_only else {page: measure_page(page) for page in pages}
    if args.json:
        print(json.dumps({"budget_mb": sitebuild.BINDER_BUDGET_MB, "this_run": fresh,
                          "last_build": {p: built[p] for p in pages if p in built}}, indent=1))
    else:
        print(f"Binder budget {sitebuild.BINDER_BUDGET_MB:.0f} MB per page at its defaults; "
              f"machine: {json.dumps(sitebuild.machine())}")
        header = f"{'page':44s} {'run':>12s} {'peak':>12s} {'fits':>7s} | {'build run':>12s} {'peak':>12s} {'measured':>21s}"
        print(header)
        print("-" * len(header))
        this_rows = {r["page"]: r for r in sitebuild.chapter_rows(fresh, pages)}
        for row in sitebuild.chapter_rows(built, pages):
            mine = this_rows[row["page"]]
            if args.build_only:
                mine = {"wall": "-", "peak": "-", "fits": row["fits"]}
            print(f"{row['page']:44s} {mine['wall']:>12s} {mine['peak']:>12s} {mine['fits']:>7s} | "
                  f"{row['wall']:>12s} {row['peak']:>12s} {row['measured_at']:>21s}")
    peaks = [r["peak_mb"] for r in (fresh or {p: built[p] for p in pages if p in built}).values()]
    return 1 if any(peak > sitebuild.BINDER_BUDGET_MB for peak in peaks) else 0


if __name__ == "__main__":
    raise SystemExit(main())
