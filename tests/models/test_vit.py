import pytest
import torch
from torch import nn

import basiskit.models as M
from basiskit.models.vit import Attention, VisionTransformer, drop_path

TINY = dict(img_size=8, patch_size=4, in_chans=1, num_classes=5, embed_dim=16, depth=2, num_heads=2)


def vit_param_count(dim, depth, patch, chans, classes, n_patches, hidden):
    """Closed form: patch conv + cls + pos + depth * (2 LN + qkv + proj + fc1 + fc2) + final LN + head."""
    block = 4 * dim + (3 * dim * dim + 3 * dim) + (dim * dim + dim) + (dim * hidden + hidden) + (hidden * dim + dim)
    return (chans * patch * patch * dim + dim) + dim + (n_patches + 1) * dim + depth * block + 2 * dim \
        + dim * classes + classes


@pytest.mark.parametrize("name,dim,paper", [("vit_tiny", 192, 5.7e6), ("vit_small", 384, 22.1e6),
                                            ("vit_base", 768, 86.6e6)])
def test_paper_parameter_counts(name, dim, paper):
    n = vit_param_count(dim, 12, 16, 3, 1000, 196, 4 * dim)
    assert abs(n - paper) / paper < 0.02
    if name == "vit_tiny":  # build one at full size to pin the closed form to the real module
        assert sum(p.numel() for p in M.create(name).parameters()) == n


def test_softmax_path_matches_explicit_scores_normalize():
    torch.manual_seed(0)
    attn = Attention(16, 4)
    with torch.no_grad():  # non-trivial attention maps (the default init makes them nearly uniform)
        attn.qkv.weight.normal_(0, 0.5)

    class Explicit(Attention):
        def normalize(self, scores):
            return torch.softmax(scores, dim=-1)

    other = Explicit(16, 4)
    other.load_state_dict(attn.state_dict())
    x = torch.randn(2, 5, 16)
    torch.testing.assert_close(attn(x), other(x), atol=1e-5, rtol=1e-5)
    # a different normalisation really changes the output
    class Uniform(Attention):
        def normalize(self, scores):
            return torch.full_like(scores, 1.0 / scores.shape[-1])

    uni = Uniform(16, 4)
    uni.load_state_dict(attn.state_dict())
    assert not torch.allclose(uni(x), attn(x), atol=1e-4)


def test_custom_layers_are_used_and_not_reinitialised():
    calls = []

    def attn_layer(dim, heads, i):
        calls.append(i)
        return Attention(dim, heads, i)

    def mlp_layer(dim, hidden):
        m = nn.Linear(dim, dim)
        nn.init.constant_(m.weight, 0.123)
        return m

    model = VisionTransformer(**TINY, attn_layer=attn_layer, mlp_layer=mlp_layer)
    assert calls == [0, 1]
    assert torch.all(model.blocks[1].mlp.weight == 0.123)
    assert model(torch.rand(3, 1, 8, 8)).shape == (3, 5)


def test_drop_path_statistics():
    x = torch.ones(20000, 3)
    y = drop_path(x, 0.25, training=True)
    kept = (y[:, 0] > 0).float().mean()
    assert abs(float(kept) - 0.75) < 0.02 and torch.allclose(y[y > 0], torch.tensor(1 / 0.75))
    assert torch.equal(drop_path(x, 0.25, training=False), x)


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="img_size"):
        VisionTransformer(**{**TINY, "img_size": 10})
    with pytest.raises(ValueError, match="num_heads"):
        VisionTransformer(**{**TINY, "num_heads": 3})
    with pytest.raises(ValueError, match="x must have shape"):
        VisionTransformer(**TINY)(torch.rand(2, 1, 16, 16))
    with pytest.raises(ValueError, match="vit_tiny"):
        M.create("vit_tiy")
