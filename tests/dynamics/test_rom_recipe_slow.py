"""The rom-clusters recipe at quick size, end to end: every claim met with the fixed seed (slow)."""
import pytest


@pytest.mark.slow
@pytest.mark.xdist_group("rom-clusters")
def test_rom_clusters_quick_meets_its_claims(quick_run):
    run_dir, result = quick_run("rom-clusters")
    assert {p.name for p in run_dir.glob("*.png")} == {"burgers_projection_error.png",
                                                      "advection_projection_error.png"}
    claims = result["claims"]
    assert len(claims) == 6 and all(c["met"] for c in claims), claims
    m = result["metrics"]
    for p in ("burgers", "advection"):
        # reference: a global POD with the local bases' total number of modes (20) is better still
        assert m[f"{p}_global_kr_error"] < m[f"{p}_sine_error"]
        assert m[f"{p}_aposteriori_test_error"] < m[f"{p}_global_test_error"]
