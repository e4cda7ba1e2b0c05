"""Splice the paper table (``basiskit list recipes --markdown --runs RUNS``) into README.md between markers."""
from __future__ import annotations

import sys
from pathlib import Path

from basiskit.cli import papers_markdown

START, END = "<!-- papers:start -->", "<!-- papers:end -->"


def main(readme: str = "README.md", runs: str = "runs") -> None:
    path = Path(readme)
    text = path.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{readme} has no {START} ... {END} markers")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    table = papers_markdown(Path(runs) if Path(runs).is_dir() else None)
    path.write_text(f"{head}{START}\n{table}\n{END}{tail}")
    print(f"updated the paper table in {readme}")


if __name__ == "__main__":
    main(*sys.argv[1:])
