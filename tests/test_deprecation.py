"""renamed_kwargs: old keyword spellings keep working with a DeprecationWarning naming the new one, and every
renamed public signature in the library uses it."""
from __future__ import annotations

import inspect
import warnings

import pytest
import torch

from basiskit._deprecation import renamed_kwargs
from basiskit.nn import FourierFeatures, KANAttention, KArAtOperator
from basiskit.operators import LSM
from basiskit.operators.lsm import SpectralBlock


@renamed_kwargs(heads="num_heads", n_tokens="num_tokens")
def _layer(dim: int, num_heads: int = 1, *, num_tokens: int = 2) -> tuple[int, int, int]:
    return dim, num_heads, num_tokens


def test_new_names_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _layer(8, 2, num_tokens=3) == (8, 2, 3)
        assert _layer(8, num_heads=4) == (8, 4, 2)


def test_old_name_maps_to_the_new_one_with_a_warning():
    with pytest.warns(DeprecationWarning, match=r"_layer\(\): heads= is deprecated, use num_heads="):
        assert _layer(8, heads=4) == (8, 4, 2)
    with pytest.warns(DeprecationWarning) as record:
        assert _layer(8, heads=4, n_tokens=5) == (8, 4, 5)
    assert sorted(str(w.message).split(":")[1].split("=")[0].strip() for w in record) == ["heads", "n_tokens"]


def test_warning_points_at_the_caller():
    with pytest.warns(DeprecationWarning) as record:
        _layer(8, heads=4)
    assert record[0].filename == __file__


def test_both_spellings_is_an_error():
    with pytest.raises(TypeError, match=r"got both heads= \(deprecated\) and num_heads=; pass only num_heads="):
        _layer(8, heads=2, num_heads=2)
    # positional new + keyword old: mapped, then Python reports the duplicate
    with pytest.warns(DeprecationWarning), pytest.raises(TypeError, match="multiple values for argument 'num_heads'"):
        _layer(8, 2, heads=2)


def test_signature_shows_the_new_names():
    assert list(inspect.signature(_layer).parameters) == ["dim", "num_heads", "num_tokens"]
    assert "num_heads" in inspect.signature(KANAttention).parameters


def test_bad_rename_table():
    with pytest.raises(ValueError, match="must map to a different keyword"):
        renamed_kwargs(heads="heads")
    with pytest.raises(ValueError, match="must map to a different keyword"):
        renamed_kwargs(heads="not a name")


def _same_module(a: torch.nn.Module, b: torch.nn.Module) -> None:
    assert repr(a) == repr(b)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)


@pytest.mark.parametrize("build,old,new", [
    (lambda **kw: KANAttention(8, num_tokens=3, **kw), {"heads": 2}, {"num_heads": 2}),
    (lambda **kw: KArAtOperator(3, **kw), {"heads": 2}, {"num_heads": 2}),
    (lambda **kw: FourierFeatures(2, **kw), {"n_features": 5}, {"num_features": 5}),
    (lambda **kw: LSM(1, 1, 4, levels=2, **kw), {"n_tokens": 3}, {"num_tokens": 3}),
    (lambda **kw: SpectralBlock(4, n_basis=2, n_patches=1, **kw), {"n_tokens": 3}, {"num_tokens": 3}),
])
def test_shipped_signatures_keep_the_old_spelling(build, old, new):
    (old_name,), (new_name,) = old, new
    torch.manual_seed(0)
    with pytest.warns(DeprecationWarning, match=f"{old_name}= is deprecated, use {new_name}="):
        before = build(**old)
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        after = build(**new)
    _same_module(before, after)
