import math

import pytest
import torch

from basiskit.losses import relative_lp, sobolev_loss, sobolev_norm


@pytest.mark.parametrize("s", [-1.0, -0.5, 0.0, 1.0, 2.0])
def test_sobolev_norm_of_a_fourier_mode(s):
    n = 32
    x = torch.arange(n, dtype=torch.float64) / n
    u = torch.sin(2 * math.pi * 3 * x)[None, None]
    assert math.isclose(float(sobolev_norm(u, s)) ** 2, 0.5 * (1 + 4 * math.pi ** 2 * 9) ** s, rel_tol=1e-10)


def test_sobolev_norm_2d_sum_of_modes():
    n = 16
    s = torch.arange(n, dtype=torch.float64) / n
    x, y = torch.meshgrid(s, s, indexing="ij")
    u = (torch.cos(2 * math.pi * x) + 2 * torch.sin(2 * math.pi * (x + 2 * y)))[None, None]
    expected = 0.5 * (1 + 4 * math.pi ** 2) + 4 * 0.5 * (1 + 4 * math.pi ** 2 * 5)
    assert math.isclose(float(sobolev_norm(u, 1.0)) ** 2, expected, rel_tol=1e-10)


def test_s0_relative_loss_is_relative_l2_and_negative_s_weighs_large_scales():
    g = torch.Generator().manual_seed(0)
    p, t = torch.randn(3, 2, 8, 8, generator=g), torch.randn(3, 2, 8, 8, generator=g)
    assert torch.allclose(sobolev_loss(p, t, 0.0), relative_lp(p, t))
    n = 32
    x = torch.arange(n, dtype=torch.float64) / n
    target = torch.sin(2 * math.pi * x)[None, None]
    low = target + 0.1 * torch.sin(2 * math.pi * x)[None, None]
    high = target + 0.1 * torch.sin(2 * math.pi * 8 * x)[None, None]
    assert sobolev_loss(low, target, -1.0) > sobolev_loss(high, target, -1.0)
    assert sobolev_loss(low, target, 1.0) < sobolev_loss(high, target, 1.0)
    assert sobolev_loss(p, t, 1.0, reduction="none").shape == (3,)


def test_bad_inputs():
    with pytest.raises(ValueError, match="shape"):
        sobolev_loss(torch.zeros(2, 1, 4), torch.zeros(2, 1, 5))
    with pytest.raises(ValueError, match="reduction"):
        sobolev_loss(torch.ones(2, 1, 4), torch.ones(2, 1, 4), reduction="max")
    with pytest.raises(ValueError, match="n_dims"):
        sobolev_norm(torch.ones(2, 4), n_dims=3)
