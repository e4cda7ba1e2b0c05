"""The snnk, bandlimited and hierarchical-poly recipes at quick size, end to end (slow)."""
import pytest



def _run(name, quick_run):
    run_dir, metrics = quick_run(name)
    assert list(run_dir.glob("*.png"))
    return metrics["metrics"], {c["metric"]: c for c in metrics["claims"]}


@pytest.mark.slow
@pytest.mark.xdist_group("snnk")
def test_snnk_quick_meets_its_claims(quick_run):
    metrics, claims = _run("snnk", quick_run)
    assert all(c["met"] for c in claims.values()), claims
    for f in ("relu", "exp", "sin"):
        assert -1.2 <= metrics[f"slope_{f}"] <= -0.8


@pytest.mark.slow
@pytest.mark.xdist_group("bandlimited")
def test_bandlimited_quick_meets_its_claims(quick_run):
    metrics, claims = _run("bandlimited", quick_run)
    assert all(c["met"] for c in claims.values()), claims
    assert metrics["small_bw_rmse"] > 100 * metrics["large_bw_rmse"]


@pytest.mark.slow
@pytest.mark.xdist_group("hierarchical-poly")
def test_hierarchical_poly_quick_runs_and_reports(quick_run):
    # The claim (learner <= 0.5 x kernel at n = 4 d^2 for g = He_3) is NOT met at this size (quick: 0.95 vs
    # 1.00; full size, 3 seeds: 1.25 vs 1.00): the one-step feature of He_3(p) carries only p's excess kurtosis
    # (docs/kernels.md). What holds, seeded: the claim is evaluated on finite values, neither model learns the
    # degree-6 target at n <= 4 d^2 (both normalised MSEs near 1), and the recovered feature correlates with p.
    metrics, claims = _run("hierarchical-poly", quick_run)
    assert set(claims) == {"three_layer_nmse"} and claims["three_layer_nmse"]["value"] is not None
    assert 0.5 < metrics["three_layer_nmse"] < 1.5 and 0.5 < metrics["kernel_nmse"] < 1.5
    assert metrics["feature_corr_n1024"] > 0.1
