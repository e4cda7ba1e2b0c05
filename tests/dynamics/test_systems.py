"""The chaotic-system registry and cached trajectories: facts, vectorised right-hand sides, Jacobians, bad inputs,
and (where dysts is installed) our right-hand sides against dysts' for every shared system."""
import math

import numpy as np
import pytest
import torch

import basiskit.dynamics as dyn
from basiskit import UsageError
from basiskit.dynamics import trajectory


def test_registry_has_at_least_30_flows_with_published_facts():
    names = dyn.names()
    assert len(names) >= 30
    assert {"Lorenz", "Rossler", "SprottA", "Chen"} <= set(names)
    assert dyn.names("Sprott*")[:2] == ["SprottA", "SprottB"]
    for name in names:
        s = dyn.create(name)
        assert s.period > 0 and s.reference_lyapunov > 0 and s.lyapunov_source, name
        assert s.initial_conditions.shape == (s.dim,) and s.dim >= 3
        assert np.isfinite(s.rhs(0.0, s.initial_conditions)).all(), name


def test_lorenz_facts_are_the_literature_values():
    s = dyn.create("Lorenz")
    assert s.params == {"sigma": 10.0, "rho": 28.0, "beta": 8.0 / 3.0}
    assert s.reference_lyapunov == pytest.approx(0.9056)
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(s.rhs(0.0, x), [10 * (2 - 1), 1 * (28 - 3) - 2, 1 * 2 - 8 / 3 * 3])
    np.testing.assert_allclose(s.jacobian(x).numpy(), [[-10, 10, 0], [28 - 3, -1, -1], [2, 1, -8 / 3]])


@pytest.mark.parametrize("name", dyn.names())
def test_rhs_is_vectorised_and_agrees_between_numpy_and_torch(name):
    s = dyn.create(name)
    rng = np.random.default_rng(0)
    x = s.initial_conditions + 0.1 * rng.standard_normal((2, 5, s.dim))
    out_np = s.rhs(0.0, x)
    out_t = s.rhs(0.0, torch.from_numpy(x)).numpy()
    assert out_np.shape == x.shape
    np.testing.assert_allclose(out_np, out_t, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out_np[1, 3], s.rhs(0.0, x[1, 3]), rtol=1e-12, atol=1e-12)
    # the autograd Jacobian against central differences
    jac = s.jacobian(x[0, :2]).numpy()
    eps = 1e-6
    for j in range(s.dim):
        e = np.zeros(s.dim)
        e[j] = eps
        fd = (s.rhs(0.0, x[0, :2] + e) - s.rhs(0.0, x[0, :2] - e)) / (2 * eps)
        np.testing.assert_allclose(jac[..., j], fd, rtol=1e-5, atol=1e-5 * (1 + np.abs(fd).max()))


def test_create_overrides_parameters_and_drops_the_published_exponent():
    s = dyn.create("Lorenz", rho=35.0)
    assert s.params["rho"] == 35.0 and s.reference_lyapunov is None
    assert dyn.create("Lorenz", rho=28.0).reference_lyapunov == pytest.approx(0.9056)
    x = np.array([1.0, 0.0, 0.0])
    assert s.rhs(0.0, x)[1] == pytest.approx(35.0)


def test_bad_names_parameters_and_shapes_raise_with_close_matches():
    with pytest.raises(UsageError, match="did you mean 'Lorenz'"):
        dyn.create("Lorenx")
    with pytest.raises(UsageError, match="did you mean 'rho'"):
        dyn.create("Lorenz", rh0=1.0)
    with pytest.raises(TypeError, match="number"):
        dyn.create("Lorenz", rho="big")
    with pytest.raises(ValueError, match="last dim 3"):
        dyn.create("Lorenz").rhs(0.0, np.zeros(4))
    with pytest.raises(ValueError, match="square"):
        dyn.linear_system(np.zeros((2, 3)))
    with pytest.raises(TypeError, match="registered name"):
        trajectory(3, 10)


def test_trajectory_shape_sampling_and_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BASISKIT_CACHE", str(tmp_path))
    x, t = trajectory("Lorenz", 200, 50, return_times=True)
    assert x.shape == (200, 3) and x.dtype == torch.float64
    np.testing.assert_allclose(t[1] - t[0], dyn.create("Lorenz").period / 50)
    files = list(tmp_path.glob("trajectory-Lorenz-*.safetensors"))
    assert len(files) == 1
    assert torch.equal(trajectory("Lorenz", 200, 50), x)  # loaded, same numbers
    assert len(list(tmp_path.glob("*.safetensors"))) == 1
    # a different parameter is a different file
    trajectory("Lorenz", 200, 40)
    assert len(list(tmp_path.glob("*.safetensors"))) == 2


def test_trajectory_follows_the_flow_and_lies_on_the_attractor():
    s = dyn.create("Lorenz")
    x = trajectory(s, 4000, 200).numpy()
    dt = s.period / 200
    # fourth-order central differences of the samples match the right-hand side
    deriv = (-x[4:] + 8 * x[3:-1] - 8 * x[1:-3] + x[:-4]) / (12 * dt)
    rel = np.abs(deriv - s.rhs(0.0, x[2:-2])).max() / np.abs(s.rhs(0.0, x)).max()
    assert rel < 5e-4  # the stencil's O(dt^4) error: 7.5e-5 here, 16x less at half the step
    assert 20.0 < x[:, 2].mean() < 27.0  # the Lorenz attractor's z-centre (about 23.5)


def test_trajectory_batch_starts_spread_over_the_attractor():
    xb = trajectory("Rossler", 50, 20, n_initial=3, seed=2, spread=10.0)
    assert xb.shape == (3, 50, 3)
    assert torch.cdist(xb[:, 0], xb[:, 0]).max() > 1.0
    assert not torch.equal(trajectory("Rossler", 50, 20, n_initial=3, seed=3, spread=10.0), xb)
    assert torch.equal(trajectory("Rossler", 50, 20, n_initial=3, seed=2, spread=10.0, cache=False), xb)


def test_non_finite_trajectory_and_bad_arguments_raise():
    blowup = dyn.linear_system([[60.0]], name="blowup")
    with pytest.raises(ValueError, match="blowup"):
        trajectory(blowup, 10, 10, transient=20.0, cache=False)
    with pytest.raises(ValueError, match="n_points must be >= 1"):
        trajectory("Lorenz", 0)
    with pytest.raises(ValueError, match="did you mean 'DOP853'"):
        trajectory("Lorenz", 10, method="DOP85")


def test_our_right_hand_sides_match_dysts_for_every_shared_system():
    pytest.importorskip("dysts")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from dysts import flows

        rng = np.random.default_rng(0)
        checked = 0
        for name in dyn.names():
            peer_cls = getattr(flows, name, None)
            if peer_cls is None:
                continue
            s = dyn.create(name)
            peer = peer_cls(parameters=dict(s.params))
            x = s.initial_conditions + rng.standard_normal((4, s.dim))
            theirs = np.array([np.asarray(peer.rhs(row, 0.0), dtype=float) for row in x])
            np.testing.assert_allclose(s.rhs(0.0, x), theirs, rtol=1e-10, atol=1e-10, err_msg=name)
            checked += 1
    assert checked >= 30
    assert not math.isnan(checked)
