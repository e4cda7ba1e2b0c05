r"""Activations by name: the public home of basiskit's one activation registry.

``get_activation("gelu")`` returns an :class:`Activation` with

* ``.fn(x)`` - the function on tensors (calling the entry itself does the same),
* ``.module()`` - a fresh ``nn.Module`` (``nn.GELU()``) for ``nn.Sequential`` stacks,
* ``.derivative(x)`` - :math:`\sigma'(x)`, differentiable, equal to ``torch.autograd``'s value (also at kinks),
* ``.backward(grad, x)`` - ``grad * derivative(x)`` (ATen's fused kernel outside grad mode where there is one).

``activation_names()`` lists them; an unknown name raises ``ValueError`` naming the argument, with close matches.
Every layer, operator and model that takes an activation by name (``activation="gelu"``) resolves it here.

Why the table is defined in :mod:`basiskit.ops._activation_math` and re-exported here: the fused ops (the
B-spline KAN kernel's base term) need the function and its derivative, and ``ops`` sits below ``nn`` in the
package's layering (nn -> (ops, bases) -> ...), so it may not import from ``nn``. Defining it once at the
lowest layer that needs it and re-exporting it from ``nn`` keeps one table and no upward import.
"""
from __future__ import annotations

from ..ops._activation_math import Activation, activation_names, get_activation

__all__ = ["Activation", "activation_names", "get_activation"]
