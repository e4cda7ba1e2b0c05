"""UNO: resolution-changing layers (exact on band-limited fields), the U of skips, shapes on 1-D/2-D grids and
other resolutions, parameters as neuraloperator counts them, one training step, clear errors."""
from __future__ import annotations

import math

import pytest
import torch

import basiskit as bk
from basiskit import UsageError
from basiskit.operators import UNO, UNOLayer


def test_spectral_path_writes_a_band_limited_field_exactly_on_the_new_grid():
    """With identity spectral weights and no skip, the layer evaluates the kept Fourier modes on the new grid."""
    layer = UNOLayer(1, 1, (8,)).double()
    with torch.no_grad():
        layer.conv.weight.zero_()
        layer.conv.weight[0, 0, :, 0] = 1.0
        layer.conv.bias.zero_()
        layer.skip.weight.zero_()
    f = lambda n: torch.sin(2 * math.pi * 3 * torch.arange(n, dtype=torch.float64) / n) + 0.5  # noqa: E731
    out = layer(f(32)[None, None], (16,))
    torch.testing.assert_close(out[0, 0], f(16), rtol=0, atol=1e-12)
    torch.testing.assert_close(layer(f(32)[None, None], (48,))[0, 0], f(48), rtol=0, atol=1e-12)


def test_default_skips_form_a_u_and_shapes_follow_the_scalings():
    torch.manual_seed(0)
    model = UNO(1, 2, 8, layer_channels=(8, 16, 16, 8), layer_modes=((6, 6), (4, 4), (4, 4), (6, 6)),
                layer_scalings=(1.0, 0.5, 2.0, 1.0), positional=True)
    assert model.skips == {3: 0, 2: 1}
    assert model.layers[3].conv.in_channels == 16 + 8 and model.layers[2].conv.in_channels == 16 + 16
    for n in (32, 48):
        assert model(torch.randn(3, 1, n, n)).shape == (3, 2, n, n)
    one_d = UNO(1, 1, 8, (8, 8, 8), (5, 5, 5), (0.5, 1.0, 2.0), horizontal_skips={}, padding=4,
                padding_mode="symmetric")
    y = one_d(torch.randn(2, 1, 40))
    assert y.shape == (2, 1, 40)
    y.sum().backward()
    assert all(p.grad is not None for p in one_d.parameters())


def test_registered_and_the_output_is_resampled_when_scalings_do_not_return():
    model = bk.operators.create("uno", in_channels=1, out_channels=1, hidden_channels=4, layer_channels=(4, 4),
                                layer_modes=((4, 4), (4, 4)), layer_scalings=(0.5, 1.0))
    assert model(torch.randn(1, 1, 24, 24)).shape == (1, 1, 24, 24)


def test_bad_configurations_give_clear_errors():
    with pytest.raises(UsageError, match="same length"):
        UNO(1, 1, 8, (8, 8), (4,), (1.0, 1.0))
    with pytest.raises(UsageError, match="layer_scalings\\[1\\]"):
        UNO(1, 1, 8, (8, 8), (4, 4), (1.0, -2.0))
    with pytest.raises(UsageError, match="from an earlier layer"):
        UNO(1, 1, 8, (8, 8), (4, 4), (1.0, 1.0), horizontal_skips={0: 1})
    model = UNO(1, 1, 8, (8, 8), (12, 12), (0.25, 4.0), horizontal_skips={})
    with pytest.raises(ValueError, match="output grid"):
        model(torch.randn(1, 1, 32))
