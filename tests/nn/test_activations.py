"""The one activation registry (basiskit.nn.activations): each derivative against torch.autograd, module factory
against function, unknown names with close matches, and every consumer resolving names through it."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from basiskit.models import MLP
from basiskit.nn import AFKANLinear, KANLinear
from basiskit.nn.activations import Activation, activation_names, get_activation
from basiskit.operators import FNO, T1, MgNO
from basiskit.operators.common import ChannelMLP

NAMES = activation_names()
# points where a kinked or switched function changes formula (torch's convention applies there)
KINKS = [0.0, -0.0, 20.0, 20.000000000000004, 19.999999999999996, 1e-300, -1e-300]
points = st.lists(st.floats(-40.0, 40.0, allow_nan=False, allow_infinity=False), min_size=1, max_size=200)


def _autograd_derivative(act: Activation, x: torch.Tensor) -> torch.Tensor:
    leaf = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(act.fn(leaf).sum(), leaf)
    return grad


def test_names_cover_every_table_it_replaced():
    old_tables = {"silu", "gelu", "tanh", "relu", "identity",           # ops.bspline, operators.common
                  "sigmoid", "softplus",                                 # models.mlp
                  "elu", "selu", "leaky_relu",                           # nn.afkan
                  "erf"}                                                 # kernels (closed-form NNGP/NTK)
    assert set(NAMES) == old_tables
    assert NAMES == sorted(NAMES)
    assert all(get_activation(n).name == n for n in NAMES)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=40, deadline=None)
@given(values=points)
def test_derivative_equals_autograd(name, values):
    act = get_activation(name)
    x = torch.tensor(values + KINKS, dtype=torch.float64)
    torch.testing.assert_close(act.derivative(x), _autograd_derivative(act, x), atol=1e-14, rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_derivative_is_differentiable_like_autograd(name):
    """The derivative's own gradient equals torch's double backward (what a fused op's create_graph relies on)."""
    act = get_activation(name)
    x = torch.linspace(-6, 6, 1001, dtype=torch.float64)
    x = x[x.abs() > 1e-3]  # away from kinks, where second derivatives are not defined
    leaf = x.clone().requires_grad_(True)
    (first,) = torch.autograd.grad(act.fn(leaf).sum(), leaf, create_graph=True)
    want = torch.autograd.grad(first.sum(), leaf, allow_unused=True)[0] if first.requires_grad else None
    want = torch.zeros_like(x) if want is None else want
    leaf2 = x.clone().requires_grad_(True)
    d = act.derivative(leaf2)
    got = torch.autograd.grad(d.sum(), leaf2, allow_unused=True)[0] if d.requires_grad else None
    got = torch.zeros_like(x) if got is None else got
    torch.testing.assert_close(got, want, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("name", NAMES)
def test_backward_fused_and_differentiable_paths_agree(name):
    act = get_activation(name)
    g = torch.Generator().manual_seed(3)
    x = torch.randn(500, generator=g, dtype=torch.float64) * 4
    grad = torch.randn(500, generator=g, dtype=torch.float64)
    want = grad * _autograd_derivative(act, x)
    with torch.no_grad():
        fused = act.backward(grad, x)
    torch.testing.assert_close(fused, want, atol=1e-14, rtol=1e-12)
    torch.testing.assert_close(act.backward(grad, x), want, atol=1e-14, rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_module_factory_equals_function(name):
    act = get_activation(name)
    x = torch.linspace(-30, 30, 4001, dtype=torch.float64).reshape(1, -1)
    first, second = act.module(), act.module()
    assert isinstance(first, nn.Module) and first is not second  # a fresh module each call
    assert torch.equal(first(x), act.fn(x))
    assert torch.equal(act(x), act.fn(x))


def test_unknown_name_lists_close_matches():
    with pytest.raises(ValueError, match=r"^activation: unknown activation 'gleu'; did you mean 'gelu'"):
        get_activation("gleu")
    with pytest.raises(ValueError, match=r"leaky_relu"):
        get_activation("leaky_rlu")
    with pytest.raises(ValueError, match=r"^base_activation: .*known: elu, erf, gelu, identity"):
        get_activation("nope", arg="base_activation")
    with pytest.raises(TypeError, match="activation must be an activation name"):
        get_activation(None)  # type: ignore[arg-type]


def test_entries_are_frozen():
    with pytest.raises(AttributeError):
        get_activation("gelu").name = "relu"  # type: ignore[misc]


# every consumer takes every registered name and rejects a typo with the registry's message
CONSUMERS = {
    "MLP": lambda a: MLP([2, 3, 1], activation=a),
    "ChannelMLP": lambda a: ChannelMLP(2, 2, 3, 2, activation=a),
    "FNO": lambda a: FNO((4,), 1, 1, 4, 2, activation=a),
    "T1": lambda a: T1((4,), 1, 1, 4, 2, activation=a),
    "MgNO": lambda a: MgNO(1, 1, 4, 2, levels=2, activation=a),
    "AFKANLinear": lambda a: AFKANLinear(2, 3, activation=a),
    "KANLinear": lambda a: KANLinear(2, 3, base_activation=a),
}
INPUTS = {"MLP": (4, 2), "ChannelMLP": (2, 2, 8), "FNO": (2, 1, 8), "T1": (2, 1, 8), "MgNO": (2, 1, 8, 8),
          "AFKANLinear": (4, 2), "KANLinear": (4, 2)}


@pytest.mark.parametrize("consumer", sorted(CONSUMERS))
def test_every_consumer_uses_the_registry(consumer):
    for name in NAMES:
        module = CONSUMERS[consumer](name)
        y = module(torch.rand(*INPUTS[consumer]))
        assert torch.isfinite(y).all(), (consumer, name)
    with pytest.raises(ValueError, match="did you mean 'tanh'"):
        CONSUMERS[consumer]("tahn")


def test_channel_mlp_applies_the_named_function():
    torch.manual_seed(0)
    mlp = ChannelMLP(2, 2, 3, 2, activation="elu")
    x = torch.randn(1, 2, 5)
    hidden = mlp.layers[0](x)
    torch.testing.assert_close(mlp(x), mlp.layers[1](torch.nn.functional.elu(hidden)))
