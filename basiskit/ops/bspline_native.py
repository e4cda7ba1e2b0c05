r"""Native CPU path of the fused B-spline KAN layer (C kernels in ``csrc/kan_bspline.c``).

Same layer as :func:`basiskit.ops.bspline.kan_linear`,

.. math::  y_n = \sum_i \sum_{r=0}^{p} N_{j_{ni} + r}(\bar x_{ni})\, W_s[:, i, j_{ni} + r] + \sigma(x_n) W_b^T,

where :math:`\bar x` is x clamped to the grid's domain and :math:`N_{j}, \dots, N_{j+p}` are the only non-zero
B-splines there (local support). The *window* kernel finds them: on a uniform grid of G intervals :math:`j_{ni}`
is the interval of :math:`\bar x_{ni}` and the values are the cardinal pieces :math:`V_r(u)` at the position
:math:`u \in [0, 1)` inside it (vectorised, no knot lookups); on any other knots (the rows after
``update_grid``, data quantiles) a guess and a short walk find the span and de Boor's triangle gives the values and, from the
order p-1 ones, the slopes. C loops then run over those p+1 splines per input (4 of n_basis = 8 for the default
cubic grid of 5) for the forward, :math:`\partial_W` and :math:`\partial_x`; the base term stays a BLAS matmul.

The dense alternative, :func:`forward_dense` / :func:`backward_dense`: a C pass writes the feature matrix
``[B | sigma] (N, I (n_basis+1))`` (zeros but the window and the base column) and BLAS does one GEMM per
direction (forward, :math:`\partial_W`, :math:`g W` for :math:`\partial_x`). Which one is faster depends on the
CPU: on this project's 2-core AMD EPYC (one thread, batch 1024, in 64, cubic, grid 5) the dense pass took 1.6x
to 2x the time of the local loops for every fan-out from 1 to 256, while on a 2-core Intel Xeon with AVX-512
BLAS on the dense features was reported the faster one (issue 18). :mod:`basiskit.ops.path_select` times both
once per shape class and machine and caches the choice; this module only provides the two paths.

The local path runs in two OpenMP regions per step: ``kan_forward_fused`` (each chunk of samples: its window, then
its rows of y) and ``kan_backward_fused`` (each chunk: its window with slopes, then its rows of dL/dx; after one
barrier, dL/dW by blocks of inputs, each block's window recomputed per chunk of samples as they stream past).
Neither writes anything of size N besides the outputs: on this project's AMD EPYC a fresh N-sized window buffer
cost more in page faults than computing the window (0.59 ms against 0.05 ms, N = 1024, in = 64, 2 threads), and a
KANLinear(256, 256) step on 32,768 samples grew the peak resident memory by 177 MB instead of 461 MB. The
window is recomputed unless the caller passes the forward's (``win=``; the fused layer does for small calls,
``basiskit.ops.bspline.KEEP_WINDOW_MAX``). The C kernels take
their cardinal-spline coefficients from :func:`basiskit.ops._bspline_math.uniform_coefficients`, the ones the
PyTorch path uses, and the base term from the same module. This loader imports nothing from
:mod:`basiskit.ops.bspline` (it is a leaf, like :mod:`basiskit.ops.rational_native`); ``usable`` says whether
the compiled kernels can run a call, in both loaders.
"""
from __future__ import annotations

import ctypes
import functools
import hashlib
import threading
import weakref
from typing import Any

import torch

from . import native
from ._bspline_math import base_term, base_term_backward, uniform_coefficients

_MAX_ORDER = 15  # the window kernel keeps u^0..u^p in a 16-element array
#: (start, values, slopes or None) of :func:`window`, or None where the callee computes it.
Window = tuple[torch.Tensor, torch.Tensor, torch.Tensor | None] | None


def _signatures() -> dict[str, list]:
    L, P, I = ctypes.c_long, ctypes.c_void_p, ctypes.c_int
    sigs: dict[str, list] = {}
    for s in ("_f32", "_f64"):
        sigs["kan_window" + s] = [L, L, L, L, P, P, P, P, P, P, P, L, L, I]
        sigs["kan_window_knots" + s] = [L, L, L, L, P, P, P, P, P, P, L, L, I]
        sigs["kan_transpose" + s] = [L, L, P, P, I]
        # N, I, O, W, gk, p, uniform, x, shift, inv_h, coef, knots, tables (the window's inputs, see _head)
        head = [L, L, L, L, L, L, I, P, P, P, P, P, P]
        # + start, val, dval, compute, pad, n_cols, wt, y, nt
        sigs["kan_forward_fused" + s] = head + [P, P, P, I, L, L, P, P, I]
        # + start, val, dval, compute, pad, n_cols, wt, g, dx, gw, acc, nt
        sigs["kan_backward_fused" + s] = head + [P, P, P, I, L, L, P, P, P, P, P, I]
        sigs["kan_sizes" + s] = [L, L, L, L, I, P]
        sigs["kan_dense" + s] = [L, L, L, L, P, P, P, P, I]
        sigs["kan_dense_grad_x" + s] = [L, L, L, L, P, P, P, P, I]
    return sigs


_SIGNATURES = _signatures()
# Resolved ctypes functions by (name, dtype): looked up once, not per call (a per-call getattr through the
# loader's lock and signature table was a third of the layer's eager time at tiny batch sizes).
_FUNCTIONS: dict[tuple[str, torch.dtype], Any] = {}


@functools.lru_cache(maxsize=1)
def _source() -> str:
    return native.source("kan_bspline")


def _lib() -> ctypes.CDLL | None:
    return native.load("kan_bspline", _source(), _SIGNATURES)


def _fn(name: str, dtype: torch.dtype) -> Any:
    key = (name, dtype)
    fn = _FUNCTIONS.get(key)
    if fn is None:
        fn = _FUNCTIONS[key] = getattr(_lib(), name + ("_f32" if dtype == torch.float32 else "_f64"))
    return fn


def source_digest() -> str:
    """Short hash of the kernel source (part of :mod:`basiskit.ops.path_select`'s cache key)."""
    return hashlib.sha256(_source().encode()).hexdigest()[:16]


def usable(x: torch.Tensor, weight: torch.Tensor, order: int, uniform: bool, compute_dtype: torch.dtype) -> bool:
    """True when the native kernels can run this call: CPU float32/float64 x and weight of one dtype, no
    autocast to another dtype, order <= 15, native kernels enabled and built. Any knots: ``uniform`` only picks
    the window kernel (closed-form pieces on equal spacing, else a span search and de Boor's triangle)."""
    del uniform  # both kinds of knots have a kernel
    return (order <= _MAX_ORDER and compute_dtype == x.dtype and native.usable(x, weight)
            and _lib() is not None)


@functools.lru_cache(maxsize=None)
def _coefficients(order: int, dtype: torch.dtype) -> torch.Tensor:
    """C: (p+1, p+1), V_r(u) = sum_q C[r, q] u^q, the PyTorch path's table."""
    return torch.tensor(uniform_coefficients(order), dtype=dtype)


# (inv_h, shift) per knots tensor, valid while the tensor object lives and is not modified in place (its
# ``_version`` counter; ``update_grid`` writes the knots in place). Saves four small tensor ops per kernel call.
_SCALES: dict[tuple[int, int, int, torch.dtype], tuple[weakref.ref, torch.Tensor, torch.Tensor]] = {}


def _grid_scale(knots: torch.Tensor, order: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """``inv_h = 1 / (t_1 - t_0)`` and ``shift = -t_p inv_h`` per input row, (I,) each, in ``dtype``."""
    try:
        key = (id(knots), knots._version, order, dtype)
    except RuntimeError:  # an inference-mode tensor has no version counter: no caching
        key = None
    hit = _SCALES.get(key) if key is not None else None
    if hit is not None and hit[0]() is knots:
        return hit[1], hit[2]
    t = knots.detach().to(dtype)
    inv_h = (1.0 / (t[:, 1] - t[:, 0])).contiguous()
    shift = (-t[:, order] * inv_h).contiguous()
    if key is None:
        return inv_h, shift
    if len(_SCALES) >= 64:
        _SCALES.clear()
    _SCALES[key] = (weakref.ref(knots), inv_h, shift)
    return inv_h, shift


def _knot_rows(knots: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """knots (I, K) detached, contiguous, in ``dtype`` (no copy when they already are)."""
    t = knots.detach()
    if t.dtype != dtype:
        t = t.to(dtype)
    return t.contiguous()


def window(x: torch.Tensor, knots: torch.Tensor, order: int, slopes: bool, uniform: bool = True, pad: int = 0
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    r"""The p+1 non-zero B-splines at clamp(x). x: (N, I), knots: (I, K), equally spaced rows with ``uniform``
    (closed-form cardinal pieces), else any non-decreasing rows (span search, de Boor's triangle).

    Returns ``start (N, I)`` int32 (first non-zero spline j), ``values (N, p+1, I)`` :math:`V_r(u)` and, with
    ``slopes``, ``(N, p+1, I)`` :math:`[a_i \le x \le b_i]\, V_r'(u) / h_i` (0 outside the domain, where the
    clamped spline is constant). Window position comes before the input so the kernels store contiguously.

    ``pad`` > 0: ``knots`` are extended by ``pad`` each side and the window is moved onto the ``K - 1 - order -
    2 pad`` columns of the unpadded coefficients (entries on the zero padding dropped), so the kernels read
    the caller's weight instead of ``pad_spline_weight(weight, pad)``.
    """
    return _window(x, knots, order, slopes, uniform, pad, _n_cols(knots, order, pad))  # shift in the same loop


def _n_cols(knots: torch.Tensor, order: int, pad: int) -> int:
    """Spline columns of the unpadded weight when ``knots`` are extended by ``pad`` each side (see :func:`window`)."""
    n_cols = knots.shape[-1] - 1 - order - 2 * pad
    if pad and n_cols < order + 1:
        raise ValueError(f"pad={pad} leaves {n_cols} spline columns of {knots.shape[-1]} knots, fewer than a "
                         f"window of order + 1 = {order + 1}; pass the padded weight with pad=0 instead")
    return n_cols


def _p(t: torch.Tensor | None) -> int | None:
    return None if t is None else native.ptr(t)


def _head(x: torch.Tensor, knots: torch.Tensor, weight: torch.Tensor, order: int, uniform: bool, pad: int,
          compute: bool) -> tuple[list, int, list[torch.Tensor]]:
    """The fused kernels' leading arguments (shapes, then the window's inputs: equally spaced knots by their scale
    and the cardinal pieces, any others by their rows and room for their inverse-gap tables; none when the
    window is given, ``compute`` False), n_cols (see :func:`window`), and the tensors those pointers refer to (the
    caller keeps them alive over the call)."""
    n_out, n_in, width = weight.shape
    if not compute:
        return [x.shape[0], n_in, n_out, width, 0, order, int(uniform), native.ptr(x), None, None, None, None,
                None], 0, []
    n_cols = _n_cols(knots, order, pad)
    if uniform:
        inv_h, shift = _grid_scale(knots, order, x.dtype)
        coef = _coefficients(order, x.dtype)
        head = [x.shape[0], n_in, n_out, width, knots.shape[-1] - 1 - 2 * order, order, 1, native.ptr(x),
                native.ptr(shift), native.ptr(inv_h), native.ptr(coef), None, None]
        return head, n_cols, [shift, inv_h, coef]
    t = _knot_rows(knots, x.dtype)
    tables = torch.empty(n_in * (max(order, 1) * t.shape[-1] + 1), dtype=x.dtype)
    head = [x.shape[0], n_in, n_out, width, t.shape[-1], order, 0, native.ptr(x), None, None, None, native.ptr(t),
            native.ptr(tables)]
    return head, n_cols, [t, tables]


@functools.lru_cache(maxsize=256)
def _sizes(n_in: int, n_out: int, width: int, order: int, nt: int, dtype: torch.dtype) -> tuple[int, int]:
    """(rows per thread of the fused kernels' window buffers, values of the backward's grad_w scratch)."""
    out = (ctypes.c_long * 2)()
    _fn("kan_sizes", dtype)(n_in, n_out, width, order, nt, out)
    return out[0], out[1]


# The per-thread window rows of recent shapes, reused across calls by the Python thread that made them (no
# allocation per call on the small-layer hot path); only small ones (_ROWS_CACHE_MAX bytes), at most 8 shapes.
_ROWS = threading.local()
_ROWS_CACHE_MAX = 4 << 20


def _thread_rows(x: torch.Tensor, weight: torch.Tensor, order: int, slopes: bool, nt: int
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Each thread's rows for the window of one chunk of samples at a time (start, values, slopes or None)."""
    n_out, n_in, width = weight.shape
    rows = _sizes(n_in, n_out, width, order, nt, x.dtype)[0] * nt
    key = (rows, n_in, order, slopes, x.dtype)
    cache = getattr(_ROWS, "buffers", None)
    if cache is None:
        cache = _ROWS.buffers = {}
    hit = cache.get(key)
    if hit is not None:
        return hit
    values = torch.empty(rows, order + 1, n_in, dtype=x.dtype)
    bufs = (torch.empty(rows, n_in, dtype=torch.int32), values, torch.empty_like(values) if slopes else None)
    if values.nbytes * (2 if slopes else 1) <= _ROWS_CACHE_MAX:
        if len(cache) >= 8:
            cache.clear()
        cache[key] = bufs
    return bufs


def _window(x: torch.Tensor, knots: torch.Tensor, order: int, slopes: bool, uniform: bool, pad: int = 0,
            n_cols: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    n, n_in = x.shape
    start = torch.empty(n, n_in, dtype=torch.int32)
    values = torch.empty(n, order + 1, n_in, dtype=x.dtype)
    dvalues = torch.empty_like(values) if slopes else None
    if not uniform:
        t = _knot_rows(knots, x.dtype)
        n_knots = t.shape[-1]
        scratch = torch.empty(n_in * (max(order, 1) * n_knots + 1), dtype=x.dtype)  # per-row inverse knot gaps
        _fn("kan_window_knots", x.dtype)(n, n_in, n_knots, order, native.ptr(x), native.ptr(t),
                                         native.ptr(start), native.ptr(values),
                                         native.ptr(dvalues) if slopes else None, native.ptr(scratch), pad,
                                         n_cols, native.num_threads())
        return start, values, dvalues
    inv_h, shift = _grid_scale(knots, order, x.dtype)
    coef = _coefficients(order, x.dtype)
    grid = knots.shape[-1] - 1 - 2 * order
    _fn("kan_window", x.dtype)(n, n_in, grid, order, native.ptr(x), native.ptr(shift), native.ptr(inv_h),
                               native.ptr(coef), native.ptr(start), native.ptr(values),
                               native.ptr(dvalues) if slopes else None, pad, n_cols, native.num_threads())
    return start, values, dvalues


def _transposed(weight: torch.Tensor) -> torch.Tensor:
    """weight (O, I, W) -> (I, W, O), O contiguous, for the kernels' loops along O."""
    n_out, n_in, width = weight.shape
    packed = weight.contiguous()
    wt = torch.empty(n_in, width, n_out, dtype=weight.dtype)
    _fn("kan_transpose", weight.dtype)(n_out, n_in * width, native.ptr(packed), native.ptr(wt), native.num_threads())
    return wt


def shift_fits(weight: torch.Tensor, order: int) -> bool:
    """Whether a window can be moved onto ``weight``'s spline columns (``pad`` > 0): at least p + 1 of them. True
    for every KANLinear (it keeps grid + p); callers pad the weight themselves otherwise."""
    return weight.shape[-1] - 1 >= order + 1


def forward(x: torch.Tensor, knots: torch.Tensor, weight: torch.Tensor, order: int, act: str,
            uniform: bool = True, pad: int = 0, win: Window = None) -> torch.Tensor:
    """y: (N, O) for x: (N, I), knots: (I, K) (equally spaced rows with ``uniform``), weight: (O, I, n_basis + 1)
    (with ``pad``: the coefficients of knots extended by ``pad`` each side less the ``2 pad`` zero ones, see
    :func:`window`). ``win``: the :func:`window` of these arguments when the caller has it already."""
    return _forward(x, knots, weight, order, act, uniform, pad, win, False)[0]


def forward_keeping_window(x: torch.Tensor, knots: torch.Tensor, weight: torch.Tensor, order: int, act: str,
                           uniform: bool, pad: int, slopes: bool
                           ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]]:
    """(y, window): :func:`forward` that also returns the :func:`window` of its arguments (with ``slopes``), for a
    backward to reuse, computed in the same OpenMP region (small calls: one kernel call instead of two)."""
    y, win = _forward(x, knots, weight, order, act, uniform, pad, None, True, slopes)
    assert win is not None
    return y, win


def _forward(x: torch.Tensor, knots: torch.Tensor, weight: torch.Tensor, order: int, act: str, uniform: bool,
             pad: int, win: Window, keep: bool, slopes: bool = False) -> tuple[torch.Tensor, Window]:
    x = x.contiguous()
    n_out, n_in, width = weight.shape
    y = (base_term(x, act) @ weight[..., width - 1].t() if act != "none"
         else x.new_zeros(x.shape[0], n_out)).contiguous()
    wt, nt = _transposed(weight), native.num_threads()
    compute = 0 if win is not None else (2 if keep else 1)
    head, n_cols, _alive = _head(x, knots, weight, order, uniform, pad, compute > 0)
    if compute == 1:  # each chunk's window goes into its thread's rows, inside the forward's region
        win = _thread_rows(x, weight, order, False, nt)
    elif compute == 2:  # into N rows the caller keeps
        n, r = x.shape[0], order + 1
        values = torch.empty(n, r, n_in, dtype=x.dtype)
        win = (torch.empty(n, n_in, dtype=torch.int32), values, torch.empty_like(values) if slopes else None)
    assert win is not None
    start, values, dvalues = win
    _fn("kan_forward_fused", x.dtype)(*head, native.ptr(start), native.ptr(values), _p(dvalues), compute, pad,
                                      n_cols, native.ptr(wt), native.ptr(y), nt)
    return y, (win if keep else None)


def backward(x: torch.Tensor, knots: torch.Tensor, weight: torch.Tensor, order: int, act: str, grad: torch.Tensor,
             need_x: bool, need_w: bool, uniform: bool = True, pad: int = 0, win: Window = None
             ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    r"""(dL/dx (N, I), dL/dW (O, I, n_basis + 1)) from g = dL/dy (N, O); ``None`` where not needed.

    :math:`\partial_W[:, i, j+r] = \sum_n V_r g_n`, :math:`\partial_W[:, i, n_{basis}] = g^T \sigma(x)`,
    :math:`\partial_{x_{ni}} = \sum_r V_r'/h \langle W_s[:, i, j+r], g_n \rangle + \sigma'(x_{ni})\, (g W_b)_{ni}`.
    ``win``: the :func:`window` of these arguments (with slopes when ``need_x``) when the caller kept it; else
    the kernel recomputes it where it is used, writing nothing of size N (fresh N-sized buffers cost more in
    page faults than the window's arithmetic: 480 faults and 0.59 ms against 0.05 ms for the window alone at
    N = 1024, in = 64, 2 threads, on this project's AMD EPYC).
    """
    x, g = x.contiguous(), grad.contiguous()
    n_out, n_in, width = weight.shape
    if not (need_x or need_w):
        return None, None
    nt, compute = native.num_threads(), win is None
    head, n_cols, _alive = _head(x, knots, weight, order, uniform, pad, compute)
    start, values, slopes = _thread_rows(x, weight, order, need_x, nt) if compute else win
    grad_x = grad_w = acc = wt = None
    if need_w:
        grad_w = torch.empty(weight.shape, dtype=weight.dtype)  # contiguous whatever weight's strides
        acc = torch.empty(_sizes(n_in, n_out, width, order, nt, x.dtype)[1], dtype=x.dtype)
    if need_x:
        grad_x = (base_term_backward(g @ weight[..., width - 1], x, act) if act != "none"
                  else torch.zeros_like(x)).contiguous()
        wt = _transposed(weight)
    _fn("kan_backward_fused", x.dtype)(*head, native.ptr(start), native.ptr(values), _p(slopes), int(compute), pad,
                                       n_cols, _p(wt), native.ptr(g), _p(grad_x), _p(grad_w), _p(acc), nt)
    if need_w:
        grad_w[..., width - 1] = g.t() @ base_term(x, act) if act != "none" else 0
    return grad_x, grad_w


def _dense_features(x: torch.Tensor, start: torch.Tensor, values: torch.Tensor, width: int, order: int,
                    act: str) -> torch.Tensor:
    """``[B | sigma]`` as a dense (N, I * width) matrix from the window (zeros outside it)."""
    n, n_in = x.shape
    base = base_term(x, act).contiguous() if act != "none" else None
    feats = torch.empty(n, n_in * width, dtype=x.dtype)
    _fn("kan_dense", x.dtype)(n, n_in, width, order, native.ptr(start), native.ptr(values),
                              native.ptr(base) if base is not None else None, native.ptr(feats),
                              native.num_threads())
    return feats


def dense_basis(x: torch.Tensor, knots: torch.Tensor, order: int, uniform: bool = False, pad: int = 0
                ) -> torch.Tensor:
    """The :func:`window` of these arguments scattered into the dense B-spline basis ``(N, I, n_cols)``, contiguous
    (zeros outside the window; ``n_cols`` as in :func:`window`), values only. Contiguous because a strided view
    changes the summation order of the callers' einsums, and KAN fits amplify that rounding."""
    x = x.contiguous()
    n_cols = _n_cols(knots, order, pad)
    start, values, _ = window(x, knots, order, slopes=False, uniform=uniform, pad=pad)
    feats = _dense_features(x, start, values, n_cols + 1, order, "none")  # last column (the base term) is 0
    return feats.view(x.shape[0], x.shape[1], n_cols + 1)[..., :n_cols].contiguous()


def forward_dense(x: torch.Tensor, knots: torch.Tensor, weight: torch.Tensor, order: int, act: str,
                  uniform: bool = True, pad: int = 0, win: Window = None) -> torch.Tensor:
    """Same as :func:`forward` through the dense features and one GEMM, ``y = [B | sigma] W^T``."""
    x = x.contiguous()
    n_out, _, width = weight.shape
    start, values, _ = win or window(x, knots, order, slopes=False, uniform=uniform, pad=pad)
    feats = _dense_features(x, start, values, width, order, act)
    return feats @ weight.reshape(n_out, -1).t()


def backward_dense(x: torch.Tensor, knots: torch.Tensor, weight: torch.Tensor, order: int, act: str,
                   grad: torch.Tensor, need_x: bool, need_w: bool, uniform: bool = True, pad: int = 0,
                   win: Window = None) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    r"""Same as :func:`backward` with GEMMs on the dense features: :math:`\partial_W = g^T [B | \sigma]` and
    :math:`\partial_x` from the window of :math:`g W` (N, I, width)."""
    x, g = x.contiguous(), grad.contiguous()
    n_out, n_in, width = weight.shape
    start, values, slopes = win or window(x, knots, order, slopes=need_x, uniform=uniform, pad=pad)
    grad_x = grad_w = None
    if need_w:
        feats = _dense_features(x, start, values, width, order, act)
        grad_w = (g.t() @ feats).reshape(weight.shape)
    if need_x:
        gfeat = (g @ weight.reshape(n_out, -1)).view(x.shape[0], n_in, width)
        grad_x = (base_term_backward(gfeat[..., width - 1], x, act) if act != "none"
                  else torch.zeros_like(x)).contiguous()
        _fn("kan_dense_grad_x", x.dtype)(x.shape[0], n_in, width, order, native.ptr(start), native.ptr(slopes),
                                         native.ptr(gfeat), native.ptr(grad_x), native.num_threads())
    return grad_x, grad_w
