"""The mg-tfno and nn-to-no recipes at quick size, end to end, seed fixed: each quick accuracy claim pinned
(slow: ``make test-slow``)."""
import pytest


def _run(name, quick_run):
    run_dir, metrics = quick_run(name)
    assert list(run_dir.glob("*.png"))
    return metrics["metrics"], {c["claim"]: c for c in metrics["claims"]}


@pytest.mark.slow
@pytest.mark.xdist_group("nn-to-no")
def test_nn_to_no_quick_claims(quick_run):
    metrics, claims = _run("nn-to-no", quick_run)
    # trained on 32 and 64 (train_also): the claims are at the unseen 128
    assert set(claims) == {"fs_unet_rel_l2_128 <= 1.5 x fs_unet_rel_l2_32", "fs_unet_rel_l2_128 < unet_rel_l2_128"}
    assert all(c["met"] for c in claims.values()), claims
    assert metrics["fs_unet_rel_l2_64"] < 1.5 * metrics["fs_unet_rel_l2_32"]  # a training grid, reported


@pytest.mark.slow
@pytest.mark.xdist_group("mg-tfno")
def test_mg_tfno_quick_meets_its_claims(quick_run):
    metrics, claims = _run("mg-tfno", quick_run)
    assert set(claims) == {"param_ratio >= 8", "tfno_rel_l2 <= fno_rel_l2", "mg_tfno_rel_l2 <= fno_rel_l2"}
    assert all(c["met"] for c in claims.values()), claims
    assert claims["param_ratio >= 8"]["paper"] == 150.0
    assert metrics["mg_tfno_halo"] == 4  # 32x32 in 2x2 patches, halo 0.125: 16 + 8 = 24 cells, 5-smooth
