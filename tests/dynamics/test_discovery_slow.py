"""Recipe ``medida`` at its quick size, seed 0 (slow): the claims it meets are pinned; the sparse-RFF claim is not
met at quick size (docs/dynamics.md has the figures), so what does hold is pinned instead."""
import pytest


@pytest.mark.slow
@pytest.mark.xdist_group("medida")
def test_medida_quick(quick_run):
    _, m = quick_run("medida")
    metrics, met = m["metrics"], {c["claim"]: c["met"] for c in m["claims"]}
    assert met["noise_free_rel_err <= 0.05"]
    assert met["noise_free_extra_terms == 0"]
    assert met["noisy_rel_err <= 0.1"]
    assert met["mlp_rel_err > 0.1"]
    # measured at seed 0: RFF fill error 0.25% vs plain MLP 3.7%, c found 21% off vs 41% off (claim: RFF within 10%)
    assert metrics["rff_interp_rel_l2"] < metrics["mlp_interp_rel_l2"] / 5
    assert metrics["rff_rel_err"] < metrics["mlp_rel_err"]
