import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basiskit.bases.rational import rational
from basiskit.ops import rational as R
from basiskit.ops.rational import GroupRationalFunction, group_rational, group_rational_reference


def _coeffs(groups, m=5, n=4, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = (0.5 * torch.randn(groups, m + 1, generator=g, dtype=dtype)).requires_grad_()
    b = (0.5 * torch.randn(groups, n, generator=g, dtype=dtype)).requires_grad_()
    return a, b


def test_reference_matches_per_group_closed_form():
    a, b = _coeffs(3)
    x = torch.randn(7, 12, dtype=torch.float64)
    y = group_rational_reference(x, a, b, 3)
    for g in range(3):
        cols = slice(4 * g, 4 * g + 4)
        xs = x[:, cols]
        p = sum(a[g, k] * xs ** k for k in range(6))
        q = 1 + (sum(b[g, j - 1] * xs ** j for j in range(1, 5))).abs()
        torch.testing.assert_close(y[:, cols], p / q)


def test_gradcheck_fused_float64():
    a, b = _coeffs(4)
    x = torch.randn(2, 9, 16, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, a, b: GroupRationalFunction.apply(x, a, b, 4), (x, a, b))


def test_fused_matches_reference_values_and_all_gradients():
    a, b = _coeffs(8, seed=1)
    x = (2 * torch.randn(300, 64, dtype=torch.float64)).requires_grad_()
    go = torch.randn(300, 64, dtype=torch.float64)
    y_ref = group_rational_reference(x, a, b, 8)
    y = group_rational(x, a, b, 8)
    torch.testing.assert_close(y, y_ref, atol=1e-12, rtol=1e-12)
    g_ref = torch.autograd.grad(y_ref, (x, a, b), go)
    g = torch.autograd.grad(y, (x, a, b), go)
    for got, want in zip(g, g_ref):  # coefficient gradients are sums over each group's channels and rows
        torch.testing.assert_close(got, want, atol=1e-9, rtol=1e-9)


def test_chunked_path_crosses_chunk_boundaries(monkeypatch):
    monkeypatch.setenv("BASISKIT_NATIVE", "0")  # the chunked PyTorch path, not the compiled kernel
    monkeypatch.setattr(R, "CHUNK_ELEMENTS", 40)  # 5 rows per chunk, ragged last chunk
    a, b = _coeffs(2, m=3, n=2)
    x = torch.randn(23, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, a, b: GroupRationalFunction.apply(x, a, b, 2), (x, a, b))


@settings(max_examples=20, deadline=None)
@given(groups=st.sampled_from([1, 2, 4]), per_group=st.integers(1, 5), rows=st.integers(1, 17),
       m=st.integers(0, 6), n=st.integers(1, 5), seed=st.integers(0, 1000))
def test_fused_equals_reference_any_degrees(groups, per_group, rows, m, n, seed):
    a, b = _coeffs(groups, m, n, seed=seed)
    x = torch.randn(rows, groups * per_group, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    x.requires_grad_()
    y, y_ref = group_rational(x, a, b, groups), group_rational_reference(x, a, b, groups)
    torch.testing.assert_close(y, y_ref)
    go = torch.randn_like(y)
    for got, want in zip(torch.autograd.grad(y, (x, a, b), go), torch.autograd.grad(y_ref, (x, a, b), go)):
        torch.testing.assert_close(got, want, atol=1e-8, rtol=1e-8)


@pytest.mark.parametrize("fused", [True, False])
def test_finite_for_huge_inputs(fused):
    a, b = _coeffs(2, dtype=torch.float32)
    x = torch.tensor([[-1e4, -1e3, 0.0, 1e-30, 1e3, 1e4]], requires_grad=True).repeat(3, 2)
    y = group_rational(x, a, b, 2, fused=fused)
    ga = torch.autograd.grad(y.sum(), (x, a, b))
    assert torch.isfinite(y).all() and all(torch.isfinite(g).all() for g in ga)


def test_denominator_never_below_one():
    # S(x) crosses zero at x = 1: the unguarded form 1 + S would have a pole at 1 + S = 0, the safe one has none
    a = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    b = torch.tensor([[-2.0, 1.0]], dtype=torch.float64)  # S = -2x + x^2, 1 + S = (x - 1)^2 = 0 at x = 1
    x = torch.linspace(-3, 3, 601, dtype=torch.float64)[:, None]
    y = group_rational(x, a, b, 1)
    assert torch.isfinite(y).all() and float(y.abs().max()) <= 1.0
    torch.testing.assert_close(y, rational(x, a[0], b[0]))


def test_bf16_autocast_finite_and_keeps_dtype():
    a, b = _coeffs(4, dtype=torch.float32)
    lin = torch.nn.Linear(16, 16)
    x = torch.randn(32, 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        h = lin(x)
        y = group_rational(h, a, b, 4)
    assert y.dtype == h.dtype == torch.bfloat16
    y.float().sum().backward()
    assert torch.isfinite(y.float()).all()
    assert all(torch.isfinite(p.grad).all() for p in (a, b, lin.weight))
    torch.testing.assert_close(y.float(), group_rational_reference(h.float(), a, b, 4), atol=2e-2, rtol=2e-2)


def test_bad_inputs_name_the_argument():
    a, b = _coeffs(4)
    with pytest.raises(ValueError, match="divisible by groups"):
        group_rational(torch.randn(3, 10, dtype=torch.float64), a, b, 4)
    with pytest.raises(ValueError, match="groups"):
        group_rational(torch.randn(3, 8, dtype=torch.float64), a, b, 2)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        group_rational([1.0], a, b, 4)
    with pytest.raises(ValueError, match="a must have 2 dims"):
        group_rational(torch.randn(3, 8), a[0], b, 4)


def test_fused_handles_noncontiguous_1d_and_empty_inputs():
    a, b = _coeffs(2)
    base = torch.randn(16, 6, dtype=torch.float64)
    x = base.t().requires_grad_()  # (6, 16), non-contiguous
    go = torch.randn(6, 16, dtype=torch.float64)
    for got, want in zip(torch.autograd.grad(group_rational(x, a, b, 2), (x, a, b), go),
                         torch.autograd.grad(group_rational_reference(x, a, b, 2), (x, a, b), go)):
        torch.testing.assert_close(got, want)
    v = torch.randn(8, dtype=torch.float64)
    torch.testing.assert_close(group_rational(v, a, b, 2), group_rational_reference(v, a, b, 2))
    empty = torch.zeros(0, 8, dtype=torch.float64, requires_grad=True)
    y = group_rational(empty, a, b, 2)
    assert y.shape == (0, 8)
    y.sum().backward()
    assert a.grad is not None and torch.all(a.grad == 0)
