"""The mip and evonorm recipes at quick size, seed 0: each quick claim that is met stays met, the ones that are
not (NOT_MET_AT_QUICK in test_quick_runs.py, evidence in docs/representations.md) are evaluated and
stay what the docs say they are (slow)."""
import math

import pytest


def _claims(quick_run, name):
    run_dir, record = quick_run(name)
    assert list(run_dir.glob("*.png")), f"{name} saved no plot"
    return record["metrics"], {c["claim"]: c for c in record["claims"]}


@pytest.mark.slow
@pytest.mark.xdist_group("mip")
def test_mip_quick_claims(quick_run):
    metrics, claims = _claims(quick_run, "mip")
    assert claims["steps_ratio <= 0.5"]["met"], claims["steps_ratio <= 0.5"]
    spread = claims["mip_spread < base_spread"]
    assert spread["value"] is not None and math.isfinite(spread["value"]) and spread["target"] > 0
    for label in ("base", "mip"):
        assert metrics[f"{label}_lr"] in (3e-4, 1e-3, 3e-3, 1e-2)     # each at its own best swept rate
        assert 0 < metrics[f"{label}_final_excess"] < 1e-3              # both trained far below the start (~5e-2)


@pytest.mark.slow
@pytest.mark.xdist_group("evonorm")
def test_evonorm_quick_claims(quick_run):
    metrics, claims = _claims(quick_run, "evonorm")
    assert claims["s0_acc_large >= bn_acc_large - 2"]["met"], claims
    assert claims["s0_batch_dependence == 0"]["met"] and metrics["s0_batch_dependence"] == 0.0
    assert metrics["bn_batch_dependence"] > 0.0      # BatchNorm's output does depend on the rest of the batch
    # batch 2: the +3 point claim is not met here (a tie, docs/representations.md); both models train
    assert min(metrics["s0_acc_small"], metrics["bn_acc_small"]) > 90.0
    assert abs(metrics["s0_acc_small"] - metrics["bn_acc_small"]) <= 2.0
