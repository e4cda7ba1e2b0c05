"""Pieces of the afkan recipe: parameter matching and accuracy."""
import torch

from basiskit.nn.params import count_parameters as n_params
from basiskit.recipes.afkan import AfkanConfig, accuracy, builders, matched_width


def test_matched_widths_are_within_ten_percent_of_the_mlp():
    cfg = AfkanConfig()
    build = builders(cfg)
    target = n_params(build["mlp"](cfg.hidden))
    assert target == 784 * 64 + 64 + 64 * 10 + 10
    for name in ("relu_kan", "bspline_kan"):
        width = matched_width(build[name], target)
        ratio = n_params(build[name](width)) / target
        assert 0.9 <= ratio <= 1.1, (name, width, ratio)
    assert 0.9 <= n_params(build["af_kan"](cfg.hidden)) / target <= 1.1


def test_matched_width_picks_the_closest():
    build = lambda h: torch.nn.Linear(10, h)  # 11 h parameters  # noqa: E731
    assert matched_width(build, 56) == 5 and matched_width(build, 61) == 6


def test_accuracy_percent():
    model = torch.nn.Linear(784, 10)
    x = torch.zeros(4, 784)
    with torch.no_grad():
        model.bias.copy_(torch.arange(10.0))
    assert accuracy(model, x, torch.tensor([9, 9, 1, 9]), torch.device("cpu")) == 75.0
