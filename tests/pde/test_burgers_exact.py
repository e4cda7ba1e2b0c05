from pathlib import Path

import pytest
import scipy.io
import torch

from basiskit.pde import burgers_sine_exact

DATA = Path(__file__).resolve().parents[1] / "data" / "burgers_shock.mat"


def test_matches_published_reference():
    ref = scipy.io.loadmat(DATA)
    x, t = torch.tensor(ref["x"]).ravel(), torch.tensor(ref["t"]).ravel()
    usol = torch.tensor(ref["usol"])
    xx, tt = torch.meshgrid(x, t, indexing="ij")
    u = burgers_sine_exact(xx, tt)
    assert float((u - usol).abs().max()) < 1e-8          # measured 4.2e-11
    assert float((u - usol).norm() / usol.norm()) < 1e-9  # measured 2.9e-12


def test_converges_under_refinement_and_boundary():
    x = torch.linspace(-1, 1, 101, dtype=torch.float64)
    t = torch.full_like(x, 0.8)
    coarse, mid, fine = (burgers_sine_exact(x, t, n_quad=n) for n in (20, 60, 240))
    assert float((mid - fine).abs().max()) < float((coarse - fine).abs().max())
    assert float((mid - fine).abs().max()) < 1e-6
    ends = burgers_sine_exact(torch.tensor([-1.0, 1.0]), torch.tensor([0.5, 0.5]))
    assert float(ends.abs().max()) < 1e-12
    torch.testing.assert_close(burgers_sine_exact(x, torch.zeros_like(x)), -torch.sin(torch.pi * x))


def test_bad_inputs():
    with pytest.raises(ValueError, match="t must be >= 0"):
        burgers_sine_exact(torch.zeros(3), -torch.ones(3))
    with pytest.raises(ValueError, match="n_quad must be <= 300"):
        burgers_sine_exact(torch.zeros(3), torch.ones(3), n_quad=1000)
    with pytest.raises(ValueError, match="nu must be >"):
        burgers_sine_exact(torch.zeros(3), torch.ones(3), nu=0.0)
