"""Every model this family registers: builds by name at a small size, forward shapes, one step lowers the
loss, state_dict round-trip, every parameter gets a gradient."""
import pytest
import torch

import basiskit.models as M

SMALL = dict(img_size=8, patch_size=4, in_chans=1, num_classes=4, depth=2)
NAMES = [n for n in ("vit_tiny", "vit_small", "vit_base", "kat_tiny", "kat_small", "kat_base")
         if n in M.names()]


@pytest.mark.parametrize("name", NAMES)
def test_registered_model_trains_and_round_trips(name):
    torch.manual_seed(0)
    dim = {"tiny": 24, "small": 48, "base": 48}[name.split("_")[1]]
    model = M.create(name, **SMALL, embed_dim=dim)
    x, y = torch.rand(6, 1, 8, 8), torch.randint(0, 4, (6,))
    assert model(x).shape == (6, 4)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.eval()  # no drop-path noise in the before/after comparison
    losses = []
    for _ in range(4):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        losses.append(float(loss.detach()))
        if len(losses) == 1:
            assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
        opt.step()
    assert losses[-1] < losses[0]
    clone = M.create(name, **SMALL, embed_dim=dim)
    clone.load_state_dict(model.state_dict())
    clone.eval()
    torch.testing.assert_close(clone(x), model(x))
