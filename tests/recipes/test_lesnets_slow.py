"""The lesnets recipe at quick size, end to end, seed fixed: each quick claim pinned (slow: ``make test-slow``)."""
import pytest


@pytest.mark.slow
@pytest.mark.xdist_group("lesnets")
def test_lesnets_quick_meets_its_claims(quick_run):
    run_dir, record = quick_run("lesnets")
    assert {p.name for p in run_dir.glob("*.png")} == {"error_over_window.png", "residual_loss.png",
                                                         "cs_squared.png", "window_end.png"}
    claims = {c["claim"]: c for c in record["claims"]}
    assert set(claims) == {"lesnet_rel_l2 < 0.1", "lesnet_rel_l2 <= 0.5 x persistence_rel_l2",
                           "cs_squared_rel_error < 0.2"}
    assert all(c["met"] for c in claims.values()), claims
    m = record["metrics"]
    # the snapshot term alone is minimised at the solver's constant (closed form), and the learned value is there
    assert abs(m["cs_squared_least_squares"] - 0.01) < 1e-4
    assert abs(m["cs_squared_learned"] - 0.01) < 0.002


@pytest.mark.parametrize("overrides, match", [
    ({"modes": 17}, "modes=17"), ({"resolution": 31}, "even"),
    ({"layout": "space-time", "time_modes": 7}, "time_modes"),
])
def test_lesnets_config_rejects_impossible_sizes(overrides, match):
    from basiskit.recipes.lesnets import LesnetsConfig

    with pytest.raises(ValueError, match=match):
        LesnetsConfig(**overrides).validate()
