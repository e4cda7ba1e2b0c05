"""KAN pictures: plot_network draws pykan's diagram (products, symbolic and pruned edges, names) and neither
picture warns, even for inputs that require grad."""
from __future__ import annotations

import warnings

import pytest
import torch

from basiskit.nn import KAN

pytest.importorskip("matplotlib")


def test_plot_network_writes_a_png_for_products_symbolic_and_pruned_edges(tmp_path):
    torch.manual_seed(0)
    model = KAN([3, 1, 1], mult_nodes=(0, 1, 0), dtype=torch.float64)
    x = torch.rand(100, 3, dtype=torch.float64) * 2 - 1
    model.fix_symbolic(1, 0, 0, "x")
    model = model.prune_edges(x, threshold=float(model.attribute(x).edge_scores[0].min()) * 1.01)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = model.plot_network(str(tmp_path / "net.png"), x.requires_grad_(True), in_vars=["a", "b", "c"],
                                  out_vars=["f"])
        model.plot(str(tmp_path / "edges.png"), x)
    assert path.endswith("net.png") and (tmp_path / "net.png").stat().st_size > 5000
    assert (tmp_path / "edges.png").stat().st_size > 5000


def test_plot_network_bad_names_and_data_raise():
    model = KAN([2, 2, 1])
    x = torch.rand(20, 2)
    with pytest.raises(ValueError, match="in_vars must name 2 inputs"):
        model.plot_network("/tmp/never.png", x, in_vars=["a"])
    with pytest.raises(ValueError, match="out_vars must name 1 outputs"):
        model.plot_network("/tmp/never.png", x, out_vars=["f", "g"])
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        model.plot_network("/tmp/never.png", torch.rand(20, 3))
