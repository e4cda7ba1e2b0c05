"""The per-machine path selector of the native B-spline KAN layer (local-support loops vs dense features +
GEMM): the dense path against the local one, and the selector's caching, invalidation and switch with mocked
timings (no real timing decides anything here)."""
from __future__ import annotations

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basiskit._env import kan_path
from basiskit.bases import uniform_knots
from basiskit.nn import KANLinear
from basiskit.ops import bspline_native, path_select
from basiskit.ops.bspline import kan_linear

pytestmark = pytest.mark.skipif(bspline_native._lib() is None, reason="no C compiler for the native kernels")


@pytest.fixture(autouse=True)
def _fresh_selector(monkeypatch, tmp_path):
    monkeypatch.setenv("BASISKIT_CACHE", str(tmp_path))
    monkeypatch.delenv("BASISKIT_KAN_PATH", raising=False)
    path_select.forget()
    yield
    path_select.forget()


def _args(n=6, n_in=3, n_out=4, grid=5, order=3, dtype=torch.float64, seed=0, spread=1.4):
    g = torch.Generator().manual_seed(seed)
    knots = uniform_knots(grid, order, (-1, 1), dtype=dtype).expand(n_in, -1).contiguous()
    x = ((torch.rand(n, n_in, generator=g, dtype=dtype) * 2 - 1) * spread).requires_grad_(True)
    w = torch.randn(n_out, n_in, grid + order + 1, generator=g, dtype=dtype, requires_grad=True)
    return x, knots, w


def _mock_timer(monkeypatch, seconds: dict[str, float]) -> list[tuple]:
    calls: list[tuple] = []

    def fake(x, knots, weight, order, act, repeats=path_select.REPEATS, uniform=True, pad=0):
        calls.append((tuple(x.shape), tuple(weight.shape)))
        return dict(seconds)

    monkeypatch.setattr(path_select, "time_paths", fake)
    return calls


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 9), n_in=st.integers(1, 5), n_out=st.integers(1, 5), grid=st.integers(1, 6),
       order=st.integers(0, 4), act=st.sampled_from(["silu", "none", "gelu"]), dtype=st.sampled_from(["f32", "f64"]))
def test_dense_path_matches_local_path(n, n_in, n_out, grid, order, act, dtype):
    dt = torch.float32 if dtype == "f32" else torch.float64
    x, knots, w = _args(n, n_in, n_out, grid, order, dt)
    x, w = x.detach(), w.detach()
    g = torch.randn(n, n_out, dtype=dt)
    tol = {"rtol": 1e-5, "atol": 1e-5} if dt == torch.float32 else {"rtol": 1e-12, "atol": 1e-12}
    torch.testing.assert_close(bspline_native.forward_dense(x, knots, w, order, act),
                               bspline_native.forward(x, knots, w, order, act), **tol)
    for need_x, need_w in ((True, True), (True, False), (False, True)):
        dense = bspline_native.backward_dense(x, knots, w, order, act, g, need_x, need_w)
        local = bspline_native.backward(x, knots, w, order, act, g, need_x, need_w)
        for d, loc in zip(dense, local):
            assert (d is None) == (loc is None)
            if d is not None:
                torch.testing.assert_close(d, loc, **tol)


@pytest.mark.parametrize("order", [1, 3])
def test_dense_path_matches_local_path_on_non_uniform_knots(order):
    x, knots, w = _args(40, 3, 5, 6, order, torch.float64, seed=order)
    x, w = x.detach(), w.detach()
    knots = knots + 0.04 * torch.sin(7.0 * knots) * (knots.abs() < 1)  # same ends, unequal interior gaps
    g = torch.randn(40, 5, dtype=torch.float64)
    torch.testing.assert_close(bspline_native.forward_dense(x, knots, w, order, "silu", uniform=False),
                               bspline_native.forward(x, knots, w, order, "silu", uniform=False))
    dense = bspline_native.backward_dense(x, knots, w, order, "silu", g, True, True, uniform=False)
    local = bspline_native.backward(x, knots, w, order, "silu", g, True, True, uniform=False)
    for d, loc in zip(dense, local):
        torch.testing.assert_close(d, loc)


def test_non_uniform_knots_are_their_own_shape_class():
    uniform = path_select.shape_class(1000, 5, 1, 24, 3, torch.float64, 1)
    assert path_select.shape_class(1000, 5, 1, 24, 3, torch.float64, 1, uniform=False) == uniform + "-knots"


@pytest.mark.parametrize("path", ["local", "dense"])
def test_forced_path_gradchecks_in_float64(monkeypatch, path):
    monkeypatch.setenv("BASISKIT_KAN_PATH", path)
    x, knots, w = _args()
    fn = lambda a, b: kan_linear(a, knots, b, 3, uniform=True)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x, w), fast_mode=True)


@pytest.mark.parametrize("path", ["local", "dense"])
def test_layer_runs_the_chosen_path(monkeypatch, path):
    calls = {"forward": 0, "forward_keeping_window": 0, "forward_dense": 0}
    for name in calls:
        real = getattr(bspline_native, name)

        def counting(*args, _real=real, _name=name, **kwargs):
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(bspline_native, name, counting)
    _mock_timer(monkeypatch, {"local": 1.0, "dense": 2.0} if path == "local" else {"local": 2.0, "dense": 1.0})
    monkeypatch.setattr(path_select, "MIN_MEASURED_WORK", 0)
    layer = KANLinear(4, 3, grid_size=5)
    layer(torch.rand(8, 4) * 2 - 1).sum().backward()
    local = calls["forward"] + calls["forward_keeping_window"]  # a small call keeps its window: the second
    assert (local, calls["forward_dense"]) == ((1, 0) if path == "local" else (0, 1)), calls


def test_switch_values_and_bad_value(monkeypatch):
    assert kan_path() == "auto"
    for value, expected in (("Dense", "dense"), (" local ", "local"), ("", "auto"), ("auto", "auto")):
        monkeypatch.setenv("BASISKIT_KAN_PATH", value)
        assert kan_path() == expected
    monkeypatch.setenv("BASISKIT_KAN_PATH", "gemm")
    with pytest.raises(ValueError, match=r"BASISKIT_KAN_PATH must be one of \['auto', 'local', 'dense'\], got 'gemm'"):
        kan_path()


def test_forced_path_is_not_measured(monkeypatch):
    calls = _mock_timer(monkeypatch, {"local": 1.0, "dense": 2.0})
    monkeypatch.setenv("BASISKIT_KAN_PATH", "dense")
    x, knots, w = _args(n=512, n_in=64, n_out=64)
    assert path_select.choose(x, knots, w, 3, "silu") == "dense"
    assert calls == []


def test_small_calls_take_local_untimed(monkeypatch):
    calls = _mock_timer(monkeypatch, {"local": 2.0, "dense": 1.0})
    x, knots, w = _args()
    assert path_select.choose(x, knots, w, 3, "silu") == "local"
    assert calls == []


def test_measured_once_per_shape_class_and_cached_on_disk(monkeypatch):
    calls = _mock_timer(monkeypatch, {"local": 2.0, "dense": 1.0})
    monkeypatch.setattr(path_select, "MIN_MEASURED_WORK", 0)
    x, knots, w = _args(n=100)
    assert path_select.choose(x, knots, w, 3, "silu") == "dense"
    x2, _, _ = _args(n=120)  # same power-of-two bucket (128): same class, no new measurement
    assert path_select.choose(x2, knots, w, 3, "silu") == "dense"
    assert len(calls) == 1
    stored = json.loads(path_select.cache_file().read_text())
    key = path_select.shape_class(100, 3, 4, 9, 3, torch.float64, torch.get_num_threads())
    assert stored["choices"] == {key: "dense"} and stored["seconds"][key] == {"local": 2.0, "dense": 1.0}
    assert path_select.cache_file().parent == path_select.native.kernel_dir()  # beside the compiled kernels
    # a new process (memory dropped) reads the file instead of measuring
    path_select.forget()
    _mock_timer(monkeypatch, {"local": 1.0, "dense": 2.0})
    assert path_select.choose(x, knots, w, 3, "silu") == "dense"
    # another shape class is measured on its own
    x3, _, _ = _args(n=300)
    assert path_select.choose(x3, knots, w, 3, "silu") == "local"


def test_thread_count_is_part_of_the_key(monkeypatch):
    calls = _mock_timer(monkeypatch, {"local": 2.0, "dense": 1.0})
    monkeypatch.setattr(path_select, "MIN_MEASURED_WORK", 0)
    x, knots, w = _args(n=64)
    for threads in (1, 2):
        monkeypatch.setattr(path_select.native, "num_threads", lambda t=threads: t)
        path_select.choose(x, knots, w, 3, "silu")
    assert len(calls) == 2
    assert "-t1" in path_select.shape_class(64, 3, 4, 9, 3, torch.float32, 1)


@pytest.mark.parametrize("change", ["cpu", "torch"])
def test_cpu_or_torch_change_invalidates(monkeypatch, change):
    calls = _mock_timer(monkeypatch, {"local": 2.0, "dense": 1.0})
    monkeypatch.setattr(path_select, "MIN_MEASURED_WORK", 0)
    x, knots, w = _args(n=64)
    path_select.choose(x, knots, w, 3, "silu")
    first = path_select.cache_file()
    if change == "cpu":
        monkeypatch.setattr(path_select, "cpu_model", lambda: "Intel(R) Xeon(R) Platinum 8481C")
    else:
        monkeypatch.setattr(path_select.torch, "__version__", "9.9.9")
    assert path_select.cache_file() != first
    path_select.forget()
    _mock_timer_calls = _mock_timer(monkeypatch, {"local": 1.0, "dense": 2.0})
    assert path_select.choose(x, knots, w, 3, "silu") == "local"
    assert len(calls) == 1 and len(_mock_timer_calls) == 1


def test_corrupt_cache_file_is_remeasured(monkeypatch):
    calls = _mock_timer(monkeypatch, {"local": 2.0, "dense": 1.0})
    monkeypatch.setattr(path_select, "MIN_MEASURED_WORK", 0)
    path = path_select.cache_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")
    x, knots, w = _args(n=64)
    assert path_select.choose(x, knots, w, 3, "silu") == "dense"
    assert len(calls) == 1 and json.loads(path.read_text())["choices"]


def test_real_timing_returns_both_paths():
    x, knots, w = _args(n=32, n_in=8, n_out=8, dtype=torch.float32)
    seconds = path_select.time_paths(x.detach(), knots, w.detach(), 3, "silu", repeats=1)
    assert set(seconds) == {"local", "dense"} and all(s > 0 for s in seconds.values())


def test_bucket():
    assert [path_select._bucket(n) for n in (0, 1, 2, 3, 4, 5, 1000, 1024, 1025)] == [1, 1, 2, 4, 4, 8, 1024, 1024,
                                                                                        2048]
