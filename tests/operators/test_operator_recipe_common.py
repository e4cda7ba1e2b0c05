"""Fast checks of the pieces the operator recipes are built from (``basiskit.recipes._common``): the one
training path ``train_operator``, the ``NormalizedOperator`` wrapper, T1's frequency-space view, ``on_grid``."""
import pytest
import torch
from torch import nn

from basiskit.losses import relative_lp
from basiskit.measure import count_parameters
from basiskit.operators import T1
from basiskit.data import NormalizedOperator
from basiskit.recipes._common import FINAL_CALIBRATION_BATCHES, rel_l2, train_operator
from basiskit.recipes.nn_to_no import on_grid
from basiskit.recipes.t1 import NormalizedModes
from basiskit.train import RunContext


def _pairs(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A linear operator on 1-D fields, u = 3 * smooth(a) + 5, with inputs far from zero mean / unit std."""
    g = torch.Generator().manual_seed(seed)
    a = 4.0 + 2.0 * torch.randn(n, 1, 16, generator=g)
    u = 3.0 * torch.nn.functional.avg_pool1d(a, 3, 1, 1, count_include_pad=False) + 5.0
    return a, u


def test_normalized_stores_training_statistics_and_maps_raw_to_raw():
    x, y = _pairs(32, 0)
    inner = nn.Conv1d(1, 1, 1)
    model = NormalizedOperator.fit(inner, x, y, mode="global")
    assert {k for k, _ in model.named_buffers()} == {"x_normalizer.mean", "x_normalizer.std", "y_normalizer.mean",
                                                       "y_normalizer.std"}
    assert torch.equal(model.x_normalizer.mean, x.mean().reshape(1))
    assert torch.equal(model.y_normalizer.std, y.std().reshape(1))
    with torch.no_grad():
        expected = inner((x - x.mean()) / x.std()) * y.std() + y.mean()
        assert torch.allclose(model(x), expected, atol=1e-5)
    assert count_parameters(model) == count_parameters(inner) == 2  # buffers are not parameters


def test_train_operator_learns_and_logs_the_full_test_error():
    train, test = _pairs(64, 1), _pairs(24, 2)
    torch.manual_seed(0)
    inner = nn.Conv1d(1, 1, 3, padding=1)
    ctx = RunContext(None, seed=0, progress=False)
    model, result = train_operator(inner, train, test, ctx, "conv", steps=60, batch_size=16, lr=3e-2,
                                   weight_decay=1e-4)
    assert isinstance(model, NormalizedOperator) and model.model is inner
    steps, errors = result.curve("test_rel_l2")
    assert len(errors) >= 10  # ten evaluations (plus the final one)
    # the curve's last point is the error on the whole test set, the figure the recipes report
    assert errors[-1] == pytest.approx(rel_l2(model, test, ctx.device), rel=1e-6)
    assert errors[-1] < 0.5 * errors[0]
    assert errors[-1] < 0.1


def test_train_operator_evaluates_batchnorm_models_with_population_statistics():
    """The last logged error and the returned model use BatchNorm statistics averaged over FINAL_CALIBRATION_BATCHES
    random batches of the (normalised) training inputs, orders seeded by the run's seed, not the moving average
    of the last training batches."""
    train, test = _pairs(48, 5), _pairs(16, 6)
    torch.manual_seed(0)
    inner = nn.Sequential(nn.Conv1d(1, 4, 3, padding=1), nn.BatchNorm1d(4), nn.GELU(), nn.Conv1d(4, 1, 1))
    ctx = RunContext(None, seed=0, progress=False)
    model, result = train_operator(inner, train, test, ctx, "bn", steps=20, batch_size=16, lr=1e-2,
                                   weight_decay=0.0)
    bn = inner[1]
    assert int(bn.num_batches_tracked) == FINAL_CALIBRATION_BATCHES
    g, means = torch.Generator().manual_seed(0), []
    with torch.no_grad():
        pre = inner[0](model.x_normalizer.encode(train[0]))
        while len(means) < FINAL_CALIBRATION_BATCHES:
            order = torch.randperm(48, generator=g)
            means += [pre[order[i:i + 16]].mean(dim=(0, 2)) for i in range(0, 48, 16)]
    torch.testing.assert_close(bn.running_mean, torch.stack(means[:FINAL_CALIBRATION_BATCHES]).mean(0))
    assert bn.momentum == 0.1
    assert result.curve("test_rel_l2")[1][-1] == pytest.approx(rel_l2(model, test, ctx.device), rel=1e-6)


def test_resumed_finished_batchnorm_run_gets_the_same_final_statistics(tmp_path, monkeypatch):
    """A resumed run with no step left evaluates nothing; its model must still carry the final statistics that an
    uninterrupted run reports, even from a checkpoint that holds moving averages (one written before the
    statistics were recomputed, simulated by switching the recomputation off for the first run)."""
    import basiskit.recipes._common as common

    train, test = _pairs(48, 5), _pairs(16, 6)

    def run(folder, resume: bool):
        torch.manual_seed(0)
        inner = nn.Sequential(nn.Conv1d(1, 4, 3, padding=1), nn.BatchNorm1d(4), nn.GELU(), nn.Conv1d(4, 1, 1))
        ctx = RunContext(folder, seed=0, resume=resume, progress=False)
        model, result = train_operator(inner, train, test, ctx, "bn", steps=12, batch_size=16, lr=1e-2,
                                       weight_decay=0.0, checkpoint_every=6)
        return inner[1], result

    first, _ = run(tmp_path / "a", False)
    real = common._batchnorm_calibration
    monkeypatch.setattr(common, "_batchnorm_calibration", lambda *a: (lambda final=False: None))
    old, _ = run(tmp_path / "b", False)
    assert not torch.equal(old.running_mean, first.running_mean)  # moving averages in that checkpoint
    monkeypatch.setattr(common, "_batchnorm_calibration", real)
    again, result = run(tmp_path / "b", True)
    assert result.resumed_from == 12
    torch.testing.assert_close(again.running_mean, first.running_mean, rtol=0, atol=0)
    torch.testing.assert_close(again.running_var, first.running_var, rtol=0, atol=0)
    assert int(again.num_batches_tracked) == FINAL_CALIBRATION_BATCHES


def test_train_operator_without_normalisation_returns_the_model_itself():
    train, test = _pairs(32, 3), _pairs(8, 4)
    inner = nn.Conv1d(1, 1, 3, padding=1)
    model, _ = train_operator(inner, train, test, RunContext(None, seed=0, progress=False), "raw", steps=3,
                              batch_size=8, lr=1e-3, weight_decay=0.0, normalize=False)
    assert model is inner


def test_normalized_modes_are_the_modes_of_the_normalized_t1_output():
    torch.manual_seed(0)
    t1 = T1((6, 6), 1, 1, 8, 2).double()
    x = 2.0 + torch.randn(5, 1, 16, 16, dtype=torch.float64)
    y = -1.0 + 0.5 * torch.randn(5, 1, 16, 16, dtype=torch.float64)
    wrapped = NormalizedOperator.fit(t1, x, y, mode="global")
    with torch.no_grad():
        # the transform is linear: the modes of s_y T1(x_n) + m_y, computed without going through the grid
        assert torch.allclose(NormalizedModes(wrapped)(x), t1.to_modes(wrapped(x)), atol=1e-10)


def test_train_operator_in_frequency_space_evaluates_in_physical_space():
    g = torch.Generator().manual_seed(5)
    x = 1.0 + torch.randn(24, 1, 12, 12, generator=g)
    y = 0.5 * x + 2.0
    torch.manual_seed(0)
    t1 = T1((6, 6), 1, 1, 8, 2)
    model, result = train_operator(t1, (x[:16], y[:16]), (x[16:], y[16:]), RunContext(None, seed=0, progress=False),
                                   "t1", steps=40, batch_size=8, lr=3e-3, weight_decay=1e-4, view=NormalizedModes,
                                   target_map=t1.to_modes)
    assert isinstance(model, NormalizedOperator) and model.model is t1
    _, errors = result.curve("test_rel_l2")
    assert errors[-1] == pytest.approx(float(relative_lp(model(x[16:]).detach(), y[16:])), rel=1e-5)
    assert errors[-1] < errors[0]


def test_on_grid_takes_the_same_points_at_every_resolution():
    nodes = torch.arange(129, dtype=torch.float64) / 128
    x, y = torch.meshgrid(nodes, nodes, indexing="ij")
    field = (x + 2 * y)[None, None]
    for r in (32, 64, 128):
        grid = torch.arange(r, dtype=torch.float64) / r
        gx, gy = torch.meshgrid(grid, grid, indexing="ij")
        assert torch.allclose(on_grid(field, r, 128), (gx + 2 * gy)[None, None])
    with pytest.raises(ValueError, match="resolution=48"):
        on_grid(field, 48, 128)
