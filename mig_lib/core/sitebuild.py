"""Build the website: write the offline assets, then run Jupyter Book with warnings as errors.

``python -m mig_lib.core.sitebuild``            assets + full build into ``_build/html``
``python -m mig_lib.core.sitebuild --assets``   assets only
``python -m mig_lib.core.sitebuild --page chapters/X.md``  one page into ``_build/page_X`` (a
                                                 quick check for authors, same config)

Assets are generated, never committed: the Vega bundle from vl-convert (wrapped in a function
scope, because its top-level ``const`` names would clash with the theme's scripts) goes to
``_static/``, which Jupyter Book loads on every page; MathJax 3 comes from the npm package
``mathjax`` into ``book/_vendor/mathjax`` (an extra path, copied to the site root).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "_static"
VENDOR = ROOT / "book" / "_vendor"
MATHJAX_VERSION = "3.2.2"


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
        return jupyter_book([".", "--toc", str(toc), "--path-output", str(out), "-W", "--keep-going"])
    return jupyter_book([".", "-W", "--keep-going"])


if __name__ == "__main__":
    raise SystemExit(main())
