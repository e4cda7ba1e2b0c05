import math

import pytest
import torch

import basiskit as bk
from basiskit.operators import FNO, SpectralConv, spectral_conv
from basiskit.operators.common import (ChannelMLP, append_grid, channel_linear, count_parameters, pad_domain,
                                       unpad_domain)
from basiskit.operators.spectral import kept_modes


def reference_spectral_conv(x, weight, n_modes):
    """Full rfftn, explicit wavenumber index lists, full irfftn (an independent path)."""
    spec = torch.fft.rfftn(x, dim=tuple(range(2, x.ndim)))
    out = torch.zeros(x.shape[0], weight.shape[1], *spec.shape[2:], dtype=spec.dtype)
    idx = []
    for j, (m, n) in enumerate(zip(n_modes, x.shape[2:])):
        if j == len(n_modes) - 1:
            idx.append(list(range(m // 2 + 1)))
        else:
            ks = list(range(0, m - m // 2)) + list(range(-(m // 2), 0))
            idx.append([k % n for k in ks])
    grids = torch.meshgrid(*[torch.tensor(i) for i in idx], indexing="ij")
    sel = spec[(slice(None), slice(None), *grids)]
    out[(slice(None), slice(None), *grids)] = torch.einsum("bi...,io...->bo...", sel, weight)
    return torch.fft.irfftn(out, s=x.shape[2:], dim=tuple(range(2, x.ndim)))


@pytest.mark.parametrize("grid, n_modes", [((16,), (5,)), ((12, 10), (6, 4)), ((8, 6, 8), (4, 3, 5)), ((8, 8), (8, 9))])
def test_spectral_conv_matches_reference(grid, n_modes):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, *grid, dtype=torch.float64, generator=g)
    w = torch.randn(3, 4, *kept_modes(n_modes), dtype=torch.complex128, generator=g)
    assert torch.allclose(spectral_conv(x, w), reference_spectral_conv(x, w, n_modes), atol=1e-12)


def test_spectral_conv_of_a_single_mode():
    n = 32
    xs = torch.arange(n, dtype=torch.float64) / n
    x = torch.cos(2 * math.pi * 3 * xs)[None, None]
    w = torch.zeros(1, 1, 8 // 2 + 1, dtype=torch.complex128)
    w[0, 0, 3] = 2j  # multiply mode 3 by 2i: cos -> -2 sin
    assert torch.allclose(spectral_conv(x, w)[0, 0], -2 * torch.sin(2 * math.pi * 3 * xs), atol=1e-12)


def test_channel_blocks():
    x = torch.randn(2, 3, 5, 4)
    w, b = torch.randn(6, 3), torch.randn(6)
    assert torch.allclose(channel_linear(x, w, b), torch.einsum("oi,bixy->boxy", w, x) + b[:, None, None], atol=1e-5)
    assert ChannelMLP(3, 2, 8)(x).shape == (2, 2, 5, 4)
    g = append_grid(torch.zeros(1, 1, 3, 5))
    assert torch.allclose(g[0, 1, :, 0], torch.tensor([0.0, 0.5, 1.0]))
    assert torch.allclose(g[0, 2, 0, -1], torch.tensor(1.0))
    assert torch.equal(unpad_domain(pad_domain(x, (2, 1)), (2, 1)), x) and pad_domain(x, (2, 1)).shape == (2, 3, 7, 5)


@pytest.mark.parametrize("n_modes, grid", [(8, (32,)), ((6, 6), (16, 16)), ((4, 4, 4), (8, 8, 8))])
def test_fno_shapes_1d_2d_3d(n_modes, grid):
    model = FNO(n_modes, 2, 3, 8, 2, padding=2)
    assert model(torch.randn(2, 2, *grid)).shape == (2, 3, *grid)


def test_build_by_name_train_step_and_state_dict(assert_steps_lower_loss):
    torch.manual_seed(0)
    model = bk.operators.create("fno", n_modes=(6, 6), in_channels=1, out_channels=1, hidden_channels=8, n_layers=2)
    x, y = torch.randn(4, 1, 16, 16), torch.randn(4, 1, 16, 16)
    assert_steps_lower_loss(model, x, y)
    clone = FNO((6, 6), 1, 1, 8, 2)
    clone.load_state_dict(model.state_dict())
    assert torch.equal(clone(x), model(x))


def test_discretisation_invariance():
    """Same weights, a smooth (band-limited) input on a grid and on one twice as fine: close outputs."""
    torch.manual_seed(0)
    model = FNO((8, 8), 1, 1, 16, 3, positional="periodic").double()

    def field(n):
        s = torch.arange(n, dtype=torch.float64) / n
        x, y = torch.meshgrid(s, s, indexing="ij")
        return (torch.sin(2 * math.pi * x) * torch.cos(2 * math.pi * y) + 0.5 * torch.cos(4 * math.pi * x))[None, None]

    with torch.no_grad():
        coarse, fine = model(field(32)), model(field(64))
    assert float((fine[..., ::2, ::2] - coarse).norm() / coarse.norm()) < 2e-3
    spread = float((coarse - coarse.mean()).norm() / coarse.norm())
    assert float((fine[..., ::2, ::2] - coarse).norm() / coarse.norm()) < spread


def test_parameter_count_equals_neuraloperator():
    pytest.importorskip("neuralop")
    from neuralop.models import FNO as PeerFNO

    ours = FNO((12, 12), 1, 1, 32, 4)
    peer = PeerFNO(n_modes=(12, 12), in_channels=1, out_channels=1, hidden_channels=32, n_layers=4)
    assert count_parameters(ours) == count_parameters(peer)


@pytest.mark.parametrize("build, x, match", [
    (lambda: FNO((4, 4), 1, 1, 8, 1), torch.randn(2, 1, 16), "grid dims"),
    (lambda: FNO((4, 4), 2, 1, 8, 1), torch.randn(2, 1, 16, 16), "in_channels"),
    (lambda: FNO((20, 4), 1, 1, 8, 1), torch.randn(2, 1, 16, 16), r"n_modes\[0\]"),
    (lambda: FNO((4, 40), 1, 1, 8, 1), torch.randn(2, 1, 16, 16), r"n_modes\[1\]"),
    (lambda: SpectralConv(2, 2, (4,)), torch.randn(2, 3, 16), "in_channels"),
])
def test_bad_inputs_name_the_argument(build, x, match):
    with pytest.raises(ValueError, match=match):
        build()(x)


@pytest.mark.parametrize("kwargs, match", [
    ({"n_modes": (4, 4, 4, 4)}, "n_modes"), ({"n_modes": (0, 4)}, r"n_modes\[0\]"), ({"hidden_channels": 0}, "hidden"),
    ({"n_modes": (4, 4), "positional": "yes"}, "positional"), ({"n_modes": (4, 4), "activation": "gelo"}, "activation"),
])
def test_bad_constructor_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FNO(**{"n_modes": (4, 4), **kwargs})
