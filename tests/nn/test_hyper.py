"""HyperNetwork / MIP: the encoding, the residual formulation, functional generation of any target's weights
(shared and per-sample settings), the magnitude proportionality of the baseline, and bad inputs."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.func import functional_call

from basiskit.nn.hyper import HyperNetwork, check_hyper_input, mip_encoding


def _mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=4))
def test_encoding_is_cos_sin_of_half_pi_g_with_unit_norm_per_hyperparameter(values):
    g = torch.tensor(values, dtype=torch.float64)
    enc = mip_encoding(g)
    k = len(values)
    assert enc.shape == (2 * k,)
    for i, v in enumerate(values):
        assert enc[i].item() == pytest.approx(math.cos(math.pi * v / 2), abs=1e-15)
        assert enc[k + i].item() == pytest.approx(math.sin(math.pi * v / 2), abs=1e-15)
        assert (enc[i] ** 2 + enc[k + i] ** 2).item() == pytest.approx(1.0, abs=1e-15)


def test_mip_starts_at_the_targets_own_weights_plus_a_small_delta():
    torch.manual_seed(0)
    target = _mlp()
    own = torch.cat([p.detach().flatten() for p in target.parameters()])
    hyper = HyperNetwork(target, hidden=(16, 16))
    assert torch.equal(hyper.theta0.detach(), own)
    flat = hyper.flat_weights(torch.tensor([[0.0], [0.5], [1.0]]))
    assert (flat - own).abs().max() > 0
    # the authors' initialisation: Kaiming normal in fan_out mode, gain 1 at the output, zero biases
    assert hyper.output.weight.std().item() == pytest.approx(1 / math.sqrt(own.numel()), rel=0.25)
    assert all(torch.count_nonzero(layer.bias) == 0 for layer in hyper.hidden_layers)


def test_generated_weights_drive_the_target_functionally():
    torch.manual_seed(1)
    target = _mlp()
    hyper = HyperNetwork(target, hidden=(8,))
    x = torch.randn(4, 3)
    g = torch.tensor([0.25])
    weights = hyper.weights(g)
    assert [tuple(w.shape) for w in weights.values()] == [(5, 3), (5,), (2, 5), (2,)]
    manual = torch.tanh(x @ weights["0.weight"].T + weights["0.bias"]) @ weights["2.weight"].T + weights["2.bias"]
    torch.testing.assert_close(hyper(x, g), manual)
    torch.testing.assert_close(hyper(x, torch.tensor(0.25)), manual)


def test_per_sample_settings_equal_one_call_per_sample():
    torch.manual_seed(2)
    target = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.LeakyReLU(), nn.Conv2d(3, 1, 3, padding=1))
    hyper = HyperNetwork(target, hidden=(8, 8))
    x, g = torch.randn(5, 1, 6, 6), torch.rand(5)
    batched = hyper(x, g)
    one_by_one = torch.cat([hyper(x[i:i + 1], g[i:i + 1]) for i in range(5)])
    torch.testing.assert_close(batched, one_by_one)
    assert hyper.weights(g)["0.weight"].shape == (5, 3, 1, 3, 3)
    batched.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in hyper.parameters())


def test_several_hyperparameters():
    hyper = HyperNetwork(_mlp(), hyper_dim=2, hidden=(8,))
    x = torch.randn(3, 3)
    assert hyper(x, torch.tensor([0.1, 0.9])).shape == (3, 2)
    assert hyper(x, torch.rand(3, 2)).shape == (3, 2)
    assert hyper.hidden_layers[0].in_features == 4


def test_baseline_output_is_proportional_to_g_at_initialisation():
    """The pathology MIP removes: raw input, zero biases, LeakyReLU (positively homogeneous) -> theta(c g) =
    c theta(g); MIP's theta keeps the magnitude of theta_0 for every g."""
    torch.manual_seed(3)
    base = HyperNetwork(_mlp(), hidden=(16, 16), mip=False)
    small, large = base.flat_weights(torch.tensor([[0.1]])), base.flat_weights(torch.tensor([[0.8]]))
    torch.testing.assert_close(large, 8.0 * small)
    mip = HyperNetwork(_mlp(), hidden=(16, 16))
    norms = [mip.flat_weights(torch.tensor([[v]])).norm().item() for v in (0.0, 0.1, 0.8, 1.0)]
    assert max(norms) / min(norms) < 1.2


def test_flags_and_parameters():
    target = _mlp()
    base = HyperNetwork(target, hidden=(8,), mip=False)
    assert base.encoding == "raw" and not base.residual and not hasattr(base, "theta0")
    enc_only = HyperNetwork(target, hidden=(8,), mip=False, encoding="cos|sin")
    assert enc_only.encoding == "cos|sin" and not enc_only.residual
    mip = HyperNetwork(target, hidden=(8,))
    target_ids = {id(p) for p in target.parameters()}
    assert not target_ids & {id(p) for p in mip.parameters()}
    n_out = sum(p.numel() for p in target.parameters())
    # theta_0 (n_out) replaces the output bias (n_out); the cos|sin input adds one input column (8 weights)
    assert sum(p.numel() for p in mip.parameters()) == sum(p.numel() for p in base.parameters()) + 8
    assert mip.num_target_params == n_out and "residual=True" in repr(mip)


def test_moves_dtype_with_its_target_and_state_dict_round_trip():
    hyper = HyperNetwork(_mlp(), hidden=(8,)).double()
    assert hyper.target[0].weight.dtype == torch.float64
    out = hyper(torch.randn(2, 3, dtype=torch.float64), torch.tensor([0.5], dtype=torch.float64))
    assert out.dtype == torch.float64
    other = HyperNetwork(_mlp(), hidden=(8,)).double()
    other.load_state_dict(hyper.state_dict())
    x, g = torch.randn(2, 3, dtype=torch.float64), torch.tensor([0.3], dtype=torch.float64)
    torch.testing.assert_close(other(x, g), hyper(x, g))


def test_one_training_step_lowers_the_loss():
    torch.manual_seed(4)
    hyper = HyperNetwork(_mlp(), hidden=(16,))
    x, y, g = torch.randn(32, 3), torch.randn(32, 2), torch.rand(32)
    opt = torch.optim.Adam(hyper.parameters(), lr=1e-2)
    before = (hyper(x, g) - y).pow(2).mean()
    before.backward()
    opt.step()
    assert (hyper(x, g) - y).pow(2).mean() < before


@pytest.mark.parametrize("bad, match", [(torch.tensor([1.5]), "in \\[0, 1\\].*1.5"),
                                        (torch.tensor([-0.1]), "-0.1"),
                                        (torch.tensor([float("nan")]), "finite"),
                                        (torch.tensor([float("inf")]), "finite")])
def test_g_outside_the_unit_interval_or_non_finite_is_refused(bad, match):
    hyper = HyperNetwork(_mlp(), hidden=(4,))
    with pytest.raises(ValueError, match=match):
        hyper(torch.randn(2, 3), bad)
    with pytest.raises(ValueError, match=match):
        mip_encoding(bad)


def test_bad_arguments_raise_clear_errors():
    hyper = HyperNetwork(_mlp(), hyper_dim=2, hidden=(4,))
    with pytest.raises(ValueError, match="shape \\(2,\\) or \\(B, 2\\)"):
        hyper(torch.randn(2, 3), torch.rand(3))
    with pytest.raises(ValueError, match="one setting per sample"):
        hyper(torch.randn(2, 3), torch.rand(4, 2))
    with pytest.raises(TypeError, match="floating-point"):
        check_hyper_input(torch.tensor([1]))
    with pytest.raises(TypeError, match="nn.Module"):
        HyperNetwork(lambda x: x)
    with pytest.raises(ValueError, match="no parameters"):
        HyperNetwork(nn.ReLU())
    with pytest.raises(ValueError, match="encoding"):
        HyperNetwork(_mlp(), encoding="fourier")
    with pytest.raises(ValueError, match="hyper_dim"):
        HyperNetwork(_mlp(), hyper_dim=0)
    with pytest.raises(ValueError, match="activation|unknown"):
        HyperNetwork(_mlp(), activation="nope")


def test_functional_call_leaves_the_template_untouched():
    target = _mlp()
    before = {k: v.clone() for k, v in target.state_dict().items()}
    hyper = HyperNetwork(target, hidden=(4,))
    hyper(torch.randn(2, 3), torch.tensor([0.7])).sum().backward()
    assert all(torch.equal(before[k], v) for k, v in target.state_dict().items())
    assert functional_call(target, dict(target.named_parameters()), (torch.zeros(1, 3),)).shape == (1, 2)
