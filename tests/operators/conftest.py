import pytest
import torch

import basiskit as bk


@pytest.fixture
def assert_steps_lower_loss():
    """A few Adam steps on (x, y) must lower the relative L2 loss of ``model``."""

    def check(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int = 3) -> None:
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        before = float(bk.losses.relative_lp(model(x), y).detach())
        for _ in range(steps):
            opt.zero_grad()
            bk.losses.relative_lp(model(x), y).backward()
            opt.step()
        assert float(bk.losses.relative_lp(model(x), y).detach()) < before

    return check
