import math

import pytest
import torch

from basiskit.models import MLP
from basiskit.nn import SIREN, FourierFeatures
from basiskit.physics import PINN, causal_weights, residual_scale, train_physics
from basiskit.physics.problems import create
from basiskit.train import fit


def _pinn(problem, **kw):
    torch.manual_seed(0)
    return PINN(problem, MLP([problem.input_dim, 16, 16, 1]), n_interior=64, n_boundary=16, n_initial=16, **kw)


def test_loss_parts_and_shapes():
    p = create("convection", beta=2.0)
    m = _pinn(p)
    out = m(p.sample_interior(10))
    assert out.shape == (10, 1)
    loss, parts = m.loss()
    assert loss.ndim == 0 and set(parts) >= {"residual", "boundary", "initial"}
    manual = parts["residual"] + parts["boundary"] + parts["initial"]
    assert float(loss.detach()) == pytest.approx(manual, rel=1e-5)


def test_exact_net_has_zero_loss():
    p = create("helmholtz2d", a1=2.0, a2=1.0)

    class Exact(torch.nn.Module):
        def forward(self, z):  # z in [-1, 1]^2 equals x for this domain
            return p.exact(z)

    m = PINN(p, Exact(), n_interior=50, n_boundary=20, dtype=torch.float64)
    m.to(torch.float64)
    assert float(m.loss()[0].detach()) < 1e-20
    assert m.relative_l2() < 1e-6


@pytest.mark.parametrize("net", ["mlp", "ff", "siren"])
def test_training_lowers_the_loss(net):
    p = create("poisson1d_sin", k=1.0)
    torch.manual_seed(0)
    nets = {"mlp": MLP([1, 16, 1]),
            "ff": torch.nn.Sequential(FourierFeatures(1, 8, sigma=1.0), MLP([16, 16, 1])),
            "siren": SIREN([1, 16, 1], omega_first=3.0)}
    m = PINN(p, nets[net], n_interior=64, n_boundary=2, weights={"residual": 1 / residual_scale(p)})
    before = float(m.loss()[0].detach())
    fit(m, objective=m.loss, steps=30, lr=1e-2)
    assert float(m.loss()[0].detach()) < before


def test_adam_then_lbfgs_and_state_dict_roundtrip():
    p = create("poisson1d_sin", k=1.0)
    m = _pinn(p, weights={"residual": 1 / residual_scale(p)})
    history = train_physics(m, steps=20, lr=1e-2, lbfgs_steps=2, lbfgs_iters=5, eval_every=10)
    assert any("rel_l2" in r for r in history)
    assert history[-1]["step"] == 22
    other = _pinn(p)
    other.load_state_dict(m.state_dict())
    x = p.sample_interior(8)
    torch.testing.assert_close(other.predict(x), m.predict(x))
    assert int(other.evaluations) == int(m.evaluations) > 0


def test_resampling_changes_points_deterministically():
    p = create("poisson1d_sin")
    m = _pinn(p, resample_every=1)
    a = m.collocation()["interior"].clone()
    m.loss()
    b = m.collocation()["interior"].clone()
    assert not torch.equal(a, b)
    m2 = _pinn(p, resample_every=1)
    m2.loss()
    torch.testing.assert_close(m2.collocation()["interior"], b)


def test_adaptive_weights_move():
    p = create("poisson1d_multiscale")
    m = _pinn(p, adaptive=True, adapt_every=1)
    w0 = m.loss_weights.clone()
    m.loss()
    assert float(m.loss_weights[1]) != float(w0[1])
    assert float(m.loss_weights[0]) == float(w0[0])


def test_causal_weights():
    w = causal_weights(torch.tensor([1.0, 2.0, 3.0]), eps=0.5)
    torch.testing.assert_close(w, torch.exp(-0.5 * torch.tensor([0.0, 1.0, 3.0])))
    p = create("convection", beta=1.0)
    m = _pinn(p, causal_eps=1.0, n_chunks=4)
    loss, parts = m.loss()
    assert 0 < parts["causal_min_weight"] <= 1


def test_bad_inputs():
    p = create("poisson1d_sin")
    with pytest.raises(TypeError, match="net must be an nn.Module"):
        PINN(p, lambda x: x)
    with pytest.raises(TypeError, match="problem must be"):
        PINN("poisson1d_sin", MLP([1, 4, 1]))
    with pytest.raises(ValueError, match="causal_eps.*not time-dependent"):
        PINN(p, MLP([1, 4, 1]), causal_eps=1.0)
    with pytest.raises(ValueError, match="weights: unknown key 'bc'"):
        PINN(p, MLP([1, 4, 1]), weights={"bc": 1.0})
    with pytest.raises(ValueError, match="points.*outside"):
        PINN(p, MLP([1, 4, 1])).predict(torch.tensor([[10.0]]))
    with pytest.raises(ValueError, match="net must return"):
        PINN(p, MLP([1, 4, 2]))(torch.rand(3, 1))


def test_loss_change_at_end_measures_the_last_tenth() -> None:
    """Flat at the end -> ~0; halving over the last 10% -> 0.5; a falling power law in between."""
    from basiskit.physics import loss_change_at_end

    steps = list(range(1, 1001))
    assert loss_change_at_end(steps, [1.0] * 1000) == 0.0
    halved = [1.0 if s <= 900 else 0.5 for s in steps]
    assert loss_change_at_end(steps, halved) == pytest.approx(0.5)
    power = [s ** -1.0 for s in steps]  # from ~1/900 to ~1/1000 over the last 10%
    assert loss_change_at_end(steps, power) == pytest.approx(1 - 900 / 1000, rel=0.02)
    assert math.isnan(loss_change_at_end([1.0], [2.0]))
    with pytest.raises(ValueError, match="same length"):
        loss_change_at_end([1, 2], [1.0])
    with pytest.raises(ValueError, match="fraction"):
        loss_change_at_end(steps, power, fraction=0.0)
