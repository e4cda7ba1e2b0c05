import pytest
import torch

import basiskit.models as M
from basiskit.models.kat import KAT
from basiskit.nn import GRKAN

from .test_vit import vit_param_count

SMALL = dict(img_size=8, patch_size=4, in_chans=1, num_classes=3, embed_dim=32, depth=3, num_heads=2)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def test_kat_is_vit_plus_rational_coefficients():
    vit, kat = M.create("vit_tiny", **SMALL), M.create("kat_tiny", **SMALL)
    assert all(isinstance(b.mlp, GRKAN) for b in kat.blocks)
    # two GroupRationals per block, 8 groups x (6 + 4) coefficients each
    assert n_params(kat) - n_params(vit) == 3 * 2 * 8 * 10


@pytest.mark.parametrize("dim,paper", [(192, 5.7e6), (384, 22.1e6), (768, 86.6e6)])
def test_paper_sizes_within_2_percent(dim, paper):
    n = vit_param_count(dim, 12, 16, 3, 1000, 196, 4 * dim) + 12 * 2 * 8 * 10
    assert abs(n - paper) / paper < 0.02


def test_kat_options_and_errors():
    model = KAT(**SMALL, groups=4, act_init="swish")
    assert model.blocks[0].mlp.act2.groups == 4 and model.blocks[0].mlp.act2.init == "swish"
    assert model(torch.rand(2, 1, 8, 8)).shape == (2, 3)
    with pytest.raises(ValueError, match="mlp_layer"):
        KAT(**SMALL, mlp_layer=lambda d, h: torch.nn.Identity())
    with pytest.raises(ValueError, match="embed_dim .30. .*groups .8."):
        KAT(**{**SMALL, "embed_dim": 30})
    with pytest.raises(ValueError, match="act_init"):
        KAT(**SMALL, act_init="relu")
