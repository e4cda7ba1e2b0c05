"""The gaunt recipe at quick size, end to end, seed fixed: each quick claim pinned (slow: ``make test-slow``)."""
import pytest


@pytest.mark.slow
@pytest.mark.xdist_group("gaunt")
def test_gaunt_quick_meets_its_claims(quick_run):
    run_dir, record = quick_run("gaunt")
    assert {p.name for p in run_dir.glob("*.png")} == {"errors.png", "product_maps.png"}
    claims = {c["claim"]: c for c in record["claims"]}
    assert set(claims) == {"gaunt_max_abs_error <= 1e-06", "equivariance_max_abs_error <= 1e-06",
                           "odd_path_max_abs <= 1e-10", "control_equivariance_error >= 0.001"}
    assert all(c["met"] for c in claims.values()), claims
    m = record["metrics"]
    assert m["max_degree"] == 10
    # the two tensor references agree, and the product expansion reproduces the pointwise product map
    assert m["reference_gap_max_abs"] < 1e-12
    assert m["map_product_max_abs_error"] < 1e-12
    assert m["equivariance_rotated_output_max_abs_error"] < 1e-12
