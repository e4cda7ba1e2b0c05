r"""Inverse problems: PDE parameters recovered jointly with the solution from observations.

A forward PINN fits :math:`u_\theta` to a PDE whose parameters are known. In the inverse problem
(Raissi, Perdikaris & Karniadakis 2019, Sec. 4) some parameters :math:`\lambda` are unknown and a set of
observations :math:`\{(x_i, u_i)\}` is given; the solver minimises

.. math::
    L(\theta, \lambda) = w_r \overline{r(x; u_\theta, \lambda)^2} + w_d \overline{(u_\theta(x_i) - u_i)^2}
    \; (+\ \text{boundary and initial terms where the problem has them})

over both. Here

* :class:`Unknowns` holds the unknowns as trainable parameters of the solver (``PINN(unknowns={"nu": 0.05})``),
  stored as :math:`\log\lambda` when they are positive (a viscosity, a Reynolds number), so that a gradient step
  changes them by a relative amount whatever their scale (0.003 or 300) and they never change sign;
* :class:`Observations` is the data term with its own weight (``weights={"data": ...}``), on any subset of a
  system's channels (e.g. velocity only, not pressure);
* :func:`observe` draws scattered observations from a problem's exact or reference solution, with optional
  Gaussian noise :math:`u_i + \sigma\,\mathrm{std}(u)\,\varepsilon_i`, :math:`\varepsilon_i \sim N(0, 1)` (Raissi
  et al.'s noise model).

The recovered values are logged at each evaluation by :func:`~basiskit.physics.pinn.train_physics` and
returned as curves by :func:`~basiskit.physics.pinn.training_summary`.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from .._validation import check_float, check_int, check_tensor

__all__ = ["Observations", "Unknowns", "observe"]

RESERVED = frozenset({"loss", "lr", "step", "residual", "boundary", "initial", "data", "rel_l2"})


class Unknowns(nn.Module):
    r"""Trainable PDE parameters by name; ``forward()`` returns ``{name: 0-dim tensor}`` for ``equation(D, p)``.

    Args:
        initial: ``{name: initial guess}``.
        positive: store :math:`\log\lambda` (True: the guesses must be > 0) or :math:`\lambda` itself (False).
    """

    def __init__(self, initial: dict[str, float], positive: bool = True, *, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        if not isinstance(initial, dict) or not initial:
            raise ValueError(f"unknowns must be a non-empty dict {{name: initial value}}, got {initial!r}")
        self.positive = bool(positive)
        raw = {}
        for name, value in initial.items():
            if not isinstance(name, str) or not name.isidentifier() or name in RESERVED:
                raise ValueError(f"unknowns: names must be identifiers other than {sorted(RESERVED)} (they are "
                                 f"logged beside the loss parts), got {name!r}")
            v = check_float(f"unknowns[{name!r}]", value, min_value=0.0 if positive else None, strict_min=positive)
            raw[name] = nn.Parameter(torch.tensor(math.log(v) if positive else v, device=device, dtype=dtype))
        self.raw = nn.ParameterDict(raw)

    @property
    def names(self) -> list[str]:
        return list(self.raw.keys())

    def forward(self) -> dict[str, torch.Tensor]:
        """The current values (0-dim tensors that carry gradients to the raw parameters)."""
        return {k: (v.exp() if self.positive else v) for k, v in self.raw.items()}

    def values(self) -> dict[str, float]:
        """The current values as floats."""
        with torch.no_grad():
            return {k: float(v) for k, v in self().items()}

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v:.6g}" for k, v in self.values().items()) + f", positive={self.positive}"


class Observations:
    """Observed field values for the data term: points (n, input_dim), values (n, len(channels)).

    ``channels``: the output channels observed (default all of the problem's outputs; set by the solver when
    None). The loss is the mean square misfit :math:`\\overline{(u_\\theta(x_i)_c - u_{ic})^2}`.
    """

    def __init__(self, points: torch.Tensor, values: torch.Tensor, channels: Sequence[int] | None = None) -> None:
        check_tensor("points", points, ndim=2, finite=True, nonempty=True)
        if values.ndim == 1:
            values = values.unsqueeze(1)
        check_tensor("values", values, ndim=2, finite=True)
        if values.shape[0] != points.shape[0]:
            raise ValueError(f"values: {values.shape[0]} rows for {points.shape[0]} points")
        if channels is not None:
            channels = [check_int("channels", c, min_value=0) for c in channels]
            if len(channels) != values.shape[1]:
                raise ValueError(f"channels {channels} name {len(channels)} output(s) but values have "
                                 f"{values.shape[1]} column(s)")
        self.points, self.values = points.detach(), values.detach()
        self.channels = None if channels is None else tuple(channels)

    def __len__(self) -> int:
        return self.points.shape[0]

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> Observations:
        return Observations(self.points.to(device, dtype), self.values.to(device, dtype), self.channels)

    def loss(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """Mean square misfit of ``fn`` (points -> (n, outputs)) on the observed channels: a 0-dim tensor."""
        pred = fn(self.points)
        if self.channels is not None:
            if max(self.channels) >= pred.shape[1]:
                raise ValueError(f"observations: channels {list(self.channels)} but the model has {pred.shape[1]} "
                                 "output(s)")
            pred = pred[:, list(self.channels)]
        if pred.shape != self.values.shape:
            raise ValueError(f"observations: values are {tuple(self.values.shape)} but the model gives "
                             f"{tuple(pred.shape)} on the observed channels (pass channels=...)")
        return (pred - self.values).pow(2).mean()

    def __repr__(self) -> str:
        return f"Observations(n={len(self)}, channels={self.channels})"


def observe(problem: Any, n: int, *, noise: float = 0.0, channels: Sequence[int] | None = None,
            generator: torch.Generator | None = None) -> Observations:
    r"""``n`` scattered observations of ``problem``'s solution at points uniform in its domain.

    ``noise``: :math:`\sigma` in :math:`u_i + \sigma\,\mathrm{std}(u)\,\varepsilon_i` (per channel,
    :math:`\varepsilon_i \sim N(0, 1)` from ``generator``); ``channels``: which outputs are observed.
    """
    check_int("n", n, min_value=1)
    check_float("noise", noise, min_value=0.0)
    points = problem.sample_interior(n, generator)
    values = problem.solution(points)
    if channels is not None:
        idx = [check_int("channels", c, min_value=0, max_value=problem.outputs - 1) for c in channels]
        values = values[:, idx]
    if noise > 0:
        eps = torch.randn(values.shape, generator=generator, dtype=values.dtype)
        values = values + noise * values.std(dim=0, keepdim=True) * eps
    return Observations(points, values, channels)
