"""The spon recipe at quick size, end to end, seed fixed: each quick claim pinned (slow: ``make test-slow``)."""
import pytest

pytest.importorskip("skfem", reason="scikit-fem (the fem extra) is not installed")


@pytest.mark.slow
@pytest.mark.xdist_group("spon")
def test_spon_quick_meets_its_claims(quick_run):
    run_dir, record = quick_run("spon")
    assert {p.name for p in run_dir.glob("*.png")} == {"spon_learning_curve.png", "baseline_learning_curve.png",
                                                       "error_vs_refinement.png", "sample_finest_mesh.png"}
    claims = {c["claim"]: c for c in record["claims"]}
    assert set(claims) == {"spon_bc_error <= 1e-12", "baseline_bc_error > 0.001", "spon_rel_l2 < 0.05",
                           "spon_refine_ratio <= 1.5"}
    assert all(c["met"] for c in claims.values()), claims
    m = record["metrics"]
    # L-shape, P1, ~500 solves on the training mesh and two refinements (each ~4x the degrees of freedom)
    assert (m["n_dofs_level4"], m["n_dofs_level5"], m["n_dofs_level6"]) == (833, 3201, 12545)
    assert m["solves"] == 600
    # the lifting is exact on every mesh, the trained model is below 5% on both refinements too
    assert m["spon_bc_error_level5"] == 0.0 and m["spon_bc_error_level6"] == 0.0
    assert max(m["spon_rel_l2_level5"], m["spon_rel_l2_level6"]) < 0.05
