"""Losses and error metrics shared by every family (one definition each)."""
from __future__ import annotations

import torch


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
    if reduction == "mean":
        return err.mean()
    if reduction == "sum":
        return err.sum()
    if reduction == "none":
        return err
    raise ValueError(f"relative_lp: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def relative_l2(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Relative L2 error of the whole array (one number), as reported by physics-informed papers."""
    return float((pred - target).norm() / target.norm().clamp_min(1e-300))


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if pred.shape != target.shape:
        raise ValueError(f"mse: pred shape {tuple(pred.shape)} != target shape {tuple(target.shape)}")
    return torch.mean((pred - target) ** 2)


def rmse(pred: torch.Tensor, target: torch.Tensor) -> float:
    return float(mse(pred, target).sqrt())
