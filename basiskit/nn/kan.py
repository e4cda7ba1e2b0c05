r"""``KAN``: a stack of ``KANLinear`` layers with the tools pykan users rely on (Liu et al. 2024, "KAN:
Kolmogorov-Arnold Networks"): grid updates and grid extension, sparsity regularisation, pruning, symbolic
regression of every edge and a picture of all edge functions.

Each layer is :math:`x^{l+1}_j = \sum_i \phi^l_{ji}(x^l_i) + \beta^l_j`. The edge activation magnitude used
for regularisation and pruning is :math:`|\phi^l_{ji}|_1 = \mathrm{mean}_n |\phi^l_{ji}(x^l_{ni})|`.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
from torch import nn

from .._validation import check_float, check_int, check_tensor, check_widths
from .kan_linear import KANLinear


class KANAttribution(NamedTuple):
    """Attribution scores of a KAN on some data (``KAN.attribute``): per layer, nodes (width,) and edges
    (out, in); ``node_scores[0]`` scores the input features."""

    node_scores: list[torch.Tensor]
    edge_scores: list[torch.Tensor]


class KAN(nn.Module):
    """Kolmogorov-Arnold network ``x: (..., widths[0]) -> (..., widths[-1])``.

    Args:
        widths: ``[in, hidden..., out]``.
        basis: basis name for every layer; ``grid_size``/``order``/``domain`` go to bases that take them
            (B-spline, ReLU-power), other ``**basis_kwargs`` to the basis as given.
        base_activation, bias, fused: as in ``KANLinear``.
    """

    def __init__(self, widths: Sequence[int], basis: str = "bspline", grid_size: int | None = 5,
                 order: int | None = 3, domain: Sequence[float] = (-1.0, 1.0), base_activation: str = "silu", *,
                 bias: bool = True, fused: bool = True, spline_scale: float = 0.1,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None,
                 **basis_kwargs: Any) -> None:
        super().__init__()
        widths = check_widths("widths", widths)
        kw = dict(basis_kwargs)
        if basis in ("bspline", "relu_power"):
            if grid_size is not None:
                kw["grid_size"] = check_int("grid_size", grid_size, min_value=1)
            if order is not None:
                kw["order"] = check_int("order", order, min_value=0)
            kw["domain"] = tuple(domain)
        self.widths = widths
        self.domain, self.basis_kwargs = tuple(float(v) for v in domain), dict(basis_kwargs)
        self.layers = nn.ModuleList(
            KANLinear(a, b, basis, base_activation, bias=bias, fused=fused, spline_scale=spline_scale,
                      device=device, dtype=dtype, **kw) for a, b in zip(widths[:-1], widths[1:]))
        self.symbolic: list[dict[tuple[int, int], Any]] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def _check_data(self, x: Any, arg: str = "x") -> torch.Tensor:
        check_tensor(arg, x, ndim=2, nonempty=True, finite=True)
        if x.shape[-1] != self.widths[0]:
            raise ValueError(f"{arg} must have shape (N, {self.widths[0]}), got {tuple(x.shape)}")
        return x

    def layer_inputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Input of every layer, ``[x, h_1, ..., h_{L-1}]`` (no grad), each (N, widths[l])."""
        outs = [x]
        with torch.no_grad():
            for layer in self.layers[:-1]:
                outs.append(layer(outs[-1]))
        return outs

    # ---- grids ---------------------------------------------------------------------------------
    @torch.no_grad()
    def update_grid(self, x: torch.Tensor, grid_eps: float = 0.02, margin: float = 0.0) -> None:
        """Layer by layer, move each knot grid to the data it sees and refit coefficients (function kept on the
        data). x: (N, widths[0]), finite."""
        self._check_data(x)
        h = x
        for layer in self.layers:
            layer.update_grid(h, grid_eps=grid_eps, margin=margin)
            h = layer(h)

    @torch.no_grad()
    def refine(self, new_grid_size: int, x: torch.Tensor | None = None) -> KAN:
        """Grid extension to ``new_grid_size`` intervals in every layer (in place; returns self). Each layer's
        function is kept on its grid range (exactly when the new size is a multiple of the old one); pass the
        data ``x`` to also fit at the points the layers actually see."""
        check_int("new_grid_size", new_grid_size, min_value=1)
        inputs = self.layer_inputs(self._check_data(x)) if x is not None else [None] * len(self.layers)
        for layer, h in zip(self.layers, inputs):
            layer.refine(new_grid_size, h)
        return self

    # ---- sparsity --------------------------------------------------------------------------------
    def edge_magnitudes(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Mean |phi| of every edge per layer, each (out, in); differentiable (used by the regulariser)."""
        self._check_data(x)
        mags, h = [], x
        for layer in self.layers:
            mags.append(layer.edge_activations(h).abs().mean(0))
            h = layer(h)
        return mags

    def regularization_loss(self, x: torch.Tensor, lamb_l1: float = 1.0, lamb_entropy: float = 2.0,
                            eps: float = 1e-12) -> torch.Tensor:
        r"""pykan's sparsity penalty :math:`\sum_l \lambda_1 \sum_{ji} A^l_{ji} + \lambda_e S(A^l / \sum A^l)`,
        with :math:`A^l_{ji}` the mean |phi| of edge (j, i) on ``x`` and S the entropy. Scalar tensor."""
        check_float("lamb_l1", lamb_l1, min_value=0.0)
        check_float("lamb_entropy", lamb_entropy, min_value=0.0)
        total = x.new_zeros(())
        for mag in self.edge_magnitudes(x):
            l1 = mag.sum()
            prob = mag / (l1 + eps)
            entropy = -(prob * torch.log(prob + eps)).sum()
            total = total + lamb_l1 * l1 + lamb_entropy * entropy
        return total

    @torch.no_grad()
    def attribute(self, x: torch.Tensor) -> KANAttribution:
        r"""Input attribution by pykan's rule (``MultKAN.attribute``), layer by layer from the outputs back.

        For each output k separately: its node starts with score 1; an edge's score is the score of the node it
        feeds times :math:`\mathrm{std}(\phi_{ji}) / (\mathrm{std}(x^{l+1}_j) + 10^{-4})`, standard deviations
        over ``x`` (:math:`x^{l+1}_j` is node j's value, the sum of its incoming edges plus its bias); a node's
        score is the sum of its outgoing edges' scores. Scores are then averaged over the outputs. (Multiplication
        nodes, when a KAN has them, copy their score to each input.) x: (N, widths[0]) with N >= 2.
        Returns ``node_scores[l]``: (widths[l],) for l = 0..depth, and ``edge_scores[l]``: (widths[l+1],
        widths[l]); ``node_scores[0]`` are the input features' scores.
        """
        self._check_data(x)
        if x.shape[0] < 2:
            raise ValueError(f"attribute needs at least 2 samples to measure spreads, got {x.shape[0]}")
        stds, h = [], x
        for layer in self.layers:
            edge = layer.edge_activations(h)  # (N, out, in)
            h = layer(h)
            stds.append((edge.std(0), h.std(0)))  # (out, in), (out,)
        n_out = self.widths[-1]
        node = torch.eye(n_out, dtype=x.dtype, device=x.device)  # (k, out): one attribution per output
        nodes = [node]
        edges = []
        for edge_std, node_std in reversed(stds):
            edge_score = edge_std.unsqueeze(0) * (node / (node_std + 1e-4)).unsqueeze(-1)  # (k, out, in)
            edges.append(edge_score)
            node = edge_score.sum(1)
            nodes.append(node)
        return KANAttribution(node_scores=[n.mean(0) for n in reversed(nodes)],
                              edge_scores=[e.mean(0) for e in reversed(edges)])

    def feature_scores(self, x: torch.Tensor) -> torch.Tensor:
        """The input features' attribution scores (``attribute(x).node_scores[0]``): (widths[0],)."""
        return self.attribute(x).node_scores[0]

    @torch.no_grad()
    def node_scores(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Per hidden layer, each node's importance: min(max incoming |phi|, max outgoing |phi|), (width,)."""
        mags = self.edge_magnitudes(x)
        return [torch.minimum(mags[l].max(1).values, mags[l + 1].max(0).values) for l in range(len(mags) - 1)]

    @torch.no_grad()
    def prune(self, x: torch.Tensor, threshold: float = 1e-2) -> KAN:
        """A smaller KAN without the hidden nodes whose score (``node_scores``) is below ``threshold``.

        A removed node's outgoing edges are replaced by their mean over ``x`` folded into the next layer's bias,
        so the kept network matches the original on the data up to the removed edges' variation. The original
        is left untouched; at least one node per layer is kept.
        """
        self._check_data(x)
        check_float("threshold", threshold, min_value=0.0)
        scores = self.node_scores(x)
        keep = []
        for s in scores:
            k = torch.nonzero(s >= threshold).flatten()
            keep.append(k if k.numel() else s.argmax().reshape(1))
        new = copy.deepcopy(self)
        new.symbolic = None
        inputs = self.layer_inputs(x)
        for l, kept in enumerate(keep):
            layer, nxt = new.layers[l], new.layers[l + 1]
            dropped = torch.tensor([j for j in range(layer.out_features) if j not in set(kept.tolist())],
                                   dtype=torch.long, device=kept.device)
            if dropped.numel():
                edge = self.layers[l + 1].edge_activations(inputs[l + 1])  # (N, out, in)
                shift = edge[:, :, dropped].mean(0).sum(-1)
                if nxt.bias is None:
                    nxt.bias = nn.Parameter(torch.zeros(nxt.out_features, device=shift.device, dtype=shift.dtype))
                nxt.bias.add_(shift.to(nxt.bias))
            _select_outputs(layer, kept)
            _select_inputs(nxt, kept)
        new.widths = [new.layers[0].in_features] + [layer.out_features for layer in new.layers]
        return new

    # ---- symbolic regression and pictures (see kan_symbolic, kan_plot) --------------------------------
    def auto_symbolic(self, x: torch.Tensor, library: Sequence[str] | None = None, **options: Any) -> list[dict]:
        """Fit every edge with ``c f(a x + b) + d`` from ``library`` (default: all of
        ``kan_symbolic.LIBRARY``); store the fits for ``symbolic_formula`` and return one report dict per edge
        (layer, in, out, function, params, r2). See ``basiskit.nn.kan_symbolic.auto_symbolic``."""
        from .kan_symbolic import auto_symbolic

        return auto_symbolic(self, self._check_data(x), library=library, **options)

    def symbolic_forward(self, x: torch.Tensor) -> torch.Tensor:
        """The network with every edge replaced by its symbolic fit (after ``auto_symbolic``)."""
        from .kan_symbolic import symbolic_forward

        return symbolic_forward(self, x)

    def fit_symbolic(self, x: torch.Tensor, y: torch.Tensor, steps: int = 50) -> float:
        """Tune the symbolic fits' constants (a, b, c, d and biases) jointly by LBFGS on (x, y); returns RMSE."""
        from .kan_symbolic import fit_symbolic

        return fit_symbolic(self, x, y, steps=steps)

    def symbolic_formula(self, variables: Sequence[str] | None = None, digits: int | None = None) -> Any:
        """The fitted network as sympy expression(s) (one per output; a single output gives the expression).
        Needs the ``symbolic`` extra (sympy)."""
        from .kan_symbolic import symbolic_formula

        return symbolic_formula(self, variables=variables, digits=digits)

    def plot(self, path: str, x: torch.Tensor | None = None, n_points: int = 200) -> str:
        """Save one PNG with every edge's learned function (pykan's picture); returns the path."""
        from .kan_plot import plot_kan

        return plot_kan(self, path, x=x, n_points=n_points)

    # ---- saving (see kan_io) ---------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """JSON-able description that rebuilds this network's architecture (``KAN.from_config``)."""
        from .kan_io import kan_config

        return kan_config(self)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> KAN:
        """A freshly initialised KAN with the architecture of ``config``."""
        from .kan_io import kan_from_config

        return kan_from_config(config)

    def save(self, path: str | Any) -> Any:
        """Weights (safetensors) and configuration (JSON, with symbolic fits) in the folder ``path``."""
        from .kan_io import save_kan

        return save_kan(self, path)

    @classmethod
    def load(cls, path: str | Any) -> KAN:
        """The KAN saved by ``save`` in ``path``: pruned, refined and symbolic ones included."""
        from .kan_io import load_kan

        return load_kan(path)

    def extra_repr(self) -> str:
        return f"widths={self.widths}"


def _select_outputs(layer: KANLinear, kept: torch.Tensor) -> None:
    layer.weight = nn.Parameter(layer.weight.detach()[kept].clone())
    if layer.bias is not None:
        layer.bias = nn.Parameter(layer.bias.detach()[kept].clone())
    layer.out_features = int(kept.numel())


def _select_inputs(layer: KANLinear, kept: torch.Tensor) -> None:
    layer.weight = nn.Parameter(layer.weight.detach()[:, kept].clone())
    layer.in_features = int(kept.numel())
    if layer.basis_name == "bspline":
        b = layer.basis
        b.channels = int(kept.numel())
        b.knots = b.knots[kept].clone()
