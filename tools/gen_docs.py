"""Run by the mkdocs-gen-files plugin during ``mkdocs build`` (see mkdocs.yml): writes the generated pages.

The home page (from README.md), the API reference (one page per public module) and the gallery; the gallery
shows measured claims and plots when ``DOCS_RUNS`` names a runs folder (``make docs RUNS=runs``).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import mkdocs_gen_files

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT))

from docs_pages import GALLERY_PAGE, api_pages, gallery_page, home_page  # noqa: E402

with mkdocs_gen_files.open("index.md", "w") as f:
    f.write(home_page((ROOT / "README.md").read_text()))

for path, text in api_pages().items():
    with mkdocs_gen_files.open(path, "w") as f:
        f.write(text)

runs = os.environ.get("DOCS_RUNS") or None
gallery = gallery_page(runs)
with mkdocs_gen_files.open(GALLERY_PAGE, "w") as f:
    f.write(gallery.markdown)
for target, source in gallery.images.items():
    with mkdocs_gen_files.open(target, "wb") as f:
        f.write(source.read_bytes())
