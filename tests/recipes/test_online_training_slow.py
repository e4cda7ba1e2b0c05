"""The online-training recipe at quick size, end to end, seed fixed: the quick claim pinned (slow: ``make test-slow``).

The online runs are deterministic (the trainer waits for the next simulation in order), so the figures do not
depend on the backend or the machine's load; the throughputs are timings: reported, not asserted beyond being
measured."""
import math

import pytest


@pytest.mark.slow
@pytest.mark.xdist_group("online-training")
def test_online_training_quick_meets_its_claim(quick_run):
    run_dir, record = quick_run("online-training")
    assert {p.name for p in run_dir.glob("*.png")} == {"training_loss.png", "prediction.png"}
    claims = {c["claim"]: c for c in record["claims"]}
    assert set(claims) == {"online_test_mse <= 0.7 x offline_test_mse"}
    assert all(c["met"] for c in claims.values()), claims
    m = record["metrics"]
    assert m["n_simulations_online"] == 300 and m["n_simulations_offline"] == 20
    # every policy ran all its steps, never below the watermark, with no simulation lost
    for key in ("firo", "reservoir", "seen_reservoir"):
        assert m[f"{key}_steps"] == 1500 and m[f"{key}_min_len_at_draw"] >= 200
        assert m[f"{key}_failed_simulations"] == 0
        assert m[f"{key}_test_mse"] < m["offline_test_mse"]
    # FIRO uses each sample batch_size / inserts_per_step = 8 times; classic reservoir leaves most samples unseen
    assert m["firo_seen_max"] == 8 and m["firo_unseen_fraction"] == 0
    assert m["reservoir_unseen_fraction"] > 0.5 and m["seen_reservoir_unseen_fraction"] < 0.01
    # the offline set is fitted far better than the test set: it overfits (the effect the claim is about)
    assert m["offline_train_mse"] < 0.2 * m["offline_test_mse"]
    assert m["process_samples_per_s"] > 0
    assert m["ray_samples_per_s"] > 0 or math.isnan(m["ray_samples_per_s"])  # nan only where Ray is missing
