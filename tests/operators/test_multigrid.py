import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import basiskit as bk
from basiskit.operators import MGTFNO, multigrid_patch, multigrid_unpatch


@settings(max_examples=20, deadline=None)
@given(d=st.integers(1, 3), p=st.integers(1, 3), levels=st.integers(0, 2), c=st.integers(1, 3),
       mode=st.sampled_from(["periodic", "zeros", "reflect"]))
def test_patch_then_unpatch_is_identity(d, p, levels, c, mode):
    size = p * 2 ** levels * 2
    x = torch.randn(2, c, *([size] * d))
    if mode == "reflect" and levels and (2 ** levels - 1) * size // p // 2 >= size:
        return
    patches = multigrid_patch(x, p if d > 1 else (p,), levels, mode)
    assert patches.shape == (2 * p ** d, c * (levels + 1), *([size // p] * d))
    assert torch.equal(multigrid_unpatch(patches, (p,) * d, levels), x)


def test_context_levels_are_wider_coarser_windows():
    x = torch.arange(16.0).reshape(1, 1, 16)
    patches = multigrid_patch(x, (4,), 1, "periodic")
    assert torch.equal(patches[0, 0], torch.tensor([0.0, 1, 2, 3]))
    # level 1 of patch 0: window [14, 15, 0, .., 5] averaged in pairs
    assert torch.equal(patches[0, 1], torch.tensor([14.5, 0.5, 2.5, 4.5]))
    assert torch.equal(multigrid_patch(x, (4,), 1, "zeros")[0, 1], torch.tensor([0.0, 0.5, 2.5, 4.5]))


def test_mgtfno_by_name_train_step_state_dict(assert_steps_lower_loss):
    torch.manual_seed(0)
    model = bk.operators.create("mg_tfno", n_modes=(4, 4), hidden_channels=8, n_layers=2, n_patches=2, levels=1)
    x, y = torch.randn(3, 1, 16, 16), torch.randn(3, 1, 16, 16)
    assert model(x).shape == (3, 1, 16, 16)
    assert_steps_lower_loss(model, x, y)
    clone = MGTFNO((4, 4), 1, 1, 8, 2, n_patches=2, levels=1)
    clone.load_state_dict(model.state_dict())
    assert torch.equal(clone(x), model(x))


@pytest.mark.parametrize("call, match", [
    (lambda: multigrid_patch(torch.randn(1, 1, 10, 8), (3, 2), 0), r"n_patches\[0\]"),
    (lambda: multigrid_patch(torch.randn(1, 1, 12, 12), (2, 2), 2), "2\\*\\*levels"),
    (lambda: multigrid_patch(torch.randn(1, 1, 8, 8), (2,), 0), "n_patches"),
    (lambda: multigrid_patch(torch.randn(1, 1, 8, 8), (2, 2), 1, "wrap"), "padding_mode"),
    (lambda: multigrid_unpatch(torch.randn(3, 1, 4, 4), (2, 2)), "multiple"),
    (lambda: MGTFNO((4, 4), 1, 1, 8, 1)(torch.randn(1, 2, 16, 16)), "in_channels"),
    (lambda: multigrid_patch(torch.randn(1, 1, 8, 8), (2, 2), 0, pad=-1), r"pad\[0\]"),
    (lambda: multigrid_patch(torch.randn(1, 1, 8, 8), (2, 2), 0, pad=(1,)), "pad"),
    (lambda: multigrid_unpatch(torch.randn(4, 1, 4, 4), (2, 2), pad=2), "leaves nothing"),
    (lambda: MGTFNO((4, 4), 1, 1, 8, 1, patch_padding=0.6), "patch_padding"),
])
def test_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@settings(max_examples=20, deadline=None)
@given(d=st.integers(1, 2), p=st.integers(1, 3), levels=st.integers(0, 2), pad=st.integers(1, 3))
def test_halo_patch_then_unpatch_is_identity(d, p, levels, pad):
    size = p * 2 ** levels * 4
    x = torch.randn(2, 2, *([size] * d))
    patches = multigrid_patch(x, (p,) * d, levels, "periodic", pad)
    assert patches.shape == (2 * p ** d, 2 * (levels + 1), *([size // p + 2 * pad] * d))
    assert torch.equal(multigrid_unpatch(patches, (p,) * d, levels, pad), x)


def test_halo_overlaps_neighbours_and_widens_context():
    x = torch.arange(16.0).reshape(1, 1, 16)
    patches = multigrid_patch(x, (4,), 1, "periodic", pad=1)
    # patch 1 owns cells 4..7 and sees one neighbour cell on each side
    assert torch.equal(patches[1, 0], torch.tensor([3.0, 4, 5, 6, 7, 8]))
    # level 1: window of 2 * 6 cells centred on the patch (cells 0..11) averaged in pairs
    assert torch.equal(patches[1, 1], torch.tensor([0.5, 2.5, 4.5, 6.5, 8.5, 10.5]))
    # patch 0 wraps around periodically
    assert torch.equal(patches[0, 0], torch.tensor([15.0, 0, 1, 2, 3, 4]))


def test_mgtfno_output_near_a_seam_depends_on_the_neighbour_only_with_a_halo():
    torch.manual_seed(0)
    kw = dict(n_modes=(4,), hidden_channels=8, n_layers=2, n_patches=2, levels=0, padding=0.0)
    x = torch.randn(1, 1, 32)
    bumped = x.clone()
    bumped[..., 16] += 1.0  # first cell of patch 1, next to patch 0's last cell 15
    for patch_padding, changes in ((0.0, False), (0.125, True)):
        torch.manual_seed(0)
        model = MGTFNO(patch_padding=patch_padding, **kw)
        with torch.no_grad():
            delta = (model(bumped) - model(x))[0, 0, :16].abs().max()
        assert (delta > 1e-6) == changes


def test_fft_friendly_halo_avoids_prime_lengths():
    from basiskit.operators.multigrid import fft_friendly_halo, is_smooth

    assert is_smooth(48) and is_smooth(50) and not is_smooth(47) and not is_smooth(22)
    # 64x64 in 2x2 patches, halo 0.078125 -> 5 cells, padding 0.125: 42 + 5 = 47 (prime) -> halo 6: 44 + 6 = 50
    assert fft_friendly_halo(32, 5, 0.125) == 6
    assert fft_friendly_halo(32, 4, 0) == 4 and fft_friendly_halo(16, 2, 0.125) == 3
    kw = dict(n_patches=2, levels=1, patch_padding=0.078125, padding=0.125, padding_mode="reflect")
    assert MGTFNO((8, 8), 1, 1, 4, 1, **kw).halo((64, 64)) == (6, 6)
    assert MGTFNO((8, 8), 1, 1, 4, 1, fft_friendly=False, **kw).halo((64, 64)) == (5, 5)
    assert MGTFNO((8, 8), 1, 1, 4, 1, n_patches=2, levels=1).halo((64, 64)) == (0, 0)  # no halo stays none
    with pytest.raises(TypeError, match="fft_friendly"):
        MGTFNO((8, 8), 1, 1, 4, 1, fft_friendly=1)
