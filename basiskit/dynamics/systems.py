r"""Chaotic flows by name: right-hand sides, published parameters, initial conditions and timescales.

Each registered system is an autonomous ODE :math:`\dot x = f(x; p)` written here, vectorised over any leading
batch dimensions, for NumPy arrays and torch tensors alike (``rhs(t, x)`` with ``x`` shaped ``(..., dim)``).
The facts beside each right-hand side come from the literature as collected in the metadata of *dysts*
(Gilpin 2021, "Chaos as an interpretable benchmark for forecasting and data-driven modelling", NeurIPS Datasets
and Benchmarks): the parameters, an initial condition on the attractor, the dominant period (the timescale of
the strongest peak of the power spectrum, in the system's time units) and an estimate of the largest Lyapunov
exponent. Where a textbook value of the exponent exists (Sprott 2003, "Chaos and Time-Series Analysis", for
Lorenz and Rossler), it is used instead and ``lyapunov_source`` says so.

    >>> import basiskit.dynamics as dyn
    >>> lorenz = dyn.create("Lorenz")                 # sigma=10, rho=28, beta=8/3
    >>> lorenz.rhs(0.0, lorenz.initial_conditions)    # (3,)
    >>> dyn.create("Lorenz", rho=35.0).params["rho"]
    35.0

The Jacobian is taken by autograd (``torch.func.jacrev``), so every right-hand side has one without a second,
hand-written and error-prone formula.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
import torch

from .._validation import UsageError, check_float, unknown_name_message
from ._registry import SYSTEMS

__all__ = ["System", "SystemSpec", "create", "linear_system", "names", "resolve", "system_facts"]

Array = Any  # a NumPy array or a torch tensor, shaped (..., dim)
RhsFn = Callable[[Array, Mapping[str, Any]], Array]


# ---- helpers that let one formula serve NumPy and torch -------------------------------------------------
def _lib(x: Array) -> ModuleType:
    return torch if isinstance(x, torch.Tensor) else np


def _stack(x: Array, parts: list[Array]) -> Array:
    if isinstance(x, torch.Tensor):
        return torch.stack(torch.broadcast_tensors(*parts), dim=-1)
    return np.stack(np.broadcast_arrays(*parts), axis=-1)


def _roll(x: Array, shift: int) -> Array:
    return torch.roll(x, shift, dims=-1) if isinstance(x, torch.Tensor) else np.roll(x, shift, axis=-1)


# ---- the system object --------------------------------------------------------------------------------
@dataclass
class System:
    r"""One autonomous flow :math:`\dot x = f(x; p)` with its facts.

    Attributes:
        name: registry name (dysts' spelling, e.g. ``"Lorenz"``).
        params: parameter values by name.
        initial_conditions: a point on (or near) the attractor, shape ``(dim,)``.
        period: dominant timescale in the system's time units; trajectories are sampled per period.
        reference_lyapunov: largest Lyapunov exponent in inverse time units (None where none is published).
        lyapunov_source: where ``reference_lyapunov`` comes from.
    """

    name: str
    fn: RhsFn = field(repr=False)
    params: dict[str, Any]
    initial_conditions: np.ndarray
    period: float
    reference_lyapunov: float | None = None
    lyapunov_source: str = ""
    equations: str = ""

    @property
    def dim(self) -> int:
        """State dimension."""
        return int(self.initial_conditions.shape[0])

    def rhs(self, t: float, x: Array) -> Array:
        """:math:`f(x)` for states ``x`` shaped ``(..., dim)`` (NumPy or torch); ``t`` is unused (autonomous)."""
        if x.shape[-1] != self.dim:
            raise ValueError(f"{self.name}.rhs: x must have last dim {self.dim}, got shape {tuple(x.shape)}")
        return self.fn(x, self.params)

    def jacobian(self, x: Array) -> torch.Tensor:
        """:math:`\\partial f / \\partial x` at states ``x`` ``(..., dim)`` -> ``(..., dim, dim)`` (float64 tensor,
        by autograd; NumPy input is converted)."""
        xt = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x, dtype=torch.float64)
        if xt.shape[-1] != self.dim:
            raise ValueError(f"{self.name}.jacobian: x must have last dim {self.dim}, got shape {tuple(xt.shape)}")
        flat = xt.reshape(-1, self.dim)
        jac = torch.func.vmap(torch.func.jacrev(lambda v: self.fn(v, self.params)))(flat)
        return jac.reshape(*xt.shape, self.dim)

    def __repr__(self) -> str:
        lyap = "n/a" if self.reference_lyapunov is None else f"{self.reference_lyapunov:.4g}"
        return (f"System({self.name!r}, dim={self.dim}, params={self.params}, period={self.period:.4g}, "
                f"reference_lyapunov={lyap})")


@dataclass(frozen=True)
class SystemSpec:
    """A registered system's published facts; calling it with parameter overrides builds the :class:`System`."""

    name: str
    fn: RhsFn
    params: dict[str, Any]
    ic: tuple[float, ...]
    period: float
    lyapunov: float | None
    source: str
    equations: str

    def __call__(self, **params: Any) -> System:
        for key, value in params.items():
            if key not in self.params:
                raise UsageError(f"{self.name}: {unknown_name_message('parameter', key, self.params)}")
            if not isinstance(self.params[key], (list, tuple)):
                check_float(f"{self.name} parameter {key}", value)
        merged = {**self.params, **params}
        changed = any(merged[k] != self.params[k] for k in params)
        return System(self.name, self.fn, merged, np.array(self.ic, dtype=np.float64), self.period,
                      None if changed else self.lyapunov,
                      "not known for changed parameters" if changed else self.source, self.equations)


DYSTS = "dysts metadata estimate (Gilpin 2021)"
SPROTT = "Sprott 2003, Chaos and Time-Series Analysis"


def _define(name: str, params: dict[str, Any], ic: list[float], period: float, lyapunov: float | None,
            source: str = DYSTS) -> Callable[[RhsFn], RhsFn]:
    """Register ``fn(x, p)`` as system ``name``; its docstring is the equations (first line: the summary)."""

    def deco(fn: RhsFn) -> RhsFn:
        doc = (fn.__doc__ or "").strip()
        spec = SystemSpec(name, fn, dict(params), tuple(float(v) for v in ic), float(period), lyapunov, source, doc)
        SYSTEMS.add(name, spec, summary=doc.splitlines()[0] if doc else "", module=__name__)
        return fn

    return deco


# ---- the flows (the docstring of each is its equations) -------------------------------------------------
@_define("Lorenz", {"sigma": 10.0, "rho": 28.0, "beta": 8.0 / 3.0}, [-9.78693, -15.0385, 20.534], 1.5008, 0.9056,
         SPROTT)
def _lorenz(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = sigma (y - x), y' = x (rho - z) - y, z' = x y - beta z (Lorenz 1963)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [p["sigma"] * (b - a), a * (p["rho"] - c) - b, a * b - p["beta"] * c])


@_define("Rossler", {"a": 0.2, "b": 0.2, "c": 5.7}, [6.51344, 0.477201, 0.341643], 5.9086, 0.0714, SPROTT)
def _rossler(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = -y - z, y' = x + a y, z' = b + z (x - c) (Rossler 1976)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [-b - c, a + p["a"] * b, p["b"] + c * (a - p["c"])])


@_define("Chen", {"a": 35.0, "b": 3.0, "c": 28.0}, [3.26897, 5.29905, 19.4353], 0.58689, 2.006)
def _chen(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = a (y - x), y' = (c - a) x - x z + c y, z' = x y - b z (Chen & Ueta 1999)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [p["a"] * (b - a), (p["c"] - p["a"]) * a - a * c + p["c"] * b, a * b - p["b"] * c])


@_define("LuChen", {"a": 36.0, "b": 3.0, "c": 18.0}, [10.9565, 9.88131, 22.6767], 2.3385, 0.3267)
def _lu_chen(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = a (y - x), y' = -x z + c y, z' = x y - b z (Lu & Chen 2002)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [p["a"] * (b - a), -a * c + p["c"] * b, a * b - p["b"] * c])


@_define("Halvorsen", {"a": 1.4, "b": 4.0}, [-8.68074, -2.47414, 0.0707758], 1.4889, 0.6964)
def _halvorsen(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = -a x - b (y + z) - y^2, and cyclically for y, z (Halvorsen; Sprott 2003)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    k, m = p["a"], p["b"]
    return _stack(x, [-k * a - m * (b + c) - b ** 2, -k * b - m * (c + a) - c ** 2, -k * c - m * (a + b) - a ** 2])


@_define("Thomas", {"a": 1.85, "b": 10.0}, [2.19944, 2.36342, 3.2202], 4.969, 0.6324)
def _thomas(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = -a x + b sin y, y' = -a y + b sin z, z' = -a z + b sin x (Thomas 1999)"""
    m = _lib(x)
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [-p["a"] * a + p["b"] * m.sin(b), -p["a"] * b + p["b"] * m.sin(c),
                      -p["a"] * c + p["b"] * m.sin(a)])


# Sprott 1994, "Some simple chaotic flows" (Phys. Rev. E 50, R647): cases A-S
@_define("SprottA", {}, [1.54132, 1.4308, -1.52555], 6.3728, 0.01299)
def _sprott_a(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = y, y' = -x + y z, z' = 1 - y^2 (Sprott 1994, case A)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [b, -a + b * c, 1 - b ** 2])


@_define("SprottB", {}, [1.68783, 1.48481, -0.537066], 11.05, 0.2067)
def _sprott_b(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = y z, y' = x - y, z' = 1 - x y (Sprott 1994, case B)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [b * c, a - b, 1 - a * b])


@_define("SprottC", {}, [-0.471998, -0.271981, 1.94182], 8.8852, 0.1581)
def _sprott_c(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = y z, y' = x - y, z' = 1 - x^2 (Sprott 1994, case C)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [b * c, a - b, 1 - a ** 2])


@_define("SprottD", {}, [-1.33969, -0.212383, 0.329822], 4.8333, 0.1017)
def _sprott_d(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = -y, y' = x + z, z' = x z + 3 y^2 (Sprott 1994, case D)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [-b, a + c, a * c + 3 * b ** 2])


@_define("SprottE", {}, [0.617376, 0.665993, -1.6575], 7.6275, 0.09016)
def _sprott_e(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = y z, y' = x^2 - y, z' = 1 - 4 x (Sprott 1994, case E)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [b * c, a ** 2 - b, 1 - 4 * a])


@_define("SprottF", {"a": 0.5}, [-0.989413, -1.41917, 0.857972], 19.244, 0.1183)
def _sprott_f(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = y + z, y' = -x + a y, z' = x^2 - z (Sprott 1994, case F)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [b + c, -a + p["a"] * b, a ** 2 - c])


@_define("SprottG", {"a": 0.4}, [-0.771825, -0.747566, 1.30733], 8.7097, 0.09068)
def _sprott_g(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = a x + z, y' = x z - y, z' = -x + y (Sprott 1994, case G)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [p["a"] * a + c, a * c - b, -a + b])


@_define("SprottH", {"a": 0.5}, [-1.36004, 0.625854, -1.27882], 20.229, 0.131)
def _sprott_h(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = -y + z^2, y' = x + a y, z' = x - z (Sprott 1994, case H)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [-b + c ** 2, a + p["a"] * b, a - c])


@_define("SprottI", {"a": 0.2}, [-0.0600994, -0.495584, 0.023159], 10.93, 0.02322)
def _sprott_i(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = -a y, y' = x + z, z' = x + y^2 - z (Sprott 1994, case I)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [-p["a"] * b, a + c, a + b ** 2 - c])


@_define("SprottJ", {}, [4.47869, 2.29774, 6.58471], 4.836, 0.1229)
def _sprott_j(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = 2 z, y' = -2 y + z, z' = -x + y + y^2 (Sprott 1994, case J)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [2 * c, -2 * b + c, -a + b + b ** 2])


@_define("SprottK", {"a": 0.3}, [-1.3165, -1.543, 0.664053], 7.006, 0.05963)
def _sprott_k(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = x y - z, y' = x - y, z' = x + a z (Sprott 1994, case K)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [a * b - c, a - b, a + p["a"] * c])


@_define("SprottL", {"a": 0.9, "b": 3.9}, [4.36116, 13.7056, -2.68357], 6.7262, 0.09216)
def _sprott_l(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = y + b z, y' = a x^2 - y, z' = 1 - x (Sprott 1994, case L)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [b + p["b"] * c, p["a"] * a ** 2 - b, 1 - a])


@_define("SprottM", {"a": 1.7}, [1.60244, -1.59832, -2.62364], 5.3644, 0.08422)
def _sprott_m(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = -z, y' = -x^2 - y, z' = a (1 + x) + y (Sprott 1994, case M)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [-c, -a ** 2 - b, p["a"] * (1 + a) + b])


@_define("SprottN", {}, [-8.32587, 7.30337, 3.27989], 4.8135, 0.1187)
def _sprott_n(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = -2 y, y' = x + z^2, z' = 1 + y - 2 z (Sprott 1994, case N)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [-2 * b, a + c ** 2, 1 + b - 2 * c])


@_define("SprottO", {"a": 2.7}, [0.205495, 0.022793, 0.936369], 9.755, 0.09141)
def _sprott_o(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = y, y' = x - z, z' = x + x z + a y (Sprott 1994, case O)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [b, a - c, a + a * c + p["a"] * b])


@_define("SprottP", {"a": 2.7}, [0.834207, 0.149158, 0.440286], 5.3414, 0.1065)
def _sprott_p(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = a y + z, y' = -x + y^2, z' = x + y (Sprott 1994, case P)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [p["a"] * b + c, -a + b ** 2, a + b])


@_define("SprottQ", {"a": 3.1, "b": 0.5}, [2.9781, -0.0652607, -2.80313], 4.8443, 0.1717)
def _sprott_q(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = -z, y' = x - y, z' = a x + y^2 + b z (Sprott 1994, case Q)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [-c, a - b, p["a"] * a + b ** 2 + p["b"] * c])


@_define("SprottR", {"a": 0.9, "b": 0.4}, [-1.69149, -1.97837, 1.98078], 7.0133, 0.09661)
def _sprott_r(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = a - y, y' = b + z, z' = x y - z (Sprott 1994, case R)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [p["a"] - b, p["b"] + c, a * b - c])


@_define("SprottS", {}, [0.126357, 0.122607, 1.22154], 3.3505, 0.2738)
def _sprott_s(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = -x - 4 y, y' = x + z^2, z' = 1 + x (Sprott 1994, case S)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [-a - 4 * b, a + c ** 2, 1 + a])


@_define("SprottJerk", {"mu": 2.017}, [-0.541061, 0.593832, 0.451272], 11.921, 0.08785)
def _sprott_jerk(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = y, y' = z, z' = -x + y^2 - mu z (Sprott 1997, simplest dissipative chaotic flow)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [b, c, -a + b ** 2 - p["mu"] * c])


@_define("Arneodo", {"a": -5.5, "b": 4.5, "c": 1.0, "d": -1.0}, [-2.75157, 0.190798, 3.47036], 3.1641, 0.2374)
def _arneodo(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = y, y' = z, z' = -a x - b y - c z + d x^3 (Arneodo, Coullet & Tresser 1981)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [b, c, -p["a"] * a - p["b"] * b - p["c"] * c + p["d"] * a ** 3])


@_define("Rucklidge", {"a": 2.0, "b": 6.7}, [1.92572, 3.19238, 5.78297], 6.0721, 0.1936)
def _rucklidge(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = -a x + b y - y z, y' = x, z' = -z + y^2 (Rucklidge 1992)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [-p["a"] * a + p["b"] * b - b * c, a, -c + b ** 2])


@_define("Hadley", {"a": 0.2, "b": 4.0, "f": 9.0, "g": 1.0}, [1.36644, 0.930915, 0.642834], 1.4541, 0.2387)
def _hadley(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = -y^2 - z^2 - a x + a f, y' = x y - b x z - y + g, z' = b x y + x z - z (Hadley circulation)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [-b ** 2 - c ** 2 - p["a"] * a + p["a"] * p["f"], a * b - p["b"] * a * c - b + p["g"],
                      p["b"] * a * b + a * c - c])


@_define("Lorenz84", {"a": 1.32, "b": 7.91, "f": 4.83, "g": 4.194}, [1.92648, -0.134021, -1.72147], 6.2586, 0.4615)
def _lorenz84(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = -a x - y^2 - z^2 + a f, y' = -y + x y - b x z + g, z' = -z + b x y + x z (Lorenz 1984)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [-p["a"] * a - b ** 2 - c ** 2 + p["a"] * p["f"], -b + a * b - p["b"] * a * c + p["g"],
                      -c + p["b"] * a * b + a * c])


@_define("NoseHoover", {"a": 1.5}, [-1.97586, 0.246475, 0.790243], 5.8673, 0.01046)
def _nose_hoover(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = y, y' = -x + y z, z' = a - y^2 (Nose-Hoover thermostat; Hoover 1985)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [b, -a + b * c, p["a"] - b ** 2])


@_define("GenesioTesi", {"a": 0.44, "b": 1.1, "c": 1.0}, [-0.0537726, -0.261626, 0.335016], 5.9431, 0.1051)
def _genesio_tesi(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = y, y' = z, z' = -c x - b y - a z + x^2 (Genesio & Tesi 1992)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [b, c, -p["c"] * a - p["b"] * b - p["a"] * c + a ** 2])


@_define("ShimizuMorioka", {"a": 0.85, "b": 0.5}, [0.0168387, 0.0348938, 0.353468], 12.038, 0.03577)
def _shimizu_morioka(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = y, y' = x - a y - x z, z' = -b z + x^2 (Shimizu & Morioka 1980)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [b, a - p["a"] * b - a * c, -p["b"] * c + a ** 2])


@_define("RabinovichFabrikant", {"a": 1.1, "g": 0.87}, [-1.82073, 0.834409, 0.207825], 2.3356, 0.2541)
def _rabinovich_fabrikant(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = y (z - 1 + x^2) + g x, y' = x (3 z + 1 - x^2) + g y, z' = -2 z (a + x y) (Rabinovich & Fabrikant 1979)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [b * (c - 1 + a ** 2) + p["g"] * a, a * (3 * c + 1 - a ** 2) + p["g"] * b,
                      -2 * c * (p["a"] + a * b)])


@_define("Dadras", {"c": 2.0, "e": 9.0, "o": 2.7, "p": 3.0, "r": 1.7}, [1.02841, -3.53487, -0.720816], 3.2886,
         0.4059)
def _dadras(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = y - p x + o y z, y' = r y - x z + z, z' = c x y - e z (Dadras & Momeni 2009)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [b - p["p"] * a + p["o"] * b * c, p["r"] * b - a * c + c, p["c"] * a * b - p["e"] * c])


@_define("Aizawa", {"a": 0.95, "b": 0.7, "c": 0.6, "d": 3.5, "e": 0.25, "f": 0.1},
         [-0.784502, -0.628877, -0.176203], 2.5837, 0.1349)
def _aizawa(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = (z - b) x - d y, y' = d x + (z - b) y, z' = c + a z - z^3/3 - (x^2 + y^2)(1 + e z) + f z x^3 (Aizawa 1982)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [(c - p["b"]) * a - p["d"] * b, p["d"] * a + (c - p["b"]) * b,
                      p["c"] + p["a"] * c - c ** 3 / 3 - (a ** 2 + b ** 2) * (1 + p["e"] * c) + p["f"] * c * a ** 3])


@_define("ChenLee", {"a": 5.0, "b": -10.0, "c": -0.38}, [0.171771, 0.103605, 6.25539], 2.8043, 0.1636)
def _chen_lee(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = a x - y z, y' = b y + x z, z' = c z + x y / 3 (Chen & Lee 2004)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [p["a"] * a - b * c, p["b"] * b + a * c, p["c"] * c + a * b / 3])


@_define("Chua", {"alpha": 15.6, "beta": 28.0, "m0": -1.142857, "m1": -0.71429}, [1.12624, -0.113865, -0.783244],
         1.4235, 1.23)
def _chua(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = alpha (y - x - h(x)), y' = x - y + z, z' = -beta y, h(x) = m1 x + (m0 - m1)(|x + 1| - |x - 1|)/2
    (Chua's circuit, Matsumoto 1984)"""
    m = _lib(x)
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    h = p["m1"] * a + 0.5 * (p["m0"] - p["m1"]) * (m.abs(a + 1) - m.abs(a - 1))
    return _stack(x, [p["alpha"] * (b - a - h), a - b + c, -p["beta"] * b])


@_define("Lorenz96", {"f": 20.0}, [-2.46821, 0.0957026, 1.59271, 10.2137], 2.1969, 1.336)
def _lorenz96(x: Array, p: Mapping[str, Any]) -> Array:
    """x_i' = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + f, indices periodic (Lorenz 1996; 4 sites)"""
    return (_roll(x, -1) - _roll(x, 2)) * _roll(x, 1) - x + p["f"]


@_define("HyperRossler", {"a": 0.25, "b": 3.0, "c": 0.5, "d": 0.05}, [-93.6677, 15.5078, 0.032087, 43.7928],
         1.1157, 0.1719)
def _hyper_rossler(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = -y - z, y' = x + a y + w, z' = b + x z, w' = -c z + d w (Rossler 1979, hyperchaos)"""
    a, b, c, d = x[..., 0], x[..., 1], x[..., 2], x[..., 3]
    return _stack(x, [-b - c, a + p["a"] * b + d, p["b"] + a * c, -p["c"] * c + p["d"] * d])


@_define("RikitakeDynamo", {"a": 1.0, "mu": 1.0}, [-0.779156, -0.630224, 2.6712], 5.8975, 0.1318)
def _rikitake(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = -mu x + y z, y' = -mu y + x (z - a), z' = 1 - x y (Rikitake 1958 two-disk dynamo)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [-p["mu"] * a + b * c, -p["mu"] * b + a * (c - p["a"]), 1 - a * b])


@_define("NewtonLiepnik", {"a": 0.4, "b": 0.175}, [0.294308, 0.106495, 0.290811], 8.5095, 0.1495)
def _newton_liepnik(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = -a x + y + 10 y z, y' = -x - 0.4 y + 5 x z, z' = b z - 5 x y (Leipnik & Newton 1981)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [-p["a"] * a + b + 10 * b * c, -a - 0.4 * b + 5 * a * c, p["b"] * c - 5 * a * b])


@_define("QiChen", {"a": 38.0, "b": 2.666, "c": 80.0}, [17.4209, 5.54596, 78.8914], 0.39179, 4.028)
def _qi_chen(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = a (y - x) + y z, y' = c x + y - x z, z' = x y - b z (Qi, Chen et al. 2005)"""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [p["a"] * (b - a) + b * c, p["c"] * a + b - a * c, a * b - p["b"] * c])


@_define("ArnoldBeltramiChildress", {"a": 1.73205, "b": 1.41421, "c": 1.0}, [147.913, -1762.81, -647.376], 2.8508,
         0.3667)
def _abc_flow(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = a sin z + c cos y, y' = b sin x + a cos z, z' = c sin y + b cos x (ABC flow; Dombre et al. 1986)"""
    m = _lib(x)
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [p["a"] * m.sin(c) + p["c"] * m.cos(b), p["b"] * m.sin(a) + p["a"] * m.cos(c),
                      p["c"] * m.sin(b) + p["b"] * m.cos(a)])


@_define("LorenzStenflo", {"a": 2.0, "b": 0.7, "c": 26.0, "d": 1.5}, [4.23344, 9.08971, 21.8666, -1.40807], 3.8877,
         0.3808)
def _lorenz_stenflo(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = a (y - x) + d w, y' = x (c - z) - y, z' = x y - b z, w' = -x - a w (Stenflo 1996)"""
    a, b, c, d = x[..., 0], x[..., 1], x[..., 2], x[..., 3]
    return _stack(x, [p["a"] * (b - a) + p["d"] * d, a * (p["c"] - c) - b, a * b - p["b"] * c, -a - p["a"] * d])


@_define("YuWang", {"a": 10.0, "b": 40.0, "c": 2.0, "d": 2.5}, [-0.214224, -0.179355, 14.1055], 1.3366, 1.853)
def _yu_wang(x: Array, p: Mapping[str, Any]) -> Array:
    """x' = a (y - x), y' = b x - c x z, z' = exp(x y) - d z (Yu & Wang 2012)"""
    m = _lib(x)
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return _stack(x, [p["a"] * (b - a), p["b"] * a - p["c"] * a * c, m.exp(a * b) - p["d"] * c])


# ---- public helpers -------------------------------------------------------------------------------------
def create(name: str, **params: Any) -> System:
    """The system ``name`` with its published parameters, some overridden by ``params``.

    ``UsageError`` with close matches for an unknown system or parameter name. A system whose parameters were
    changed has no ``reference_lyapunov`` (the published one belongs to the published parameters).
    """
    return SYSTEMS.create(name, **params)


def names(pattern: str | None = None) -> list[str]:
    """Sorted names of the registered systems, optionally filtered by a glob (``"Sprott*"``)."""
    return SYSTEMS.names(pattern)


def system_facts(name: str) -> dict[str, Any]:
    """The published facts of ``name``: params, initial conditions, period, reference Lyapunov exponent, source."""
    spec: SystemSpec = SYSTEMS.get(name)
    return {"params": dict(spec.params), "initial_conditions": list(spec.ic), "period": spec.period,
            "reference_lyapunov": spec.lyapunov, "lyapunov_source": spec.source, "equations": spec.equations}


def linear_system(matrix: Any, *, period: float = 1.0, name: str = "linear") -> System:
    r""":math:`\dot x = A x` (not registered): its Lyapunov exponents are the real parts of the eigenvalues of
    ``A`` (for diagonalisable ``A``), the closed form the Lyapunov tests check against.

    Args:
        matrix: ``(dim, dim)`` real matrix ``A``.
        period: the timescale used for sampling and default step sizes.
    """
    a = np.asarray(matrix, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise ValueError(f"matrix must be a square (dim, dim) array, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError("matrix contains NaN/inf entries")
    check_float("period", period, min_value=0.0, strict_min=True)

    def fn(x: Array, p: Mapping[str, Any]) -> Array:
        mat = p["A"]
        if isinstance(x, torch.Tensor):
            mat = torch.as_tensor(mat, dtype=x.dtype, device=x.device)
        return x @ mat.T

    spectrum = np.sort(np.linalg.eigvals(a).real)[::-1]
    return System(name, fn, {"A": a}, np.ones(a.shape[0]), float(period), float(spectrum[0]),
                  "closed form: largest real part of the eigenvalues of A", "x' = A x")


def resolve(system: str | System) -> System:
    """A :class:`System` from a name or a system (passed through)."""
    if isinstance(system, System):
        return system
    if isinstance(system, str):
        return create(system)
    raise TypeError(f"system must be a registered name (str) or a System, got {type(system).__name__}")

