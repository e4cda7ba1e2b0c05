"""CUDA checks of the GPU paths (skipped without a CUDA device; run by tools/gpu_check.sh on a GPU machine).

Triton group-rational kernels against a float64 CPU reference, the tile-reduced and atomic-per-element backward
agreeing, bf16/fp16 support, large inputs, and the KAN/KAT layers and models running on the GPU.
"""
import importlib.util

import pytest
import torch

from basiskit._env import gpu_test_device
from basiskit.models import create
from basiskit.nn import GRKAN, KANLinear
from basiskit.ops.rational import group_rational, group_rational_reference

# BASISKIT_TEST_DEVICE=cpu (with TRITON_INTERPRET=1) dry-runs this file on the CPU
DEV = gpu_test_device()
pytestmark = pytest.mark.skipif(DEV == "cuda" and not torch.cuda.is_available(),
                                reason="no CUDA device in this environment")
needs_triton = pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="triton is not installed")


def _coeffs(groups: int, m: int, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    return 0.5 * torch.randn(groups, m + 1, generator=gen), 0.5 * torch.randn(groups, n, generator=gen)


def _reference64(x, a, b, groups, go):
    x64 = x.detach().cpu().double().requires_grad_()
    a64 = a.detach().cpu().double().requires_grad_()
    b64 = b.detach().cpu().double().requires_grad_()
    y = group_rational_reference(x64, a64, b64, groups)
    return (y,) + torch.autograd.grad(y, (x64, a64, b64), go.detach().cpu().double())


@needs_triton
@pytest.mark.parametrize("rows,channels,groups,m,n", [(4096, 768, 8, 5, 4), (1000, 192, 8, 5, 4),
                                                     (77, 40, 4, 3, 2), (3, 8, 8, 5, 4), (513, 1536, 8, 5, 4)])
def test_triton_matches_float64_reference(rows, channels, groups, m, n):
    from basiskit.ops import rational_triton as T

    gen = torch.Generator().manual_seed(rows + channels)
    x = torch.randn(rows, channels, generator=gen) * 2
    a, b = _coeffs(groups, m, n, gen)
    go = torch.randn(rows, channels, generator=gen)
    y64, dx64, da64, db64 = _reference64(x, a, b, groups, go)
    xc, ac, bc, gc = (t.to(DEV) for t in (x, a, b, go))
    y = T.group_rational_forward_triton(xc, ac, bc)
    torch.testing.assert_close(y.cpu().double(), y64, atol=1e-5, rtol=1e-5)
    for backward in (T.group_rational_backward_triton, T.group_rational_backward_atomic):
        dx, da, db = backward(xc, ac, bc, gc)
        torch.testing.assert_close(dx.cpu().double(), dx64, atol=1e-4, rtol=1e-4)
        # coefficient gradients are sums over rows * channels / groups terms: relative tolerance on the scale
        scale = max(1.0, float(da64.abs().max()), float(db64.abs().max()))
        torch.testing.assert_close(da.cpu().double(), da64, atol=1e-5 * scale, rtol=1e-4)
        torch.testing.assert_close(db.cpu().double(), db64, atol=1e-5 * scale, rtol=1e-4)


@needs_triton
def test_autograd_dispatches_to_triton_and_matches_cpu_fused():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(300, 96, generator=gen)
    a, b = _coeffs(8, 5, 4, gen)
    grads = []
    for dev in ("cpu", DEV):
        xs, as_, bs = (t.detach().clone().to(dev).requires_grad_() for t in (x, a, b))
        y = group_rational(xs, as_, bs, 8)
        y.square().sum().backward()
        grads.append([y.detach().cpu()] + [t.grad.cpu() for t in (xs, as_, bs)])
    for got, want in zip(grads[1], grads[0]):
        torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)


@needs_triton
def test_large_inputs_stay_finite_on_cuda():
    x = torch.tensor([-1e4, -1e3, -5.0, 0.0, 5.0, 1e3, 1e4], device=DEV).repeat(64, 16).requires_grad_()
    layer = GRKAN(56, 112, 56, groups=8, device=DEV).act2
    y = layer(x)
    y.sum().backward()
    assert torch.isfinite(y).all() and torch.isfinite(x.grad).all()
    assert torch.isfinite(layer.a.grad).all() and torch.isfinite(layer.b.grad).all()


@needs_triton
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision_inputs(dtype):
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(512, 192, generator=gen)
    a, b = _coeffs(8, 5, 4, gen)
    y32 = group_rational(x.to(DEV), a.to(DEV), b.to(DEV), 8)
    xl = x.to(DEV).to(dtype).requires_grad_()
    al, bl = a.to(DEV).requires_grad_(), b.to(DEV).requires_grad_()
    y = group_rational(xl, al, bl, 8)
    assert y.dtype == dtype
    torch.testing.assert_close(y.float(), y32, atol=3e-2, rtol=3e-2)
    y.float().sum().backward()
    assert xl.grad.dtype == dtype
    assert all(torch.isfinite(t.grad).all() for t in (xl, al, bl))


@needs_triton
def test_grkan_bf16_autocast_close_to_float32():
    torch.manual_seed(3)
    ffn = GRKAN(192, 768, 192, device=DEV)
    x = torch.randn(2048, 192, device=DEV)
    y32 = ffn(x)
    with torch.autocast(DEV, dtype=torch.bfloat16):
        y16 = ffn(x)
    assert y16.dtype == torch.bfloat16
    rel = (y16.float() - y32).norm() / y32.norm()
    assert rel < 3e-2, float(rel)
    y16.float().square().mean().backward()
    assert all(torch.isfinite(p.grad).all() for p in ffn.parameters())


def test_grkan_cuda_matches_cpu():
    torch.manual_seed(4)
    cpu = GRKAN(64, 256, 64)
    gpu = GRKAN(64, 256, 64, device=DEV)
    gpu.load_state_dict(cpu.state_dict())
    x = torch.randn(333, 64)
    outs = []
    for model, dev in ((cpu, "cpu"), (gpu, DEV)):
        y = model(x.to(dev))
        y.square().mean().backward()
        outs.append([y.detach().cpu()] + [p.grad.cpu() for p in model.parameters()])
    for got, want in zip(outs[1], outs[0]):
        torch.testing.assert_close(got, want, atol=2e-4, rtol=2e-3)


@pytest.mark.parametrize("basis,kw", [("bspline", {}), ("chebyshev", {"degree": 5}), ("rational", {})])
def test_kan_linear_cuda_matches_cpu_and_autocast(basis, kw):
    torch.manual_seed(5)
    cpu = KANLinear(32, 16, basis=basis, **kw)
    gpu = KANLinear(32, 16, basis=basis, **kw).to(DEV)
    gpu.load_state_dict(cpu.state_dict())
    x = torch.rand(257, 32) * 2.4 - 1.2
    outs = []
    for layer, dev in ((cpu, "cpu"), (gpu, DEV)):
        y = layer(x.to(dev))
        y.square().mean().backward()
        outs.append([y.detach().cpu()] + [p.grad.cpu() for p in layer.parameters()])
    for got, want in zip(outs[1], outs[0]):
        torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-3)
    with torch.autocast(DEV, dtype=torch.bfloat16):
        yb = gpu(x.to(DEV))
    yb.float().sum().backward()
    assert torch.isfinite(yb.float()).all()


@pytest.mark.parametrize("name", ["vit_tiny", "kat_tiny"])
def test_tiny_models_train_on_cuda_with_bf16(name):
    torch.manual_seed(6)
    model = create(name, img_size=28, patch_size=7, in_chans=1, num_classes=10).to(DEV)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(64, 1, 28, 28, device=DEV)
    target = torch.randint(0, 10, (64,), device=DEV)
    losses = []
    for _ in range(5):
        with torch.autocast(DEV, dtype=torch.bfloat16):
            loss = torch.nn.functional.cross_entropy(model(x), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < losses[0]
