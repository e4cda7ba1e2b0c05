"""Residual-based adaptive sampling of PINN collocation points (RAD, RAR, RAR-D): points go where the residual is large,
the point budget is kept, a resumed run continues on the same points, clear errors."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from basiskit.physics import PINN, create_problem
from basiskit.train import RunContext, fit


def _zero_net() -> nn.Module:
    net = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    with torch.no_grad():
        net[2].weight.zero_()
        net[2].bias.zero_()
    return net.double()


def _source_size(problem, pts):
    """|residual| of u = 0 at pts: the size of the source, which is what a zero net leaves."""
    model = PINN(problem, _zero_net(), n_interior=8, dtype=torch.float64)
    return model._pool_residuals(pts.double())


def test_rad_draws_points_where_the_residual_is_large_and_keeps_the_budget():
    problem = create_problem("helmholtz2d")
    model = PINN(problem, _zero_net(), n_interior=500, resample_every=1, sampling="rad",
                 sampling_options={"k": 2.0, "c": 0.0}, dtype=torch.float64)
    first = model.collocation()["interior"].clone()  # round 0: uniform
    model.evaluations += 1
    second = model.collocation()["interior"]
    assert second.shape == first.shape == (500, 2)
    assert float(_source_size(problem, second).mean()) > 1.5 * float(_source_size(problem, first).mean())


def test_rar_adds_the_worst_pool_points_until_the_budget_is_reached():
    problem = create_problem("helmholtz2d")
    model = PINN(problem, _zero_net(), n_interior=100, resample_every=1, sampling="rar",
                 sampling_options={"start": 0.5, "n_add": 20, "pool": 5}, dtype=torch.float64)
    sizes = []
    for _ in range(5):
        sizes.append(model.collocation()["interior"].shape[0])
        model.evaluations += 1
    assert sizes == [50, 70, 90, 100, 100]
    added = model.adaptive_points[50:70]
    uniform = model.adaptive_points[:50]
    assert float(_source_size(problem, added).min()) > float(_source_size(problem, uniform).median())


def test_a_resumed_adaptive_run_continues_on_the_same_points(tmp_path):
    problem = create_problem("poisson1d_sin")

    def run(ctx, fail_at=None):
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 1)).double()
        model = PINN(problem, net, n_interior=64, n_boundary=2, resample_every=5, sampling="rad", dtype=torch.float64)
        calls = {"n": 0}

        def objective(m):
            calls["n"] += 1
            if fail_at is not None and calls["n"] == fail_at:
                raise KeyboardInterrupt("simulated kill")
            return m.loss()

        fit(model, objective=objective, steps=30, lr=1e-3, ctx=ctx, name="pinn", checkpoint_every=10)
        return model

    full = run(RunContext(tmp_path / "a", seed=0, progress=False))
    with pytest.raises(KeyboardInterrupt):
        run(RunContext(tmp_path / "b", seed=0, progress=False), fail_at=23)
    resumed = run(RunContext(tmp_path / "b", seed=0, resume=True, progress=False))
    torch.testing.assert_close(resumed.adaptive_points, full.adaptive_points, rtol=0, atol=0)
    for p, q in zip(resumed.parameters(), full.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-12)


def test_bad_sampling_arguments_give_clear_errors():
    problem = create_problem("helmholtz2d")
    with pytest.raises(ValueError, match="sampling"):
        PINN(problem, _zero_net(), sampling="greedy")
    with pytest.raises(ValueError, match="resample_every >= 1"):
        PINN(problem, _zero_net(), sampling="rad")
    with pytest.raises(ValueError, match="'n_add' is not an option of sampling='rad'"):
        PINN(problem, _zero_net(), sampling="rad", resample_every=5, sampling_options={"n_add": 3})
    with pytest.raises(ValueError, match="start"):
        PINN(problem, _zero_net(), sampling="rar", resample_every=5, sampling_options={"start": 0.0})


def test_residual_density_is_wu_et_al_formula_normalised():
    from basiskit.physics.sampling import residual_density

    r = torch.tensor([0.0, 1.0, -3.0], dtype=torch.float64)
    w = r.abs() / r.abs().mean() + 1.0  # k = 1, c = 1
    torch.testing.assert_close(residual_density(r), w / w.sum())
    w2 = r.pow(2) / r.pow(2).mean()  # k = 2, c = 0 (RAR-D's defaults)
    torch.testing.assert_close(residual_density(r, k=2.0, c=0.0), w2 / w2.sum())
    torch.testing.assert_close(residual_density(r, k=0.0, c=0.0), torch.full((3,), 1 / 3, dtype=torch.float64))
    # all residuals zero and c = 0: no preference, equally likely (not NaN)
    torch.testing.assert_close(residual_density(torch.zeros(4), k=1.0, c=0.0), torch.full((4,), 0.25))


@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=50), st.floats(0.0, 4.0), st.floats(0.0, 5.0))
@settings(max_examples=60, deadline=None)
def test_residual_density_is_a_distribution_increasing_in_the_residual(values, k, c):
    from basiskit.physics.sampling import residual_density

    r = torch.tensor(values, dtype=torch.float64)
    p = residual_density(r, k=k, c=c)
    assert p.shape == r.shape and bool((p >= 0).all())
    assert abs(float(p.sum()) - 1.0) < 1e-9
    order = r.abs().argsort()
    assert bool((p[order].diff() >= -1e-12).all())  # a larger |residual| is never less likely


def test_residual_density_bad_inputs_raise_clear_errors():
    from basiskit.physics.sampling import residual_density

    with pytest.raises(ValueError, match="residual"):
        residual_density(torch.ones(2, 2))
    with pytest.raises(ValueError, match="residual"):
        residual_density(torch.tensor([1.0, float("nan")]))
    with pytest.raises(ValueError, match="residual"):
        residual_density(torch.ones(0))
    with pytest.raises(ValueError, match="k"):
        residual_density(torch.ones(3), k=-1.0)
    with pytest.raises(ValueError, match="c"):
        residual_density(torch.ones(3), c=-0.5)


def test_rar_d_adds_points_drawn_from_the_residual_density_until_the_budget():
    problem = create_problem("helmholtz2d")
    model = PINN(problem, _zero_net(), n_interior=400, resample_every=1, sampling="rar-d",
                 sampling_options={"start": 0.5, "n_add": 100, "pool": 10}, dtype=torch.float64)
    assert (model.sampling_options["k"], model.sampling_options["c"]) == (2.0, 0.0)  # Wu et al.'s RAR-D defaults
    sizes = []
    for _ in range(4):
        sizes.append(model.collocation()["interior"].shape[0])
        model.evaluations += 1
    assert sizes == [200, 300, 400, 400]
    uniform, added = model.adaptive_points[:200], model.adaptive_points[200:]
    assert float(_source_size(problem, added).mean()) > 1.5 * float(_source_size(problem, uniform).mean())
    # drawn, not the greedy top: some added points have a residual below the uniform points' median
    assert float(_source_size(problem, added).min()) < float(_source_size(problem, uniform).median())
    assert torch.unique(added, dim=0).shape[0] == 200  # without replacement


def test_rar_d_options_are_checked():
    problem = create_problem("helmholtz2d")
    with pytest.raises(ValueError, match="resample_every >= 1"):
        PINN(problem, _zero_net(), sampling="rar-d")
    with pytest.raises(ValueError, match="'foo' is not an option of sampling='rar-d'"):
        PINN(problem, _zero_net(), sampling="rar-d", resample_every=5, sampling_options={"foo": 1})
    with pytest.raises(ValueError, match="k"):
        PINN(problem, _zero_net(), sampling="rar-d", resample_every=5, sampling_options={"k": -2.0})
    model = PINN(problem, _zero_net(), sampling="rar-d", resample_every=5, sampling_options={"k": 1.0, "c": 1.0})
    assert (model.sampling_options["k"], model.sampling_options["c"]) == (1.0, 1.0)


def test_adapt_points_runs_one_round_now_and_points_stay_fixed_between_calls():
    """``resample_every = 0`` plus ``adapt_points()`` (schedules in rounds): the same rounds as the evaluation
    counter would give, one per call, and no change in between."""
    problem = create_problem("helmholtz2d")
    opts = {"start": 0.5, "n_add": 100, "pool": 10}
    by_counter = PINN(problem, _zero_net(), n_interior=400, resample_every=1, sampling="rar-d",
                      sampling_options=opts, dtype=torch.float64)
    by_call = PINN(problem, _zero_net(), n_interior=400, resample_every=1, sampling="rar-d",
                   sampling_options=opts, dtype=torch.float64)
    by_call.resample_every = 0
    for rnd in range(3):
        expected = by_counter.collocation()["interior"].clone()
        by_counter.evaluations += 1
        if rnd:
            by_call.adapt_points()
        got = by_call.collocation()["interior"]
        assert torch.equal(got, expected) and int(by_call.adaptive_round) == rnd
        assert torch.equal(by_call.collocation()["interior"], got)  # fixed until the next call
    with pytest.raises(ValueError, match="adapt_points"):
        PINN(problem, _zero_net(), n_interior=40).adapt_points()
