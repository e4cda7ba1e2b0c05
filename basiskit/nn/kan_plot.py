"""The picture pykan users know: every edge function of a KAN, one small panel per edge, in one PNG.

Layer l occupies a block of ``out_l`` rows by ``in_l`` columns; panel (j, i) shows phi_ji over the range its
input takes on the data (or over the grid range without data). Line opacity follows the edge's share of its
layer's mean |phi|, so pruned-away edges fade; symbolic fits, when present, are named in the title. A layer feeding multiplication nodes shows one row per
subnode; the title names the product it enters (``3*m0``: subnode 3, a factor of multiplication node 0).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch


def plot_kan(kan: Any, path: str | Path, x: torch.Tensor | None = None, n_points: int = 200) -> str:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    layers = list(kan.layers)
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
            edges = layer.edge_activations(grid)  # (P, out, in)
        for j in range(layer.out_features):
            for i in range(layer.in_features):
                ax = axes[row0 + j, i]
                ax.axis("on")
                alpha = 1.0
                if mags is not None:
                    alpha = float((mags[l][j, i] / mags[l].max().clamp_min(1e-12)).clamp(0.08, 1.0))
                ax.plot(grid[:, i].cpu(), edges[:, j, i].cpu(), color="k", alpha=alpha, lw=1.2)
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
