"""kan-fit's pieces: claims with and without pykan, the config check, a tiny run without pykan, pykan's loop."""
from __future__ import annotations

import json

import pytest
import torch

from basiskit import UsageError
from basiskit.recipes import get, kan_fit, run_recipe
from basiskit.recipes.kan_fit import KanFitConfig, pykan_missing, target, train_pykan

TINY = {"grids": "3,5", "steps_per_grid": "3", "n_train": "64", "n_test": "32", "seeds": "1", "mlp_depth": "1"}


def test_pykan_claims_only_when_pykan_imports(monkeypatch):
    spec = get("kan-fit")
    cfg = spec.config(quick=True)
    monkeypatch.setattr(kan_fit, "pykan_missing", lambda: "pykan is not installed")
    without = [c.describe() for c in spec.claims_for(cfg)]
    assert without == ["kan_rmse < 0.001", "rmse_falls_each_grid == 1", "mlp_rmse > kan_rmse"]
    monkeypatch.setattr(kan_fit, "pykan_missing", lambda: None)
    with_pykan = spec.claims_for(cfg)
    assert [c.describe() for c in with_pykan[3:]] == ["kan_rmse <= 1.5 x pykan_rmse",
                                                     "kan_cpu_seconds <= 0.2 x pykan_cpu_seconds"]
    assert with_pykan[4].timing and not with_pykan[3].timing
    cfg.pykan = False
    assert len(spec.claims_for(cfg)) == 3


def test_pykan_needs_its_lbfgs_iterations():
    with pytest.raises(UsageError, match=r"lbfgs_iters=10 with pykan=true"):
        get("kan-fit").config(quick=True, overrides={"lbfgs_iters": "10"})
    assert get("kan-fit").config(quick=True, overrides={"lbfgs_iters": "10", "pykan": "false"}).lbfgs_iters == 10


def test_tiny_run_without_pykan_reports_ours_alone(tmp_path):
    res = run_recipe("kan-fit", overrides={**TINY, "pykan": "false"}, out=tmp_path, progress=False, verbose=False)
    assert res.status == "ok", res
    record = json.loads((res.run_dir / "metrics.json").read_text())
    m = record["metrics"]
    assert m["pykan_skipped"] == "pykan=false"
    assert not any(k.startswith("pykan_rmse") for k in m)
    assert {c["metric"] for c in record["claims"]} == {"kan_rmse", "rmse_falls_each_grid", "mlp_rmse"}
    assert m["kan_rmse_grid3"] > 0 and m["kan_rmse_grid5"] > 0 and m["seeds"] == 1
    assert (res.run_dir / "rmse_vs_grid.png").exists()


@pytest.mark.skipif(pykan_missing() is not None, reason="pykan (peers extra) not installed")
def test_pykan_loop_on_tiny_data_keeps_torch_state():
    cfg = KanFitConfig(grids=(3, 5), steps_per_grid=2, n_train=64, n_test=32, seeds=1)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(64, 2, generator=g, dtype=torch.float64) * 2 - 1
    xt = torch.rand(32, 2, generator=g, dtype=torch.float64) * 2 - 1
    torch.manual_seed(123)
    before = torch.get_rng_state()
    rows, (wall, cpu) = train_pykan(cfg, 0, (x, target(x)), xt, target(xt))
    assert [r["grid"] for r in rows] == [3, 5] and all(r["test_rmse"] < 1.0 for r in rows)
    assert wall > 0 and cpu > 0
    assert torch.equal(torch.get_rng_state(), before)  # pykan's LBFGS reseeds torch; the recipe restores it
    assert torch.get_default_dtype() == torch.float32
