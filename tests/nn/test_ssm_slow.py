"""Recipe ``s4-ptd`` at its quick size, seed 0 (slow): the numerical claims it meets are pinned. The accuracy-match
claim is not met at quick size (PTD 3.9 points behind S4D) and the robustness claim at noise rms 0.5 is a near tie
(drops 4.8 vs 5.6 points; it went either way over seeds 0-2), so what holds over every seed and the full run is
pinned instead: both models learn the task, and PTD loses less accuracy than S4D at noise rms 1 and 2. The
recipe's docstring and docs/representations.md have the figures and what was tried."""
import warnings

import pytest


@pytest.mark.slow
@pytest.mark.xdist_group("s4-ptd")
def test_s4_ptd_quick(quick_run):
    _, m = quick_run("s4-ptd")
    x, met = m["metrics"], {c["claim"]: c["met"] for c in m["claims"]}
    assert met["kappa_naive >= 1e+15"]
    assert met["kappa_ptd <= 1e+06"]
    assert met["tf_err_ptd <= 0.1 x tf_err_s4d"]
    if not met["ptd_noise_drop <= s4d_noise_drop"]:
        warnings.warn(f"s4-ptd: noise drop at rms 0.5 PTD {x['ptd_noise_drop']:.1f} vs S4D {x['s4d_noise_drop']:.1f} "
                      "(a near tie at seed 0 here: 4.8 vs 5.6)", stacklevel=1)
    # measured at seed 0: accuracy PTD 92.4 vs S4D 96.3; drops at rms 1: 26.0 vs 34.7, at rms 2: 53.8 vs 71.0
    assert x["ptd_acc"] >= 90.0 and x["s4d_acc"] >= 90.0
    for level in ("1", "2"):
        assert x["ptd_acc"] - x[f"ptd_noisy_acc_{level}"] < x["s4d_acc"] - x[f"s4d_noisy_acc_{level}"]
