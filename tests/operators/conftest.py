import pytest
import torch

import basiskit as bk


@pytest.fixture
def assert_steps_lower_loss():
    """A few Adam steps on (x, y) must lower the relative L2 loss of ``model``: the one 'trains' check that every
    operator test shares."""

    def check(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int = 3) -> None:
        def loss() -> torch.Tensor:
            return bk.losses.relative_lp(model(x), y)

        step = bk.measure.train_step(loss, model, torch.optim.Adam(model.parameters(), lr=1e-3))
        before = float(step().detach())
        for _ in range(steps - 1):
            step()
        with torch.no_grad():
            assert float(loss()) < before

    return check
