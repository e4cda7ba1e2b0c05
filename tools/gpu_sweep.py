"""Block-size sweep of the Triton group-rational kernels on a CUDA device (run by tools/gpu_check.sh).

Prints forward and backward times (triton.testing.do_bench, median ms) for each block configuration at the
GR-KAN bench's shapes, beside aten's GELU forward/backward at the same shape, so the defaults in
basiskit/ops/rational_triton.py can be chosen from measurements.
"""
import torch
import torch.nn.functional as F
import triton
import triton.testing

from basiskit.ops import rational_triton as T


def bench(fn) -> float:
    return triton.testing.do_bench(fn, warmup=10, rep=50)


def main() -> None:
    torch.manual_seed(0)
    print(torch.cuda.get_device_name(), "torch", torch.__version__, "triton", triton.__version__)
    for rows, channels in ((4096, 192), (4096, 768), (4096, 1536), (65536, 1536)):
        for dtype in (torch.float32, torch.bfloat16):
            x = torch.randn(rows, channels, device="cuda").to(dtype)
            go = torch.randn_like(x)
            a = 0.5 * torch.randn(8, 6, device="cuda")
            b = 0.5 * torch.randn(8, 4, device="cuda")
            head = f"{rows}x{channels} {str(dtype)[6:]}"
            print(f"{head}: aten gelu fwd {bench(lambda: F.gelu(x)):.4f} ms, "
                  f"gelu bwd {bench(lambda: torch.ops.aten.gelu_backward(go, x)):.4f} ms, "
                  f"copy {bench(lambda: x.clone()):.4f} ms")
            fwd = []
            for bm in (16, 32, 64):
                for bc in (128, 256, 512):
                    fwd.append((bench(lambda: T.group_rational_forward_triton(x, a, b, block_m=bm, block_c=bc)),
                                bm, bc))
            fwd.sort()
            print(f"{head}: forward best {[f'{t:.4f}ms m{bm} c{bc}' for t, bm, bc in fwd[:4]]}, "
                  f"default(64,128) {[f'{t:.4f}' for t, bm, bc in fwd if (bm, bc) == (64, 128)]}")
            bwd = []
            for bm in (8, 16, 32, 64):
                for bd in (32, 64, 128):
                    bwd.append((bench(lambda: T.group_rational_backward_triton(x, a, b, go, block_m=bm,
                                                                               block_d=bd)), bm, bd))
            bwd.sort()
            atomic = bench(lambda: T.group_rational_backward_atomic(x, a, b, go)) if rows * channels <= 4096 * 1536 \
                else float("nan")
            print(f"{head}: backward best {[f'{t:.4f}ms m{bm} d{bd}' for t, bm, bd in bwd[:5]]}, "
                  f"default(64, whole group) {bench(lambda: T.group_rational_backward_triton(x, a, b, go)):.4f}, "
                  f"atomic-per-element {atomic:.4f} ms")


if __name__ == "__main__":
    main()
