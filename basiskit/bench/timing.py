"""Benchmark suites' table (``BenchResult``), thread and peer helpers.

The measuring tools themselves (``compare``, ``kept_for_backward_bytes``, ``peer_available``) live in
``basiskit.measure``, shared with the recipes; they are re-exported here so ``basiskit.bench.timing.compare``
keeps working.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from ..measure import compare, kept_for_backward_bytes, peer_available

__all__ = ["BenchResult", "compare", "kept_for_backward_bytes", "peer_available", "set_threads"]


def set_threads(n: int | None) -> None:
    if n:
        torch.set_num_threads(n)


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
