"""Triton kernels against the reference: on the CPU under TRITON_INTERPRET=1 (in a subprocess, since the
interpreter flag is read when triton is first imported), and on CUDA when a GPU is present."""
import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

needs_triton = pytest.mark.skipif(importlib.util.find_spec("triton") is None,
                                  reason="triton (the gpu extra) is not installed")

CHECK = textwrap.dedent("""
    import torch
    from basiskit.ops import rational_triton as T
    from basiskit.ops.rational import group_rational_reference
    torch.manual_seed(0)
    for (rows, channels, groups, m, n, block_m) in [(37, 24, 4, 5, 4, 16), (5, 16, 8, 3, 2, 64), (70, 96, 8, 5, 4, 32)]:
        x = torch.randn(rows, channels, requires_grad=True)
        a = (0.5 * torch.randn(groups, m + 1)).requires_grad_()
        b = (0.5 * torch.randn(groups, n)).requires_grad_()
        y = group_rational_reference(x, a, b, groups)
        go = torch.randn_like(y)
        want = torch.autograd.grad(y, (x, a, b), go)
        torch.testing.assert_close(T.group_rational_forward_triton(x.detach(), a, b, block_m=block_m), y.detach())
        for backward in (T.group_rational_backward_triton, T.group_rational_backward_atomic,
                         lambda *args, **kw: T.group_rational_backward_triton(*args, block_d=4, **kw)):
            got = backward(x.detach(), a, b, go, block_m=block_m)
            for g, w in zip(got, want):
                torch.testing.assert_close(g, w, atol=1e-4, rtol=1e-4)
    print("TRITON-INTERPRET-OK")
""")


@needs_triton
def test_triton_kernels_match_reference_under_interpreter():
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "TRITON_INTERPRET": "1", "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "TRITON-INTERPRET-OK" in proc.stdout


@needs_triton
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device in this environment")
def test_triton_path_on_cuda_matches_reference_and_autocast():
    from basiskit.ops.rational import group_rational, group_rational_reference

    torch.manual_seed(0)
    x = torch.randn(4096, 384, device="cuda", requires_grad=True)
    a = (0.5 * torch.randn(8, 6, device="cuda")).requires_grad_()
    b = (0.5 * torch.randn(8, 4, device="cuda")).requires_grad_()
    y, y_ref = group_rational(x, a, b, 8), group_rational_reference(x, a, b, 8)
    torch.testing.assert_close(y, y_ref, atol=1e-5, rtol=1e-5)
    go = torch.randn_like(y)
    for g, w in zip(torch.autograd.grad(y, (x, a, b), go), torch.autograd.grad(y_ref, (x, a, b), go)):
        torch.testing.assert_close(g, w, atol=1e-3, rtol=1e-3)
    lin = torch.nn.Linear(384, 384, device="cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        yb = group_rational(lin(x), a, b, 8)
    assert yb.dtype == torch.bfloat16
    yb.float().sum().backward()
    assert torch.isfinite(a.grad).all() and torch.isfinite(x.grad).all()
