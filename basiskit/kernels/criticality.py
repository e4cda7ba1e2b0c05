r"""Criticality: initialisation hyperparameters that keep signals from exploding or vanishing with depth, the
infinite-width kernel recursion, and finite-width preactivation statistics over many initialisations.

Roberts, Yaida & Hanin 2022, *The Principles of Deep Learning Theory* (PAPERS.md row 18), chapters 4-5. A
network with weights :math:`W \sim N(0, C_W/n_{l-1})` and biases :math:`b \sim N(0, C_b)` has, for one input and
at infinite width, preactivation variance

.. math::
    K^{(l+1)} = C_b + C_W\,\mathbb E_{z \sim N(0, K^{(l)})}[\sigma(z)^2].

At *criticality* :math:`K^{(l)}` neither explodes nor vanishes: ReLU :math:`(C_W, C_b) = (2, 0)` (the scale-
invariant class, :math:`K` constant), tanh and erf :math:`(1/\sigma_1^2, 0)` with :math:`\sigma_1 = \sigma'(0)`
(the :math:`K^* = 0` class, :math:`K \to 0` like :math:`1/l`).

At finite width :math:`n` the preactivations are not Gaussian. For one input, given layer :math:`l` the
preactivations of layer :math:`l+1` are i.i.d. :math:`N(0, G^{(l+1)})` with the *shared* random variance
:math:`G^{(l+1)} = C_b + \frac{C_W}{n}\sum_i \sigma(z_i^{(l)})^2`. For ReLU at criticality,
:math:`\mathbb E[(G^{(l+1)})^2 \mid G^{(l)}] = (1 + 5/n)(G^{(l)})^2` (using :math:`\mathbb E[\mathrm{relu}(z)^4] =
\tfrac32 G^2`), so the excess kurtosis of a layer-:math:`l` preactivation is exactly

.. math::
    \kappa^{(l)} = 3\left[\frac{\mathbb E[G^2]}{\mathbb E[G]^2} - 1\right] = 3\left[(1 + 5/n)^{l-1} - 1\right]
    \approx 15\,\frac{l-1}{n},

the book's :math:`\nu = 5` at first order (:math:`\kappa^{(1)} = 0`: the first layer is exactly Gaussian).

**Sampling many initialisations.** :func:`sample_preactivations` draws ``num_inits`` independent networks at
once. ``method="weights"`` draws every weight matrix, ``(num_inits, n_out, n_in)``, and applies them with a
batched matmul (the reference). ``method="gram"`` (default) uses that the rows of :math:`W H` for a Gaussian
:math:`W` and fixed previous-layer activations :math:`H` (``(n_in, k)`` for ``k`` inputs) are i.i.d.
:math:`N(0, C_b + \frac{C_W}{n_{in}} H^\top H)`: it draws the ``(n_out, k)`` preactivations directly from the
``k x k`` Gram matrix, exactly the same joint distribution, at :math:`O(n\,k^2)` instead of :math:`O(n^2 k)` per
layer and network (the tests compare the two).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from .._validation import check_choice, check_float, check_int, check_tensor
from ..nn.activations import activation_names, get_activation
from ._gaussian import gaussian_second_moment

Tensor = torch.Tensor

__all__ = ["CRITICAL_POINTS", "critical_init", "kernel_recursion", "preactivation_statistics",
           "relu_excess_kurtosis", "sample_preactivations"]

#: (C_W, C_b) at criticality for activations with a known critical point.
CRITICAL_POINTS: dict[str, tuple[float, float]] = {
    "relu": (2.0, 0.0),
    "leaky_relu": (2.0 / (1.0 + 0.01 ** 2), 0.0),  # torch's default negative slope 0.01
    "identity": (1.0, 0.0),
    "tanh": (1.0, 0.0),
    "erf": (math.pi / 4, 0.0),                     # 1 / erf'(0)^2
}
_MODULE_NAMES = {nn.ReLU: "relu", nn.Tanh: "tanh", nn.LeakyReLU: "leaky_relu"}


def _critical_point(activation: str) -> tuple[float, float]:
    if activation not in CRITICAL_POINTS:
        check_choice("activation", activation, sorted(CRITICAL_POINTS))
    return CRITICAL_POINTS[activation]


def critical_init(model: nn.Module, activation: str | None = None,
                  generator: torch.Generator | None = None) -> tuple[float, float]:
    r"""Initialise ``model`` at criticality and return ``(C_W, C_b)``.

    An :class:`~basiskit.kernels.NTKMLP` gets ``weight_var = C_W``, ``bias_var = C_b`` and fresh :math:`N(0, 1)`
    parameters; any other model has every ``nn.Linear`` drawn as :math:`W \sim N(0, C_W/\text{fan\_in})`,
    :math:`b \sim N(0, C_b)`. ``activation`` defaults to the model's own: ``NTKMLP.activation``, or the one kind
    of activation module it contains (``nn.ReLU``, ``nn.Tanh``, ``nn.LeakyReLU`` with the default slope).
    Known critical points: :data:`CRITICAL_POINTS`.
    """
    from .ntk import NTKMLP

    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if activation is None:
        if isinstance(model, NTKMLP):
            activation = model.activation
        else:
            found = set()
            for m in model.modules():
                for cls, name in _MODULE_NAMES.items():
                    if type(m) is cls and (cls is not nn.LeakyReLU or m.negative_slope == 0.01):
                        found.add(name)
            if len(found) != 1:
                raise ValueError(f"critical_init: cannot tell the model's activation (found {sorted(found) or 'none'}"
                                 f"); pass activation= one of {sorted(CRITICAL_POINTS)}")
            activation = found.pop()
    c_w, c_b = _critical_point(activation)
    if isinstance(model, NTKMLP):
        if activation != model.activation:
            raise ValueError(f"activation={activation!r} differs from the NTKMLP's own {model.activation!r}")
        model.weight_var, model.bias_var = c_w, c_b
        model.reset_parameters(generator)
        return c_w, c_b
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("critical_init: model has no nn.Linear layers to initialise")
    with torch.no_grad():
        for lin in linears:
            w = torch.randn(lin.weight.shape, generator=generator, dtype=lin.weight.dtype)
            lin.weight.copy_(w * math.sqrt(c_w / lin.in_features))
            if lin.bias is not None:
                lin.bias.copy_(torch.randn(lin.bias.shape, generator=generator, dtype=lin.bias.dtype)
                               * math.sqrt(c_b))
    return c_w, c_b


def kernel_recursion(depth: int, activation: str, c_w: float, c_b: float, q0: float) -> Tensor:
    r"""The infinite-width single-input kernel :math:`K^{(l)}`, :math:`l = 1..` ``depth``, as a float64
    ``(depth,)`` tensor: :math:`K^{(1)} = q_0` (the first layer's preactivation variance,
    :math:`C_b + C_W |x|^2/n_0`) and :math:`K^{(l+1)} = C_b + C_W \mathbb E[\sigma(z)^2]`, :math:`z \sim N(0,
    K^{(l)})` (closed forms for relu/erf/identity, Gauss-Hermite quadrature otherwise)."""
    check_int("depth", depth, min_value=1)
    check_choice("activation", activation, activation_names())
    c_w = check_float("c_w", c_w, min_value=0.0)
    c_b = check_float("c_b", c_b, min_value=0.0)
    q0 = check_float("q0", q0, min_value=0.0)
    out = torch.empty(depth, dtype=torch.float64)
    k = torch.tensor(q0, dtype=torch.float64)
    for layer in range(depth):
        out[layer] = k
        k = c_b + c_w * gaussian_second_moment(k, activation)
    return out


def relu_excess_kurtosis(width: int | Tensor, layer: int | Tensor, order: str = "exact") -> Tensor:
    r"""The excess kurtosis of a layer-``layer`` preactivation of a critical ReLU network of width ``width``
    (single input): ``order="exact"`` :math:`3[(1 + 5/n)^{l-1} - 1]`, ``order="first"`` :math:`15 (l-1)/n`."""
    check_choice("order", order, ["exact", "first"])
    n = torch.as_tensor(width, dtype=torch.float64)
    layer = torch.as_tensor(layer, dtype=torch.float64)
    if bool((n < 1).any()) or bool((layer < 1).any()):
        raise ValueError(f"width and layer must be >= 1, got width={n.tolist()}, layer={layer.tolist()}")
    if order == "first":
        return 15 * (layer - 1) / n
    return 3 * ((1 + 5 / n) ** (layer - 1) - 1)


def _sqrt_psd(gram: Tensor) -> Tensor:
    """Symmetric square root of a batch of small PSD matrices ``(..., k, k)``."""
    evals, evecs = torch.linalg.eigh(gram)
    return (evecs * evals.clamp_min(0.0).sqrt()[..., None, :]) @ evecs.transpose(-1, -2)


def sample_preactivations(x: Tensor, widths: Sequence[int], activation: str, c_w: float, c_b: float,
                          num_inits: int, *, generator: torch.Generator | None = None, method: str = "gram",
                          dtype: torch.dtype = torch.float64) -> list[Tensor]:
    r"""Preactivations of ``num_inits`` independently initialised MLPs, all at once (no loop over networks).

    Layer :math:`l` has ``widths[l-1]`` units; :math:`z^{(1)} = W^{(1)}x + b^{(1)}`,
    :math:`z^{(l+1)} = W^{(l+1)}\sigma(z^{(l)}) + b^{(l+1)}`, :math:`W \sim N(0, C_W/n_{in})`,
    :math:`b \sim N(0, C_b)`. ``method``: ``"gram"`` or ``"weights"`` (module docstring); both give the same
    distribution. Memory: the returned tensors plus, for ``"weights"``, the weights of one layer for a chunk of
    networks (at most 2**24 values; the networks are drawn chunk by chunk).

    Args:
        x: ``(n0,)`` one input or ``(k, n0)`` several (the same inputs for every network).
        widths: the layer widths ``[n_1, ..., n_L]`` (a readout is a last width of 1).

    Returns:
        a list of ``L`` tensors ``(num_inits, n_l, k)`` (``k = 1`` for a 1-D ``x``).
    """
    check_tensor("x", x, ndim=(1, 2), finite=True, nonempty=True)
    widths = list(widths)
    if not widths:
        raise ValueError("widths must list at least one layer width, got []")
    for i, w in enumerate(widths):
        check_int(f"widths[{i}]", w, min_value=1)
    act = get_activation(activation)
    c_w = check_float("c_w", c_w, min_value=0.0)
    c_b = check_float("c_b", c_b, min_value=0.0)
    check_int("num_inits", num_inits, min_value=1)
    check_choice("method", method, ["gram", "weights"])
    inputs = (x[None, :] if x.ndim == 1 else x).to(dtype)          # (k, n0)
    if method == "gram":
        return _forward(inputs, widths, act.fn, c_w, c_b, num_inits, generator, method)
    # weights: networks in chunks so that one layer's weights stay under _WEIGHT_ELEMENTS values
    sizes = [inputs.shape[1]] + widths
    per_net = max(a * b for a, b in zip(sizes, sizes[1:]))
    step = max(1, _WEIGHT_ELEMENTS // per_net)
    parts = [_forward(inputs, widths, act.fn, c_w, c_b, min(step, num_inits - s), generator, method)
             for s in range(0, num_inits, step)]
    return [torch.cat(layer) for layer in zip(*parts)]


_WEIGHT_ELEMENTS = 1 << 24


def _forward(inputs: Tensor, widths: list[int], fn: Callable[[Tensor], Tensor], c_w: float, c_b: float,
             num_inits: int, generator: torch.Generator | None, method: str) -> list[Tensor]:
    dtype, k = inputs.dtype, inputs.shape[0]
    h = inputs.T.expand(num_inits, -1, -1)                          # (N, n_in, k): activations feeding a layer
    out = []
    for n_out in widths:
        n_in = h.shape[1]
        if method == "weights":
            w = torch.randn(num_inits, n_out, n_in, generator=generator, dtype=dtype) * math.sqrt(c_w / n_in)
            b = torch.randn(num_inits, n_out, 1, generator=generator, dtype=dtype) * math.sqrt(c_b)
            z = torch.bmm(w, h) + b
        else:
            gram = c_b + (c_w / n_in) * (h.transpose(1, 2) @ h)     # (N, k, k)
            eps = torch.randn(num_inits, n_out, k, generator=generator, dtype=dtype)
            z = eps * gram.sqrt() if k == 1 else eps @ _sqrt_psd(gram)
        out.append(z)
        h = fn(z)
    return out


def preactivation_statistics(x: Tensor, width: int, depth: int, activation: str, c_w: float, c_b: float,
                             num_inits: int, *, generator: torch.Generator | None = None, method: str = "gram",
                             chunk_size: int = 2000) -> dict[str, Tensor]:
    r"""Moments of single-input preactivations at every layer over ``num_inits`` initialisations of a
    width-``width``, ``depth``-layer MLP, streamed in chunks of ``chunk_size`` networks (memory bounded).

    Neurons of one network are exchangeable, so the moments pool over neurons and networks; standard errors use
    the networks as the independent units (delta method for the kurtosis).

    Args:
        x: ``(n0,)`` the input.

    Returns:
        float64 ``(depth,)`` tensors: ``second_moment`` :math:`\mathbb E[z^2]` and ``second_moment_se``,
        ``excess_kurtosis`` :math:`\mathbb E[z^4]/\mathbb E[z^2]^2 - 3` and ``excess_kurtosis_se``, and
        ``layer`` (1..depth).
    """
    check_tensor("x", x, ndim=1, finite=True, nonempty=True)
    check_int("width", width, min_value=1)
    check_int("depth", depth, min_value=1)
    check_int("num_inits", num_inits, min_value=2)
    check_int("chunk_size", chunk_size, min_value=1)
    m2_parts, m4_parts = [], []
    for start in range(0, num_inits, chunk_size):
        count = min(chunk_size, num_inits - start)
        layers = sample_preactivations(x, [width] * depth, activation, c_w, c_b, count, generator=generator,
                                       method=method)
        z = torch.stack([t[..., 0] for t in layers])                 # (depth, count, width)
        z2 = z * z
        m2_parts.append(z2.mean(-1))
        m4_parts.append((z2 * z2).mean(-1))
    m2, m4 = torch.cat(m2_parts, 1), torch.cat(m4_parts, 1)             # (depth, N): per-network means
    n = m2.shape[1]
    a, b = m4.mean(1), m2.mean(1)
    kurt = a / b ** 2 - 3
    # delta method: d kurt = (1/b^2) da - (2a/b^3) db
    ga, gb = 1 / b ** 2, -2 * a / b ** 3
    var_a, var_b = m4.var(1), m2.var(1)
    cov_ab = ((m4 - a[:, None]) * (m2 - b[:, None])).sum(1) / (n - 1)
    kurt_se = torch.sqrt((ga ** 2 * var_a + gb ** 2 * var_b + 2 * ga * gb * cov_ab).clamp_min(0.0) / n)
    return {"layer": torch.arange(1, depth + 1), "second_moment": b, "second_moment_se": torch.sqrt(var_b / n),
            "excess_kurtosis": kurt, "excess_kurtosis_se": kurt_se}
