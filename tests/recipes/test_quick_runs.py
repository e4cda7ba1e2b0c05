"""Every registered recipe runs end to end at its quick size, and every quick accuracy claim is met (slow:
`make test-slow`).

Runs are seeded (seed 0), so a claim met once is met again on this machine; a claim that does not reproduce at
quick size is listed in ``NOT_MET_AT_QUICK`` with the reason (the docs give the evidence); where such a claim is
met after all the test warns instead of failing (a near tie can fall either way on another CPU), so the list
does not go stale silently when a recipe improves. Timing claims (``timing=True``) are reported by the run,
never asserted here: shared machines are too noisy for a wall-clock assertion.
"""
import warnings

import pytest

from basiskit.recipes import names

# recipe -> {claim: why it is not met at quick size}; the recipe's docs section has the figures.
NOT_MET_AT_QUICK: dict[str, dict[str, str]] = {
    "kan-fit": {
        "kan_rmse <= 1.5 x pykan_rmse": "a near tie that pykan's own spread decides: ours is 5.5e-4 in every "
                                        "process, pykan's median moves between processes of the same seeds "
                                        "(3.5e-4 to 1.2e-3 for one seed in six runs here; 0.79x in the "
                                        "recorded run, 1.57x in the one before); 0.93x at full size "
                                        "(docs/kan.md)",
    },
    "ntk": {
        "kernel_change_slope >= -0.65": "-0.78 over widths 64..2,048, steeper than the O(1/sqrt(n)) band; -0.76 "
                                        "at full size; -1.1 with erf or tanh, the 1/n of the finer analyses "
                                        "(docs/kernels.md)",
    },
    "nngp-scale-mixture": {
        "nll_gap_in_dist <= 0.02": ("0.031: the Student-t is better in distribution too, because the NNGP's unit "
                                    "last-layer variance is miscalibrated on standardised targets (docs/kernels.md)"),
    },
    "chaos-benchmark": {
        "spearman >= 0.3": "-0.64 over 8 systems x 3 forecasters (its bootstrap interval spans 0); 0.23 over all 46 "
                           "systems at full size (docs/dynamics.md)",
    },
    "afkan": {
        "af_kan_acc >= mlp_acc": "93.9 vs 94.0 once each model's learning rate is tuned: a tie within one test digit "
                                 "(its sign may flip on another CPU); 94.2 vs 94.9 at full size "
                                 "(docs/attention-tabular.md)",
    },
    "mgno": {
        "mgno_rel_l2 <= fno_rel_l2": "a tie the seed decides, each model at its own best learning rate: MgNO "
                                     "0.0326 / 0.0389 / 0.0344 against FNO 0.0340 / 0.0332 / 0.0325 at seeds 0-2 "
                                     "(met at seed 0 only; sweep in the recipe's docstring, docs/operators.md); met at "
                                     "full size, 0.0070 vs 0.0106",
    },
    "gahb": {
        "cross_similarity_n2500 >= 0.9": "0.857 at 2 threads (0.867 at 1): two 39k-parameter UNets at 1,600 steps "
                                         "are not yet the same function (PSNRs 1.4 dB apart); 0.892 at 1,200 "
                                         "steps, where N = 1 no longer memorises; 0.852 at full width after "
                                         "10,000 steps (docs/generative-hebbian.md)",
    },
    "hebbian-dense": {
        "p4_frac_within >= 0.9": "0.88 over 200 runs (0.895 over all 1,000 classes at full size) against a ceiling "
                                 "of 0.91 that the ideal state (sign of the class mean) itself reaches: ~7 tied "
                                 "sites per class are coin flips of 1/N (docs/generative-hebbian.md)",
    },
    "hlop": {
        "mlp_hlop_acc >= mlp_ft_acc + 10": "88.1 vs fine-tuning 83.5 (+4.6): fine-tuning forgets only 5-7 points over "
                                           "five 5k-image tasks; met at full size with the paper's ten tasks, +11.3 "
                                           "(docs/generative-hebbian.md)",
        "snn_hlop_acc >= snn_ft_acc + 10": "87.5 vs fine-tuning 84.8 (+2.7), the same reason; +13.2 at full size",
    },
    "uno": {
        "uno_rel_l2 <= fno_rel_l2": "0.0373 vs 0.0340 (1.10x) with each model at its own best learning rate (sweep "
                                    "in the recipe's docstring); 4 modes per dim on the contracted 16x16 grid at "
                                    "quick size; 1.18x at full size (both at 1e-2)",
    },
    "t1": {
        "t1_rel_l2 <= 1.1 x fno_rel_l2": "0.0603 vs 0.0399 with each model at its own best learning rate (sweep in "
                                         "the recipe's docstring); met before only against an FNO held at 3e-3; 3.4x "
                                         "at full size with both at 1e-2",
    },
    "medida": {
        "rff_rel_err <= 0.1": "0.21 from 25% of the grid points: the RFF fill is 15x more accurate than the plain "
                              "MLP's (0.25% vs 3.7%) but discovery needs ~0.05% (docs/dynamics.md)",
    },
    "location-encoder": {
        "sh_siren_acc >= grid_mlp_acc + 2": "95.39 vs 95.11: a tie once the grid baseline's wavelengths and lr are "
                                            "swept (docs/representations.md)",
        "sh_siren_polar_acc >= grid_mlp_polar_acc + 5": "+3.9 points above 70 degrees (+8 above 80); the gap grows "
                                                        "with fewer training points (docs/representations.md)",
    },
    "mip": {
        "mip_spread < base_spread": "2.7e-4 vs 1.5e-4 over 3 seeds at 1,000 steps (constant-rate Adam's noise); "
                                    "met at full size, 9.6e-6 vs 1.4e-5 at 3,000 steps (docs/representations.md)",
    },
    "evonorm": {
        "s0_acc_small >= bn_acc_small + 3": "95.7 vs 95.6 at batch 2: a tie; BN's per-channel statistics still pool "
                                            "98-392 values; 96.8 vs 97.1 at full size (docs/representations.md)",
    },
    "s4-ptd": {
        "ptd_acc >= s4d_acc - 1.5": "92.4 vs 96.3 at seed 0 (gap 2.8-3.9 over seeds 0-2); met at full size, 96.1 vs "
                                    "96.9 (docs/representations.md)",
    },
    "neurbf": {
        "neurbf_psnr >= grid_mlp_psnr + 1": "24.42 vs 24.20 dB: at 16k parameters NeuRBF ties a 4-channel grid with "
                                             "the same GELU decoder, each at its best learning rate; 25.09 vs 25.07 at "
                                             "full size (docs/representations.md)",
        "neurbf_psnr >= neurbf_nosin_psnr + 0.5": "24.42 vs 24.29 dB: the sinusoid composition adds ~0.1 dB once both "
                                                  "models train at their best rate; -0.13 dB at full size "
                                                  "(docs/representations.md)",
    },
    "hierarchical-poly": {
        "three_layer_nmse <= 0.5 x kernel_nmse": "g = He_3 has E[g'(p)] = 0, so the one-step feature is noise at "
                                                 "d = 16 (docs/kernels.md)",
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xdist_group(n)) for n in names()])
def test_recipe_quick_run(name, quick_run):
    run_dir, m = quick_run(name)
    assert m["claims"], f"{name} declares no claims"
    for c in m["claims"]:
        assert c["value"] is not None, f"{name}: claim {c['claim']} names a metric the recipe did not return"
    assert list(run_dir.glob("*.png")), f"{name} saved no plot"
    known = NOT_MET_AT_QUICK.get(name, {})
    claims = {c["claim"]: c for c in m["claims"]}
    stale = set(known) - set(claims)
    assert not stale, f"{name}: NOT_MET_AT_QUICK names claims it no longer has: {stale}"
    for claim, c in claims.items():
        if c.get("timing"):
            continue
        if claim in known:
            if c["met"]:  # a near tie may fall either way on another CPU: say so, do not fail
                warnings.warn(f"{name}: {claim} is met on this machine ({c['value']:.4g}); if it holds elsewhere "
                              f"too, take it off NOT_MET_AT_QUICK", stacklevel=1)
        else:
            assert c["met"], f"{name}: quick claim {claim} not met: {c['value']:.4g} vs target {c['target']}"
