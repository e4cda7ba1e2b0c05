"""The kan-discovery recipe at quick size, end to end, seed fixed: its three claims pinned (slow:
``make test-slow``)."""
import pytest


@pytest.mark.slow
@pytest.mark.xdist_group("kan-discovery")
def test_kan_discovery_quick_meets_its_claims(quick_run):
    run_dir, record = quick_run("kan-discovery")
    assert {p.name for p in run_dir.glob("*.png")} == {"network.png", "sparse_network.png"}
    claims = {c["claim"]: c for c in record["claims"]}
    assert set(claims) == {"distractor_attribution_ratio <= 0.05", "formula_rel_rmse <= 0.001",
                           "save_load_max_abs_diff == 0"}
    assert claims["distractor_attribution_ratio <= 0.05"]["met"], claims
    assert claims["save_load_max_abs_diff == 0"]["met"], claims
    assert claims["formula_rel_rmse <= 0.001"]["met"], claims  # 4.3e-6 recorded (docs/kan.md)
    m = record["metrics"]
    assert m["kept_inputs"] == "[1, 2, 3]"  # attribution and prune_inputs drop exactly the distractors
