"""Fast checks of the pieces the operator recipes (mgno, lsm, t1, nn-to-no) are built from."""
import pytest
import torch
from torch import nn

from basiskit.losses import relative_lp
from basiskit.nn.params import count_parameters
from basiskit.recipes._operator_helpers import match_width, scale_pairs
from basiskit.recipes.nn_to_no import on_grid


def test_match_width_picks_the_closest_parameter_count():
    def build(w):
        return nn.Linear(w, w)  # w^2 + w parameters

    assert match_width(build, 110, range(1, 50)) == (10, 110)
    assert match_width(build, 115, range(1, 50)) == (10, 110)
    assert match_width(build, 130, range(1, 50)) == (11, 132)
    assert match_width(build, 10 ** 6, range(1, 50)) == (49, 49 * 50)


def test_scale_pairs_keeps_relative_errors():
    g = torch.Generator().manual_seed(0)
    train = (torch.randn(8, 1, 4, 4, generator=g) * 3 + 1, torch.randn(8, 1, 4, 4, generator=g) * 0.01)
    test = (torch.randn(5, 1, 4, 4, generator=g), torch.randn(5, 1, 4, 4, generator=g) * 0.01)
    (xs, ys), (xt, yt) = scale_pairs(train, test)
    assert abs(float(xs.mean())) < 1e-5 and abs(float(xs.std()) - 1) < 1e-5
    pred = test[1] + 0.001 * torch.randn(5, 1, 4, 4, generator=g)
    scale = yt.flatten()[0] / test[1].flatten()[0]
    assert torch.allclose(relative_lp(pred * scale, yt), relative_lp(pred, test[1]), rtol=1e-5)


def test_on_grid_takes_the_same_points_at_every_resolution():
    nodes = torch.arange(129, dtype=torch.float64) / 128
    x, y = torch.meshgrid(nodes, nodes, indexing="ij")
    field = (x + 2 * y)[None, None]
    for r in (32, 64, 128):
        grid = torch.arange(r, dtype=torch.float64) / r
        gx, gy = torch.meshgrid(grid, grid, indexing="ij")
        assert torch.allclose(on_grid(field, r, 128), (gx + 2 * gy)[None, None])
    with pytest.raises(ValueError, match="resolution=48"):
        on_grid(field, 48, 128)


def test_count_parameters_counts_every_parameter():
    assert count_parameters(nn.Conv2d(2, 3, 3)) == 2 * 3 * 9 + 3
