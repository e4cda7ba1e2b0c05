"""Fused B-spline KAN autograd: agreement with the plain reference, gradcheck/gradgradcheck in float64,
memory kept for backward, autocast and torch.compile."""
from __future__ import annotations

import pytest
import torch

from basiskit.bases import uniform_knots
from basiskit.bench import kept_for_backward_bytes
from basiskit.ops import bspline, bspline_native
from basiskit.ops.bspline import (BASE_ACTIVATIONS, KEEP_WINDOW_MAX, kan_linear, kan_linear_reference,
                                  pad_spline_weight)


def _setup(order: int, uniform: bool, n_in: int = 2, n_out: int = 2, grid: int = 3, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    knots = uniform_knots(grid, order, (-1, 1), dtype=torch.float64).expand(n_in, -1).contiguous()
    if not uniform:  # strictly increasing, non-uniform, different per feature
        knots = knots + 0.04 * torch.rand(knots.shape, generator=g, dtype=torch.float64)
    x = (torch.rand(4, n_in, generator=g, dtype=torch.float64) * 2.8 - 1.4).requires_grad_(True)
    w = torch.randn(n_out, n_in, knots.shape[1] - order, generator=g, dtype=torch.float64, requires_grad=True)
    return x, knots, w


@pytest.mark.parametrize("order", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("uniform", [True, False])
def test_fused_matches_reference_and_gradchecks(order, uniform):
    x, knots, w = _setup(order, uniform)
    out = kan_linear(x, knots, w, order, uniform=uniform)
    torch.testing.assert_close(out, kan_linear_reference(x, knots, w, order), atol=1e-12, rtol=1e-12)
    fn = lambda a, b: kan_linear(a, knots, b, order, uniform=uniform)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x, w), fast_mode=True)
    assert torch.autograd.gradgradcheck(fn, (x, w), fast_mode=True)


@pytest.mark.parametrize("act", BASE_ACTIVATIONS)
def test_every_base_activation_gradchecks(act):
    x, knots, w = _setup(3, True, seed=1)
    fn = lambda a, b: kan_linear(a, knots, b, 3, uniform=True, base_activation=act)  # noqa: E731
    torch.testing.assert_close(fn(x, w), kan_linear_reference(x, knots, w, 3, base_activation=act))
    assert torch.autograd.gradcheck(fn, (x, w), fast_mode=True)
    assert torch.autograd.gradgradcheck(fn, (x, w), fast_mode=True)


def test_full_gradcheck_cubic_nonuniform():
    """One exhaustive (non fast-mode) check of the general path."""
    x, knots, w = _setup(3, False, seed=3)
    fn = lambda a, b: kan_linear(a, knots, b, 3, uniform=False)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x, w))


def test_gradients_match_reference_outside_the_grid():
    x, knots, w = _setup(3, True, seed=2)
    x = (x.detach() * 3).requires_grad_(True)  # many points beyond the grid range
    g1 = torch.autograd.grad(kan_linear(x, knots, w, 3, uniform=True).sum(), (x, w))
    g2 = torch.autograd.grad(kan_linear_reference(x, knots, w, 3).sum(), (x, w))
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b)


def test_kept_for_backward_is_of_the_order_of_the_input():
    n, d, grid, order = 1024, 32, 8, 3  # window above KEEP_WINDOW_MAX: recomputed in backward, not kept
    assert n * d * (order + 1) * 2 > KEEP_WINDOW_MAX
    knots = uniform_knots(grid, order).expand(d, -1).contiguous()
    x = torch.rand(n, d, requires_grad=True)
    w = torch.randn(d, d, grid + order + 1, requires_grad=True)
    fused = kept_for_backward_bytes(lambda: kan_linear(x, knots, w, order, uniform=True))
    plain = kept_for_backward_bytes(lambda: kan_linear_reference(x, knots, w, order))
    budget = (x.numel() + w.numel() + knots.numel()) * 4
    assert fused <= budget
    assert plain > 4 * fused


@pytest.mark.skipif(bspline_native._lib() is None, reason="no C compiler for the native kernels")
def test_small_layers_keep_the_window_for_backward():
    """Below KEEP_WINDOW_MAX window values the native forward keeps its window (start, values, slopes) for
    backward, bounded by that limit; the gradients are those of a recomputed window."""
    n, d, grid, order = 200, 8, 8, 3
    assert n * d * (order + 1) * 2 <= KEEP_WINDOW_MAX
    knots = uniform_knots(grid, order, dtype=torch.float64).expand(d, -1).contiguous()
    x = torch.rand(n, d, dtype=torch.float64, requires_grad=True)
    w = torch.randn(d, 3, grid + order + 1, dtype=torch.float64, requires_grad=True).transpose(0, 1)
    kept = kept_for_backward_bytes(lambda: kan_linear(x, knots, w, order, uniform=True))
    inputs = (x.numel() + w.numel() + knots.numel()) * 8
    window = n * d * (4 + 2 * (order + 1) * 8)  # int32 starts, values and slopes in float64
    assert kept == inputs + window
    got = torch.autograd.grad(kan_linear(x, knots, w, order, uniform=True).square().sum(), (x, w))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bspline, "KEEP_WINDOW_MAX", 0)
        want = torch.autograd.grad(kan_linear(x, knots, w, order, uniform=True).square().sum(), (x, w))
        assert kept_for_backward_bytes(lambda: kan_linear(x, knots, w, order, uniform=True)) == inputs
    for a, b in zip(got, want):
        assert torch.equal(a, b)


def test_autocast_bfloat16_runs_and_is_close():
    x, knots, w = _setup(3, True, n_in=8, n_out=4)
    x32, w32, k32 = x.detach().float().requires_grad_(True), w.detach().float().requires_grad_(True), knots.float()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = kan_linear(x32, k32, w32, 3, uniform=True)
    assert out.dtype == torch.bfloat16
    out.float().sum().backward()
    assert x32.grad.dtype == torch.float32 and w32.grad.dtype == torch.float32
    ref = kan_linear_reference(x32, k32, w32, 3)
    torch.testing.assert_close(out.float(), ref, atol=0.1, rtol=0.05)


def test_torch_compile_matches_eager():
    x, knots, w = _setup(3, True)
    fn = torch.compile(lambda a, b: kan_linear(a, knots, b, 3, uniform=True), backend="aot_eager", fullgraph=False)
    out = fn(x, w)
    torch.testing.assert_close(out, kan_linear(x, knots, w, 3, uniform=True))
    g = torch.autograd.grad(out.sum(), (x, w))
    g_ref = torch.autograd.grad(kan_linear(x, knots, w, 3, uniform=True).sum(), (x, w))
    for a, b in zip(g, g_ref):
        torch.testing.assert_close(a, b)


def test_base_activations_are_the_registry_plus_none():
    from basiskit.nn.activations import activation_names

    assert set(BASE_ACTIVATIONS) == {*activation_names(), "none"}
    x, knots, w = _setup(3, True)
    for fn in (kan_linear, kan_linear_reference):
        with pytest.raises(ValueError, match=r"^base_activation: unknown value 'slu'; did you mean 'silu'"):
            fn(x, knots, w, 3, base_activation="slu")


@pytest.mark.parametrize("order", [1, 3])
@pytest.mark.parametrize("uniform", [True, False])
def test_padded_weight_matches_explicit_padding_and_gradchecks(order, uniform):
    """``pad=p``: the same values and gradients as passing ``pad_spline_weight(w, p)`` (the padded coefficients
    constants 0), float64 gradcheck and double backward through the padded Function."""
    x, knots, w = _setup(order, uniform, seed=4)
    # n_basis - 2 order spline coefficients and the base weight: padded by order zeros it fits the knots
    w = torch.cat([w[..., order:-order - 1], w[..., -1:]], -1).detach().requires_grad_(True)
    out = kan_linear(x, knots, w, order, uniform=uniform, pad=order)
    ref = kan_linear(x, knots, pad_spline_weight(w, order), order, uniform=uniform)
    torch.testing.assert_close(out, ref, atol=1e-12, rtol=1e-12)
    g1 = torch.autograd.grad(out.square().sum(), (x, w))
    g2 = torch.autograd.grad(ref.square().sum(), (x, w))
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-12)
    fn = lambda a, b: kan_linear(a, knots, b, order, uniform=uniform, pad=order)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x, w), fast_mode=True)
    assert torch.autograd.gradgradcheck(fn, (x, w), fast_mode=True)


def test_padded_weight_is_not_kept_for_backward():
    n, d, grid, order = 1024, 32, 8, 3
    knots = uniform_knots(grid + 2 * order, order).expand(d, -1).contiguous()
    x = torch.rand(n, d, requires_grad=True)
    w = torch.randn(d, d, grid + order + 1, requires_grad=True)
    inside = kept_for_backward_bytes(lambda: kan_linear(x, knots, w, order, uniform=True, pad=order))
    outside = kept_for_backward_bytes(lambda: kan_linear(x, knots, pad_spline_weight(w, order), order,
                                                         uniform=True))
    padded_bytes = d * d * (grid + 3 * order + 1) * 4
    assert inside <= (x.numel() + w.numel() + knots.numel()) * 4  # x, knots and the caller's own weight
    assert outside - inside >= padded_bytes - w.numel() * 4  # the padded copy, kept beside nothing else
