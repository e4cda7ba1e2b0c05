"""SpatioTemporalFNO: shapes, the full-mode head, registry, bad inputs."""
import pytest
import torch

from basiskit import operators
from basiskit.operators import SpatioTemporalFNO, SpectralConv


def small(**kw) -> SpatioTemporalFNO:
    args = {"n_modes": (4, 4, 3), "grid": 8, "steps": 6, "hidden_channels": 6, "n_layers": 2}
    args.update(kw)
    return SpatioTemporalFNO(**args)


def test_shapes_and_gradients():
    torch.manual_seed(0)
    model = small(in_channels=2, latent_channels=5)
    x = torch.randn(3, 2, 8, 8)
    assert model.features(x).shape == (3, 5, 8, 8, 6)
    y = model(x)
    assert y.shape == (3, 1, 8, 8, 6)
    y.square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_head_keeps_every_mode_and_starts_pointwise():
    torch.manual_seed(1)
    model = small(latent_channels=3)
    assert isinstance(model.head, SpectralConv)
    assert model.head.n_modes == (8, 8, 6)  # no frequency truncation on the (n1, n2, steps) grid
    v = torch.randn(2, 3, 8, 8, 6)
    mix = model.head.complex_weight()[:, :, 0, 0, 0].real  # (latent, out)
    expected = torch.einsum("bixyz,io->boxyz", v, mix) + model.head.bias.reshape(1, -1, 1, 1, 1)
    torch.testing.assert_close(model.head(v), expected, atol=1e-5, rtol=1e-5)


def test_registry_and_float64():
    model = operators.create("stfno", n_modes=(4, 4, 2), grid=(8, 8), steps=4, hidden_channels=4, n_layers=1,
                             dtype=torch.float64)
    assert "stfno" in operators.names()
    out = model(torch.randn(1, 1, 8, 8, dtype=torch.float64))
    assert out.dtype == torch.float64 and out.shape == (1, 1, 8, 8, 4)


@pytest.mark.parametrize("kw, err, match", [
    ({"n_modes": (4, 4)}, ValueError, "n_modes"),
    ({"n_modes": (9, 4, 3)}, ValueError, r"n_modes\[0\]=9"),
    ({"n_modes": (4, 4, 7)}, ValueError, r"n_modes\[2\]=7"),
    ({"steps": 1}, ValueError, "steps"),
    ({"grid": (8, 8, 8)}, ValueError, "grid"),
    ({"latent_channels": 0}, ValueError, "latent_channels"),
    ({"time_padding": 1.5}, ValueError, "time_padding"),
])
def test_bad_construction(kw, err, match):
    with pytest.raises(err, match=match):
        small(**kw)


def test_bad_inputs():
    model = small()
    with pytest.raises(ValueError, match="channels"):
        model(torch.randn(1, 2, 8, 8))
    with pytest.raises(ValueError, match="grid dims"):
        model(torch.randn(1, 1, 8, 8, 6))
    with pytest.raises(TypeError, match="floating"):
        model(torch.ones(1, 1, 8, 8, dtype=torch.long))
