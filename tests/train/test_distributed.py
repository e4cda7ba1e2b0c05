"""Real 2-process runs under torchrun (gloo on CPU), and the process-group teardown."""
import json
import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from basiskit.train import distributed as dist_utils

# The scripts run from tmp_path: put this checkout first on their path, so they import the basiskit under
# test rather than whichever copy the environment has installed.
ROOT = str(Path(__file__).resolve().parents[2])
ENV = {**os.environ, "BASISKIT_PROGRESS": "0", "OMP_NUM_THREADS": "1",
       "PYTHONPATH": os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)}
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed not built")


def test_fit_under_ddp_keeps_ranks_identical_and_learns(tmp_path):
    script = tmp_path / "ddp_fit.py"
    script.write_text(textwrap.dedent(f"""
        import json, torch
        from torch import nn
        from basiskit.train import RunContext, fit
        from basiskit.train import distributed as d
        d.init_from_env("cpu")
        ctx = RunContext({str(tmp_path / "run")!r}, seed=0, progress=False)
        g = torch.Generator().manual_seed(0)
        x = torch.rand(256, 2, generator=g)
        y = torch.sin(4 * x[:, :1]) * x[:, 1:]
        torch.manual_seed(d.rank())  # different initial weights per rank: DDP must broadcast rank 0's
        model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
        res = fit(model, nn.MSELoss(), (x, y), steps=40, batch_size=32, lr=1e-2, ctx=ctx, name="net")
        # objective mode through a bound method that ignores the wrapper: gradients must still be averaged
        torch.manual_seed(10 + d.rank())
        other = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
        xr = torch.rand(64, 2) + d.rank()  # different data per rank
        obj = lambda _m: ((other(xr) - 1.0) ** 2).mean()
        fit(other, objective=obj, steps=15, lr=1e-2, ctx=ctx, name="obj")
        flat_obj = torch.cat([p.detach().flatten() for p in other.parameters()]).tolist()
        flat = torch.cat([p.detach().flatten() for p in model.parameters()]).tolist()
        losses = res.curve("loss")[1]
        json.dump({{"params": flat, "obj_params": flat_obj, "first": losses[0], "last": losses[-1], "world": d.world_size()}},
                  open({str(tmp_path)!r} + f"/rank{{d.rank()}}.json", "w"))
        d.shutdown()
    """))
    proc = subprocess.run(TORCHRUN + [str(script)], capture_output=True, text=True, env=ENV, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0["world"] == r1["world"] == 2
    assert r0["params"] == r1["params"]
    assert r0["obj_params"] == r1["obj_params"]
    assert r0["last"] < r0["first"] and r0["last"] == pytest.approx(r1["last"])  # losses averaged over ranks
    assert (tmp_path / "run" / "checkpoint" / "net" / "latest").is_file()


def test_cli_run_under_torchrun_writes_one_run_folder(tmp_path):
    out = tmp_path / "runs"
    proc = subprocess.run(TORCHRUN + ["-m", "basiskit", "run", "mlp-regression", "--quick", "--set", "steps=100",
                                      "--out", str(out), "--no-progress"],
                          capture_output=True, text=True, env=ENV, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = list((out / "mlp-regression").iterdir())
    assert len(runs) == 1
    m = json.loads((runs[0] / "metrics.json").read_text())
    cfg = (runs[0] / "config.yaml").read_text()
    assert m["status"] == "ok" and "world_size: 2" in cfg


def test_resume_under_ddp_restores_each_ranks_own_rng(tmp_path):
    script = tmp_path / "ddp_rng.py"
    script.write_text(textwrap.dedent(f"""
        import json, sys, torch
        from torch import nn
        from basiskit.train import RunContext, fit
        from basiskit.train import distributed as d
        d.init_from_env("cpu")
        resume = sys.argv[1] == "resume"
        ctx = RunContext({str(tmp_path / "run")!r}, seed=0, progress=False, resume=resume)
        torch.manual_seed(100 + d.rank())  # per-rank streams (e.g. dropout masks that differ across ranks)
        model = nn.Linear(2, 1)
        obj = lambda m: (m(torch.rand(8, 2)) ** 2).mean()  # draws from each rank's stream
        fit(model, objective=obj, steps=6, lr=1e-2, ctx=ctx, name="net", checkpoint_every=3)
        draw = torch.rand(4).tolist()  # after a finished (or resumed-at-the-end) fit: the saved stream
        json.dump(draw, open({str(tmp_path)!r} + f"/{{sys.argv[1]}}{{d.rank()}}.json", "w"))
        d.shutdown()
    """))
    for mode in ("first", "resume"):
        proc = subprocess.run(TORCHRUN + [str(script), mode], capture_output=True, text=True, env=ENV, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
    draws = {(m, r): json.loads((tmp_path / f"{m}{r}.json").read_text()) for m in ("first", "resume") for r in (0, 1)}
    assert draws[("first", 0)] != draws[("first", 1)]
    assert draws[("resume", 0)] == draws[("first", 0)]
    assert draws[("resume", 1)] == draws[("first", 1)]


@pytest.fixture
def one_process_group():
    """A real gloo group of one process (in-memory store), torn down whatever the test does."""
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


@pytest.fixture
def barrier_calls(monkeypatch, one_process_group):
    """Make the group look like two ranks to ``shutdown`` and record its barrier calls."""
    calls = []
    monkeypatch.setattr(dist, "get_world_size", lambda group=None: 2)
    monkeypatch.setattr(dist, "monitored_barrier", lambda **kw: calls.append(kw))
    return calls


def test_shutdown_destroys_the_group_and_is_idempotent(one_process_group):
    dist_utils.shutdown()
    assert not dist.is_initialized() and not dist_utils.is_distributed()
    dist_utils.shutdown()  # nothing left to tear down: a no-op, not an error
    assert dist_utils.rank() == 0 and dist_utils.world_size() == 1


def test_shutdown_waits_for_every_rank_with_a_monitored_barrier_then_destroys(barrier_calls):
    dist_utils.shutdown(timeout_s=12.5)
    assert barrier_calls == [{"timeout": timedelta(seconds=12.5), "wait_all_ranks": True}]
    assert not dist.is_initialized()


def test_shutdown_on_an_exception_path_does_not_wait_for_peers(barrier_calls):
    with pytest.raises(KeyError, match="failed on this rank"):
        try:
            raise KeyError("failed on this rank")
        finally:
            dist_utils.shutdown()
    assert barrier_calls == [] and not dist.is_initialized()


def test_shutdown_keeps_the_group_when_a_peer_never_arrives(monkeypatch, barrier_calls):
    def missing_peer(**kw):
        raise RuntimeError("Rank 1 failed to pass monitoredBarrier in 0:00:01 ms")

    monkeypatch.setattr(dist, "monitored_barrier", missing_peer)
    with pytest.raises(RuntimeError, match="Rank 1 failed to pass monitoredBarrier"):
        dist_utils.shutdown(timeout_s=1.0)
    assert dist.is_initialized()  # an operation may still be pending on it: not destroyed under it
    dist_utils.shutdown(wait_for_peers=False)
    assert not dist.is_initialized()


def test_shutdown_at_exit_skips_the_barrier_after_an_uncaught_exception(monkeypatch, barrier_calls):
    monkeypatch.setattr(sys, "last_value", ValueError("uncaught"), raising=False)
    dist_utils._shutdown_at_exit()
    assert barrier_calls == [] and not dist.is_initialized()


def test_shutdown_at_exit_waits_for_peers_after_a_normal_end(monkeypatch, barrier_calls):
    monkeypatch.delattr(sys, "last_value", raising=False)
    dist_utils._shutdown_at_exit()
    assert len(barrier_calls) == 1 and not dist.is_initialized()
