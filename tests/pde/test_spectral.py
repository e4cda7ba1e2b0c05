import math

import torch

from basiskit.pde import dealias_mask, spectral_derivative


def test_derivative_of_trig_polynomial():
    x = torch.arange(32, dtype=torch.float64) / 32
    u = torch.sin(2 * math.pi * 3 * x) + torch.cos(2 * math.pi * 5 * x)
    du = 2 * math.pi * 3 * torch.cos(2 * math.pi * 3 * x) - 2 * math.pi * 5 * torch.sin(2 * math.pi * 5 * x)
    assert torch.allclose(spectral_derivative(u), du, atol=1e-10)
    d2 = spectral_derivative(u, order=2)
    assert torch.allclose(d2, -(2 * math.pi) ** 2 * (9 * torch.sin(6 * math.pi * x) + 25 * torch.cos(10 * math.pi * x)),
                          atol=1e-8)


def test_dealias_mask_two_thirds():
    m = dealias_mask((12, 12))
    assert m.shape == (12, 7)
    assert m[3, 3] and not m[4, 0] and not m[0, 4] and m[-3, 0] and not m[-4, 0]
