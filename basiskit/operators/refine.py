r"""Spectral refinement of a space-time operator's last layer on the H^-1 norm of the PDE residual
(Cao, Brarda, Li & Xi 2024, "Spectral-Refiner: Accurate Fine-Tuning of Spatiotemporal Fourier Neural Operator for
Turbulent Flows", ICLR 2025).

The flow is 2-D incompressible Navier-Stokes in vorticity form on the torus :math:`[0, 1)^2`,

.. math::
    \partial_t w + \mathbf u\cdot\nabla w = \nu\Delta w + f, \qquad -\Delta\psi = w, \qquad
    \mathbf u = (\partial_y\psi, -\partial_x\psi),

as in ``basiskit.pde.navier_stokes``. A trajectory :math:`w^1, \dots, w^{N}` at :math:`t_m = t_0 + m\,\Delta t`
with a known start :math:`w^0` has the Crank-Nicolson (implicit trapezoidal) residual at each half step

.. math::
    R^{m+1/2} = \frac{w^{m+1} - w^m}{\Delta t} + \tfrac12\big(\mathbf a^m\cdot\nabla w^m
    + \mathbf a^{m+1}\cdot\nabla w^{m+1}\big) - \tfrac{\nu}{2}\Delta\big(w^m + w^{m+1}\big) - f,

with the advecting velocity :math:`\mathbf a^m = \mathbf u(w^m)` (the full nonlinear residual) or frozen at a given
trajectory (the Picard linearisation). Space derivatives are spectral (Fourier collocation on :math:`x_j = j/n`, the
advection product de-aliased by the 2/3 rule like the solver's); time is the finite difference above, not a
spectral derivative: the window is not periodic in time, and a spectral time derivative would impose that.
The first half step uses the given :math:`w^0`, which pins the trajectory: without it every solution of the PDE
would have zero residual.

**Norm and wavenumber convention.** Fourier coefficients are those of ``torch.fft.rfft2(r, norm="forward")``, so
:math:`r(x) = \sum_k \hat r_k e^{2\pi i k\cdot x}` with integer :math:`k \in \mathbb Z^2` on :math:`[0, 1)^2` and
:math:`\|r\|_{L^2}^2 = \sum_k |\hat r_k|^2` (Parseval). The (inhomogeneous) :math:`H^{-1}` norm is

.. math::
    \|r\|_{H^{-1}}^2 = \sum_k \frac{|\hat r_k|^2}{1 + 4\pi^2|k|^2},

the paper's :math:`\sum_k |\hat R_k|^2 / (1 + |k|^2)` written with the physical frequency :math:`2\pi k` of the unit
torus. The homogeneous norm :math:`\sum_{k\ne0} |\hat r_k|^2 / (4\pi^2|k|^2)` (``homogeneous=True``) skips the
mean :math:`k = 0`, which it does not control; the vorticity equation keeps the mean of :math:`w` fixed, so that
mode of the residual is just :math:`\partial_t \bar w - \bar f`. Over a trajectory the loss is the mean over the
half steps (a time integral divided by the window's length) of these squared norms.

**Refinement** (:func:`spectral_refine`). The model must expose ``features(x)`` (everything but the last layer,
frozen) and ``head``, a ``SpectralConv`` that keeps every mode of its grid (no frequency truncation). The output
:math:`w = \mathcal F^{-1}(\hat W\hat v) + b` is linear in the head's weight :math:`\hat W` (the bias :math:`b`
is kept); with the advecting velocity frozen the residual is affine in :math:`w`, so the loss is a convex
quadratic in :math:`\hat W`. It is minimised by preconditioned conjugate gradients (Adam and LBFGS are options;
Adam converges far more slowly here, since the H^-1 weight spreads the modes' curvatures over decades), then the
velocity is recomputed from the refined trajectory (an outer Picard iteration) and the minimisation repeated.
With the velocity not frozen the loss is a quartic in the head, not convex in general. Each trajectory may get
its own head (``per_sample=True``: the refinement needs no data, so it runs on each new input, as a solver
would) or all share one.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
from torch import nn

from .._validation import check_choice, check_float, check_int, check_tensor
from ..pde.spectral import dealias_mask, rfftn_wavenumbers
from .spectral import SpectralConv, kept_modes, padded_irfftn, truncated_rfftn

__all__ = ["RefineResult", "VorticityProblem", "hminus1_norm_sq", "hminus1_weight", "spectral_refine",
           "trajectory_residual_norm", "vorticity_residual"]


def _real_dtype(x: torch.Tensor) -> torch.dtype:
    return x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32


def hminus1_weight(shape: tuple[int, int], *, homogeneous: bool = False, dtype: torch.dtype = torch.float64,
                   device: torch.device | str | None = None) -> torch.Tensor:
    r"""Weights :math:`c_k / (1 + 4\pi^2|k|^2)` (or :math:`c_k / (4\pi^2|k|^2)`, :math:`k \ne 0`, when
    ``homogeneous``) on the ``rfft2`` half spectrum of a real (n1, n2) field: (n1, n2 // 2 + 1).

    :math:`c_k = 2` on the columns that stand for a conjugate pair as well (``0 < k_2 < n_2/2``), else 1, so that
    ``(|rfft2(r, norm="forward")|^2 * weight).sum()`` is the norm over the whole spectrum.
    """
    n1, n2 = shape
    kx, ky = rfftn_wavenumbers((n1, n2), dtype=dtype, device=device)
    k2 = 4 * math.pi ** 2 * (kx ** 2 + ky ** 2)
    if homogeneous:
        weight = torch.where(k2 > 0, 1.0 / torch.where(k2 > 0, k2, torch.ones_like(k2)), torch.zeros_like(k2))
    else:
        weight = 1.0 / (1.0 + k2)
    mult = torch.full((n2 // 2 + 1,), 2.0, dtype=dtype, device=device)
    mult[0] = 1.0
    if n2 % 2 == 0:
        mult[-1] = 1.0
    return weight * mult


def hminus1_norm_sq(r: torch.Tensor, *, homogeneous: bool = False) -> torch.Tensor:
    r"""Squared :math:`H^{-1}` norm of periodic fields on :math:`[0, 1)^2` (module docstring):
    :math:`\sum_k |\hat r_k|^2 / (1 + 4\pi^2|k|^2)`.

    r: (..., n1, n2) real -> (...,). ``homogeneous=True``: :math:`\sum_{k\ne0} |\hat r_k|^2 / (4\pi^2|k|^2)`.
    """
    check_tensor("r", r, min_ndim=2, floating=True)
    if r.is_complex():
        raise TypeError(f"r must be a real field, got dtype {r.dtype}")
    dtype = _real_dtype(r)
    spec = torch.fft.rfft2(r.to(dtype), norm="forward")
    weight = hminus1_weight(tuple(r.shape[-2:]), homogeneous=homogeneous, dtype=dtype, device=r.device)
    return ((spec.real ** 2 + spec.imag ** 2) * weight).sum((-2, -1))


def _check_trajectory(w: torch.Tensor, w0: torch.Tensor) -> None:
    check_tensor("w", w, ndim=4, floating=True, nonempty=True)
    check_tensor("w0", w0, ndim=3, floating=True)
    b, _, n1, n2 = w.shape
    if tuple(w0.shape) != (b, n1, n2):
        raise ValueError(f"w0 must be (batch, n1, n2) = {(b, n1, n2)} to start the trajectory w of shape "
                         f"{tuple(w.shape)} (batch, steps, n1, n2), got {tuple(w0.shape)}")


def vorticity_residual(w: torch.Tensor, w0: torch.Tensor, dt: float, viscosity: float, *,
                       forcing: torch.Tensor | None = None, advecting: torch.Tensor | None = None,
                       dealias: bool = True) -> torch.Tensor:
    r"""Crank-Nicolson residual :math:`R^{m+1/2}` of the vorticity equation over a trajectory (module docstring).

    Args:
        w: (b, steps, n1, n2) vorticity at :math:`t_1 \dots t_{steps}`, spacing ``dt``.
        w0: (b, n1, n2) the known vorticity at :math:`t_0`.
        forcing: (n1, n2) or (b, n1, n2) time-independent :math:`f`, or None.
        advecting: None (the velocity of ``w`` itself: the nonlinear residual) or a (b, steps + 1, n1, n2)
            vorticity trajectory from :math:`t_0` whose velocity is used instead (frozen: pass a detached tensor
            for the Picard linearisation, in which the residual is affine in ``w``).
        dealias: apply the 2/3 rule to the advection product, as ``pde.navier_stokes_2d`` does.

    Returns:
        (b, steps, n1, n2), in ``w``'s dtype (float32 or float64).
    """
    _check_trajectory(w, w0)
    dt = check_float("dt", dt, min_value=0.0, strict_min=True)
    viscosity = check_float("viscosity", viscosity, min_value=0.0)
    b, _, n1, n2 = w.shape
    dtype = _real_dtype(w)
    traj = torch.cat([w0[:, None].to(dtype), w.to(dtype)], 1)  # (b, steps + 1, n1, n2)
    if advecting is not None:
        check_tensor("advecting", advecting, ndim=4, floating=True)
        if tuple(advecting.shape) != tuple(traj.shape):
            raise ValueError(f"advecting must be (b, steps + 1, n1, n2) = {tuple(traj.shape)} (from t_0), got "
                             f"{tuple(advecting.shape)}")
    kx, ky = rfftn_wavenumbers((n1, n2), dtype=dtype, device=w.device)
    ikx, iky = 2j * math.pi * kx, 2j * math.pi * ky
    k2 = 4 * math.pi ** 2 * (kx ** 2 + ky ** 2)
    spec = torch.fft.rfft2(traj)
    a_spec = spec if advecting is None else torch.fft.rfft2(advecting.to(dtype))
    psi = torch.where(k2 > 0, a_spec / torch.where(k2 > 0, k2, torch.ones_like(k2)), torch.zeros_like(a_spec))
    u = torch.fft.irfft2(iky * psi, s=(n1, n2))
    v = torch.fft.irfft2(-ikx * psi, s=(n1, n2))
    wx = torch.fft.irfft2(ikx * spec, s=(n1, n2))
    wy = torch.fft.irfft2(iky * spec, s=(n1, n2))
    adv_spec = torch.fft.rfft2(u * wx + v * wy)
    if dealias:
        adv_spec = adv_spec * dealias_mask((n1, n2), device=w.device)
    # advection + (-nu Laplacian), both in spectral space, then averaged over the two ends of each half step
    rhs = torch.fft.irfft2(adv_spec + viscosity * k2 * spec, s=(n1, n2))
    res = (traj[:, 1:] - traj[:, :-1]) / dt + 0.5 * (rhs[:, 1:] + rhs[:, :-1])
    if forcing is not None:
        check_tensor("forcing", forcing, ndim=(2, 3), finite=True)
        if tuple(forcing.shape[-2:]) != (n1, n2) or (forcing.ndim == 3 and forcing.shape[0] != b):
            raise ValueError(f"forcing must be (n1, n2) = {(n1, n2)} or (b, n1, n2) = {(b, n1, n2)}, got "
                             f"{tuple(forcing.shape)}")
        f = forcing.to(dtype=dtype, device=w.device)
        res = res - (f[None, None] if f.ndim == 2 else f[:, None])
    return res


def trajectory_residual_norm(w: torch.Tensor, w0: torch.Tensor, dt: float, viscosity: float, *,
                             forcing: torch.Tensor | None = None, advecting: torch.Tensor | None = None,
                             homogeneous: bool = False, dealias: bool = True) -> torch.Tensor:
    r"""Mean over the half steps of :math:`\|R^{m+1/2}\|_{H^{-1}}^2`, one value per trajectory: (b,).

    Arguments as :func:`vorticity_residual`; its square root is the residual figure the recipe reports.
    """
    res = vorticity_residual(w, w0, dt, viscosity, forcing=forcing, advecting=advecting, dealias=dealias)
    return hminus1_norm_sq(res, homogeneous=homogeneous).mean(1)


@dataclass
class VorticityProblem:
    r"""A window of 2-D Navier-Stokes that a trajectory model predicts.

    ``inputs``: (b, in_channels, n1, n2), what the model reads; ``initial``: (b, n1, n2), :math:`w(t_0)`
    (default: the last input channel); the model predicts :math:`w(t_0 + m\,dt)`, m = 1..steps, as
    (b, 1, n1, n2, steps). ``forcing``: (n1, n2) or None.
    """

    inputs: torch.Tensor
    dt: float
    viscosity: float
    forcing: torch.Tensor | None = None
    initial: torch.Tensor | None = None
    homogeneous: bool = False
    dealias: bool = True

    def __post_init__(self) -> None:
        check_tensor("inputs", self.inputs, ndim=4, floating=True, finite=True, nonempty=True)
        self.dt = check_float("dt", self.dt, min_value=0.0, strict_min=True)
        self.viscosity = check_float("viscosity", self.viscosity, min_value=0.0)
        if self.initial is None:
            self.initial = self.inputs[:, -1]
        check_tensor("initial", self.initial, ndim=3, floating=True, finite=True)
        b, _, n1, n2 = self.inputs.shape
        if tuple(self.initial.shape) != (b, n1, n2):
            raise ValueError(f"initial must be (b, n1, n2) = {(b, n1, n2)} like inputs, got "
                             f"{tuple(self.initial.shape)}")

    def residual_norm_sq(self, prediction: torch.Tensor, advecting: torch.Tensor | None = None) -> torch.Tensor:
        """Mean squared H^-1 residual per trajectory, (b,), of a (b, 1, n1, n2, steps) prediction."""
        w = _as_frames(prediction)
        return trajectory_residual_norm(w, self.initial.to(w), self.dt, self.viscosity, forcing=self.forcing,
                                        advecting=advecting, homogeneous=self.homogeneous, dealias=self.dealias)


def _as_frames(prediction: torch.Tensor) -> torch.Tensor:
    """(b, 1, n1, n2, steps) model output -> (b, steps, n1, n2) frames."""
    check_tensor("prediction", prediction, ndim=5, floating=True)
    if prediction.shape[1] != 1:
        raise ValueError(f"prediction must have one channel (the vorticity), got shape {tuple(prediction.shape)}")
    return prediction[:, 0].permute(0, 3, 1, 2)


@dataclass
class RefineResult:
    """What :func:`spectral_refine` returns: the refined prediction (b, 1, n1, n2, steps), the refined head weight
    (complex; (b, in, out, *modes) per sample or (in, out, *modes) shared) and the head's bias (kept), the loss
    after each inner step (``losses``, mean over the batch), the residual figure before and after (per
    trajectory, the square root of the mean squared H^-1 norm of the nonlinear residual) and the wall seconds."""

    prediction: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor | None
    losses: list[float] = field(default_factory=list)
    residual_before: torch.Tensor | None = None
    residual_after: torch.Tensor | None = None
    seconds: float = 0.0


def _head_of(model: nn.Module) -> SpectralConv:
    head = getattr(model, "head", None)
    if not isinstance(head, SpectralConv) or not callable(getattr(model, "features", None)):
        raise TypeError(f"model must expose features(x) and a SpectralConv head (e.g. SpatioTemporalFNO), got "
                        f"{type(model).__name__}")
    return head


def _mode_scale(feat_spec: torch.Tensor, steps: int) -> torch.Tensor:
    r"""Approximate curvature of the loss along each head mode, per trajectory: (b, 1, 1, *modes).

    The loss is dominated by :math:`|\hat w(k)|^2 / (1 + 4\pi^2|k_{xy}|^2)` times the time difference's symbol
    :math:`4\sin^2(\pi k_t/\text{steps}) + 1/\text{steps}` (the last term: the pinned first step), and
    :math:`\hat w(k) = \sum_i \hat W_i(k)\hat v_i(k)` has curvature :math:`\sum_i|\hat v_i(k)|^2` in the weight.
    """
    n1, n2, kt_count = feat_spec.shape[2:]
    dtype = feat_spec.real.dtype
    kx = torch.fft.fftfreq(n1, 1.0 / n1, dtype=dtype, device=feat_spec.device).reshape(-1, 1, 1)
    ky = torch.fft.fftfreq(n2, 1.0 / n2, dtype=dtype, device=feat_spec.device).reshape(1, -1, 1)
    kt = torch.arange(kt_count, dtype=dtype, device=feat_spec.device).reshape(1, 1, -1)
    symbol = (4 * torch.sin(math.pi * kt / steps) ** 2 + 1.0 / steps) / (1 + 4 * math.pi ** 2 * (kx ** 2 + ky ** 2))
    energy = (feat_spec.real ** 2 + feat_spec.imag ** 2).sum(1, keepdim=True)  # (b, 1, *modes)
    scale = symbol * energy
    floor = 1e-12 * scale.flatten(1).amax(1).clamp_min(torch.finfo(dtype).tiny).reshape(-1, 1, 1, 1, 1)
    return (scale + floor).unsqueeze(2)


def _minimise_with_torch(theta: torch.Tensor, objective, optimizer: str, steps: int, lr: float,
                         losses: list[float]) -> torch.Tensor:
    """``steps`` steps of torch's Adam, or one LBFGS call of ``steps`` iterations, on ``objective(param)``
    from ``theta``; appends each evaluated loss to ``losses``; returns the final parameters (detached)."""
    param = theta.clone().requires_grad_(True)
    if optimizer == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam([param], lr=lr)
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            loss = objective(param)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        return param.detach()
    lbfgs = torch.optim.LBFGS([param], lr=lr, max_iter=steps, history_size=20, tolerance_grad=0.0,
                              tolerance_change=0.0, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        lbfgs.zero_grad(set_to_none=True)
        loss = objective(param)
        loss.backward()
        losses.append(float(loss.detach()))
        return loss

    lbfgs.step(closure)
    return param.detach()


def spectral_refine(model: nn.Module, problem: VorticityProblem, *, steps: int = 50, picard: int = 3,
                    lr: float = 1e-2, per_sample: bool = True, optimizer: str = "cg") -> RefineResult:
    r"""Fine-tune only the weight of ``model.head`` (a full-mode spectral convolution; its bias is kept) on the
    H^-1 norm of the residual.

    ``picard`` outer iterations, each freezing the advecting velocity at the current prediction and taking
    ``steps`` optimizer steps on the convex quadratic loss ``problem.residual_norm_sq(prediction, advecting)``
    (mean over the trajectories) in the head's weight:

    * ``"cg"`` (default): preconditioned conjugate gradients with exact line search, the natural solver for a
      convex quadratic; one gradient per step (the Hessian times the search direction is the difference of two
      gradients, exact for a quadratic). The preconditioner divides each mode by an estimate of its curvature
      (``_mode_scale``). ``lr`` is unused.
    * ``"adam"`` with learning rate ``lr``; ``"lbfgs"`` (strong-Wolfe line search, ``lr`` its initial step).

    The backbone ``model.features`` is evaluated once, without gradients. ``per_sample=True`` refines a copy of
    the head per trajectory (independent problems, each with its own CG step sizes) and leaves ``model``
    unchanged; ``per_sample=False`` refines one head for the whole batch and writes it into ``model.head``.
    Returns a :class:`RefineResult`.
    """
    head = _head_of(model)
    check_int("steps", steps, min_value=1)
    check_int("picard", picard, min_value=1)
    lr = check_float("lr", lr, min_value=0.0, strict_min=True)
    check_choice("optimizer", optimizer, ("cg", "adam", "lbfgs"))
    if not isinstance(problem, VorticityProblem):
        raise TypeError(f"problem must be a VorticityProblem, got {type(problem).__name__}")
    if head.out_channels != 1:
        raise ValueError(f"the head must output one channel (the vorticity), got out_channels={head.out_channels}")
    start = time.perf_counter()
    with torch.no_grad():
        feats = model.features(problem.inputs)
    grid = tuple(feats.shape[2:])
    if tuple(head.n_modes) != grid:
        raise ValueError(f"spectral_refine tunes a head without frequency truncation: head.n_modes={head.n_modes} "
                         f"must equal the feature grid {grid}; build the model for this grid")
    feat_spec = truncated_rfftn(feats, kept_modes(grid))  # (b, in, *modes) complex, computed once
    b = feats.shape[0]
    base = head.weight.detach()  # real pairs (in, out, *modes, 2)
    theta = (base.expand(b, *base.shape) if per_sample else base).clone()
    bias = head.bias.detach() if head.bias is not None else None
    pattern = "bixyz,bioxyz->boxyz" if per_sample else "bixyz,ioxyz->boxyz"

    def predict(params: torch.Tensor) -> torch.Tensor:
        out = padded_irfftn(torch.einsum(pattern, feat_spec, torch.view_as_complex(params)), grid)
        return out if bias is None else out + bias.reshape(1, -1, 1, 1, 1)

    def loss_and_grad(params: torch.Tensor, advecting: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        params = params.detach().requires_grad_(True)
        per_traj = problem.residual_norm_sq(predict(params), advecting)
        total = per_traj.sum() if per_sample else per_traj.mean()
        (grad,) = torch.autograd.grad(total, params)
        return per_traj.detach(), grad

    with torch.no_grad():
        pred = predict(theta)
        before = problem.residual_norm_sq(pred).sqrt()
    losses: list[float] = []
    if optimizer == "cg":
        scale = _mode_scale(feat_spec, grid[-1])
        precond = (1.0 / scale if per_sample else 1.0 / scale.mean(0)).unsqueeze(-1)
    lead = (b,) + (1,) * (theta.ndim - 1) if per_sample else (1,) * theta.ndim

    def dot(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return (x * y).flatten(1).sum(1).reshape(lead) if per_sample else (x * y).sum().reshape(lead)

    for _ in range(picard):
        with torch.no_grad():
            advecting = torch.cat([problem.initial[:, None].to(pred), _as_frames(pred)], 1)
        if optimizer == "cg":
            value, grad = loss_and_grad(theta, advecting)
            value = value if per_sample else value.mean().reshape(1)
            z = precond * grad
            direction, rz = -z, dot(grad, z)
            for _ in range(steps):
                _, grad_shift = loss_and_grad(theta + direction, advecting)
                curvature_dir = grad_shift - grad  # H d, exact for a quadratic
                dhd = dot(direction, curvature_dir)
                alpha = torch.where(dhd > 0, rz / torch.where(dhd > 0, dhd, torch.ones_like(dhd)),
                                    torch.zeros_like(dhd))
                step_gain = alpha * dot(grad, direction) + 0.5 * alpha ** 2 * dhd
                theta = theta + alpha * direction
                grad = grad + alpha * curvature_dir
                value = value + step_gain.reshape(-1)  # exact update of a quadratic's value
                losses.append(float(value.mean()))
                z = precond * grad
                rz_new = dot(grad, z)
                beta = torch.where(rz > 0, rz_new / torch.where(rz > 0, rz, torch.ones_like(rz)), torch.zeros_like(rz))
                direction, rz = -z + beta * direction, rz_new
        else:
            theta = _minimise_with_torch(theta, lambda p, adv=advecting: problem.residual_norm_sq(predict(p), adv)
                                         .mean(), optimizer, steps, lr, losses)
        with torch.no_grad():
            pred = predict(theta)
    with torch.no_grad():
        after = problem.residual_norm_sq(pred).sqrt()
    if not per_sample:
        with torch.no_grad():
            head.weight.copy_(theta.to(head.weight.dtype))
    return RefineResult(pred.detach(), torch.view_as_complex(theta.contiguous()), bias, losses, before, after,
                        time.perf_counter() - start)
