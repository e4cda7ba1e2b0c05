"""Flow-matching loss and ODE samplers: the exact Gaussian-to-Gaussian transport (closed-form marginal velocity),
orders of convergence, adaptive Dormand-Prince accuracy against its tolerance, and bad inputs."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from basiskit.generative.flow_matching import OdeStats, cfm_loss, mmd2, sample_ode
from basiskit.generative.paths import CondOTPath, CosinePath, GaussianPath, get_path

MU = torch.tensor([1.0, -2.0], dtype=torch.float64)
C = 0.5


def gaussian_velocity(path: GaussianPath, mu: torch.Tensor = MU, c: float = C):
    """Marginal velocity of ``path`` for data N(mu, c^2 I): x_t ~ N(alpha mu, v I), v = alpha^2 c^2 + sigma^2, and
    u(x) = alpha' mu + (alpha alpha' c^2 + sigma sigma') (x - alpha mu) / v (affine in x)."""
    def velocity(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a, s = path.alpha(t)[:, None], path.sigma(t)[:, None]
        da, ds = path.d_alpha(t)[:, None], path.d_sigma(t)[:, None]
        v = a ** 2 * c ** 2 + s ** 2
        return da * mu + (a * da * c ** 2 + s * ds) * (x - a * mu) / v
    return velocity


def x0_batch(n: int = 64, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("name", ["cond-ot", "vp-cosine"])
def test_rk4_transports_noise_to_the_gaussian_exactly(name):
    """The flow of the exact velocity maps x_0 to mu + c x_0 at t = 1 (and to alpha mu + sqrt(v) x_0 on the way)."""
    path = get_path(name)
    x0 = x0_batch()
    x1 = sample_ode(gaussian_velocity(path), x0, steps=200, method="rk4")
    torch.testing.assert_close(x1, MU + C * x0, rtol=0, atol=1e-7)
    half = sample_ode(gaussian_velocity(path), x0, steps=100, method="rk4", t1=0.5)
    a, s = path.alpha(0.5), path.sigma(0.5)
    torch.testing.assert_close(half, a * MU + torch.sqrt(a ** 2 * C ** 2 + s ** 2) * x0, rtol=0, atol=1e-6)


def test_fixed_step_methods_converge_at_their_orders():
    """Observed order log2(err(n) / err(2n)) on the cosine path's field (cond-OT's is special: midpoint gains an
    order there)."""
    path = CosinePath()
    x0 = x0_batch(8)
    exact = MU + C * x0
    for method, order in (("euler", 1), ("midpoint", 2), ("rk4", 4)):
        errs = [float((sample_ode(gaussian_velocity(path), x0, steps=n, method=method) - exact).abs().max())
                for n in (16, 32, 64)]
        rates = [math.log2(errs[i] / errs[i + 1]) for i in range(2)]
        assert all(abs(r - order) < 0.2 for r in rates), (method, errs, rates)


def test_dopri5_error_follows_its_tolerance_and_costs_more_when_tighter():
    path = CosinePath()
    x0 = x0_batch()
    exact = MU + C * x0
    results = []
    for tol in (1e-3, 1e-6, 1e-9):
        x, stats = sample_ode(gaussian_velocity(path), x0, method="dopri5", rtol=tol, atol=tol, return_stats=True)
        assert isinstance(stats, OdeStats) and stats.nfe == 1 + 6 * (stats.accepted + stats.rejected)
        results.append((float((x - exact).abs().max()), stats.nfe))
    errs, nfes = zip(*results)
    assert errs[0] < 1e-2 and errs[1] < 1e-4 and errs[2] < 1e-7, results
    assert nfes[0] < nfes[1] < nfes[2], results
    # rk4 with the same evaluations as the tight adaptive solve is not more accurate than the tolerance asks
    assert errs[2] < 10 * 1e-9 * float(exact.abs().max()) + 1e-7


@settings(max_examples=10, deadline=None)
@given(mu=st.lists(st.floats(-3, 3), min_size=2, max_size=2), c=st.floats(0.1, 3.0), seed=st.integers(0, 1000))
def test_dopri5_transports_any_gaussian(mu, c, seed):
    mu = torch.tensor(mu, dtype=torch.float64)
    x0 = x0_batch(16, seed)
    x1 = sample_ode(gaussian_velocity(CondOTPath(), mu, c), x0, method="dopri5", rtol=1e-8, atol=1e-8)
    torch.testing.assert_close(x1, mu + c * x0, rtol=0, atol=1e-5)


def test_cfm_loss_matches_its_definition_and_is_smallest_at_the_marginal_velocity():
    path = CosinePath()
    g = torch.Generator().manual_seed(0)
    x1 = MU + C * torch.randn(4096, 2, generator=g, dtype=torch.float64)
    x0 = torch.randn(4096, 2, generator=g, dtype=torch.float64)
    t = torch.rand(4096, generator=g, dtype=torch.float64) * 0.98
    exact = gaussian_velocity(path)
    loss = cfm_loss(exact, path, x1, x0, t=t)
    xt = path.sample(x1, t, x0)
    manual = ((exact(xt, t) - path.pair_velocity(x1, t, x0)) ** 2).sum(1).mean()
    torch.testing.assert_close(loss, manual)
    for shift in (0.1, -0.1):
        worse = cfm_loss(lambda x, tt, shift=shift: exact(x, tt) + shift, path, x1, x0, t=t)
        assert float(worse) > float(loss)


def test_cfm_training_step_lowers_the_loss_and_sampling_runs_a_network():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 32), nn.SiLU(), nn.Linear(32, 2))

    def velocity(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return model(torch.cat([x, t[:, None]], 1))

    path = CondOTPath()
    x1 = MU.float() + C * torch.randn(256, 2)
    g = torch.Generator().manual_seed(1)
    x0, t = torch.randn(256, 2, generator=g), torch.rand(256, generator=g)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    before = float(cfm_loss(velocity, path, x1, x0, t=t).detach())
    for _ in range(20):
        opt.zero_grad()
        cfm_loss(velocity, path, x1, x0, t=t).backward()
        opt.step()
    assert float(cfm_loss(velocity, path, x1, x0, t=t).detach()) < before
    out = sample_ode(velocity, torch.randn(10, 2), method="midpoint", steps=5)
    assert out.shape == (10, 2) and out.dtype == torch.float32 and bool(torch.isfinite(out).all())


# ---- bad inputs -----------------------------------------------------------------------------------------
def test_bad_sampler_arguments_are_refused():
    v = gaussian_velocity(CondOTPath())
    x0 = x0_batch(4)
    with pytest.raises(ValueError, match="method: unknown value 'rk5'"):
        sample_ode(v, x0, method="rk5")
    with pytest.raises(ValueError, match="steps must be >= 1"):
        sample_ode(v, x0, steps=0)
    with pytest.raises(ValueError, match="rtol must be > 0"):
        sample_ode(v, x0, method="dopri5", rtol=0.0)
    with pytest.raises(ValueError, match="t1 must lie in"):
        sample_ode(v, x0, t1=1.5)
    with pytest.raises(ValueError, match="t1 must be > t0"):
        sample_ode(v, x0, t0=0.5, t1=0.5)
    with pytest.raises(ValueError, match="velocity\\(x, t\\) must return a tensor shaped like x"):
        sample_ode(lambda x, t: x[:, :1], x0)
    with pytest.raises(TypeError, match="velocity must be callable"):
        sample_ode("cond-ot", x0)
    with pytest.raises(RuntimeError, match="max_steps"):
        sample_ode(v, x0, method="dopri5", rtol=1e-12, atol=1e-12, max_steps=3)
    with pytest.raises(RuntimeError, match="non-finite"):
        sample_ode(lambda x, t: x * float("nan"), x0, method="dopri5")


def test_bad_loss_arguments_are_refused():
    path = CondOTPath()
    x1 = x0_batch(4)
    v = gaussian_velocity(path)
    with pytest.raises(ValueError, match=r"t must have shape \(batch,\)"):
        cfm_loss(v, path, x1, t=torch.rand(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="t must lie in"):
        cfm_loss(v, path, x1, t=torch.full((4,), 2.0, dtype=torch.float64))
    with pytest.raises(ValueError, match="model\\(x_t, t\\) must return"):
        cfm_loss(lambda x, t: x.sum(1), path, x1)
    with pytest.raises(TypeError, match="GaussianPath"):
        cfm_loss(v, "cond-ot", x1)
    with pytest.raises(ValueError, match="x0 must have the shape of x1"):
        cfm_loss(v, path, x1, torch.zeros(4, 3, dtype=torch.float64))


def test_mmd2_is_near_zero_for_one_distribution_and_positive_for_two():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(500, 2, generator=g), torch.randn(500, 2, generator=g)
    same = mmd2(a, b)
    assert abs(same) < 5e-3
    assert mmd2(a, b + 0.5) > 20 * max(abs(same), 1e-4)
    with pytest.raises(ValueError, match="bandwidths must be positive"):
        mmd2(a, b, bandwidths=(0.0,))
    with pytest.raises(ValueError, match="n, m >= 2"):
        mmd2(a, b[:, :1])
