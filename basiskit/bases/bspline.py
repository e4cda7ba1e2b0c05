r"""B-spline bases (the KAN default; Liu et al. 2024, "KAN: Kolmogorov-Arnold Networks").

For knots :math:`t_0 < t_1 < \dots < t_{K-1}` the order-:math:`p` B-splines follow the Cox-de Boor recursion

.. math::

    B_{j,0}(x) = [t_j \le x < t_{j+1}], \qquad
    B_{j,p}(x) = \frac{x - t_j}{t_{j+p} - t_j} B_{j,p-1}(x) + \frac{t_{j+p+1} - x}{t_{j+p+1} - t_{j+1}} B_{j+1,p-1}(x),

giving ``K - 1 - p`` functions. A uniform grid of ``grid_size`` intervals on ``domain = (a, b)`` is extended by
``order`` knots on each side, so there are ``grid_size + order`` functions and they sum to one on ``[a, b]``
(``[a, b)`` for order 0)
(partition of unity). Between the outermost knots and the domain the sum falls towards 0; outside
``[t_0, t_{K-1})`` every function is 0 (a KAN's base path still carries the signal there).

Two evaluations: ``bspline_basis`` (all functions, the dense reference) and ``bspline_local`` (only the
``order + 1`` functions that are non-zero at each x, by the local triangular scheme of de Boor; what the fused
KAN layer uses).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .._validation import check_float, check_int, check_tensor
from ._registry import register_basis


def uniform_knots(grid_size: int, order: int, domain: Sequence[float] = (-1.0, 1.0), *,
                  device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Uniform knots ``(grid_size + 2 order + 1,)``: ``grid_size`` intervals on ``domain`` plus ``order`` each side."""
    check_int("grid_size", grid_size, min_value=1)
    check_int("order", order, min_value=0)
    lo, hi = check_domain(domain)
    h = (hi - lo) / grid_size
    steps = torch.arange(-order, grid_size + order + 1, device=device, dtype=dtype or torch.get_default_dtype())
    return lo + steps * h


def check_domain(domain: Sequence[float]) -> tuple[float, float]:
    """An interval ``domain = (low, high)`` of finite floats with low < high, as a tuple of floats; raises
    ``ValueError`` naming ``domain`` otherwise. Every basis and layer with a domain checks it here."""
    if not isinstance(domain, (tuple, list)) or len(domain) != 2:
        raise ValueError(f"domain must be a pair (low, high), got {domain!r}")
    lo = check_float("domain[0]", domain[0])
    hi = check_float("domain[1]", domain[1])
    if not hi > lo:
        raise ValueError(f"domain must have low < high, got {tuple(domain)}")
    return lo, hi


def _safe_div(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """num / den with 0 where den == 0 (repeated knots)."""
    zero = den == 0
    return torch.where(zero, torch.zeros_like(num), num / torch.where(zero, torch.ones_like(den), den))


def bspline_basis(x: torch.Tensor, knots: torch.Tensor, order: int) -> torch.Tensor:
    """All B-splines of ``order`` on ``knots`` at ``x`` by the full Cox-de Boor recursion (reference path).

    x: (...). knots: (K,) or (..., K) broadcasting against ``x[..., None]`` (e.g. ``(in_features, K)`` per
    input feature for ``x: (batch, in_features)``), non-decreasing. Returns ``(..., K - 1 - order)``.
    Differentiable in ``x`` (piecewise polynomial).
    """
    check_tensor("x", x)
    check_tensor("knots", knots, min_ndim=1)
    check_int("order", order, min_value=0)
    if knots.shape[-1] < order + 2:
        raise ValueError(f"knots needs at least order + 2 = {order + 2} entries for order {order}, "
                         f"got {knots.shape[-1]}")
    t = knots.to(x.dtype)
    xe = x.unsqueeze(-1)
    basis = ((xe >= t[..., :-1]) & (xe < t[..., 1:])).to(x.dtype)
    for d in range(1, order + 1):
        left = _safe_div(xe - t[..., : -(d + 1)], t[..., d:-1] - t[..., : -(d + 1)])
        right = _safe_div(t[..., d + 1:] - xe, t[..., d + 1:] - t[..., 1:-d])
        basis = left * basis[..., :-1] + right * basis[..., 1:]
    return basis


def _triangle(left: list[torch.Tensor], right: list[torch.Tensor], order: int
              ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """de Boor's triangular scheme: values of the order+1 non-zero B-splines (and the order-1 ones).

    ``left[m] = x - t_{j+1-m}``, ``right[m] = t_{j+m} - x`` for m = 1..order (index 0 unused), j the span.
    """
    values = [torch.ones_like(left[1] if order else right[0])]
    prev = values
    for d in range(1, order + 1):
        prev = values
        saved = torch.zeros_like(values[0])
        nxt = []
        for r in range(d):
            temp = values[r] / (right[r + 1] + left[d - r])
            nxt.append(saved + right[r + 1] * temp)
            saved = left[d - r] * temp
        nxt.append(saved)
        values = nxt
    return values, prev


def bspline_local(x: torch.Tensor, knots: torch.Tensor, order: int, *, uniform: bool = False,
                  derivative: bool = False) -> tuple[torch.Tensor, ...]:
    r"""The ``order + 1`` B-splines that are non-zero at each ``x`` (and optionally their derivatives).

    x: (..., C) or (...) ; knots: (K,) shared, or (C, K) per last-dim channel, strictly increasing.
    ``uniform=True`` promises equally spaced knots and skips the span search and knot gathers.

    Returns ``first: (...) int64`` (index of the first non-zero function, may be < 0 near the left end),
    ``values: (..., order + 1)`` with ``values[..., r]`` = :math:`B_{first + r}(x)`, entries whose index is
    outside ``[0, n_basis)`` set to 0, everything 0 for x outside ``[t_0, t_{K-1})`` or NaN; with
    ``derivative=True`` also ``slopes: (..., order + 1)`` = :math:`B'_{first + r}(x)` from
    :math:`B'_{j,p} = p (B_{j,p-1}/(t_{j+p}-t_j) - B_{j+1,p-1}/(t_{j+p+1}-t_{j+1}))`.
    """
    p = order
    n_knots = knots.shape[-1]
    n_basis = n_knots - 1 - p
    t = knots.to(x.dtype)
    t_first, t_last = t[..., 0], t[..., -1]
    inside = (x >= t_first) & (x < t_last)
    if uniform:
        h = t[..., 1] - t[..., 0]
        s = torch.nan_to_num((x - t_first) / h, nan=0.0)
        span = torch.floor(s).clamp(0, n_knots - 2)
        u = s - span
        left = [u] + [u + (m - 1) for m in range(1, p + 1)]
        right = [u] + [m - u for m in range(1, p + 1)]
        span = span.long()
        scale = h
    else:
        h_lo = (t[..., 1] - t[..., 0]).unsqueeze(-1)
        h_hi = (t[..., -1] - t[..., -2]).unsqueeze(-1)
        steps = torch.arange(1, p + 1, dtype=t.dtype, device=t.device)
        padded = torch.cat([t[..., :1] - h_lo * steps.flip(0), t, t[..., -1:] + h_hi * steps], -1)
        if t.ndim == 1:
            span = torch.searchsorted(t, x.detach().contiguous(), right=True) - 1
        else:
            flat = x.detach().reshape(-1, t.shape[0]).t().contiguous()
            span = (torch.searchsorted(t.contiguous(), flat, right=True) - 1).t().reshape(x.shape)
        span = span.clamp(0, n_knots - 2)
        offsets = torch.arange(1, 2 * p + 1, device=x.device)  # padded index j + p + m - p + ... = j + o
        idx = span.unsqueeze(-1) + offsets
        if t.ndim == 1:
            near = padded[idx]
        else:
            near = torch.gather(padded.expand(*x.shape[:-1], *padded.shape), -1, idx)
        # near[..., o - 1] = t_{j - p + o} for o = 1..2p, so t_{j+1-m} = near[p - m], t_{j+m} = near[p + m - 1]
        xe = x
        left = [x] + [xe - near[..., p - m] for m in range(1, p + 1)]
        right = [x] + [near[..., p + m - 1] - xe for m in range(1, p + 1)]
        scale = None
    values, lower = _triangle(left, right, p)
    first = span - p
    ids = first.unsqueeze(-1) + torch.arange(p + 1, device=x.device)
    keep = (ids >= 0) & (ids < n_basis) & inside.unsqueeze(-1)
    vals = torch.where(keep, torch.stack(values, -1), torch.zeros((), dtype=x.dtype, device=x.device))
    if not derivative:
        return first, vals
    if p == 0:
        return first, vals, torch.zeros_like(vals)
    # D_r = t_{j+r} - t_{j-p+r} = right[r] + left[p-r+1], r = 1..p
    dens = [right[r] + left[p - r + 1] for r in range(1, p + 1)]
    terms = [lower[r] / dens[r] * p for r in range(p)]  # p * B_{j-p+1+r, p-1} / D_{r+1}
    zero = torch.zeros_like(terms[0])
    slopes = [(terms[r - 1] if r > 0 else zero) - (terms[r] if r < p else zero) for r in range(p + 1)]
    slope = torch.stack(slopes, -1)
    if scale is not None:
        slope = slope / scale.unsqueeze(-1) if torch.is_tensor(scale) and scale.ndim else slope / scale
    slope = torch.where(keep, slope, torch.zeros((), dtype=x.dtype, device=x.device))
    return first, vals, slope


def knots_are_uniform(knots: torch.Tensor, rtol: float = 1e-6) -> bool:
    """Whether every row of ``knots`` (..., K) is equally spaced (to ``rtol`` of the spacing)."""
    diffs = knots[..., 1:] - knots[..., :-1]
    return bool(torch.allclose(diffs, diffs[..., :1].expand_as(diffs), rtol=rtol, atol=0.0))


@register_basis("bspline", summary="B-splines of any order on a (possibly per-channel, non-uniform) knot grid")
class BSpline(nn.Module):
    """B-spline basis, ``grid_size + order`` functions; see the module docstring for the domain.

    ``channels``: if given, each of the last-dim channels of x gets its own knot row (``knots: (channels, K)``,
    what grid updates of a KAN layer rewrite); otherwise one shared knot vector ``(K,)``.
    x: (...) -> (..., n_basis) (with ``channels``: x: (..., channels)).
    """

    def __init__(self, grid_size: int = 5, order: int = 3, domain: Sequence[float] = (-1.0, 1.0),
                 channels: int | None = None, *, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        check_int("grid_size", grid_size, min_value=1)
        check_int("order", order, min_value=0)
        if channels is not None:
            check_int("channels", channels, min_value=1)
        knots = uniform_knots(grid_size, order, domain, device=device, dtype=dtype)
        if channels is not None:
            knots = knots.expand(channels, -1).clone()
        self.grid_size, self.order, self.channels = grid_size, order, channels
        self.domain = check_domain(domain)
        self.n_basis = grid_size + order
        self.uniform = True
        self.register_buffer("knots", knots)

    def set_knots(self, knots: torch.Tensor) -> None:
        """Replace the knots (same shape rule: ``(channels, K)`` or ``(K,)``); updates ``grid_size``."""
        check_tensor("knots", knots, finite=True)
        want = 1 if self.channels is None else 2
        if knots.ndim != want or (self.channels is not None and knots.shape[0] != self.channels):
            raise ValueError(f"knots must have shape {'(K,)' if want == 1 else f'({self.channels}, K)'}, "
                             f"got {tuple(knots.shape)}")
        if not bool((knots[..., 1:] > knots[..., :-1]).all()):
            raise ValueError("knots must be strictly increasing along the last dim")
        self.knots = knots.to(self.knots)
        self.grid_size = knots.shape[-1] - 1 - 2 * self.order
        self.n_basis = self.grid_size + self.order
        self.uniform = knots_are_uniform(self.knots)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # type: ignore[no-untyped-def]
        key = prefix + "knots"
        if key in state_dict and state_dict[key].shape != self.knots.shape:
            self.knots = torch.empty_like(state_dict[key])
            self.grid_size = state_dict[key].shape[-1] - 1 - 2 * self.order
            self.n_basis = self.grid_size + self.order
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self.uniform = knots_are_uniform(self.knots)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x)
        if self.channels is not None and (x.ndim == 0 or x.shape[-1] != self.channels):
            raise ValueError(f"x must have last dim {self.channels} (channels), got shape {tuple(x.shape)}")
        return bspline_basis(x, self.knots, self.order)

    def extra_repr(self) -> str:
        ch = f", channels={self.channels}" if self.channels is not None else ""
        return f"grid_size={self.grid_size}, order={self.order}, domain={self.domain}{ch}, n_basis={self.n_basis}"
