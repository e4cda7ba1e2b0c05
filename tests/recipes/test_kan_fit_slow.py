"""kan-fit at quick size, end to end, seeds fixed (slow: ``make test-slow``). The quick accuracy claims that are met
are asserted; the two that are not met at this size (docs/kan.md, "kan-fit against pykan") are strict xfails, so
the day they are met this file fails and the claim's status has to be updated in the docs."""
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
    assert m["seeds"] == 3 and m["kan_params"] == 366
    if PYKAN:
        assert "kan_rmse <= 1.5 x pykan_rmse" in claims and "kan_cpu_seconds <= 0.2 x pykan_cpu_seconds" in claims
        assert {f"pykan_rmse_grid{g}" for g in (3, 5, 10, 20)} <= set(m)
        assert m["pykan_cpu_seconds"] > 0 and m["kan_cpu_seconds"] > 0
    else:
        assert m["pykan_skipped"].startswith("pykan is not installed")
        assert not any("pykan" in c for c in claims)


@pytest.mark.slow
@pytest.mark.xdist_group("kan-fit")
@pytest.mark.xfail(strict=True, reason="not met at quick size: median test RMSE 2.7e-3 against 1e-3 (docs/kan.md)")
def test_kan_fit_quick_rmse_below_1e3(quick_run):
    claims, _ = _claims(quick_run)
    assert claims["kan_rmse < 0.001"]["met"], claims["kan_rmse < 0.001"]


@pytest.mark.slow
@pytest.mark.xdist_group("kan-fit")
@pytest.mark.skipif(not PYKAN, reason="pykan (peers extra) not installed")
@pytest.mark.xfail(strict=True, reason="not met at quick size: median RMSE 4.9x pykan's (docs/kan.md)")
def test_kan_fit_quick_within_1p5x_pykan(quick_run):
    claims, _ = _claims(quick_run)
    assert claims["kan_rmse <= 1.5 x pykan_rmse"]["met"], claims["kan_rmse <= 1.5 x pykan_rmse"]
