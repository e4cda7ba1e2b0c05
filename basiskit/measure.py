"""Measuring tools shared by recipes, benchmark suites and users' own scripts.

The bottom floor of the package (it imports only torch, the standard library and ``basiskit._validation``),
so every family can use it and nothing here can pull a model family in.

* :func:`compare` times several callables in one process: warm-up, then rounds in which each case runs once
  in a rotating order (so drift and turbo effects hit every case alike); the median per case and its ratio to
  the baseline.
* :func:`kept_for_backward_bytes` counts the bytes autograd keeps for backward during one forward.
* :func:`count_parameters` and :func:`match_width` compare models at equal size; :func:`peer_available` says
  whether an optional peer library is installed.
* :func:`train_step` builds the closure of one training step (clear gradients, loss, backward, step), the
  unit that step-time comparisons time and that LBFGS calls.
* :func:`accuracy` is top-1 classification accuracy in percent, in batches, on any device.
"""
from __future__ import annotations

import importlib.util
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import nn

from ._validation import check_int

__all__ = ["accuracy", "compare", "count_parameters", "kept_for_backward_bytes", "machine", "match_width",
           "peer_available", "train_step"]


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def compare(cases: dict[str, Callable[[], Any]], baseline: str, *, warmup: int = 3, repeats: int = 15,
            number: int = 1, device: str = "cpu", clock: Callable[[], float] = time.perf_counter
            ) -> dict[str, dict[str, float]]:
    """Median seconds per call of each case and its ratio to ``cases[baseline]``.

    Each round runs every case ``number`` times, the order rotating from round to round; ``device`` "cuda..."
    synchronises around each timing. ``clock`` is wall time by default; ``time.process_time`` counts this
    process's CPU time only (on a shared, oversubscribed machine wall time also measures the scheduler).
    Returns ``{name: {"seconds": s, "ratio": s / baseline seconds}}``.
    """
    if baseline not in cases:
        raise ValueError(f"compare: baseline {baseline!r} is not among the cases {list(cases)}")
    check_int("warmup", warmup, min_value=0)
    check_int("repeats", repeats, min_value=1)
    check_int("number", number, min_value=1)
    names = list(cases)
    for _ in range(warmup):
        for n in names:
            cases[n]()
    _sync(device)
    samples: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        order = names[r % len(names):] + names[:r % len(names)]
        for n in order:
            _sync(device)
            t0 = clock()
            for _ in range(number):
                cases[n]()
            _sync(device)
            samples[n].append((clock() - t0) / number)
    base = statistics.median(samples[baseline])
    return {n: {"seconds": statistics.median(s), "ratio": statistics.median(s) / base} for n, s in samples.items()}


def peer_available(module: str) -> bool:
    """Whether an optional peer library (``"neuralop"``, ``"kan"`` ...) can be imported; nothing is imported."""
    return importlib.util.find_spec(module) is not None


def cpu_model() -> str:
    """The CPU's model name ("AMD EPYC 7B13", "Intel(R) Xeon(R) ..."), from /proc/cpuinfo where there is one."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine() -> dict[str, Any]:
    """Where a figure was measured: CPU model, logical cores, torch's intra-op threads, the GPU's name if there is one.

    Recorded with every run (config.yaml, metrics.json) so a timing can be read against the machine that gave it.
    """
    out: dict[str, Any] = {"cpu": cpu_model(), "cores": os.cpu_count() or 0, "threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        out["gpu"] = torch.cuda.get_device_name(0)
    return out


def kept_for_backward_bytes(forward: Callable[[], Any]) -> int:
    """Bytes of distinct tensor storages that autograd keeps for backward while ``forward()`` runs.

    Parameters and inputs that are saved count too (as they would in any memory profile of training).
    """
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        try:
            storage = t.untyped_storage()
            seen[storage.data_ptr()] = storage.nbytes()
        except (RuntimeError, NotImplementedError):
            seen[id(t)] = t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = forward()
    del out
    return sum(seen.values())


def count_parameters(module: nn.Module) -> int:
    """Real parameters of ``module`` (a complex parameter counts its real and imaginary parts)."""
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in module.parameters())


def match_width(build: Callable[[int], nn.Module], target: int, widths: Sequence[int], *,
                at_least: bool = False) -> tuple[int, int]:
    """The width in ``widths`` (increasing) whose model ``build(width)`` has the parameter count closest to
    ``target``, or with ``at_least`` the smallest width with at least ``target`` parameters: (width, count).

    Parameter counts must grow with the width; a bisection finds the first width at or above the target
    (about log2(len(widths)) models are built) and, for "closest", the one below it is compared too (a tie
    goes to the smaller width).
    """
    check_int("target", target, min_value=0)
    if len(widths) == 0:
        raise ValueError("widths must hold at least one width, got an empty sequence")
    counts: dict[int, int] = {}

    def count(i: int) -> int:
        if i not in counts:
            counts[i] = count_parameters(build(widths[i]))
        return counts[i]

    lo, hi = 0, len(widths) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if count(mid) < target:
            lo = mid + 1
        else:
            hi = mid
    if at_least:
        if count(lo) < target:
            raise ValueError(f"no width in widths (up to {widths[-1]}) reaches target={target} parameters; "
                             f"the largest has {count(lo)}")
        return widths[lo], count(lo)
    best = min((i for i in (lo - 1, lo) if 0 <= i < len(widths)), key=lambda i: abs(count(i) - target))
    return widths[best], count(best)


def train_step(objective: Callable[[], torch.Tensor], params: nn.Module | Iterable[torch.Tensor],
               optimizer: torch.optim.Optimizer | None = None, *,
               clear: Sequence[torch.Tensor] = ()) -> Callable[[], torch.Tensor]:
    """The closure of one training step: clear the gradients of ``params`` (a module's parameters or a list of
    tensors) and of the tensors in ``clear`` (e.g. an input that requires grad), ``loss = objective()``,
    ``loss.backward()``, then ``optimizer.step()`` when an optimizer is given. It returns the loss.

    Without an optimizer the closure is forward + backward only (what a fwd+bwd timing measures), and is the
    ``closure`` that ``torch.optim.LBFGS.step`` expects. For example
    ``step = train_step(lambda: relative_lp(model(x), y), model, torch.optim.Adam(model.parameters()))``; each
    ``step()`` is then one Adam step on (x, y).
    """
    if not callable(objective):
        raise TypeError(f"objective must be a callable returning a scalar loss, got {type(objective).__name__}")
    leaves = list(params.parameters()) if isinstance(params, nn.Module) else list(params)
    for i, t in enumerate(leaves):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"params[{i}] must be a torch.Tensor, got {type(t).__name__}")
    extra = list(clear)

    def step() -> torch.Tensor:
        for t in leaves:
            t.grad = None
        for t in extra:
            t.grad = None
        loss = objective()
        loss.backward()
        if optimizer is not None:
            optimizer.step()
        return loss

    return step


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 500,
             device: torch.device | str | None = None) -> float:
    """Top-1 accuracy in percent of ``model`` on (x, y): x (n, ...) inputs, y (n,) integer labels.

    The model runs in evaluation mode (its previous mode is restored) without gradients, ``batch_size``
    samples at a time on ``device`` (default: the device of its first parameter, else the CPU); x and y may
    live anywhere.
    """
    check_int("batch_size", batch_size, min_value=1)
    if x.shape[0] != y.shape[0] or y.ndim != 1:
        raise ValueError(f"x and y must hold the same number of samples with y of shape (n,), got x "
                         f"{tuple(x.shape)} and y {tuple(y.shape)}")
    if x.shape[0] == 0:
        raise ValueError("accuracy needs at least one sample, got x with an empty first dim")
    if device is None:
        first = next(model.parameters(), None)
        device = first.device if first is not None else torch.device("cpu")
    was_training = model.training
    model.train(False)
    try:
        correct = 0
        for i in range(0, x.shape[0], batch_size):
            pred = model(x[i:i + batch_size].to(device)).argmax(-1)
            correct += int((pred == y[i:i + batch_size].to(pred.device)).sum())
    finally:
        model.train(was_training)
    return 100.0 * correct / x.shape[0]
