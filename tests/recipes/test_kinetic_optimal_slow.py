"""The kinetic-optimal recipe at quick size, end to end, seed fixed: each quick claim pinned (slow)."""
import pytest


@pytest.mark.slow
@pytest.mark.xdist_group("kinetic-optimal")
def test_kinetic_optimal_quick_meets_its_claims(quick_run):
    run_dir, record = quick_run("kinetic-optimal")
    assert {p.name for p in run_dir.glob("*.png")} == {"lambda.png", "energy.png", "energy_ratio.png",
                                                        "schedules.png", "fm_training.png", "fm_samples.png"}
    claims = {c["claim"]: c for c in record["claims"]}
    assert set(claims) == {"lambda_min_d4096 >= 0.95", "lambda_min_d2 <= 0.8", "energy_ratio_d4096 <= 1.02",
                           "energy_ratio_d2 >= 1.1"}
    assert all(c["met"] for c in claims.values()), claims
    m = record["metrics"]
    # lambda's minimum rises with d, and the KO path is never worse than cond-OT or cosine (3% Monte Carlo slack)
    dims = (2, 8, 32, 128, 512, 4096)
    mins = [m[f"lambda_min_d{d}"] for d in dims]
    assert mins == sorted(mins)
    for d in dims:
        assert m[f"energy_ratio_d{d}"] > 0.97 and m[f"energy_ratio_cosine_d{d}"] > 1.0
        assert m[f"energy_ko_d{d}"] == pytest.approx(m[f"energy_ko_solver_d{d}"], rel=0.1)
    # every flow-matching model produced finite samples with a finite MMD, the KO path solved on the 2-D data
    # has the lowest kinetic energy of the three
    for key in ("cond-ot", "vp-cosine", "kinetic-optimal"):
        assert 0 <= m[f"fm_{key}_mmd2"] < 0.2 and m[f"fm_{key}_nfe"] > 0
    assert m["fm_energy_kinetic-optimal"] < min(m["fm_energy_cond-ot"], m["fm_energy_vp-cosine"])
