"""Domain padding on one or both sides and the sinusoidal positional embedding, as options of FNO and TFNO."""
from __future__ import annotations

import math

import pytest
import torch

from basiskit.operators import FNO, TFNO, pad_domain, sinusoidal_features, unpad_domain
from basiskit.operators.common import grid_coordinates


def test_symmetric_padding_adds_zeros_at_both_ends_and_unpads_exactly():
    x = torch.randn(2, 3, 7, 5)
    padded = pad_domain(x, (2, 1), "symmetric")
    assert padded.shape == (2, 3, 11, 7)
    assert torch.equal(padded[:, :, 2:9, 1:6], x)
    assert padded[:, :, :2].abs().sum() == 0 and padded[:, :, -2:].abs().sum() == 0
    assert torch.equal(unpad_domain(padded, (2, 1), "symmetric"), x)
    one = pad_domain(x, (2, 1))
    assert one.shape == (2, 3, 9, 6) and torch.equal(one[:, :, :7, :5], x)
    assert torch.equal(unpad_domain(one, (2, 1)), x)


def test_sinusoidal_features_are_the_stated_ladder():
    coords = grid_coordinates((9,))
    feats = sinusoidal_features(coords, 3, 4.0)
    x = coords[0]
    expected = torch.stack([torch.sin(2 * math.pi * f * x) for f in (1, 2, 4)]
                           + [torch.cos(2 * math.pi * f * x) for f in (1, 2, 4)])
    torch.testing.assert_close(feats, expected, rtol=0, atol=1e-5)
    one = sinusoidal_features(grid_coordinates((4, 6)), 1, 8.0)
    assert one.shape == (4, 4, 6)  # sin and cos of one frequency per coordinate
    torch.testing.assert_close(one[0], torch.sin(2 * math.pi * grid_coordinates((4, 6))[0]))


@pytest.mark.parametrize("cls", [FNO, TFNO])
def test_fno_family_takes_symmetric_padding_and_sinusoidal_positions_at_any_resolution(cls):
    torch.manual_seed(0)
    model = cls((6, 6), 1, 2, 8, 2, positional="sinusoidal", positional_frequencies=3, padding=0.25,
                padding_mode="symmetric")
    assert model.lifting.layers[0].weight.shape[1] == 1 + 2 * (1 + 2 * 3)
    for n in (16, 24):
        x = torch.randn(3, 1, n, n)
        out = model(x)
        assert out.shape == (3, 2, n, n) and torch.isfinite(out).all()
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    assert "padding_mode='symmetric'" in repr(model)


def test_bad_padding_and_positional_options_give_clear_errors():
    with pytest.raises(ValueError, match="padding_mode"):
        FNO(4, padding=2, padding_mode="both")
    with pytest.raises(ValueError, match="positional_frequencies"):
        FNO(4, positional="sinusoidal", positional_frequencies=0)
    with pytest.raises(ValueError, match="'sinusoidal'"):
        FNO(4, positional="fourier")
