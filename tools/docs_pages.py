"""The generated pages of the documentation site: API reference, gallery and home page.

Pure functions from the package, the recipe registry, the README and (optionally) a runs folder to
Markdown text; ``tools/gen_docs.py`` writes them into the site while ``mkdocs build`` runs, and the
tests call them without MkDocs installed.

- ``public_modules()``: every public module of ``basiskit`` (no ``_``-prefixed part), found on disk with
  ``pkgutil`` without importing anything, so a new family shows up in the API reference when it lands.
- ``api_pages()``: one page per public module (``api/basiskit/nn/kan_linear.md``; a package's page is its
  ``index.md``) holding a mkdocstrings ``:::`` block, plus ``api/SUMMARY.md``, the section's navigation.
- ``gallery_page(runs)``: every registered recipe (paper, summary, claims with targets); with a runs folder,
  the newest run's claim values and plots, whose PNG files come back as ``{site path: source path}``.
- ``results_table(name)``: the paper's figure, our quick and our full figure of each claim of a recipe, from the
  runs recorded under ``docs/runs/`` (``tools/record_run.py``); ``expand_results`` puts one in place of each
  ``<!-- results: NAME -->`` line of a docs page (``tools/docs_hooks.py`` does it while MkDocs builds).
- ``home_page(readme)``: the README with its ``docs/`` links made relative to the site.
"""
from __future__ import annotations

import ast
import html
import importlib.util
import json
import pkgutil
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

API_DIR = "api"
GALLERY_PAGE = "gallery.md"
GALLERY_ASSETS = "gallery"


# ---- API reference ------------------------------------------------------------------------------
def _is_public(name: str) -> bool:
    return not any(part.startswith("_") for part in name.split("."))


def module_files(package: str = "basiskit") -> dict[str, Path]:
    """{dotted name: source file} of ``package`` and all its public modules and subpackages (a package's file
    is its ``__init__.py``), found with ``pkgutil`` on disk: nothing is imported."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.submodule_search_locations is None:
        raise ValueError(f"package must name an importable package, got {package!r}")
    found = {package: Path(spec.origin or "")}

    def walk(paths: list[str], prefix: str) -> None:
        for info in pkgutil.iter_modules(paths, prefix):
            if not _is_public(info.name):
                continue
            where = Path(info.module_finder.path) / info.name.rsplit(".", 1)[-1]  # type: ignore[union-attr]
            if info.ispkg:
                found[info.name] = where / "__init__.py"
                walk([str(where)], info.name + ".")
            else:
                found[info.name] = where.with_suffix(".py")

    walk(list(spec.submodule_search_locations), package + ".")
    return dict(sorted(found.items()))


def public_modules(package: str = "basiskit") -> list[str]:
    """Dotted names of ``package`` and all its public modules and subpackages, sorted, none imported."""
    return list(module_files(package))


def is_package(module: str, modules: Iterable[str]) -> bool:
    """Whether ``module`` has submodules among ``modules``."""
    return any(m.startswith(module + ".") for m in modules)


def api_path(module: str, package: bool) -> str:
    """Site path of a module's page: ``api/basiskit/nn/kan_linear.md``, a package's ``.../index.md``."""
    parts = module.split(".")
    return "/".join([API_DIR, *parts, "index.md"] if package else [API_DIR, *parts[:-1], parts[-1] + ".md"])


def first_paragraph(source: Path) -> str:
    """The first paragraph of a module's docstring on one line, reST roles as code spans ("" if none)."""
    from griffe_rest import rest_to_markdown

    doc = ast.get_docstring(ast.parse(source.read_text(encoding="utf-8"))) or ""
    lines = []
    for line in doc.strip().splitlines():
        if not line.strip() or line.strip().startswith(".. "):
            break
        lines.append(line.strip())
    return rest_to_markdown(" ".join(lines))


def api_page(module: str, children: dict[str, Path] | None = None, modules: Iterable[str] = ()) -> str:
    """Markdown of one module's reference page: a mkdocstrings block rendered from its docstrings; for a
    package, then a table of its direct submodules (``children``: {name: file}) with their first lines."""
    text = f"# `{module}`\n\n::: {module}\n"
    if children:
        modules = list(modules)
        rows = []
        for child, source in children.items():
            short = child.rsplit(".", 1)[-1]
            link = f"{short}/index.md" if is_package(child, modules) else f"{short}.md"
            summary = first_paragraph(source).replace("|", "\\|")
            rows.append(f"| [`{short}`]({link}) | {summary} |")
        text += "\n## Modules\n\n| module | summary |\n| --- | --- |\n" + "\n".join(rows) + "\n"
    return text


def api_pages(package: str = "basiskit") -> dict[str, str]:
    """{site path: Markdown} of every public module's page plus ``api/SUMMARY.md`` (literate-nav)."""
    files = module_files(package)
    modules = list(files)
    pages = {}
    nav = []
    for m in modules:
        package_like = is_package(m, modules)
        children = {c: f for c, f in files.items() if c.rsplit(".", 1)[0] == m and c != m}
        pages[api_path(m, package_like)] = api_page(m, children, modules)
        depth = m.count(".")
        rel = api_path(m, package_like)[len(API_DIR) + 1:]
        nav.append(f"{'    ' * depth}* [{m.rsplit('.', 1)[-1] if depth else m}]({rel})")
    pages[f"{API_DIR}/SUMMARY.md"] = "\n".join(nav) + "\n"
    return pages


# ---- gallery ------------------------------------------------------------------------------------
def _cell(text: Any) -> str:
    """``text`` safe inside a Markdown table cell: HTML escaped, pipes and emphasis marks escaped."""
    out = html.escape(str(text), quote=False)
    for ch in "|*_[]":
        out = out.replace(ch, "\\" + ch)
    return " ".join(out.split())


def _number(value: Any) -> str:
    return "missing" if value is None else f"{float(value):.4g}"


@dataclass
class Gallery:
    """The gallery page's Markdown and the plot files it shows, ``{site path: source file}``."""

    markdown: str
    images: dict[str, Path] = field(default_factory=dict)


def _families() -> tuple[dict[str, tuple[str, str]], list[str]]:
    """recipe -> (paper id, family) from ``basiskit.papers``, and the families in the order they appear."""
    from basiskit.papers import PAPERS

    where: dict[str, tuple[str, str]] = {}
    order: list[str] = []
    for paper in PAPERS:
        pid, family, recipes = paper.id, paper.family, paper.recipes
        if family not in order:
            order.append(family)
        for name in recipes:
            where.setdefault(name, (pid, family))
    return where, order


def _run_status(run: dict[str, Any] | None) -> str:
    if run is None:
        return "no run"
    if run.get("status") != "ok":
        return str(run.get("status", "error"))
    claims = run.get("claims", [])
    met = sum(bool(c["met"]) for c in claims)
    size = "quick" if run.get("quick") else "full"
    return f"{met}/{len(claims)} met ({size}, run {run['dir'].name})"


def _recipe_section(spec: Any, run: dict[str, Any] | None, runs: Path | None,
                    images: dict[str, Path]) -> list[str]:
    from basiskit.recipes.core import Claim

    module_page = api_path(spec.module, package=False)
    out = [f"### `{spec.name}`", "", f"*{_cell(spec.paper)}*", "", _cell(spec.summary), "",
           f"`basiskit run {spec.name}` (add `--quick` for the small size) · source: "
           f"[`{spec.module}`]({module_page})", ""]
    full, quick = spec.claims_for(spec.config()), spec.claims_for(spec.config(quick=True))
    claims: list[Claim] = full + [c for c in quick if c not in full]
    measured = {c["claim"]: c for c in (run or {}).get("claims", [])}
    if claims:
        headers = ["claim", "paper's figure", "note"] + (["newest run", "result"] if runs is not None else [])
        rows = []
        for c in claims:
            paper = "-" if c.paper is None else _number(c.paper) + (f" ({_cell(c.paper_setting)})"
                                                                    if c.paper_setting else "")
            row = [f"`{c.describe()}`" + ("" if c in full else " (quick size only)"), paper, _cell(c.note) or "-"]
            if runs is not None:
                got = measured.get(c.describe())
                row += (["-", "not measured"] if got is None else
                        [f"{_number(got['value'])} (target {got['op']} {_number(got['target'])})",
                         "met" if got["met"] else "**not met**"])
            rows.append(row)
        out += ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        out.append("")
    else:
        out += ["No claims registered.", ""]
    out.append(results_table(spec.name))
    if runs is not None:
        out += [f"Newest run: {_run_status(run)}.", ""]
        if run is not None and run.get("error"):
            out += [f"Error: `{run['error']}`", ""]
        for plot in (run or {}).get("plots", []):
            source = Path(run["dir"]) / plot
            if not source.is_file():
                continue
            target = f"{GALLERY_ASSETS}/{spec.name}/{Path(plot).name}"
            images[target] = source
            out += [f"![{spec.name}: {_cell(Path(plot).stem)}]({target})", ""]
    return out


def gallery_page(runs: str | Path | None = None) -> Gallery:
    """The gallery of every registered recipe; with ``runs``, the newest run of each with its plots.

    ``runs`` is a folder of ``basiskit run`` output (``RECIPE/<timestamp>/metrics.json``); a folder that
    does not exist raises ValueError, one without runs of a recipe shows "no run" for it.
    """
    from basiskit.recipes.core import RECIPES
    from basiskit.report import collect_runs

    root = None if runs is None else Path(runs)
    if root is not None and not root.is_dir():
        raise ValueError(f"runs must be an existing folder of recipe runs, got {str(root)!r}")
    newest = {name: found[0] for name, found in collect_runs(root).items()} if root is not None else {}
    where, family_order = _families()
    specs = [RECIPES.get(name) for name in RECIPES.names()]
    groups: dict[str, list[Any]] = {}
    for spec in specs:
        groups.setdefault(where.get(spec.name, ("-", "baseline"))[1], []).append(spec)
    order = [f for f in family_order if f in groups] + sorted(set(groups) - set(family_order))

    source = ("the newest run of each recipe under `" + str(root) + "`" if root is not None
              else "the recipe registry alone (build with `make docs RUNS=runs` to add measured claims and plots)")
    out = ["# Gallery", "",
           f"Every recipe: a paper's headline claim as a command. Generated from {source}.", "",
           "A claim is a number with a direction, checked when the recipe runs and reported as met or not met.", "",
           "| recipe | paper | family | " + ("newest run |" if root is not None else "claims |"),
           "| --- | --- | --- | --- |"]
    for family in order:
        for spec in groups[family]:
            pid = where[spec.name][0] + ": " if spec.name in where else ""
            status = (_run_status(newest.get(spec.name)) if root is not None
                      else str(len(spec.claims_for(spec.config()))))
            anchor = re.sub(r"[^a-z0-9_-]", "", spec.name.lower())
            out.append(f"| [`{spec.name}`](#{anchor}) | {pid}{_cell(spec.paper)} | {family} | {status} |")
    out.append("")
    images: dict[str, Path] = {}
    for family in order:
        out += [f"## {family}", ""]
        for spec in groups[family]:
            out += _recipe_section(spec, newest.get(spec.name), root, images)
    return Gallery("\n".join(out), images)


# ---- paper / quick / full tables ----------------------------------------------------------------
RECORDED_RUNS = Path(__file__).resolve().parent.parent / "docs" / "runs"
RESULTS_MARKER = re.compile(r"<!--\s*results:\s*([a-z0-9_-]+)\s*-->")


def _recorded(name: str, size: str, root: Path) -> tuple[dict[str, Any] | None, str, str]:
    """(metrics.json, its command line + machine line, not-run reason) recorded for ``name`` at ``size``."""
    folder = root / name / size
    metrics = json.loads((folder / "metrics.json").read_text()) if (folder / "metrics.json").is_file() else None
    command = (folder / "command.txt").read_text().strip() if (folder / "command.txt").is_file() else ""
    reason = (folder / "not-run.txt").read_text().strip() if (folder / "not-run.txt").is_file() else ""
    return metrics, command, reason


def _seconds(s: Any) -> str:
    if s is None:
        return "-"
    s = float(s)
    return f"{s:.0f} s" if s < 120 else (f"{s / 60:.0f} min" if s < 7200 else f"{s / 3600:.1f} h")


def results_table(name: str, root: str | Path | None = None) -> str:
    """The paper's figure, our quick figure and our full-size figure of each claim of recipe ``name``, side by
    side, with the wall time here and the command that repeats each run (from ``docs/runs/NAME/{quick,full}``,
    written by ``tools/record_run.py``). Unknown recipes raise the registry's error."""
    from basiskit.recipes.core import RECIPES

    spec = RECIPES.get(name)
    root = RECORDED_RUNS if root is None else Path(root)
    quick, quick_cmd, _ = _recorded(name, "quick", root)
    full, full_cmd, full_reason = _recorded(name, "full", root)
    registered = spec.claims_for(spec.config()) + spec.claims_for(spec.config(quick=True))
    paper = {c.describe(): c for c in registered}
    rows: dict[str, dict[str, Any]] = {}
    for c in registered:
        rows.setdefault(c.describe(), {})
    for size, run in (("quick", quick), ("full", full)):
        for c in (run or {}).get("claims", []):
            rows.setdefault(c["claim"], {})[size] = c

    def measured(c: dict[str, Any] | None, run: dict[str, Any] | None, reason: str) -> str:
        if c is None:
            return ("not run" if run is None else "not claimed at this size") if not reason else "not run"
        verdict = "met" if c["met"] else "**not met**"
        target = "" if c["target"] is None else " " + _cell(f"(target {c['op']} {_number(c['target'])})")
        return f"{_number(c['value'])}{target}, {verdict}"

    out = [f"**`{name}`: the paper and ours**", "",
           "| claim | paper | ours, quick | ours, full |", "| --- | --- | --- | --- |"]
    for claim, got in rows.items():
        c = paper.get(claim)
        fig = got.get("full") or got.get("quick") or {}
        value, setting = (c.paper, c.paper_setting) if c is not None else (fig.get("paper"), fig.get("paper_setting"))
        p = "-" if value is None else _number(value) + (f" ({_cell(setting)})" if setting else "")
        out.append(f"| `{claim}` | {p} | {measured(got.get('quick'), quick, '')} | "
                   f"{measured(got.get('full'), full, full_reason)} |")
    def took(run: dict[str, Any] | None) -> str:
        run = run or {}
        cpu = run.get("cpu_seconds")
        return _seconds(run.get("seconds")) + ("" if cpu is None else f" ({_seconds(cpu)} CPU)")

    out.append(f"| wall time here (CPU time of the process) | - | {took(quick)} | {took(full)} |")
    out.append("")
    for label, cmd, run in (("Quick", quick_cmd, quick), ("Full", full_cmd, full)):
        if run is not None and cmd:
            line, *rest = cmd.splitlines()
            out.append(f"{label}: `{line}` {_cell(' '.join(r.lstrip('# ') for r in rest))}".rstrip() + "  ")
        elif run is None and label == "Quick":
            out.append("Quick: no recorded run.  ")
    if full is None:
        out.append(f"Full: not run{': ' + _cell(full_reason) if full_reason else ''}.  ")
    out.append("")
    return "\n".join(out)


def expand_results(markdown: str, root: str | Path | None = None) -> str:
    """Replace each ``<!-- results: NAME -->`` line of a docs page with recipe NAME's results table."""
    return RESULTS_MARKER.sub(lambda m: results_table(m.group(1), root), markdown)


# ---- home page ----------------------------------------------------------------------------------
_CODE = re.compile(r"`[^`]*`")
_LINK = re.compile(r"\[([^\]]*)\]\((?!https?://|#|mailto:)([^)\s]+)\)")


def home_page(readme: str) -> str:
    """The README as the site's home page: ``[text](docs/x.md)`` links become ``[text](x.md)``; links to
    other files of the repository (not part of the site) become their text and the path in code; in table
    rows, ``\\|`` inside code spans (GitHub's escape) becomes ``|`` (Python-Markdown keeps code spans whole)."""

    def fix(match: re.Match[str]) -> str:
        label, target = match.group(1), match.group(2)
        if target.startswith("docs/"):
            return f"[{label.removeprefix('docs/')}]({target.removeprefix('docs/')})"
        return f"{label} (`{target}`)"

    lines = []
    for line in _LINK.sub(fix, readme).split("\n"):
        if line.lstrip().startswith("|"):
            line = _CODE.sub(lambda m: m.group(0).replace("\\|", "|"), line)
        lines.append(line)
    return "\n".join(lines)
