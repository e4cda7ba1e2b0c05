"""Recipes gp-hm, pig, lpinn, pinn-remedies at their quick size (slow, seed 0, deterministic): each accuracy claim
is pinned as met (a claim that does not reproduce at quick size is asserted as measured instead, and said so);
timing claims are reported, not asserted. docs/physics.md has the figures."""
import math

import pytest


def _quick(name, quick_run):
    _, m = quick_run(name)
    return m["metrics"], {c["claim"]: c for c in m["claims"]}


@pytest.mark.slow
@pytest.mark.xdist_group("gp-hm")
def test_gp_hm_quick_meets_both_1d_claims(quick_run):
    m, claims = _quick("gp-hm", quick_run)
    assert claims["rel_l2_1d <= 0.01"]["met"], m["rel_l2_1d"]
    assert claims["dominant_freq_rel_err_1d <= 0.05"]["met"], m["dominant_freq_1d"]
    # seconds_2d is measured (real optimiser steps), reported not asserted
    assert m["seconds_2d"] > 0 and math.isfinite(m["seconds_2d"])
    assert m["steps_2d_timed"] >= 1


@pytest.mark.slow
@pytest.mark.parametrize("name, ours", [pytest.param("lpinn", "lpinn_rel_l2", marks=pytest.mark.xdist_group("lpinn")),
                                        pytest.param("pinn-remedies", "ff_rel_l2",
                                                     marks=pytest.mark.xdist_group("pinn-remedies"))])
def test_ours_meets_its_accuracy_and_beats_the_tuned_baseline_tenfold(name, ours, quick_run):
    m, claims = _quick(name, quick_run)
    target = {"lpinn": 0.05, "pinn-remedies": 0.01}[name]
    assert claims[f"{ours} <= {target:g}"]["met"], m[ours]
    ratio = claims[f"{ours} <= 0.1 x pinn_best_rel_l2_during_training"]
    assert ratio["met"], (m[ours], m["pinn_best_rel_l2_during_training"])
    assert math.isfinite(m["pinn_loss_change_last10"])


@pytest.mark.slow
@pytest.mark.xdist_group("pig")
def test_pig_quick_claims(quick_run):
    m, claims = _quick("pig", quick_run)
    # 3.1e-3 at seed 0 (0.7e-3 to 3.1e-3 over seeds 0-3, docs/physics.md) against the paper-scale 1e-2
    assert claims["pig_rel_l2 <= 0.01"]["met"], m["pig_rel_l2"]
    ratio = claims["pig_rel_l2 <= 0.1 x pinn_best_rel_l2_during_training"]
    assert ratio["met"], (m["pig_rel_l2"], m["pinn_best_rel_l2_during_training"])
    assert math.isfinite(m["pinn_loss_change_last10"])
