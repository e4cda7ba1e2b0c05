"""The documentation site's generated pages (tools/docs_pages.py, tools/griffe_rest.py), without MkDocs.

The API reference must cover every public module, found here independently of the generator by walking the
package folder, so a new module or family cannot land without a page.
"""
from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


griffe_rest = _load("griffe_rest")
docs_pages = _load("docs_pages")


def _modules_on_disk() -> set[str]:
    """Public modules of basiskit from the folder tree: every .py file and every folder with __init__.py,
    no name part starting with '_'."""
    found = set()
    base = ROOT / "basiskit"
    for folder, dirs, files in os.walk(base):
        here = Path(folder)
        if not (here / "__init__.py").is_file():
            dirs[:] = []
            continue
        dirs[:] = [d for d in dirs if not d.startswith("_")]
        parts = ("basiskit",) + here.relative_to(base).parts
        found.add(".".join(parts))
        found |= {".".join(parts + (f[:-3],)) for f in files if f.endswith(".py") and not f.startswith("_")}
    return found


def test_every_public_module_has_an_api_page_in_the_nav() -> None:
    on_disk = _modules_on_disk()
    pages = docs_pages.api_pages()
    nav = pages["api/SUMMARY.md"]
    assert {"basiskit", "basiskit.nn", "basiskit.nn.kan_linear", "basiskit.recipes.core"} <= on_disk
    assert set(docs_pages.public_modules()) == on_disk
    for module in on_disk:
        path = docs_pages.api_path(module, docs_pages.is_package(module, on_disk))
        assert f"\n::: {module}\n" in pages[path], module
        assert f"({path.removeprefix('api/')})" in nav, module
    # one page per module plus the nav, and nothing private
    assert len(pages) == len(on_disk) + 1
    assert not any("/_" in path for path in pages)
    assert pages["api/basiskit/nn/kan_linear.md"] == "# `basiskit.nn.kan_linear`\n\n::: basiskit.nn.kan_linear\n"


def test_a_package_page_lists_its_direct_submodules_with_their_first_paragraph() -> None:
    page = docs_pages.api_pages()["api/basiskit/nn/index.md"]
    assert "| [`kan_linear`](kan_linear.md) | ``KANLinear``: a Kolmogorov-Arnold layer" in page
    assert "](ops" not in page and "](../" not in page  # direct children only
    top = docs_pages.api_pages()["api/basiskit/index.md"]
    assert "| [`nn`](nn/index.md) |" in top and "| [`losses`](losses.md) |" in top


def test_module_walk_rejects_a_name_that_is_not_a_package() -> None:
    with pytest.raises(ValueError, match="package must name an importable package, got 'basiskit.losses'"):
        docs_pages.module_files("basiskit.losses")


def test_every_guide_page_is_in_the_site_nav() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())

    def targets(items: list) -> set[str]:
        out: set[str] = set()
        for item in items:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            out |= targets(value) if isinstance(value, list) else {value}
        return out

    in_nav = targets(config["nav"])
    assert {p.name for p in (ROOT / "docs").glob("*.md")} <= in_nav
    assert {"index.md", "gallery.md", "api/"} <= in_nav


# ---- reST -> Markdown -----------------------------------------------------------------------------
def test_math_directive_with_a_continued_formula_becomes_one_latex_block() -> None:
    text = ("Intro line.\n\n.. math::  y = \\sum_i x_i, \\qquad\n           z = 2 y\n\ni.e. :math:`y` is a sum of "
            ":class:`~basiskit.nn.KANLinear` and :func:`basiskit.ops.fn` outputs.")
    assert griffe_rest.rest_to_markdown(text) == (
        "Intro line.\n\n```latex\ny = \\sum_i x_i, \\qquad\nz = 2 y\n```\n\n"
        "i.e. `y` is a sum of `KANLinear` and `basiskit.ops.fn` outputs.")


def test_math_directive_with_an_indented_body_keeps_indent_and_relative_layout() -> None:
    text = "* item\n\n  .. math::\n\n      a = b\n        + c\n\n  after\nend"
    assert griffe_rest.rest_to_markdown(text) == "* item\n\n  ```latex\n  a = b\n    + c\n  ```\n\n  after\nend"


def test_text_without_rest_markup_is_unchanged() -> None:
    text = "Plain ``code`` and *emphasis*.\n\nArgs:\n    x: (batch, n) input.\n"
    assert griffe_rest.rest_to_markdown(text) == text.rstrip("\n")


def test_arg_names_splits_grouped_entries_and_skips_continuation_lines() -> None:
    doc = ("Summary.\n\nArgs:\n    in_channels, out_channels: channel counts\n        (continued: not a name).\n"
           "    width (int): hidden width.\n    *args: passed on.\n    **kwargs: as for ``Base``.\n\n"
           "Returns:\n    y: not an argument.\n")
    assert griffe_rest.arg_names(doc) == ["in_channels", "out_channels", "width", "args", "kwargs"]
    assert griffe_rest.arg_names("Args:\n    Other keywords as :class:`PINN`.\n") == [
        "Other keywords as :class:`PINN`."]
    assert griffe_rest.arg_names("No sections here.") == []


# ---- gallery --------------------------------------------------------------------------------------
def test_gallery_from_the_registry_alone_lists_every_recipe_and_claim() -> None:
    from basiskit.recipes.core import RECIPES

    gallery = docs_pages.gallery_page(None)
    assert gallery.images == {}
    text = gallery.markdown
    assert "newest run" not in text and "make docs RUNS=runs" in text
    for name in RECIPES.names():
        spec = RECIPES.get(name)
        assert f"### `{name}`" in text
        assert f"[`{name}`](#{name})" in text
        assert f"[`{spec.module}`]({docs_pages.api_path(spec.module, False)})" in text
        for claim in spec.claims_for(spec.config()):
            assert f"`{claim.describe()}`" in text
    # grouped by the papers' families, baseline last
    assert text.index("## KAN") < text.index("## operators") < text.index("## physics") < text.index("## baseline")


def _fake_run(root: Path, recipe: str, stamp: str, claims: list[dict], plots: list[str], status: str = "ok") -> Path:
    folder = root / recipe / stamp
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(
        {"recipe": recipe, "status": status, "quick": True, "claims": claims, "plots": plots}))
    for plot in plots:
        (folder / plot).write_bytes(b"\x89PNG fake " + stamp.encode())
    return folder


def test_gallery_with_runs_shows_the_newest_run_its_claims_and_plots(tmp_path: Path) -> None:
    claim = {"claim": "test_rmse < 0.03", "value": 0.0123, "op": "<", "target": 0.03, "met": True}
    _fake_run(tmp_path, "mlp-regression", "20260101-000000", [dict(claim, value=0.5, met=False)], ["old.png"])
    newest = _fake_run(tmp_path, "mlp-regression", "20260102-000000", [claim], ["fit.png", "gone.png"])
    (newest / "gone.png").unlink()
    _fake_run(tmp_path, "kan-fit", "20260102-000000", [], [], status="error")

    gallery = docs_pages.gallery_page(tmp_path)
    text = gallery.markdown
    assert gallery.images == {"gallery/mlp-regression/fit.png": newest / "fit.png"}
    assert "![mlp-regression: fit](gallery/mlp-regression/fit.png)" in text
    section = text.split("### `mlp-regression`")[1]
    assert "| `test_rmse < 0.03` |" in section and "| 0.0123 (target < 0.03) | met |" in section
    assert "Newest run: 1/1 met (quick, run 20260102-000000)." in section
    assert "old.png" not in text
    assert "Newest run: error." in text.split("### `kan-fit`")[1].split("###")[0]
    assert "Newest run: no run." in text.split("### `afkan`")[1].split("###")[0]
    assert "| not measured |" in text.split("### `afkan`")[1].split("###")[0]


def test_gallery_rejects_a_missing_runs_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="runs must be an existing folder of recipe runs, got '.*nowhere'"):
        docs_pages.gallery_page(tmp_path / "nowhere")


# ---- paper / quick / full tables -----------------------------------------------------------------
record_run = _load("record_run")


def _recorded_run(root: Path, recipe: str, quick: bool, claims: list[dict], seconds: float,
                  config: dict | None = None) -> Path:
    """A run folder as ``basiskit run`` writes it (metrics.json + config.yaml)."""
    from basiskit.recipes.core import RECIPES, config_to_dict

    folder = root / recipe / ("20260101-000000" if quick else "20260102-000000")
    folder.mkdir(parents=True)
    cfg = config_to_dict(RECIPES.get(recipe).config(quick=quick))
    cfg.update(config or {})
    machine = {"cpu": "Test CPU", "cores": 2, "threads": 2}
    (folder / "config.yaml").write_text(yaml.safe_dump(
        {"recipe": recipe, "quick": quick, "seed": 0, "basiskit": "0", "torch": "2", "machine": machine,
         "config": cfg}))
    (folder / "metrics.json").write_text(json.dumps(
        {"recipe": recipe, "status": "ok", "quick": quick, "seconds": seconds, "claims": claims, "plots": [],
         "machine": machine, "finished": "2026-01-01T00:00:00"}))
    return folder


def test_record_run_keeps_metrics_config_and_the_command_that_repeats_the_run(tmp_path: Path) -> None:
    claim = {"claim": "test_rmse < 0.03", "value": 0.0123, "op": "<", "target": 0.03, "met": True}
    quick = _recorded_run(tmp_path / "runs", "mlp-regression", True, [claim], 42.0, {"lr": 0.005})
    full = _recorded_run(tmp_path / "runs", "mlp-regression", False, [dict(claim, value=0.004)], 5400.0)
    docs = tmp_path / "docs"
    assert record_run.record(quick, docs) == docs / "mlp-regression" / "quick"
    record_run.record(full, docs)
    command = (docs / "mlp-regression" / "quick" / "command.txt").read_text().splitlines()
    assert command[0] == "basiskit run mlp-regression --quick --threads 2 --set lr=0.005"
    assert "in 42 s wall on Test CPU, 2 threads" in command[1]
    assert (docs / "mlp-regression" / "full" / "command.txt").read_text().startswith(
        "basiskit run mlp-regression --threads 2\n")
    assert json.loads((docs / "mlp-regression" / "full" / "metrics.json").read_text())["seconds"] == 5400.0

    table = docs_pages.results_table("mlp-regression", docs)
    assert "| `test_rmse < 0.03` | - | 0.0123 (target &lt; 0.03), met | 0.004 (target &lt; 0.03), met |" in table
    assert "| wall time here (CPU time of the process) | - | 42 s | 90 min |" in table
    assert "Quick: `basiskit run mlp-regression --quick --threads 2 --set lr=0.005`" in table
    assert "Full: `basiskit run mlp-regression --threads 2`" in table


def test_results_table_says_what_was_not_run_and_why(tmp_path: Path) -> None:
    record_run.not_run("fno-darcy", "needs 3 h here", tmp_path)
    table = docs_pages.results_table("fno-darcy", tmp_path)
    assert "Quick: no recorded run." in table and "Full: not run: needs 3 h here." in table
    assert "| `rel_l2 < 0.05` |" in table
    with pytest.raises(SystemExit, match="not a finished run folder"):
        record_run.record(tmp_path / "nowhere", tmp_path)
    assert docs_pages.expand_results("a\n<!-- results: fno-darcy -->\nb", tmp_path) == f"a\n{table}\nb"


def test_paper_figures_show_beside_ours() -> None:
    from basiskit.recipes.core import RECIPES

    for name in RECIPES.names():
        spec = RECIPES.get(name)
        table = docs_pages.results_table(name, Path("/nonexistent"))
        for c in spec.claims_for(spec.config()):
            if c.paper is not None:
                row = next(line for line in table.splitlines() if line.startswith(f"| `{c.describe()}` |"))
                assert docs_pages._number(c.paper) in row


def test_every_recipe_has_its_table_in_a_guide_and_recorded_runs() -> None:
    """Each recipe's paper / quick / full table sits in a guide, and its quick run (and its full run, or why
    not) is recorded under docs/runs/ with the command that repeats it."""
    from basiskit.recipes.core import RECIPES

    guides = "\n".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))
    placed = docs_pages.RESULTS_MARKER.findall(guides)
    assert sorted(set(placed)) == sorted(placed), "a recipe's table is placed twice"
    assert set(placed) <= set(RECIPES.names()), f"tables of unknown recipes: {set(placed) - set(RECIPES.names())}"
    missing = [n for n in RECIPES.names() if n not in placed]
    assert not missing, f"no <!-- results: NAME --> line in docs/*.md for {missing}"
    runs = docs_pages.RECORDED_RUNS
    for name in RECIPES.names():
        assert (runs / name / "quick" / "metrics.json").is_file(), f"{name}: no recorded quick run"
        assert (runs / name / "quick" / "command.txt").is_file(), f"{name}: no command for the quick run"
        full = runs / name / "full"
        assert (full / "metrics.json").is_file() or (full / "not-run.txt").is_file(), (
            f"{name}: neither a recorded full run nor docs/runs/{name}/full/not-run.txt with the reason")


# ---- home page ------------------------------------------------------------------------------------
def test_home_page_points_readme_links_into_the_site() -> None:
    readme = ("See [docs/kan.md](docs/kan.md), [the licence](LICENSE), [web](https://example.org/x) "
              "and [top](#two-commands).")
    assert docs_pages.home_page(readme) == (
        "See [kan.md](kan.md), the licence (`LICENSE`), [web](https://example.org/x) and [top](#two-commands).")
    table = "| `basiskit list [models\\|bases]` | a \\| b |\nnot a table: `x \\| y`"
    assert docs_pages.home_page(table) == "| `basiskit list [models|bases]` | a \\| b |\nnot a table: `x \\| y`"
    page = docs_pages.home_page((ROOT / "README.md").read_text())
    assert "](docs/" not in page and "[kan.md](kan.md)" in page
