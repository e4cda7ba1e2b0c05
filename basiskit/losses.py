"""Losses and error metrics shared by every family (one definition each)."""
from __future__ import annotations

import torch

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(err: torch.Tensor, reduction: str, caller: str) -> torch.Tensor:
    """Per-sample errors (batch,) reduced by ``reduction``: "mean", "sum" or "none" (unchanged)."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{caller}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return err.mean() if reduction == "mean" else err.sum() if reduction == "sum" else err


def relative_lp(pred: torch.Tensor, target: torch.Tensor, p: float = 2.0, reduction: str = "mean",
                eps: float = 1e-12) -> torch.Tensor:
    r"""Relative L^p error per sample, :math:`\|pred - target\|_p / \|target\|_p`, over all dims but the first.

    pred, target: (batch, ...). ``reduction``: "mean" | "sum" | "none" (then shape (batch,)).
    """
    if pred.shape != target.shape:
        raise ValueError(f"relative_lp: pred shape {tuple(pred.shape)} != target shape {tuple(target.shape)}")
    if pred.ndim == 0:
        raise ValueError("relative_lp: inputs need a batch dim, got scalars")
    diff = (pred - target).reshape(pred.shape[0], -1)
    ref = target.reshape(target.shape[0], -1)
    err = diff.norm(p=p, dim=1) / ref.norm(p=p, dim=1).clamp_min(eps)
    return _reduce(err, reduction, "relative_lp")


def relative_l2(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Relative L2 error of the whole array (one number), as reported by physics-informed papers."""
    return float((pred - target).norm() / target.norm().clamp_min(1e-300))


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if pred.shape != target.shape:
        raise ValueError(f"mse: pred shape {tuple(pred.shape)} != target shape {tuple(target.shape)}")
    return torch.mean((pred - target) ** 2)


def rmse(pred: torch.Tensor, target: torch.Tensor) -> float:
    return float(mse(pred, target).sqrt())


def sobolev_norm(u: torch.Tensor, s: float = 1.0, n_dims: int | None = None) -> torch.Tensor:
    r"""Periodic Sobolev norm :math:`\|u\|_{H^s}` per sample on the unit cube, via the FFT:

    .. math:: \|u\|_{H^s}^2 = \sum_c \sum_k (1 + 4\pi^2|k|^2)^s\, |\hat u_c(k)|^2, \qquad
              \hat u(k) = \frac1N \sum_j u(x_j) e^{-2\pi i k\cdot x_j},

    for any real ``s`` (negative ``s`` gives the dual norms :math:`H^{-s}` that weigh large scales);
    ``s = 0`` is the root-mean-square L2 norm. u: (batch, channels, *grid) with ``n_dims`` grid dims
    (default ``u.ndim - 2``) -> (batch,).
    """
    if u.ndim < 2:
        raise ValueError(f"sobolev_norm: u must be (batch, [channels,] *grid), got shape {tuple(u.shape)}")
    n_dims = u.ndim - 2 if n_dims is None else int(n_dims)
    if not 1 <= n_dims <= u.ndim - 1:
        raise ValueError(f"sobolev_norm: n_dims must be in 1..{u.ndim - 1} for shape {tuple(u.shape)}, got {n_dims}")
    dims = tuple(range(u.ndim - n_dims, u.ndim))
    spec = torch.fft.fftn(u, dim=dims, norm="forward")
    k2 = torch.zeros((), dtype=u.real.dtype if u.is_complex() else u.dtype, device=u.device)
    for i, dim in enumerate(dims):
        k = torch.fft.fftfreq(u.shape[dim], 1.0 / u.shape[dim], dtype=k2.dtype, device=u.device)
        k2 = k2 + k.reshape([-1 if j == i else 1 for j in range(n_dims)]) ** 2
    weight = (1 + 4 * torch.pi ** 2 * k2) ** s
    return (weight * spec.abs() ** 2).reshape(u.shape[0], -1).sum(1).sqrt()


def sobolev_loss(pred: torch.Tensor, target: torch.Tensor, s: float = 1.0, relative: bool = True,
                 reduction: str = "mean", n_dims: int | None = None, eps: float = 1e-12) -> torch.Tensor:
    r"""Sobolev :math:`H^s` error :math:`\|pred - target\|_{H^s}` (divided by :math:`\|target\|_{H^s}` when
    ``relative``), per sample, via ``sobolev_norm``; s may be negative. pred, target: (batch, channels, *grid);
    ``reduction``: "mean" | "sum" | "none" (then (batch,)). With s = 0 and ``relative`` this is ``relative_lp``
    with p = 2."""
    if pred.shape != target.shape:
        raise ValueError(f"sobolev_loss: pred shape {tuple(pred.shape)} != target shape {tuple(target.shape)}")
    err = sobolev_norm(pred - target, s, n_dims)
    if relative:
        err = err / sobolev_norm(target, s, n_dims).clamp_min(eps)
    return _reduce(err, reduction, "sobolev_loss")
