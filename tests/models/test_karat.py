"""KArAt ViTs: build by name, forward shapes, one step lowers the loss, state_dict round-trip, sharing modes."""
import pytest
import torch

import basiskit.models as M
from basiskit.nn import KANAttention

SMALL = dict(img_size=8, patch_size=4, in_chans=1, num_classes=4, depth=2, drop_path_rate=0.0)


@pytest.mark.parametrize("name,mode", [("vit_tiny_karat", "blockwise"), ("vit_small_karat", "universal"),
                                       ("vit_base_karat", "blockwise")])
def test_registered_karat_trains_and_round_trips(name, mode):
    torch.manual_seed(0)
    model = M.create(name, **SMALL, embed_dim=16, num_heads=2, rank=4, mode=mode)
    assert all(isinstance(b.attn, KANAttention) for b in model.blocks)
    x, y = torch.rand(6, 1, 8, 8), torch.randint(0, 4, (6,))
    assert model(x).shape == (6, 4)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(4):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        if not losses:
            assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
        losses.append(float(loss.detach()))
        opt.step()
    assert losses[-1] < losses[0]
    clone = M.create(name, **SMALL, embed_dim=16, num_heads=2, rank=4, mode=mode)
    clone.load_state_dict(model.state_dict())
    if mode == "universal":
        assert clone.blocks[0].attn.operator is clone.blocks[1].attn.operator
    torch.testing.assert_close(clone(x), model(x))


def test_universal_has_one_operator_blockwise_one_per_block():
    torch.manual_seed(0)
    kw = dict(SMALL, embed_dim=16, num_heads=2, depth=3)
    block = M.create("vit_tiny_karat", mode="blockwise", **kw)
    univ = M.create("vit_tiny_karat", mode="universal", **kw)
    n_op = sum(p.numel() for p in block.blocks[0].attn.operator.parameters())
    n_block = sum(p.numel() for p in block.parameters())
    n_univ = sum(p.numel() for p in univ.parameters())
    assert n_block - n_univ == 2 * n_op
    assert block.blocks[0].attn.operator.num_tokens == 5  # 4 patches + class token


def test_bad_mode():
    with pytest.raises(ValueError, match="mode"):
        M.create("vit_tiny_karat", **SMALL, embed_dim=16, num_heads=2, mode="shared")
