"""Bases: closed forms, an independent Cox-de Boor recursion, derivatives vs finite differences, bad inputs."""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basiskit import bases
from basiskit.bases import (bspline_basis, bspline_local, chebyshev_basis, fourier_basis, gaussian_basis,
                            rational, rational_basis, relu_power_basis, uniform_knots)

ALL = {"bspline": {}, "chebyshev": {"degree": 4}, "fourier": {"n_freq": 3}, "gaussian": {"n_centers": 6},
       "relu_power": {"grid_size": 4, "order": 2}, "rational": {"m": 3, "n": 2}}


def cox_de_boor(x: float, t: list[float], j: int, p: int) -> float:
    """Textbook scalar recursion, written independently of the vectorised code."""
    if p == 0:
        return 1.0 if t[j] <= x < t[j + 1] else 0.0
    a = (x - t[j]) / (t[j + p] - t[j]) * cox_de_boor(x, t, j, p - 1) if t[j + p] > t[j] else 0.0
    b = ((t[j + p + 1] - x) / (t[j + p + 1] - t[j + 1]) * cox_de_boor(x, t, j + 1, p - 1)
         if t[j + p + 1] > t[j + 1] else 0.0)
    return a + b


def test_registry_names_and_contract():
    assert set(ALL) <= set(bases.names())
    x = torch.randn(3, 5, dtype=torch.float64) * 0.5
    for name, kw in ALL.items():
        b = bases.create(name, **kw, dtype=torch.float64)
        out = b(x)
        assert isinstance(b.n_basis, int)
        assert out.shape == (3, 5, b.n_basis), name
        assert torch.isfinite(out).all(), name
    with pytest.raises(ValueError, match="bsplin"):
        bases.create("bsplin")


@pytest.mark.parametrize("order", [0, 1, 2, 3, 4])
def test_bspline_matches_scalar_cox_de_boor_and_partition_of_unity(order):
    g = torch.Generator().manual_seed(order)
    knots = torch.cumsum(torch.rand(12, generator=g, dtype=torch.float64) + 0.1, 0)
    x = knots[0] + (knots[-1] - knots[0]) * torch.rand(40, generator=g, dtype=torch.float64)
    dense = bspline_basis(x, knots, order)
    t = knots.tolist()
    ref = torch.tensor([[cox_de_boor(float(xi), t, j, order) for j in range(len(t) - 1 - order)] for xi in x],
                       dtype=torch.float64)
    torch.testing.assert_close(dense, ref, atol=1e-12, rtol=0)
    first, vals = bspline_local(x, knots, order)
    scattered = torch.zeros_like(dense)
    ids = first[:, None] + torch.arange(order + 1)
    ok = (ids >= 0) & (ids < dense.shape[1])
    scattered.scatter_add_(1, ids.clamp(0, dense.shape[1] - 1), torch.where(ok, vals, 0.0))
    torch.testing.assert_close(scattered, dense, atol=1e-12, rtol=0)
    inner = (x >= knots[order]) & (x < knots[-1 - order])
    torch.testing.assert_close(dense[inner].sum(-1), torch.ones(int(inner.sum()), dtype=torch.float64))


@settings(max_examples=20, deadline=None)
@given(grid=st.integers(1, 9), order=st.integers(0, 4), lo=st.floats(-3, 0), width=st.floats(0.5, 4))
def test_bspline_uniform_local_equals_dense(grid, order, lo, width):
    knots = uniform_knots(grid, order, (lo, lo + width), dtype=torch.float64)
    x = torch.linspace(lo - 2 * width, lo + 2 * width, 101, dtype=torch.float64)
    dense = bspline_basis(x, knots, order)
    for uniform in (True, False):
        first, vals, slopes = bspline_local(x, knots, order, uniform=uniform, derivative=True)
        ids = first[:, None] + torch.arange(order + 1)
        ok = (ids >= 0) & (ids < dense.shape[1])
        got = torch.zeros_like(dense).scatter_add_(1, ids.clamp(0, dense.shape[1] - 1), vals)
        torch.testing.assert_close(got, dense, atol=1e-10, rtol=0)
        assert torch.all(vals[~ok] == 0)
    inside = (x >= lo) & ((x <= lo + width) if order else (x < lo + width))
    torch.testing.assert_close(dense[inside].sum(-1), torch.ones(int(inside.sum()), dtype=torch.float64))


def test_bspline_per_channel_knots_and_outside_is_zero():
    k1 = uniform_knots(4, 3, (-1, 1), dtype=torch.float64)
    k2 = uniform_knots(4, 3, (0, 3), dtype=torch.float64)
    knots = torch.stack([k1, k2])
    x = torch.tensor([[0.3, 2.0], [-5.0, 9.0]], dtype=torch.float64)
    out = bspline_basis(x, knots, 3)
    torch.testing.assert_close(out[0, 0], bspline_basis(x[0, 0], k1, 3))
    torch.testing.assert_close(out[0, 1], bspline_basis(x[0, 1], k2, 3))
    assert torch.all(out[1] == 0)
    _, vals = bspline_local(x, knots, 3)
    assert torch.all(vals[1] == 0)
    _, nan_vals = bspline_local(torch.tensor([[float("nan"), 0.5]], dtype=torch.float64), knots, 3, uniform=True)
    assert torch.all(nan_vals[0, 0] == 0)


def _fd_check(fn, x, eps=1e-6, tol=1e-5):
    x = x.clone().requires_grad_(True)
    out = fn(x)
    grads = torch.stack([torch.autograd.grad(out[..., k].sum(), x, retain_graph=True)[0]
                         for k in range(out.shape[-1])], -1)
    fd = (fn(x.detach() + eps) - fn(x.detach() - eps)) / (2 * eps)
    torch.testing.assert_close(grads, fd, atol=tol, rtol=tol)


@pytest.mark.parametrize("name", sorted(ALL))
def test_basis_derivatives_match_finite_differences(name):
    b = bases.create(name, **ALL[name], dtype=torch.float64)
    # points away from knots / kinks (x = 0.013 + k * 0.17 avoids the grids used here)
    x = torch.linspace(-0.9, 0.9, 11, dtype=torch.float64) + 0.013
    _fd_check(b, x)


def test_bspline_local_slopes_match_finite_differences():
    g = torch.Generator().manual_seed(0)
    knots = torch.cumsum(torch.rand(11, generator=g, dtype=torch.float64) + 0.2, 0)
    x = knots[0] + (knots[-1] - knots[0]) * torch.rand(30, generator=g, dtype=torch.float64)
    for uniform, t in ((False, knots), (True, uniform_knots(5, 3, (-1, 1), dtype=torch.float64))):
        xs = x if not uniform else torch.linspace(-1.4, 1.4, 31, dtype=torch.float64) + 0.011
        first, _, slopes = bspline_local(xs, t, 3, uniform=uniform, derivative=True)
        eps = 1e-6
        f1, v1 = bspline_local(xs + eps, t, 3, uniform=uniform)
        f0, v0 = bspline_local(xs - eps, t, 3, uniform=uniform)
        assert torch.equal(f1, first) and torch.equal(f0, first)
        torch.testing.assert_close(slopes, (v1 - v0) / (2 * eps), atol=1e-6, rtol=1e-6)


def test_closed_forms():
    x = torch.linspace(-1, 1, 9, dtype=torch.float64)
    cheb = chebyshev_basis(x, 5)
    torch.testing.assert_close(cheb, torch.stack([torch.cos(k * torch.acos(x)) for k in range(6)], -1))
    f = fourier_basis(x, 2, period=2.0)
    torch.testing.assert_close(f[:, 1], torch.cos(2 * math.pi * x))
    torch.testing.assert_close(f[:, 3], torch.sin(2 * math.pi * x))
    gb = gaussian_basis(x, torch.tensor([0.0, 0.5], dtype=torch.float64), 0.5)
    torch.testing.assert_close(gb[:, 1], torch.exp(-((x - 0.5) / 0.5) ** 2))
    rp = relu_power_basis(torch.tensor([0.5, 2.0], dtype=torch.float64), torch.tensor([0.0], dtype=torch.float64),
                          torch.tensor([1.0], dtype=torch.float64))
    torch.testing.assert_close(rp[:, 0], torch.tensor([1.0, 0.0], dtype=torch.float64))
    den = torch.tensor([0.3, -0.2], dtype=torch.float64)
    num = torch.tensor([0.5, -1.0, 2.0, 0.1], dtype=torch.float64)
    torch.testing.assert_close(rational_basis(x, den, 3) @ num, rational(x, num, den))
    torch.testing.assert_close(rational(x, num, den), (0.5 - x + 2 * x**2 + 0.1 * x**3) / (1 + (0.3 * x - 0.2 * x**2).abs()))


def test_chebyshev_finite_at_domain_ends():
    for squash in ("clamp", "tanh"):
        b = bases.create("chebyshev", degree=6, squash=squash, dtype=torch.float64)
        x = torch.tensor([-1.0, 1.0, -7.0, 7.0], dtype=torch.float64, requires_grad=True)
        out = b(x)
        (g,) = torch.autograd.grad(out.sum(), x)
        assert torch.isfinite(out).all() and torch.isfinite(g).all()
    clamp = bases.create("chebyshev", degree=3)
    torch.testing.assert_close(clamp(torch.tensor([5.0])), clamp(torch.tensor([1.0])))


def test_rational_denominator_is_safe():
    b = bases.create("rational", m=4, n=3)
    with torch.no_grad():
        b.denominator.copy_(torch.tensor([-5.0, 3.0, 8.0]))
    x = torch.linspace(-3, 3, 1001)
    out = b(x)
    powers = torch.stack([x**k for k in range(5)], -1)
    assert torch.all(out.abs() <= powers.abs() + 1e-6)


@pytest.mark.parametrize("name,kw,arg", [
    ("bspline", {"grid_size": 0}, "grid_size"), ("bspline", {"order": -1}, "order"),
    ("bspline", {"domain": (1, -1)}, "domain"), ("chebyshev", {"degree": -1}, "degree"),
    ("chebyshev", {"squash": "sigmoid"}, "squash"), ("fourier", {"n_freq": 0}, "n_freq"),
    ("gaussian", {"n_centers": 1}, "n_centers"), ("gaussian", {"width": -1.0}, "width"),
    ("relu_power", {"grid_size": 0}, "grid_size"), ("rational", {"m": -1}, "m"),
])
def test_bad_arguments_name_the_argument(name, kw, arg):
    with pytest.raises(ValueError, match=arg):
        bases.create(name, **kw)


def test_bad_inputs():
    with pytest.raises(TypeError, match="x"):
        bases.create("bspline")(torch.arange(3))
    with pytest.raises(TypeError, match="grid_size"):
        bases.create("bspline", grid_size=2.5)
    with pytest.raises(ValueError, match="channels"):
        bases.create("bspline", channels=3)(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="knots"):
        bspline_basis(torch.zeros(3), torch.tensor([0.0, 1.0]), 3)
