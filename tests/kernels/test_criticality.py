"""Criticality: critical points, the infinite-width recursion against closed forms and simulation, the ReLU
excess-kurtosis law 3[(1 + 5/n)^(l-1) - 1] against simulation, the Gram sampler against explicit weights."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from basiskit.kernels import (
    CRITICAL_POINTS,
    NTKMLP,
    critical_init,
    kernel_recursion,
    preactivation_statistics,
    relu_excess_kurtosis,
    sample_preactivations,
)
from basiskit.kernels._gaussian import dual_activation, gaussian_second_moment

D = torch.float64


@settings(max_examples=20, deadline=None)
@given(c_w=st.floats(0.5, 3.0), c_b=st.floats(0.0, 1.0), q0=st.floats(0.1, 3.0), depth=st.integers(1, 12))
def test_relu_recursion_is_affine(c_w, c_b, q0, depth):
    """ReLU: K^(l+1) = C_b + C_W K^(l) / 2, a geometric series."""
    k = kernel_recursion(depth, "relu", c_w, c_b, q0)
    ref, value = [], q0
    for _ in range(depth):
        ref.append(value)
        value = c_b + c_w * value / 2
    torch.testing.assert_close(k, torch.tensor(ref, dtype=D))


def test_erf_recursion_closed_form_and_tanh_decay():
    k = kernel_recursion(6, "erf", math.pi / 4, 0.0, 1.0)
    ref, value = [], 1.0
    for _ in range(6):
        ref.append(value)
        value = math.pi / 4 * (2 / math.pi) * math.asin(2 * value / (1 + 2 * value))
    torch.testing.assert_close(k, torch.tensor(ref, dtype=D))
    tanh = kernel_recursion(200, "tanh", 1.0, 0.0, 1.0)   # quadrature; K* = 0 class: K decays like 1/(a l)
    assert (tanh[1:] < tanh[:-1]).all()
    assert 0.3 < float(tanh[-1] * 200 * 2) < 3.0  # tanh: sigma_3/sigma_1 = -2, K ~ 1 / (2 l) asymptotically
    k = torch.tensor([0.2, 1.0, 2.5], dtype=D)
    one_d = gaussian_second_moment(k, "gelu")                       # 1-D quadrature vs the 2-D one on the diagonal
    torch.testing.assert_close(one_d, dual_activation(k, k, k, "gelu", method="quadrature")[0], atol=1e-10, rtol=0)


def test_tanh_recursion_matches_wide_simulation():
    x = torch.full((4,), 1.0, dtype=D)
    q0 = 0.1 + 1.0 * float(x @ x) / 4
    ref = kernel_recursion(5, "tanh", 1.0, 0.1, q0)
    stats = preactivation_statistics(x, 2000, 5, "tanh", 1.0, 0.1, 200, generator=torch.Generator().manual_seed(0))
    assert ((stats["second_moment"] - ref).abs() < 5 * stats["second_moment_se"] + 2e-3 * ref).all()


def test_relu_excess_kurtosis_law_against_simulation():
    width, depth = 16, 6
    x = torch.tensor([0.5, -1.0, 2.0], dtype=D)
    s = preactivation_statistics(x, width, depth, "relu", 2.0, 0.0, 40000, generator=torch.Generator().manual_seed(1))
    exact = relu_excess_kurtosis(width, s["layer"])
    assert abs(float(s["excess_kurtosis"][0])) < 4 * float(s["excess_kurtosis_se"][0])  # layer 1 is Gaussian
    z = (s["excess_kurtosis"] - exact) / s["excess_kurtosis_se"]
    assert z.abs().max() < 4, (s["excess_kurtosis"], exact)
    q0 = 2.0 * float(x @ x) / 3
    assert ((s["second_moment"] - q0).abs() < 4 * s["second_moment_se"]).all()  # E[z^2] is preserved exactly


def test_kurtosis_formula_first_order():
    n = torch.tensor([32.0, 64.0, 128.0])
    exact = relu_excess_kurtosis(n, 3)
    torch.testing.assert_close(relu_excess_kurtosis(n, 1), torch.zeros(3, dtype=D))
    first = relu_excess_kurtosis(n, 3, order="first")
    torch.testing.assert_close(first, 30 / n.to(D))
    assert ((exact - first) / first).abs().max() < 0.1  # l/n small: first order is good
    assert float(relu_excess_kurtosis(32, 17)) > 1.5 * float(relu_excess_kurtosis(32, 17, order="first"))


def test_gram_sampler_matches_explicit_weights():
    """Both methods give the same joint law of preactivations at two inputs (moments within Monte Carlo error)."""
    x = torch.tensor([[1.0, 0.2, -0.5], [0.3, -0.8, 0.9]], dtype=D)
    widths = [12, 12, 12]
    draws = {m: sample_preactivations(x, widths, "relu", 2.0, 0.3, 12000, method=m,
                                      generator=torch.Generator().manual_seed(7))[-1] for m in ("gram", "weights")}
    for stat in (lambda z: z[..., 0] ** 2, lambda z: z[..., 0] * z[..., 1], lambda z: z[..., 1] ** 4,
                 lambda z: (z[..., 0] * z[..., 1]) ** 2):
        a, b = stat(draws["gram"]).mean(1), stat(draws["weights"]).mean(1)   # per-network means
        se = torch.sqrt(a.var() / len(a) + b.var() / len(b))
        assert abs(float(a.mean() - b.mean())) < 4 * float(se)


def test_weights_sampler_is_batched_matmul_of_real_networks():
    """With a generator replayed by hand, method="weights" equals running each drawn network on its own."""
    x = torch.tensor([0.4, -1.0], dtype=D)
    out = sample_preactivations(x, [3, 2], "tanh", 1.5, 0.2, 4, method="weights",
                                generator=torch.Generator().manual_seed(3))
    g = torch.Generator().manual_seed(3)
    w1 = torch.randn(4, 3, 2, generator=g, dtype=D) * math.sqrt(1.5 / 2)
    b1 = torch.randn(4, 3, 1, generator=g, dtype=D) * math.sqrt(0.2)
    w2 = torch.randn(4, 2, 3, generator=g, dtype=D) * math.sqrt(1.5 / 3)
    b2 = torch.randn(4, 2, 1, generator=g, dtype=D) * math.sqrt(0.2)
    for i in range(4):
        z1 = w1[i] @ x + b1[i, :, 0]
        z2 = w2[i] @ torch.tanh(z1) + b2[i, :, 0]
        torch.testing.assert_close(out[0][i, :, 0], z1)
        torch.testing.assert_close(out[1][i, :, 0], z2)


def test_off_criticality_explodes_and_vanishes():
    x = torch.ones(8, dtype=D)
    g = torch.Generator().manual_seed(0)
    up = preactivation_statistics(x, 64, 20, "relu", 2.4, 0.0, 500, generator=g)["second_moment"]
    down = preactivation_statistics(x, 64, 20, "relu", 1.6, 0.0, 500, generator=g)["second_moment"]
    assert up[-1] > 20 * up[0] and down[-1] < down[0] / 20


def test_critical_init():
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(400, 300), nn.ReLU(), nn.Linear(300, 300), nn.ReLU(), nn.Linear(300, 1))
    assert critical_init(mlp) == (2.0, 0.0)
    assert mlp[2].weight.std().item() == pytest.approx(math.sqrt(2 / 300), rel=0.02)
    assert mlp[0].weight.std().item() == pytest.approx(math.sqrt(2 / 400), rel=0.02)
    assert torch.count_nonzero(mlp[0].bias) == 0
    tanh = nn.Sequential(nn.Linear(50, 50), nn.Tanh(), nn.Linear(50, 1))
    assert critical_init(tanh) == (1.0, 0.0)
    net = NTKMLP(3, 16, 2, activation="erf", weight_var=3.0, bias_var=0.5)
    assert critical_init(net) == CRITICAL_POINTS["erf"]
    assert net.weight_var == pytest.approx(math.pi / 4) and net.bias_var == 0.0
    with pytest.raises(ValueError, match="cannot tell the model's activation"):
        critical_init(nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2), nn.Tanh()))
    with pytest.raises(ValueError, match="activation: unknown value 'sigmoid'"):
        critical_init(tanh, activation="sigmoid")
    with pytest.raises(TypeError, match="torch.nn.Module"):
        critical_init("relu")


def test_bad_inputs_raise_clear_errors():
    x = torch.ones(4, dtype=D)
    with pytest.raises(ValueError, match="depth must be >= 1"):
        kernel_recursion(0, "relu", 2.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="c_w must be >= 0"):
        kernel_recursion(3, "relu", -2.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="q0 must be >= 0"):
        kernel_recursion(3, "relu", 2.0, 0.0, -1.0)
    with pytest.raises(ValueError, match="q0 must be finite"):
        kernel_recursion(3, "relu", 2.0, 0.0, float("nan"))
    with pytest.raises(ValueError, match="x contains 1 NaN/inf"):
        preactivation_statistics(torch.tensor([1.0, float("inf")], dtype=D), 8, 2, "relu", 2.0, 0.0, 10)
    with pytest.raises(ValueError, match="c_b must be >= 0"):
        sample_preactivations(x, [4], "relu", 2.0, -0.1, 10)
    with pytest.raises(ValueError, match=r"widths\[1\] must be >= 1"):
        sample_preactivations(x, [4, 0], "relu", 2.0, 0.0, 10)
    with pytest.raises(ValueError, match="method: unknown value"):
        sample_preactivations(x, [4], "relu", 2.0, 0.0, 10, method="loop")
    with pytest.raises(ValueError, match="width and layer must be >= 1"):
        relu_excess_kurtosis(0, 3)
