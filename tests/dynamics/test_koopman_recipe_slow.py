"""The resdmd recipe at quick size, end to end: every claim met with the fixed seed (slow)."""
import pytest


@pytest.mark.slow
@pytest.mark.xdist_group("resdmd")
def test_resdmd_quick_meets_its_claims(quick_run):
    run_dir, result = quick_run("resdmd")
    assert (run_dir / "pendulum_pseudospectra.png").is_file()
    claims = {c["claim"]: c for c in result["claims"]}
    assert len(claims) == 9 and all(c["met"] for c in claims.values()), claims
    m = result["metrics"]
    assert m["poly_n_functions"] == 28 and m["poly_n_exact"] == 16
    # the pseudospectrum fills the band monotonically as the dictionary grows
    cover = [m[f"pendulum_coverage_n{n}"] for n in (25, 50, 100, 200)]
    assert cover == sorted(cover)
