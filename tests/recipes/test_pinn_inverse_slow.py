"""The pinn-inverse recipe at quick size, end to end, seed fixed: each quick claim pinned (slow: ``make test-slow``)."""
import math

import pytest


@pytest.mark.slow
@pytest.mark.xdist_group("pinn-inverse")
def test_pinn_inverse_quick_meets_its_claims(quick_run):
    run_dir, record = quick_run("pinn-inverse")
    assert {p.name for p in run_dir.glob("*.png")} == {"nu_curves.png", "loss_curves.png", "solutions.png"}
    claims = {c["claim"]: c for c in record["claims"]}
    assert set(claims) == {"clean_nu_rel_error <= 0.05", "noisy_nu_rel_error <= 0.1"}
    assert all(c["met"] for c in claims.values()), claims
    m = record["metrics"]
    assert math.isclose(m["nu_true"], 0.01 / math.pi)
    # both solves moved nu from the guess (3.1x the truth) to within the claims, and fit the field
    for name in ("clean", "noisy"):
        assert abs(m[f"{name}_nu"] / m["nu_true"] - 1) == pytest.approx(m[f"{name}_nu_rel_error"])
        assert m[f"{name}_rel_l2"] < 5e-2
