import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from basiskit.ops import rational as R
from basiskit.ops import rational_native as N
from basiskit.ops.rational import GroupRationalFunction, group_rational, group_rational_reference

pytestmark = pytest.mark.skipif(not N.usable(torch.zeros(1), torch.zeros(1, 1), torch.zeros(1, 1)),
                                reason="native kernels unavailable (no C compiler or BASISKIT_NATIVE=0)")


@pytest.fixture
def native_only(monkeypatch):
    """Fail loudly if the dispatch falls back to the chunked PyTorch path."""
    def fail(*args, **kwargs):
        raise AssertionError("chunked CPU path used where the native kernel should run")

    monkeypatch.setattr(R, "fused_forward_cpu", fail)
    monkeypatch.setattr(R, "fused_backward_cpu", fail)


def _coeffs(groups, m=5, n=4, dtype=torch.float64, seed=0, scale=0.5):
    g = torch.Generator().manual_seed(seed)
    a = (scale * torch.randn(groups, m + 1, generator=g, dtype=dtype)).requires_grad_()
    b = (scale * torch.randn(groups, n, generator=g, dtype=dtype)).requires_grad_()
    return a, b


def _grads(fn, x, a, b, groups, go):
    x = x.detach().requires_grad_()
    y = fn(x, a, b, groups)
    return (y.detach(), *torch.autograd.grad(y, (x, a, b), go))


def _compare(x, a, b, groups, tol, seed=0):
    go = torch.randn(x.shape, dtype=x.dtype, generator=torch.Generator().manual_seed(seed + 1))
    got = _grads(group_rational, x, a, b, groups, go)
    ref64 = [t.double() for t in (x, go)]
    want = _grads(group_rational_reference, ref64[0], a.double().detach().requires_grad_(),
                  b.double().detach().requires_grad_(), groups, ref64[1])
    for name, g, w in zip(("out", "dx", "da", "db"), got, want):
        assert g.dtype == (x.dtype if name in ("out", "dx") else a.dtype)
        scale = w.abs().max().clamp_min(1.0)
        err = float((g.double() - w).abs().max() / scale)
        assert err <= tol, f"{name}: relative error {err:.3g} > {tol}"


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(groups=st.sampled_from([1, 2, 4, 8]), per_group=st.integers(1, 40), rows=st.integers(1, 50),
       degrees=st.sampled_from([(5, 4), (5, 4), (0, 1), (3, 2), (6, 5), (2, 4)]), seed=st.integers(0, 10_000),
       dtype=st.sampled_from([torch.float64, torch.float32]))
def test_native_matches_reference(native_only, groups, per_group, rows, degrees, seed, dtype):
    m, n = degrees
    a, b = _coeffs(groups, m, n, dtype=dtype, seed=seed)
    x = 2 * torch.randn(rows, groups * per_group, dtype=dtype, generator=torch.Generator().manual_seed(seed))
    _compare(x, a, b, groups, tol=1e-11 if dtype == torch.float64 else 2e-4, seed=seed)


@pytest.mark.parametrize("m,n", [(5, 4), (3, 2)])
def test_multithreaded_sizes_match_reference(native_only, m, n):
    # above the kernel's serial threshold: rows are split over threads and the gradients reduced
    torch.manual_seed(0)
    a, b = _coeffs(8, m, n)
    _compare(torch.randn(333, 160, dtype=torch.float64), a, b, 8, tol=1e-11)
    a32, b32 = _coeffs(8, m, n, dtype=torch.float32)
    _compare(torch.randn(333, 160), a32, b32, 8, tol=2e-4)


@pytest.mark.parametrize("m,n,groups", [(5, 4, 4), (3, 2, 2), (0, 1, 1)])
def test_gradcheck_native_float64(native_only, m, n, groups):
    a, b = _coeffs(groups, m, n, seed=3)
    x = torch.randn(5, 3, 4 * groups, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, a, b: GroupRationalFunction.apply(x, a, b, groups), (x, a, b))


def test_huge_inputs_finite_and_accurate(native_only):
    for dtype in (torch.float32, torch.float64):
        a, b = _coeffs(2, dtype=dtype, seed=5)
        x = torch.tensor([-1e4, -3e3, -1.0, 0.0, 1e-30, 2.5, 1e3, 1e4], dtype=dtype).repeat(7, 2)
        got = _grads(group_rational, x, a, b, 2, torch.ones_like(x))
        assert all(torch.isfinite(t).all() for t in got)
    a, b = _coeffs(2, seed=5)
    _compare(x.double(), a, b, 2, tol=1e-10)


def test_zero_denominator_polynomial_uses_zero_subgradient(native_only):
    # x = 0 gives S = 0 exactly; b = 0 (the identity init) gives S = 0 for every x: sgn(S) = 0 as in torch.abs
    a, b = _coeffs(2, seed=7)
    x = torch.tensor([[0.0, 0.0, 1.5, -0.5], [0.0, 2.0, 0.0, -3.0]], dtype=torch.float64)
    _compare(x, a, b, 2, tol=1e-12)
    zero_b = torch.zeros_like(b).requires_grad_()
    y, dx, da, db = _grads(group_rational, x, a, zero_b, 2, torch.ones_like(x))
    _, dx_ref, da_ref, db_ref = _grads(group_rational_reference, x, a, zero_b, 2, torch.ones_like(x))
    torch.testing.assert_close(dx, dx_ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(da, da_ref, rtol=1e-12, atol=1e-12)
    assert torch.equal(db, torch.zeros_like(db)) and torch.equal(db_ref, torch.zeros_like(db_ref))


def test_native_off_gives_the_same_numbers(monkeypatch):
    torch.manual_seed(1)
    a, b = _coeffs(4, seed=2)
    x = torch.randn(64, 48, dtype=torch.float64)
    go = torch.randn(64, 48, dtype=torch.float64)
    native = _grads(group_rational, x, a, b, 4, go)
    monkeypatch.setenv("BASISKIT_NATIVE", "0")
    assert not N.usable(x, a, b)
    fallback = _grads(group_rational, x, a, b, 4, go)
    for got, want in zip(native, fallback):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_fallback_chunked_path_across_chunk_boundaries(monkeypatch):
    # with the native kernel off, the chunked PyTorch path still runs (5 rows per chunk, ragged last chunk)
    monkeypatch.setenv("BASISKIT_NATIVE", "0")
    monkeypatch.setattr(R, "CHUNK_ELEMENTS", 40)
    a, b = _coeffs(2, m=3, n=2)
    x = torch.randn(23, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, a, b: GroupRationalFunction.apply(x, a, b, 2), (x, a, b))


def test_bitwise_reproducible_for_any_thread_count(native_only):
    # the kernel sums the coefficient gradients over fixed row slices, in slice order, whatever the threads
    a, b = _coeffs(8, dtype=torch.float32)
    x = torch.randn(500, 256)
    go = torch.randn(500, 256)
    threads = torch.get_num_threads()
    try:
        runs = []
        for n in (1, 2, 2, 3):
            torch.set_num_threads(n)
            runs.append(_grads(group_rational, x, a, b, 8, go))
    finally:
        torch.set_num_threads(threads)
    assert all(torch.equal(u, v) for run in runs[1:] for u, v in zip(runs[0], run))


def test_empty_and_noncontiguous_inputs(native_only):
    a, b = _coeffs(2)
    empty = torch.zeros(0, 3, 8, dtype=torch.float64, requires_grad=True)
    y = group_rational(empty, a, b, 2)
    assert y.shape == (0, 3, 8)
    y.sum().backward()
    assert torch.equal(a.grad, torch.zeros_like(a)) and torch.equal(b.grad, torch.zeros_like(b))
    assert empty.grad.shape == empty.shape
    x = torch.randn(16, 10, dtype=torch.float64).t()  # (10, 16), non-contiguous
    _compare(x, a, b, 2, tol=1e-12)
    _compare(torch.randn(12, 2, 20, dtype=torch.float64)[:, 1], a, b, 2, tol=1e-12)


def test_dispatch_rules():
    a, b = _coeffs(2, dtype=torch.float32)
    assert N.usable(torch.zeros(3, 4), a, b)
    assert N.usable(torch.zeros(3, 4, dtype=torch.float64), a, b)  # coefficients are cast to x's dtype
    assert not N.usable(torch.zeros(3, 4, dtype=torch.bfloat16), a, b)
    assert not N.usable(torch.zeros(3, 4, dtype=torch.float16), a, b)


def test_mixed_coefficient_dtype_keeps_parameter_dtypes(native_only):
    a, b = _coeffs(2, dtype=torch.float64)
    x = torch.randn(9, 8, requires_grad=True)
    y = group_rational(x, a, b, 2)
    assert y.dtype == torch.float32
    dx, da, db = torch.autograd.grad(y.sum(), (x, a, b))
    assert dx.dtype == torch.float32 and da.dtype == db.dtype == torch.float64
    ref = group_rational_reference(x.double(), a, b, 2)
    torch.testing.assert_close(y.double(), ref, rtol=1e-5, atol=1e-5)
