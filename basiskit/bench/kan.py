"""``basiskit bench kan``: KAN layers' forward+backward time and kept-for-backward memory, as ratios to
``nn.Linear`` + GELU of the same in/out, all timed in one process, interleaved, median of repeats.

Rows: our fused B-spline ``KANLinear`` (native C kernels on CPU, on the path :mod:`basiskit.ops.path_select`
chose for this machine), the same forced onto each native path (``local``: the local-support loops; ``dense``: the
dense features + one GEMM), the same with the native kernels off (its PyTorch path), the same layer on plain
autograd (``fused=False``: dense basis, the unfused baseline), pykan's
``KANLayer`` and inkan's ``KANLayer`` (``peers`` extra; skipped with a note when absent), our other bases at
about 8 functions each, and a plain ``nn.Linear(in * n_basis, out)`` (the matmul of a dense B-spline layer).
Batch 1024, grid 5, order 3, float32; 2 threads on CPU. The notes name the CPU model and the path chosen at
each d, so figures from different machines can be told apart.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .._env import kan_path, override
from ..nn import KANLinear
from . import register_suite
from ..measure import compare, cpu_model, kept_for_backward_bytes, peer_available, train_step
from ..ops import path_select
from .timing import BenchResult

OTHER_BASES: dict[str, dict[str, Any]] = {
    "chebyshev": {"degree": 7}, "fourier": {"n_freq": 4}, "gaussian": {"n_centers": 8},
    "relu_power": {"grid_size": 5, "order": 3}, "rational": {"m": 5, "n": 4},
}


class _LinearGelu(nn.Module):
    def __init__(self, d_in: int, d_out: int) -> None:
        super().__init__()
        self.linear = nn.Linear(d_in, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.gelu(self.linear(x))


def _peer_layers(d: int, grid: int, order: int, device: str, notes: list[str]) -> dict[str, nn.Module]:
    out: dict[str, nn.Module] = {}
    if peer_available("kan"):
        try:
            from kan import KANLayer as PykanLayer

            layer = PykanLayer(in_dim=d, out_dim=d, num=grid, k=order, device=device, save_plot_data=False)
            out["pykan KANLayer"] = _FirstOutput(layer)
        except Exception as e:  # a peer that fails to build is reported, not hidden
            notes.append(f"pykan KANLayer failed to build: {type(e).__name__}: {e}")
    else:
        notes.append("pykan not installed (peers extra): row skipped")
    if peer_available("inkan"):
        try:
            from inkan import KANLayer as InkanLayer

            out["inkan KANLayer"] = InkanLayer(d, d, grid_size=grid, spline_order=order).to(device)
        except Exception as e:
            notes.append(f"inkan KANLayer failed to build: {type(e).__name__}: {e}")
    else:
        notes.append("inkan not installed (peers extra): row skipped")
    return out


class _TorchPath(nn.Module):
    """The same fused layer with the native kernels switched off (``BASISKIT_NATIVE=0`` during its forward; the
    backward follows the forward's choice)."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer
        self.n_basis = getattr(layer, "n_basis", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with override("BASISKIT_NATIVE", "0"):
            return self.layer(x)


class _ForcedPath(nn.Module):
    """The same fused layer with its native path forced (``BASISKIT_KAN_PATH`` during its forward; the backward
    of the native kernels asks the selector again, so the switch is held for the whole step by ``_step``)."""

    def __init__(self, layer: nn.Module, path: str) -> None:
        super().__init__()
        self.layer, self.path = layer, path
        self.n_basis = getattr(layer, "n_basis", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


class _FirstOutput(nn.Module):
    """pykan's KANLayer returns (y, preacts, postacts, postspline); time it as y only."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)[0]


def _step(layer: nn.Module, x: torch.Tensor) -> Callable[[], torch.Tensor]:
    """Forward and backward of ``layer(x).sum()`` (gradients of the layer and of x; no optimizer step)."""
    step = train_step(lambda: layer(x).sum(), layer, clear=(x,))
    if not isinstance(layer, _ForcedPath):
        return step

    def forced() -> torch.Tensor:
        with override("BASISKIT_KAN_PATH", layer.path):
            return step()

    return forced


def _chosen_path(layer: KANLinear, x: torch.Tensor) -> str:
    """The native path the fused layer takes for x here: the forced or cached/measured choice, or "PyTorch"
    when the native kernels cannot run the call."""
    from ..ops.bspline import _native_path

    knots, w = layer._eval_knots_weight()  # what the kernels see (extended knots, padded weight)
    w = w.detach()
    if not _native_path(x, knots, w, layer.basis.order, layer.basis.uniform, x.dtype):
        return "PyTorch (native kernels off or not usable)"
    return path_select.choose(x.detach(), knots, w, layer.basis.order, layer.base_activation)


def _try_run(name: str, fn: Callable[[], None], notes: list[str]) -> bool:
    try:
        fn()
        fn()
        return True
    except Exception as e:
        notes.append(f"{name}: skipped, it failed to run ({type(e).__name__}: {str(e).splitlines()[0][:120]})")
        return False


@register_suite("kan", summary="KANLinear fwd+bwd vs Linear+GELU, pykan, inkan; kept-for-backward memory")
def suite(quick: bool, device: str) -> BenchResult:
    grid, order, batch = 5, 3, 1024
    dims = (64, 256)
    repeats, warmup = (7, 2) if quick else (21, 3)
    result = BenchResult("kan", ["d", "layer", "n_basis", "ms", "time ratio", "kept-for-backward ratio"])
    notes = result.notes
    notes.append(f"CPU: {cpu_model()}; BASISKIT_KAN_PATH={kan_path()}")
    notes.append(f"batch {batch}, in = out = d, grid {grid}, order {order}, float32, device {device}, "
                 f"{torch.get_num_threads()} threads; ratios are to nn.Linear + GELU at the same d, timed "
                 f"interleaved in this process, median of {repeats} repeats")
    for d in dims:
        gen = torch.Generator().manual_seed(d)
        x = (torch.rand(batch, d, generator=gen) * 2 - 1).to(device).requires_grad_(True)
        layers: dict[str, nn.Module] = {"Linear + GELU": _LinearGelu(d, d)}
        layers["KANLinear bspline (fused)"] = KANLinear(d, d, grid_size=grid, order=order)
        for path in path_select.PATHS:
            layers[f"KANLinear bspline (fused, {path} path)"] = _ForcedPath(KANLinear(d, d, grid_size=grid,
                                                                                   order=order), path)
        layers["KANLinear bspline (fused, PyTorch path)"] = _TorchPath(KANLinear(d, d, grid_size=grid, order=order))
        layers["KANLinear bspline (plain autograd)"] = KANLinear(d, d, grid_size=grid, order=order, fused=False)
        layers.update(_peer_layers(d, grid, order, device, notes if d == dims[0] else []))
        for name, kw in OTHER_BASES.items():
            layers[f"KANLinear {name}"] = KANLinear(d, d, basis=name, **kw)
        layers[f"matmul floor: Linear({d}*{grid + order}, {d})"] = nn.Linear(d * (grid + order), d)
        inputs = {n: x for n in layers}
        floor_name = f"matmul floor: Linear({d}*{grid + order}, {d})"
        inputs[floor_name] = (torch.rand(batch, d * (grid + order), generator=gen) * 2 - 1).to(device)
        inputs[floor_name].requires_grad_(True)
        cases = {}
        for name, layer in layers.items():
            layer.to(device)
            fn = _step(layer, inputs[name])
            if _try_run(f"{name} (d={d})", fn, notes):
                cases[name] = fn
        if device == "cpu":
            notes.append(f"d={d}: the fused layer's native path here: "
                         f"{_chosen_path(layers['KANLinear bspline (fused)'], x)}")
        timings = compare(cases, "Linear + GELU", warmup=warmup, repeats=repeats,
                          number=20 if device.startswith("cuda") else 1, device=device)
        base_mem = kept_for_backward_bytes(lambda: layers["Linear + GELU"](x))
        for name, t in timings.items():
            layer = layers[name]
            mem = kept_for_backward_bytes(lambda layer=layer, name=name: layer(inputs[name]))
            n_basis = getattr(layer, "n_basis", None)
            result.rows.append({"d": d, "layer": name, "n_basis": n_basis, "ms": 1e3 * t["seconds"],
                                "time ratio": t["ratio"], "kept-for-backward ratio": mem / base_mem})
        _targets(result, d, timings, layers, inputs, base_mem)
    return result


def _targets(result: BenchResult, d: int, timings: dict[str, dict[str, float]], layers: dict[str, nn.Module],
             inputs: dict[str, torch.Tensor], base_mem: int) -> None:
    fused = "KANLinear bspline (fused)"
    ratio = timings[fused]["ratio"]
    result.add_target(f"fused B-spline KANLinear / (Linear+GELU) at d={d}", ratio, "<=", 10.0 if d == 256 else 12.0)
    floor = f"matmul floor: Linear({d}*{layers[fused].n_basis}, {d})"
    if floor in timings:
        result.add_target(f"fused KANLinear / matmul floor at d={d}",
                          timings[fused]["seconds"] / timings[floor]["seconds"], "<=", 1.3)
    if "inkan KANLayer" in timings:
        result.add_target(f"inkan / fused KANLinear at d={d}",
                          timings["inkan KANLayer"]["seconds"] / timings[fused]["seconds"], ">=", 1.5)
    if "pykan KANLayer" in timings:
        result.add_target(f"pykan / fused KANLinear at d={d}",
                          timings["pykan KANLayer"]["seconds"] / timings[fused]["seconds"], ">=", 40.0)
    mem = kept_for_backward_bytes(lambda: layers[fused](inputs[fused])) / base_mem
    result.add_target(f"fused KANLinear kept-for-backward / (Linear+GELU) at d={d}", mem, "<=", 2.0)
    for name in OTHER_BASES:
        key = f"KANLinear {name}"
        if key in timings:
            nb = layers[key].n_basis
            result.add_target(f"{name} KANLinear / (Linear+GELU) at d={d}", timings[key]["ratio"], "<=", nb + 2.0)
