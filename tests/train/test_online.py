"""Online training (basiskit.train.online, online_buffers): buffer policies, watermark, resume, failed workers,
backends (process, Ray) and bad inputs."""
import functools
import logging
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basiskit import UsageError
from basiskit.train.online import (
    ProcessBackend,
    RayBackend,
    SerialBackend,
    SimulationStream,
    UniformParameters,
    make_backend,
    require_ray,
    stream_throughput,
    train_online,
)
from basiskit.train.online_buffers import (
    FIROBuffer,
    ReservoirBuffer,
    SeenReservoirBuffer,
    make_buffer,
)

N_T = 4  # samples per simulation in these tests


def linear_sim(params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A tiny deterministic simulator: inputs (N_T, d + 1) = (params, t), targets (N_T, 3)."""
    t = torch.arange(N_T, dtype=torch.float32)[:, None] / N_T
    p = params.float().expand(N_T, -1)
    x = torch.cat([p, t], dim=1)
    y = torch.stack([p.sum(1) * t[:, 0], p[:, 0] - t[:, 0], (p ** 2).sum(1)], dim=1)
    return x, y


def flaky_sim(params: torch.Tensor, *, marker_dir: str, fail_first: int, always_fail: int = -1):
    """Raises the first ``fail_first`` times it runs a simulation (counted in marker files, so it works across
    processes); raises always for simulation ``always_fail`` (see ``IndexParams``)."""
    index = round(float(params[0]) * 100)
    if index == always_fail:
        raise RuntimeError("this simulation always crashes")
    key = Path(marker_dir) / str(index)
    tries = int(key.read_text()) if key.exists() else 0
    if tries < fail_first:
        key.write_text(str(tries + 1))
        raise RuntimeError(f"crash {tries + 1}")
    return linear_sim(params)


def dying_sim(params: torch.Tensor, *, marker_dir: str, victim: int):
    """Kills its own worker process the first time it runs simulation ``victim`` (a segfault, an OOM kill)."""
    import os

    key = Path(marker_dir) / "died"
    if round(float(params[0]) * 100) == victim and not key.exists():
        key.write_text("1")
        os._exit(1)
    return linear_sim(params)


class IndexParams:
    """Parameters whose first entry is the simulation index / 100 (so failures can be targeted)."""

    def __call__(self, index: int) -> torch.Tensor:
        return torch.tensor([index / 100, 0.5, 0.25], dtype=torch.float64)


def _model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))


def _train(buffer, steps, *, backend="serial", seed=0, **kw):
    """``seed`` seeds the model's initialisation only."""
    model = _model(seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    params = UniformParameters(torch.zeros(3), torch.ones(3), seed=0)  # the same stream in every run
    kw.setdefault("n_simulations", 200)
    res = train_online(model, torch.nn.functional.mse_loss, opt, buffer, linear_sim, params, steps=steps,
                       batch_size=8, backend=backend, **kw)
    return model, res


def _sample(i: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.tensor([float(i)]), torch.tensor([float(i), 1.0])


# ---- buffers ------------------------------------------------------------------------------------
def test_reservoir_contents_are_uniform_over_the_stream():
    """Algorithm R: after N offers each item is stored with probability capacity / N; chi-square over 200 runs."""
    scipy_stats = pytest.importorskip("scipy.stats")
    capacity, n, runs = 10, 60, 200
    counts = torch.zeros(n)
    for seed in range(runs):
        buf = ReservoirBuffer(capacity, 1, seed=seed)
        for i in range(n):
            buf.put(*_sample(i))
        assert len(buf) == capacity
        counts[buf.ids] += 1
    expected = runs * capacity / n
    stat, p = scipy_stats.chisquare(counts.numpy(), [expected] * n)
    assert p > 1e-3, (stat, p)
    # and the stream's first and second halves are represented equally (a FIFO would keep only the end)
    assert abs(counts[: n // 2].sum() - counts[n // 2:].sum()) < 0.1 * counts.sum()


def test_reservoir_admission_rate_matches_capacity_over_n():
    buf = ReservoirBuffer(50, 1, seed=3)
    for i in range(2000):
        buf.put(*_sample(i))
    # expected admissions: 50 + sum_{n=51}^{2000} 50 / n = 50 (1 + H_2000 - H_50) ~ 234
    expected = 50 * (1 + sum(1.0 / k for k in range(51, 2001)))
    assert abs(buf.admitted - expected) < 0.15 * expected
    assert buf.evicted_unseen > 0  # nothing was drawn: classic reservoir evicts unseen samples


@settings(max_examples=40, deadline=None)
@given(capacity=st.integers(1, 12), max_uses=st.integers(1, 3), batch=st.integers(1, 6),
       ops=st.lists(st.booleans(), min_size=1, max_size=80), seed=st.integers(0, 10_000))
def test_firo_never_evicts_an_unseen_sample(capacity, max_uses, batch, ops, seed):
    buf = FIROBuffer(capacity, 1, max_uses=max_uses, seed=seed)
    stream = 0
    for put in ops:
        if put:
            if buf.can_put():
                assert buf.put(*_sample(stream))
                stream += 1
            else:
                assert len(buf) == capacity
                with pytest.raises(RuntimeError, match="can_put"):
                    buf.put(*_sample(stream))
        elif buf.ready():
            x, y, ids = buf.sample(batch)
            assert torch.equal(x[:, 0], ids.float()) and torch.equal(y[:, 0], ids.float())
            assert len(set(ids.tolist())) == len(ids)  # distinct within a batch
    seen = buf.seen_counts()
    stored = set(buf.ids)
    assert len(seen) == stream == buf.admitted
    for i in range(stream):  # a sample gone from the buffer was drawn exactly max_uses times
        if i not in stored:
            assert int(seen[i]) == max_uses
        else:
            assert int(seen[i]) < max_uses
    assert buf.evicted_unseen == 0


def test_seen_reservoir_replaces_only_seen_samples_and_waits_otherwise():
    buf = SeenReservoirBuffer(4, 2, seed=0)
    for i in range(4):
        buf.put(*_sample(i))
    assert not buf.can_put()  # full and nothing seen yet: the producer waits
    with pytest.raises(RuntimeError, match="can_put"):
        buf.put(*_sample(4))
    _, _, ids = buf.sample(1)
    assert buf.can_put()
    buf.put(*_sample(4))
    assert ids.item() not in buf.ids and 4 in buf.ids  # the one seen sample was the one replaced
    assert not buf.can_put()
    for step in range(200):  # a long run never evicts an unseen sample
        if buf.can_put():
            buf.put(*_sample(5 + step))
        else:
            buf.sample(2)
    assert buf.evicted_unseen == 0
    assert int(buf.seen_counts().sum()) > 0


def test_buffer_state_round_trip_continues_identically():
    for policy in ("firo", "reservoir", "seen-reservoir"):
        a = make_buffer(policy, 8, 2, seed=1)
        for i in range(8):
            a.put(*_sample(i))
        a.sample(3)
        b = make_buffer(policy, 8, 2, seed=99)
        b.load_state_dict(a.state_dict())
        for i in range(8, 30):
            if a.can_put():
                assert a.put(*_sample(i)) == b.put(*_sample(i))
            assert a.ready() == b.ready()
            if a.ready():
                assert torch.equal(a.sample(3)[2], b.sample(3)[2])
        assert torch.equal(a.seen_counts(), b.seen_counts())


def test_watermark_blocks_draws_until_reached_or_closed():
    buf = FIROBuffer(10, 5)
    for i in range(4):
        buf.put(*_sample(i))
    assert not buf.ready()
    with pytest.raises(RuntimeError, match="watermark"):
        buf.sample(2)
    buf.close()  # the stream ended: what is left may be drawn
    assert buf.ready() and len(buf.sample(10)[2]) == 4


# ---- the trainer --------------------------------------------------------------------------------
@pytest.mark.parametrize("policy", ["firo", "reservoir", "seen-reservoir"])
def test_training_starts_at_the_watermark_and_never_draws_below_it(policy):
    lens_at_first_step = []

    def on_step(step, loss, buf):
        if step == 1:
            lens_at_first_step.append(buf.offered)

    extra = {"max_uses": 2} if policy == "firo" else {}
    buf = make_buffer(policy, 40, 30, **extra)
    _, res = _train(buf, 60, inserts_per_step=4, on_step=on_step)
    assert res.steps == 60
    assert lens_at_first_step[0] >= 30  # no batch before the watermark
    assert res.min_len_at_draw >= 30
    assert res.samples_offered == buf.offered


def test_online_training_lowers_the_loss_and_firo_uses_each_sample_max_uses_times():
    buf = FIROBuffer(32, 16, max_uses=2)
    _, res = _train(buf, 150, inserts_per_step=4, n_simulations=150 * 4 // N_T + 10)
    assert sum(res.losses[-20:]) < 0.2 * sum(res.losses[:20])
    seen = res.seen
    gone = torch.ones(len(seen), dtype=torch.bool)
    gone[buf.ids] = False
    assert bool((seen[gone] == 2).all())


def test_firo_run_stops_when_the_data_are_used_up():
    buf = FIROBuffer(16, 8)
    _, res = _train(buf, 10_000, n_simulations=10)  # 40 samples, each used once, batches of 8
    assert res.stopped == "data" and res.steps == 5 and len(buf) == 0


@pytest.mark.parametrize("policy", ["firo", "seen-reservoir"])
def test_resume_equals_an_uninterrupted_run(tmp_path, policy):
    extra = {"max_uses": 2} if policy == "firo" else {}
    full_model, full = _train(make_buffer(policy, 24, 12, **extra), 50, inserts_per_step=4)
    _, part = _train(make_buffer(policy, 24, 12, **extra), 23, inserts_per_step=4,
                              checkpoint_dir=tmp_path, checkpoint_every=10)
    assert part.steps == 23 and (tmp_path / "online_state" / "state.json").is_file()
    resumed_model, resumed = _train(make_buffer(policy, 24, 12, seed=5, **extra), 50, seed=3, inserts_per_step=4,
                                    checkpoint_dir=tmp_path, resume=True)
    assert resumed.steps == 50 and resumed.losses[:23] == part.losses
    assert resumed.losses == full.losses
    for a, b in zip(full_model.parameters(), resumed_model.parameters()):
        assert torch.equal(a, b)
    assert torch.equal(full.seen, resumed.seen)


def test_a_raising_worker_is_resubmitted_and_a_hopeless_one_is_skipped(tmp_path, caplog):
    sim = functools.partial(flaky_sim, marker_dir=str(tmp_path), fail_first=1, always_fail=3)
    stream = SimulationStream(sim, IndexParams(), 6, SerialBackend(), max_retries=2)
    with caplog.at_level(logging.WARNING, logger="basiskit.train.online"):
        got = []
        while (s := stream.next_sample(block=True)) is not None:
            got.append(round(float(s[0][0]) * 100))
    assert got == [i for i in range(6) if i != 3 for _ in range(N_T)]  # in order, simulation 3 skipped
    assert stream.failed == [3] and stream.attempts[3] == 3  # 1 try + 2 resubmissions
    assert stream.resubmitted == 5 + 2  # the five flaky ones once each, the hopeless one twice
    assert "resubmitting" in caplog.text and "skipped" in caplog.text


def test_process_backend_runs_resubmits_and_measures_throughput(tmp_path):
    sim = functools.partial(flaky_sim, marker_dir=str(tmp_path), fail_first=1)
    with ProcessBackend(2, mp_context="fork") as backend:
        model = _model()
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        res = train_online(model, torch.nn.functional.mse_loss, opt, make_buffer("seen-reservoir", 32, 16), sim,
                           IndexParams(), n_simulations=20, steps=40, batch_size=8, backend=backend,
                           inserts_per_step=2)
        assert res.steps == 40 and res.failed == [] and res.resubmitted >= 1
        t = stream_throughput(linear_sim, IndexParams(), 10, backend, warmup=2)
    assert t["samples"] == 10 * N_T and t["samples_per_s"] > 0


def test_a_dead_worker_process_is_replaced_and_its_simulation_resubmitted(tmp_path, caplog):
    sim = functools.partial(dying_sim, marker_dir=str(tmp_path), victim=2)
    with ProcessBackend(2, mp_context="fork") as backend, caplog.at_level(logging.WARNING):
        stream = SimulationStream(sim, IndexParams(), 6, backend, max_retries=3)
        got = []
        while (s := stream.next_sample(block=True)) is not None:
            got.append(round(float(s[0][0]) * 100))
    assert got == [i for i in range(6) for _ in range(N_T)] and stream.failed == []
    assert stream.resubmitted >= 1 and "failed" in caplog.text


def test_recipe_simulator_pickles_into_spawned_workers():
    from basiskit.pde.heat import heat_2d_samples

    sim = functools.partial(heat_2d_samples, n=8, n_t=3, t_end=0.05)
    params = UniformParameters(torch.zeros(5), torch.ones(5), seed=0)
    with ProcessBackend(1) as backend:  # the default "spawn" context
        stream = SimulationStream(sim, params, 2, backend)
        x, y = stream.next_sample(block=True)
    assert x.shape == (6,) and y.shape == (64,)
    assert torch.allclose(y, sim(params(0))[1][0])


def test_nondeterministic_mode_still_respects_the_watermark():
    buf = make_buffer("reservoir", 40, 20)
    _, res = _train(buf, 30, deterministic=False, inserts_per_step=4)
    assert res.steps == 30 and res.min_len_at_draw >= 20


# ---- Ray --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install basiskit[dist])")
    ray.init(num_cpus=2, object_store_memory=100 * 2**20, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_backend_trains_a_few_hundred_steps_and_resubmits(ray_cluster, tmp_path):
    sim = functools.partial(flaky_sim, marker_dir=str(tmp_path), fail_first=1, always_fail=7)
    backend = RayBackend(2)
    model = _model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    buf = make_buffer("seen-reservoir", 64, 32)
    res = train_online(model, torch.nn.functional.mse_loss, opt, buf, sim, IndexParams(), n_simulations=100,
                       steps=300, batch_size=8, backend=backend, inserts_per_step=1, max_retries=1)
    backend.shutdown()
    assert ray_cluster.is_initialized()  # a cluster it did not start is left running
    assert res.steps == 300 and res.failed == [7] and res.resubmitted >= 2
    assert res.min_len_at_draw >= 32 and res.losses[-1] < res.losses[0]
    # the same run on the serial backend gives the same result: deterministic mode does not depend on the backend
    serial_model = _model()
    serial_res = train_online(serial_model, torch.nn.functional.mse_loss,
                              torch.optim.Adam(serial_model.parameters(), lr=1e-2),
                              make_buffer("seen-reservoir", 64, 32), sim, IndexParams(), n_simulations=100,
                              steps=300, batch_size=8, backend="serial", inserts_per_step=1, max_retries=1)
    assert serial_res.losses == res.losses


def test_missing_ray_gives_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r"pip install basiskit\[dist\]"):
        require_ray()
    with pytest.raises(ImportError, match=r"basiskit\[dist\]"):
        RayBackend(2).start()


# ---- bad inputs ---------------------------------------------------------------------------------
def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="policy"):
        make_buffer("lifo", 10, 5)
    with pytest.raises(ValueError, match="watermark must be <= 10"):
        FIROBuffer(10, 11)
    with pytest.raises(ValueError, match="capacity must be >= 1"):
        ReservoirBuffer(0, 1)
    with pytest.raises(TypeError, match="capacity must be an int"):
        ReservoirBuffer(2.5, 1)
    with pytest.raises(ValueError, match="max_uses"):
        FIROBuffer(10, 5, max_uses=0)
    buf = FIROBuffer(10, 1)
    buf.put(*_sample(0))
    with pytest.raises(ValueError, match="shapes must not change"):
        buf.put(torch.zeros(2), torch.zeros(2))
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        buf.put([1.0], torch.zeros(2))
    with pytest.raises(ValueError, match="batch_size"):
        buf.sample(0)
    with pytest.raises(ValueError, match="policy 'firo'"):
        make_buffer("reservoir", 10, 1).load_state_dict(buf.state_dict())
    with pytest.raises(ValueError, match="backend"):
        make_backend("mpi")
    with pytest.raises(ValueError, match="n_workers"):
        ProcessBackend(0)
    with pytest.raises(ValueError, match="high > low"):
        UniformParameters(torch.ones(2), torch.zeros(2))
    with pytest.raises(TypeError, match="OnlineBuffer"):
        _train([], 10)
    with pytest.raises(ValueError, match="steps"):
        _train(FIROBuffer(8, 4), 0)
    with pytest.raises(UsageError, match="checkpoint_dir"):
        _train(FIROBuffer(8, 4), 5, checkpoint_every=2)
    with pytest.raises(TypeError, match="callables"):
        SimulationStream("heat", IndexParams(), 3, SerialBackend())


def test_a_simulator_returning_bad_shapes_counts_as_a_failed_simulation(caplog):
    def bad(params):
        return torch.zeros(3, 2), torch.zeros(4, 2)

    stream = SimulationStream(bad, IndexParams(), 2, SerialBackend(), max_retries=0)
    with caplog.at_level(logging.ERROR, logger="basiskit.train.online"):
        assert stream.next_sample(block=True) is None
    assert stream.failed == [0, 1] and "same n" in caplog.text
