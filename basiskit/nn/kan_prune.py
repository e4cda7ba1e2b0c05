r"""Pruning a KAN (nodes, edges, inputs) and pykan's sparsity regularisers (Liu et al. 2024, "KAN", section 2.5.1;
pykan 0.2.8 ``MultKAN.prune_node`` / ``prune_edge`` / ``prune_input`` / ``reg``).

Scores. ``by="magnitude"`` (basiskit's default for nodes) scores a hidden node by
min(max incoming mean|phi|, max outgoing mean|phi|) and an edge by its mean |phi|; ``by="attribution"`` uses
``KAN.attribute`` (pykan's rule: output scores 1, an edge gets its target node's score times
std(phi) / (std(node) + 1e-4), a node the sum of its outgoing edges' scores).

What each pruning does.
- ``prune_nodes`` returns a smaller KAN without the hidden nodes scoring below the threshold; a removed node's
  outgoing edges become their mean over the data, folded into the next layer's bias.
- ``prune_edges`` returns a copy whose low-scoring edges are masked: ``kan.edges[l].numeric_mask`` and
  ``symbolic_mask`` are 0 there, the mask sits in the ``state_dict`` (saved with the model) and multiplies the
  weights in ``forward``, so further training cannot bring a pruned edge back. The removed edges' means go into
  the bias as for nodes.
- ``prune_inputs`` returns a KAN without the input features scoring below the threshold (their edges' means
  folded into the first layer's bias); ``new.input_ids`` lists the original index of each kept input.

Regularisers (``regularization_loss``), on the spline part of the active edges only:
- ``metric="mean_abs"`` (basiskit's): :math:`A^l_{ji} = \mathrm{mean}_n|\phi^l_{ji}|`,
  :math:`\lambda_1 \sum A + \lambda_e S(A / \sum A)` with the natural-log entropy S of the whole layer.
- ``metric="pykan"`` (pykan's ``edge_forward_spline_n``): :math:`A^l_{ji} = \mathrm{std}_n(\phi^l_{ji}) /
  (\mathrm{std}_n(x^l_i) + 0.1)`, :math:`\lambda_1 \sum A + \lambda_e (S_{row} + S_{col})` with
  :math:`p_{row} = A / (\text{row sum} + 1)`, :math:`p_{col} = A / (\text{column sum} + 1)`,
  :math:`S = -\mathrm{mean}\sum p \log_2(p + 10^{-4})` (sum within a row / column, mean over rows / columns).
- Either way, pykan's coefficient terms: :math:`\lambda_{coef} \sum_{edges} \mathrm{mean}_k |c_k|` and
  :math:`\lambda_{coefdiff} \sum_{edges} \mathrm{mean}_k |c_{k+1} - c_k|` over the spline coefficients.
"""
from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from .._validation import check_choice, check_float
from .kan_linear import KANLinear

PRUNE_BY = ("magnitude", "attribution")
METRICS = ("mean_abs", "pykan")


def regularization(kan: Any, x: torch.Tensor, lamb_l1: float, lamb_entropy: float, eps: float, metric: str,
                   lamb_coef: float, lamb_coefdiff: float) -> torch.Tensor:
    """The sparsity penalty of the module docstring, summed over layers: scalar tensor (differentiable)."""
    check_float("lamb_l1", lamb_l1, min_value=0.0)
    check_float("lamb_entropy", lamb_entropy, min_value=0.0)
    check_float("lamb_coef", lamb_coef, min_value=0.0)
    check_float("lamb_coefdiff", lamb_coefdiff, min_value=0.0)
    check_choice("metric", metric, METRICS)
    kan._check_data(x)
    total = x.new_zeros(())
    h = x
    for l, layer in enumerate(kan.layers):
        mask = kan.edges[l].numeric_mask.to(h.dtype)
        spline = layer.edge_activations(h) * mask  # (N, out, in)
        if metric == "mean_abs":
            mag = spline.abs().mean(0)
            l1 = mag.sum()
            prob = mag / (l1 + eps)
            entropy = -(prob * torch.log(prob + eps)).sum()
        else:
            mag = spline.std(0) / (h.std(0) + 0.1)  # (out, in)
            l1 = mag.sum()
            p_row = mag / (mag.sum(1, keepdim=True) + 1)
            p_col = mag / (mag.sum(0, keepdim=True) + 1)
            entropy = (-(p_row * torch.log2(p_row + 1e-4)).sum(1).mean()
                       - (p_col * torch.log2(p_col + 1e-4)).sum(0).mean())
        total = total + lamb_l1 * l1 + lamb_entropy * entropy
        if lamb_coef or lamb_coefdiff:
            coef = layer.spline_weight * mask.unsqueeze(-1)  # (out, in, n_basis)
            total = total + lamb_coef * coef.abs().mean(-1).sum()
            total = total + lamb_coefdiff * coef.diff(dim=-1).abs().mean(-1).sum()
        h = kan.multiply(kan._layer_forward(l, h), l + 1)
    return total


def node_scores(kan: Any, x: torch.Tensor, by: str = "magnitude") -> list[torch.Tensor]:
    """Per hidden node layer, each node's score (node_widths[l],), l = 1..depth-1."""
    check_choice("by", by, PRUNE_BY)
    if by == "attribution":
        return [s for s in kan.attribute(x).node_scores[1:-1]]
    mags = kan.edge_magnitudes(x)
    scores = []
    for l in range(len(mags) - 1):
        into_sub = mags[l].max(1).values  # (subnodes,)
        into = torch.stack([into_sub[g].max() for g in kan.subnode_groups(l + 1)])
        scores.append(torch.minimum(into, mags[l + 1].max(0).values))
    return scores


def edge_scores(kan: Any, x: torch.Tensor, by: str = "attribution") -> list[torch.Tensor]:
    """Per layer, each edge's score (subnode_widths[l+1], node_widths[l])."""
    check_choice("by", by, PRUNE_BY)
    if by == "attribution":
        return list(kan.attribute(x).edge_scores)
    return [m.detach() for m in kan.edge_magnitudes(x)]


def _fold_into_bias(layer: KANLinear, shift: torch.Tensor) -> None:
    """Add ``shift: (out,)`` to the layer's bias (creating one if it has none)."""
    if layer.bias is None:
        layer.bias = nn.Parameter(torch.zeros(layer.out_features, device=shift.device, dtype=layer.weight.dtype))
    layer.bias.add_(shift.to(layer.bias))


@torch.no_grad()
def prune_nodes(kan: Any, x: torch.Tensor, threshold: float, by: str = "magnitude") -> Any:
    """A smaller copy of ``kan`` without the hidden nodes scoring below ``threshold`` (module docstring); at
    least one node per layer is kept; a multiplication node goes with its subnodes."""
    kan._check_data(x)
    check_float("threshold", threshold, min_value=0.0)
    scores = node_scores(kan, x, by)
    keep = []
    for s in scores:
        k = torch.nonzero(s >= threshold).flatten()
        keep.append(k if k.numel() else s.argmax().reshape(1))
    new = copy.deepcopy(kan)
    inputs = kan.layer_inputs(x)
    for l, kept in enumerate(keep):
        layer, nxt = new.layers[l], new.layers[l + 1]
        groups, kept_set = kan.subnode_groups(l + 1), set(kept.tolist())
        dropped = torch.tensor([j for j in range(len(groups)) if j not in kept_set], dtype=torch.long,
                               device=kept.device)
        if dropped.numel():
            edge = kan.layer_edges(l + 1, inputs[l + 1])  # (N, out, in)
            _fold_into_bias(nxt, edge[:, :, dropped].mean(0).sum(-1))
        kept_sub = torch.tensor([j for k in kept.tolist() for j in groups[k]], dtype=torch.long, device=kept.device)
        _select_outputs(layer, kept_sub)
        new.edges[l].select(outputs=kept_sub)
        _select_inputs(nxt, kept)
        new.edges[l + 1].select(inputs=kept)
        n_sum = kan.widths[l + 1]
        new.widths[l + 1] = sum(1 for k in kept_set if k < n_sum)
        new.mult_nodes[l + 1] = len(kept_set) - new.widths[l + 1]
    return new


@torch.no_grad()
def prune_edges(kan: Any, x: torch.Tensor, threshold: float, by: str = "attribution") -> Any:
    """A copy of ``kan`` whose edges scoring below ``threshold`` are masked for good (module docstring)."""
    kan._check_data(x)
    check_float("threshold", threshold, min_value=0.0)
    scores = edge_scores(kan, x, by)
    new = copy.deepcopy(kan)
    inputs = kan.layer_inputs(x)
    for l, s in enumerate(scores):
        active = (kan.edges[l].numeric_mask != 0) | (kan.edges[l].symbolic_mask != 0)
        drop = (s < threshold) & active
        if not bool(drop.any()):
            continue
        edge = kan.layer_edges(l, inputs[l])  # (N, out, in)
        _fold_into_bias(new.layers[l], (edge.mean(0) * drop.to(edge.dtype)).sum(-1))
        new.edges[l].prune(~drop)
    return new


@torch.no_grad()
def prune_inputs(kan: Any, x: torch.Tensor, threshold: float, by: str = "attribution") -> Any:
    """A copy of ``kan`` without the input features scoring below ``threshold`` (at least one kept);
    ``new.input_ids`` maps its inputs to the original ones."""
    kan._check_data(x)
    check_float("threshold", threshold, min_value=0.0)
    check_choice("by", by, PRUNE_BY)
    if by == "attribution":
        scores = kan.feature_scores(x)
    else:
        scores = kan.edge_magnitudes(x)[0].max(0).values
    kept = torch.nonzero(scores >= threshold).flatten()
    if not kept.numel():
        kept = scores.argmax().reshape(1)
    new = copy.deepcopy(kan)
    dropped = torch.tensor([i for i in range(kan.widths[0]) if i not in set(kept.tolist())], dtype=torch.long,
                           device=kept.device)
    if dropped.numel():
        edge = kan.layer_edges(0, x)
        _fold_into_bias(new.layers[0], edge[:, :, dropped].mean(0).sum(-1))
    _select_inputs(new.layers[0], kept)
    new.edges[0].select(inputs=kept)
    new.widths[0] = int(kept.numel())
    ids = list(getattr(kan, "input_ids", range(kan.widths[0])))
    new.input_ids = [ids[i] for i in kept.tolist()]
    return new


def _select_outputs(layer: KANLinear, kept: torch.Tensor) -> None:
    """Keep the outputs (subnodes) ``kept`` of ``layer``."""
    layer.weight = nn.Parameter(layer.weight.detach()[kept].clone())
    if layer.bias is not None:
        layer.bias = nn.Parameter(layer.bias.detach()[kept].clone())
    layer.out_features = int(kept.numel())


def _select_inputs(layer: KANLinear, kept: torch.Tensor) -> None:
    """Keep the inputs ``kept`` of ``layer`` (their knot rows too)."""
    layer.weight = nn.Parameter(layer.weight.detach()[:, kept].clone())
    layer.in_features = int(kept.numel())
    if layer.basis_name == "bspline":
        b = layer.basis
        b.channels = int(kept.numel())
        b.knots = b.knots[kept].clone()
