import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from basiskit.ops import gaussian_native as G
from basiskit.physics import PIG
from basiskit.physics.derivatives import AutogradDerivatives
from basiskit.physics.pig import gaussian_feature_jets
from basiskit.physics.problems import create

pytestmark = pytest.mark.skipif(not G.usable(torch.zeros(1)),
                                reason="native kernels unavailable (no C compiler or BASISKIT_NATIVE=0)")


def _inputs(n, N, d, C, dtype=torch.float64, seed=0, scale=(0.05, 0.5)):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, d, generator=g, dtype=dtype) * 2 - 1
    mu = torch.rand(N, d, generator=g, dtype=dtype) * 2.4 - 1.2
    ls = torch.log(scale[0] + (scale[1] - scale[0]) * torch.rand(N, d, generator=g, dtype=dtype))
    w = torch.randn(N, C, generator=g, dtype=dtype)
    return x, mu, ls, w


def _value_and_grads(native, x, mu, ls, w, second=True, seed=1):
    x, mu, ls, w = (t.clone().requires_grad_() for t in (x, mu, ls, w))
    v, f, s = gaussian_feature_jets(x, mu, ls, w, second=second, native=native)
    g = torch.Generator().manual_seed(seed)
    loss = (v * torch.randn(v.shape, generator=g, dtype=v.dtype)).sum() + \
        (f * torch.randn(f.shape, generator=g, dtype=v.dtype)).sum()
    if second:
        loss = loss + (s * torch.randn(s.shape, generator=g, dtype=v.dtype)).sum()
    return (v, f, s) + torch.autograd.grad(loss, (x, mu, ls, w))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 40), N=st.integers(1, 40), d=st.integers(1, 4), C=st.integers(1, 5), second=st.booleans(),
       seed=st.integers(0, 10_000))
def test_kernel_matches_pytorch_jets_float64(n, N, d, C, second, seed):
    inputs = _inputs(n, N, d, C, seed=seed)
    got = _value_and_grads(True, *inputs, second=second)
    want = _value_and_grads(False, *inputs, second=second)
    for name, a, b in zip(("value", "first", "second", "dx", "dmeans", "dlog_scales", "dweights"), got, want):
        if a is None or b is None:
            assert a is None and b is None and not second, name
            continue
        torch.testing.assert_close(a, b, rtol=1e-11, atol=1e-11, msg=name)


def test_kernel_matches_pytorch_jets_float32():
    inputs = _inputs(300, 200, 2, 4, dtype=torch.float32, seed=3)
    for a, b in zip(_value_and_grads(True, *inputs), _value_and_grads(False, *inputs)):
        torch.testing.assert_close(a, b, rtol=2e-5, atol=2e-5 * float(b.detach().abs().max()))


def test_gradcheck_float64():
    x, mu, ls, w = (t.requires_grad_() for t in _inputs(6, 5, 2, 3, seed=4))
    for second in (True, False):
        assert torch.autograd.gradcheck(
            lambda *a: tuple(o for o in G.gaussian_jets(*a, second=second) if o is not None), (x, mu, ls, w))


def test_exp_accuracy_over_the_range():
    # one Gaussian, weight 1: V = exp(-z^2 / 2) exactly, for z from 0 to far beyond underflow
    z = torch.linspace(0, 60, 20001, dtype=torch.float64)
    x = z[:, None]
    mu, ls, w = torch.zeros(1, 1, dtype=torch.float64), torch.zeros(1, 1, dtype=torch.float64), \
        torch.ones(1, 1, dtype=torch.float64)
    exact = torch.exp(-0.5 * z * z)
    v64 = G.gaussian_jets(x, mu, ls, w)[0][:, 0]
    normal = exact > 1e-300
    assert float(((v64 - exact).abs() / exact)[normal].max()) < 4e-16
    assert bool((v64[~normal] < 1e-300).all()) and bool((v64 >= 0).all())
    v32 = G.gaussian_jets(x.float(), mu.float(), ls.float(), w.float())[0][:, 0].double()
    exact32 = torch.exp(-0.5 * z.float() * z.float()).double()  # same rounded argument as the kernel sees
    normal = exact32 > 1e-37
    assert float(((v32 - exact32).abs() / exact32)[normal].max()) < 4e-7
    assert bool((v32[~normal] < 1e-37).all()) and bool(torch.isfinite(v32).all())


def test_empty_inputs():
    for n, N in ((0, 5), (4, 0)):
        x, mu, ls, w = (t.requires_grad_() for t in _inputs(n, N, 2, 3, seed=0))
        v, f, s = G.gaussian_jets(x, mu, ls, w)
        assert v.shape == (n, 3) and f.shape == (n, 2, 3) and s.shape == (n, 2, 3)
        assert float(v.abs().sum() + f.abs().sum() + s.abs().sum()) == 0.0
        (v.sum() + f.sum() + s.sum()).backward()
        assert float(w.grad.abs().sum()) == 0.0 and w.grad.shape == w.shape


def test_thread_count_does_not_change_the_result():
    inputs = _inputs(700, 150, 2, 4, seed=5)  # above the kernel's serial threshold
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = _value_and_grads(True, *inputs)
        torch.set_num_threads(2)
        two = _value_and_grads(True, *inputs)
    finally:
        torch.set_num_threads(before)
    for a, b in zip(one, two):
        assert torch.equal(a, b)


@pytest.mark.parametrize("name", ["helmholtz2d", "flow_mixing"])
def test_pig_native_and_pytorch_paths_train_the_same(name):
    p = create(name)
    models = [PIG(p, 25, 4, hidden=(8,), n_interior=40, n_boundary=16, dtype=torch.float64, native=flag, seed=2)
              for flag in (True, False)]
    grads = []
    for m in models:
        loss, _ = m.loss()
        grads.append(torch.autograd.grad(loss, list(m.parameters())))
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_pig_native_mixed_derivatives_come_from_the_differentiable_path():
    p = create("helmholtz2d")
    m = PIG(p, 20, 4, hidden=(8,), dtype=torch.float64, native=True)
    x = p.sample_interior(15, torch.Generator().manual_seed(0)).double()
    jets, auto = m.derivatives(x), AutogradDerivatives(m, x)
    mixed = jets(0, 1)
    torch.testing.assert_close(mixed, auto(0, 1))
    (g,) = torch.autograd.grad(mixed.sum(), m.gaussians.means)  # trainable through the fallback
    (want,) = torch.autograd.grad(auto(0, 1).sum(), m.gaussians.means)
    torch.testing.assert_close(g, want)


def test_native_switch_errors_and_fallback(monkeypatch):
    p = create("helmholtz2d")
    with pytest.raises(ValueError, match="native must be None"):
        PIG(p, 5, native="yes")
    monkeypatch.setenv("BASISKIT_NATIVE", "0")
    x, mu, ls, w = _inputs(5, 4, 2, 3)
    assert not G.usable(x, mu, ls, w)
    with pytest.raises(ValueError, match="native=True needs"):
        gaussian_feature_jets(x, mu, ls, w, native=True)
    with pytest.raises(ValueError, match="native=True needs"):
        PIG(p, 5, native=True, n_interior=8, n_boundary=4).loss()
    v, f, s = gaussian_feature_jets(x, mu, ls, w)  # None: falls back to PyTorch
    torch.testing.assert_close(v, gaussian_feature_jets(x, mu, ls, w, native=False)[0])


def test_values_only_kernel_matches_and_gradchecks():
    from basiskit.physics.pig import gaussian_features

    x, mu, ls, w = _inputs(30, 17, 2, 3, seed=7)
    params = [t.clone().requires_grad_() for t in (mu, ls, w)]
    got = G.gaussian_values(x, *params)
    want = gaussian_features(x, *params, native=False)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    gy = torch.randn(got.shape, dtype=got.dtype)
    for a, b in zip(torch.autograd.grad(got, params, gy), torch.autograd.grad(want, params, gy)):
        torch.testing.assert_close(a, b, rtol=1e-11, atol=1e-12)
    small = [t.requires_grad_() for t in _inputs(5, 4, 2, 2, seed=8)]
    assert torch.autograd.gradcheck(G.gaussian_values, tuple(small))


def test_features_forward_uses_the_kernel_only_where_no_x_derivative_can_be_asked(monkeypatch):
    from basiskit.physics import GaussianFeatures

    calls = []
    real = G.gaussian_values
    monkeypatch.setattr(G, "gaussian_values", lambda *a: calls.append(1) or real(*a))
    feats = GaussianFeatures(2, 12, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    x = torch.rand(9, 2, dtype=torch.float64)
    feats(x)
    assert calls == [1]
    xg = x.clone().requires_grad_()
    out = feats(xg)  # PyTorch path: second derivatives in x by autograd still work
    assert calls == [1]
    (g,) = torch.autograd.grad(out.sum(), xg, create_graph=True)
    (h,) = torch.autograd.grad(g[:, 0].sum(), xg)
    assert torch.isfinite(h).all()
    feats.native = False
    feats(x)
    assert calls == [1]


def test_many_gaussians_cross_tiles():
    # more Gaussians than one kernel tile (256): the per-tile sums must add up
    inputs = _inputs(23, 601, 2, 3, seed=9)
    for a, b in zip(_value_and_grads(True, *inputs), _value_and_grads(False, *inputs)):
        torch.testing.assert_close(a, b, rtol=1e-11, atol=1e-11)
    x, mu, ls, w = inputs
    torch.testing.assert_close(G.gaussian_values(x, mu, ls, w),
                               G.gaussian_jets(x, mu, ls, w)[0], rtol=1e-13, atol=1e-13)
