"""NTK: closed forms against Monte Carlo, hand-derived one-hidden-layer kernels, torch.func against explicit
per-sample Jacobians, width convergence, the gradient-flow prediction, bad inputs."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from basiskit.kernels import NTKMLP, analytic_nngp_diag, analytic_ntk, empirical_ntk, ntk_predict
from basiskit.kernels._gaussian import dual_activation

D = torch.float64
PAIRS = [(1.0, 0.0, 1.0), (1.0, 0.5, 1.0), (1.0, 0.99, 1.0), (0.5, -0.4, 1.5), (2.0, 0.6, 0.3)]


def _pairs():
    k11, k12, k22 = (torch.tensor(c, dtype=D) for c in zip(*PAIRS))
    return k11, k12, k22


@pytest.mark.parametrize("name", ["relu", "erf"])
def test_closed_forms_match_monte_carlo(name):
    g = torch.Generator().manual_seed(0)
    n = 400_000
    fn = {"relu": torch.relu, "erf": torch.erf}[name]
    dfn = {"relu": lambda x: (x > 0).to(D), "erf": lambda x: 2 / math.sqrt(math.pi) * torch.exp(-x * x)}[name]
    value, slope = dual_activation(*_pairs(), name)
    for i, (k11, k12, k22) in enumerate(PAIRS):
        cov = torch.tensor([[k11, k12], [k12, k22]], dtype=D)
        z = torch.randn(n, 2, generator=g, dtype=D) @ torch.linalg.cholesky(cov).T
        for closed, f in ((value[i], fn), (slope[i], dfn)):
            prod = f(z[:, 0]) * f(z[:, 1])
            se = prod.std() / math.sqrt(n)
            assert abs(float(prod.mean() - closed)) < 5 * float(se) + 1e-12, (name, i, float(prod.mean()))


def test_quadrature_accuracy_as_documented():
    k11, k12, k22 = _pairs()
    erf_closed = dual_activation(k11, k12, k22, "erf")
    erf_quad = dual_activation(k11, k12, k22, "erf", method="quadrature", num_quadrature=64)
    for a, b in zip(erf_quad, erf_closed):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)
    relu_closed = dual_activation(k11, k12, k22, "relu")
    relu_quad = dual_activation(k11, k12, k22, "relu", method="quadrature", num_quadrature=64)
    assert ((relu_quad[0] - relu_closed[0]).abs() / torch.sqrt(k11 * k22)).max() < 3e-3
    assert (relu_quad[1] - relu_closed[1]).abs().max() < 2e-2
    finer = dual_activation(k11, k12, k22, "relu", method="quadrature", num_quadrature=128)
    assert (finer[0] - relu_closed[0]).abs().max() < 0.7 * (relu_quad[0] - relu_closed[0]).abs().max()


def _one_hidden_layer_by_hand(x, xp, activation, wv, bv):
    """NNGP and NTK of one hidden layer written out with math (no library helper)."""
    d = len(x)
    s11 = wv * sum(a * a for a in x) / d + bv
    s22 = wv * sum(a * a for a in xp) / d + bv
    s12 = wv * sum(a * b for a, b in zip(x, xp)) / d + bv
    if activation == "relu":
        cos = max(-1.0, min(1.0, s12 / math.sqrt(s11 * s22)))
        theta = math.acos(cos)
        e_phi = math.sqrt(s11 * s22) / (2 * math.pi) * (math.sin(theta) + (math.pi - theta) * cos)
        e_dphi = (math.pi - theta) / (2 * math.pi)
    else:  # erf
        e_phi = 2 / math.pi * math.asin(2 * s12 / math.sqrt((1 + 2 * s11) * (1 + 2 * s22)))
        e_dphi = 4 / math.pi / math.sqrt((1 + 2 * s11) * (1 + 2 * s22) - 4 * s12 ** 2)
    nngp = wv * e_phi + bv
    return nngp, nngp + wv * e_dphi * s12


@pytest.mark.parametrize("activation,wv,bv", [("relu", 2.0, 0.0), ("relu", 1.3, 0.4), ("erf", 1.0, 0.1)])
def test_analytic_one_hidden_layer_by_hand(activation, wv, bv):
    x = torch.tensor([[0.3, -1.2, 0.8], [1.0, 0.2, -0.5], [-0.7, 0.1, 0.4]], dtype=D)
    nngp, ntk = analytic_ntk(x, None, 1, activation, wv, bv)
    for i in range(3):
        for j in range(3):
            hand = _one_hidden_layer_by_hand(x[i].tolist(), x[j].tolist(), activation, wv, bv)
            assert nngp[i, j].item() == pytest.approx(hand[0], rel=1e-12, abs=1e-14)
            assert ntk[i, j].item() == pytest.approx(hand[1], rel=1e-12, abs=1e-14)
    torch.testing.assert_close(analytic_nngp_diag(x, 1, activation, wv, bv), torch.diagonal(nngp))


def test_relu_ntk_on_the_sphere_diagonal():
    """wv = 2 ReLU keeps Sigma(x, x) = 2 |x|^2 / d at every layer, so Theta(x, x) = (depth + 1) Sigma(x, x)."""
    x = torch.randn(5, 4, dtype=D)
    for depth in (1, 3, 6):
        nngp, ntk = analytic_ntk(x, None, depth)
        sq = 2 * (x * x).sum(1) / 4
        torch.testing.assert_close(torch.diagonal(nngp), sq)
        torch.testing.assert_close(torch.diagonal(ntk), (depth + 1) * sq)


def _explicit_ntk(model, x1, x2):
    """Per-sample Jacobians by a Python loop of autograd calls (the reference), summed over outputs."""
    params = [p for p in model.parameters() if p.requires_grad]

    def jac(x):
        rows = []
        for xi in x:
            out = model(xi[None]).reshape(-1)
            per_out = [torch.cat([g.reshape(-1) for g in torch.autograd.grad(o, params, retain_graph=True)])
                       for o in out]
            rows.append(torch.stack(per_out))
        return torch.stack(rows)  # (n, out, P)

    j1, j2 = jac(x1), jac(x2)
    return torch.einsum("aop,bop->ab", j1, j2)


@pytest.mark.parametrize("out_features", [1, 3])
@pytest.mark.parametrize("batch_size", [None, 1, 3])
def test_empirical_ntk_matches_explicit_jacobians(out_features, batch_size):
    torch.manual_seed(0)
    net = NTKMLP(3, 7, 2, out_features, activation="tanh", weight_var=1.5, bias_var=0.3, dtype=D)
    x1, x2 = torch.randn(5, 3, dtype=D), torch.randn(4, 3, dtype=D)
    ref = _explicit_ntk(net, x1, x2)
    torch.testing.assert_close(empirical_ntk(net, x1, x2, batch_size=batch_size), ref)
    sym = empirical_ntk(net, x1, batch_size=batch_size)
    torch.testing.assert_close(sym, _explicit_ntk(net, x1, x1))
    assert torch.equal(sym, sym.T)


def test_empirical_ntk_any_module_with_buffers():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(2, 5), nn.GELU(), nn.Linear(5, 2))
            self.register_buffer("gain", torch.tensor(1.7))

        def forward(self, x):
            return self.gain * self.body(x)

    torch.manual_seed(1)
    net = Scaled().to(D)
    x = torch.randn(4, 2, dtype=D)
    torch.testing.assert_close(empirical_ntk(net, x, batch_size=2), _explicit_ntk(net, x, x))


def test_empirical_one_hidden_layer_by_hand():
    """Theta = (wv/n) sum_i phi(z_i) phi(z'_i) + bv + (wv/n) sum_i v_i^2 phi'(z_i) phi'(z'_i) (wv x.x'/d + bv)."""
    torch.manual_seed(2)
    wv, bv, n, d = 1.7, 0.2, 9, 3
    net = NTKMLP(d, n, 1, activation="relu", weight_var=wv, bias_var=bv, dtype=D)
    x = torch.randn(4, d, dtype=D)
    w, b, v = net.weights[0], net.biases[0], net.weights[1][0]
    z = math.sqrt(wv / d) * x @ w.detach().T + math.sqrt(bv) * b.detach()
    phi, dphi = torch.relu(z), (z > 0).to(D)
    hand = wv / n * phi @ phi.T + bv + wv / n * (dphi * v.detach() ** 2) @ dphi.T * (wv * x @ x.T / d + bv)
    torch.testing.assert_close(empirical_ntk(net, x), hand)


def test_empirical_converges_to_analytic_with_width():
    x = torch.randn(8, 2, dtype=D)
    x = x / x.norm(dim=1, keepdim=True)
    _, theta = analytic_ntk(x, None, 2)
    errors = {}
    for width in (32, 2048):
        errs = []
        for seed in range(2):
            torch.manual_seed(seed)
            net = NTKMLP(2, width, 2, dtype=D)
            errs.append(float((empirical_ntk(net, x, batch_size=4) - theta).norm() / theta.norm()))
        errors[width] = sum(errs) / len(errs)
    assert errors[2048] < 0.1
    assert errors[2048] < errors[32] / 3


def test_quadrature_ntk_matches_wide_tanh_network():
    torch.manual_seed(3)
    x = torch.randn(6, 3, dtype=D)
    _, theta = analytic_ntk(x, None, 2, "tanh", 1.5, 0.1)
    net = NTKMLP(3, 3000, 2, activation="tanh", weight_var=1.5, bias_var=0.1, dtype=D)
    emp = empirical_ntk(net, x, batch_size=3)
    assert float((emp - theta).norm() / theta.norm()) < 0.05


@settings(max_examples=25, deadline=None)
@given(depth=st.integers(1, 5), activation=st.sampled_from(["relu", "erf", "identity"]),
       wv=st.floats(0.2, 3.0), bv=st.floats(0.0, 1.0), seed=st.integers(0, 1000))
def test_kernels_symmetric_psd_and_ntk_dominates(depth, activation, wv, bv, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(6, 3, generator=g, dtype=D)
    nngp, ntk = analytic_ntk(x, None, depth, activation, wv, bv)
    for k in (nngp, ntk, ntk - nngp):  # Theta - Sigma is a sum of PSD terms
        torch.testing.assert_close(k, k.T)
        assert torch.linalg.eigvalsh(k).min() > -1e-9 * max(1.0, float(k.abs().max()))
    cross_nngp, cross_ntk = analytic_ntk(x[:2], x[2:], depth, activation, wv, bv)
    torch.testing.assert_close(cross_nngp, nngp[:2, 2:])
    torch.testing.assert_close(cross_ntk, ntk[:2, 2:])


# ---- ntk_predict ----------------------------------------------------------------------------------------------
def _problem(seed=0, n=6, m=4):
    g = torch.Generator().manual_seed(seed)
    feats = torch.randn(n + m, 10, generator=g, dtype=D)
    k = feats @ feats.T / 10
    y = torch.randn(n, generator=g, dtype=D)
    return feats, k[:n, :n], k[n:, :n], y


def test_ntk_predict_matches_matrix_exponential():
    _, k, ks, y = _problem()
    f0, f0s = torch.randn(6, dtype=D), torch.randn(4, dtype=D)
    for t, lr in ((0.3, 1.0), (2.0, 0.5)):
        expm = torch.linalg.matrix_exp(-lr * t * k)
        ref = f0s + ks @ torch.linalg.solve(k, (torch.eye(6, dtype=D) - expm) @ (y - f0))
        torch.testing.assert_close(ntk_predict(k, ks, y, t, lr, f0, f0s), ref)
    torch.testing.assert_close(ntk_predict(k, ks, y, 0.0, 1.0, f0, f0s), f0s)
    torch.testing.assert_close(ntk_predict(k, ks, y, float("inf")), ks @ torch.linalg.solve(k, y))
    times = torch.tensor([0.0, 0.3, float("inf")], dtype=D)
    many = ntk_predict(k, ks, y[:, None].repeat(1, 2), times)
    assert many.shape == (3, 4, 2)
    torch.testing.assert_close(many[1, :, 0], ntk_predict(k, ks, y, 0.3))
    torch.testing.assert_close(many[2, :, 1], ntk_predict(k, ks, y, float("inf")))


def test_ntk_predict_is_gradient_descent_on_the_sum_loss_of_a_linear_model():
    """A linear model f = theta . phi(x) has NTK phi phi^T; its gradient descent on 1/2 sum (f - y)^2 with a
    small step follows ntk_predict at time steps * lr (and with the mean loss, at time steps * lr / n)."""
    feats, k, ks, y = _problem(1)
    phi_train, phi_test = feats[:6], feats[6:] / math.sqrt(10)
    phi_train = phi_train / math.sqrt(10)
    theta0 = torch.randn(10, dtype=D, generator=torch.Generator().manual_seed(5))
    lr, steps = 1e-3, 1500
    for mean_loss in (False, True):
        theta = theta0.clone()
        for _ in range(steps):
            resid = phi_train @ theta - y
            grad = phi_train.T @ resid / (6 if mean_loss else 1)
            theta = theta - lr * grad
        t = steps * lr / (6 if mean_loss else 1)
        pred = ntk_predict(k, ks, y, t, 1.0, phi_train @ theta0, phi_test @ theta0)
        torch.testing.assert_close(phi_test @ theta, pred, atol=5e-3, rtol=0)


def test_ntk_predict_singular_kernel_at_finite_time():
    k = torch.ones(3, 3, dtype=D)  # rank 1
    ks = torch.ones(1, 3, dtype=D)
    y = torch.tensor([1.0, 2.0, 3.0], dtype=D)
    # K^-1 (I - e^{-Kt}) applied via the series K^-1 (I - e^{-Kt}) = t sum_j (-Kt)^j / (j+1)!
    series = sum(torch.linalg.matrix_power(-0.7 * k, j) * 0.7 / float(math.factorial(j + 1)) for j in range(25))
    torch.testing.assert_close(ntk_predict(k, ks, y, 0.7), ks @ series @ y)
    with pytest.raises(ValueError, match="positive-definite"):
        ntk_predict(k, ks, y, float("inf"))


# ---- bad inputs ------------------------------------------------------------------------------------------------
def test_bad_inputs_raise_clear_errors():
    x = torch.randn(4, 3, dtype=D)
    with pytest.raises(ValueError, match="same number of features"):
        analytic_ntk(x, torch.randn(2, 5, dtype=D), 2)
    with pytest.raises(ValueError, match="depth must be >= 1"):
        analytic_ntk(x, None, 0)
    with pytest.raises(ValueError, match="weight_var must be >= 0"):
        analytic_ntk(x, None, 2, weight_var=-1.0)
    with pytest.raises(ValueError, match="bias_var must be >= 0"):
        NTKMLP(3, 8, 2, bias_var=-0.1)
    with pytest.raises(ValueError, match="depth must be >= 1"):
        NTKMLP(3, 8, 0)
    bad = x.clone()
    bad[1, 2] = float("nan")
    with pytest.raises(ValueError, match="x1 contains 1 NaN/inf"):
        analytic_ntk(bad, None, 2)
    with pytest.raises(ValueError, match="x2 contains"):
        analytic_ntk(x, bad.clone().fill_(float("inf")), 2)
    with pytest.raises(ValueError, match="unknown value 'rleu'.*did you mean 'relu'"):
        analytic_ntk(x, None, 2, activation="rleu")
    net = NTKMLP(3, 8, 2, dtype=D)
    with pytest.raises(ValueError, match="x1 contains"):
        empirical_ntk(net, bad)
    with pytest.raises(ValueError, match="x1 must have 3 features"):
        empirical_ntk(net, torch.randn(4, 2, dtype=D))
    with pytest.raises(ValueError, match="sample shape"):
        empirical_ntk(net, x, torch.randn(2, 4, dtype=D))
    with pytest.raises(TypeError, match="dtype"):
        empirical_ntk(net, x.float())
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        empirical_ntk(net, x, batch_size=0)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        empirical_ntk(lambda v: v, x)
    with pytest.raises(ValueError, match="last dim in_features=3"):
        net(torch.randn(2, 4, dtype=D))
    _, k, ks, y = _problem()
    with pytest.raises(ValueError, match="k_train must be square"):
        ntk_predict(k[:, :5], ks, y, 1.0)
    with pytest.raises(ValueError, match="k_test_train must be"):
        ntk_predict(k, ks[:, :5], y, 1.0)
    with pytest.raises(ValueError, match="y_train must have n=6"):
        ntk_predict(k, ks, y[:5], 1.0)
    with pytest.raises(ValueError, match="t must be >= 0"):
        ntk_predict(k, ks, y, -1.0)
    with pytest.raises(ValueError, match="lr must be > 0"):
        ntk_predict(k, ks, y, 1.0, lr=0.0)
    with pytest.raises(ValueError, match="f0_test must have shape"):
        ntk_predict(k, ks, y, 1.0, f0_test=torch.zeros(3, dtype=D))
