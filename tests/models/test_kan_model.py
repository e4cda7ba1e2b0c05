import torch

import basiskit.models as models
from basiskit.nn import KAN


def test_kan_builds_by_name_trains_and_round_trips():
    net = models.create("kan", widths=[2, 4, 1], grid_size=5)
    assert isinstance(net, KAN)
    x = torch.rand(64, 2) * 2 - 1
    y = torch.sin(3 * x[:, :1]) * x[:, 1:]
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    before = torch.mean((net(x) - y) ** 2)
    before.backward()
    opt.step()
    after = torch.mean((net(x) - y) ** 2)
    assert after < before
    clone = models.create("kan", widths=[2, 4, 1], grid_size=5)
    clone.load_state_dict(net.state_dict())
    torch.testing.assert_close(clone(x), net(x))
