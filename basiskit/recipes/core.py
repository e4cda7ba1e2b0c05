"""Recipes: a paper's headline claim as a registered, runnable function.

    @recipe(name="mlp-regression", paper="...", summary="...", config=Cfg, quick={"steps": 300},
            claims=[Claim("test_rmse", "<", 2e-2)], tour=True)
    def run(cfg: Cfg, ctx: RunContext) -> dict: ...

A claim compares a returned metric with a number or with another metric (times ``scale`` plus ``offset``),
e.g. ``Claim("kat_acc", ">=", "vit_acc", offset=-0.5)``. Claims are checked after the run and reported as met
or not met; nothing is tuned to pass them.

A config declares the allowed values of each field where the field is defined, and may add cross-field rules
in a ``validate`` method; ``spec.config(quick=..., overrides=...)`` checks both before any work starts and raises
``UsageError`` (the CLI prints it in one line and exits 2):

    @dataclass
    class Cfg:
        steps: int = field(default=1000, metadata={"min": 1})
        lr: float = field(default=1e-3, metadata={"gt": 0.0})
        warmup_steps: int = field(default=100, metadata={"min": 0})
        activation: str = field(default="tanh", metadata={"choices": ("tanh", "relu")})
        scheduler: str = field(default="cosine", metadata={"choices_from": "basiskit.train.loop:SCHEDULERS"})

        def validate(self) -> None:
            if self.warmup_steps > self.steps:
                raise ValueError(f"warmup_steps ({self.warmup_steps}) must be <= steps ({self.steps})")

A field without metadata is still type-checked.
"""
from __future__ import annotations

import dataclasses
import importlib
import math
import operator
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._validation import UsageError, close_matches
from ..registry import Registry

RECIPES: Registry[RecipeSpec] = Registry("recipe", ("basiskit.recipes",))  # type: ignore[name-defined]

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
}


@dataclass(frozen=True)
class Claim:
    """``metric op target``; ``target`` is a number or the name of another metric (then scaled:
    ``scale * metrics[target] + offset``).

    ``paper`` is the paper's own figure for ``metric`` and ``paper_setting`` where it comes from and at what
    size (``Claim("rel_l2", "<", 0.05, paper=0.0108, paper_setting="Table 1, Darcy s=85")``): the run's
    summary, ``basiskit report`` and the tour table show it beside ours, so a reader sees how far each
    reproduction is from the paper. Leave it unset where the paper states no number for this metric.

    ``timing=True`` marks a claim about wall time (a step-time ratio, seconds per solve): it is checked and
    reported like any other, but the test suite does not assert it, because shared machines are noisy.
    """

    metric: str
    op: str
    target: float | str
    note: str = ""
    scale: float = 1.0
    offset: float = 0.0
    paper: float | None = None
    paper_setting: str = ""
    timing: bool = False

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise ValueError(f"Claim op must be one of {list(_OPS)}, got {self.op!r}")
        if self.paper is not None and (isinstance(self.paper, bool) or not isinstance(self.paper, (int, float))
                                       or not math.isfinite(self.paper)):
            raise ValueError(f"Claim paper must be a finite number (the paper's figure), got {self.paper!r}")
        if self.paper_setting and self.paper is None:
            raise ValueError(f"Claim paper_setting={self.paper_setting!r} needs the paper's figure (paper=...)")

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
        """{claim, metric, value, op, target, met, note, paper, paper_setting, timing}; a missing or non-finite value
        is not met."""
        value = metrics.get(self.metric)
        if isinstance(self.target, str):
            ref = metrics.get(self.target)
            target = None if ref is None else self.scale * float(ref) + self.offset
        else:
            target = float(self.target)
        ok = (value is not None and target is not None and math.isfinite(float(value))
              and math.isfinite(target) and _OPS[self.op](float(value), target))
        return {"claim": self.describe(), "metric": self.metric, "value": None if value is None else float(value),
                "op": self.op, "target": target, "met": bool(ok), "note": self.note,
                "paper": None if self.paper is None else float(self.paper), "paper_setting": self.paper_setting,
                "timing": self.timing}


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
        """The config dataclass at full or quick size, with ``overrides`` (strings are parsed by field type),
        checked before any work starts: ``UsageError`` for an unknown key, a value of the wrong type or one
        outside the bounds its field declares (see ``check_config``)."""
        cfg = self.config_cls(**(self.quick if quick else {}))
        cfg = apply_overrides(cfg, overrides or {}, recipe=self.name)
        return check_config(cfg, recipe=self.name)


def recipe(name: str, *, paper: str, summary: str, config: type, quick: dict[str, Any] | None = None,
           claims: list[Claim] | Callable[[Any], list[Claim]] | None = None,
           tour: bool = False) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """Register ``fn(cfg, ctx) -> metrics`` as recipe ``name``; see the module docstring."""
    if not dataclasses.is_dataclass(config):
        raise TypeError(f"recipe {name!r}: config must be a dataclass, got {config!r}")
    known = {f.name for f in dataclasses.fields(config)}
    for f in dataclasses.fields(config):
        unknown = set(f.metadata) - set(BOUND_KEYS)
        if unknown:
            raise ValueError(f"recipe {name!r}: {config.__name__}.{f.name} metadata has unknown keys "
                             f"{sorted(unknown)} (known: {', '.join(BOUND_KEYS)})")
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


# ---- config overrides and checks ----------------------------------------------------------------
# Keys a config field's ``metadata`` may carry (see ``check_config``).
BOUND_KEYS = ("min", "max", "gt", "lt", "choices", "choices_from", "min_len", "max_len")


def _choices(md: typing.Mapping[str, Any]) -> list[Any] | None:
    """The allowed values a field's metadata declares: ``choices`` (a collection) or ``choices_from``
    (``"module:attribute"``, a collection or a function returning one, read when the config is checked, so
    the list stays where the code that uses it keeps it; ``None`` entries are left out)."""
    if md.get("choices") is not None:
        return list(md["choices"])
    if md.get("choices_from") is None:
        return None
    module, attr = md["choices_from"].split(":")
    found = getattr(importlib.import_module(module), attr)
    return [c for c in (found() if callable(found) else found) if c is not None]


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def parse_value(text: str, tp: Any, key: str) -> Any:
    """Parse ``text`` as type ``tp`` (int, float, bool, str, tuples/lists of those, Optional, Literal);
    ``UsageError`` naming ``key`` if it does not parse."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if text.lower() in ("none", "null") and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return parse_value(text, arg, key)
            except UsageError:
                continue
        raise UsageError(f"{key}={text!r}: expected {_type_name(tp)}")
    if origin is typing.Literal:
        for a in args:
            if str(a) == text:
                return a
        raise UsageError(f"{key}={text!r}: expected one of {list(args)}")
    if origin in (tuple, list):
        body = text.strip("()[] ")
        parts = body.split(",") if body else []
        for i, p in enumerate(parts):
            if not p.strip():
                raise UsageError(f"{key}[{i}] is empty in {text!r} (a stray comma?)")
        inner = args[0] if args else str
        values = [parse_value(p.strip(), inner, key) for p in parts]
        return tuple(values) if origin is tuple else values
    if tp is bool:
        low = text.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise UsageError(f"{key}={text!r}: expected bool (true/false)")
    if tp is int:
        try:
            return int(text)
        except ValueError:
            raise UsageError(f"{key}={text!r}: expected int") from None
    if tp is float:
        try:
            return float(text)
        except ValueError:
            raise UsageError(f"{key}={text!r}: expected float") from None
    if tp is str:
        return text
    raise UsageError(f"{key}: fields of type {_type_name(tp)} cannot be set from the command line")


def _coerce(value: Any, tp: Any) -> Any:
    """A Python or YAML value brought to a field's type where that loses nothing: list -> tuple, int -> float."""
    origin = typing.get_origin(tp)
    if origin is tuple and isinstance(value, list):
        return tuple(value)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def conforms(value: Any, tp: Any) -> bool:
    """Whether ``value`` is of the annotated type ``tp`` (bools are not ints; ints are floats)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(conforms(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if origin in (tuple, list):
        if not isinstance(value, origin):
            return False
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return all(conforms(v, args[0]) for v in value)
        if origin is tuple and args:
            return len(value) == len(args) and all(conforms(v, a) for v, a in zip(value, args))
        return not args or all(conforms(v, args[0]) for v in value)
    if tp is type(None):
        return value is None
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(tp, type):
        return isinstance(value, tp)
    return True


def _allowed(md: typing.Mapping[str, Any]) -> str:
    parts = [f"{op} {md[key]}" for key, op in (("gt", ">"), ("min", ">="), ("lt", "<"), ("max", "<="))
             if md.get(key) is not None]
    return " and ".join(parts)


def _check_number(key: str, value: Any, md: typing.Mapping[str, Any]) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise UsageError(f"{key} must be a finite number, got {value}")
    lo, lo_open = (md["gt"], True) if md.get("gt") is not None else (md.get("min"), False)
    hi, hi_open = (md["lt"], True) if md.get("lt") is not None else (md.get("max"), False)
    if ((lo is not None and (value <= lo if lo_open else value < lo))
            or (hi is not None and (value >= hi if hi_open else value > hi))):
        raise UsageError(f"{key} must be {_allowed(md)}, got {value!r}")


def check_field(key: str, value: Any, tp: Any, md: typing.Mapping[str, Any]) -> None:
    """``UsageError`` unless ``value`` has type ``tp`` and meets the bounds in ``md`` (``min``/``max``
    inclusive, ``gt``/``lt`` exclusive, ``choices``/``choices_from`` (see ``_choices``), ``min_len``/``max_len``
    for tuples and lists, whose other bounds then apply to each element)."""
    if not conforms(value, tp):
        raise UsageError(f"{key} must be {_type_name(tp)}, got {type(value).__name__} {value!r}")
    if value is None:
        return
    if isinstance(value, (tuple, list)):
        n = len(value)
        if ((md.get("min_len") is not None and n < md["min_len"])
                or (md.get("max_len") is not None and n > md["max_len"])):
            size = _allowed({"min": md.get("min_len"), "max": md.get("max_len")})
            raise UsageError(f"{key} must have {size} entries, got {n}: {value!r}")
        for i, v in enumerate(value):
            check_field(f"{key}[{i}]", v, Any, md)
        return
    options = _choices(md)
    if options is not None:
        if value not in options:
            near = close_matches(value, map(str, options)) if isinstance(value, str) else []
            hint = f"; did you mean {' or '.join(map(repr, near))}?" if near else ""
            raise UsageError(f"{key}={value!r}: expected one of {options}{hint}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_number(key, value, md)


def check_config(cfg: Any, recipe: str = "") -> Any:
    """Check every field of the config dataclass ``cfg`` against its type and the bounds in its metadata,
    then run ``cfg.validate()`` if the class has one: cross-field rules, which raise ``ValueError`` naming the
    fields. Returns ``cfg``; ``UsageError`` naming the recipe, the field, the value and what is allowed
    otherwise."""
    where = f"recipe {recipe!r}: " if recipe else ""
    hints = typing.get_type_hints(type(cfg))
    try:
        for f in dataclasses.fields(cfg):
            check_field(f.name, getattr(cfg, f.name), hints[f.name], f.metadata)
    except UsageError as e:
        raise UsageError(f"{where}{e}") from None
    validate = getattr(cfg, "validate", None)
    if callable(validate):
        try:
            validate()
        except ValueError as e:  # validate's contract: a broken cross-field rule is a ValueError
            raise UsageError(f"{where}{e}") from None
    return cfg


def apply_overrides(cfg: Any, overrides: dict[str, Any], recipe: str = "") -> Any:
    """A copy of ``cfg`` with ``overrides`` (strings parsed by field type); ``UsageError`` for unknown keys
    and ill-typed values. Ranges are checked by ``check_config``."""
    hints = typing.get_type_hints(type(cfg))
    fields = {f.name for f in dataclasses.fields(cfg)}
    where = f"recipe {recipe!r}: " if recipe else ""
    changes = {}
    for key, value in overrides.items():
        if key not in fields:
            near = close_matches(key, fields)
            hint = f"; did you mean {' or '.join(map(repr, near))}?" if near else ""
            raise UsageError(f"unknown config key {key!r} for recipe {recipe!r}{hint} "
                             f"(valid keys: {', '.join(sorted(fields))})")
        try:
            changes[key] = (parse_value(value, hints[key], key) if isinstance(value, str)
                            else _coerce(value, hints[key]))
        except UsageError as e:
            raise UsageError(f"{where}{e}") from None
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
