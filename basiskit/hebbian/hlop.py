r"""Hebbian learning-based orthogonal projection (HLOP) for continual learning, and its exact-SVD twin (GPM).

Xiao, Meng, Zhang, He & Lin, "Hebbian learning based orthogonal projection for continual learning of spiking
neural networks", ICLR 2024. Each layer gets lateral neurons whose weights :math:`H` (one row per neuron) learn the
principal subspace of the layer's inputs with Oja's subspace rule, averaged over a batch :math:`x` of ``B`` rows:

.. math::
    y = H_{\text{all}}\, x, \qquad
    \Delta H_{\text{new}} = \frac{\eta}{B}\, y_{\text{new}} \big(x - H_{\text{all}}^\top y\big)^\top,

where :math:`H_{\text{all}}` stacks the frozen rows of earlier tasks above the rows being learned for the current
task (:math:`H_{\text{new}}`); only the new rows move, and the reconstruction through the frozen rows pushes them
into the complement of the old subspace. After a task its rows are frozen and joined to the old ones; the next task
adds ``k`` new lateral neurons (the paper's PMNIST runs add a fixed number per task and layer). While a later
task trains, every projected layer's weight gradient uses its input with the old subspace removed,

.. math::
    \nabla_W = \delta\, (x - H^\top H x)^\top,

so the update :math:`\Delta W` satisfies :math:`\Delta W\, H^\top = 0`: outputs on inputs inside the frozen subspace do
not change (exactly so when the rows of :math:`H` are orthonormal, which Oja's rule converges to).

GPM (Saha, Garg & Roy, ICLR 2021, "Gradient projection memory") is the exact counterpart: after each task the
representation matrix :math:`R` (one input per row) of each layer is projected off the stored basis and its top
right singular vectors are appended (GPM picks their number by an explained-energy threshold; here
:class:`GPMProjector` takes the same ``k`` as HLOP so that the two are compared at equal subspace sizes, and reports
the energy that ``k`` explains).

The projection is applied by :func:`projected_linear`, a custom autograd function (forward :math:`x W^\top + b`,
backward with the projected input in the weight gradient only), and :class:`ProjectedLinear`, its module.
:class:`ContinualMLP` is the two-layer network of the ``hlop`` recipe, ordinary (ReLU) or spiking (LIF neurons of
:mod:`basiskit.nn.spiking`, direct input repeated over ``timesteps`` steps, read-out averaged over time).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import check_choice, check_float, check_int, check_tensor
from ..nn.spiking import LIFNeuron

__all__ = ["ContinualMLP", "GPMProjector", "HebbianSubspace", "ProjectedLinear", "captured_energy_ratio",
           "oja_subspace_step", "principal_angles", "project_out", "projected_linear"]

NORMALIZATIONS = ("spectral", "trace", "none")


def _check_basis(arg: str, basis: torch.Tensor | None, dim: int) -> torch.Tensor | None:
    if basis is None:
        return None
    check_tensor(arg, basis, ndim=2)
    if basis.shape[1] != dim:
        raise ValueError(f"{arg} must have shape (m, {dim}) (one basis vector of length {dim} per row), "
                         f"got {tuple(basis.shape)}")
    return basis


def _check_rows(arg: str, x: torch.Tensor, dim: int) -> torch.Tensor:
    check_tensor(arg, x, ndim=2, nonempty=True)
    if x.shape[1] != dim:
        raise ValueError(f"{arg} must have shape (batch, {dim}), got {tuple(x.shape)}")
    return x


def oja_subspace_step(H: torch.Tensor, x: torch.Tensor, lr: float,
                      frozen: torch.Tensor | None = None) -> torch.Tensor:
    r"""One step of Oja's subspace rule on a batch: returns the new ``H`` (k, d); pure (nothing is modified).

    ``H`` (k, d): the rows being learned; ``x`` (B, d): a batch of inputs; ``lr`` > 0; ``frozen`` (m, d) or
    None: rows of earlier subspaces, which take part in the reconstruction but do not move:
    :math:`y = [F; H] x`, :math:`H \leftarrow H + \frac{lr}{B} y_H^\top (x - [F; H]^\top y)`.
    """
    check_tensor("H", H, ndim=2, nonempty=True)
    _check_rows("x", x, H.shape[1])
    lr = check_float("lr", lr, min_value=0.0, strict_min=True)
    frozen = _check_basis("frozen", frozen, H.shape[1])
    rows = H if frozen is None or frozen.shape[0] == 0 else torch.cat([frozen, H])
    y = x @ rows.T                                   # (B, m + k)
    residual = x - y @ rows                          # (B, d)
    y_new = y[:, rows.shape[0] - H.shape[0]:]        # (B, k)
    return H + (lr / x.shape[0]) * (y_new.T @ residual)


def project_out(x: torch.Tensor, basis: torch.Tensor | None) -> torch.Tensor:
    """``x - (x basis^T) basis``: inputs ``x`` (..., d) with the span of the rows of ``basis`` (m, d) removed
    (an orthogonal projection when the rows are orthonormal); ``basis`` None or with no rows returns ``x``."""
    check_tensor("x", x, min_ndim=1)
    basis = _check_basis("basis", basis, x.shape[-1])
    if basis is None or basis.shape[0] == 0:
        return x
    return x - (x @ basis.T) @ basis


def principal_angles(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Principal angles (degrees, ascending) between the row spaces of ``a`` (k, d) and ``b`` (l, d)."""
    check_tensor("a", a, ndim=2, nonempty=True)
    check_tensor("b", b, ndim=2, nonempty=True)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"a and b must have the same number of columns, got {tuple(a.shape)} and {tuple(b.shape)}")
    qa = torch.linalg.qr(a.T.double()).Q
    qb = torch.linalg.qr(b.T.double()).Q
    cos = torch.linalg.svdvals(qa.T @ qb).clamp(-1.0, 1.0)
    return torch.rad2deg(torch.arccos(cos))


def captured_energy_ratio(rows: torch.Tensor, x: torch.Tensor) -> float:
    r"""How much of the data's energy the row space of ``rows`` (k, d) holds, relative to the best k-dimensional
    subspace: :math:`\operatorname{tr}(Q^\top X^\top X Q) / \sum_{i \le k} \lambda_i(X^\top X)`, ``Q`` an
    orthonormal basis of the rows, ``x`` (n, d). 1 exactly for the top-k principal (uncentred) subspace, less for
    any other. Unlike the principal angles it stays well defined when eigenvalues near the k-th are nearly equal
    (then many subspaces hold the same energy and the angle to "the" top-k subspace means little)."""
    check_tensor("rows", rows, ndim=2, nonempty=True)
    check_tensor("x", x, ndim=2, nonempty=True)
    if rows.shape[1] != x.shape[1]:
        raise ValueError(f"rows and x must have the same number of columns, got {tuple(rows.shape)} and "
                         f"{tuple(x.shape)}")
    q = torch.linalg.qr(rows.T.double()).Q
    xd = x.double()
    held = float((xd @ q).pow(2).sum())
    best = float(torch.linalg.eigvalsh(xd.T @ xd)[-rows.shape[0]:].sum())
    return held / best if best > 0 else 1.0


def _orthonormal_rows(k: int, dim: int, frozen: torch.Tensor | None, generator: torch.Generator | None,
                      dtype: torch.dtype, device: torch.device | str) -> torch.Tensor:
    """k random orthonormal rows (k, dim), orthogonal to the rows of ``frozen`` (assumed close to orthonormal)."""
    g = torch.randn(dim, k, generator=generator, dtype=torch.float64).to(device)
    if frozen is not None and frozen.shape[0]:
        f = frozen.to(torch.float64)
        g = g - f.T @ (f @ g)
    return torch.linalg.qr(g).Q.T.to(dtype)


class HebbianSubspace(nn.Module):
    r"""The lateral neurons of one layer: frozen rows of earlier tasks plus ``k`` rows learned per task.

    ``dim``: the layer's input size; ``lr`` > 0: Oja's learning rate; ``normalize``: ``"spectral"`` divides ``lr``
    by the largest eigenvalue of the batch's second moment :math:`x^\top x / B` (a dimensionless step, stable for
    ``lr`` < 2 whatever the input scale, so one ``lr`` serves pixels and spike rates alike), ``"trace"`` by its trace
    (the mean squared input norm), ``"none"`` keeps ``lr`` as is (the paper's code: a fixed rate with
    momentum); ``momentum`` in [0, 1): heavy-ball averaging of the Oja step, as in the
    paper's code (0.9 there). Use: ``add_subspace(k)`` at the start of a task, ``update(x)`` on its batches,
    ``freeze()`` at its end; ``basis`` (m, dim) is the frozen subspace the projection removes.
    """

    frozen: torch.Tensor
    current: torch.Tensor
    velocity: torch.Tensor

    def __init__(self, dim: int, *, lr: float = 1.0, normalize: str = "spectral", momentum: float = 0.0) -> None:
        super().__init__()
        self.dim = check_int("dim", dim, min_value=1)
        self.lr = check_float("lr", lr, min_value=0.0, strict_min=True)
        self.normalize = check_choice("normalize", normalize, NORMALIZATIONS)
        self.momentum = check_float("momentum", momentum, min_value=0.0)
        if self.momentum >= 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.register_buffer("frozen", torch.zeros(0, dim))
        self.register_buffer("current", torch.zeros(0, dim))
        self.register_buffer("velocity", torch.zeros(0, dim))

    @property
    def basis(self) -> torch.Tensor:
        """The frozen rows (m, dim): the subspaces of the finished tasks."""
        return self.frozen

    def add_subspace(self, k: int, generator: torch.Generator | None = None) -> None:
        """Start ``k`` new lateral neurons, random orthonormal rows orthogonal to the frozen ones."""
        free = self.dim - self.frozen.shape[0]
        check_int("k", k, min_value=1, max_value=free)
        if self.current.shape[0]:
            raise RuntimeError("add_subspace: the current subspace is not frozen yet; call freeze() first")
        self.current = _orthonormal_rows(k, self.dim, self.frozen, generator, self.frozen.dtype,
                                         self.frozen.device)
        self.velocity = torch.zeros_like(self.current)

    @torch.no_grad()
    def update(self, x: torch.Tensor, iterations: int = 1) -> None:
        """``iterations`` Oja steps on the batch ``x`` (B, dim) for the current rows."""
        if self.current.shape[0] == 0:
            raise RuntimeError("update: no subspace is being learned; call add_subspace(k) first")
        _check_rows("x", x, self.dim)
        check_int("iterations", iterations, min_value=1)
        x = x.to(self.current.dtype)
        lr = self.lr
        if self.normalize == "trace":
            lr = lr / max(float(x.pow(2).sum(1).mean()), 1e-12)
        elif self.normalize == "spectral":
            gram = x @ x.T if x.shape[0] <= x.shape[1] else x.T @ x
            lr = lr / max(float(torch.linalg.eigvalsh(gram)[-1]) / x.shape[0], 1e-12)
        for _ in range(iterations):
            step = oja_subspace_step(self.current, x, 1.0, self.frozen) - self.current
            self.velocity = self.momentum * self.velocity + (1.0 - self.momentum) * step
            self.current = self.current + lr * self.velocity

    def freeze(self) -> torch.Tensor:
        """Freeze the current rows into the basis; returns them (k, dim)."""
        if self.current.shape[0] == 0:
            raise RuntimeError("freeze: no subspace is being learned; call add_subspace(k) first")
        done = self.current
        self.frozen = torch.cat([self.frozen, done])
        self.current = self.current[:0]
        self.velocity = self.velocity[:0]
        return done

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """``x - H^T H x`` with the frozen rows ``H``: ``x`` (..., dim)."""
        return project_out(x, self.frozen.to(x.dtype))

    def extra_repr(self) -> str:
        return (f"dim={self.dim}, frozen={self.frozen.shape[0]}, current={self.current.shape[0]}, lr={self.lr:g}, "
                f"normalize={self.normalize!r}, momentum={self.momentum:g}")


class GPMProjector(nn.Module):
    """Gradient projection memory (Saha et al. 2021) with a fixed ``k`` new directions per task.

    ``update(R)`` takes the representation matrix ``R`` (n, dim) of a finished task (the layer's inputs on ``n``
    samples), removes the stored basis from it and appends the top ``k`` right singular vectors of the residual
    (exact SVD); it returns the fraction of the residual's energy (sum of squared singular values) that they
    explain, the quantity GPM thresholds.
    """

    frozen: torch.Tensor

    def __init__(self, dim: int, k: int) -> None:
        super().__init__()
        self.dim = check_int("dim", dim, min_value=1)
        self.k = check_int("k", k, min_value=1, max_value=dim)
        self.register_buffer("frozen", torch.zeros(0, dim))

    @property
    def basis(self) -> torch.Tensor:
        return self.frozen

    @torch.no_grad()
    def update(self, reps: torch.Tensor) -> float:
        _check_rows("reps", reps, self.dim)
        free = self.dim - self.frozen.shape[0]
        if self.k > free:
            raise ValueError(f"GPMProjector.update: k = {self.k} new directions do not fit, only {free} of "
                             f"dim = {self.dim} are left")
        residual = project_out(reps.to(torch.float64), self.frozen.to(torch.float64))
        _, s, vh = torch.linalg.svd(residual, full_matrices=False)
        energy = float(s[:self.k].pow(2).sum() / s.pow(2).sum().clamp_min(1e-300))
        self.frozen = torch.cat([self.frozen, vh[:self.k].to(self.frozen.dtype)])
        return energy

    def project(self, x: torch.Tensor) -> torch.Tensor:
        return project_out(x, self.frozen.to(x.dtype))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, k={self.k}, frozen={self.frozen.shape[0]}"


class _ProjectedLinearFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, basis):  # type: ignore[override]
        ctx.save_for_backward(x, weight, basis)
        ctx.has_bias = bias is not None
        out = x @ weight.T
        return out + bias if bias is not None else out

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        x, weight, basis = ctx.saved_tensors
        grad_x = grad @ weight if ctx.needs_input_grad[0] else None
        grad_w = None
        if ctx.needs_input_grad[1]:
            x_proj = project_out(x, basis)
            grad_w = grad.reshape(-1, grad.shape[-1]).T @ x_proj.reshape(-1, x.shape[-1])
        grad_b = grad.reshape(-1, grad.shape[-1]).sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return grad_x, grad_w, grad_b, None


def projected_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                     basis: torch.Tensor | None = None) -> torch.Tensor:
    r"""``x W^T + b`` whose weight gradient uses the projected input: :math:`\nabla_W = \delta (x - B^\top B x)^\top`.

    ``x`` (..., in), ``weight`` (out, in), ``bias`` (out,) or None, ``basis`` (m, in) or None (then this is
    ``F.linear``). The input gradient and the bias gradient are the ordinary ones (a bias cannot be protected by
    an input projection; the ``hlop`` recipe's network has none).
    """
    check_tensor("x", x, min_ndim=1)
    check_tensor("weight", weight, ndim=2)
    if x.shape[-1] != weight.shape[1]:
        raise ValueError(f"x must have last dim {weight.shape[1]} (weight is {tuple(weight.shape)}), "
                         f"got shape {tuple(x.shape)}")
    basis = _check_basis("basis", basis, weight.shape[1])
    if basis is None or basis.shape[0] == 0:
        return F.linear(x, weight, bias)
    return _ProjectedLinearFunction.apply(x, weight, bias, basis.to(x.dtype))


class ProjectedLinear(nn.Linear):
    """``nn.Linear`` whose weight gradient ignores the directions of ``basis`` (m, in_features) in its inputs:
    set ``layer.basis`` (a buffer; zero rows = ordinary training) from an :class:`HebbianSubspace` or a
    :class:`GPMProjector`."""

    basis: torch.Tensor

    def __init__(self, in_features: int, out_features: int, bias: bool = False, device=None, dtype=None) -> None:
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=dtype)
        self.register_buffer("basis", torch.zeros(0, in_features, device=device, dtype=dtype))

    def set_basis(self, basis: torch.Tensor) -> None:
        _check_basis("basis", basis, self.in_features)
        self.basis = basis.detach().to(self.weight.dtype).clone()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return projected_linear(x, self.weight, self.bias, self.basis)


class ContinualMLP(nn.Module):
    """Two projected layers without bias, ``in_features -> hidden -> classes``, ordinary or spiking.

    Ordinary: ReLU hidden units. Spiking (``timesteps`` T >= 1): the first layer's current ``W1 x`` drives
    :class:`~basiskit.nn.spiking.LIFNeuron` s for T steps (direct input), the second layer reads each step's
    spikes and the logits are the time average. ``layer_inputs(x)`` returns what each layer sees (for the
    spiking net, the hidden firing rates), the activity HLOP and GPM learn subspaces of.
    Input ``(batch, in_features)`` -> logits ``(batch, classes)``.
    """

    def __init__(self, in_features: int, hidden: int, classes: int, *, spiking: bool = False, timesteps: int = 4,
                 tau: float = 2.0, threshold: float = 1.0, surrogate: str = "sigmoid", alpha: float = 4.0) -> None:
        super().__init__()
        for arg, v in (("in_features", in_features), ("hidden", hidden), ("classes", classes)):
            check_int(arg, v, min_value=1)
        self.spiking = bool(spiking)
        self.timesteps = check_int("timesteps", timesteps, min_value=1)
        self.fc1 = ProjectedLinear(in_features, hidden)
        self.fc2 = ProjectedLinear(hidden, classes)
        self.lif = LIFNeuron(tau, threshold, surrogate=surrogate, alpha=alpha) if self.spiking else None
        for layer in (self.fc1, self.fc2):
            nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5))

    @property
    def layers(self) -> tuple[ProjectedLinear, ProjectedLinear]:
        return self.fc1, self.fc2

    def _hidden(self, x: torch.Tensor) -> torch.Tensor:
        current = self.fc1(x)
        if self.lif is None:
            return F.relu(current)
        return self.lif(current.unsqueeze(0).expand(self.timesteps, *current.shape))   # (T, B, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_rows("x", x, self.fc1.in_features)
        h = self._hidden(x)
        out = self.fc2(h)
        return out.mean(0) if self.lif is not None else out

    @torch.no_grad()
    def layer_inputs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(inputs of fc1 (B, in), inputs of fc2 (B, hidden)): the hidden rates for the spiking network."""
        _check_rows("x", x, self.fc1.in_features)
        h = self._hidden(x)
        return x, h.mean(0) if self.lif is not None else h
