r"""``KANLinear``: a Kolmogorov-Arnold layer that drops in for ``nn.Linear`` (Liu et al. 2024, "KAN:
Kolmogorov-Arnold Networks"; the packed efficient form of efficient-kan).

.. math::  y_o = \sum_i \phi_{oi}(x_i) + \beta_o, \qquad
           \phi_{oi}(x) = W_{b,oi}\,\sigma(x) + \sum_k W_{s,oik}\, B_k(x)

i.e. :math:`y = \sigma(x) W_b^T + B(x) W_s^T + \beta` with :math:`B(x)` flattened to ``in_features * n_basis``.
The weight is stored packed, ``weight: (out, in, n_basis + 1)``: ``[..., :n_basis]`` is :math:`W_s` and
``[..., n_basis]`` is :math:`W_b` (views ``spline_weight`` / ``base_weight``).

With ``basis="bspline"`` each input feature owns a knot row (``basis.knots: (in, K)``, what ``update_grid``
rewrites). Outside the feature's grid range ``[t_p, t_{K-1-p}]`` the spline follows ``boundary``: ``"extend"``
(default, pykan's ``B_batch``) evaluates the same B-splines on the extended knots, so an edge continues past the
range as the tails of its end B-splines and reaches 0 at the outermost knots ``t_0``, ``t_{K-1}`` (0 beyond);
``"clamp"`` evaluates it at x clamped into the range (constant continuation, zero derivative in x outside).
The default matters when a layer's input leaves the range its grid was fitted to (a hidden layer whose inputs
move between grid updates): clamped, those samples pass no gradient through the spline, and a KAN trained with
pykan's schedule ends ~6x less accurate (``kan-fit``, measured in docs/kan.md). ``"extend"`` is computed with
the same kernels on knots padded by ``order`` more each side and the spline coefficients padded with zeros
(2 ``order`` more basis functions per edge), so the fused path is unchanged. The default ``fused=True`` path runs ``basiskit.ops.bspline.kan_linear``, whose backward recomputes
the basis (memory kept for backward ~ the input, not ``in * n_basis`` per sample). Other bases (and
``fused=False``) use plain autograd on ``basis(x)``.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from .. import bases
from .._validation import check_choice, check_int, check_tensor
from ..bases.bspline import BSpline
from ..ops.bspline import base_term, check_base_activation, kan_linear, kan_linear_reference, pad_spline_weight
from . import kan_grid

BOUNDARIES = kan_grid.BOUNDARIES


class KANLinear(nn.Module):
    """KAN layer ``x: (..., in_features) -> (..., out_features)``; see the module docstring.

    Args:
        basis: a registered basis name (``basiskit.bases.names()``); ``**basis_kwargs`` go to its constructor
            (``grid_size``, ``order``, ``domain`` for "bspline").
        base_activation: an activation name of :mod:`basiskit.nn.activations` (``"silu"``, ``"gelu"``, ...) or
            ``"none"`` (no base term).
        bias: add a learnable output bias (the node bias of pykan).
        fused: use the fused B-spline autograd (ignored for other bases).
        boundary: the spline outside the grid range, ``"extend"`` (pykan's: the end B-splines' tails, 0 past the
            outermost knots) or ``"clamp"`` (constant continuation); B-spline basis only (module docstring).
        spline_scale: std of the initial spline coefficients, times 1/sqrt(in_features).
    """

    def __init__(self, in_features: int, out_features: int, basis: str = "bspline", base_activation: str = "silu",
                 *, bias: bool = True, fused: bool = True, spline_scale: float = 0.1, boundary: str = "extend",
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None,
                 **basis_kwargs: Any) -> None:
        super().__init__()
        check_int("in_features", in_features, min_value=1)
        check_int("out_features", out_features, min_value=1)
        if not isinstance(basis, str):
            raise TypeError(f"basis must be a registered basis name (str), got {type(basis).__name__}")
        check_choice("basis", basis, bases.univariate_names())
        base_activation = "none" if base_activation is None else base_activation
        check_base_activation(base_activation)
        check_choice("boundary", boundary, BOUNDARIES)
        if basis == "bspline":
            self.basis = BSpline(channels=in_features, device=device, dtype=dtype, **basis_kwargs)
        else:
            self.basis = bases.create(basis, device=device, dtype=dtype, **basis_kwargs)
        self.in_features, self.out_features = in_features, out_features
        self.basis_name, self.base_activation, self.fused = basis, base_activation, bool(fused)
        self.boundary = boundary
        self.weight = nn.Parameter(torch.empty(out_features, in_features, self.basis.n_basis + 1, device=device,
                                               dtype=dtype))
        self.bias = nn.Parameter(torch.empty(out_features, device=device, dtype=dtype)) if bias else None
        self.spline_scale = spline_scale
        self.reset_parameters()

    @property
    def n_basis(self) -> int:
        return self.basis.n_basis

    @property
    def spline_weight(self) -> torch.Tensor:
        """(out, in, n_basis) view of the packed weight."""
        return self.weight[..., : self.n_basis]

    @property
    def base_weight(self) -> torch.Tensor:
        """(out, in) view of the packed weight."""
        return self.weight[..., self.n_basis]

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.in_features)
        with torch.no_grad():
            self.weight[..., : self.n_basis].normal_(0.0, self.spline_scale * bound)
            self.weight[..., self.n_basis].uniform_(-bound, bound)
            if self.base_activation == "none":
                self.weight[..., self.n_basis].zero_()
            if self.bias is not None:
                self.bias.uniform_(-bound, bound)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # type: ignore[no-untyped-def]
        # a grid update / refine / prune changes the weight's shape: take the saved one
        key = prefix + "weight"
        if key in state_dict and state_dict[key].shape != self.weight.shape:
            self.weight = nn.Parameter(torch.empty_like(state_dict[key], device=self.weight.device))
            self.out_features, self.in_features = state_dict[key].shape[:2]
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # ---- forward ------------------------------------------------------------------------------
    def _check_input(self, x: Any) -> torch.Tensor:
        check_tensor("x", x, min_ndim=1)
        if x.shape[-1] != self.in_features:
            raise ValueError(f"x must have last dim in_features={self.in_features}, got shape {tuple(x.shape)}")
        return x

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Dense per-edge features ``(N, in, n_basis + 1)`` = [basis | sigma(x)] for x: (N, in) (plain autograd)."""
        if self.basis_name == "bspline":
            b = self.spline_basis(x)
        else:
            b = self.basis(x)
        return torch.cat([b.to(x.dtype), base_term(x, self.base_activation).unsqueeze(-1)], -1)

    def spline_basis(self, x: torch.Tensor) -> torch.Tensor:
        """The B-spline basis of every feature at ``x: (N, in)`` under ``boundary``, ``(N, in, n_basis)``."""
        b = self.basis
        return kan_grid.spline_basis(x, b.knots.to(x.dtype), b.order, self.boundary)

    def _eval_pad(self) -> int:
        """Zero coefficients the kernels see on each side of every edge's spline: ``order`` for
        ``boundary="extend"`` (on knots extended by ``order``, so the clamp falls on the outermost knots, where
        every original B-spline is 0), none for ``"clamp"``."""
        return 0 if self.boundary == "clamp" else self.basis.order

    def _eval_knots(self) -> torch.Tensor:
        """The knots the clamped kernels evaluate on: extended by ``_eval_pad()`` each side."""
        p = self._eval_pad()
        return self._extended_knots(self.basis.knots, p) if p else self.basis.knots

    def _eval_knots_weight(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(knots, packed weight) the clamped kernels evaluate, the weight padded by ``_eval_pad()`` zeros."""
        p = self._eval_pad()
        return self._eval_knots(), (pad_spline_weight(self.weight, p) if p else self.weight)

    def _extended_knots(self, knots: torch.Tensor, order: int) -> torch.Tensor:
        """``extend_grid(knots, order)``, kept between calls while the knots tensor is the same object and
        unmodified (its version counter), so a training step does not rebuild it; recomputed when compiling."""
        if torch.compiler.is_compiling() or knots.requires_grad or torch.is_inference(knots):
            return kan_grid.extend_grid(knots, order)
        cached = self.__dict__.get("_knots_cache")
        if cached is None or cached[0] is not knots or cached[1] != knots._version:
            cached = (knots, knots._version, kan_grid.extend_grid(knots, order))
            self.__dict__["_knots_cache"] = cached
        return cached[2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        lead = x.shape[:-1]
        x2 = x.reshape(-1, self.in_features)
        if self.basis_name == "bspline" and self.fused:  # the padded weight is formed inside, not kept
            y = kan_linear(x2, self._eval_knots(), self.weight, self.basis.order, uniform=self.basis.uniform,
                           base_activation=self.base_activation, pad=self._eval_pad())
        elif self.basis_name == "bspline":
            knots, weight = self._eval_knots_weight()
            y = kan_linear_reference(x2, knots, weight, self.basis.order, base_activation=self.base_activation)
        else:
            feats = self.features(x2)
            flat = feats.reshape(x2.shape[0], feats.shape[1] * feats.shape[2])
            y = flat @ self.weight.reshape(self.out_features, -1).t().to(feats.dtype)
        if self.bias is not None:
            y = y + self.bias.to(y.dtype)
        return y.reshape(*lead, self.out_features)

    def edge_activations(self, x: torch.Tensor) -> torch.Tensor:
        """Each edge's value ``phi_oi(x_i)``: x (N, in) -> (N, out, in) (without the bias)."""
        self._check_input(x)
        return torch.einsum("nik,oik->noi", self.features(x), self.weight.to(x.dtype))

    # ---- grids (B-spline only) --------------------------------------------------------------------
    def _require_bspline(self, what: str) -> BSpline:
        if self.basis_name != "bspline":
            raise TypeError(f"{what} needs basis='bspline', this layer has basis={self.basis_name!r}")
        return self.basis

    def _spline_values(self, x: torch.Tensor) -> torch.Tensor:
        """Spline part of every edge, (N, out, in)."""
        basis = kan_grid.spline_basis_values(x, self.basis.knots.to(x.dtype), self.basis.order, self.boundary)
        return torch.einsum("nik,oik->noi", basis, self.spline_weight.to(x.dtype))

    def _set_grid(self, knots: torch.Tensor, fit_x: torch.Tensor, ridge: float) -> None:
        b = self.basis
        with torch.no_grad():
            target = self._spline_values(fit_x.to(self.weight.dtype))
            coef = kan_grid.fit_coefficients(fit_x, target, knots, b.order, ridge=ridge, boundary=self.boundary)
            base = self.base_weight.detach().clone()
            b.set_knots(knots.to(b.knots))
            new = torch.cat([coef.to(self.weight), base.unsqueeze(-1)], -1)
            if new.shape == self.weight.shape:
                # in place: an optimizer holding this parameter keeps training it (grid updates during fit)
                self.weight.copy_(new)
            else:  # refine changes the coefficient count: a new parameter, so a new optimizer is needed
                self.weight = nn.Parameter(new)

    @torch.no_grad()
    def update_grid(self, x: torch.Tensor, grid_eps: float = 0.02, margin: float = 0.0, ridge: float = 1e-10
                    ) -> None:
        """Move the knots to the data (quantiles blended with a uniform grid) and refit the coefficients by
        least squares on ``x`` so every edge function is kept on the data. x: (N, in_features)."""
        b = self._require_bspline("update_grid")
        self._check_input(x)
        check_tensor("x", x, ndim=2, nonempty=True, finite=True)
        knots = kan_grid.adaptive_knots(x, b.grid_size, b.order, grid_eps=grid_eps, margin=margin)
        self._set_grid(knots, x, ridge)

    @torch.no_grad()
    def refine(self, new_grid_size: int, x: torch.Tensor | None = None, ridge: float = 1e-12) -> None:
        """Grid extension: ``new_grid_size`` intervals over each feature's current grid range, coefficients
        refit to the old spline on dense points of that range (plus ``x`` if given). When the new size is a
        multiple of the old, the spline spaces nest and the function is kept exactly on the range."""
        b = self._require_bspline("refine")
        check_int("new_grid_size", new_grid_size, min_value=1)
        knots = kan_grid.refined_knots(b.knots, b.order, new_grid_size)
        lo, hi = b.knots[:, b.order], b.knots[:, -1 - b.order]
        m = 8 * (new_grid_size + b.order + 1)
        frac = torch.linspace(0, 1, m, device=lo.device, dtype=lo.dtype).unsqueeze(-1)
        pts = lo + (hi - lo) * frac  # (m, I)
        if x is not None:
            self._check_input(x)
            check_tensor("x", x, ndim=2, finite=True)
            pts = torch.cat([pts, x.to(pts.dtype)], 0)
        self._set_grid(knots, pts, ridge)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, basis={self.basis_name!r}, "
                f"base_activation={self.base_activation!r}, bias={self.bias is not None}, fused={self.fused}"
                + (f", boundary={self.boundary!r}" if self.basis_name == "bspline" else ""))


def multiply_subnodes(h: torch.Tensor, n_sum: int, n_mult: int, arity: int) -> torch.Tensor:
    """``(..., n_sum + arity * n_mult) -> (..., n_sum + n_mult)``: keep the first ``n_sum`` entries, then the
    product of each following group of ``arity`` consecutive entries (pykan's MultKAN layout)."""
    if n_mult == 0:
        return h
    groups = h[..., n_sum:].unflatten(-1, (n_mult, arity))  # (..., n_mult, arity)
    prod = groups[..., 0]
    for k in range(1, arity):
        prod = prod * groups[..., k]
    return torch.cat([h[..., :n_sum], prod], -1)
