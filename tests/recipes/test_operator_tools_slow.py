"""The sfno and uno recipes at quick size, seed fixed: what each run reports beyond its claims (slow: ``make
test-slow``; the claims themselves are pinned by test_quick_runs.py)."""
import pytest


@pytest.mark.slow
@pytest.mark.xdist_group("sfno")
def test_sfno_quick_reports_every_tilt_for_both_models(quick_run):
    run_dir, record = quick_run("sfno")
    m = record["metrics"]
    for name in ("sfno", "fno"):
        assert all(0 < m[f"{name}_rel_l2_tilt{t}"] < 1 for t in (0, 30, 60, 90))
    assert m["fno_lr"] in (3e-3, 1e-2) and m["sfno_lr"] == 3e-3
    assert {"error_vs_tilt.png", "tilt90_sample.png"} <= {p.name for p in run_dir.glob("*.png")}


@pytest.mark.slow
@pytest.mark.xdist_group("uno")
def test_uno_quick_matches_parameters_and_reports_both_errors(quick_run):
    _, record = quick_run("uno")
    m = record["metrics"]
    assert 0.9 <= m["param_ratio"] <= 1.1 and m["uno_rel_l2"] > 0 and m["fno_rel_l2"] > 0
