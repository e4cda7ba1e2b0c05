"""MkDocs hooks (mkdocs.yml ``hooks:``): each ``<!-- results: NAME -->`` line of a guide becomes recipe NAME's
paper / quick / full table, read from the runs recorded under docs/runs/ (tools/docs_pages.py)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT))

from docs_pages import expand_results  # noqa: E402


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    return expand_results(markdown)
