"""The chaos-benchmark recipe: its config's bad inputs (fast) and its quick run end to end (slow)."""
import math

import pytest

from basiskit import UsageError
from basiskit.recipes.core import RECIPES


def test_config_rejects_unknown_names_and_too_few_systems():
    spec = RECIPES.get("chaos-benchmark")
    cfg = spec.config(quick=True)
    assert len(cfg.systems) == 8 and cfg.models == ("persistence", "nvar", "esn")
    with pytest.raises(UsageError, match="did you mean 'Lorenz'"):
        spec.config(overrides={"systems": "Lorenz,Rossler,Lorenx"})
    with pytest.raises(UsageError, match="did you mean 'nvar'"):
        spec.config(overrides={"models": "nvr"})
    with pytest.raises(UsageError, match="at least 3 systems"):
        spec.config(overrides={"systems": "Lorenz,Rossler"})
    with pytest.raises(UsageError, match="horizon must be > 0"):
        spec.config(overrides={"horizon": "0"})
    assert [c.metric for c in spec.claims_for(cfg)] == ["lorenz_lyapunov_rel_err", "spearman"]


@pytest.mark.slow
@pytest.mark.xdist_group("chaos-benchmark")
def test_chaos_benchmark_quick_run(quick_run):
    # Quick: Lorenz's exponent is met (0.4% off 0.9056). The Spearman claim (>= 0.3, the full-size claim) is
    # NOT met on the 8 quick systems (-0.64, interval [-1.00, 0.06]) nor at full size (0.23, [-0.06, 0.49]): the
    # mean over the forecasters is pulled down by persistence, whose error tracks the oscillation's amplitude, not
    # the exponent (docs/dynamics.md). Pinned here: the run is finite, the interval brackets the estimate,
    # the two learned forecasters beat persistence on the median system by a wide margin, and our own exponents
    # rank the 8 systems as the reference values do.
    run_dir, result = quick_run("chaos-benchmark")
    metrics = result["metrics"]
    claims = {c["metric"]: c for c in result["claims"]}
    assert (run_dir / "smape_vs_lyapunov.png").is_file()
    assert claims["lorenz_lyapunov_rel_err"]["met"], claims
    assert abs(metrics["lorenz_lyapunov"] - 0.9056) < 0.02
    rho = claims["spearman"]["value"]
    assert math.isfinite(rho) and metrics["spearman_low"] <= rho <= metrics["spearman_high"]
    assert len(metrics["smape"]) == 8
    for model in ("nvar", "esn"):
        assert metrics[f"median_smape_{model}"] < 0.2 * metrics["median_smape_persistence"]
    assert metrics["reference_vs_computed_spearman"] > 0.9
    assert metrics["lyapunov_computed"]["QiChen"] == pytest.approx(4.028, rel=0.05)
