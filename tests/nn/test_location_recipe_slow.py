"""The location-encoder recipe at its quick size (slow): what its seeded run shows, pinned with margins.

Neither claim is met at the paper's data size (docs/representations.md): SIREN(SH) ties the tuned grid
baseline overall (+0.3 points against the +2 asked) and leads by 3.9 points above 70 degrees (against +5); its
lead is largest in the caps above 80 degrees. These tests pin what holds, so a regression shows.
"""
import pytest


@pytest.mark.slow
@pytest.mark.xdist_group("location-encoder")
def test_location_encoder_quick_figures(quick_run):
    _, m = quick_run("location-encoder")
    claims = {c["claim"]: c for c in m["claims"]}
    assert set(claims) == {"sh_siren_acc >= grid_mlp_acc + 2", "sh_siren_polar_acc >= grid_mlp_polar_acc + 5"}
    mm = m["metrics"]
    # both models fit the training set; the comparison is about generalisation
    assert mm["sh_siren_train_acc"] > 99.0 and mm["grid_mlp_acc"] > 93.0
    # overall: a tie within one point (observed +0.28)
    assert mm["sh_siren_acc"] >= mm["grid_mlp_acc"] - 1.0, (mm["sh_siren_acc"], mm["grid_mlp_acc"])
    # above 70 degrees: SIREN(SH) ahead by >= 2 points (observed +3.9), and by more in the caps above 80
    assert mm["polar_acc_gain"] >= 2.0, mm["polar_acc_gain"]
    assert mm["sh_siren_cap_acc"] - mm["grid_mlp_cap_acc"] >= 4.0, (mm["sh_siren_cap_acc"], mm["grid_mlp_cap_acc"])
    # the baseline's best wavelength is inside the sweep (1, 3, 10, 30 degrees), not on its edge
    assert mm["grid_mlp_best_min_radius"] in (3.0, 10.0), mm["grid_mlp_best_min_radius"]
