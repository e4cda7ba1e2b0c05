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


def test_mgtfno_by_name_train_step_state_dict():
    torch.manual_seed(0)
    model = bk.operators.create("mg_tfno", n_modes=(4, 4), hidden_channels=8, n_layers=2, n_patches=2, levels=1)
    x, y = torch.randn(3, 1, 16, 16), torch.randn(3, 1, 16, 16)
    assert model(x).shape == (3, 1, 16, 16)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    before = float(bk.losses.relative_lp(model(x), y).detach())
    for _ in range(3):
        opt.zero_grad()
        bk.losses.relative_lp(model(x), y).backward()
        opt.step()
    assert float(bk.losses.relative_lp(model(x), y).detach()) < before
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
])
def test_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()
