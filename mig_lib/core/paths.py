"""Where the book's data lives, found from the package so code runs from any directory
(the website build executes chapters inside chapters/, papermill runs them from the root)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT / "data"


def published_path(chapter: str) -> Path:
    """``data/published/<chapter>.json``, the paper's printed values for a chapter."""
    return DATA_DIR / "published" / f"{chapter}.json"
