import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import basiskit
from basiskit._validation import UsageError, check_choice, check_float, check_int, check_tensor, close_matches


def test_check_int_and_float():
    assert check_int("n", 3, min_value=1) == 3
    with pytest.raises(ValueError, match=r"grid_size must be >= 1, got 0"):
        check_int("grid_size", 0, min_value=1)
    with pytest.raises(TypeError, match=r"order must be an int, got float 2.5"):
        check_int("order", 2.5)
    with pytest.raises(TypeError, match="must be an int"):
        check_int("flag", True)
    with pytest.raises(ValueError, match=r"lr must be > 0"):
        check_float("lr", 0, min_value=0, strict_min=True)
    with pytest.raises(ValueError, match="must be finite"):
        check_float("sigma", float("nan"))


def test_check_choice_suggests():
    with pytest.raises(ValueError, match=r"basis: unknown value 'bsplin'; did you mean 'bspline'"):
        check_choice("basis", "bsplin", ["bspline", "fourier"])
    with pytest.raises(ValueError, match=r"groups must be one of \[1, 2\], got 3"):
        check_choice("groups", 3, [1, 2])


def test_check_tensor():
    x = torch.zeros(4, 3)
    assert check_tensor("x", x, ndim=2, last_dim=3) is x
    with pytest.raises(ValueError, match=r"x must have last dim 5, got shape \(4, 3\)"):
        check_tensor("x", x, last_dim=5)
    with pytest.raises(TypeError, match="floating-point"):
        check_tensor("x", torch.zeros(2, dtype=torch.int64))
    with pytest.raises(ValueError, match="NaN/inf"):
        check_tensor("x", torch.tensor([1.0, float("nan")]), finite=True)
    with pytest.raises(ValueError, match="must not be empty"):
        check_tensor("x", torch.zeros(0, 3), nonempty=True)
    with pytest.raises(TypeError, match="must be a torch.Tensor"):
        check_tensor("x", [1.0])


@settings(max_examples=30, deadline=None)
@given(st.text(alphabet="abcdefgh_", min_size=3, max_size=10))
def test_exact_name_is_its_own_best_match(name):
    options = [name, name + "_x", "zzzz"]
    assert close_matches(name, options)[0] == name


def test_usage_error_is_a_value_error_exported_at_the_top():
    assert basiskit.UsageError is UsageError and "UsageError" in basiskit.__all__
    assert issubclass(UsageError, ValueError)
    with pytest.raises(ValueError, match="bad key"):
        raise UsageError("bad key")
