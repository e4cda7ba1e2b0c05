import time

import pytest
import torch

import basiskit as bk
from basiskit.data.cache import cache_dir, cache_key


def test_darcy_shapes_dtype_and_physics():
    (xtr, ytr), (xte, yte) = bk.data.darcy(3, 2, resolution=9, seed=0)
    assert xtr.shape == (3, 1, 9, 9) and ytr.shape == (3, 1, 9, 9) and xte.shape == (2, 1, 9, 9)
    assert xtr.dtype == torch.float32 and ytr.dtype == torch.float32
    assert set(torch.unique(xtr).tolist()) <= {3.0, 12.0}
    assert ytr[:, :, 0].abs().max() == 0 and (ytr[:, :, 1:-1, 1:-1] > 0).all()


def test_darcy_is_a_subsample_of_the_finer_solve():
    from basiskit.pde import darcy_2d

    (x, y), _ = bk.data.darcy(2, 1, resolution=5, seed=3, refine=2)
    # refine=1 targets solve the FD problem on the data grid itself; refine=2 ones come from a finer solve
    (x1, y1), _ = bk.data.darcy(2, 1, resolution=5, seed=3, refine=1)
    assert torch.allclose(y1[:, 0].double(), darcy_2d(x1[:, 0].double()), atol=1e-7)
    assert not torch.equal(y, y1)


def test_cached_second_call_is_identical_and_fast():
    a = bk.data.burgers(4, 2, resolution=32, seed=1, solve_resolution=64)
    t0 = time.perf_counter()
    b = bk.data.burgers(4, 2, resolution=32, seed=1, solve_resolution=64)
    assert time.perf_counter() - t0 < 1.0
    for u, v in zip(a[0] + a[1], b[0] + b[1]):
        assert torch.equal(u, v)


def test_corrupt_cache_file_is_regenerated(caplog):
    params = {"resolution": 8, "seed": 0, "refine": 1, "alpha": 2.0, "tau": 3.0, "high": 12.0, "low": 3.0,
              "source": 1.0, "n_train": 2, "n_test": 1, "chunk": 16, "generator": 1}
    first = bk.data.darcy(2, 1, resolution=8, refine=1)
    path = cache_dir() / f"{cache_key('darcy', params)}.safetensors"
    assert path.is_file()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # truncated, as after a crash
    second = bk.data.darcy(2, 1, resolution=8, refine=1)
    assert "regenerating" in caplog.text
    assert torch.equal(first[0][1], second[0][1])
    flipped = bytearray(data)
    for i in range(len(data) - 200, len(data), 7):  # same length, flipped bits in the tensor bytes
        flipped[i] ^= 0xFF
    path.write_bytes(bytes(flipped))
    caplog.clear()
    third = bk.data.darcy(2, 1, resolution=8, refine=1)
    assert "regenerating" in caplog.text and torch.equal(first[1][1], third[1][1])


def test_workers_do_not_change_the_data_and_test_set_ignores_n_train():
    serial = bk.data.darcy(20, 3, resolution=6, refine=1, seed=2, cache=False)
    parallel = bk.data.darcy(20, 3, resolution=6, refine=1, seed=2, workers=2, cache=False)
    assert torch.equal(serial[0][0], parallel[0][0]) and torch.equal(serial[1][1], parallel[1][1])
    other = bk.data.darcy(5, 3, resolution=6, refine=1, seed=2, cache=False)
    assert torch.equal(other[1][0], serial[1][0]) and torch.equal(other[0][0], serial[0][0][:5])
    assert not torch.equal(bk.data.darcy(5, 3, resolution=6, refine=1, seed=3, cache=False)[1][0], serial[1][0])


def test_burgers_resolutions_share_functions():
    coarse = bk.data.burgers(2, 2, resolution=16, solve_resolution=64, cache=False)
    fine = bk.data.burgers(2, 2, resolution=32, solve_resolution=64, cache=False)
    assert coarse[1][0].shape == (2, 1, 16)
    assert torch.equal(fine[1][0][..., ::2], coarse[1][0]) and torch.equal(fine[1][1][..., ::2], coarse[1][1])


def test_navier_stokes_snapshots_and_registry():
    (x, y), (xt, yt) = bk.data.create("navier_stokes", n_train=2, n_test=1, resolution=16, t_final=0.5,
                                      snapshots=2, cache=False)
    assert x.shape == (2, 1, 16, 16) and y.shape == (2, 2, 16, 16) and yt.shape == (1, 2, 16, 16)
    assert {"burgers", "darcy", "navier_stokes"} <= set(bk.data.names())


@pytest.mark.parametrize("fn, kwargs, match", [
    (bk.data.burgers, {"resolution": 48}, "divide"), (bk.data.darcy, {"n_train": 0}, "n_train"),
    (bk.data.navier_stokes, {"viscosity": 0.0}, "viscosity"), (bk.data.darcy, {"workers": 0}, "workers"),
    (bk.data.navier_stokes, {"resolution": 16, "solve_resolution": 24}, "divide"),
])
def test_bad_arguments(fn, kwargs, match):
    args = {"n_train": 2, "n_test": 1, **kwargs}
    with pytest.raises(ValueError, match=match):
        fn(**args)
