r"""Kolmogorov-Arnold attention (KArAt): a learnable operator in place of the softmax of attention rows.

Maity, Hitsman, Li & Dutta, "Kolmogorov-Arnold Attention: Is learnable attention better for vision
transformers?" (2025). For each head, every row :math:`a \in \mathbb{R}^N` of the scaled scores
:math:`QK^\top/\sqrt{d}` is mapped by the *modular* (low-rank) operator

.. math::  \hat\sigma(a) = W\,\Phi(a), \qquad \Phi_j(a) = \sum_{k=1}^{N} \phi_{jk}(a_k)
           = \sum_{k=1}^{N}\sum_{m=1}^{M} C_{jkm}\, f_m(a_k), \qquad j = 1..r,

with :math:`W \in \mathbb{R}^{N\times r}` and the ``M`` features :math:`f_m` of a univariate basis
(Fourier: :math:`\cos(m x), \sin(m x)`, :math:`m \le G`, so ``M = 2G``). The block output is
:math:`\hat\sigma(A) V`. Because :math:`\hat\sigma(A)V = T\,(W^\top V)` with
:math:`T = \Phi(A) \in \mathbb{R}^{N\times r}`, the ``N x N`` attention matrix is never needed, and the
basis features ``(batch, heads, N, N, M)`` are contracted chunk by chunk: ``karat_rows`` keeps only the
scores for backward and recomputes the features there (``impl="fused"``). ``impl="reference"``
materialises everything (the literal formula; tests compare the two).

``base="softmax"`` adds a softmax branch, :math:`\hat\sigma(a) = \beta\,\mathrm{softmax}(a) + W\Phi(a)`,
initialised with :math:`\beta = 1, W = 0`: it starts as exactly softmax attention and learns a
correction (a basiskit option for warm starts; the paper's Fourier-KArAt has no base branch, the default).
"""
from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.autograd.function import once_differentiable

from .._deprecation import renamed_kwargs
from .._validation import check_choice, check_int, check_tensor

MODES = ("blockwise", "universal")
IMPLS = ("fused", "reference")
BASES_BRANCH = ("none", "softmax")
_CHUNK_ELEMENTS = 1 << 22  # basis features computed at once in the fused path


def _row_chunk(scores: torch.Tensor, n_basis: int) -> int:
    per_row = max(1, scores[..., 0, :].numel() * n_basis)
    return max(1, min(scores.shape[-2], _CHUNK_ELEMENTS // per_row))


def karat_rows_reference(scores: torch.Tensor, coeffs: torch.Tensor,
                         features: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    r""":math:`T_{bhij} = \sum_{k,m} f_m(A_{bhik}) C_{hjkm}`, materialising the features.

    scores: (batch, heads, N, N); coeffs: (heads, rank, N, M); features: (...) -> (..., M).
    Returns (batch, heads, N, rank).
    """
    return torch.einsum("bhikm,hjkm->bhij", features(scores), coeffs)


class _KArAtRows(torch.autograd.Function):
    """Chunked ``karat_rows_reference`` that saves only (scores, coeffs) and recomputes features in backward."""

    @staticmethod
    def forward(ctx: Any, scores: torch.Tensor, coeffs: torch.Tensor, features: Callable[..., torch.Tensor],
                chunk: int, *feature_params: torch.Tensor) -> torch.Tensor:
        out = scores.new_empty(*scores.shape[:-1], coeffs.shape[1])
        for i in range(0, scores.shape[-2], chunk):
            out[..., i:i + chunk, :] = karat_rows_reference(scores[..., i:i + chunk, :], coeffs, features)
        ctx.save_for_backward(scores, coeffs)
        ctx.features, ctx.chunk, ctx.feature_params = features, chunk, feature_params
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        scores, coeffs = ctx.saved_tensors
        params = [p for p in ctx.feature_params if p.requires_grad]
        need_s, need_c = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        g_scores = torch.zeros_like(scores) if need_s else None
        g_coeffs = torch.zeros_like(coeffs) if need_c else None
        g_params = [torch.zeros_like(p) for p in params]
        with torch.enable_grad():
            c = coeffs.detach().requires_grad_(need_c)
            for i in range(0, scores.shape[-2], ctx.chunk):
                s = scores[..., i:i + ctx.chunk, :].detach().requires_grad_(need_s)
                out = karat_rows_reference(s, c, ctx.features)
                wrt = ([s] if need_s else []) + ([c] if need_c else []) + params
                if not wrt:
                    break
                grads = torch.autograd.grad(out, wrt, grad_out[..., i:i + ctx.chunk, :], allow_unused=True)
                k = 0
                if need_s:
                    g_scores[..., i:i + ctx.chunk, :] = grads[0]
                    k = 1
                if need_c:
                    g_coeffs += grads[k]
                    k += 1
                for acc, g in zip(g_params, grads[k:]):
                    if g is not None:
                        acc += g
        it = iter(g_params)
        g_feat = tuple(next(it) if p.requires_grad else None for p in ctx.feature_params)
        return (g_scores, g_coeffs, None, None, *g_feat)


def karat_rows(scores: torch.Tensor, coeffs: torch.Tensor, features: Callable[[torch.Tensor], torch.Tensor],
               feature_params: tuple[torch.Tensor, ...] = (), chunk: int | None = None) -> torch.Tensor:
    """Memory-lean ``karat_rows_reference``: same value, features never stored for backward.

    ``feature_params``: the tensors ``features`` depends on that need gradients (a basis module's
    parameters). ``chunk``: query rows per chunk (default: about 4M feature values at once).
    """
    if chunk is None:
        chunk = _row_chunk(scores, coeffs.shape[-1])
    # one dtype throughout (under autocast the scores may be half precision); autocast off inside, so the
    # forward and the recomputation in backward see the same arithmetic
    dtype = torch.promote_types(scores.dtype, coeffs.dtype)
    with torch.autocast(device_type=scores.device.type, enabled=False):
        return _KArAtRows.apply(scores.to(dtype), coeffs.to(dtype), features, chunk, *feature_params)


def make_basis(basis: str | nn.Module, grid_size: int, **kwargs: Any) -> nn.Module:
    """A basis module by name from ``basiskit.bases`` (``grid_size`` goes to its size argument:
    ``n_freq`` for Fourier, ``grid_size``/``degree``/... for the others), or ``basis`` itself if a module."""
    if isinstance(basis, nn.Module):
        if not isinstance(getattr(basis, "n_basis", None), int):
            raise TypeError(f"basis module {type(basis).__name__} needs an int attribute n_basis")
        return basis
    if not isinstance(basis, str):
        raise TypeError(f"basis must be a basis name or an nn.Module, got {type(basis).__name__}")
    from .. import bases

    check_choice("basis", basis, bases.univariate_names())
    cls = bases.BASES.get(basis)
    params = inspect.signature(cls).parameters
    for key in ("n_freq", "grid_size", "degree", "n_centers", "num_centers", "n_basis", "m"):
        if key in params and key not in kwargs:
            kwargs[key] = grid_size
            break
    return bases.create(basis, **kwargs)


class KArAtOperator(nn.Module):
    r"""The learnable row operator :math:`\hat\sigma(a) = [\beta\,\mathrm{softmax}(a)] + W\Phi(a)` of one
    attention block (or of all blocks, when shared). See the module docstring.

    Parameters: ``coeffs`` (heads, rank, num_tokens, n_basis), ``weight`` W (heads, num_tokens, rank) and,
    with ``base="softmax"``, ``base_weight`` (heads,).
    """

    @renamed_kwargs(heads="num_heads")
    def __init__(self, num_tokens: int, num_heads: int, basis: str | nn.Module = "fourier", grid_size: int = 3,
                 rank: int = 12, base: str = "none", impl: str = "fused", basis_kwargs: dict | None = None, *,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.num_tokens = check_int("num_tokens", num_tokens, min_value=1)
        self.num_heads = check_int("num_heads", num_heads, min_value=1)
        self.rank = check_int("rank", rank, min_value=1)
        self.grid_size = check_int("grid_size", grid_size, min_value=1)
        self.base = check_choice("base", base, BASES_BRANCH)
        self.impl = check_choice("impl", impl, IMPLS)
        self.basis = make_basis(basis, grid_size, **(basis_kwargs or {}))
        self.basis.to(device=device, dtype=dtype)
        m = self.basis.n_basis
        kw = {"device": device, "dtype": dtype or torch.get_default_dtype()}
        self.coeffs = nn.Parameter(torch.randn(num_heads, rank, num_tokens, m, **kw) / math.sqrt(num_tokens * m))
        w_scale = 0.0 if base == "softmax" else 1.0 / (num_tokens * math.sqrt(rank))
        self.weight = nn.Parameter(torch.randn(num_heads, num_tokens, rank, **kw) * w_scale)
        self.base_weight = nn.Parameter(torch.ones(num_heads, **kw)) if base == "softmax" else None

    def rows(self, scores: torch.Tensor) -> torch.Tensor:
        """Phi of every row: scores (batch, heads, N, N) -> (batch, heads, N, rank)."""
        if self.impl == "reference":
            return karat_rows_reference(scores, self.coeffs, self.basis)
        params = tuple(p for p in self.basis.parameters() if p.requires_grad)
        return karat_rows(scores, self.coeffs, self.basis, params)

    def matrix(self, scores: torch.Tensor) -> torch.Tensor:
        """The attention matrix sigma_hat(A): (batch, heads, N, N) -> (batch, heads, N, N) (for inspection)."""
        self._check(scores)
        att = torch.einsum("bhij,hnj->bhin", self.rows(scores), self.weight)
        if self.base_weight is not None:
            att = att + self.base_weight[:, None, None] * scores.softmax(-1)
        return att

    def forward(self, scores: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """sigma_hat(A) V without forming sigma_hat(A): scores (B, H, N, N), values (B, H, N, d) -> (B, H, N, d)."""
        self._check(scores)
        if self.impl == "reference":
            out = self.matrix(scores) @ values
            return out
        projected = torch.einsum("hnj,bhnd->bhjd", self.weight, values)  # W^T V: (B, H, rank, d)
        out = self.rows(scores) @ projected
        if self.base_weight is not None:
            out = out + self.base_weight[:, None, None] * (scores.softmax(-1) @ values)
        return out

    def _check(self, scores: torch.Tensor) -> None:
        n, h = self.num_tokens, self.num_heads
        if scores.ndim != 4 or scores.shape[1] != h or scores.shape[2] != n or scores.shape[3] != n:
            raise ValueError(f"scores must have shape (batch, {h}, {n}, {n}), got {tuple(scores.shape)}")

    def extra_repr(self) -> str:
        return (f"num_tokens={self.num_tokens}, num_heads={self.num_heads}, rank={self.rank}, "
                f"grid_size={self.grid_size}, n_basis={self.basis.n_basis}, base={self.base!r}, impl={self.impl!r}")


class KANAttention(nn.Module):
    r"""Multi-head self-attention with a Kolmogorov-Arnold operator instead of the row softmax (KArAt).

    x: (batch, num_tokens, dim) -> (batch, num_tokens, dim).

    Args:
        dim, num_heads: model width and number of heads (``dim % num_heads == 0``).
        basis: a ``basiskit.bases`` name ("fourier", "bspline", "chebyshev", "gaussian", ...) or a basis module.
        grid_size: the basis size (``G`` harmonics for Fourier, so ``2G`` features).
        rank: ``r``, the operator's inner width (paper: 12).
        mode: "blockwise" (own operator) or "universal" (pass the shared ``operator`` of the first block; one
            operator for all blocks).
        num_tokens: ``N``; required (the operator's W maps r back to N), keyword only.
        base: "none" (paper) or "softmax" (warm start at exact softmax attention; see the module docstring).
        impl: "fused" (chunked, features recomputed in backward) or "reference" (materialised).
    """

    @renamed_kwargs(heads="num_heads")
    def __init__(self, dim: int, num_heads: int, basis: str | nn.Module = "fourier", grid_size: int = 3,
                 rank: int = 12, mode: str = "blockwise", *, num_tokens: int, operator: KArAtOperator | None = None,
                 base: str = "none", impl: str = "fused", qkv_bias: bool = True, basis_kwargs: dict | None = None,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.dim = check_int("dim", dim, min_value=1)
        self.num_heads = check_int("num_heads", num_heads, min_value=1)
        if dim % num_heads:
            raise ValueError(f"dim ({dim}) must be divisible by num_heads ({num_heads})")
        self.mode = check_choice("mode", mode, MODES)
        self.num_tokens = check_int("num_tokens", num_tokens, min_value=1)
        if operator is not None:
            if mode != "universal":
                raise ValueError("operator= shares one operator between blocks; it needs mode='universal', "
                                 f"got mode={mode!r}")
            if not isinstance(operator, KArAtOperator):
                raise TypeError(f"operator must be a KArAtOperator, got {type(operator).__name__}")
            if (operator.num_tokens, operator.num_heads) != (num_tokens, num_heads):
                raise ValueError(f"shared operator has num_tokens={operator.num_tokens}, "
                                 f"num_heads={operator.num_heads}; this block has num_tokens={num_tokens}, "
                                 f"num_heads={num_heads}")
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias, device=device, dtype=dtype)
        self.proj = nn.Linear(dim, dim, device=device, dtype=dtype)
        for linear in (self.qkv, self.proj):  # the ViT/DeiT init, as for softmax attention
            nn.init.trunc_normal_(linear.weight, std=0.02, a=-0.04, b=0.04)
            if linear.bias is not None:
                nn.init.zeros_(linear.bias)
        self.operator = operator if operator is not None else KArAtOperator(
            num_tokens, num_heads, basis, grid_size, rank, base, impl, basis_kwargs, device=device, dtype=dtype)

    def scores(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(scaled scores (B, H, N, N), values (B, H, N, head_dim)) for x (B, N, dim)."""
        check_tensor("x", x, ndim=3, last_dim=self.dim)
        if x.shape[1] != self.num_tokens:
            raise ValueError(f"x has {x.shape[1]} tokens, but this KANAttention was built for "
                             f"num_tokens={self.num_tokens}; shape {tuple(x.shape)}")
        b, n, _ = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        return (q @ k.transpose(-2, -1)) * self.scale, v

    def attention_weights(self, x: torch.Tensor) -> torch.Tensor:
        """The learned attention matrix of x: (batch, heads, N, N)."""
        return self.operator.matrix(self.scores(x)[0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores, v = self.scores(x)
        out = self.operator(scores, v)
        return self.proj(out.transpose(1, 2).reshape(x.shape[0], x.shape[1], self.dim))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, num_heads={self.num_heads}, num_tokens={self.num_tokens}, mode={self.mode!r}"
