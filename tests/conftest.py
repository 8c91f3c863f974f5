"""Shared helpers for the book's tests: where things are, which pages are notebooks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from mig_lib.core import DATA_DIR
from mig_lib.core import REPO_ROOT as ROOT
from mig_lib.core.sitebuild import is_notebook, toc_files  # noqa: F401  (the tests' list of pages)

PUBLISHED = DATA_DIR / "published"
CHAPTER_PARAMS = ROOT / "tests" / "chapter_params"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def source_of(page: str) -> Path:
    for suffix in (".md", ".ipynb"):
        candidate = ROOT / f"{page}{suffix}"
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"_toc.yml names {page!r}, which has no .md or .ipynb file")


def notebooks() -> list[Path]:
    return [source_of(p) for p in toc_files() if is_notebook(source_of(p))]


def chapter_parameters(notebook: Path) -> dict:
    path = CHAPTER_PARAMS / f"{notebook.stem}.yaml"
    if not path.exists():
        return {}
    loaded = yaml.safe_load(path.read_text()) or {}
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: expected a mapping of parameter names to values")
    return loaded


@pytest.fixture(scope="module")
def client():
    """A two-worker Dask LocalCluster, started once per test module that asks for it."""
    from mig_lib.core.distributed import dask_client

    with dask_client(workers=2) as started:
        yield started
