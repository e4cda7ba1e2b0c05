r"""Tensorised FNO (Kossaifi et al. 2023, "Multi-Grid Tensorized Fourier Neural Operator for High-Resolution PDEs").

The spectral weight :math:`W \in \mathbb C^{I\times O\times M_1\times\dots\times M_d}` of every Fourier layer is
stored as a low-rank factorisation and contracted with the input's kept Fourier coefficients
:math:`\hat v_{b,i,k}` factor by factor, never forming :math:`W`:

* CP: :math:`W = \sum_r \lambda_r\, U^{(in)}_{ir} U^{(out)}_{or} \prod_j U^{(j)}_{k_j r}`,
* Tucker: :math:`W = G \times_1 U^{(in)} \times_2 U^{(out)} \times_3 U^{(1)} \cdots`,
* tensor train: :math:`W_{i,o,k_1..k_d} = G^{(0)}_{i} G^{(1)}_{o} G^{(2)}_{k_1} \cdots` (matrix products).

``rank`` is a fraction of the dense parameter count (0.1 keeps about 10 %) or explicit ranks; the fraction is
turned into ranks by the same rules as TensorLy (so sizes agree with neuraloperator's TFNO). With full ranks
the factorised layer represents any dense weight exactly, and then equals ``spectral_conv``. The factors are
drawn so that the weight they stand for has the dense FNO's variance E|W|^2 = 2 / (I + O) (neuraloperator
spreads the same product variance evenly over the Tucker factors; the scale is what matters and is tested).

``joint_factorization=True`` factorises the stacked weights of all layers, (L, I, O, *modes), as one tensor
(the paper's "global" factorisation); layer l's factors absorb row l of the layer factor.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .._validation import check_choice, check_float, check_int
from ._registry import register_operator
from .common import as_tuple, check_field
from .fno import FNOBase
from .spectral import SpectralConv, check_modes, kept_modes, padded_irfftn, truncated_rfftn

FACTORIZATIONS = ("tucker", "cp", "tt", None)
_L = "xyz"


# ---- ranks (TensorLy's rules for a fractional rank) --------------------------------------------------
def factorized_ranks(shape: Sequence[int], factorization: str, rank: float | int | Sequence[int]
                     ) -> tuple[int, ...]:
    """Ranks of a ``factorization`` of a tensor of ``shape``: a float keeps that fraction of the parameters
    (CP: one rank; Tucker: one per mode; TT: d+1 with ones at both ends); ints are taken as given."""
    shape = [int(s) for s in shape]
    n_param = float(np.prod(shape))
    if isinstance(rank, float):
        check_float("rank", rank, min_value=0.0, strict_min=True)
        if factorization == "cp":
            return (max(1, int(np.round(n_param * rank / sum(shape)))),)
        if factorization == "tucker":
            sq = sum(s * s for s in shape)
            lo, hi = 0.0, max(rank, 1.0)
            for _ in range(200):  # bisection for c: c^N P + c sum(I_k^2) = rank P
                mid = 0.5 * (lo + hi)
                if n_param * mid ** len(shape) + sq * mid - rank * n_param > 0:
                    hi = mid
                else:
                    lo = mid
            return tuple(max(int(np.round(s * lo)), 1) for s in shape)
        avg = [(shape[i] + shape[i + 1]) / 2 for i in range(len(shape) - 1)]
        a = sum(avg[i - 1] * shape[i] * avg[i] for i in range(1, len(shape) - 1))
        b = shape[0] * avg[0] + shape[-1] * avg[-1]
        frac = (-b + math.sqrt(b * b + 4 * a * rank * n_param)) / (2 * a)
        return (1,) + tuple(max(int(np.round(d * frac)), 1) for d in avg) + (1,)
    ranks = (rank,) if isinstance(rank, int) else tuple(rank)
    for i, r in enumerate(ranks):
        check_int(f"rank[{i}]", r, min_value=1)
    need = {"cp": 1, "tucker": len(shape), "tt": len(shape) + 1}[factorization]
    if factorization == "tt" and len(ranks) == 1:
        ranks = (1,) + ranks * (len(shape) - 1) + (1,)
    if factorization == "tucker" and len(ranks) == 1:
        ranks = ranks * len(shape)
    if len(ranks) != need:
        raise ValueError(f"rank for {factorization} of a {len(shape)}-way weight needs {need} entries, got {ranks}")
    if factorization == "tt" and (ranks[0] != 1 or ranks[-1] != 1):
        raise ValueError(f"tensor-train ranks must start and end with 1, got {ranks}")
    return ranks


def factor_shapes(shape: Sequence[int], factorization: str, ranks: Sequence[int]) -> list[tuple[int, ...]]:
    """Shapes of the complex factors, in the order the contraction functions take them."""
    if factorization == "cp":
        (r,) = ranks
        return [(r,)] + [(s, r) for s in shape]
    if factorization == "tucker":
        return [tuple(ranks)] + [(s, r) for s, r in zip(shape, ranks)]
    return [(ranks[k], s, ranks[k + 1]) for k, s in enumerate(shape)]


# ---- contractions with the input (pure functions) -----------------------------------------------------
def contract_cp(spec: torch.Tensor, factors: Sequence[torch.Tensor]) -> torch.Tensor:
    """spec: (b, I, *modes) complex; factors (lambda (R,), U_in (I, R), U_out (O, R), U_1 (M_1, R), ...)
    -> (b, O, *modes)."""
    lam, u_in, u_out, *u_modes = factors
    m = _L[:len(u_modes)]
    t = torch.einsum(f"bi{m},ir->br{m}", spec, u_in)
    mode_part = torch.einsum(",".join(f"{c}r" for c in m) + f",r->r{m}", *u_modes, lam)
    return torch.einsum(f"br{m},or->bo{m}", t * mode_part, u_out)


def contract_tucker(spec: torch.Tensor, factors: Sequence[torch.Tensor]) -> torch.Tensor:
    """spec: (b, I, *modes); factors (core (R_in, R_out, R_1, ...), U_in (I, R_in), U_out (O, R_out),
    U_1 (M_1, R_1), ...) -> (b, O, *modes). The core is expanded along the mode dims only (R_in x R_out x modes)."""
    core, u_in, u_out, *u_modes = factors
    m = _L[:len(u_modes)]
    r = "fgh"[:len(u_modes)]
    t = torch.einsum(f"bi{m},ia->ba{m}", spec, u_in)
    expanded = torch.einsum(f"ae{r}," + ",".join(f"{x}{y}" for x, y in zip(m, r)) + f"->ae{m}", core, *u_modes)
    t = torch.einsum(f"ba{m},ae{m}->be{m}", t, expanded)
    return torch.einsum(f"be{m},oe->bo{m}", t, u_out)


def contract_tt(spec: torch.Tensor, factors: Sequence[torch.Tensor]) -> torch.Tensor:
    """spec: (b, I, *modes); tensor-train cores (G_in (1, I, r1), G_out (r1, O, r2), G_1 (r2, M_1, r3), ...,
    G_d (r_d, M_d, 1)) -> (b, O, *modes)."""
    g_in, g_out, *g_modes = factors
    m = _L[:len(g_modes)]
    t = torch.einsum(f"bi{m},ia->ba{m}", spec, g_in[0])
    tail = g_modes[-1][..., 0]  # (r_d, M_d)
    for k in range(len(g_modes) - 2, -1, -1):  # merge the mode cores right to left: (r, M_k, ..., M_d)
        sub = m[k + 1:]
        tail = torch.einsum(f"pxq,q{sub}->px{sub}", g_modes[k], tail)
    t = torch.einsum(f"ba{m},aoc->boc{m}", t, g_out)
    return torch.einsum(f"boc{m},c{m}->bo{m}", t, tail)


CONTRACT = {"cp": contract_cp, "tucker": contract_tucker, "tt": contract_tt}


def factorized_to_dense(factors: Sequence[torch.Tensor], factorization: str) -> torch.Tensor:
    """The dense weight (I, O, *modes) the factors stand for (reference for tests; not used in forward)."""
    if factorization == "cp":
        lam, *us = factors
        letters = "abcde"[:len(us)]
        return torch.einsum(",".join(f"{c}r" for c in letters) + ",r->" + letters, *us, lam)
    if factorization == "tucker":
        core, *us = factors
        letters, ranks = "abcde"[:len(us)], "fghjk"[:len(us)]
        return torch.einsum(ranks + "," + ",".join(f"{c}{r}" for c, r in zip(letters, ranks)) + "->" + letters,
                            core, *us)
    out = factors[0][0]  # (I, r1)
    for g in factors[1:]:
        out = torch.tensordot(out, g, dims=([-1], [0]))
    return out[..., 0]


def factorized_spectral_conv(x: torch.Tensor, factors: Sequence[torch.Tensor], factorization: str,
                             bias: torch.Tensor | None = None) -> torch.Tensor:
    """``spectral_conv`` with a factorised weight. x: (b, I, *grid) real -> (b, O, *grid)."""
    check_choice("factorization", factorization, ["tucker", "cp", "tt"])
    modes = [g.shape[1] for g in factors[2:]] if factorization == "tt" else [f.shape[0] for f in factors[3:]]
    grid = x.shape[2:]
    y = padded_irfftn(CONTRACT[factorization](truncated_rfftn(x, modes), factors), grid)
    if bias is not None:
        y = y + bias.reshape(1, -1, *([1] * len(grid)))
    return y


def init_factors(shape: Sequence[int], factorization: str, ranks: Sequence[int], std: float, *, device=None,
                 dtype=None) -> nn.ParameterList:
    """Random complex factors (stored as real pairs) of a weight of ``shape`` such that every entry of the
    weight they stand for has E|W|^2 = std^2: CP weights 1 and equal factor scales; Tucker core std ``std`` and
    factors 1/sqrt(rank); TT first core std ``std``, the others 1/sqrt(their left rank)."""
    shapes = factor_shapes(shape, factorization, ranks)
    if factorization == "cp":
        stds = [0.0] + [(std ** 2 / ranks[0]) ** (1 / (2 * len(shape)))] * len(shape)
    elif factorization == "tucker":
        stds = [std] + [1 / math.sqrt(r) for r in ranks]
    else:
        stds = [std] + [1 / math.sqrt(ranks[k]) for k in range(1, len(shape))]
    factors = nn.ParameterList()
    for i, (s, sd) in enumerate(zip(shapes, stds)):
        if factorization == "cp" and i == 0:
            init = torch.zeros(*s, 2, device=device, dtype=dtype)
            init[..., 0] = 1.0
        else:
            init = torch.randn(*s, 2, device=device, dtype=dtype) * (sd / math.sqrt(2))
        factors.append(nn.Parameter(init))
    return factors


def layer_factors(factors: Sequence[torch.Tensor], factorization: str, layer: int) -> list[torch.Tensor]:
    """Factors of layer ``layer``'s weight (I, O, *modes) from a joint factorisation of all layers' weights
    (L, I, O, *modes): the layer factor's row ``layer`` is absorbed into the CP weights / Tucker core / first
    TT core."""
    if factorization == "cp":
        lam, u_layer, *rest = factors
        return [lam * u_layer[layer], *rest]
    if factorization == "tucker":
        core, u_layer, *rest = factors
        return [torch.tensordot(u_layer[layer], core, dims=([0], [0])), *rest]
    g_layer, g_in, *rest = factors
    return [torch.einsum("a,aib->ib", g_layer[0, layer], g_in)[None], *rest]


class FactorizedSpectralConv(nn.Module):
    """Spectral convolution whose weight is a CP / Tucker / TT factorisation (complex factors stored as real
    pairs). x: (b, in_channels, *grid) -> (b, out_channels, *grid)."""

    def __init__(self, in_channels: int, out_channels: int, n_modes: int | Sequence[int],
                 factorization: str = "tucker", rank: float | int | Sequence[int] = 0.1, bias: bool = True, *,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, min_value=1)
        self.out_channels = check_int("out_channels", out_channels, min_value=1)
        self.n_modes = as_tuple("n_modes", n_modes, 1 if isinstance(n_modes, int) else None)
        self.factorization = check_choice("factorization", factorization, ["tucker", "cp", "tt"])
        shape = (in_channels, out_channels, *kept_modes(self.n_modes))
        self.ranks = factorized_ranks(shape, factorization, rank)
        self.factors = init_factors(shape, factorization, self.ranks, math.sqrt(2.0 / (in_channels + out_channels)),
                                    device=device, dtype=dtype)
        self.bias = nn.Parameter(torch.zeros(out_channels, device=device, dtype=dtype)) if bias else None

    def complex_factors(self) -> list[torch.Tensor]:
        return [torch.view_as_complex(f) for f in self.factors]

    def dense_weight(self) -> torch.Tensor:
        """The equivalent dense complex weight (in, out, *modes), for inspection and tests."""
        return factorized_to_dense(self.complex_factors(), self.factorization)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_field("x", x, len(self.n_modes), self.in_channels)
        check_modes(self.n_modes, x.shape[2:])
        return factorized_spectral_conv(x, self.complex_factors(), self.factorization, self.bias)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, n_modes={self.n_modes}, "
                f"factorization={self.factorization!r}, ranks={self.ranks}")


class JointFactorizedWeights(nn.Module):
    """One CP / Tucker / TT factorisation of the stacked spectral weights of ``n_layers`` layers,
    (n_layers, I, O, *modes) (the paper's global factorisation; neuraloperator's former ``joint_factorization``).
    ``rank`` counts against all layers' parameters together."""

    def __init__(self, n_layers: int, in_channels: int, out_channels: int, n_modes: Sequence[int],
                 factorization: str = "tucker", rank: float | int | Sequence[int] = 0.1, *, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.factorization = check_choice("factorization", factorization, ["tucker", "cp", "tt"])
        self.n_layers = check_int("n_layers", n_layers, min_value=1)
        shape = (n_layers, in_channels, out_channels, *kept_modes(n_modes))
        self.ranks = factorized_ranks(shape, factorization, rank)
        self.factors = init_factors(shape, factorization, self.ranks, math.sqrt(2.0 / (in_channels + out_channels)),
                                    device=device, dtype=dtype)

    def layer(self, index: int) -> list[torch.Tensor]:
        """Complex factors of layer ``index``'s (I, O, *modes) weight."""
        return layer_factors([torch.view_as_complex(f) for f in self.factors], self.factorization, index)

    def extra_repr(self) -> str:
        return f"factorization={self.factorization!r}, ranks={self.ranks}"


class JointFactorizedSpectralConv(nn.Module):
    """Layer ``index`` of a ``JointFactorizedWeights``: its own bias, the shared factors (held by reference, not
    registered here, so they are saved once by their owner). x: (b, I, *grid) -> (b, O, *grid)."""

    def __init__(self, weights: JointFactorizedWeights, index: int, out_channels: int, n_modes: Sequence[int],
                 *, device=None, dtype=None) -> None:
        super().__init__()
        object.__setattr__(self, "weights", weights)
        self.index = check_int("index", index, min_value=0, max_value=weights.n_layers - 1)
        self.n_modes = tuple(n_modes)
        self.bias = nn.Parameter(torch.zeros(out_channels, device=device, dtype=dtype))

    def dense_weight(self) -> torch.Tensor:
        return factorized_to_dense(self.weights.layer(self.index), self.weights.factorization)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_modes(self.n_modes, x.shape[2:])
        return factorized_spectral_conv(x, self.weights.layer(self.index), self.weights.factorization, self.bias)

    def extra_repr(self) -> str:
        return f"layer {self.index} of a joint {self.weights.factorization} factorisation"


@register_operator("tfno", summary="FNO with Tucker/CP/TT-factorised spectral weights (Kossaifi et al. 2023)")
class TFNO(FNOBase):
    """FNO with factorised spectral weights (Kossaifi et al. 2023). Same arguments as ``FNO`` plus
    ``factorization`` ("tucker" | "cp" | "tt" | None = dense), ``rank`` (fraction of parameters or ranks) and
    ``joint_factorization``: False factorises every layer's weight on its own (neuraloperator 2.x), True
    factorises all layers' weights as one (n_layers, I, O, *modes) tensor (the paper's global factorisation).

    x: (batch, in_channels, *grid) -> (batch, out_channels, *grid).
    """

    def __init__(self, n_modes: int | Sequence[int], in_channels: int = 1, out_channels: int = 1,
                 hidden_channels: int = 32, n_layers: int = 4, *, factorization: str | None = "tucker",
                 rank: float | int | Sequence[int] = 0.1, joint_factorization: bool = False,
                 positional: bool | str = True,
                 padding: float | int | Sequence[float | int] = 0, lifting_ratio: float = 2.0,
                 projection_ratio: float = 2.0, channel_mlp_expansion: float | None = 0.5,
                 activation: str = "gelu", padding_mode: str = "one-sided", positional_frequencies: int = 4,
                 max_frequency: float = 8.0, device=None, dtype=None) -> None:
        check_choice("factorization", factorization, FACTORIZATIONS)
        modes = as_tuple("n_modes", n_modes, 1 if isinstance(n_modes, int) else None)
        check_int("hidden_channels", hidden_channels, min_value=1)
        if not isinstance(joint_factorization, bool):
            raise TypeError(f"joint_factorization must be a bool, got {joint_factorization!r}")
        if joint_factorization and factorization is None:
            raise ValueError("joint_factorization=True needs a factorization ('tucker', 'cp' or 'tt'), got None")
        self.factorization = factorization
        joint = (JointFactorizedWeights(check_int("n_layers", n_layers, min_value=1), hidden_channels,
                                        hidden_channels, modes, factorization, rank, device=device, dtype=dtype)
                 if joint_factorization else None)

        def conv(i: int) -> nn.Module:
            if factorization is None:
                return SpectralConv(hidden_channels, hidden_channels, modes, device=device, dtype=dtype)
            if joint is not None:
                return JointFactorizedSpectralConv(joint, i, hidden_channels, modes, device=device, dtype=dtype)
            return FactorizedSpectralConv(hidden_channels, hidden_channels, modes, factorization, rank,
                                          device=device, dtype=dtype)

        super().__init__(modes, in_channels, out_channels, hidden_channels, n_layers, conv, positional=positional,
                         padding=padding, lifting_ratio=lifting_ratio, projection_ratio=projection_ratio,
                         channel_mlp_expansion=channel_mlp_expansion, activation=activation,
                         padding_mode=padding_mode, positional_frequencies=positional_frequencies,
                         max_frequency=max_frequency, device=device, dtype=dtype)
        self.joint_weights = joint
