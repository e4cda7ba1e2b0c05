"""``basiskit bench grkan``: KAT's GR-KAN FFN against the GELU-MLP FFN it replaces (Yang & Wang, ICLR 2025).

Forward + backward of ``fc2(act(fc1(x)))`` on 4096 tokens at dim 192 and 384 (hidden 4 x dim), float32, timed
interleaved in one process (median), as a ratio to the GELU MLP. Rows: the fused GR-KAN (the compiled one-pass
CPU kernel, or Triton on CUDA) and plain autograd through the reference formula. Memory: bytes autograd keeps for
backward.
On CUDA also: the Triton backward with one atomic add per coefficient per tile against one per element per
coefficient (the scheme FlashKAT measured as KAT's bottleneck), and the GR-KAN FFN under bf16 autocast.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..nn.grkan import GRKAN
from . import register_suite
from ..measure import compare, kept_for_backward_bytes
from .timing import BenchResult

TOKENS = 4096
TARGETS_CPU = {192: 1.4, 384: 1.2}
TARGET_GPU = 1.2


class GeluMlp(nn.Module):
    """The baseline FFN: fc2(GELU(fc1(x)))."""

    def __init__(self, dim: int, hidden: int, device: Any) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden, device=device)
        self.fc2 = nn.Linear(hidden, dim, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


def _step(model: nn.Module, x: torch.Tensor, go: torch.Tensor, autocast: bool = False) -> Callable[[], None]:
    params = list(model.parameters())

    def run() -> None:
        for p in params:
            p.grad = None
        x.grad = None
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=autocast):
            out = model(x)
        out.backward(go.to(out.dtype))

    return run


def suite(quick: bool, device: str) -> BenchResult:
    dev = torch.device(device)
    cuda = dev.type == "cuda"
    res = BenchResult("grkan", ["dim", "case", "ms", "ratio", "kept MiB", "memory ratio"])
    repeats, warmup = (7, 2) if quick else (15, 3)
    res.notes.append(f"{TOKENS} tokens, hidden 4 x dim, float32 unless marked, forward+backward, median of "
                     f"{repeats} interleaved rounds; torch threads = {torch.get_num_threads()}, device {device}")
    for dim in (192, 384):
        torch.manual_seed(0)
        hidden = 4 * dim
        x = torch.randn(TOKENS, dim, device=dev, requires_grad=True)
        go = torch.randn(TOKENS, dim, device=dev)
        mlp = GeluMlp(dim, hidden, dev)
        fused = GRKAN(dim, hidden, dim, device=dev)
        ref = GRKAN(dim, hidden, dim, fused=False, device=dev)
        ref.load_state_dict(fused.state_dict())
        cases = {"GELU MLP": _step(mlp, x, go), "GR-KAN fused": _step(fused, x, go),
                 "GR-KAN reference autograd": _step(ref, x, go)}
        if cuda:
            cases["GELU MLP bf16 autocast"] = _step(mlp, x, go, autocast=True)
            cases["GR-KAN fused bf16 autocast"] = _step(fused, x, go, autocast=True)
        if cuda:
            _add_graph_cases(cases, res.notes, ("GELU MLP", "GR-KAN fused", "GELU MLP bf16 autocast",
                                                "GR-KAN fused bf16 autocast"))
        times = compare(cases, "GELU MLP", warmup=warmup, repeats=repeats, number=20 if cuda else 1, device=device)
        mem = {"GELU MLP": kept_for_backward_bytes(lambda: mlp(x)),
               "GR-KAN fused": kept_for_backward_bytes(lambda: fused(x)),
               "GR-KAN reference autograd": kept_for_backward_bytes(lambda: ref(x))}
        for name, t in times.items():
            kept = mem.get(name)
            res.rows.append({"dim": dim, "case": name, "ms": 1e3 * t["seconds"], "ratio": t["ratio"],
                             "kept MiB": None if kept is None else kept / 2**20,
                             "memory ratio": None if kept is None else kept / mem["GELU MLP"]})
        target = TARGET_GPU if cuda else TARGETS_CPU[dim]
        res.add_target(f"dim {dim}: GR-KAN fused / GELU MLP time", times["GR-KAN fused"]["ratio"], "<=", target)
        if "GR-KAN fused (CUDA graph)" in times:
            res.add_target(f"dim {dim}: GR-KAN fused / GELU MLP time, both as CUDA graphs",
                           times["GR-KAN fused (CUDA graph)"]["seconds"] / times["GELU MLP (CUDA graph)"]["seconds"],
                           "<=", target)
        res.add_target(f"dim {dim}: GR-KAN fused / GELU MLP kept memory", mem["GR-KAN fused"] / mem["GELU MLP"],
                       "<=", 1.3)
        if cuda:
            _atomic_rows(res, dim, dev, warmup, repeats, device)
    if not cuda:
        from ..ops import rational_native

        probe = torch.zeros(1, 1)
        native = rational_native.usable(probe, probe, probe)
        path = "native C kernel" if native else "chunked PyTorch (no native kernel)"
        res.notes.append(f"GR-KAN fused CPU path: {path}")
        res.notes.append("Triton backward vs atomic-per-element backward: skipped (needs a CUDA device)")
    return res


def _graphed(run: Callable[[], None]) -> Callable[[], None]:
    """``run`` (a whole forward + backward) captured once as a CUDA graph; returns its replay.

    At 4096 tokens an H100 finishes either FFN's kernels faster than Python can launch them, so eager timings
    measure the host; graph replays measure the GPU work, as a trainer using CUDA graphs
    (``torch.compile(mode="reduce-overhead")``) would see it.
    """
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            run()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        run()
    return graph.replay


def _add_graph_cases(cases: dict[str, Callable[[], None]], notes: list[str], names: tuple[str, ...]) -> None:
    for name in names:
        try:
            cases[f"{name} (CUDA graph)"] = _graphed(cases[name])
        except Exception as e:  # a capture failure is reported, not hidden
            notes.append(f"{name}: CUDA graph capture failed ({type(e).__name__}: {str(e).splitlines()[0][:120]})")


def _atomic_rows(res: BenchResult, dim: int, dev: torch.device, warmup: int, repeats: int, device: str) -> None:
    from ..ops import rational_triton as T

    if not T.available():
        res.notes.append("Triton backward comparison skipped: triton is not installed")
        return
    hidden = 4 * dim
    x2 = torch.randn(TOKENS, hidden, device=dev)
    go = torch.randn(TOKENS, hidden, device=dev)
    layer = GRKAN(dim, hidden, dim, device=dev).act2
    a, b = layer.a.detach(), layer.b.detach()
    times = compare({"tile-reduced": lambda: T.group_rational_backward_triton(x2, a, b, go),
                     "atomic per element": lambda: T.group_rational_backward_atomic(x2, a, b, go)},
                    "tile-reduced", warmup=warmup, repeats=repeats, number=5, device=device)
    for name, t in times.items():
        res.rows.append({"dim": dim, "case": f"rational backward (hidden {hidden}), {name}",
                         "ms": 1e3 * t["seconds"], "ratio": t["ratio"]})
    res.add_target(f"dim {dim}: atomic-per-element / tile-reduced backward time",
                   times["atomic per element"]["ratio"], ">=", 10.0)


register_suite("grkan", summary="GR-KAN FFN vs GELU-MLP FFN fwd+bwd time and kept memory (KAT)")(suite)
