"""Recipes: a paper's headline claim as a registered, runnable function.

    @recipe(name="mlp-regression", paper="...", summary="...", config=Cfg, quick={"steps": 300},
            claims=[Claim("test_rmse", "<", 2e-2)], tour=True)
    def run(cfg: Cfg, ctx: RunContext) -> dict: ...

A claim compares a returned metric with a number or with another metric (times ``scale`` plus ``offset``),
e.g. ``Claim("kat_acc", ">=", "vit_acc", offset=-0.5)``. Claims are checked after the run and reported as met
or not met; nothing is tuned to pass them.
"""
from __future__ import annotations

import dataclasses
import math
import operator
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._validation import close_matches
from ..registry import Registry

RECIPES: Registry[RecipeSpec] = Registry("recipe", ("basiskit.recipes",))  # type: ignore[name-defined]

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
}


@dataclass(frozen=True)
class Claim:
    """``metric op target``; ``target`` is a number or the name of another metric (then scaled:
    ``scale * metrics[target] + offset``)."""

    metric: str
    op: str
    target: float | str
    note: str = ""
    scale: float = 1.0
    offset: float = 0.0

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise ValueError(f"Claim op must be one of {list(_OPS)}, got {self.op!r}")

    def describe(self) -> str:
        if isinstance(self.target, str):
            rhs = self.target
            if self.scale != 1.0:
                rhs = f"{self.scale:g} x {rhs}"
            if self.offset:
                rhs = f"{rhs} {'+' if self.offset > 0 else '-'} {abs(self.offset):g}"
        else:
            rhs = f"{self.target:g}"
        return f"{self.metric} {self.op} {rhs}"

    def check(self, metrics: dict[str, Any]) -> dict[str, Any]:
        """{claim, value, target, met, note}; a missing or non-finite value is not met."""
        value = metrics.get(self.metric)
        if isinstance(self.target, str):
            ref = metrics.get(self.target)
            target = None if ref is None else self.scale * float(ref) + self.offset
        else:
            target = float(self.target)
        ok = (value is not None and target is not None and math.isfinite(float(value))
              and math.isfinite(target) and _OPS[self.op](float(value), target))
        return {"claim": self.describe(), "metric": self.metric, "value": None if value is None else float(value),
                "op": self.op, "target": target, "met": bool(ok), "note": self.note}


@dataclass
class RecipeSpec:
    name: str
    fn: Callable[[Any, Any], dict[str, Any]]
    paper: str
    summary: str
    config_cls: type
    quick: dict[str, Any] = field(default_factory=dict)
    claims: list[Claim] | Callable[[Any], list[Claim]] = field(default_factory=list)
    tour: bool = False
    module: str = ""

    def claims_for(self, cfg: Any) -> list[Claim]:
        return list(self.claims(cfg) if callable(self.claims) else self.claims)

    def config(self, quick: bool = False, overrides: dict[str, Any] | None = None) -> Any:
        """The config dataclass at full or quick size, with ``overrides`` (strings are parsed by field type)."""
        cfg = self.config_cls(**(self.quick if quick else {}))
        return apply_overrides(cfg, overrides or {}, recipe=self.name)


def recipe(name: str, *, paper: str, summary: str, config: type, quick: dict[str, Any] | None = None,
           claims: list[Claim] | Callable[[Any], list[Claim]] | None = None,
           tour: bool = False) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """Register ``fn(cfg, ctx) -> metrics`` as recipe ``name``; see the module docstring."""
    if not dataclasses.is_dataclass(config):
        raise TypeError(f"recipe {name!r}: config must be a dataclass, got {config!r}")
    known = {f.name for f in dataclasses.fields(config)}
    for key in quick or {}:
        if key not in known:
            raise ValueError(f"recipe {name!r}: quick override {key!r} is not a field of {config.__name__}")

    def deco(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        spec = RecipeSpec(name=name, fn=fn, paper=paper, summary=summary, config_cls=config,
                          quick=dict(quick or {}), claims=claims or [], tour=tour, module=fn.__module__)
        RECIPES.add(name, spec, summary=summary, module=fn.__module__)
        fn.spec = spec  # type: ignore[attr-defined]
        return fn

    return deco


# ---- config overrides ---------------------------------------------------------------------------
def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def parse_value(text: str, tp: Any, key: str) -> Any:
    """Parse ``text`` as type ``tp`` (int, float, bool, str, tuples/lists of those, Optional, Literal)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if text.lower() in ("none", "null") and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return parse_value(text, arg, key)
            except ValueError as e:
                errors.append(str(e))
        raise ValueError(f"{key}={text!r}: expected {_type_name(tp)}")
    if origin is typing.Literal:
        for a in args:
            if str(a) == text:
                return a
        raise ValueError(f"{key}={text!r}: expected one of {list(args)}")
    if origin in (tuple, list):
        parts = [p for p in text.strip("()[] ").split(",") if p.strip()]
        inner = args[0] if args else str
        values = [parse_value(p.strip(), inner, key) for p in parts]
        return tuple(values) if origin is tuple else values
    if tp is bool:
        low = text.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{key}={text!r}: expected bool (true/false)")
    if tp is int:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{key}={text!r}: expected int") from None
    if tp is float:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{key}={text!r}: expected float") from None
    if tp is str:
        return text
    raise ValueError(f"{key}: fields of type {_type_name(tp)} cannot be set from the command line")


def apply_overrides(cfg: Any, overrides: dict[str, Any], recipe: str = "") -> Any:
    """A copy of ``cfg`` with ``overrides``; unknown keys and ill-typed values raise ValueError."""
    hints = typing.get_type_hints(type(cfg))
    fields = {f.name for f in dataclasses.fields(cfg)}
    changes = {}
    for key, value in overrides.items():
        if key not in fields:
            near = close_matches(key, fields)
            hint = f"; did you mean {' or '.join(map(repr, near))}?" if near else ""
            raise ValueError(f"unknown config key {key!r} for recipe {recipe!r}{hint} "
                             f"(valid keys: {', '.join(sorted(fields))})")
        changes[key] = parse_value(value, hints[key], key) if isinstance(value, str) else value
    return dataclasses.replace(cfg, **changes)


def config_to_dict(cfg: Any) -> dict[str, Any]:
    def plain(v: Any) -> Any:
        if isinstance(v, tuple):
            return [plain(x) for x in v]
        if isinstance(v, list):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return {k: plain(v) for k, v in dataclasses.asdict(cfg).items()}
