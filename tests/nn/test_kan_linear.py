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
    (lambda: KANLinear(2, 3, boundary="zero"), ValueError, "boundary"),
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


def _cox_de_boor(x: torch.Tensor, knots: torch.Tensor, order: int) -> torch.Tensor:
    """Every B-spline of ``knots: (I, K)`` at ``x: (N, I)`` by the textbook recursion, no clamping: (N, I, K-1-p)."""
    xe, t = x.unsqueeze(-1), knots
    b = ((xe >= t[:, :-1]) & (xe < t[:, 1:])).to(x.dtype)
    for d in range(1, order + 1):
        b = ((xe - t[:, :-(d + 1)]) / (t[:, d:-1] - t[:, :-(d + 1)]) * b[..., :-1]
             + (t[:, d + 1:] - xe) / (t[:, d + 1:] - t[:, 1:-d]) * b[..., 1:])
    return b


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("nonuniform", [False, True])
def test_extend_boundary_is_the_b_splines_themselves_outside_the_grid(fused, nonuniform):
    """boundary="extend" (default): past the grid range an edge is the B-splines' own tails, 0 beyond the outermost
    knots (pykan's B_batch), on uniform and data-fitted knots; "clamp" is the constant continuation."""
    torch.manual_seed(0)
    f64 = torch.float64
    layer = KANLinear(2, 3, grid_size=4, order=3, fused=fused, dtype=f64)
    stale = KANLinear(2, 3, grid_size=4, order=3, fused=fused, dtype=f64)
    layer(torch.zeros(1, 2, dtype=f64)), stale(torch.zeros(1, 2, dtype=f64))  # the extended knots are now kept
    if nonuniform:
        layer.update_grid(torch.rand(200, 2, dtype=f64) ** 2 * 1.5 - 0.5)
    knots = layer.basis.knots
    x = torch.linspace(-3.0, 3.0, 601, dtype=f64).unsqueeze(-1).expand(-1, 2).contiguous()
    spline = torch.einsum("nik,oik->no", _cox_de_boor(x, knots, 3), layer.spline_weight)
    expect = spline + torch.nn.functional.silu(x) @ layer.base_weight.t() + layer.bias
    torch.testing.assert_close(layer(x), expect, atol=1e-12, rtol=0)
    stale.load_state_dict(layer.state_dict())  # knots copied in place: the kept extension must follow
    torch.testing.assert_close(stale(x), expect, atol=1e-12, rtol=0)
    far = (x < knots[:, 0]) | (x > knots[:, -1])
    assert far.any() and bool((_cox_de_boor(x, knots, 3).sum(-1)[far] == 0).all())  # 0 beyond the outer knots
    clamped = KANLinear(2, 3, grid_size=4, order=3, fused=fused, boundary="clamp", dtype=f64)
    clamped.load_state_dict(layer.state_dict())
    lo, hi = knots[:, 3], knots[:, -4]
    inside = torch.maximum(torch.minimum(x, torch.nextafter(hi, lo)), lo)
    spline_c = torch.einsum("nik,oik->no", _cox_de_boor(inside, knots, 3), layer.spline_weight)
    torch.testing.assert_close(clamped(x), spline_c + torch.nn.functional.silu(x) @ layer.base_weight.t()
                               + layer.bias, atol=1e-12, rtol=0)
    assert "boundary='clamp'" in repr(clamped)


def test_extend_boundary_gradients_and_grid_refits():
    """The padded-knot path is differentiable in x and in the weight (gradcheck, points inside, in the tails and
    beyond), and refine keeps the function on the data under either boundary."""
    torch.manual_seed(1)
    f64 = torch.float64
    layer = KANLinear(2, 2, grid_size=3, order=3, dtype=f64)
    layer.update_grid(torch.rand(100, 2, dtype=f64) * 1.2 - 0.6)
    x = torch.tensor([[-2.5, 0.1], [-0.9, 0.55], [0.3, 0.8], [1.1, -0.7], [2.0, 2.9]], dtype=f64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w: torch.func.functional_call(layer, {"weight": w}, (x,)),
                                    (x, layer.weight.detach().clone().requires_grad_()))
    for boundary in ("extend", "clamp"):  # grid extension by a multiple nests the spline spaces: exact on the data
        layer = KANLinear(2, 2, grid_size=5, order=3, boundary=boundary, dtype=f64)
        data = torch.randn(300, 2, dtype=f64) * 0.6
        layer.update_grid(data)
        before = layer(data).detach()
        layer.refine(10, data)
        torch.testing.assert_close(layer(data), before, atol=1e-10 * float(before.abs().max()), rtol=0)
