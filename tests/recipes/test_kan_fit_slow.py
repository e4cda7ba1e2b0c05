"""kan-fit at quick size, end to end, seeds fixed (slow: ``make test-slow``). Every quick accuracy claim is asserted
but the comparison with pykan (when the peers extra is installed), a near tie at quick size that the thread count
decides; it is held within 2x instead. The CPU-time claim is reported, not asserted."""
import pytest

from basiskit.recipes.kan_fit import pykan_missing

PYKAN = pykan_missing() is None


def _claims(quick_run) -> tuple[dict, dict]:
    _, record = quick_run("kan-fit")
    return {c["claim"]: c for c in record["claims"]}, record["metrics"]


@pytest.mark.slow
@pytest.mark.xdist_group("kan-fit")
def test_kan_fit_quick_met_claims(quick_run):
    run_dir, _ = quick_run("kan-fit")
    claims, m = _claims(quick_run)
    assert {p.name for p in run_dir.glob("*.png")} == {"rmse_vs_grid.png", "rmse_vs_params.png"}
    assert claims["rmse_falls_each_grid == 1"]["met"], claims
    assert claims["mlp_rmse > kan_rmse"]["met"], claims
    assert m["seeds"] == 3 and m["kan_params"] == 360  # no biases: pykan's layout
    if PYKAN:
        assert "kan_rmse <= 1.5 x pykan_rmse" in claims and "kan_cpu_seconds <= 0.2 x pykan_cpu_seconds" in claims
        assert {f"pykan_rmse_grid{g}" for g in (3, 5, 10, 20)} <= set(m)
        assert m["pykan_cpu_seconds"] > 0 and m["kan_cpu_seconds"] > 0
    else:
        assert m["pykan_skipped"].startswith("pykan is not installed")
        assert not any("pykan" in c for c in claims)


@pytest.mark.slow
@pytest.mark.xdist_group("kan-fit")
def test_kan_fit_quick_rmse_below_1e3(quick_run):
    claims, _ = _claims(quick_run)
    assert claims["kan_rmse < 0.001"]["met"], claims["kan_rmse < 0.001"]


@pytest.mark.slow
@pytest.mark.xdist_group("kan-fit")
@pytest.mark.skipif(not PYKAN, reason="pykan (peers extra) not installed")
def test_kan_fit_quick_close_to_pykan(quick_run):
    # A near tie at quick size that the thread count decides (tests/recipes/test_quick_runs.py, NOT_MET_AT_QUICK):
    # ours 5.7e-4 at one or two threads, pykan's median 6.1e-4 at two threads and 3.4e-4 to 3.6e-4 at one. Met at
    # full size (0.79x, 0.97x). Pinned here: ours stays within 2x of pykan's, the accuracy bug (4.9x before) does not come back.
    _, m = _claims(quick_run)
    assert m["kan_rmse"] <= 2.0 * m["pykan_rmse"], (m["kan_rmse"], m["pykan_rmse"])
