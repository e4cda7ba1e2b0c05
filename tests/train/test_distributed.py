"""Real 2-process runs under torchrun (gloo on CPU)."""
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

ENV = {**os.environ, "BASISKIT_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
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
