"""The registered custom ops (``torch.ops.basiskit.kan_linear`` / ``group_rational``): opcheck, gradcheck in
float64, and ``torch.compile(fullgraph=True)`` of a KAN and a KAT block against eager (values and gradients).

The fast tests compile with ``backend="aot_eager"`` (AOT autograd traces forward and backward through the ops'
fake implementations, no code generation); the inductor test is marked slow."""
from __future__ import annotations

import pytest
import torch
from torch._dynamo.backends.registry import lookup_backend

from basiskit.bases import uniform_knots
from basiskit.models import create
from basiskit.nn import KAN, KANLinear
from basiskit.ops.bspline import kan_linear
from basiskit.ops.rational import group_rational, group_rational_reference


def _kan_args(dtype=torch.float64, n=5, n_in=3, n_out=2, grid=4, order=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    knots = uniform_knots(grid, order, (-1, 1), dtype=dtype).expand(n_in, -1).contiguous()
    x = (torch.rand(n, n_in, generator=g, dtype=dtype) * 2.6 - 1.3).requires_grad_(True)
    w = torch.randn(n_out, n_in, knots.shape[1] - order, generator=g, dtype=dtype, requires_grad=True)
    return x, knots, w


def _gr_args(dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 3, 8, generator=g, dtype=dtype, requires_grad=True)
    a = torch.randn(2, 6, generator=g, dtype=dtype, requires_grad=True)
    b = torch.randn(2, 4, generator=g, dtype=dtype, requires_grad=True)
    return x, a, b


@pytest.mark.parametrize(("uniform", "act"), [(True, "silu"), (False, "none")])
def test_kan_linear_opcheck(uniform, act):
    x, knots, w = _kan_args(torch.float32)
    torch.library.opcheck(torch.ops.basiskit.kan_linear.default, (x, knots, w, 3, uniform, act, torch.float32))


def test_kan_linear_backward_opcheck():
    x, knots, w = _kan_args(torch.float32)
    g = torch.randn(x.shape[0], w.shape[0])
    for need_x, need_w in ((True, True), (True, False), (False, True)):
        torch.library.opcheck(torch.ops.basiskit.kan_linear_backward.default,
                              (x.detach(), knots, w.detach(), g, 3, True, "silu", torch.float32, need_x, need_w))


def test_group_rational_opcheck():
    x, a, b = _gr_args(torch.float32)
    torch.library.opcheck(torch.ops.basiskit.group_rational.default, (x, a, b))
    go = torch.randn(x.shape)
    torch.library.opcheck(torch.ops.basiskit.group_rational_backward.default, (x.detach(), a.detach(),
                                                                                b.detach(), go))


@pytest.mark.parametrize("uniform", [True, False])
def test_kan_linear_op_gradchecks_in_float64(uniform):
    x, knots, w = _kan_args()
    op = lambda a, b: torch.ops.basiskit.kan_linear(a, knots, b, 3, uniform, "silu", torch.float64)  # noqa: E731
    torch.testing.assert_close(op(x, w), kan_linear(x, knots, w, 3, uniform=uniform), rtol=1e-12, atol=1e-12)
    assert torch.autograd.gradcheck(op, (x, w), fast_mode=True)
    assert torch.autograd.gradgradcheck(op, (x, w), fast_mode=True)  # create_graph: the differentiable path


def test_group_rational_op_gradchecks_in_float64():
    x, a, b = _gr_args()
    op = torch.ops.basiskit.group_rational
    torch.testing.assert_close(op(x, a, b), group_rational_reference(x, a, b, 2))
    assert torch.autograd.gradcheck(op, (x, a, b), fast_mode=True)


def _grads(model: torch.nn.Module, x: torch.Tensor, out: torch.Tensor) -> list[torch.Tensor]:
    return list(torch.autograd.grad(out.square().sum(), [x, *model.parameters()]))


def _check_compiled(model: torch.nn.Module, x: torch.Tensor, backend: str, rtol: float, atol: float,
                    op: str | None = None, count: int = 0) -> None:
    """Compile with fullgraph (a graph break is an error), compare output and gradients with eager and, with
    ``op``, check that dynamo's graph calls ``torch.ops.basiskit.<op>`` ``count`` times (one node per layer,
    not the op's inner PyTorch steps)."""
    torch._dynamo.reset()
    graphs = []

    def recording(gm, example_inputs):  # type: ignore[no-untyped-def]
        graphs.append(gm)
        return lookup_backend(backend)(gm, example_inputs)

    compiled = torch.compile(model, backend=recording, fullgraph=True)
    xe, xc = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    eager_out = model(xe)
    compiled_out = compiled(xc)
    torch.testing.assert_close(compiled_out, eager_out, rtol=rtol, atol=atol)
    for gc, ge in zip(_grads(model, xc, compiled_out), _grads(model, xe, eager_out)):
        torch.testing.assert_close(gc, ge, rtol=rtol, atol=atol)
    assert len(graphs) == 1
    if op is not None:
        calls = [n for n in graphs[0].graph.nodes if n.op == "call_function" and f"basiskit.{op}" in str(n.target)]
        assert len(calls) == count


def _kan() -> KAN:
    torch.manual_seed(0)
    return KAN([3, 5, 2], grid_size=5)


def _kat_block() -> torch.nn.Module:
    torch.manual_seed(0)
    return create("kat_tiny", img_size=8, patch_size=4, in_chans=1, num_classes=3, embed_dim=16, depth=1,
                  num_heads=2, groups=4).blocks[0]


def test_compile_fullgraph_kan_matches_eager():
    x = torch.rand(16, 3) * 2.4 - 1.2
    _check_compiled(_kan(), x, "aot_eager", 1e-5, 1e-6, op="kan_linear", count=2)


def test_compile_fullgraph_kan_layer_nonuniform():
    layer = KANLinear(3, 4, grid_size=4)
    with torch.no_grad():  # a non-uniform grid: the op's PyTorch path inside the compiled graph
        layer.basis.set_knots(layer.basis.knots + 0.02 * torch.rand(layer.basis.knots.shape))
    assert not layer.basis.uniform
    _check_compiled(layer, torch.rand(8, 3) * 2 - 1, "aot_eager", 1e-5, 1e-6, op="kan_linear", count=1)


def test_compile_fullgraph_kat_block_matches_eager():
    x = torch.randn(2, 5, 16)
    _check_compiled(_kat_block(), x, "aot_eager", 1e-5, 1e-6, op="group_rational", count=2)


def test_compile_fullgraph_group_rational_matches_eager():
    x, a, b = _gr_args(torch.float32)
    torch._dynamo.reset()
    fn = torch.compile(lambda x, a, b: group_rational(x, a, b, 2), backend="aot_eager", fullgraph=True)
    out = fn(x, a, b)
    ref = group_rational(x, a, b, 2)
    torch.testing.assert_close(out, ref)
    for gc, ge in zip(torch.autograd.grad(out.sum(), (x, a, b)), torch.autograd.grad(ref.sum(), (x, a, b))):
        torch.testing.assert_close(gc, ge)


@pytest.mark.slow
@pytest.mark.parametrize("build", [_kan, _kat_block], ids=["kan", "kat_block"])
def test_compile_fullgraph_inductor_matches_eager(build):
    model = build()
    x = torch.rand(16, 3) * 2.4 - 1.2 if isinstance(model, KAN) else torch.randn(2, 5, 16)
    _check_compiled(model, x, "inductor", 1e-4, 1e-5)
