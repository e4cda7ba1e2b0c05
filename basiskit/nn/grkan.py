r"""GroupRational and GRKAN: the Kolmogorov-Arnold Transformer's feed-forward block (Yang & Wang, ICLR 2025).

``GroupRational`` splits the channels into ``groups`` blocks that share one learnable safe Padé function
``F_g = P_g / (1 + |S_g|)`` (see :mod:`basiskit.ops.rational`). ``GRKAN`` is KAT's FFN,

.. math::  \mathrm{GRKAN}(x) = W_2\, F^{(2)}\big(W_1\, F^{(1)}(x) + c_1\big) + c_2,

with ``F^{(1)}`` initialised to the identity and ``F^{(2)}`` to GELU (or Swish). The Linear layers get the
variance-preserving initialisation ``Var(W) = gain^2 / fan_in`` with ``gain^2 = E[x^2] / E[F(x)^2]`` for
``x ~ N(0, 1)``, computed from the rational's own coefficients (Gauss-Hermite quadrature), so the activations'
scale is kept from layer to layer whatever function F starts as.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .._validation import check_choice, check_int
from ..ops.rational import group_rational

# Least-squares safe-Padé (m=5, n=4) fits on [-3, 3], produced by tools/fit_rational_init.py
# (max |R - f| there: gelu 9.4e-4, swish 1.2e-6; |R - f| at x = -10, -5, 5, 10: gelu 3.38, 0.98, 3.99, 16.3,
# swish 0.16, 0.0018, 0.0018, 0.16). Values are (a_0..a_5, b_1..b_4).
INIT_COEFFS: dict[str, tuple[list[float], list[float]]] = {
    "gelu": ([-0.0004227468777, 0.4999999999, 0.4026849497, 0.07368665343, -0.01293466115, -0.003737220494],
             [9.433914785e-09, 0.1473732989, 2.189736399e-09, -0.007474441184]),
    "swish": ([3.258170154e-07, 0.5, 0.2499973673, 0.05326523701, 0.005802593999, 0.0002751406207],
              [7.101367439e-09, 0.1065304705, 6.888059452e-10, 0.0005502811893]),
    "identity": ([0.0, 1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]),
}
INITS = tuple(INIT_COEFFS)


def init_coefficients(init: str, m: int = 5, n: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """Float64 (a (m + 1,), b (n,)) of the named starting function; higher degrees are zero-padded."""
    check_choice("init", init, INITS)
    a0, b0 = INIT_COEFFS[init]
    need_m = max(i for i, v in enumerate(a0) if v != 0.0)
    need_n = max((i + 1 for i, v in enumerate(b0) if v != 0.0), default=0)
    if m < need_m or n < need_n:
        raise ValueError(f"init={init!r} needs numerator degree m >= {need_m} and denominator degree n >= {need_n}, "
                         f"got m={m}, n={n}")
    a = torch.zeros(m + 1, dtype=torch.float64)
    b = torch.zeros(n, dtype=torch.float64)
    a[: need_m + 1] = torch.tensor(a0[: need_m + 1], dtype=torch.float64)
    b[:need_n] = torch.tensor(b0[:need_n], dtype=torch.float64)
    return a, b


def gaussian_second_moment(a: torch.Tensor, b: torch.Tensor, nodes: int = 200) -> torch.Tensor:
    """E[F(x)^2] for x ~ N(0, 1) of the safe Padé F with a (..., m + 1), b (..., n); Gauss-Hermite quadrature.

    Returns a tensor of the leading shape ``(...)`` (float64).
    """
    from ..bases.rational import rational

    t, w = np.polynomial.hermite_e.hermegauss(nodes)  # weight exp(-t^2 / 2), sum w = sqrt(2 pi)
    t = torch.tensor(t, dtype=torch.float64)
    w = torch.tensor(w / math.sqrt(2 * math.pi), dtype=torch.float64)
    a, b = a.detach().cpu().double(), b.detach().cpu().double()  # a scalar statistic: computed on the CPU
    f = rational(t, a[..., None, :], b[..., None, :])
    return (f.square() * w).sum(-1)


def variance_gain(a: torch.Tensor, b: torch.Tensor) -> float:
    """sqrt(E[x^2] / E[F(x)^2]) for x ~ N(0, 1), E[F^2] averaged over the groups of a (groups, m + 1)."""
    return float(gaussian_second_moment(a, b).mean().rsqrt())


class GroupRational(nn.Module):
    """Learnable group-rational activation, x: (..., num_features) -> (..., num_features).

    Args:
        num_features: channels C (divisible by ``groups``).
        groups: blocks of C // groups channels sharing one rational function.
        m, n: numerator and denominator degrees (KAT: 5 and 4).
        init: starting function, "gelu" | "swish" | "identity" (identity is exact).
        fused: use the fused autograd / Triton path (False: the plain-PyTorch reference, for checks).
    """

    def __init__(self, num_features: int, groups: int = 8, m: int = 5, n: int = 4, init: str = "gelu", *,
                 fused: bool = True, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        check_int("num_features", num_features, min_value=1)
        check_int("groups", groups, min_value=1)
        check_int("m", m, min_value=0)
        check_int("n", n, min_value=1)
        check_choice("init", init, INITS)
        if num_features % groups:
            raise ValueError(f"num_features ({num_features}) must be divisible by groups ({groups})")
        self.num_features, self.groups, self.m, self.n, self.init, self.fused = num_features, groups, m, n, init, fused
        kw = {"device": device, "dtype": dtype}
        self.a = nn.Parameter(torch.empty(groups, m + 1, **kw))
        self.b = nn.Parameter(torch.empty(groups, n, **kw))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        a, b = init_coefficients(self.init, self.m, self.n)
        with torch.no_grad():
            self.a.copy_(a.expand_as(self.a))
            self.b.copy_(b.expand_as(self.b))

    def gain(self) -> float:
        """Variance-preserving gain of the current coefficients (see :func:`variance_gain`)."""
        return variance_gain(self.a, self.b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 0 or x.shape[-1] != self.num_features:
            raise ValueError(f"GroupRational expects x (..., {self.num_features}), got shape {tuple(x.shape)}")
        return group_rational(x, self.a, self.b, self.groups, fused=self.fused)

    def extra_repr(self) -> str:
        return f"{self.num_features}, groups={self.groups}, m={self.m}, n={self.n}, init={self.init!r}"


class GRKAN(nn.Module):
    """KAT's FFN, x: (..., in_features) -> (..., out_features):
    rational(identity) -> fc1 -> rational(act_init) -> fc2, variance-preserving Linear init.

    Args:
        in_features, hidden_features, out_features: widths (in and hidden divisible by ``groups``).
        groups: rational groups per layer (KAT: 8).
        act_init: starting function of the second rational, "gelu" or "swish".
    """

    def __init__(self, in_features: int, hidden_features: int, out_features: int, groups: int = 8,
                 act_init: str = "gelu", bias: bool = True, *, fused: bool = True,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        for name, v in (("in_features", in_features), ("hidden_features", hidden_features),
                        ("out_features", out_features)):
            check_int(name, v, min_value=1)
        check_int("groups", groups, min_value=1)
        check_choice("act_init", act_init, [i for i in INITS if i != "identity"])
        for name, v in (("in_features", in_features), ("hidden_features", hidden_features)):
            if v % groups:
                raise ValueError(f"{name} ({v}) must be divisible by groups ({groups})")
        kw = {"device": device, "dtype": dtype}
        self.act1 = GroupRational(in_features, groups, init="identity", fused=fused, **kw)
        self.fc1 = nn.Linear(in_features, hidden_features, bias=bias, **kw)
        self.act2 = GroupRational(hidden_features, groups, init=act_init, fused=fused, **kw)
        self.fc2 = nn.Linear(hidden_features, out_features, bias=bias, **kw)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Rationals to their init functions; Linear weights ~ N(0, gain^2 / fan_in) of the rational before."""
        self.act1.reset_parameters()
        self.act2.reset_parameters()
        with torch.no_grad():
            for act, fc in ((self.act1, self.fc1), (self.act2, self.fc2)):
                # the gain of the init coefficients just set (CPU constants: works for any device, even meta)
                gain = variance_gain(*init_coefficients(act.init, act.m, act.n))
                fc.weight.normal_(0.0, gain / math.sqrt(fc.in_features))
                if fc.bias is not None:
                    fc.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act2(self.fc1(self.act1(x))))

    def extra_repr(self) -> str:
        return f"groups={self.act1.groups}, act_init={self.act2.init!r}"
