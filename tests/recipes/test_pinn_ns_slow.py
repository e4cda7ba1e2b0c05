"""The pinn-ns recipe at quick size, end to end, seed fixed: each quick claim pinned (slow: ``make test-slow``)."""
import pytest


@pytest.mark.slow
@pytest.mark.xdist_group("pinn-ns")
def test_pinn_ns_quick_meets_its_claims(quick_run):
    run_dir, record = quick_run("pinn-ns")
    assert {p.name for p in run_dir.glob("*.png")} == {"loss.png", "fields.png"}
    claims = {c["claim"]: c for c in record["claims"]}
    assert set(claims) == {"velocity_rel_l2 <= 0.05"}
    assert all(c["met"] for c in claims.values()), claims
    m = record["metrics"]
    assert m["u_rel_l2"] < 5e-2 and m["v_rel_l2"] < 1e-1
    assert m["p_rel_l2_mean_removed"] < 1e-1
