"""Inverse problems: unknowns as log-parameters, the data term, recovery on a manufactured problem, p-dict
equations and the deprecated one-argument form."""
import math
import warnings

import pytest
import torch

from basiskit.models import MLP
from basiskit.physics import PINN, Observations, Unknowns, observe, train_physics, training_summary
from basiskit.physics import problems


def decay_problem(a: float = 1.0) -> problems.Problem:
    """u'' = a u on [0, 1]; the data come from u = cosh(2 x), i.e. a = 4."""
    def exact(p: torch.Tensor) -> torch.Tensor:
        return torch.cosh(2 * p[:, :1])

    def equation(d, p):  # type: ignore[no-untyped-def]
        return d(0, 0) - p["a"] * d.u

    return problems.Problem("decay", [(0, 1)], None, equation, exact=exact, params={"a": a})


def test_unknowns_are_log_parameters():
    unk = Unknowns({"nu": 0.02, "k": 3.0})
    assert set(unk.names) == {"nu", "k"}
    assert math.isclose(float(unk.raw["nu"].detach()), math.log(0.02), rel_tol=1e-6)
    values = unk()
    assert math.isclose(float(values["k"]), 3.0, rel_tol=1e-6)
    values["nu"].backward()  # d exp(s)/ds = exp(s)
    assert math.isclose(float(unk.raw["nu"].grad), 0.02, rel_tol=1e-5)
    signed = Unknowns({"c": -1.5}, positive=False)
    assert signed.values() == {"c": -1.5}


@pytest.mark.parametrize("bad, err", [({"nu": 0.0}, ValueError), ({"nu": -1.0}, ValueError), ({}, ValueError),
                                      ({"loss": 1.0}, ValueError), ({"nu": "x"}, TypeError),
                                      ({"not a name": 1.0}, ValueError)])
def test_unknowns_bad_inputs(bad, err):
    with pytest.raises(err):
        Unknowns(bad)


def test_equation_reads_parameters_and_overrides():
    prob = decay_problem()
    x = torch.rand(20, 1, dtype=torch.float64)
    r_known = prob.residual(prob.exact, x)  # a = 1: residual 4 cosh - cosh = 3 cosh
    assert torch.allclose(r_known, 3 * prob.exact(x), atol=1e-10)
    r_true = prob.residual(prob.exact, x, params={"a": torch.tensor(4.0, dtype=torch.float64)})
    assert float(r_true.abs().max()) < 1e-10
    with pytest.raises(ValueError, match="not a parameter"):
        prob.residual(prob.exact, x, params={"b": torch.tensor(1.0)})
    with pytest.raises(ValueError, match="not a parameter"):
        PINN(prob, MLP([1, 8, 1]), unknowns={"b": 1.0})


def test_one_argument_equation_is_deprecated_but_works():
    with pytest.warns(DeprecationWarning, match="equation"):
        prob = problems.Problem("old", [(0, 1)], None, lambda d: d(0, 0) + d.u, exact=lambda p: torch.sin(p[:, :1]))
    x = torch.rand(10, 1, dtype=torch.float64)
    assert float(prob.residual(prob.exact, x).abs().max()) < 1e-10
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        decay_problem()  # the two-argument form does not warn
    with pytest.raises(TypeError):
        problems.Problem("bad", [(0, 1)], None, lambda: 0, exact=lambda p: p)


def test_registered_problems_take_their_parameters_from_p():
    prob = problems.create("burgers1d")
    g = torch.Generator().manual_seed(0)
    x = prob.sample_interior(64, g).double()
    base = prob.residual(prob._reference, x)
    nu = torch.tensor(prob.params["nu"], dtype=torch.float64)
    same = prob.residual(prob._reference, x, params={"nu": nu})
    assert torch.equal(base, same)
    other = prob.residual(prob._reference, x, params={"nu": 2 * nu})
    assert float((other - base).abs().max()) > 1e-4
    conv = problems.create("convection", beta=5.0)
    xc = conv.sample_interior(32, g).double()
    assert float(conv.residual(conv.exact, xc, params={"beta": torch.tensor(5.0, dtype=torch.float64)})
                 .abs().max()) < 1e-10
    assert float(conv.residual(conv.exact, xc, params={"beta": torch.tensor(6.0, dtype=torch.float64)})
                 .abs().max()) > 0.5


def test_observations_and_observe():
    prob = decay_problem()
    g = torch.Generator().manual_seed(0)
    clean = observe(prob, 200, generator=g)
    assert clean.points.shape == (200, 1) and clean.values.shape == (200, 1)
    assert torch.allclose(clean.values, prob.exact(clean.points))
    noisy = observe(prob, 2000, noise=0.1, generator=torch.Generator().manual_seed(1))
    resid = noisy.values - prob.exact(noisy.points)
    assert 0.08 < float(resid.std() / prob.exact(noisy.points).std()) < 0.12
    assert float(clean.loss(prob.exact)) == 0.0
    with pytest.raises(ValueError, match="rows"):
        Observations(torch.rand(5, 1), torch.rand(4, 1))
    with pytest.raises(ValueError, match="channels"):
        Observations(torch.rand(5, 2), torch.rand(5, 1), channels=[0, 1])
    with pytest.raises(ValueError, match="outside"):
        PINN(prob, MLP([1, 8, 1]), observations=Observations(torch.full((3, 1), 2.0), torch.rand(3, 1)))
    with pytest.raises(TypeError, match="Observations"):
        PINN(prob, MLP([1, 8, 1]), observations=(torch.rand(3, 1), torch.rand(3, 1)))


def test_inverse_recovery_on_a_manufactured_problem():
    """a = 4 recovered from 64 observations of cosh(2x) from an initial guess of 1."""
    torch.manual_seed(0)
    prob = decay_problem(a=1.0)
    obs = observe(prob, 64, generator=torch.Generator().manual_seed(0))
    model = PINN(prob, MLP([1, 16, 16, 1]), n_interior=128, n_boundary=0, unknowns={"a": 1.0}, observations=obs,
                 weights={"data": 10.0}, dtype=torch.float64)
    history = train_physics(model, steps=200, lr=1e-2, lbfgs_steps=15, log_every=10)
    a = model.unknown_values()["a"]
    assert abs(a - 4.0) / 4.0 < 0.02, a
    assert "data" in history[0] and "a" in history[0]
    metrics, curves = training_summary("inv", model, history)
    assert metrics["inv_a"] == a
    steps, values = curves["inv a"]
    assert len(steps) == len(values) > 5 and abs(values[0] - 1.0) < 0.2  # the curve starts at the guess
