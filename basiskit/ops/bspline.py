r"""Fused B-spline KAN layer: forward and backward without keeping the expanded basis.

.. math::  y = [B(\bar x) \,|\, \sigma(x)]\; W^T, \qquad W = [W_s \,|\, W_b] \in \mathbb{R}^{O \times I (n_{basis}+1)}

with :math:`\bar x = \mathrm{clamp}(x, a_i, b_i)` per input feature, :math:`[a_i, b_i] = [t_{i,p}, t_{i,K-1-p}]`
the grid's domain (so the spline continues as a constant outside its grid instead of dropping to 0).

Forward evaluates only the ``order + 1`` non-zero B-splines per input (de Boor's local triangular scheme; on
uniform knots without any knot lookups), writes them into the feature matrix beside the base activation
:math:`\sigma(x)` and does one matmul with the packed weight. Backward *recomputes* the features from ``x``
instead of saving them, so autograd keeps ``x``, the knots and the weight: memory of the order of the input,
not of ``in_features * n_basis`` per sample. (Small native calls, up to :data:`KEEP_WINDOW_MAX` window values,
keep the forward's window of p+1 values and slopes per input instead: there recomputing it cost a third of the
kernel time, and the memory is at most 512 KiB.) With :math:`G = g W` and :math:`M` the order-(p-1) values,

.. math::  \partial_W = g^T [B | \sigma], \qquad
           \partial_{x_{ni}} = [a_i \le x_{ni} \le b_i] \sum_{s=0}^{p-1} M_s \frac{p\,(G_{j+s+1} - G_{j+s})}
           {t_{j+s+1} - t_{j+s+1-p}} + G_{\sigma}\, \sigma'(x_{ni}).

On CPU in float32/float64, forward and the first backward run the C kernels of
:mod:`basiskit.ops.bspline_native` (local support: only the p+1 non-zero splines per input are touched, no dense
feature matrix; uniform knots in closed form, any other knots by a span search and de Boor's triangle). A
double backward (``create_graph=True``), autocast, other devices or ``BASISKIT_NATIVE=0`` take the PyTorch code
below. What both paths share - the base term :math:`\sigma`, :math:`\sigma'` by name (from the one activation
registry) and the cardinal-spline coefficients - lives in :mod:`basiskit.ops._bspline_math`; this module imports
the native loader, never the other way round.

``kan_linear_reference`` is the plain-autograd twin (dense basis, autograd keeps everything); tests check the
two agree and ``gradcheck`` / ``gradgradcheck`` the fused one in float64 (the backward is written with
differentiable tensor ops, so physics-informed second derivatives work).

**Compile.** The layer is also the custom op ``torch.ops.basiskit.kan_linear`` (``torch.library.custom_op`` with a
fake implementation and registered autograd; its backward is the op ``basiskit::kan_linear_backward``), so
``torch.compile(fullgraph=True)`` captures it as one node and runs the native kernels inside the compiled graph.
:func:`kan_linear` calls the op while compiling and :class:`KANLinearFunction` in eager mode (less Python per
call); both run ``_forward`` / ``_backward`` below.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..bases.bspline import _triangle, bspline_basis
from . import bspline_native, path_select
from ._bspline_math import (BASE_ACTIVATIONS, base_term, base_term_backward,  # noqa: F401 (re-exported)
                            check_base_activation, uniform_coefficients)


def grid_domain(knots: torch.Tensor, order: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row domain ``(t_p, t_{K-1-p})`` of knots ``(..., K)``."""
    return knots[..., order], knots[..., knots.shape[-1] - 1 - order]


def clamp_to_grid(x: torch.Tensor, knots: torch.Tensor, order: int) -> torch.Tensor:
    """x clamped per feature into ``[t_p, t_{K-1-p}]`` (the upper end one ulp inside, so the last interval
    is closed for every order). x: (N, I), knots: (I, K)."""
    lo, hi = grid_domain(knots.to(x.dtype), order)
    hi = torch.nextafter(hi, lo)
    return torch.maximum(torch.minimum(x, hi), lo)


def _uniform_tables(order: int, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """``C^T: (p+1, p+1)`` (powers -> values) and ``D: (p+1, max(p, 1))`` with ``D[r, q-1] = q C[r, q]``."""
    coef = torch.tensor(uniform_coefficients(order), dtype=torch.float64)
    deriv = coef[:, 1:] * torch.arange(1, order + 1, dtype=torch.float64) if order else torch.zeros(1, 1,
                                                                                                    dtype=torch.float64)
    return coef.t().to(dtype=dtype, device=device), deriv.to(dtype=dtype, device=device)


def _powers(u: torch.Tensor, order: int) -> torch.Tensor:
    """(order + 1, u.numel()): rows 1, u, u^2, ..., u^order (differentiable)."""
    flat = u.reshape(1, -1)
    rows = [torch.ones_like(flat)]
    for _ in range(order):
        rows.append(rows[-1] * flat)
    return torch.cat(rows, 0)


def _flat_index(start: torch.Tensor, order: int, width: int) -> torch.Tensor:
    """Flat positions ``(p+1, N*I)`` of the window ``start + r`` in a contiguous ``(N, I, width)`` buffer."""
    base = torch.arange(0, start.numel() * width, width, device=start.device) + start.reshape(-1)
    return base + torch.arange(order + 1, device=start.device).unsqueeze(-1)


def _local(x: torch.Tensor, knots: torch.Tensor, order: int, uniform: bool, lower: bool, width: int
           ) -> tuple[torch.Tensor, torch.Tensor, Any]:
    r"""Window of the order+1 non-zero B-splines at clamp(x) for x: (N, I), knots: (I, K).

    Everything is laid out window-position first, so no small trailing dims appear: returns ``index
    (p+1, N*I)``, flat positions in a contiguous ``(N, I, width)`` feature buffer (in range, distinct per
    sample and feature), ``values (p+1, N*I)`` and, with ``lower``, a closure ``spline_grad(G_window)`` that
    maps the window of feature gradients ``(p+1, N*I)`` to :math:`\sum_r G_r B'_{j+r}(x)`, (N, I), 0 outside
    the grid range.
    """
    p, n_knots = order, knots.shape[-1]
    t = knots.to(x.dtype)
    if uniform:
        n_int = n_knots - 1 - 2 * p  # grid_size
        inv_h = 1.0 / (t[:, 1] - t[:, 0])
        raw = torch.addcmul(-t[:, p] * inv_h, x, inv_h)  # position in grid units from the domain's left end
        pos = raw.clamp(0, n_int)
        start = torch.floor(pos).clamp_(max=n_int - 1)
        u = pos - start
        # powers 1, u, ..., u^p stacked first: (p+1, N*I), so the tiny (p+1)x(p+1) products run as wide GEMMs
        powers = _powers(u, p)
        to_values, to_slopes = _uniform_tables(p, x.dtype, x.device)
        values = to_values.t() @ powers
        index = _flat_index(start.long(), p, width)
        if not lower:
            return index, values, None

        def spline_grad(window: torch.Tensor) -> torch.Tensor:
            if p == 0:
                return torch.zeros_like(x)
            # sum_r G_r dV_r/du = sum_q u^q (sum_r G_r D[r, q])
            coeffs = to_slopes.t() @ window  # (p, N*I)
            du = (coeffs * powers[:p]).sum(0).view(x.shape)
            return du * inv_h * (pos == raw)

        return index, values, spline_grad
    lo, hi = t[:, p], t[:, n_knots - 1 - p]
    xc = torch.maximum(torch.minimum(x, torch.nextafter(hi, lo)), lo)
    flat = xc.detach().t().contiguous()
    span = (torch.searchsorted(t.contiguous(), flat, right=True) - 1).t().clamp_(p, n_knots - p - 2)
    offsets = torch.arange(1 - p, p + 1, device=x.device)
    near = torch.gather(t.expand(x.shape[0], *t.shape), -1, span.unsqueeze(-1) + offsets)
    # near[..., k] = t_{j - p + 1 + k}: t_{j+1-m} = near[p - m], t_{j+m} = near[p - 1 + m]
    left = [xc] + [xc - near[..., p - m] for m in range(1, p + 1)]
    right = [xc] + [near[..., p - 1 + m] - xc for m in range(1, p + 1)]
    vals, prev = _triangle(left, right, p)
    index = _flat_index(span - p, p, width)
    values = torch.stack(vals, 0).reshape(p + 1, -1)
    if not lower:
        return index, values, None

    def spline_grad_general(window: torch.Tensor) -> torch.Tensor:
        if p == 0:
            return torch.zeros_like(x)
        inside = (x >= lo) & (x <= hi)
        # B'_{j-p+r} = p (M_{r-1} / D_r - M_r / D_{r+1}), D_{s+1} = t_{j+s+1} - t_{j+s+1-p}, M order p-1
        factor = p / (near[..., p:] - near[..., :p])
        lower_vals = torch.stack(prev, -1)
        win = window.reshape(p + 1, *x.shape).movedim(0, -1)
        return ((win[..., 1:] - win[..., :-1]) * lower_vals * factor).sum(-1) * inside

    return index, values, spline_grad_general


def _compute_dtype(x: torch.Tensor) -> torch.dtype:
    dev = x.device.type
    if torch.is_autocast_enabled(dev):
        return torch.get_autocast_dtype(dev)
    return x.dtype


def _features(x: torch.Tensor, index: torch.Tensor, values: torch.Tensor, n_basis: int, act: str) -> torch.Tensor:
    feats = x.new_zeros(*x.shape, n_basis + 1)
    feats.view(-1).scatter_(0, index.reshape(-1), values.reshape(-1))
    if act != "none":
        feats[..., n_basis] = base_term(x, act)
    return feats


def _native_path(x: torch.Tensor, knots: torch.Tensor, weight: torch.Tensor, order: int, uniform: bool,
                 dtype: torch.dtype) -> bool:
    """Whether the C kernels (``bspline_native``) run this call: CPU, float32/float64, no autocast to another
    dtype, and a compiled library (``BASISKIT_NATIVE=0`` turns them off); uniform or not, the knots have a kernel."""
    if knots.device.type != "cpu":
        return False
    return bspline_native.usable(x, weight, order, uniform, dtype)


def pad_spline_weight(weight: torch.Tensor, pad: int) -> torch.Tensor:
    """Packed weight (O, I, n_basis + 1) -> (O, I, n_basis + 2 pad + 1): ``pad`` zero spline coefficients on
    each side, the base weight kept last (the coefficients of knots extended by ``pad`` each side)."""
    n_basis = weight.shape[-1] - 1
    return torch.cat([nn.functional.pad(weight[..., :n_basis], (pad, pad)), weight[..., n_basis:]], -1)


def _forward(x: torch.Tensor, knots: torch.Tensor, weight: torch.Tensor, order: int, uniform: bool, act: str,
             dtype: torch.dtype, native: bool, pad: int = 0, win: bspline_native.Window = None) -> torch.Tensor:
    """y (N, O) in ``dtype``: with ``native`` (see :func:`_native_path`) the C kernels, local or dense path as
    :mod:`basiskit.ops.path_select` chooses, else the PyTorch code. ``pad``: ``weight`` stands for
    ``pad_spline_weight(weight, pad)`` on ``knots`` (the C kernels read it as is; the PyTorch code pads it).
    ``win``: the native window, when the caller computed it (see :func:`_keep_window`)."""
    if pad and not (native and bspline_native.shift_fits(weight, order)):
        weight, pad = pad_spline_weight(weight, pad), 0
    if native:
        if path_select.choose(x, knots, weight, order, act, uniform, pad) == "dense":
            return bspline_native.forward_dense(x, knots, weight, order, act, uniform, pad, win)
        return bspline_native.forward(x, knots, weight, order, act, uniform, pad, win)
    n_out, n_in, width = weight.shape
    with torch.autocast(x.device.type, enabled=False):
        index, values, _ = _local(x, knots, order, uniform, lower=False, width=width)
        feats = _features(x, index, values, width - 1, act)
        return feats.reshape(x.shape[0], n_in * width).to(dtype) @ weight.reshape(n_out, -1).to(dtype).t()


def _backward(x: torch.Tensor, knots: torch.Tensor, weight: torch.Tensor, grad_out: torch.Tensor, order: int,
              uniform: bool, act: str, dtype: torch.dtype, need_x: bool, need_w: bool, native: bool, pad: int = 0,
              win: bspline_native.Window = None) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """(dL/dx (N, I) or None, dL/dW (O, I, W) or None), W the width of ``weight`` as given (``pad`` as in
    :func:`_forward`). The native kernels with ``native`` when no graph of the backward is being built; else
    differentiable PyTorch code (double backward works)."""
    native = native and not torch.is_grad_enabled()
    if pad and not (native and bspline_native.shift_fits(weight, order)):
        n_kept = weight.shape[-1] - 1
        grad_x, grad_w = _backward(x, knots, pad_spline_weight(weight, pad), grad_out, order, uniform, act, dtype,
                                   need_x, need_w, native)
        if grad_w is not None:
            grad_w = torch.cat([grad_w[..., pad:pad + n_kept], grad_w[..., -1:]], -1)
        return grad_x, grad_w
    if native:
        g = grad_out.to(x.dtype)
        if path_select.choose(x, knots, weight, order, act, uniform, pad) == "dense":
            return bspline_native.backward_dense(x, knots, weight, order, act, g, need_x, need_w, uniform, pad, win)
        return bspline_native.backward(x, knots, weight, order, act, g, need_x, need_w, uniform, pad, win)
    n_out, n_in, width = weight.shape
    n_basis, p = width - 1, order
    g = grad_out.to(dtype)
    grad_x = grad_w = None
    with torch.autocast(x.device.type, enabled=False):
        index, values, spline_grad = _local(x, knots, p, uniform, lower=need_x, width=width)
        if need_w:
            feats = _features(x, index, values, n_basis, act)
            grad_w = (g.t() @ feats.reshape(x.shape[0], n_in * width).to(dtype)).reshape(weight.shape)
            grad_w = grad_w.to(weight.dtype)
        if need_x:
            gfeat = (g @ weight.reshape(n_out, -1).to(dtype)).reshape(x.shape[0], n_in, width).to(x.dtype)
            grad_x = base_term_backward(gfeat[..., n_basis], x, act) if act != "none" else None
            if p:
                spline = spline_grad(gfeat.take(index))
                grad_x = spline if grad_x is None else grad_x + spline
            if grad_x is None:
                grad_x = torch.zeros_like(x)
    return grad_x, grad_w


#: Most window values (samples x inputs x (p + 1), twice with slopes) kept from forward for backward: 2^16, at
#: most 512 KiB in float64. Below it the backward reuses the forward's window instead of recomputing it (about
#: a third of a small layer's kernel time, e.g. the [2, 5, 1] KAN of ``kan-fit`` on 1,000 points); above it
#: nothing but x, the knots and the weight is kept, as the module docstring promises for large layers.
KEEP_WINDOW_MAX = 1 << 16


def _keep_window(x: torch.Tensor, weight: torch.Tensor, order: int, pad: int, need_x: bool, need_w: bool) -> bool:
    """Whether the forward keeps its native window for backward (see :data:`KEEP_WINDOW_MAX`)."""
    if not (need_x or need_w) or (pad and not bspline_native.shift_fits(weight, order)):
        return False
    return x.numel() * (order + 1) * (2 if need_x else 1) <= KEEP_WINDOW_MAX


class KANLinearFunction(torch.autograd.Function):
    """Fused B-spline KAN layer: saves (x, knots, weight), and the native window only for small calls
    (:data:`KEEP_WINDOW_MAX`); backward recomputes the basis otherwise (see the module docstring).
    ``KANLinearFunction.apply(x, knots, weight, order, uniform, base_activation[, pad])``; :func:`kan_linear` is
    the usual entry point (eager: this Function; under ``torch.compile``: the registered op
    ``torch.ops.basiskit.kan_linear``, same kernels). With ``pad`` > 0 the weight is read as
    ``pad_spline_weight(weight, pad)`` on the extended ``knots`` without forming (or keeping) the padded copy on
    the native path, and the gradient is that of the caller's weight (the padded coefficients are constants 0)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, knots: torch.Tensor, weight: torch.Tensor,  # type: ignore[override]
                order: int, uniform: bool, act: str, pad: int = 0) -> torch.Tensor:
        dtype = _compute_dtype(x)
        ctx.order, ctx.uniform, ctx.act, ctx.dtype, ctx.pad = order, uniform, act, dtype, pad
        ctx.native = _native_path(x, knots, weight, order, uniform, dtype)  # backward follows this choice
        win = None
        if ctx.native and _keep_window(x, weight, order, pad, ctx.needs_input_grad[0], ctx.needs_input_grad[2]):
            if path_select.choose(x, knots, weight, order, act, uniform, pad) == "local":  # one kernel call
                y, win = bspline_native.forward_keeping_window(x, knots, weight, order, act, uniform, pad,
                                                               ctx.needs_input_grad[0])
            else:  # the dense path, already chosen (no second choice through _forward)
                win = bspline_native.window(x.contiguous(), knots, order, ctx.needs_input_grad[0], uniform, pad)
                y = bspline_native.forward_dense(x, knots, weight, order, act, uniform, pad, win)
        else:
            y = _forward(x, knots, weight, order, uniform, act, dtype, ctx.native, pad)
        ctx.kept_window = win is not None
        ctx.save_for_backward(x, knots, weight, *(win or ()))  # saved tensors: memory hooks see the window too
        return y

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):  # type: ignore[override]
        x, knots, weight, *kept = ctx.saved_tensors
        win = tuple(kept) if ctx.kept_window else None
        grad_x, grad_w = _backward(x, knots, weight, grad_out, ctx.order, ctx.uniform, ctx.act, ctx.dtype,
                                   ctx.needs_input_grad[0], ctx.needs_input_grad[2], ctx.native, ctx.pad, win)
        return (grad_x, None, grad_w, None, None, None) + ((None,) if len(ctx.needs_input_grad) > 6 else ())


# ---- the same layer as a torch.library custom op (what torch.compile captures) ----------------------------
# Eager calls go through KANLinearFunction: an autograd.Function call costs ~7 us of Python against ~22 us for a
# custom op's dispatch (measured forward, tiny tensors, one thread, torch 2.13), and the kernels are the same.

@torch.library.custom_op("basiskit::kan_linear", mutates_args=())
def _kan_linear_op(x: torch.Tensor, knots: torch.Tensor, weight: torch.Tensor, order: int, uniform: bool,
                   act: str, dtype: torch.dtype) -> torch.Tensor:
    return _forward(x, knots, weight, order, uniform, act, dtype, _native_path(x, knots, weight, order, uniform,
                                                                               dtype))


@_kan_linear_op.register_fake
def _kan_linear_fake(x, knots, weight, order, uniform, act, dtype):  # type: ignore[no-untyped-def]
    return x.new_empty((x.shape[0], weight.shape[0]), dtype=dtype)


@torch.library.custom_op("basiskit::kan_linear_backward", mutates_args=())
def _kan_linear_backward_op(x: torch.Tensor, knots: torch.Tensor, weight: torch.Tensor, grad_out: torch.Tensor,
                            order: int, uniform: bool, act: str, dtype: torch.dtype, need_x: bool, need_w: bool
                            ) -> tuple[torch.Tensor, torch.Tensor]:
    """(dL/dx, dL/dW); an empty tensor stands for a gradient that was not asked for."""
    with torch.no_grad():
        grad_x, grad_w = _backward(x, knots, weight, grad_out, order, uniform, act, dtype, need_x, need_w,
                                   _native_path(x, knots, weight, order, uniform, dtype))
    return (x.new_empty(0) if grad_x is None else grad_x.contiguous(),
            weight.new_empty(0) if grad_w is None else grad_w.contiguous())


@_kan_linear_backward_op.register_fake
def _kan_linear_backward_fake(x, knots, weight, grad_out, order, uniform, act, dtype, need_x,  # type: ignore
                              need_w):
    return (torch.empty_like(x) if need_x else x.new_empty(0),
            torch.empty_like(weight, memory_format=torch.contiguous_format) if need_w else weight.new_empty(0))


def _kan_linear_setup(ctx, inputs, output) -> None:  # type: ignore[no-untyped-def]
    x, knots, weight, order, uniform, act, dtype = inputs
    ctx.save_for_backward(x, knots, weight)
    ctx.args = (order, uniform, act, dtype)


def _kan_linear_op_backward(ctx, grad_out):  # type: ignore[no-untyped-def]
    x, knots, weight = ctx.saved_tensors
    order, uniform, act, dtype = ctx.args
    need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[2]
    if torch.is_grad_enabled():  # create_graph=True: differentiable PyTorch code, so double backward works
        grad_x, grad_w = _backward(x, knots, weight, grad_out, order, uniform, act, dtype, need_x, need_w, False)
    else:
        grad_x, grad_w = torch.ops.basiskit.kan_linear_backward(x, knots, weight, grad_out, order, uniform, act,
                                                                 dtype, need_x, need_w)
        grad_x, grad_w = (grad_x if need_x else None), (grad_w if need_w else None)
    return grad_x, None, grad_w, None, None, None, None


_kan_linear_op.register_autograd(_kan_linear_op_backward, setup_context=_kan_linear_setup)


def kan_linear(x: torch.Tensor, knots: torch.Tensor, weight: torch.Tensor, order: int, *, uniform: bool = False,
               base_activation: str = "silu", pad: int = 0) -> torch.Tensor:
    r"""Fused B-spline KAN layer :math:`y = B(\bar x) W_s^T + \sigma(x) W_b^T` (basis recomputed in backward).

    x: (N, I). knots: (I, K), strictly increasing rows (``uniform=True`` promises equal spacing: faster, no
    knot lookups). weight: (O, I, n_basis + 1) packed, ``[..., :n_basis]`` the spline coefficients ``W_s``
    (n_basis = K - 1 - order) and ``[..., n_basis]`` the base weights ``W_b``. Returns (N, O).
    ``base_activation`` is one of ``BASE_ACTIVATIONS`` (a registered activation name, or "none").
    ``pad`` > 0: ``weight`` holds ``n_basis - 2 pad`` coefficients per edge, read as ``pad_spline_weight(weight,
    pad)`` on the ``n_basis`` basis functions of ``knots`` (KANLinear's ``boundary="extend"``); in eager mode the
    padded copy is not kept for backward.
    """
    check_base_activation(base_activation)
    if torch.compiler.is_compiling():
        w = pad_spline_weight(weight, pad) if pad else weight
        return torch.ops.basiskit.kan_linear(x, knots, w, order, uniform, base_activation, _compute_dtype(x))
    return KANLinearFunction.apply(x, knots, weight, order, uniform, base_activation, pad)


def kan_linear_reference(x: torch.Tensor, knots: torch.Tensor, weight: torch.Tensor, order: int, *,
                         base_activation: str = "silu") -> torch.Tensor:
    """The same layer with plain autograd on the dense basis (keeps ``(N, I, n_basis)`` for backward)."""
    check_base_activation(base_activation)
    basis = bspline_basis(clamp_to_grid(x, knots, order), knots, order)
    feats = torch.cat([basis, base_term(x, base_activation).unsqueeze(-1)], -1)
    return feats.reshape(x.shape[0], feats.shape[1] * feats.shape[2]) @ weight.reshape(weight.shape[0], -1).t()
