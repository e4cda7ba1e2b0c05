"""Speed and memory benchmark suites, run by ``basiskit bench SUITE``.

A suite is a function ``suite(quick: bool, device: str) -> BenchResult`` registered with
``@register_suite("name")`` in a module of this package. Timings are ratios against a baseline measured in
the same process, interleaved, after warm-up, median of repeats (see ``timing``). Peers that are not installed
are reported as skipped rows, never faked.
"""
from __future__ import annotations

from typing import Any

from ..registry import Registry
from .timing import BenchResult, compare, kept_for_backward_bytes, peer_available, set_threads

SUITES: Registry[Any] = Registry("bench suite", ("basiskit.bench",))
register_suite = SUITES.register


def names(pattern: str | None = None) -> list[str]:
    return SUITES.names(pattern)


def run(name: str, *, quick: bool = False, device: str = "cpu") -> BenchResult:
    return SUITES.get(name)(quick=quick, device=device)


__all__ = ["BenchResult", "SUITES", "compare", "kept_for_backward_bytes", "names", "peer_available",
           "register_suite", "run", "set_threads"]
