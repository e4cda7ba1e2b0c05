r"""Neural tangent kernels: the NTK-parameterised MLP, its empirical NTK by ``torch.func``, the infinite-width
NNGP/NTK pair in closed form, and the closed-form gradient-flow prediction of an infinitely wide network.

Jacot, Gabriel & Hongler 2018, *Neural Tangent Kernel: Convergence and Generalization in Neural Networks*
(PAPERS.md row 24). Each layer of :class:`NTKMLP` computes

.. math::
    z^{(l+1)} = \sqrt{\sigma_w^2 / n_l}\; W^{(l+1)} \phi(z^{(l)}) + \sigma_b\, b^{(l+1)}, \qquad W, b \sim N(0, 1),

with ``weight_var`` :math:`=\sigma_w^2` and ``bias_var`` :math:`=\sigma_b^2` (:math:`\phi(z^{(0)}) = x`). As every
width grows the output is a Gaussian process with covariance :math:`\Sigma^{(L+1)}` (the NNGP) and the tangent
kernel :math:`\Theta(x, x') = \sum_p \partial_p f(x)\,\partial_p f(x')` tends to a deterministic
:math:`\Theta^{(L+1)}`, where (Jacot et al. Theorem 1; Arora et al. 2019, eq. 4-5)

.. math::
    \Sigma^{(1)}(x, x') = \sigma_w^2 \frac{x\cdot x'}{n_0} + \sigma_b^2, \qquad
    \Sigma^{(l+1)} = \sigma_w^2\,\mathbb E[\phi(u)\phi(v)] + \sigma_b^2, \\
    \Theta^{(1)} = \Sigma^{(1)}, \qquad
    \Theta^{(l+1)} = \Sigma^{(l+1)} + \sigma_w^2\,\mathbb E[\phi'(u)\phi'(v)]\,\Theta^{(l)},

with :math:`(u, v) \sim N(0, \Sigma^{(l)}|_{\{x, x'\}})`; the Gaussian expectations are in :mod:`._gaussian`.
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, jacrev, vmap

from .._validation import check_choice, check_float, check_int, check_tensor
from ..nn.activations import activation_names, get_activation
from ._gaussian import dual_activation

Tensor = torch.Tensor

__all__ = ["NTKMLP", "analytic_ntk", "analytic_nngp_diag", "empirical_ntk", "ntk_predict"]


class NTKMLP(nn.Module):
    r"""An MLP with ``depth`` hidden layers of ``width`` units in NTK parameterisation (see the module docstring):
    all weights and biases are :math:`N(0, 1)` and the layer scales :math:`\sqrt{\sigma_w^2/n_l}`,
    :math:`\sigma_b` multiply them in ``forward``.

    Args:
        in_features, width, depth, out_features: sizes; ``depth`` >= 1 hidden layers.
        activation: a name of basiskit's activation registry (or ``"erf"``).
        weight_var, bias_var: :math:`\sigma_w^2 \ge 0`, :math:`\sigma_b^2 \ge 0` (used by every layer, the readout too).

    Shapes: ``x`` ``(..., in_features)`` -> ``(..., out_features)``.

    Example::

        >>> net = NTKMLP(2, width=512, depth=3)
        >>> theta = empirical_ntk(net, torch.randn(8, 2))   # (8, 8), close to analytic_ntk(...)[1]
    """

    def __init__(self, in_features: int, width: int, depth: int, out_features: int = 1, activation: str = "relu",
                 weight_var: float = 2.0, bias_var: float = 0.0, *, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.in_features = check_int("in_features", in_features, min_value=1)
        self.width = check_int("width", width, min_value=1)
        self.depth = check_int("depth", depth, min_value=1)
        self.out_features = check_int("out_features", out_features, min_value=1)
        self.activation = activation
        self._act = get_activation(activation)
        self.weight_var = check_float("weight_var", weight_var, min_value=0.0)
        self.bias_var = check_float("bias_var", bias_var, min_value=0.0)
        sizes = [self.in_features] + [self.width] * self.depth + [self.out_features]
        kw: dict[str, Any] = {"device": device, "dtype": dtype}
        self.weights = nn.ParameterList([nn.Parameter(torch.empty(o, i, **kw)) for i, o in zip(sizes, sizes[1:])])
        self.biases = nn.ParameterList([nn.Parameter(torch.empty(o, **kw)) for o in sizes[1:]])
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Draw every weight and bias from N(0, 1) (optionally from ``generator``)."""
        with torch.no_grad():
            for p in list(self.weights) + list(self.biases):
                p.copy_(torch.randn(p.shape, generator=generator, dtype=p.dtype, device="cpu").to(p.device))

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"NTKMLP: x must have last dim in_features={self.in_features}, "
                             f"got shape {tuple(x.shape)}")
        h = x
        bias_scale = math.sqrt(self.bias_var)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = F.linear(h, w) * math.sqrt(self.weight_var / w.shape[1]) + bias_scale * b
            if i < last:
                h = self._act.fn(h)
        return h

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, width={self.width}, depth={self.depth}, "
                f"out_features={self.out_features}, activation={self.activation!r}, "
                f"weight_var={self.weight_var:g}, bias_var={self.bias_var:g}")


# ---- empirical NTK -------------------------------------------------------------------------------------------
def _chunks(n: int, size: int) -> list[slice]:
    return [slice(s, min(s + size, n)) for s in range(0, n, size)]


def empirical_ntk(model: nn.Module, x1: Tensor, x2: Tensor | None = None, *,
                  batch_size: int | None = None) -> Tensor:
    r"""The empirical neural tangent kernel of ``model`` at its current parameters :math:`\theta`,

    .. math::
        \Theta(x, x') = \sum_{o} \sum_{p} \frac{\partial f_o(x)}{\partial \theta_p}
                                          \frac{\partial f_o(x')}{\partial \theta_p},

    for a scalar-output model the ordinary NTK; for a model with several outputs the **trace over outputs** (the
    sum of the per-output NTKs, i.e. the trace of the ``(out, out)`` NTK block of each pair), which for i.i.d.
    output units at infinite width is ``out_features`` times the per-output kernel.

    Per-sample Jacobians come from ``torch.func`` (``vmap`` of ``jacrev`` over samples; no Python loop over
    samples) on a functional copy of the parameters, so ``model`` is not modified and no ``.grad`` is written.
    Every parameter with ``requires_grad`` counts; buffers are held fixed; the model is called as it is (call
    ``model.train(False)`` first if it has dropout or batch-norm).

    Args:
        model: maps ``(batch, *sample_shape)`` to ``(batch,)`` or ``(batch, out)``.
        x1: ``(n1, *sample_shape)``; x2: ``(n2, *sample_shape)`` or None for ``x1`` itself (then only the upper
            triangle of blocks is computed and mirrored).
        batch_size: samples per Jacobian block. Peak memory is about
            ``2 * batch_size * out * num_parameters`` values; ``None`` takes all samples at once.

    Returns:
        ``(n1, n2)`` in the parameters' dtype.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    params = {name: p.detach() for name, p in model.named_parameters() if p.requires_grad}
    if not params:
        raise ValueError("model has no parameters with requires_grad=True; its NTK is zero")
    check_tensor("x1", x1, min_ndim=1, finite=True, nonempty=True)
    symmetric = x2 is None
    if x2 is None:
        x2 = x1
    else:
        check_tensor("x2", x2, min_ndim=1, finite=True, nonempty=True)
        if x2.shape[1:] != x1.shape[1:]:
            raise ValueError(f"x2's sample shape {tuple(x2.shape[1:])} must match x1's {tuple(x1.shape[1:])} "
                             f"(x1 {tuple(x1.shape)}, x2 {tuple(x2.shape)})")
    in_features = getattr(model, "in_features", None)
    if isinstance(in_features, int) and x1.ndim == 2 and x1.shape[1] != in_features:
        raise ValueError(f"x1 must have {in_features} features (model.in_features), got shape {tuple(x1.shape)}")
    dtype = next(iter(params.values())).dtype
    if x1.dtype != dtype or x2.dtype != dtype:
        raise TypeError(f"x1/x2 dtype ({x1.dtype}, {x2.dtype}) must match the model's parameter dtype {dtype}; "
                        f"convert with .to({dtype})")
    if batch_size is not None:
        check_int("batch_size", batch_size, min_value=1)
    buffers = dict(model.named_buffers())

    def single(p: dict[str, Tensor], x: Tensor) -> Tensor:
        return functional_call(model, (p, buffers), (x.unsqueeze(0),)).reshape(-1)

    per_sample = vmap(jacrev(single), in_dims=(None, 0))

    def jacobians(x: Tensor) -> list[Tensor]:  # each (b, out, P_k)
        return [j.reshape(j.shape[0], j.shape[1], -1) for j in per_sample(params, x).values()]

    def block(ja: list[Tensor], jb: list[Tensor]) -> Tensor:
        return sum(torch.einsum("aop,bop->ab", a, b) for a, b in zip(ja, jb))

    n1, n2 = x1.shape[0], x2.shape[0]
    rows, cols = _chunks(n1, batch_size or n1), _chunks(n2, batch_size or n2)
    out = torch.empty(n1, n2, dtype=dtype, device=x1.device)
    for i, r in enumerate(rows):
        j1 = jacobians(x1[r])
        for j, c in enumerate(cols):
            if symmetric and j < i:
                continue
            if symmetric and i == j:
                diagonal = block(j1, j1)
                out[r, c] = 0.5 * (diagonal + diagonal.T)  # exactly symmetric
                continue
            out[r, c] = block(j1, jacobians(x2[c]))
            if symmetric and j > i:
                out[c, r] = out[r, c].T
    return out


# ---- infinite-width NNGP and NTK -----------------------------------------------------------------------------
def analytic_ntk(x1: Tensor, x2: Tensor | None, depth: int, activation: str = "relu", weight_var: float = 2.0,
                 bias_var: float = 0.0, *, method: str = "auto", num_quadrature: int = 64) -> tuple[Tensor, Tensor]:
    r"""The infinite-width NNGP kernel :math:`\Sigma^{(L+1)}` and NTK :math:`\Theta^{(L+1)}` of
    ``NTKMLP(d, width, depth, 1, activation, weight_var, bias_var)`` (recursion in the module docstring).

    ReLU uses the arc-cosine closed forms, erf the arcsine ones, any other registered activation Gauss-Hermite
    quadrature with ``num_quadrature`` nodes per axis (``method="quadrature"`` forces it; accuracy in
    :mod:`basiskit.kernels._gaussian`: < 1e-10 for analytic activations such as erf; kinked ones converge
    algebraically, ~2e-3 relative for ReLU's NNGP step and ~1.5e-2 for its derivative term at 64 nodes).

    Args:
        x1: ``(n1, d)``; x2: ``(n2, d)`` or None for ``x1``.
        depth: number of hidden layers, >= 1.

    Returns:
        ``(nngp, ntk)``, each ``(n1, n2)`` in the inputs' dtype (use float64 for reference values).
    """
    check_tensor("x1", x1, ndim=2, finite=True, nonempty=True)
    if x2 is None:
        x2 = x1
    else:
        check_tensor("x2", x2, ndim=2, finite=True, nonempty=True)
        if x2.shape[1] != x1.shape[1]:
            raise ValueError(f"x1 and x2 must have the same number of features, got x1 {tuple(x1.shape)} "
                             f"and x2 {tuple(x2.shape)}")
    check_int("depth", depth, min_value=1)
    check_choice("activation", activation, activation_names())
    weight_var = check_float("weight_var", weight_var, min_value=0.0)
    bias_var = check_float("bias_var", bias_var, min_value=0.0)
    check_choice("method", method, ["auto", "quadrature"])
    check_int("num_quadrature", num_quadrature, min_value=2)
    dtype = torch.promote_types(x1.dtype, x2.dtype)
    x1, x2 = x1.to(dtype), x2.to(dtype)
    d = x1.shape[1]
    cross = weight_var * (x1 @ x2.T) / d + bias_var                      # Sigma^(1)(x1, x2)
    diag1 = weight_var * (x1 * x1).sum(1) / d + bias_var                 # Sigma^(1)(x, x), x in x1
    diag2 = weight_var * (x2 * x2).sum(1) / d + bias_var
    ntk = cross.clone()
    opts = {"method": method, "num_quadrature": num_quadrature}
    for _ in range(depth):
        value, slope = dual_activation(diag1[:, None], cross, diag2[None, :], activation, **opts)
        new_diag1 = weight_var * dual_activation(diag1, diag1, diag1, activation, **opts)[0] + bias_var
        new_diag2 = weight_var * dual_activation(diag2, diag2, diag2, activation, **opts)[0] + bias_var
        cross = weight_var * value + bias_var
        ntk = cross + weight_var * slope * ntk
        diag1, diag2 = new_diag1, new_diag2
    return cross, ntk


def analytic_nngp_diag(x: Tensor, depth: int, activation: str = "relu", weight_var: float = 2.0,
                       bias_var: float = 0.0, *, method: str = "auto", num_quadrature: int = 64) -> Tensor:
    r"""The diagonal :math:`\Sigma^{(L+1)}(x_i, x_i)` of :func:`analytic_ntk`'s NNGP kernel, ``(n,)`` for ``x``
    ``(n, d)``, in O(n) (a posterior variance needs only this)."""
    check_tensor("x", x, ndim=2, finite=True, nonempty=True)
    check_int("depth", depth, min_value=1)
    check_choice("activation", activation, activation_names())
    weight_var = check_float("weight_var", weight_var, min_value=0.0)
    bias_var = check_float("bias_var", bias_var, min_value=0.0)
    diag = weight_var * (x * x).sum(1) / x.shape[1] + bias_var
    for _ in range(depth):
        value = dual_activation(diag, diag, diag, activation, method=method, num_quadrature=num_quadrature)[0]
        diag = weight_var * value + bias_var
    return diag


# ---- gradient-flow prediction --------------------------------------------------------------------------------
def ntk_predict(k_train: Tensor, k_test_train: Tensor, y_train: Tensor, t: float | Tensor, lr: float = 1.0,
                f0_train: Tensor | None = None, f0_test: Tensor | None = None) -> Tensor:
    r"""Closed-form prediction of an infinitely wide network trained by gradient flow for time ``t``.

    For the **sum** loss :math:`\mathcal L = \tfrac12 \sum_i (f(x_i) - y_i)^2` and parameter flow
    :math:`\dot\theta = -\eta\nabla_\theta\mathcal L` with a constant NTK :math:`K`, the outputs follow
    :math:`\dot f(X) = -\eta K (f(X) - y)` and

    .. math::
        f_t(x_*) = f_0(x_*) + K(x_*, X)\,K^{-1}\left(I - e^{-\eta K t}\right)(y - f_0(X)),

    which at :math:`t = \infty` is kernel regression on the residual. With a **mean** loss
    :math:`\tfrac1{2n}\sum_i` the same formula holds with ``t`` replaced by ``t / n``. ``t`` steps of plain
    gradient descent at rate ``lr`` correspond to time ``steps * lr`` with ``lr=1`` here (or ``t=steps`` and
    ``lr=lr``) as long as ``lr * max eig(K)`` is small. Computed through the eigendecomposition of ``k_train``,
    :math:`K^{-1}(I - e^{-\eta K t}) = V \operatorname{diag}(-\operatorname{expm1}(-\eta\lambda t)/\lambda)V^\top`,
    which stays finite for tiny eigenvalues at finite ``t``.

    Args:
        k_train: ``(n, n)`` NTK on the training inputs (symmetric; positive definite for ``t = inf``).
        k_test_train: ``(m, n)`` NTK between test and training inputs.
        y_train: ``(n,)`` or ``(n, k)`` targets.
        t: time >= 0, ``float("inf")``, or a 1-D tensor of times.
        lr: learning rate :math:`\eta > 0`.
        f0_train, f0_test: the network's outputs at initialisation, shaped like ``y_train`` and
            ``(m, *y_train.shape[1:])``; None means a centred network, :math:`f_0 = 0`.

    Returns:
        ``(m, *y_train.shape[1:])``, or ``(len(t), m, *y_train.shape[1:])`` for a tensor ``t``.
    """
    check_tensor("k_train", k_train, ndim=2, finite=True, nonempty=True)
    n = k_train.shape[0]
    if k_train.shape != (n, n):
        raise ValueError(f"k_train must be square (n, n), got shape {tuple(k_train.shape)}")
    check_tensor("k_test_train", k_test_train, ndim=2, finite=True)
    if k_test_train.shape[1] != n:
        raise ValueError(f"k_test_train must be (m, n) with n={n} training points (k_train {tuple(k_train.shape)}), "
                         f"got shape {tuple(k_test_train.shape)}")
    check_tensor("y_train", y_train, ndim=(1, 2), finite=True)
    if y_train.shape[0] != n:
        raise ValueError(f"y_train must have n={n} rows (k_train {tuple(k_train.shape)}), got shape "
                         f"{tuple(y_train.shape)}")
    lr = check_float("lr", lr, min_value=0.0, strict_min=True)
    m = k_test_train.shape[0]
    test_shape = (m, *y_train.shape[1:])
    if f0_train is not None:
        check_tensor("f0_train", f0_train, finite=True)
        if f0_train.shape != y_train.shape:
            raise ValueError(f"f0_train must have y_train's shape {tuple(y_train.shape)}, "
                             f"got {tuple(f0_train.shape)}")
    if f0_test is not None:
        check_tensor("f0_test", f0_test, finite=True)
        if tuple(f0_test.shape) != test_shape:
            raise ValueError(f"f0_test must have shape {test_shape} (m test points x y_train's trailing shape), "
                             f"got {tuple(f0_test.shape)}")
    if isinstance(t, Tensor):
        check_tensor("t", t, ndim=1, nonempty=True)
        if bool(torch.isnan(t).any()) or bool((t < 0).any()):
            raise ValueError(f"t must hold times >= 0 (inf allowed), got {t.tolist()}")
        times = t.to(k_train.dtype)
    else:
        if isinstance(t, bool) or not isinstance(t, (int, float)):
            raise TypeError(f"t must be a number or a 1-D tensor of times, got {type(t).__name__} {t!r}")
        if math.isnan(t) or t < 0:
            raise ValueError(f"t must be >= 0 (inf allowed), got {t}")
        times = torch.tensor([float(t)], dtype=k_train.dtype, device=k_train.device)

    dtype = k_train.dtype
    residual = y_train.to(dtype) - (0 if f0_train is None else f0_train.to(dtype))
    sym = 0.5 * (k_train + k_train.T)
    evals, evecs = torch.linalg.eigh(sym)
    scale = evals.abs().max()
    small = evals.abs() <= n * torch.finfo(dtype).eps * scale
    if bool(torch.isinf(times).any()) and bool((evals <= 0).any() or small.any()):
        raise ValueError(f"t=inf needs a positive-definite k_train; its smallest eigenvalue is {float(evals[0]):.3g} "
                         f"(largest {float(scale):.3g}): add a ridge to the diagonal or use a finite t")
    safe_lam = torch.where(small, torch.ones_like(evals), evals)[None, :]        # (1, n)
    finite_t = torch.isfinite(times)[:, None]                                    # (T, 1)
    tt = torch.where(finite_t, times[:, None], torch.zeros_like(times[:, None]))
    # K^-1 (I - exp(-lr K t)) on each eigenvector; its limit lr * t where an eigenvalue is (numerically) zero
    gain = torch.where(finite_t, -torch.expm1(-lr * safe_lam * tt) / safe_lam, 1.0 / safe_lam)
    gain = torch.where(small[None, :] & finite_t, (lr * tt).expand_as(gain), gain)
    proj = evecs.T @ residual.reshape(n, -1)                              # (n, k)
    coef = torch.einsum("ni,ti,ik->tnk", evecs, gain, proj)              # (T, n, k)
    pred = torch.einsum("mn,tnk->tmk", k_test_train.to(dtype), coef).reshape(len(times), *test_shape)
    if f0_test is not None:
        pred = pred + f0_test.to(dtype)
    return pred if isinstance(t, Tensor) else pred[0]
