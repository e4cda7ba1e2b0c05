"""Timing and memory measurement for benchmark suites.

``compare`` times several callables in one process: warm-up, then rounds in which each case runs once in a
rotating order (so drift and turbo effects hit every case alike), and reports the median per case and its
ratio to the baseline. ``kept_for_backward_bytes`` counts the bytes autograd saves for backward.
"""
from __future__ import annotations

import importlib.util
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch


def set_threads(n: int | None) -> None:
    if n:
        torch.set_num_threads(n)


def peer_available(module: str) -> bool:
    """Whether an optional peer library can be imported (no import is attempted here)."""
    return importlib.util.find_spec(module) is not None


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def compare(cases: dict[str, Callable[[], Any]], baseline: str, *, warmup: int = 3, repeats: int = 15,
            number: int = 1, device: str = "cpu") -> dict[str, dict[str, float]]:
    """Median seconds per call of each case and its ratio to ``cases[baseline]``.

    Each round runs every case ``number`` times, the order rotating from round to round.
    """
    if baseline not in cases:
        raise ValueError(f"compare: baseline {baseline!r} is not among the cases {list(cases)}")
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
            t0 = time.perf_counter()
            for _ in range(number):
                cases[n]()
            _sync(device)
            samples[n].append((time.perf_counter() - t0) / number)
    base = statistics.median(samples[baseline])
    return {n: {"seconds": statistics.median(s), "ratio": statistics.median(s) / base} for n, s in samples.items()}


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


@dataclass
class BenchResult:
    """A suite's table: ``rows`` are dicts with the same keys as ``columns``; ``notes`` explain skips etc."""

    suite: str
    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)

    def add_target(self, what: str, value: float, op: str, target: float) -> None:
        met = {"<=": value <= target, "<": value < target, ">=": value >= target, ">": value > target}[op]
        self.targets.append({"target": f"{what} {op} {target:g}", "value": value, "met": bool(met)})

    def to_markdown(self) -> str:
        from ..report import markdown_table

        def fmt(v: Any) -> str:
            if isinstance(v, float):
                return f"{v:.3g}"
            return "" if v is None else str(v)

        text = [f"### bench {self.suite}", "", markdown_table(self.columns, [[fmt(r.get(c)) for c in self.columns]
                                                                              for r in self.rows])]
        if self.targets:
            text += ["", markdown_table(["target", "measured", "met"],
                                        [[t["target"], f"{t['value']:.3g}", "yes" if t["met"] else "NO"]
                                         for t in self.targets])]
        if self.notes:
            text += [""] + [f"- {n}" for n in self.notes]
        return "\n".join(text)
