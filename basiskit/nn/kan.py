r"""``KAN``: a stack of ``KANLinear`` layers with the tools pykan users rely on (Liu et al. 2024, "KAN:
Kolmogorov-Arnold Networks"): grid updates and grid extension, sparsity regularisation, pruning, symbolic
regression of every edge and a picture of all edge functions.

Each layer is :math:`x^{l+1}_j = \sum_i \phi^l_{ji}(x^l_i) + \beta^l_j`. The edge activation magnitude used
for regularisation and pruning is :math:`|\phi^l_{ji}|_1 = \mathrm{mean}_n |\phi^l_{ji}(x^l_{ni})|`.

Multiplication nodes (KAN 2.0, Liu et al. 2024, "KAN 2.0: Kolmogorov-Arnold Networks Meet Science"; pykan's
``MultKAN`` layout): ``mult_nodes[l] = M`` gives hidden node layer l ``widths[l]`` sum nodes followed by M
multiplication nodes. The layer feeding it then has ``widths[l] + arity * M`` outputs ("subnodes"): the first
``widths[l]`` are the sum nodes, and multiplication node m is the product of the ``arity`` consecutive subnodes
``widths[l] + m * arity, ..., widths[l] + (m + 1) * arity - 1``:

.. math::  x^{l}_{\mathrm{sum},j} = s_j, \qquad x^{l}_{\mathrm{mult},m} = \prod_{k<\mathrm{arity}} s_{n + m\,\mathrm{arity} + k}

with :math:`s` the subnodes (edge sums plus bias) and n = ``widths[l]``. The next layer reads ``widths[l] + M``
nodes.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
from torch import nn

from .._validation import check_int, check_tensor, check_widths
from .kan_linear import KANLinear, multiply_subnodes
from .kan_symbolic import KANEdges


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
        base_activation, fused, spline_scale, boundary: as in ``KANLinear`` (``boundary`` applies to the
            B-spline basis: ``"extend"``, pykan's, by default).
        bias: give every layer a learnable output bias. Off by default, pykan's layout (its node biases are fixed
            at 0): a trainable hidden bias moves the next layer's inputs off the grid they were fitted to, and
            with pykan's grid-extension schedule the fit ends ~1.5x less accurate (``kan-fit``, docs/kan.md).
        mult_nodes: multiplication nodes per node layer, ``len(widths)`` ints, 0 on the input and output
            layers (default: none). A hidden layer with multiplication nodes may have ``widths[l] = 0`` sum nodes.
        mult_arity: how many subnodes each multiplication node multiplies (>= 2).

    ``widths`` keeps counting sum nodes only; ``node_widths`` counts all nodes of each layer and
    ``subnode_widths`` each layer's outputs (before multiplication).
    """

    def __init__(self, widths: Sequence[int], basis: str = "bspline", grid_size: int | None = 5,
                 order: int | None = 3, domain: Sequence[float] = (-1.0, 1.0), base_activation: str = "silu", *,
                 bias: bool = False, fused: bool = True, spline_scale: float = 0.1, boundary: str = "extend",
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None,
                 mult_nodes: Sequence[int] | None = None, mult_arity: int = 2, **basis_kwargs: Any) -> None:
        super().__init__()
        widths, mult = _check_mult_widths(widths, mult_nodes, mult_arity)
        kw = dict(basis_kwargs)
        if basis in ("bspline", "relu_power"):
            if grid_size is not None:
                kw["grid_size"] = check_int("grid_size", grid_size, min_value=1)
            if order is not None:
                kw["order"] = check_int("order", order, min_value=0)
            kw["domain"] = tuple(domain)
        self.widths, self.mult_nodes, self.mult_arity = widths, mult, int(mult_arity)
        self.domain, self.basis_kwargs = tuple(float(v) for v in domain), dict(basis_kwargs)
        self.layers = nn.ModuleList(
            KANLinear(a, b, basis, base_activation, bias=bias, fused=fused, spline_scale=spline_scale,
                      boundary=boundary, device=device, dtype=dtype, **kw)
            for a, b in zip(self.node_widths[:-1], self.subnode_widths[1:]))
        # per-edge masks and symbolic branch (kan_symbolic.KANEdges); original index of each input (prune_inputs)
        self.edges = nn.ModuleList(KANEdges(layer.in_features, layer.out_features, device=device, dtype=dtype)
                                   for layer in self.layers)
        self.input_ids = list(range(self.widths[0]))

    @property
    def node_widths(self) -> list[int]:
        """Nodes per layer, sum plus multiplication nodes: ``widths[l] + mult_nodes[l]``."""
        return [w + m for w, m in zip(self.widths, self.mult_nodes)]

    @property
    def subnode_widths(self) -> list[int]:
        """Outputs of the layer feeding node layer l: ``widths[l] + mult_arity * mult_nodes[l]``."""
        return [w + self.mult_arity * m for w, m in zip(self.widths, self.mult_nodes)]

    def multiply(self, h: torch.Tensor, l: int) -> torch.Tensor:
        """Node layer ``l``'s values from its subnodes: (..., subnode_widths[l]) -> (..., node_widths[l]); the
        sum nodes pass through, each multiplication node is the product of its ``mult_arity`` consecutive
        subnodes. The identity where the layer has no multiplication nodes."""
        return multiply_subnodes(h, self.widths[l], self.mult_nodes[l], self.mult_arity)

    def subnode_groups(self, l: int) -> list[list[int]]:
        """For node layer ``l``: the subnode indices behind each node (one for a sum node, ``mult_arity`` for a
        multiplication node), in node order."""
        n, a = self.widths[l], self.mult_arity
        return [[j] for j in range(n)] + [list(range(n + m * a, n + (m + 1) * a)) for m in range(self.mult_nodes[l])]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for l in range(len(self.layers)):
            x = self.multiply(self._layer_forward(l, x), l + 1)
        return x

    def _layer_forward(self, l: int, x: torch.Tensor) -> torch.Tensor:
        """Layer ``l`` with its edge masks and symbolic edges (``kan_symbolic``): (..., in) -> (..., out). The
        plain ``KANLinear`` call while every edge is an active spline."""
        layer, edges = self.layers[l], self.edges[l]
        if edges.all_numeric:
            return layer(x)
        masked = layer.weight * edges.numeric_mask.to(layer.weight.dtype).unsqueeze(-1)
        y = torch.func.functional_call(layer, {"weight": masked}, (x,))
        if edges.has_symbolic:
            y = y + edges(x.to(y.dtype))
        return y

    def layer_edges(self, l: int, h: torch.Tensor, include_symbolic: bool = True) -> torch.Tensor:
        """Every edge's value in layer ``l`` (masked spline plus symbolic part, no bias): h (N, node_widths[l])
        -> (N, subnode_widths[l+1], node_widths[l])."""
        edges = self.edges[l]
        values = self.layers[l].edge_activations(h)
        if edges.all_numeric:
            return values
        values = values * edges.numeric_mask.to(values.dtype)
        return values + edges.edge_values(h) if include_symbolic else values

    def _check_data(self, x: Any, arg: str = "x") -> torch.Tensor:
        check_tensor(arg, x, ndim=2, nonempty=True, finite=True)
        if x.shape[-1] != self.widths[0]:
            raise ValueError(f"{arg} must have shape (N, {self.widths[0]}), got {tuple(x.shape)}")
        return x

    def layer_inputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Input of every layer, ``[x, h_1, ..., h_{L-1}]`` (no grad), each (N, node_widths[l]) (after the
        multiplication nodes)."""
        outs = [x]
        with torch.no_grad():
            for l in range(len(self.layers) - 1):
                outs.append(self.multiply(self._layer_forward(l, outs[-1]), l + 1))
        return outs

    # ---- grids ---------------------------------------------------------------------------------
    @torch.no_grad()
    def update_grid(self, x: torch.Tensor, grid_eps: float = 0.02, margin: float = 0.0) -> None:
        """Layer by layer, move each knot grid to the data it sees and refit coefficients (function kept on the
        data). x: (N, widths[0]), finite."""
        self._check_data(x)
        h = x
        for l, layer in enumerate(self.layers):
            layer.update_grid(h, grid_eps=grid_eps, margin=margin)
            h = self.multiply(self._layer_forward(l, h), l + 1)

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
    def edge_magnitudes(self, x: torch.Tensor, include_symbolic: bool = True) -> list[torch.Tensor]:
        """Mean |phi| of every edge per layer (masked: a pruned edge is 0), each (subnode_widths[l+1],
        node_widths[l]); differentiable. ``include_symbolic=False`` counts the spline part only."""
        self._check_data(x)
        mags, h = [], x
        for l in range(len(self.layers)):
            mags.append(self.layer_edges(l, h, include_symbolic).abs().mean(0))
            h = self.multiply(self._layer_forward(l, h), l + 1)
        return mags

    def regularization_loss(self, x: torch.Tensor, lamb_l1: float = 1.0, lamb_entropy: float = 2.0,
                            eps: float = 1e-12, *, metric: str = "mean_abs", lamb_coef: float = 0.0,
                            lamb_coefdiff: float = 0.0) -> torch.Tensor:
        r"""Sparsity penalty on the active spline edges, scalar tensor. ``metric="mean_abs"`` (default):
        :math:`\sum_l \lambda_1 \sum_{ji} A^l_{ji} + \lambda_e S(A^l / \sum A^l)` with :math:`A^l_{ji}` the mean
        |phi| of edge (j, i) on ``x`` and S the entropy; ``metric="pykan"``: pykan's std-ratio scores with row and
        column entropies (log2); ``lamb_coef``/``lamb_coefdiff``: pykan's spline-coefficient L1 terms. Formulas in
        ``basiskit.nn.kan_prune``."""
        from .kan_prune import regularization

        return regularization(self, x, lamb_l1, lamb_entropy, eps, metric, lamb_coef, lamb_coefdiff)

    @torch.no_grad()
    def attribute(self, x: torch.Tensor) -> KANAttribution:
        r"""Input attribution by pykan's rule (``MultKAN.attribute``), layer by layer from the outputs back.

        For each output k separately: its node starts with score 1; an edge's score is the score of the node it
        feeds times :math:`\mathrm{std}(\phi_{ji}) / (\mathrm{std}(x^{l+1}_j) + 10^{-4})`, standard deviations
        over ``x`` (:math:`x^{l+1}_j` is the value of the (sub)node the edge feeds, the sum of its incoming edges
        plus its bias); a node's score is the sum of its outgoing edges' scores. A multiplication node copies its
        score (not split) to each of the ``mult_arity`` subnodes it multiplies; a sum node is its own subnode.
        Scores are then averaged over the outputs. x: (N, widths[0]) with N >= 2.
        Returns ``node_scores[l]``: (node_widths[l],) for l = 0..depth (sum nodes, then multiplication nodes),
        and ``edge_scores[l]``: (subnode_widths[l+1], node_widths[l]); ``node_scores[0]`` are the input
        features' scores.
        """
        self._check_data(x)
        if x.shape[0] < 2:
            raise ValueError(f"attribute needs at least 2 samples to measure spreads, got {x.shape[0]}")
        stds, h = [], x
        for l in range(len(self.layers)):
            edge = self.layer_edges(l, h)  # (N, subnodes, in)
            sub = self._layer_forward(l, h)
            stds.append((edge.std(0), sub.std(0)))  # (subnodes, in), (subnodes,)
            h = self.multiply(sub, l + 1)
        n_out = self.widths[-1]
        node = torch.eye(n_out, dtype=x.dtype, device=x.device)  # (k, out): one attribution per output
        nodes = [node]
        edges = []
        for l in reversed(range(len(self.layers))):
            edge_std, sub_std = stds[l]
            n_sum = self.widths[l + 1]
            # copy rule: each multiplication node's score goes unchanged to each of its subnodes
            sub_score = torch.cat([node[:, :n_sum], node[:, n_sum:].repeat_interleave(self.mult_arity, -1)], -1)
            edge_score = edge_std.unsqueeze(0) * (sub_score / (sub_std + 1e-4)).unsqueeze(-1)  # (k, sub, in)
            edges.append(edge_score)
            node = edge_score.sum(1)
            nodes.append(node)
        return KANAttribution(node_scores=[n.mean(0) for n in reversed(nodes)],
                              edge_scores=[e.mean(0) for e in reversed(edges)])

    def feature_scores(self, x: torch.Tensor) -> torch.Tensor:
        """The input features' attribution scores (``attribute(x).node_scores[0]``): (widths[0],)."""
        return self.attribute(x).node_scores[0]

    @torch.no_grad()
    def node_scores(self, x: torch.Tensor, by: str = "magnitude") -> list[torch.Tensor]:
        """Per hidden layer, each node's importance (node_widths[l],): ``by="magnitude"``: min(max incoming |phi|,
        max outgoing |phi|), a multiplication node's incoming edges being those of all its subnodes;
        ``by="attribution"``: the node scores of ``attribute``."""
        from .kan_prune import node_scores

        return node_scores(self, x, by)

    def prune(self, x: torch.Tensor, threshold: float = 1e-2, by: str = "magnitude") -> KAN:
        """A smaller KAN without the hidden nodes whose score (``node_scores(x, by)``) is below ``threshold``.

        A removed node's outgoing edges are replaced by their mean over ``x`` folded into the next layer's bias,
        so the kept network matches the original on the data up to the removed edges' variation. The original
        is left untouched; at least one node per layer is kept. A multiplication node is kept or removed together
        with the subnodes it multiplies; symbolic edges and edge masks of the kept nodes are kept.
        """
        from .kan_prune import prune_nodes

        return prune_nodes(self, x, threshold, by)

    def prune_edges(self, x: torch.Tensor, threshold: float = 1e-2, by: str = "attribution") -> KAN:
        """A copy whose edges scoring below ``threshold`` (``attribute(x).edge_scores``, or mean |phi| with
        ``by="magnitude"``) are masked for good: the masks are saved with the model and training cannot bring a
        pruned edge back. The removed edges' means go into the bias."""
        from .kan_prune import prune_edges

        return prune_edges(self, x, threshold, by)

    def prune_inputs(self, x: torch.Tensor, threshold: float = 1e-2, by: str = "attribution") -> KAN:
        """A KAN without the input features scoring below ``threshold`` (``feature_scores(x)``, or the largest
        mean |phi| of their edges with ``by="magnitude"``); ``new.input_ids`` lists the original index of each
        kept input, and the new model takes ``x[:, new.input_ids]``."""
        from .kan_prune import prune_inputs

        return prune_inputs(self, x, threshold, by)

    # ---- symbolic regression and pictures (see kan_symbolic, kan_plot) --------------------------------
    def fix_symbolic(self, layer: int, i: int, j: int, fn: str, x: torch.Tensor | None = None, *,
                     params: Sequence[float] | None = None, **fit_options: Any) -> float | None:
        """Fix edge (``layer``, input ``i`` -> output ``j``) to ``c fn(a x + b) + d`` (``fn`` a name of
        ``kan_symbolic.LIBRARY``, user functions added with ``register_symbolic``, or "0"). With data ``x`` the
        constants are fitted to the edge's spline (returns R^2); ``params=(a, b, c, d)`` sets them; neither gives
        (1, 0, 1, 0). The constants are trainable parameters; the spline is kept for ``unfix_symbolic``."""
        from .kan_symbolic import fix_symbolic

        return fix_symbolic(self, layer, i, j, fn, None if x is None else self._check_data(x), params=params,
                            **fit_options)

    def unfix_symbolic(self, layer: int, i: int, j: int) -> None:
        """Edge (``layer``, ``i`` -> ``j``) back to its spline."""
        from .kan_symbolic import unfix_symbolic

        unfix_symbolic(self, layer, i, j)

    def suggest_symbolic(self, layer: int, i: int, j: int, x: torch.Tensor, top_k: int = 5,
                         library: Sequence[str] | None = None, **options: Any) -> list[dict[str, Any]]:
        """The ``top_k`` best library functions for edge (``layer``, ``i`` -> ``j``) on ``x``, best first:
        ``{function, r2, complexity, params: [a, b, c, d]}`` (see ``kan_symbolic.rank_fits``)."""
        from .kan_symbolic import suggest_symbolic

        return suggest_symbolic(self, layer, i, j, self._check_data(x), top_k, library, **options)

    def auto_symbolic(self, x: torch.Tensor, library: Sequence[str] | None = None, **options: Any) -> list[dict]:
        """Fix every active spline edge to its best ``c f(a x + b) + d`` from ``library`` (default: all of
        ``kan_symbolic.LIBRARY``); edges already fixed stay. Returns one report dict per edge fixed (layer, input,
        output, function, params, r2); ``layers=[...]`` fixes only those layers, ``tolerance=`` prefers simpler
        functions within that much R^2 of the best. See ``basiskit.nn.kan_symbolic.auto_symbolic``."""
        from .kan_symbolic import auto_symbolic

        return auto_symbolic(self, self._check_data(x), library=library, **options)

    def symbolic_forward(self, x: torch.Tensor) -> torch.Tensor:
        """The network once every active edge is symbolic (then equal to ``self(x)``); raises while splines
        remain."""
        from .kan_symbolic import symbolic_forward

        return symbolic_forward(self, x)

    def fit_symbolic(self, x: torch.Tensor, y: torch.Tensor, steps: int = 50) -> float:
        """Tune the symbolic edges' constants (a, b, c, d) and the biases jointly by LBFGS on (x, y), splines
        frozen; returns the RMSE."""
        from .kan_symbolic import fit_symbolic

        return fit_symbolic(self, x, y, steps=steps)

    def symbolic_formula(self, variables: Sequence[str] | None = None, digits: int | None = None) -> Any:
        """The network as sympy expression(s) (one per output; a single output gives the expression), from the
        fixed edges; every active edge must be symbolic. Needs the ``symbolic`` extra (sympy)."""
        from .kan_symbolic import symbolic_formula

        return symbolic_formula(self, variables=variables, digits=digits)

    @property
    def symbolic(self) -> list[dict[str, Any]] | None:
        """Deprecated: the symbolic fits now live per edge in ``kan.edges[l]`` (names, ``affine``, masks). A
        snapshot in the old layout (per layer ``names``, ``params`` (out, in, 4), ``bias``), or None."""
        warnings.warn("KAN.symbolic is deprecated: the symbolic edges are kan.edges[l] (names, affine, masks)",
                      DeprecationWarning, stacklevel=2)
        if not any(e.has_symbolic for e in self.edges):
            return None
        return [{"names": [list(r) for r in e.names], "params": e.affine.detach().clone(),
                 "bias": (layer.bias.detach().clone() if layer.bias is not None
                          else torch.zeros(layer.out_features, dtype=e.affine.dtype))}
                for layer, e in zip(self.layers, self.edges)]

    def plot(self, path: str, x: torch.Tensor | None = None, n_points: int = 200) -> str:
        """Save one PNG with every edge's learned function (pykan's picture); returns the path."""
        from .kan_plot import plot_kan

        return plot_kan(self, path, x=x, n_points=n_points)

    def plot_network(self, path: str, x: torch.Tensor, in_vars: Sequence[str] | None = None,
                     out_vars: Sequence[str] | None = None, **options: Any) -> str:
        """pykan's network diagram (nodes, each edge's function drawn on the edge, faded by its attribution score,
        variable names) as one PNG; returns the path. See ``basiskit.nn.kan_plot.plot_network``."""
        from .kan_plot import plot_network

        return plot_network(self, path, x, in_vars=in_vars, out_vars=out_vars, **options)

    # ---- saving (see kan_io) ---------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """JSON-able description that rebuilds this network's architecture (``KAN.from_config``)."""
        from .kan_io import kan_config

        return kan_config(self)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> KAN:
        """A freshly initialised KAN with the architecture of ``config``."""
        from .kan_io import kan_from_config

        return kan_from_config(config, cls)

    def save(self, path: str | Any) -> Any:
        """Weights (safetensors) and configuration (JSON, with symbolic fits) in the folder ``path``."""
        from .kan_io import save_kan

        return save_kan(self, path)

    @classmethod
    def load(cls, path: str | Any) -> KAN:
        """The KAN saved by ``save`` in ``path``: pruned, refined and symbolic ones included."""
        from .kan_io import load_kan

        return load_kan(path, cls)

    def extra_repr(self) -> str:
        if any(self.mult_nodes):
            return f"widths={self.widths}, mult_nodes={self.mult_nodes}, mult_arity={self.mult_arity}"
        return f"widths={self.widths}"


def _check_mult_widths(widths: Any, mult_nodes: Sequence[int] | None, mult_arity: Any
                       ) -> tuple[list[int], list[int]]:
    """Validated ``(widths, mult_nodes)``; ``widths[l]`` may be 0 only where ``mult_nodes[l] > 0``."""
    check_int("mult_arity", mult_arity, min_value=2)
    if mult_nodes is None:
        widths = check_widths("widths", widths)
        return widths, [0] * len(widths)
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence):
        return check_widths("widths", widths), []  # raises the usual TypeError
    if isinstance(mult_nodes, (str, bytes)) or not isinstance(mult_nodes, Sequence):
        raise TypeError(f"mult_nodes must be a sequence of ints, one per node layer, got "
                        f"{type(mult_nodes).__name__}")
    mult = [check_int(f"mult_nodes[{l}]", m, min_value=0) for l, m in enumerate(mult_nodes)]
    if len(mult) != len(widths):
        raise ValueError(f"mult_nodes must have one entry per node layer (len(widths) = {len(widths)}), got "
                         f"{len(mult)}: {list(mult_nodes)}")
    if mult[0] or mult[-1]:
        raise ValueError(f"mult_nodes must be 0 on the input and output layers (multiplication nodes go in hidden "
                         f"layers), got {mult}")
    # a hidden layer made only of multiplication nodes may have 0 sum nodes; everything else is checked as usual
    checked = check_widths("widths", [1 if m > 0 and isinstance(w, int) and w == 0 else w
                                      for w, m in zip(widths, mult)])
    return [0 if m > 0 and w == 0 else c for w, m, c in zip(widths, mult, checked)], mult

