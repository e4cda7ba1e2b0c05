"""The package's shape: every public name imports, recipes stand alone.

The layer rules (nothing imports upward, no cycles) are import-linter contracts in pyproject.toml, checked by
``make test``; what import-linter cannot say is checked here.
"""
from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import basiskit

PACKAGE_DIR = Path(basiskit.__file__).parent


def _modules() -> list[str]:
    return sorted(info.name for info in pkgutil.walk_packages(basiskit.__path__, prefix="basiskit.")
                  if info.name != "basiskit.__main__")


@pytest.mark.parametrize("name", _modules())
def test_every_module_imports_and_every_all_name_resolves(name):
    module = importlib.import_module(name)
    missing = [n for n in getattr(module, "__all__", ()) if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ lists names that do not exist: {missing}"


def test_top_level_names_all_resolve():
    for name in basiskit.__all__:
        assert getattr(basiskit, name) is not None, name
    assert set(dir(basiskit)) == set(basiskit.__all__)


def test_a_missing_top_level_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'no_such_family'"):
        basiskit.no_such_family  # noqa: B018


def _recipe_modules() -> list[str]:
    return sorted(p.stem for p in (PACKAGE_DIR / "recipes").glob("*.py")
                  if not p.stem.startswith("_") and p.stem not in ("core", "runner"))


def _imported_modules(path: Path, package: str) -> set[str]:
    """Absolute names of the modules that the file at ``path`` (in ``package``) imports, at any depth."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                stem = f"{base}.{node.module}" if node.module else base
            else:
                stem = node.module or ""
            out.add(stem)
            out.update(f"{stem}.{alias.name}" for alias in node.names)
    return out


@pytest.mark.parametrize("recipe", _recipe_modules())
def test_a_recipe_imports_no_other_recipe(recipe):
    """A recipe is a usage example of the public API; what two recipes share lives below them."""
    imported = _imported_modules(PACKAGE_DIR / "recipes" / f"{recipe}.py", "basiskit.recipes")
    others = {f"basiskit.recipes.{r}" for r in _recipe_modules() if r != recipe}
    assert not imported & others, f"recipe {recipe} imports {sorted(imported & others)}"
