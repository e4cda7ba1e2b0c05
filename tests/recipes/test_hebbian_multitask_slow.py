"""The hebbian-multitask recipe at quick size, end to end, seed fixed: each quick claim pinned (slow)."""
import pytest


@pytest.mark.slow
@pytest.mark.xdist_group("hebbian-multitask")
def test_hebbian_multitask_quick_meets_its_claims(quick_run):
    run_dir, record = quick_run("hebbian-multitask")
    assert {p.name for p in run_dir.glob("*.png")} == {"amplitudes_over_d.png", "supervised_minus_unsupervised.png"}
    claims = {c["claim"]: c for c in record["claims"]}
    assert set(claims) == {"sup_hier_max_dev <= 0.05", "unsup_hier_max_dev <= 0.05",
                           "sup_parallel_spread <= 0.05", "unsup_parallel_spread <= 0.05",
                           "sup_unsup_max_diff <= 0.03"}
    assert all(c["met"] for c in claims.values()), claims
    m = record["metrics"]
    # the check can fail: the hierarchical ansatz itself is far from equal amplitudes at d = 0.8
    assert m["hier_ansatz_spread_at_d_parallel"] == pytest.approx(0.072)
    # hierarchy at d = 0.2: clearly ordered amplitudes, the first one the fraction of non-blank entries
    assert m["sup_hier_m1"] > 0.75 and m["sup_hier_m2"] < 0.25 and m["sup_hier_m3"] < 0.06
