"""The gahb recipe at quick size, end to end, seed fixed: each quick claim pinned (slow: ``make test-slow``)."""
import pytest


@pytest.mark.slow
@pytest.mark.xdist_group("gahb")
def test_gahb_quick_meets_its_claims(quick_run):
    run_dir, record = quick_run("gahb")
    assert {p.name for p in run_dir.glob("*.png")} == {"psnr_gap.png", "similarity.png", "samples.png",
                                                      "jacobian_eigenvectors.png"}
    claims = {c["claim"]: c for c in record["claims"]}
    assert set(claims) == {"psnr_gap_n1 >= 3", "own_similarity_n1 >= 0.95", "cross_similarity_n1 <= 0.7",
                           "psnr_gap_n2500 <= 0.5", "cross_similarity_n2500 >= 0.9"}
    m = record["metrics"]
    # the bias-free network is exactly the linear map of its Jacobian at the image (float32 rounding only)
    assert m["euler_residual"] < 1e-4
    assert len(m["top_eigenvalues"]) == 8
    # the claims met at quick size, pinned with the fixed seed; cross_similarity_n2500 (0.867 against >= 0.9) is
    # not met at quick size (see the recipe docstring): held above 0.8 so that a broken sampler or training shows
    for name in ("psnr_gap_n1 >= 3", "own_similarity_n1 >= 0.95", "cross_similarity_n1 <= 0.7",
                 "psnr_gap_n2500 <= 0.5"):
        assert claims[name]["met"], claims[name]
    assert m["cross_similarity_n2500"] > 0.8
    assert m["own_similarity_n1"] > m["own_similarity_n2500"]  # memorised samples sit closer to training images
