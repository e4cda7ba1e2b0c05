"""The hlop recipe at quick size, end to end, seed fixed: each quick accuracy claim pinned (slow: ``make test-slow``).

The claim HLOP >= fine-tuning + 10 points is not met at this size (fine-tuning forgets only 5-6 points over five
permuted MNIST-5k tasks; met at full size with the paper's ten tasks; see the recipe docstring): it is pinned as not
met, with HLOP still ahead of fine-tuning and fine-tuning's forgetting visible, so a change that makes it pass or
breaks the ordering shows."""
import pytest


@pytest.mark.slow
@pytest.mark.xdist_group("hlop")
def test_hlop_quick_meets_its_claims(quick_run):
    run_dir, record = quick_run("hlop")
    assert {p.name for p in run_dir.glob("*.png")} == {"accuracy_matrix_mlp.png", "accuracy_matrix_snn.png",
                                                        "average_accuracy_mlp.png", "average_accuracy_snn.png"}
    claims = {c["claim"]: c for c in record["claims"]}
    met = {"hebbian_angle_deg <= 10", "hebbian_energy_ratio >= 0.99", "mlp_hlop_bwt >= -3", "mlp_hlop_acc >= mlp_gpm_acc - 2",
           "snn_hlop_bwt >= -3", "snn_hlop_acc >= snn_gpm_acc - 2"}
    not_met = {"mlp_hlop_acc >= mlp_ft_acc + 10", "snn_hlop_acc >= snn_ft_acc + 10"}
    assert set(claims) == met | not_met
    assert all(claims[c]["met"] for c in met), {c: claims[c] for c in met}
    assert not any(claims[c]["met"] for c in not_met)
    m = record["metrics"]
    for v in ("mlp", "snn"):
        assert m[f"{v}_hlop_acc"] > m[f"{v}_ft_acc"] + 2.0
        assert m[f"{v}_ft_bwt"] < m[f"{v}_hlop_bwt"] - 2.0
        assert m[f"{v}_ft_lr"] in (0.01, 0.03)   # inside the sweep (0.003 .. 0.1)
