"""Forecasters (one interface), sMAPE, the Spearman interval and the benchmark: exact cases, shapes, bad inputs."""
import numpy as np
import pytest
import torch

from basiskit import UsageError
from basiskit.dynamics import benchmark, make_forecaster, smape, spearman_ci
from basiskit.dynamics.forecast import delay_embed


def _oscillator(n=400, dt=0.05, rate=-0.01):
    """A damped rotation sampled exactly: x_{t+1} = M x_t, so linear models are exact."""
    t = dt * np.arange(n)
    return np.stack([np.exp(rate * t) * np.cos(t), np.exp(rate * t) * np.sin(t)], axis=1) + 2.0


def test_persistence_repeats_the_last_state():
    hist = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    train = torch.randn(20, 2, generator=torch.Generator().manual_seed(0))
    out = make_forecaster("persistence").fit(train).predict(hist, 3)
    assert out.shape == (3, 2)
    # forecasters work on standardised states: the round trip costs a few ulps, nothing more
    torch.testing.assert_close(out, hist[-1].expand(3, 2), rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("name, kwargs", [("nvar", {"lags": 1, "alpha": 0.0}), ("dmd", {"lags": 2})])
def test_linear_models_forecast_a_linear_map_exactly(name, kwargs):
    x = _oscillator()
    model = make_forecaster(name, **kwargs).fit(x[:300])
    pred = model.predict(x[250:300], 100).numpy()
    np.testing.assert_allclose(pred, x[300:], atol=1e-6)


def test_delay_embedding_orders_newest_first():
    x = np.arange(10.0).reshape(1, 5, 2)
    emb = delay_embed(x, 2)
    assert emb.shape == (1, 4, 4)
    np.testing.assert_array_equal(emb[0, 0], [2, 3, 0, 1])


@pytest.mark.parametrize("name, kwargs", [
    ("esn", {"size": 60}), ("mlp", {"steps": 100, "hidden": (16,)}), ("kan", {"steps": 200, "hidden": (8,)})])
def test_learned_forecasters_beat_persistence_one_quarter_period_ahead(name, kwargs):
    x = _oscillator(600, rate=0.0)
    model = make_forecaster(name, seed=0, **kwargs).fit(torch.from_numpy(x[:500]))
    hist, future = x[450:500], x[500:530]
    pred = model.predict(hist, 30)
    assert pred.shape == (30, 2) and torch.isfinite(pred).all()
    ours = np.abs(pred.numpy() - future).mean()
    floor = np.abs(hist[-1] - future).mean()
    assert ours < 0.5 * floor
    batch = model.predict(np.stack([hist, hist]), 5)
    assert batch.shape == (2, 5, 2)
    np.testing.assert_allclose(batch[0].numpy(), pred[:5].numpy(), rtol=1e-5, atol=1e-6)


def test_smape_closed_forms():
    assert smape([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert smape([1.0], [-1.0]) == pytest.approx(200.0)
    assert smape([2.0], [1.0]) == pytest.approx(200.0 / 3.0)
    assert smape([0.0, 1.0], [0.0, 1.0]) == 0.0  # 0/0 counts as 0
    with pytest.raises(ValueError, match="same shape"):
        smape([1.0], [1.0, 2.0])


def test_spearman_interval():
    x = np.arange(10.0)
    rho, low, high = spearman_ci(x, x ** 3, n_boot=200)
    assert rho == pytest.approx(1.0) and low == pytest.approx(1.0) and high == pytest.approx(1.0)
    rho, low, high = spearman_ci(x, -x, n_boot=200)
    assert rho == pytest.approx(-1.0) and high == pytest.approx(-1.0)
    rng = np.random.default_rng(0)
    rho, low, high = spearman_ci(rng.standard_normal(40), rng.standard_normal(40), n_boot=300)
    assert low < rho < high and low < 0 < high
    with pytest.raises(ValueError, match="length >= 3"):
        spearman_ci([1.0, 2.0], [1.0, 2.0])


def test_benchmark_returns_a_table_and_correlations():
    out = benchmark(["Lorenz", "Rossler", "SprottA"], ["persistence", "nvar"], 0.5, pts_per_period=50,
                    train_periods=10.0, context_periods=1.0, n_test=2, n_boot=50)
    assert set(out["smape"]) == {"Lorenz", "Rossler", "SprottA"}
    assert set(out["smape"]["Lorenz"]) == {"persistence", "nvar"}
    assert out["horizon_steps"] == 25
    assert out["lyapunov"]["Lorenz"] == pytest.approx(0.9056)
    assert set(out["spearman"]) == {"persistence", "nvar", "mean"}
    assert all(0.0 <= v <= 200.0 for row in out["smape"].values() for v in row.values())
    assert out["smape"]["Lorenz"]["nvar"] < out["smape"]["Lorenz"]["persistence"]


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(UsageError, match="did you mean 'nvar'"):
        make_forecaster("nvr")
    with pytest.raises(UsageError, match="did you mean 'esn'"):
        benchmark(["Lorenz", "Rossler", "SprottA"], ["esm"])
    with pytest.raises(UsageError, match="did you mean 'Lorenz'"):
        benchmark(["Lorentz"], ["nvar"])
    model = make_forecaster("nvar")
    with pytest.raises(RuntimeError, match="fit"):
        model.predict(np.zeros((5, 3)), 2)
    with pytest.raises(ValueError, match="NaN"):
        model.fit(np.full((20, 3), np.nan))
    with pytest.raises(ValueError, match="at least"):
        model.fit(np.zeros((2, 3)))
    model.fit(np.random.default_rng(0).standard_normal((50, 3)))
    with pytest.raises(ValueError, match="last dim 3"):
        model.predict(np.zeros((5, 2)), 2)
    with pytest.raises(ValueError, match="horizon must be >= 1"):
        model.predict(np.zeros((5, 3)), 0)
    with pytest.raises(TypeError, match="torch.Tensor or numpy"):
        model.predict([[0.0, 0.0, 0.0]], 1)
