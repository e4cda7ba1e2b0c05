r"""Math shared by the two paths of the fused B-spline KAN layer: the PyTorch path (:mod:`.bspline`) and the C
kernels' loader (:mod:`.bspline_native`). Both import this module and neither imports the other's, so the
native loader is a leaf like :mod:`.rational_native`.

* the base term :math:`\sigma(x)` and :math:`g\,\sigma'(x)` by name (``BASE_ACTIVATIONS``: every name of the
  activation registry, :mod:`._activation_math`, plus ``"none"`` for a layer without the base term);
* the power-basis coefficients of the cardinal (uniform-knot) B-spline pieces, the one table both paths evaluate.
"""
from __future__ import annotations

import functools

import torch

from .._validation import check_choice
from ._activation_math import activation_names, get_activation

NO_BASE = "none"
BASE_ACTIVATIONS: tuple[str, ...] = (*activation_names(), NO_BASE)


def check_base_activation(name: str) -> str:
    """``name`` if it is one of ``BASE_ACTIVATIONS``; ValueError naming ``base_activation`` with close matches."""
    return check_choice("base_activation", name, BASE_ACTIVATIONS)


def base_term(x: torch.Tensor, name: str) -> torch.Tensor:
    """sigma(x) of the base term, same shape as x (zeros for ``"none"``)."""
    if name == NO_BASE:
        return torch.zeros_like(x)
    return get_activation(name, arg="base_activation").fn(x)


def base_term_backward(grad: torch.Tensor, x: torch.Tensor, name: str) -> torch.Tensor:
    """grad * sigma'(x) of the base term (zeros for ``"none"``); differentiable under grad mode."""
    if name == NO_BASE:
        return torch.zeros_like(x)
    return get_activation(name, arg="base_activation").backward(grad, x)


@functools.lru_cache(maxsize=None)
def uniform_coefficients(order: int) -> tuple[tuple[float, ...], ...]:
    r"""Power-basis coefficients of the uniform (cardinal) B-spline pieces: on its span a uniform-knot
    order-p spline's non-zero values are :math:`V_r(u) = \sum_q C_{rq} u^q`, u in [0, 1] the position in the
    interval; returns C as (p+1) rows of p+1 floats. Built exactly by running de Boor's triangle on polynomials
    (``left_m = u + m - 1``, ``right_m = m - u``, every level-d denominator d)."""
    def mul(a: list[float], b: list[float]) -> list[float]:
        out = [0.0] * (len(a) + len(b) - 1)
        for i, ai in enumerate(a):
            for j, bj in enumerate(b):
                out[i + j] += ai * bj
        return out

    def add(a: list[float], b: list[float]) -> list[float]:
        n = max(len(a), len(b))
        return [(a[i] if i < len(a) else 0.0) + (b[i] if i < len(b) else 0.0) for i in range(n)]

    vals: list[list[float]] = [[1.0]]
    for d in range(1, order + 1):
        saved: list[float] = [0.0]
        nxt = []
        for r in range(d):
            temp = [c / d for c in vals[r]]
            nxt.append(add(saved, mul([r + 1.0, -1.0], temp)))
            saved = mul([d - r - 1.0, 1.0], temp)
        nxt.append(saved)
        vals = nxt
    return tuple(tuple(v + [0.0] * (order + 1 - len(v))) for v in vals)
