"""Triton B-spline KAN kernels against the PyTorch reference: on the CPU under TRITON_INTERPRET=1 (in a
subprocess, since the interpreter flag is read when triton is first imported), and on CUDA when a GPU is present."""
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
    from basiskit.bases import uniform_knots
    from basiskit.ops import bspline_triton as T
    from basiskit.ops.bspline import kan_linear_reference
    torch.manual_seed(0)
    # (n, in, out, grid, order, act): partial blocks, several output blocks, order 0, a wide grid (KP = 16 + 16)
    cases = [(9, 2, 3, 5, 3, "silu"), (4, 1, 40, 3, 1, "none"), (5, 2, 2, 4, 0, "gelu"), (3, 1, 2, 14, 2, "silu")]
    for n, n_in, n_out, grid, order, act in cases:
        knots = uniform_knots(grid, order, (-1, 1)).expand(n_in, -1).contiguous()
        x = ((torch.rand(n, n_in) * 2 - 1) * 1.3).requires_grad_(True)   # some inputs beyond the grid
        w = torch.randn(n_out, n_in, grid + order + 1, requires_grad=True)
        y = kan_linear_reference(x, knots, w, order, base_activation=act)
        go = torch.randn_like(y)
        want = torch.autograd.grad(y, (x, w), go)
        got_y = T.kan_linear_triton(x, knots, w, order, base_activation=act)
        torch.testing.assert_close(got_y, y, atol=1e-5, rtol=1e-5)
        got = torch.autograd.grad(got_y, (x, w), go)
        for g, r in zip(got, want):
            torch.testing.assert_close(g, r, atol=1e-4, rtol=1e-4)
    try:
        T.kan_linear_triton(torch.rand(3, 2), knots, w, 2)
    except ValueError as e:
        assert "kan_linear_triton needs x (N, I)" in str(e), e
    else:
        raise AssertionError("bad shapes accepted")
    print("TRITON-INTERPRET-OK")
""")


@needs_triton
def test_triton_bspline_kernels_match_reference_under_interpreter():
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "TRITON_INTERPRET": "1", "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "TRITON-INTERPRET-OK" in proc.stdout


@needs_triton
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device in this environment")
def test_triton_bspline_on_cuda_matches_reference():
    from basiskit.bases import uniform_knots
    from basiskit.ops.bspline import kan_linear_reference
    from basiskit.ops.bspline_triton import kan_linear_triton

    torch.manual_seed(0)
    knots = uniform_knots(5, 3, (-1, 1), device="cuda").expand(256, -1).contiguous()
    x = (torch.rand(1024, 256, device="cuda") * 2.4 - 1.2).requires_grad_(True)
    w = (0.1 * torch.randn(256, 256, 9, device="cuda")).requires_grad_(True)
    y, y_ref = kan_linear_triton(x, knots, w, 3), kan_linear_reference(x, knots, w, 3)
    torch.testing.assert_close(y, y_ref, atol=1e-4, rtol=1e-4)
    go = torch.randn_like(y)
    for g, r in zip(torch.autograd.grad(y, (x, w), go), torch.autograd.grad(y_ref, (x, w), go)):
        torch.testing.assert_close(g, r, atol=1e-3, rtol=1e-3)
