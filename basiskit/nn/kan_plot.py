"""The pictures pykan users know: ``plot_kan`` draws every edge function of a KAN, one small panel per edge, in
one PNG; ``plot_network`` draws pykan's network diagram (nodes in rows, each edge's function drawn on the edge,
faded by its attribution score, variable names at the inputs and outputs).

Layer l occupies a block of ``out_l`` rows by ``in_l`` columns; panel (j, i) shows phi_ji over the range its
input takes on the data (or over the grid range without data). Line opacity follows the edge's share of its
layer's mean |phi|, so pruned-away edges fade; symbolic fits, when present, are named in the title. A layer feeding multiplication nodes shows one row per
subnode; the title names the product it enters (``3*m0``: subnode 3, a factor of multiplication node 0).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch


@torch.no_grad()
def plot_kan(kan: Any, path: str | Path, x: torch.Tensor | None = None, n_points: int = 200) -> str:
    """Every edge function of ``kan`` in one PNG at ``path`` (computed without autograd: no tensor that requires
    grad reaches matplotlib); returns the path."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    layers = list(kan.layers)
    x = x.detach() if x is not None else None
    inputs = kan.layer_inputs(x) if x is not None else [None] * len(layers)
    mags = [m.detach() for m in kan.edge_magnitudes(x)] if x is not None else None
    rows = sum(layer.out_features for layer in layers)
    cols = max(layer.in_features for layer in layers)
    fig, axes = plt.subplots(rows, cols, figsize=(1.9 * cols, 1.4 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    row0 = 0
    for l, (layer, h) in enumerate(zip(layers, inputs)):
        with torch.no_grad():
            if h is not None:
                lo, hi = h.min(0).values, h.max(0).values
            elif layer.basis_name == "bspline":
                order = layer.basis.order
                lo, hi = layer.basis.knots[:, order], layer.basis.knots[:, -1 - order]
            else:
                lo = torch.full((layer.in_features,), -1.0)
                hi = torch.full((layer.in_features,), 1.0)
            frac = torch.linspace(0, 1, n_points, dtype=layer.weight.dtype).unsqueeze(-1)
            grid = (lo + (hi - lo) * frac).to(layer.weight)
            edges = kan.layer_edges(l, grid) if hasattr(kan, "layer_edges") else layer.edge_activations(grid)
        for j in range(layer.out_features):
            for i in range(layer.in_features):
                ax = axes[row0 + j, i]
                ax.axis("on")
                alpha = 1.0
                if mags is not None:
                    alpha = float((mags[l][j, i] / mags[l].max().clamp_min(1e-12)).clamp(0.08, 1.0))
                ax.plot(grid[:, i].cpu().numpy(), edges[:, j, i].cpu().numpy(), color="k", alpha=alpha, lw=1.2)
                label = f"L{l}: {i}->{_subnode_name(kan, l + 1, j)}"
                label += _edge_tag(kan, l, i, j)
                ax.set_title(label, fontsize=7)
                ax.tick_params(labelsize=5)
        row0 += layer.out_features
    fig.suptitle(f"KAN {kan.widths}: edge functions", fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)


def _edge_tag(kan: Any, l: int, i: int, j: int) -> str:
    """" [name]" for a symbolic edge, " [pruned]" for a pruned one, "" for a spline edge."""
    edges = getattr(kan, "edges", None)
    if edges is None:
        return ""
    name = edges[l].names[j][i]
    if name is not None:
        return f" [{name}]"
    return " [pruned]" if float(edges[l].numeric_mask[j, i]) == 0 else ""


def _subnode_name(kan: Any, l: int, j: int) -> str:
    """Name of output (subnode) ``j`` feeding node layer ``l``: its index, or ``j*mM`` when it enters
    multiplication node M."""
    n_sum = kan.widths[l]
    if j < n_sum or not any(getattr(kan, "mult_nodes", ())):
        return str(j)
    return f"{j}*m{(j - n_sum) // kan.mult_arity}"


@torch.no_grad()
def plot_network(kan: Any, path: str | Path, x: torch.Tensor, in_vars: Sequence[str] | None = None,
                 out_vars: Sequence[str] | None = None, n_points: int = 100, beta: float = 3.0,
                 title: str | None = None) -> str:
    r"""pykan's diagram of ``kan`` on data ``x: (N, widths[0])``, saved as a PNG at ``path``; returns the path.

    Node layer l is a row of dots (sum nodes) and crosses (multiplication nodes) at height l; a layer feeding
    multiplication nodes also has a row of small subnode dots just below its nodes, each joined to the node it
    enters. Every edge is a line from its input node to its output (sub)node with the edge function (spline or
    symbolic fit, over the range the input takes on ``x``) drawn in a small box at its middle. Line and curve
    opacity is :math:`\tanh(\beta\, s / \max_\text{layer} s)` with s the edge's attribution score
    (``KAN.attribute``), so unimportant edges fade (pykan's rule, ``beta=3``); pruned edges are not drawn and a
    symbolic edge's box is titled with its function. ``in_vars``/``out_vars`` label the inputs and outputs."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    x = kan._check_data(x.detach())
    n_in, n_out = kan.widths[0], kan.widths[-1]
    in_vars = [f"x_{i + 1}" for i in range(n_in)] if in_vars is None else [str(v) for v in in_vars]
    out_vars = [f"y_{k + 1}" for k in range(n_out)] if out_vars is None else [str(v) for v in out_vars]
    if len(in_vars) != n_in:
        raise ValueError(f"in_vars must name {n_in} inputs, got {len(in_vars)}: {in_vars}")
    if len(out_vars) != n_out:
        raise ValueError(f"out_vars must name {n_out} outputs, got {len(out_vars)}: {out_vars}")
    scores = [e.detach() for e in kan.attribute(x).edge_scores]
    inputs = kan.layer_inputs(x)
    depth = len(kan.layers)
    node_w, sub_w = kan.node_widths, kan.subnode_widths
    span = max(max(node_w), max(sub_w))

    def xs(n: int) -> list[float]:
        return [(k + 0.5) * span / n for k in range(n)]

    fig, ax = plt.subplots(figsize=(max(4.0, 1.3 * span), 2.6 * depth + 0.8))
    ax.set_xlim(0, span)
    ax.set_ylim(-0.35, depth + 0.35)
    ax.axis("off")
    node_x = [xs(n) for n in node_w]
    sub_x = [xs(n) for n in sub_w]
    sub_y = 0.22  # subnodes sit this far below their node row
    box = min(0.45, 0.8 * span / max(max(node_w[l] * sub_w[l + 1] for l in range(depth)), 1) ** 0.5)
    for l in range(depth + 1):
        n_sum = kan.widths[l]
        for k, px in enumerate(node_x[l]):
            if k < n_sum:
                ax.scatter([px], [l], s=60, c="k", zorder=3)
            else:
                ax.scatter([px], [l], s=110, c="k", marker="x", zorder=3, linewidths=2.5)
    for l in range(1, depth):  # subnode rows of layers with multiplication nodes
        if not kan.mult_nodes[l]:
            continue
        for k, group in enumerate(kan.subnode_groups(l)):
            for s in group:
                ax.scatter([sub_x[l][s]], [l - sub_y], s=14, c="k", zorder=3)
                ax.plot([sub_x[l][s], node_x[l][k]], [l - sub_y, l], color="k", lw=1.0)
    for l, layer in enumerate(kan.layers):
        h = inputs[l]
        lo, hi = h.min(0).values, h.max(0).values
        frac = torch.linspace(0, 1, n_points, dtype=h.dtype, device=h.device).unsqueeze(-1)
        grid = lo + (hi - lo) * frac
        curves = kan.layer_edges(l, grid)  # (P, out, in)
        top = float(scores[l].max()) if scores[l].numel() else 0.0
        to_y = l + 1 - (sub_y if kan.mult_nodes[l + 1] else 0.0)
        targets = sub_x[l + 1] if kan.mult_nodes[l + 1] else node_x[l + 1]
        edges = kan.edges[l]
        for j in range(layer.out_features):
            for i in range(layer.in_features):
                if float(edges.numeric_mask[j, i]) == 0 and float(edges.symbolic_mask[j, i]) == 0:
                    continue  # pruned
                alpha = math.tanh(beta * float(scores[l][j, i]) / top) if top > 0 else 1.0
                alpha = max(alpha, 0.03)
                x0, y0, x1, y1 = node_x[l][i], float(l), targets[j], to_y
                ax.plot([x0, x1], [y0, y1], color="k", lw=1.0, alpha=alpha)
                cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
                inset = ax.inset_axes([cx - box / 2, cy - box / 4, box, box / 2], transform=ax.transData)
                inset.plot(grid[:, i].cpu().numpy(), curves[:, j, i].cpu().numpy(), color="k", alpha=alpha, lw=1.0)
                inset.set_xticks([])
                inset.set_yticks([])
                for side in inset.spines.values():
                    side.set_alpha(alpha)
                name = edges.names[j][i]
                if name is not None:
                    inset.set_title(name, fontsize=6, pad=1, alpha=max(alpha, 0.3))
    for i, v in enumerate(in_vars):
        ax.text(node_x[0][i], -0.2, v, ha="center", va="top", fontsize=10)
    for k, v in enumerate(out_vars):
        ax.text(node_x[depth][k], depth + 0.12, v, ha="center", va="bottom", fontsize=10)
    ax.set_title(title or f"KAN {kan.widths}" + (f", mult_nodes {kan.mult_nodes}" if any(kan.mult_nodes) else ""),
                 fontsize=9)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return str(path)
