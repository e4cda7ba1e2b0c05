"""Pruning edges, inputs and nodes by attribution; saved masks that training cannot undo; pykan's regularisers."""
from __future__ import annotations

import math

import pytest
import torch

from basiskit.nn import KAN

f64 = torch.float64


def _x(n: int = 256, d: int = 3, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, d, dtype=f64, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _kill_input(model: KAN, i: int) -> None:
    with torch.no_grad():
        model.layers[0].weight[:, i] = 0


def test_prune_edges_masks_for_good_and_the_mask_is_saved(tmp_path):
    torch.manual_seed(0)
    model = KAN([3, 4, 1], dtype=f64)
    with torch.no_grad():
        model.layers[0].weight[2, 1] *= 1e-6  # one weak edge
    x = _x()
    scores = model.attribute(x).edge_scores[0]
    threshold = float(scores[2, 1]) * 1.01
    assert float(scores.flatten().sort().values[1]) > threshold  # it is the only edge below
    pruned = model.prune_edges(x, threshold)
    assert float(pruned.edges[0].numeric_mask[2, 1]) == 0 and int((pruned.edges[0].numeric_mask == 0).sum()) == 1
    assert float(model.edges[0].numeric_mask[2, 1]) == 1  # the original is untouched
    torch.testing.assert_close(pruned(x), model(x), atol=1e-6, rtol=0)  # its mean went into the bias
    opt = torch.optim.Adam(pruned.parameters(), lr=1e-1)
    y = x.sum(-1, keepdim=True) ** 2
    for _ in range(10):
        opt.zero_grad()
        ((pruned(x) - y) ** 2).mean().backward()
        opt.step()
    assert float(pruned.layer_edges(0, x)[:, 2, 1].detach().abs().max()) == 0.0  # training cannot bring it back
    pruned.save(tmp_path / "k")
    back = KAN.load(tmp_path / "k")
    assert torch.equal(back(x), pruned(x)) and float(back.edges[0].numeric_mask[2, 1]) == 0


def test_prune_inputs_drops_the_ignored_features_and_keeps_the_function():
    torch.manual_seed(0)
    model = KAN([4, 3, 1], dtype=f64)
    _kill_input(model, 1)
    _kill_input(model, 3)
    x = _x(d=4)
    small = model.prune_inputs(x, threshold=1e-3)
    assert small.widths[0] == 2 and small.input_ids == [0, 2]
    torch.testing.assert_close(small(x[:, small.input_ids]), model(x), atol=1e-12, rtol=0)
    smaller = small.prune_inputs(x[:, small.input_ids], threshold=float(small.feature_scores(x[:, [0, 2]]).max()))
    assert smaller.input_ids in ([0], [2])  # chains keep the original indices
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        small.prune_inputs(x, 1e-3)  # the pruned model takes 2 inputs


def test_prune_nodes_by_attribution_removes_the_unused_hidden_node():
    torch.manual_seed(0)
    model = KAN([2, 3, 1], dtype=f64)
    with torch.no_grad():
        model.layers[1].weight[:, 0] = 0  # hidden node 0 feeds nothing
    x = _x(d=2)
    scores = model.node_scores(x, by="attribution")[0]
    assert float(scores[0]) == 0.0 and float(scores[1:].min()) > 0
    pruned = model.prune(x, threshold=1e-8, by="attribution")
    assert pruned.widths == [2, 2, 1]
    torch.testing.assert_close(pruned(x), model(x), atol=1e-12, rtol=0)


def test_pykan_regulariser_matches_its_formula():
    torch.manual_seed(0)
    model = KAN([2, 3, 1], dtype=f64)
    x = _x(d=2)
    got = model.regularization_loss(x, lamb_l1=0.7, lamb_entropy=1.3, metric="pykan", lamb_coef=0.2,
                                    lamb_coefdiff=0.4)
    want = 0.0
    h = x
    for layer in model.layers:
        edge = layer.edge_activations(h)
        a = edge.std(0) / (h.std(0) + 0.1)
        p_row = a / (a.sum(1, keepdim=True) + 1)
        p_col = a / (a.sum(0, keepdim=True) + 1)
        ent = (-(p_row * torch.log2(p_row + 1e-4)).sum(1).mean() - (p_col * torch.log2(p_col + 1e-4)).sum(0).mean())
        coef = layer.spline_weight
        want += 0.7 * a.sum() + 1.3 * ent + 0.2 * coef.abs().mean(-1).sum() + 0.4 * coef.diff(dim=-1).abs().mean(-1).sum()
        h = layer(h)
    torch.testing.assert_close(got, want.detach(), atol=1e-12, rtol=0)
    got.backward()
    assert model.layers[0].weight.grad is not None
    default = model.regularization_loss(x, 1.0, 2.0)  # basiskit's mean |phi| version is unchanged
    mags = [layer.edge_activations(hh).abs().mean(0) for layer, hh in zip(model.layers, model.layer_inputs(x))]
    expect = sum(m.sum() + 2.0 * -(m / m.sum() * torch.log(m / m.sum() + 1e-12)).sum() for m in mags)
    assert math.isclose(float(default), float(expect), rel_tol=1e-9)


def test_regulariser_skips_pruned_and_symbolic_edges():
    torch.manual_seed(0)
    model = KAN([2, 2, 1], dtype=f64)
    x = _x(d=2)
    full = float(model.regularization_loss(x, 1.0, 0.0))
    model.fix_symbolic(0, 0, 0, "sin")
    part = float(model.regularization_loss(x, 1.0, 0.0))
    assert part < full


def test_bad_pruning_requests_raise_clear_errors():
    model = KAN([2, 2, 1], dtype=f64)
    x = _x(d=2)
    with pytest.raises(ValueError, match="by: unknown value 'size'"):
        model.prune_edges(x, 0.1, by="size")
    with pytest.raises(ValueError, match="threshold must be >= 0"):
        model.prune_inputs(x, -1.0)
    with pytest.raises(ValueError, match="metric: unknown value 'l2'"):
        model.regularization_loss(x, metric="l2")
    with pytest.raises(ValueError, match="lamb_coef must be >= 0"):
        model.regularization_loss(x, lamb_coef=-1.0)
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        model.prune_edges(_x(d=3), 0.1)
