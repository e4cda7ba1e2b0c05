"""Native (C) path of the fused B-spline KAN layer against its PyTorch path: values and both gradients over
shapes, orders, grid sizes and inputs beyond the grid, gradcheck in float64 and the fallbacks."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basiskit.bases import uniform_knots
from basiskit.nn import KANLinear
from basiskit.ops import bspline_native
from basiskit.ops.bspline import KANLinearFunction, _native_path, kan_linear, kan_linear_reference

pytestmark = pytest.mark.skipif(bspline_native._lib() is None, reason="no C compiler for the native kernels")


def _layer(n: int, n_in: int, n_out: int, grid: int, order: int, dtype=torch.float64, seed: int = 0,
           spread: float = 1.5):
    g = torch.Generator().manual_seed(seed)
    knots = uniform_knots(grid, order, (-1, 1), dtype=torch.float64).expand(n_in, -1).contiguous()
    x = ((torch.rand(n, n_in, generator=g, dtype=torch.float64) * 2 - 1) * spread).to(dtype)
    w = torch.randn(n_out, n_in, grid + order + 1, generator=g, dtype=torch.float64).to(dtype)
    return x, knots, w


def _run(x, knots, w, order, act="silu", uniform=True):
    """(y, dL/dx, dL/dW) for L = <y, r> with a fixed r."""
    x, w = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
    y = kan_linear(x, knots, w, order, uniform=uniform, base_activation=act)
    r = torch.linspace(-1, 1, y.numel(), dtype=y.dtype).reshape(y.shape)
    gx, gw = torch.autograd.grad((y * r).sum(), (x, w))
    return y.detach(), gx, gw


def _torch_path(monkeypatch, *args, **kw):
    with monkeypatch.context() as m:
        m.setenv("BASISKIT_NATIVE", "0")
        return _run(*args, **kw)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 40), n_in=st.integers(1, 5), n_out=st.integers(1, 20), grid=st.integers(1, 7),
       order=st.integers(0, 4), act=st.sampled_from(["silu", "gelu", "none", "identity"]),
       seed=st.integers(0, 1000))
def test_native_matches_torch_path(n, n_in, n_out, grid, order, act, seed):
    x, knots, w = _layer(n, n_in, n_out, grid, order, seed=seed, spread=2.0)  # about half the points outside
    assert _native_path(x, knots, w, order, True, x.dtype)
    native = _run(x, knots, w, order, act)
    with pytest.MonkeyPatch.context() as mp:
        reference = _torch_path(mp, x, knots, w, order, act)
    for a, b in zip(native, reference):
        torch.testing.assert_close(a, b, atol=1e-11, rtol=1e-11)


@pytest.mark.parametrize("n_in,n_out", [(23, 70), (3, 300)])
def test_blocks_of_inputs_and_samples(monkeypatch, n_in, n_out):
    """Several L1 blocks of inputs (some partial), several sample chunks, output lengths off the vector width."""
    x, knots, w = _layer(150, n_in, n_out, 5, 3, seed=n_in)
    native = _run(x, knots, w, 3)
    for a, b in zip(native, _torch_path(monkeypatch, x, knots, w, 3)):
        torch.testing.assert_close(a, b, atol=1e-11, rtol=1e-11)


def test_kan_linear_module_takes_the_native_path(monkeypatch):
    calls = []
    for name in ("forward", "forward_keeping_window"):  # the second for small calls, which keep their window
        real = getattr(bspline_native, name)
        monkeypatch.setattr(bspline_native, name, lambda *a, _real=real: calls.append(1) or _real(*a))
    layer = KANLinear(4, 3)
    layer(torch.rand(5, 4)).sum().backward()
    assert calls == [1] and layer.weight.grad is not None


@pytest.mark.parametrize("order", [1, 3])
def test_float32_native_matches_float64_reference(order):
    x, knots, w = _layer(300, 7, 130, 5, order, dtype=torch.float32, spread=1.3)
    got = _run(x, knots, w, order)
    want = _run(x.double(), knots, w.double(), order)
    for a, b in zip(got, want):
        torch.testing.assert_close(a.double(), b, atol=2e-4, rtol=2e-4)


def test_switched_off_gives_the_same_numbers(monkeypatch):
    x, knots, w = _layer(64, 6, 140, 5, 3, dtype=torch.float32, seed=4)
    native = _run(x, knots, w, 3)
    off = _torch_path(monkeypatch, x, knots, w, 3)
    for a, b in zip(native, off):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("order", [0, 2, 3])
def test_gradcheck_float64_native_path(order):
    x, knots, w = _layer(6, 3, 4, 4, order, seed=order, spread=1.4)
    assert _native_path(x, knots, w, order, True, x.dtype)
    fn = lambda a, b: kan_linear(a, knots, b, order, uniform=True)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x.requires_grad_(True), w.requires_grad_(True)))


def test_double_backward_uses_the_differentiable_path():
    x, knots, w = _layer(5, 2, 3, 3, 3, seed=7)
    fn = lambda a, b: kan_linear(a, knots, b, 3, uniform=True)  # noqa: E731
    assert torch.autograd.gradgradcheck(fn, (x.requires_grad_(True), w.requires_grad_(True)), fast_mode=True)


def test_slope_is_zero_outside_the_grid():
    order = 3
    x, knots, w = _layer(50, 4, 3, 5, order, spread=1.0)
    x = x.sign() * (1.2 + x.abs())  # every point beyond [-1, 1]
    x.requires_grad_(True)
    y = kan_linear(x, knots, w, order, uniform=True, base_activation="none")
    (gx,) = torch.autograd.grad(y.sum(), x)
    assert torch.equal(gx, torch.zeros_like(gx))
    edge = torch.where(x > 0, 1.0, -1.0).to(x.dtype)
    torch.testing.assert_close(y, kan_linear_reference(edge, knots, w, order, base_activation="none"))


def test_empty_batch_and_leading_dims():
    layer = KANLinear(5, 130, grid_size=4, dtype=torch.float64)
    x = torch.rand(2, 3, 5, dtype=torch.float64, requires_grad=True)
    y = layer(x)
    assert y.shape == (2, 3, 130)
    torch.testing.assert_close(y, layer(x.reshape(6, 5)).reshape(2, 3, 130))
    empty = torch.zeros(0, 5, dtype=torch.float64, requires_grad=True)
    out = layer(empty)
    assert out.shape == (0, 130)
    out.sum().backward()
    assert empty.grad.shape == (0, 5) and torch.equal(layer.weight.grad, torch.zeros_like(layer.weight))


@pytest.mark.parametrize("wrt", ["x", "weight"])
def test_one_gradient_only(monkeypatch, wrt):
    x, knots, w = _layer(30, 5, 7, 4, 3)
    leaf = (x if wrt == "x" else w).clone().requires_grad_(True)

    def grad() -> torch.Tensor:
        args = (leaf, w) if wrt == "x" else (x, leaf)
        return torch.autograd.grad(kan_linear(args[0], knots, args[1], 3, uniform=True).square().sum(), leaf)[0]

    native = grad()
    monkeypatch.setenv("BASISKIT_NATIVE", "0")
    torch.testing.assert_close(native, grad())


@pytest.mark.parametrize("keep", [True, False])
def test_same_bits_for_any_thread_count(monkeypatch, keep):
    """No atomics and fixed summation orders in the kernels: one thread and two give identical results (no base
    activation, so no BLAS call, whose blocking may depend on the thread count), with the window kept from
    forward and recomputed inside the fused regions."""
    import basiskit.ops.bspline as bspline

    monkeypatch.setattr(bspline, "KEEP_WINDOW_MAX", 1 << 30 if keep else 0)
    x, knots, w = _layer(200, 9, 33, 5, 3, dtype=torch.float32)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = _run(x, knots, w, 3, act="none")
        torch.set_num_threads(2)
        two = _run(x, knots, w, 3, act="none")
    finally:
        torch.set_num_threads(before)
    for a, b in zip(one, two):
        assert torch.equal(a, b)


def test_non_contiguous_weight(monkeypatch):
    x, knots, w = _layer(20, 4, 6, 5, 3)
    w_t = w.permute(2, 0, 1).contiguous().permute(1, 2, 0)  # same values, other strides
    assert not w_t.is_contiguous()
    for a, b in zip(_run(x, knots, w_t, 3), _torch_path(monkeypatch, x, knots, w, 3)):
        torch.testing.assert_close(a, b)


def test_non_contiguous_input():
    x, knots, w = _layer(40, 6, 10, 5, 3)
    wide = torch.stack([x, x], -1)[..., 0]  # strided view
    assert not wide.is_contiguous()
    for a, b in zip(_run(wide, knots, w, 3), _run(x, knots, w, 3)):
        torch.testing.assert_close(a, b)


def test_fallbacks_are_chosen():
    x, knots, w = _layer(8, 3, 4, 5, 3, dtype=torch.float32)
    assert _native_path(x, knots, w, 3, True, torch.float32)
    assert _native_path(x, knots, w, 3, False, torch.float32)                # non-uniform knots: own window kernel
    assert not _native_path(x, knots, w, 3, True, torch.bfloat16)            # autocast to bfloat16
    assert not _native_path(x, knots, w.double(), 3, True, torch.float32)    # mixed dtypes
    assert not _native_path(x.half(), knots, w.half(), 3, True, torch.float16)


def _random_knots(n_in: int, n_knots: int, seed: int, dtype=torch.float64) -> torch.Tensor:
    """Strictly increasing rows with gaps from 0.05 to 1.05 (far from uniform), starting near -1."""
    g = torch.Generator().manual_seed(seed)
    gaps = torch.rand(n_in, n_knots - 1, generator=g, dtype=torch.float64) + 0.05
    t = torch.cat([torch.zeros(n_in, 1, dtype=torch.float64), gaps.cumsum(-1)], -1)
    return (t / t[:, -1:] * 2.4 - 1.2).to(dtype)


def test_non_uniform_knots_still_match_the_reference():
    x, knots, w = _layer(30, 3, 4, 5, 3)
    knots = knots + 0.03 * torch.rand(knots.shape, generator=torch.Generator().manual_seed(1), dtype=knots.dtype)
    y = kan_linear(x, knots, w, 3, uniform=False)
    torch.testing.assert_close(y, kan_linear_reference(x, knots, w, 3))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 40), n_in=st.integers(1, 5), n_out=st.integers(1, 20), grid=st.integers(1, 9),
       order=st.integers(0, 5), act=st.sampled_from(["silu", "none"]), seed=st.integers(0, 1000))
def test_native_non_uniform_knots_match_torch_path(n, n_in, n_out, grid, order, act, seed):
    """The span-search window kernel against the PyTorch span search and de Boor triangle, points inside and
    outside the knots' domain (values and both gradients)."""
    x, _, w = _layer(n, n_in, n_out, grid, order, seed=seed, spread=1.6)
    knots = _random_knots(n_in, grid + 2 * order + 1, seed)
    assert _native_path(x, knots, w, order, False, x.dtype)
    native = _run(x, knots, w, order, act, uniform=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BASISKIT_NATIVE", "0")
        reference = _run(x, knots, w, order, act, uniform=False)
    for a, b in zip(native, reference):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_native_non_uniform_values_are_the_closed_form_basis(order):
    """Window values against the full Cox-de Boor recursion, also at the knots themselves and at both ends of
    the domain (the right end belongs to the last span)."""
    knots = _random_knots(3, 6 + 2 * order + 1, order)
    g = torch.Generator().manual_seed(order)
    lo, hi = knots[:, order], knots[:, -1 - order]
    x = lo + (hi - lo) * torch.rand(50, 3, generator=g, dtype=torch.float64)
    x = torch.cat([x, knots[:, order:-order].t(), hi[None]], 0)  # every interior knot and the right end
    w = torch.randn(2, 3, knots.shape[1] - order, generator=g, dtype=torch.float64)
    y = kan_linear(x, knots, w, order, uniform=False, base_activation="none")
    torch.testing.assert_close(y, kan_linear_reference(x, knots, w, order, base_activation="none"),
                               atol=1e-12, rtol=1e-12)


def test_native_window_sums_to_one_and_slopes_to_zero():
    """Partition of unity: the p+1 values sum to 1 and their slopes to 0 inside the domain."""
    knots = _random_knots(4, 20, 3)
    x = torch.rand(200, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2.0 - 1.0
    inside = (x > knots[:, 3]) & (x < knots[:, -4])
    _, values, slopes = bspline_native.window(x, knots, 3, True, uniform=False)
    torch.testing.assert_close(values.sum(1), torch.ones_like(x), atol=1e-13, rtol=0)
    assert slopes.sum(1)[inside].abs().max() < 1e-11
    assert torch.equal(slopes.sum(1)[~inside], torch.zeros(int((~inside).sum()), dtype=x.dtype))


@pytest.mark.parametrize("order", [0, 1, 3])
def test_gradcheck_float64_native_non_uniform(order):
    x, _, w = _layer(6, 3, 4, 4, order, seed=order, spread=1.4)
    knots = _random_knots(3, 4 + 2 * order + 1, order + 10)
    assert _native_path(x, knots, w, order, False, x.dtype)
    fn = lambda a, b: kan_linear(a, knots, b, order, uniform=False)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x.requires_grad_(True), w.requires_grad_(True)))


def test_native_repeated_knots_match_the_reference():
    """A repeated interior knot (zero gap) lowers the continuity there; the zero-gap terms count 0 as in the
    reference recursion."""
    knots = _random_knots(2, 12, 5)
    knots[:, 6] = knots[:, 5]
    g = torch.Generator().manual_seed(2)
    x = knots[:, 3] + (knots[:, -4] - knots[:, 3]) * torch.rand(40, 2, generator=g, dtype=torch.float64)
    w = torch.randn(3, 2, 9, generator=g, dtype=torch.float64)
    y = kan_linear(x, knots, w, 3, uniform=False, base_activation="none")
    torch.testing.assert_close(y, kan_linear_reference(x, knots, w, 3, base_activation="none"))


def test_native_non_uniform_non_finite_inputs():
    knots = _random_knots(3, 12, 1)
    x, _, w = _layer(4, 3, 6, 5, 3)
    x[0, 0], x[1, 1], x[2, 2] = float("inf"), float("-inf"), float("nan")
    y = kan_linear(x, knots, w, 3, uniform=False, base_activation="none")
    assert torch.isnan(y[2]).all() and torch.isfinite(y[[0, 1, 3]]).all()
    torch.testing.assert_close(y[:2], kan_linear_reference(x[:2], knots, w, 3, base_activation="none"))


def test_non_finite_inputs():
    x, knots, w = _layer(4, 3, 130, 5, 3)
    x[0, 0], x[1, 1], x[2, 2] = float("inf"), float("-inf"), float("nan")
    y = kan_linear(x, knots, w, 3, uniform=True, base_activation="none")
    assert torch.isnan(y[2]).all() and torch.isfinite(y[[0, 1, 3]]).all()
    torch.testing.assert_close(y[:2], kan_linear_reference(x[:2], knots, w, 3, base_activation="none"))


LEAF_SCRIPT = r"""
import sys
import torch
from basiskit.ops import bspline_native as N
from basiskit.bases import bspline_basis, uniform_knots

g = torch.Generator().manual_seed(0)
x = torch.rand(7, 3, generator=g, dtype=torch.float64) * 1.6 - 0.8   # inside the grid's domain [-1, 1]
knots = uniform_knots(4, 3, (-1, 1), dtype=torch.float64).expand(3, -1).contiguous()
w = torch.randn(5, 3, 8, generator=g, dtype=torch.float64)
assert N.usable(x, w, 3, True, x.dtype)
y = N.forward(x, knots, w, 3, "tanh")
feats = torch.cat([bspline_basis(x, knots, 3), torch.tanh(x)[..., None]], -1)   # (N, I, n_basis + 1)
torch.testing.assert_close(y, feats.reshape(7, -1) @ w.reshape(5, -1).t())
grad = torch.randn(7, 5, generator=g, dtype=torch.float64)
gx, gw = N.backward(x, knots, w, 3, "tanh", grad, True, True)
torch.testing.assert_close(gw, (grad.t() @ feats.reshape(7, -1)).reshape(w.shape))
print(sorted(m for m in sys.modules if m.startswith("basiskit.ops")))
"""


def test_native_loader_is_a_leaf():
    """bspline_native imports and runs without basiskit.ops.bspline (no import cycle between the two)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", LEAF_SCRIPT], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    loaded = out.stdout.strip().splitlines()[-1]
    assert "'basiskit.ops.bspline_native'" in loaded and "'basiskit.ops.bspline'" not in loaded


def test_both_loaders_share_one_vocabulary():
    """One word for 'the compiled kernel can run this call' and one convention for the autograd Functions."""
    from basiskit.ops import rational, rational_native

    assert callable(bspline_native.usable) and callable(rational_native.usable)
    assert not hasattr(bspline_native, "available")
    assert issubclass(KANLinearFunction, torch.autograd.Function)
    assert issubclass(rational.GroupRationalFunction, torch.autograd.Function)
    x, knots, w = _layer(6, 3, 4, 4, 3, seed=2)
    torch.testing.assert_close(KANLinearFunction.apply(x, knots, w, 3, True, "silu"),
                               kan_linear(x, knots, w, 3, uniform=True))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 30), n_in=st.integers(1, 4), n_out=st.integers(1, 9), grid=st.integers(1, 8),
       order=st.integers(1, 4), uniform=st.booleans(), seed=st.integers(0, 1000))
def test_native_pad_moves_the_window_onto_the_callers_weight(n, n_in, n_out, grid, order, uniform, seed):
    """``pad`` (KANLinear's boundary="extend"): the C window shifted onto the unpadded coefficients against the
    PyTorch code on the explicitly padded weight, values and both gradients, points beyond the extended grid."""
    n_ext = grid + 2 * order  # intervals of the extended knots
    x, knots, _ = _layer(n, n_in, n_out, n_ext, order, seed=seed, spread=1.3)
    if not uniform:
        knots = _random_knots(n_in, n_ext + 2 * order + 1, seed)
    w = torch.randn(n_out, n_in, grid + order + 1, generator=torch.Generator().manual_seed(seed),
                    dtype=torch.float64)

    def run():
        xx, ww = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
        y = kan_linear(xx, knots, ww, order, uniform=uniform, pad=order)
        r = torch.linspace(-1, 1, y.numel(), dtype=y.dtype).reshape(y.shape)
        return (y.detach(), *torch.autograd.grad((y * r).sum(), (xx, ww)))

    native = run()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BASISKIT_NATIVE", "0")
        reference = run()
    for a, b in zip(native, reference):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)


def test_window_shift_needs_a_window_of_columns():
    """pad leaving fewer than p + 1 spline columns: a clear error from the loader (the layer pads itself then)."""
    x, knots, _ = _layer(4, 2, 3, 3, 3)  # 3 intervals, order 3: pad=3 would leave 0 columns
    with pytest.raises(ValueError, match=r"pad=3 leaves 0 spline columns .* fewer than a window of order \+ 1 = 4"):
        bspline_native.window(x, knots, 3, False, uniform=True, pad=3)


@pytest.mark.parametrize("keep", [True, False])
@pytest.mark.parametrize("uniform,pad", [(True, 0), (False, 0), (True, 3), (False, 3)])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("wrt", ["x", "weight", "both"])
def test_window_inside_the_fused_regions(monkeypatch, keep, uniform, pad, threads, wrt):
    """The forward computing each chunk's window into per-thread rows and the backward computing it before its
    barrier (keep=False, as for large calls) against the kept window and the PyTorch code: several sample
    chunks per thread and a partial last one, any knots, a padded weight, each gradient alone."""
    import basiskit.ops.bspline as bspline

    order, grid = 3, 4
    n_ext = grid + 2 * pad
    x, knots, _ = _layer(301, 7, 11, n_ext, order, seed=5, spread=1.4)
    if not uniform:
        knots = _random_knots(7, n_ext + 2 * order + 1, 5)
    w = torch.randn(11, 7, grid + order + 1, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    monkeypatch.setattr(bspline, "KEEP_WINDOW_MAX", 1 << 30 if keep else 0)

    def run():
        xx, ww = x.clone().requires_grad_(wrt != "weight"), w.clone().requires_grad_(wrt != "x")
        y = kan_linear(xx, knots, ww, order, uniform=uniform, pad=pad)
        leaves = [t for t in (xx, ww) if t.requires_grad]
        r = torch.linspace(-1, 1, y.numel(), dtype=y.dtype).reshape(y.shape)
        return (y.detach(), *torch.autograd.grad((y * r).sum(), leaves))

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        native = run()
    finally:
        torch.set_num_threads(before)
    with monkeypatch.context() as mp:
        mp.setenv("BASISKIT_NATIVE", "0")
        reference = run()
    for a, b in zip(native, reference, strict=True):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 300), n_in=st.integers(1, 12), n_out=st.integers(1, 40), grid=st.integers(1, 8),
       order=st.integers(0, 4), uniform=st.booleans(), keep=st.booleans(), threads=st.sampled_from([1, 2, 3]),
       seed=st.integers(0, 1000))
def test_fused_regions_any_shape(n, n_in, n_out, grid, order, uniform, keep, threads, seed):
    """Window kept or recomputed inside the fused regions, any knots, thread counts that do not divide the
    chunks evenly: values and both gradients against the PyTorch code."""
    import basiskit.ops.bspline as bspline

    x, knots, w = _layer(n, n_in, n_out, grid, order, seed=seed, spread=1.5)
    if not uniform:
        knots = _random_knots(n_in, grid + 2 * order + 1, seed)
    before, keep_max = torch.get_num_threads(), bspline.KEEP_WINDOW_MAX
    try:
        torch.set_num_threads(threads)
        bspline.KEEP_WINDOW_MAX = 1 << 30 if keep else 0
        native = _run(x, knots, w, order, uniform=uniform)
    finally:
        torch.set_num_threads(before)
        bspline.KEEP_WINDOW_MAX = keep_max
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BASISKIT_NATIVE", "0")
        reference = _run(x, knots, w, order, uniform=uniform)
    for a, b in zip(native, reference, strict=True):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)
