import math

import pytest
import torch

from basiskit.nn import FourierFeatures, fourier_features


def test_values_match_closed_form():
    x = torch.tensor([[0.25, -0.5]], dtype=torch.float64)
    b = torch.tensor([[1.0, 0.0], [0.5, 2.0]], dtype=torch.float64)
    out = fourier_features(x, b)
    proj = [2 * math.pi * 0.25, 2 * math.pi * (0.125 - 1.0)]
    expect = torch.tensor([[math.cos(proj[0]), math.cos(proj[1]), math.sin(proj[0]), math.sin(proj[1])]],
                          dtype=torch.float64)
    torch.testing.assert_close(out, expect)


def test_module_shapes_scales_and_state_dict():
    g = torch.Generator().manual_seed(0)
    layer = FourierFeatures(3, 4000, sigma=(1.0, 10.0), generator=g)
    assert layer(torch.rand(5, 7, 3)).shape == (5, 7, 8000)
    std_lo, std_hi = layer.freqs[0::2].std(), layer.freqs[1::2].std()
    assert 0.9 < float(std_lo) < 1.1 and 9.0 < float(std_hi) < 11.0
    other = FourierFeatures(3, 4000, sigma=2.0)
    other.load_state_dict(layer.state_dict())
    x = torch.rand(4, 3)
    torch.testing.assert_close(other(x), layer(x))
    assert "sigma=(1.0, 10.0)" in repr(layer)


def test_trainable_frequencies_get_gradients():
    layer = FourierFeatures(2, 8, sigma=1.0, trainable=True)
    layer(torch.rand(10, 2)).sum().backward()
    assert layer.freqs.grad is not None and float(layer.freqs.grad.abs().sum()) > 0


def test_bad_inputs():
    with pytest.raises(ValueError, match="sigma must be >"):
        FourierFeatures(2, 8, sigma=0.0)
    with pytest.raises(ValueError, match="x must have last dim 2"):
        FourierFeatures(2, 8)(torch.rand(4, 3))
    with pytest.raises(ValueError, match="num_features must be >= 1"):
        FourierFeatures(2, 0)
