"""Pieces of the afkan recipe: its builders matched by parameter count (``basiskit.measure.match_width``)."""
from basiskit.measure import count_parameters as n_params
from basiskit.measure import match_width
from basiskit.recipes.afkan import AfkanConfig, builders


def test_matched_widths_are_within_ten_percent_of_the_mlp():
    cfg = AfkanConfig()
    build = builders(cfg)
    target = n_params(build["mlp"](cfg.hidden))
    assert target == 784 * 64 + 64 + 64 * 10 + 10
    for name in ("relu_kan", "bspline_kan"):
        width, count = match_width(build[name], target, range(1, 257))
        ratio = count / target
        assert 0.9 <= ratio <= 1.1, (name, width, ratio)
    assert 0.9 <= n_params(build["af_kan"](cfg.hidden)) / target <= 1.1


def test_config_keeps_validation_digits_apart_and_takes_one_or_more_learning_rates():
    import pytest

    from basiskit import UsageError
    from basiskit.recipes import get

    spec = get("afkan")
    with pytest.raises(UsageError, match=r"n_train \+ n_val \(3600 \+ 500\) must be <= 4000"):
        spec.config(overrides={"n_train": "3600"})
    assert spec.config(overrides={"lr": "0.001"}).lr == (0.001,)       # one rate: no sweep
    assert spec.config(quick=True).lr == (1e-3, 3e-3, 1e-2, 3e-2)
    with pytest.raises(UsageError, match=r"lr\[1\] must be > 0.0"):
        spec.config(overrides={"lr": "0.001,-1"})
