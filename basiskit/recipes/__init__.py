"""Recipes: one module per paper, registered by ``@recipe``; see ``core``.

``names()``, ``get(name)`` and ``run(name, ...)`` find every recipe module in this package automatically.
"""
from __future__ import annotations

from .core import RECIPES, Claim, RecipeSpec, recipe
from .runner import RunResult, run_recipe, run_tour, tour_names


def names(pattern: str | None = None) -> list[str]:
    return RECIPES.names(pattern)


def get(name: str) -> RecipeSpec:
    return RECIPES.get(name)


run = run_recipe

__all__ = ["RECIPES", "Claim", "RecipeSpec", "RunResult", "get", "names", "recipe", "run", "run_recipe",
           "run_tour", "tour_names"]
