"""Every recipe's config declares the values each field allows and is checked before any work starts."""
from __future__ import annotations

import dataclasses
import math
import re
import typing
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from basiskit import UsageError
from basiskit.recipes import RECIPES
from basiskit.recipes.core import BOUND_KEYS, _choices, apply_overrides, check_config, check_field, recipe

NAMES = RECIPES.names()


def _fields(name: str) -> list[tuple[dataclasses.Field, typing.Any]]:
    cls = RECIPES.get(name).config_cls
    hints = typing.get_type_hints(cls)
    return [(f, hints[f.name]) for f in dataclasses.fields(cls)]


def _scalar(tp: typing.Any) -> typing.Any:
    """The element type of ``tuple[T, ...]`` / ``list[T]``, else ``tp``."""
    return typing.get_args(tp)[0] if typing.get_origin(tp) in (tuple, list) else tp


def _bad_scalar(tp: typing.Any, md: typing.Mapping) -> st.SearchStrategy | None:
    """Values of type ``tp`` outside the bounds in ``md`` (None if the field has no bound to break)."""
    options = []
    allowed = _choices(md)
    if allowed is not None:
        if tp is str:
            options.append(st.text(max_size=12).filter(lambda s: s not in allowed))
        elif tp is int:
            options.append(st.integers(-10**6, 10**6).filter(lambda v: v not in allowed))
    if tp is int:
        if md.get("min") is not None:
            options.append(st.integers(-10**9, md["min"] - 1))
        if md.get("max") is not None:
            options.append(st.integers(md["max"] + 1, 10**9))
    if tp is float:
        kw = dict(allow_nan=False, allow_infinity=False)
        if md.get("gt") is not None:
            options.append(st.floats(max_value=md["gt"], min_value=-1e9, **kw))
        if md.get("min") is not None:
            options.append(st.floats(max_value=md["min"], min_value=-1e9, exclude_max=True, **kw))
        if md.get("max") is not None:
            options.append(st.floats(min_value=md["max"], max_value=1e9, exclude_min=True, **kw))
        if md.get("lt") is not None:
            options.append(st.floats(min_value=md["lt"], max_value=1e9, **kw))
        options.append(st.sampled_from([math.nan, math.inf, -math.inf]))
    return st.one_of(options) if options else None


def _as_text(value: typing.Any) -> str:
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value)


@pytest.mark.parametrize("name", NAMES)
def test_default_and_quick_configs_validate(name):
    spec = RECIPES.get(name)
    for quick in (False, True):
        cfg = spec.config(quick=quick)
        assert check_config(cfg, recipe=name) is cfg


@pytest.mark.parametrize("name", NAMES)
def test_every_numeric_field_declares_its_range(name):
    """New recipes cannot forget: ints and floats (and tuples of them) declare a lower bound or choices."""
    for f, tp in _fields(name):
        assert set(f.metadata) <= set(BOUND_KEYS), (name, f.name, dict(f.metadata))
        scalar = _scalar(tp)
        if scalar in (int, float):
            declared = {"min", "gt", "choices", "choices_from"} & set(f.metadata)
            assert declared, f"{name}: numeric field {f.name} declares no min / gt / choices"
        if "choices_from" in f.metadata:
            assert f.default in _choices(f.metadata), (name, f.name)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_out_of_range_values_name_the_field(name, data):
    spec = RECIPES.get(name)
    bounded = [(f, tp) for f, tp in _fields(name) if _bad_scalar(_scalar(tp), f.metadata) is not None]
    assert bounded
    f, tp = data.draw(st.sampled_from(bounded), label="field")
    bad = data.draw(_bad_scalar(_scalar(tp), f.metadata), label="value")
    key = f.name
    if typing.get_origin(tp) is tuple:  # one entry out of range, the others the default's
        default = list(f.default)
        i = data.draw(st.integers(0, len(default) - 1), label="index")
        default[i] = bad
        bad, key = tuple(default), rf"{f.name}\[{i}\]"
    as_text = data.draw(st.booleans(), label="as text") and not (isinstance(bad, str) and "," in bad)
    value = _as_text(bad) if as_text else bad
    with pytest.raises(UsageError, match=rf"^recipe '{re.escape(name)}': {key}[ =]"):
        spec.config(quick=data.draw(st.booleans(), label="quick"), overrides={f.name: value})


@pytest.mark.parametrize("name", NAMES)
def test_wrong_types_are_refused_for_every_field(name):
    """Fields with no declared bounds (bools, free strings) are still type-checked."""
    spec = RECIPES.get(name)
    for f, tp in _fields(name):
        with pytest.raises(UsageError, match=rf"^recipe '{re.escape(name)}': {f.name} must be .*, got dict"):
            spec.config(overrides={f.name: {"a": 1}})
        if _scalar(tp) in (int, float):
            with pytest.raises(UsageError, match=rf"^recipe '{re.escape(name)}': {f.name}='many': expected"):
                spec.config(overrides={f.name: "many"})


@pytest.mark.parametrize(("name", "overrides", "message"), [
    ("kat", {"groups": 7}, r"embed_dim \(192\) and the FFN width .* \(768\) must be divisible by groups \(7\)"),
    ("kat", {"num_heads": 5}, r"embed_dim \(192\) must be divisible by num_heads \(5\)"),
    ("kat", {"patch_size": 5}, r"img_size \(28\) must be divisible by patch_size \(5\)"),
    ("kat", {"warmup_steps": 4000}, r"warmup_steps \(4000\) must be <= steps \(3000\)"),
    ("karat", {"num_heads": 5}, r"embed_dim \(96\) must be divisible by num_heads \(5\)"),
    ("kan-fit", {"widths": "3,5,1"}, r"widths must start with 2 inputs and end with 1 output"),
    ("kan-fit", {"grids": "3,10,5"}, r"grids must increase"),
    ("kan-scaling", {"grids": "8,8"}, r"grids must increase"),
    ("kan-symbolic", {"widths": "2,5,2"}, r"widths must start with 2 inputs"),
    ("lsm", {"n_patches": 3}, r"resolution \(64\) must be divisible by .* n_patches \(3\)"),
    ("mgno", {"resolution": 4, "levels": 4}, r"resolution \(4\) must be >= 2\*\*\(levels-1\) \(8\)"),
    ("mg-tfno", {"n_patches": 3}, r"n_patches \(3\) must divide resolution \(64\)"),
    ("mg-tfno", {"levels": 6}, r"the patch side .* \(32\) must be divisible by 2\*\*levels \(64\)"),
    ("nn-to-no", {"eval_resolutions": "48"}, r"resolution 48 must divide the finest resolution 64"),
    ("nn-to-no", {"train_also": "48"}, r"resolution 48 must divide the finest resolution 128"),
    ("nn-to-no", {"levels": 7}, r"resolution 32 must be divisible by 2\*\*\(levels-1\) \(64\)"),
    ("fno-burgers", {"resolution": 16, "modes": 18}, r"modes \(18\) is more Fourier modes than a grid of 16 points"),
    ("t1", {"transform": "dft", "n_modes": 40}, r"n_modes=40 dft modes need resolution >= 80, got 64"),
    ("lpinn", {"steps": 0, "lbfgs_steps": 0}, r"steps \+ lbfgs_steps must be >= 1"),
    ("pig", {"steps": 0}, r"steps \+ lbfgs_steps must be >= 1"),
    ("neurbf", {"decoder_frequencies": "10"}, r"decoder_frequencies must be \(low, high\)"),
    ("neurbf", {"decoder_frequencies": "100,10"}, r"decoder_frequencies must be .* low <= high, got \(100.0, 10.0\)"),
    ("pinn-remedies", {"steps": 0, "lbfgs_steps": 0}, r"steps \+ lbfgs_steps must be >= 1"),
])
def test_cross_field_rules(name, overrides, message):
    with pytest.raises(UsageError, match=rf"^recipe '{name}': {message}"):
        RECIPES.get(name).config(overrides=overrides)


def test_fields_that_may_be_zero_accept_zero():
    """checkpoint_every, lbfgs_steps, resample_every, warm-up and evaluation intervals may be 0."""
    assert RECIPES.get("mlp-regression").config(overrides={"checkpoint_every": "0"}).checkpoint_every == 0
    assert RECIPES.get("pinn-remedies").config(overrides={"lbfgs_steps": "0"}).lbfgs_steps == 0
    assert RECIPES.get("lpinn").config(overrides={"steps": "0"}).steps == 0  # straight to L-BFGS
    assert RECIPES.get("kat").config(overrides={"warmup_steps": "0", "eval_every": "0"}).warmup_steps == 0
    assert RECIPES.get("pig").config(overrides={"resample_every": "0"}).resample_every == 0


# ---- the machinery, on a config of its own ---------------------------------------------------------
@dataclass
class Toy:
    steps: int = field(default=10, metadata={"min": 1, "max": 100})
    lr: float = field(default=0.1, metadata={"gt": 0.0, "lt": 1.0})
    mode: str = field(default="a", metadata={"choices": ("alpha", "a", "b")})
    sizes: tuple[int, ...] = field(default=(2, 3), metadata={"min": 1, "min_len": 1, "max_len": 3})
    flag: bool = False
    note: str = ""
    warmup: int = field(default=0, metadata={"min": 0})

    def validate(self) -> None:
        if self.warmup > self.steps:
            raise ValueError(f"warmup ({self.warmup}) must be <= steps ({self.steps})")


@pytest.mark.parametrize(("overrides", "message"), [
    ({"steps": 0}, r"steps must be >= 1 and <= 100, got 0"),
    ({"steps": 101}, r"steps must be >= 1 and <= 100, got 101"),
    ({"lr": 0.0}, r"lr must be > 0.0 and < 1.0, got 0.0"),
    ({"lr": 1.0}, r"lr must be > 0.0 and < 1.0, got 1.0"),
    ({"lr": "inf"}, r"lr must be a finite number, got inf"),
    ({"mode": "alpah"}, r"mode='alpah': expected one of \['alpha', 'a', 'b'\]; did you mean 'alpha'"),
    ({"sizes": ()}, r"sizes must have >= 1 and <= 3 entries, got 0"),
    ({"sizes": "1,2,3,4"}, r"sizes must have >= 1 and <= 3 entries, got 4"),
    ({"sizes": (2, 0)}, r"sizes\[1\] must be >= 1, got 0"),
    ({"flag": 1}, r"flag must be bool, got int 1"),
    ({"steps": 2.5}, r"steps must be int, got float 2.5"),
    ({"steps": True}, r"steps must be int, got bool True"),
    ({"note": 3}, r"note must be str, got int 3"),
    ({"warmup": 20}, r"warmup \(20\) must be <= steps \(10\)"),
])
def test_check_config_messages(overrides, message):
    with pytest.raises(UsageError, match=rf"^recipe 'toy': {message}"):
        check_config(apply_overrides(Toy(), overrides, recipe="toy"), recipe="toy")


def test_saved_values_are_brought_to_the_field_type():
    """A resumed run's config.yaml holds lists and ints where the config has tuples and floats."""
    cfg = apply_overrides(Toy(), {"sizes": [4, 5], "lr": 1}, recipe="toy")
    assert cfg.sizes == (4, 5) and isinstance(cfg.lr, float) and cfg.lr == 1.0
    check_field("sizes", (1,), tuple[int, ...], {"min": 1})
    with pytest.raises(UsageError, match=r"sizes must be tuple, got list \[1\]"):
        check_field("sizes", [1], tuple[int, ...], {"min": 1})  # apply_overrides brings lists to tuples first
    with pytest.raises(UsageError, match=r"lr must be > 0.0 and < 1.0, got 1.0"):
        check_config(cfg, recipe="toy")


def test_choices_from_reads_the_list_where_the_code_keeps_it():
    from basiskit.train.loop import SCHEDULERS

    assert _choices({"choices_from": "basiskit.train.loop:SCHEDULERS"}) == [s for s in SCHEDULERS if s]
    with pytest.raises(UsageError, match=r"^recipe 'pig': scheduler='cosin': expected one of .* did you mean 'cosine'"):
        RECIPES.get("pig").config(overrides={"scheduler": "cosin"})


def test_config_metadata_keys_are_checked_at_registration():
    @dataclass
    class Typo:
        steps: int = field(default=1, metadata={"mni": 1})

    with pytest.raises(ValueError, match=r"Typo.steps metadata has unknown keys \['mni'\]"):
        recipe("typo-config", paper="-", summary="-", config=Typo)
    assert "typo-config" not in RECIPES


def test_usage_error_is_a_value_error_raised_by_registries():
    with pytest.raises(UsageError, match=r"unknown recipe 'kan-fitt'; did you mean 'kan-fit'"):
        RECIPES.get("kan-fitt")
    assert issubclass(UsageError, ValueError)
