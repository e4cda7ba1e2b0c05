"""Fast unit tests of the KAN recipes' pieces (their quick runs are exercised by the lead's slow test)."""
from __future__ import annotations

import math

import torch

from basiskit.recipes import get
from basiskit.recipes.kan_fit import mlp_width_for, target
from basiskit.recipes.kan_scaling import loglog_slope
from basiskit.recipes.kan_scaling import target as scaling_target


def test_registered_in_tour_with_claims():
    for name in ("kan-fit", "kan-symbolic", "kan-scaling"):
        spec = get(name)
        assert spec.tour and spec.claims_for(spec.config(quick=True))


def test_targets_closed_form():
    xy = torch.tensor([[0.5, 1.0], [0.0, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(target(xy), torch.tensor([[math.exp(2.0)], [1.0]], dtype=torch.float64))
    x = torch.tensor([[0.0]], dtype=torch.float64)
    torch.testing.assert_close(scaling_target(x), torch.tensor([[0.5]], dtype=torch.float64))


def test_mlp_width_gives_at_least_the_parameters():
    for n in (10, 111, 366, 1000):
        w = mlp_width_for(n, 2, 1, 2)
        count = lambda k: 2 * k + k + k * k + k + k + 1  # noqa: E731
        assert count(w) >= n and (w == 1 or count(w - 1) < n)


def test_loglog_slope_of_a_power_law():
    grids = [4, 8, 16, 32]
    assert abs(loglog_slope(grids, [3.0 * g**-4 for g in grids]) + 4.0) < 1e-12
