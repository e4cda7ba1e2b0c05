"""The deeponet recipe at quick size, end to end, seed fixed: each quick claim pinned (slow: ``make test-slow``)."""
import pytest


@pytest.mark.slow
@pytest.mark.xdist_group("deeponet")
def test_deeponet_quick_meets_its_claims(quick_run):
    run_dir, record = quick_run("deeponet")
    assert {"antiderivative_test_error.png", "diffusion_reaction_sample.png",
            "physics_informed_loss.png"} <= {p.name for p in run_dir.glob("*.png")}
    claims = {c["metric"]: c for c in record["claims"]}
    assert set(claims) == {"antiderivative_rel_l2", "diffusion_reaction_rel_l2", "pi_antiderivative_rel_l2"}
    assert all(c["met"] for c in claims.values()), claims
    m = record["metrics"]
    # the FNO beside it is trained, not a strawman: well below the trivial error 1 of a zero prediction
    assert m["fno_antiderivative_rel_l2"] < 0.05
