"""Helpers of ``basiskit bench kan``: the path it reports and the rows that force one native path."""
from __future__ import annotations

import os

import pytest
import torch

from basiskit.bench import kan as kan_bench
from basiskit.nn import KANLinear
from basiskit.ops import bspline_native, path_select


@pytest.fixture(autouse=True)
def _fresh_selector():
    path_select.forget()
    yield
    path_select.forget()


@pytest.mark.skipif(bspline_native._lib() is None, reason="no C compiler for the native kernels")
def test_chosen_path_reports_the_selector_and_the_fallback(monkeypatch):
    layer = KANLinear(4, 3, grid_size=5)
    x = torch.rand(8, 4) * 2 - 1
    monkeypatch.setenv("BASISKIT_KAN_PATH", "dense")
    assert kan_bench._chosen_path(layer, x) == "dense"
    monkeypatch.setenv("BASISKIT_KAN_PATH", "auto")
    assert kan_bench._chosen_path(layer, x) == "local"  # a call this small is never timed
    monkeypatch.setenv("BASISKIT_NATIVE", "0")
    assert kan_bench._chosen_path(layer, x).startswith("PyTorch")


def test_forced_path_row_holds_the_switch_for_the_whole_step(monkeypatch):
    monkeypatch.delenv("BASISKIT_KAN_PATH", raising=False)
    seen = []

    class Spy(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(os.environ.get("BASISKIT_KAN_PATH"))
            return x * self.w

    step = kan_bench._step(kan_bench._ForcedPath(Spy(), "dense"), torch.ones(2, 3, requires_grad=True))
    step()
    assert seen == ["dense"] and "BASISKIT_KAN_PATH" not in os.environ
