"""KANLinear: drop-in shapes for every basis, fused vs plain path, training, state_dict, bad inputs."""
from __future__ import annotations

import pytest
import torch

from basiskit import bases
from basiskit.nn import KANLinear

BASIS_KW = {"bspline": {"grid_size": 4, "order": 3}, "chebyshev": {"degree": 4}, "fourier": {"n_freq": 3},
            "gaussian": {"n_centers": 5}, "relu_power": {"grid_size": 4, "order": 2}, "rational": {"m": 3, "n": 2}}


@pytest.mark.parametrize("basis", sorted(BASIS_KW))
def test_shapes_any_leading_dims_and_formula(basis):
    torch.manual_seed(0)
    layer = KANLinear(3, 4, basis=basis, dtype=torch.float64, **BASIS_KW[basis])
    x = torch.rand(2, 5, 3, dtype=torch.float64) * 1.6 - 0.8
    y = layer(x)
    assert y.shape == (2, 5, 4)
    # y = sigma(x) W_b^T + B(x) W_s^T + bias, written out per edge
    flat = x.reshape(-1, 3)
    edges = layer.edge_activations(flat)
    torch.testing.assert_close(y.reshape(-1, 4), edges.sum(-1) + layer.bias)
    if basis != "bspline":
        b = layer.basis(flat)
        ref = b.reshape(10, -1) @ layer.spline_weight.reshape(4, -1).t() + torch.nn.functional.silu(flat) @ \
            layer.base_weight.t() + layer.bias
        torch.testing.assert_close(y.reshape(-1, 4), ref)
    assert layer(torch.zeros(0, 3, dtype=torch.float64)).shape == (0, 4)


def test_fused_equals_plain_path():
    torch.manual_seed(0)
    fused = KANLinear(5, 3, grid_size=6, dtype=torch.float64)
    plain = KANLinear(5, 3, grid_size=6, fused=False, dtype=torch.float64)
    plain.load_state_dict(fused.state_dict())
    x = (torch.randn(17, 5, dtype=torch.float64) * 1.5).requires_grad_(True)
    torch.testing.assert_close(fused(x), plain(x))
    g1 = torch.autograd.grad(fused(x).pow(2).sum(), [x, fused.weight])
    g2 = torch.autograd.grad(plain(x).pow(2).sum(), [x, plain.weight])
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("basis", sorted(BASIS_KW))
def test_training_step_lowers_loss_and_state_dict_round_trip(basis):
    torch.manual_seed(1)
    layer = KANLinear(2, 1, basis=basis, **BASIS_KW[basis])
    x = torch.rand(64, 2) * 2 - 1
    y = torch.sin(3 * x[:, :1]) * x[:, 1:]
    opt = torch.optim.Adam(layer.parameters(), lr=1e-2)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = ((layer(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0]
    clone = KANLinear(2, 1, basis=basis, **BASIS_KW[basis])
    clone.load_state_dict(layer.state_dict())
    torch.testing.assert_close(clone(x), layer(x))


def test_state_dict_round_trip_after_grid_changes():
    torch.manual_seed(2)
    layer = KANLinear(2, 3, grid_size=4)
    x = torch.randn(100, 2)
    layer.update_grid(x)
    layer.refine(8)
    fresh = KANLinear(2, 3, grid_size=4)
    fresh.load_state_dict(layer.state_dict())
    assert fresh.basis.grid_size == 8 and not fresh.basis.uniform
    torch.testing.assert_close(fresh(x), layer(x))


def test_registry_has_all_bases_and_extra_repr():
    assert set(BASIS_KW) <= set(bases.names())
    text = repr(KANLinear(2, 3))
    assert "in_features=2" in text and "basis='bspline'" in text


@pytest.mark.parametrize("call,exc,arg", [
    (lambda: KANLinear(0, 3), ValueError, "in_features"),
    (lambda: KANLinear(2, 3, basis="bsplin"), ValueError, "basis"),
    (lambda: KANLinear(2, 3, base_activation="swish"), ValueError, "base_activation"),
    (lambda: KANLinear(2, 3, grid_size=0), ValueError, "grid_size"),
    (lambda: KANLinear(2, 3, order=-1), ValueError, "order"),
    (lambda: KANLinear(2, 3)(torch.zeros(4, 3)), ValueError, "in_features"),
    (lambda: KANLinear(2, 3)(torch.zeros(4, 2, dtype=torch.long)), TypeError, "x"),
    (lambda: KANLinear(2, 3).update_grid(torch.zeros(0, 2)), ValueError, "x"),
    (lambda: KANLinear(2, 3).update_grid(torch.tensor([[0.0, float("nan")]])), ValueError, "x"),
    (lambda: KANLinear(2, 3, basis="fourier").update_grid(torch.zeros(4, 2)), TypeError, "basis"),
    (lambda: KANLinear(2, 3).refine(0), ValueError, "new_grid_size"),
])
def test_bad_inputs_name_the_argument(call, exc, arg):
    with pytest.raises(exc, match=arg):
        call()


def test_ddp_single_process_gloo(tmp_path):
    import torch.distributed as dist

    if not dist.is_available():
        import pytest as _pytest

        _pytest.skip("torch.distributed not available")
    store = dist.FileStore(str(tmp_path / "store"), 1)
    dist.init_process_group("gloo", store=store, rank=0, world_size=1)
    try:
        torch.manual_seed(0)
        layer = KANLinear(3, 2)
        ddp = torch.nn.parallel.DistributedDataParallel(layer)
        x = torch.rand(16, 3)
        ddp(x).pow(2).sum().backward()
        ref = KANLinear(3, 2)
        ref.load_state_dict(layer.state_dict())
        ref(x).pow(2).sum().backward()
        torch.testing.assert_close(layer.weight.grad, ref.weight.grad)
    finally:
        dist.destroy_process_group()
