r"""LESnets: a data-free, physics-informed neural operator for large-eddy simulation (2-D).

Zhao et al., "LESnets (Large-Eddy Simulation nets): Physics-informed neural operator for large-eddy simulation of
turbulence", J. Comput. Phys. 2025 (code: Sunan-zhao/LESnets). A space-time operator maps the initial filtered
field to the whole time window; it is trained on the residual of the LES equations alone (no solution data), in
the PINO manner. The paper's set-up is 3-D velocity (32^3 decaying isotropic turbulence, :math:`\nu = 1/64`,
:math:`\Delta t = 0.02`, 10 steps per window, Smagorinsky :math:`C_s^2 = 0.01`, FNO with 6 layers, width 40,
12 modes); here the equation is the 2-D vorticity form of ``basiskit.pde`` (``les_residual``):

.. math::
    \mathcal L(\theta) = \frac{1}{K}\sum_k \big\|R_k(w_\theta)\big\|^2, \qquad
    R_k = \frac{w_{k+1} - w_{k-1}}{2\Delta t} - \mathcal N_{C_s^2}(w_k),

the paper's second-order central difference in time and spectral derivatives in space. Two choices of ours, both
stated: the initial condition is imposed exactly, :math:`w_\theta(t) = w_0 + (t/T)\,G_\theta(w_0)(t)` (the paper
feeds :math:`w_0` as the first frame of the residual, which is the same at the grid points), and the first frame
also gets a second-order one-sided residual :math:`(-3w_0 + 4w_1 - w_2)/(2\Delta t) - \mathcal N(w_0)`, which
closes the central-difference system (otherwise :math:`w_1` is free and a checkerboard in time costs nothing).

Learning :math:`C_s^2`. With no data every :math:`C_s^2` has its own zero-residual trajectory, so the residual
loss alone cannot tell which closure is right. The paper (their "Cs unknown" runs) adds the residual of a short
LES trajectory with the learnable :math:`C_s^2`: :math:`\mathcal L = \mathcal L(\theta, C_s^2) +
\lambda\,\|R(w_{LES}; C_s^2)\|^2`. The second term is quadratic in :math:`C_s^2` and is minimised by the
solver's constant once the snapshots are close enough in time for the central difference to resolve the
closure's share of :math:`\partial_t w` (about 1% here). :func:`snapshot_cs_squared` gives that minimiser in
closed form, as a check on the learned value.

The operator itself (an FNO over (x, y, t), ``basiskit.operators.FNO`` with three mode counts) is built by the
caller and passed in, so this module needs nothing from ``operators``.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .._validation import check_choice, check_float, check_int, check_tensor
from ..pde import les_residual, vorticity_tendency

LAYOUTS = ("space-time", "channels")


def _check_field(w0: torch.Tensor) -> None:
    check_tensor("w0", w0, ndim=3, nonempty=True)
    if w0.shape[-1] != w0.shape[-2] or w0.shape[-1] % 2:
        raise ValueError(f"w0 must be (batch, n, n) with n even, got shape {tuple(w0.shape)}")


class LESNet(nn.Module):
    r"""Space-time operator :math:`w_0 \mapsto (w(t_0), \dots, w(t_{T}))`, :math:`t_k = k\,\text{window}/T`.

    Args:
        backbone: the operator :math:`G_\theta`. ``layout="space-time"`` (the paper's kind: one FNO over space
            and time): maps (batch, 1, n, n, T + 1) to the same shape, e.g. ``operators.FNO((m, m, m_t))`` with
            positional channels, and sees :math:`w_0 / \text{scale}` repeated over time. ``layout="channels"``:
            a 2-D operator (batch, 1, n, n) -> (batch, T, n, n) whose output channels are the frames
            :math:`t_1 \dots t_T` (e.g. ``operators.FNO((m, m), 1, T)``), several times cheaper per step.
        n_steps: T, the time steps in the window (the paper: 10).
        window: the window's length in time (> 0).
        cs_squared: the Smagorinsky :math:`C_s^2` the loss uses (>= 0).
        learn_cs_squared: make :math:`C_s^2` a trainable parameter started at ``cs_squared``.
        scale: a fixed input / output scale of the vorticity (its typical standard deviation).
        layout: "space-time" or "channels" (see ``backbone``).

    forward: w0 (batch, n, n) -> (batch, T + 1, n, n), the first frame equal to ``w0``.
    """

    def __init__(self, backbone: nn.Module, n_steps: int, window: float, *, cs_squared: float = 0.01,
                 learn_cs_squared: bool = False, scale: float = 1.0, layout: str = "space-time") -> None:
        super().__init__()
        self.layout = check_choice("layout", layout, LAYOUTS)
        self.backbone = backbone
        self.n_steps = check_int("n_steps", n_steps, min_value=2)
        self.window = check_float("window", window, min_value=0.0, strict_min=True)
        self.scale = check_float("scale", scale, min_value=0.0, strict_min=True)
        cs_squared = check_float("cs_squared", cs_squared, min_value=0.0)
        value = torch.tensor(cs_squared, dtype=torch.float64)
        if learn_cs_squared:
            self.cs_squared = nn.Parameter(value)
        else:
            self.register_buffer("cs_squared", value)
        self.register_buffer("ramp", torch.linspace(0.0, 1.0, self.n_steps + 1), persistent=False)

    @property
    def dt(self) -> float:
        """The spacing of the output frames, window / T."""
        return self.window / self.n_steps

    def forward(self, w0: torch.Tensor) -> torch.Tensor:
        _check_field(w0)
        ramp = self.ramp.to(w0.dtype)
        if self.layout == "channels":
            update = self.backbone((w0 / self.scale)[:, None]) * self.scale  # (batch, T, n, n)
            if update.shape[1] != self.n_steps:
                raise ValueError(f"the backbone must return n_steps = {self.n_steps} channels, got shape "
                                 f"{tuple(update.shape)}")
            return torch.cat([w0[:, None], w0[:, None] + ramp[1:, None, None] * update], 1)
        x = (w0 / self.scale)[:, None, :, :, None].expand(-1, -1, -1, -1, self.n_steps + 1)
        update = self.backbone(x)[:, 0] * self.scale  # (batch, n, n, T + 1)
        traj = w0[..., None] + ramp * update
        return traj.permute(0, 3, 1, 2)

    def extra_repr(self) -> str:
        kind = "learned" if isinstance(self.cs_squared, nn.Parameter) else "fixed"
        return (f"n_steps={self.n_steps}, window={self.window:g}, layout={self.layout!r}, "
                f"cs_squared={float(self.cs_squared):.4g} ({kind})")


def lesnet_residual(trajectory: torch.Tensor, dt: float, viscosity: float, cs_squared: float | torch.Tensor,
                    *, forcing: torch.Tensor | None = None, filter_width: float | None = None) -> torch.Tensor:
    r"""The LESnets residual of a window, (batch, T, n, n) for a (batch, T + 1, n, n) trajectory: the one-sided
    residual at the first frame, then the central-difference residuals of ``pde.les_residual`` at frames 1..T-1."""
    check_tensor("trajectory", trajectory, ndim=4, nonempty=True)
    if trajectory.shape[1] < 3:
        raise ValueError(f"trajectory needs at least 3 frames, got shape {tuple(trajectory.shape)}")
    kw = {"forcing": forcing, "filter_width": filter_width}
    first = ((-3 * trajectory[:, 0] + 4 * trajectory[:, 1] - trajectory[:, 2]) / (2 * dt)
             - vorticity_tendency(trajectory[:, 0], viscosity, cs_squared, **kw))
    inner = les_residual(trajectory, dt, viscosity, cs_squared, **kw)
    return torch.cat([first[:, None], inner], 1)


def lesnet_loss(model: LESNet, w0: torch.Tensor, viscosity: float, *, forcing: torch.Tensor | None = None,
                filter_width: float | None = None) -> torch.Tensor:
    r"""Data-free loss: mean square of :func:`lesnet_residual` of ``model(w0)`` with the model's :math:`C_s^2`,
    divided by the mean square of the initial tendency :math:`\mathcal N(w_0)` (a fixed, scale-free
    normalisation: 1 for the trajectory that stays at :math:`w_0`). w0: (batch, n, n) -> scalar."""
    traj = model(w0)
    res = lesnet_residual(traj, model.dt, viscosity, model.cs_squared, forcing=forcing, filter_width=filter_width)
    with torch.no_grad():
        ref = vorticity_tendency(w0, viscosity, float(model.cs_squared), forcing=forcing, filter_width=filter_width)
    return res.pow(2).mean() / ref.pow(2).mean().clamp_min(1e-30)


def snapshot_loss(snapshots: torch.Tensor, dt: float, viscosity: float, cs_squared: float | torch.Tensor, *,
                  forcing: torch.Tensor | None = None, filter_width: float | None = None) -> torch.Tensor:
    r"""Mean square LES residual of solver snapshots (batch, S >= 3, n, n), ``dt`` apart, at a (learnable)
    :math:`C_s^2`, divided by the mean square of their time derivative: the data term of the paper's
    learnable-:math:`C_s^2` runs."""
    res = les_residual(snapshots, dt, viscosity, cs_squared, forcing=forcing, filter_width=filter_width)
    with torch.no_grad():
        ref = (snapshots[:, 2:] - snapshots[:, :-2]) / (2 * dt)
    return res.pow(2).mean() / ref.pow(2).mean().clamp_min(1e-30)


@torch.no_grad()
def snapshot_cs_squared(snapshots: torch.Tensor, dt: float, viscosity: float, *,
                        forcing: torch.Tensor | None = None, filter_width: float | None = None) -> float:
    r"""The :math:`C_s^2` that minimises :func:`snapshot_loss` (the residual is affine in :math:`C_s^2`, so the
    least-squares value is :math:`-\langle R_0, G\rangle / \langle G, G\rangle` with :math:`R_0` the residual at
    :math:`C_s^2 = 0` and :math:`G = R_1 - R_0`)."""
    check_tensor("snapshots", snapshots, ndim=4, nonempty=True)
    kw = {"forcing": forcing, "filter_width": filter_width}
    r0 = les_residual(snapshots.to(torch.float64), dt, viscosity, 0.0, **kw)
    g = les_residual(snapshots.to(torch.float64), dt, viscosity, 1.0, **kw) - r0
    denom = float((g * g).sum())
    if not math.isfinite(denom) or denom == 0.0:
        raise ValueError("the snapshots have no resolved strain (the closure term is zero): C_s^2 is not defined")
    return -float((r0 * g).sum()) / denom
