"""Users' own operator data: .npz (memory-mapped), HDF5 and Zarr loaders, splits, fit on a dataset, and the
multi-resolution evaluation; the round trip from files a user wrote to a trained FNO."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from basiskit import UsageError
from basiskit.data import (ArrayPairs, GaussianNormalizer, NormalizedOperator, by_resolution, evaluate_resolutions,
                           load_pairs)
from basiskit.losses import relative_lp
from basiskit.operators import FNO
from basiskit.train import RunContext, fit


def _smoothing_pairs(n: int, grid: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """a -> u = a convolved with a periodic 3-point average plus 2: a local linear operator, any resolution."""
    rng = np.random.default_rng(seed)
    k = np.arange(1, 5)
    xs = np.arange(grid) / grid
    coef = rng.normal(size=(n, 4, 2)) / k[None, :, None]
    a = (coef[..., 0, None] * np.sin(2 * np.pi * k[None, :, None] * xs)
         + coef[..., 1, None] * np.cos(2 * np.pi * k[None, :, None] * xs)).sum(1)
    u = 2.0 + (np.roll(a, 1, -1) + a + np.roll(a, -1, -1)) / 3.0
    return a[:, None].astype(np.float32), u[:, None].astype(np.float32)


def test_npz_members_are_memory_mapped_and_read_exactly(tmp_path):
    x, y = _smoothing_pairs(10, 32, 0)
    np.savez(tmp_path / "d.npz", a=x, u=y)
    ds = load_pairs(tmp_path / "d.npz", inputs="a", targets="u")
    assert isinstance(ds.inputs, np.memmap) and len(ds) == 10 and ds.resolution == (32,)
    xb, yb = ds.batch([7, 2, 7])
    assert torch.equal(xb, torch.from_numpy(x[[7, 2, 7]])) and torch.equal(yb, torch.from_numpy(y[[7, 2, 7]]))
    x0, y0 = ds[3]
    assert x0.shape == (1, 32) and torch.equal(y0, torch.from_numpy(y[3]))


def test_compressed_npz_is_read_into_memory(tmp_path):
    x, y = _smoothing_pairs(6, 16, 1)
    np.savez_compressed(tmp_path / "c.npz", x=x, y=y)
    ds = load_pairs(tmp_path / "c.npz")
    assert not isinstance(ds.inputs, np.memmap)
    assert torch.equal(ds.tensors()[1], torch.from_numpy(y))


def test_arrays_without_a_channel_axis_get_one(tmp_path):
    x, y = _smoothing_pairs(4, 8, 2)
    np.savez(tmp_path / "n.npz", x=x[:, 0], y=y[:, 0])
    xb, _ = load_pairs(tmp_path / "n.npz", channel_axis=None).tensors()
    assert xb.shape == (4, 1, 8) and torch.equal(xb, torch.from_numpy(x))


def test_hdf5_reads_on_demand_with_unsorted_indices(tmp_path):
    h5py = pytest.importorskip("h5py")
    x, y = _smoothing_pairs(9, 16, 3)
    with h5py.File(tmp_path / "d.h5", "w") as f:
        f["x"], f["y"] = x, y
    ds = load_pairs(tmp_path / "d.h5")
    xb, yb = ds.batch(torch.tensor([5, 1, 5, 0]))
    assert torch.equal(xb, torch.from_numpy(x[[5, 1, 5, 0]])) and torch.equal(yb, torch.from_numpy(y[[5, 1, 5, 0]]))


def test_zarr_group_is_read_lazily(tmp_path):
    zarr = pytest.importorskip("zarr")
    x, y = _smoothing_pairs(5, 16, 4)
    group = zarr.open_group(str(tmp_path / "d.zarr"), mode="w")
    group.create_array("x", data=x, chunks=(2, 1, 16))
    group.create_array("y", data=y, chunks=(2, 1, 16))
    ds = load_pairs(tmp_path / "d.zarr")
    assert torch.equal(ds.batch([4, 0])[0], torch.from_numpy(x[[4, 0]]))


def test_split_is_disjoint_reproducible_and_covers_everything():
    x, y = _smoothing_pairs(20, 8, 5)
    ds = ArrayPairs(x, y)
    tr, te = ds.split(0.25, seed=3)
    assert len(tr) == 15 and len(te) == 5
    assert set(tr.indices) | set(te.indices) == set(range(20)) and not set(tr.indices) & set(te.indices)
    assert np.array_equal(ds.split(0.25, seed=3)[1].indices, te.indices)
    assert torch.equal(te[0][0], torch.from_numpy(x[te.indices[0]]))


def test_bad_files_and_arrays_give_clear_errors(tmp_path):
    x, y = _smoothing_pairs(4, 8, 6)
    np.savez(tmp_path / "d.npz", a=x, u=y)
    with pytest.raises(UsageError, match="no array 'x'.*'a', 'u'"):
        load_pairs(tmp_path / "d.npz")
    with pytest.raises(UsageError, match="no such data file"):
        load_pairs(tmp_path / "missing.npz")
    (tmp_path / "d.csv").write_text("1,2")
    with pytest.raises(UsageError, match="suffix must be one of"):
        load_pairs(tmp_path / "d.csv")
    with pytest.raises(UsageError, match="different numbers of samples: 4 vs 3"):
        ArrayPairs(x, y[:3])
    with pytest.raises(UsageError, match=r"\(n, c, \*grid\)"):
        ArrayPairs(x[:, 0, 0], y)
    with pytest.raises(UsageError, match="channel_axis"):
        ArrayPairs(x, y, channel_axis=2)
    with pytest.raises(UsageError, match="empty train or test"):
        ArrayPairs(x, y).split(0.01)


def test_fit_trains_from_a_dataset_exactly_as_from_the_same_tensors():
    x, y = _smoothing_pairs(24, 16, 7)
    ds = ArrayPairs(x, y)

    def train(data):
        torch.manual_seed(0)
        model = nn.Conv1d(1, 1, 3, padding=1, padding_mode="circular")
        fit(model, relative_lp, data, steps=12, batch_size=5, lr=1e-2, ctx=RunContext(None, seed=1))
        return model.weight.detach().clone()

    assert torch.equal(train(ds), train(ds.tensors()))
    class Stream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(zip(ds.tensors()))

    with pytest.raises(TypeError, match="map-style"):
        fit(nn.Linear(1, 1), relative_lp, Stream(), steps=1)


def test_evaluate_resolutions_matches_a_direct_computation_and_keys_by_grid():
    torch.manual_seed(0)
    model = nn.Conv1d(1, 1, 3, padding=1, padding_mode="circular")
    sets = [ArrayPairs(*_smoothing_pairs(7, g, g)) for g in (16, 32)]
    out = evaluate_resolutions(model, sets, batch_size=3)
    assert set(out) == {(16,), (32,)}
    for ds in sets:
        xb, yb = ds.tensors()
        with torch.no_grad():
            assert out[ds.resolution] == pytest.approx(float(relative_lp(model(xb), yb)), rel=1e-6)
    named = evaluate_resolutions(model, {"coarse": sets[0].tensors()})
    assert named["coarse"] == pytest.approx(out[(16,)], rel=1e-6)
    with pytest.raises(UsageError, match="two test sets at resolution"):
        by_resolution([sets[0], sets[0]])
    with pytest.raises(UsageError, match="one error per sample"):
        evaluate_resolutions(model, sets, metric=lambda p, t: (p - t).abs().mean())


def test_user_npz_files_to_a_trained_fno_and_zero_shot_resolutions(tmp_path):
    """The documented workflow: a user's .npz at 32 points, an FNO trained through the public pipeline, then
    evaluated at 32 and 64 points: the learned local operator transfers to the finer grid."""
    for grid, n, seed in ((32, 96, 0), (64, 16, 1)):
        x, y = _smoothing_pairs(n, grid, seed + 10)
        np.savez(tmp_path / f"res{grid}.npz", x=x, y=y)
    train, test = load_pairs(tmp_path / "res32.npz").split(0.25, seed=0)
    torch.manual_seed(0)
    fno = FNO(8, 1, 1, 16, 2)
    x_tr, y_tr = train.tensors()
    model = NormalizedOperator.fit(fno, x_tr, y_tr)
    before = evaluate_resolutions(model, [test])[(32,)]
    fit(model, relative_lp, train, steps=150, batch_size=16, lr=5e-3, ctx=RunContext(None, seed=0))
    errors = evaluate_resolutions(model, [test, load_pairs(tmp_path / "res64.npz")])
    assert errors[(32,)] < 0.05 < before
    assert errors[(64,)] < 2 * errors[(32,)] + 0.02
    clone = NormalizedOperator(FNO(8, 1, 1, 16, 2), GaussianNormalizer(), GaussianNormalizer())
    clone.load_state_dict(model.state_dict())
    assert evaluate_resolutions(clone, [test])[(32,)] == pytest.approx(errors[(32,)], rel=1e-6)


def test_multi_resolution_pairs_one_grid_per_batch_and_resumable():
    from basiskit.data import MultiResolutionPairs
    from basiskit.train import fit

    fine = torch.arange(5 * 8 * 8, dtype=torch.float32).reshape(5, 1, 8, 8)
    coarse = fine[..., ::2, ::2]
    ds = MultiResolutionPairs([(coarse, coarse + 1), (fine, fine + 1)])
    assert len(ds) == 5 and ds.resolutions == [(4, 4), (8, 8)]
    x, y = ds.batch(torch.tensor([2, 0]))  # first index even: grid 0
    assert x.shape == (2, 1, 4, 4) and torch.equal(x, coarse[[2, 0]]) and torch.equal(y, coarse[[2, 0]] + 1)
    x, _ = ds.batch([3, 1, 4])  # first index odd: grid 1
    assert torch.equal(x, fine[[3, 1, 4]])
    with pytest.raises(IndexError, match="out of range"):
        ds.batch([5])
    with pytest.raises(IndexError, match="empty batch"):
        ds.batch([])

    class Mean(torch.nn.Module):  # a grid-agnostic model: one scale on the field
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Parameter(torch.zeros(()))

        def forward(self, x):
            return self.a * x

    seen = []

    def loss(pred, target):
        seen.append(pred.shape[-1])
        return (pred - target).square().mean()

    fit(Mean(), loss, ds, steps=12, batch_size=2, lr=1e-2)
    assert set(seen) == {4, 8}  # both grids get batches
    again = []
    fit(Mean(), lambda p, t: again.append(p.shape[-1]) or (p - t).square().mean(), ds, steps=12, batch_size=2,
        lr=1e-2)
    assert again == seen  # the grid sequence is a pure function of (seed, step)


@pytest.mark.parametrize("pairs, match", [
    ([], "at least one"),
    ([(torch.zeros(3, 1, 4, 4), torch.zeros(2, 1, 4, 4))], "same number of samples"),
    ([(torch.zeros(3, 1, 4, 4), torch.zeros(3, 1, 4, 4)), (torch.zeros(2, 1, 8, 8), torch.zeros(2, 1, 8, 8))],
     "same number of samples"),
    ([(torch.zeros(3, 4), torch.zeros(3, 4))], "must be \\(inputs"),
])
def test_multi_resolution_pairs_bad_input(pairs, match):
    from basiskit.data import MultiResolutionPairs

    with pytest.raises(UsageError, match=match):
        MultiResolutionPairs(pairs)
