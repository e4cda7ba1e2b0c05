"""The afkan, karat and kat recipes at quick size, seed 0: each quick accuracy claim is met (slow).

Timing claims (kat's step_time_ratio) are reported by the run, not asserted here: shared machines are noisy.
"""
import pytest


def _claims(quick_run, name):
    run_dir, record = quick_run(name)
    assert list(run_dir.glob("*.png")), f"{name} saved no plot"
    return record["metrics"], {c["claim"]: c for c in record["claims"]}


@pytest.mark.slow
@pytest.mark.xdist_group("afkan")
def test_afkan_quick_accuracy_claims(quick_run):
    metrics, claims = _claims(quick_run, "afkan")
    assert claims["af_kan_acc >= relu_kan_acc"]["met"], claims
    # The paper's headline, AF-KAN >= MLP, is NOT met at this size once the MLP's learning rate is tuned: a tie
    # within one test digit (93.9 vs 94.0 at seed 0; docs/attention-tabular.md). What holds, seeded: the claim is
    # evaluated, and the two are within one point of each other, both far above the other KANs.
    mlp_claim = claims["af_kan_acc >= mlp_acc"]
    assert mlp_claim["value"] is not None and abs(metrics["af_kan_acc"] - metrics["mlp_acc"]) <= 1.0
    assert min(metrics["af_kan_acc"], metrics["mlp_acc"]) > max(metrics["relu_kan_acc"], metrics["bspline_kan_acc"])
    assert not any("time_ratio" in c for c in claims)    # training cost is reported, not claimed
    for name in ("mlp", "relu_kan", "bspline_kan", "af_kan"):
        assert 0.9 <= metrics[f"{name}_param_ratio"] <= 1.1
        assert metrics[f"{name}_lr"] in (1e-3, 3e-3, 1e-2, 3e-2)


@pytest.mark.slow
@pytest.mark.xdist_group("karat")
def test_karat_quick_accuracy_claims_against_a_trained_vit(quick_run):
    metrics, claims = _claims(quick_run, "karat")
    for claim in ("karat_blockwise_acc >= vit_acc - 1", "karat_universal_acc >= vit_acc - 1"):
        assert claims[claim]["met"], claims[claim]
    assert claims["memory_ratio <= 3"]["met"]
    # the baseline is trained at this budget: far above the 59% of the old 250-step run, and nearly flat over the
    # last fifth of its run (90.3 and +0.7 at seed 0)
    assert metrics["vit_acc"] >= 85.0 and metrics["vit_acc_gain_last_fifth"] <= 2.0


@pytest.mark.slow
@pytest.mark.xdist_group("kat")
def test_kat_quick_accuracy_claim(quick_run):
    metrics, claims = _claims(quick_run, "kat")
    assert claims["kat_test_acc >= vit_test_acc - 0.5"]["met"], claims
    assert metrics["kat_params"] > metrics["vit_params"]
