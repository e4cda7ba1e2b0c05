import numpy as np
import pytest
import scipy.fft as sfft
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basiskit.operators import T1, create, dct_forward, dct_inverse, dft_forward, dft_inverse
from basiskit.operators.t1 import ModesView, dct_matrix


def test_dct_matrix_matches_scipy():
    ref = sfft.dct(np.eye(10), type=2, norm="ortho", axis=0)[:6]
    assert np.allclose(dct_matrix(10, 6, dtype=torch.float64).numpy(), ref, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(n1=st.integers(4, 20), n2=st.integers(4, 20), seed=st.integers(0, 100))
def test_dct_forward_matches_scipy_and_inverts(n1, n2, seed):
    x = np.random.default_rng(seed).standard_normal((2, 3, n1, n2))
    coeffs = dct_forward(torch.from_numpy(x), (n1, n2))
    ref = sfft.dctn(x, type=2, norm="ortho", axes=(2, 3)) / np.sqrt(n1 * n2)
    assert np.allclose(coeffs.numpy(), ref, atol=1e-12)
    # band-limited input (only the first m modes): truncated transform then inverse is the identity
    m1, m2 = max(1, n1 // 2), max(1, n2 // 3)
    band = np.zeros_like(ref)
    band[..., :m1, :m2] = ref[..., :m1, :m2]
    xb = sfft.idctn(band * np.sqrt(n1 * n2), type=2, norm="ortho", axes=(2, 3))
    back = dct_inverse(dct_forward(torch.from_numpy(xb), (m1, m2)), (n1, n2))
    assert np.allclose(back.numpy(), xb, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(n1=st.integers(4, 20), n2=st.integers(4, 20), seed=st.integers(0, 100))
def test_dft_forward_matches_scipy_and_inverts(n1, n2, seed):
    x = np.random.default_rng(seed).standard_normal((2, 1, n1, n2))
    m1, m2 = n1 // 2 - 1 if n1 > 3 else 1, n2 // 2
    coeffs = dft_forward(torch.from_numpy(x), (m1, m2)).numpy()
    ref = sfft.rfftn(x, axes=(2, 3), norm="forward")
    assert np.allclose(coeffs[..., :m1, :], ref[..., :m1, :m2], atol=1e-12)
    assert np.allclose(coeffs[..., m1:, :], ref[..., n1 - m1:, :m2], atol=1e-12)
    band = np.zeros_like(ref)
    band[..., :m1, :m2] = ref[..., :m1, :m2]
    band[..., n1 - m1 + 1:, :m2] = ref[..., n1 - m1 + 1:, :m2]  # Hermitian-symmetric band: |k| < m1
    xb = sfft.irfftn(band, s=(n1, n2), axes=(2, 3), norm="forward")
    back = dft_inverse(dft_forward(torch.from_numpy(xb), (m1, m2)), (n1, n2))
    assert np.allclose(back.numpy(), xb, atol=1e-10)


@pytest.mark.parametrize("transform", ["dct", "dft"])
def test_t1_builds_by_name_maps_shapes_and_trains(transform, assert_steps_lower_loss):
    torch.manual_seed(0)
    model = create("t1", n_modes=(5, 4), in_channels=2, out_channels=3, hidden_channels=8, n_layers=2,
                   transform=transform)
    assert isinstance(model, T1)
    x, y = torch.randn(4, 2, 16, 12), torch.randn(4, 3, 16, 12)
    assert model(x).shape == (4, 3, 16, 12)
    assert model(torch.randn(1, 2, 24, 20)).shape == (1, 3, 24, 20)  # any resolution
    assert_steps_lower_loss(model, x, y)
    clone = create("t1", n_modes=(5, 4), in_channels=2, out_channels=3, hidden_channels=8, n_layers=2,
                   transform=transform)
    clone.load_state_dict(model.state_dict())
    assert torch.equal(clone(x), model(x))


def test_t1_output_is_band_limited_and_frequency_loss_matches_physical():
    torch.manual_seed(1)
    model = T1((4, 4), 1, 1, hidden_channels=6, n_layers=2).double()
    x = torch.randn(3, 1, 16, 16, dtype=torch.float64)
    out = model(x)
    assert torch.allclose(dct_forward(out, (16, 16))[..., 4:, :], torch.zeros(()).double(), atol=1e-12)
    # Parseval: error on kept modes equals the physical error against the band-limited target (grid-normalised)
    y = torch.randn(3, 1, 16, 16, dtype=torch.float64)
    y_band = dct_inverse(model.to_modes(y), (16, 16))
    spectral = ModesView(model)(x) - model.to_modes(y)
    assert torch.allclose((spectral ** 2).sum(), ((out - y_band) ** 2).sum() / 256, rtol=1e-10)


def test_t1_variance_preserving_init_keeps_scale():
    torch.manual_seed(0)
    model = T1((8, 8), 1, 1, hidden_channels=32, n_layers=6, activation="relu")
    x = torch.randn(4, 1, 16, 16)
    with torch.no_grad():
        stds = _layer_scales(model, x)
    # second moment stays within a factor ~2 over six layers (neither explodes nor vanishes)
    assert max(stds) / min(stds) < 2.0


def _layer_scales(model, x):
    from basiskit.operators.t1 import t1_layer

    z = model.to_modes(x)
    z = torch.einsum("oi,bi...->bo...", model.lift, z)
    stds = []
    for layer in range(model.n_layers):
        mix = [model.mode_mixes[2 * layer + a] for a in range(2)]
        z = torch.relu(t1_layer(z, model.mode_weights[layer], model.channel_weights[layer], mix, model.biases[layer]))
        stds.append(float(z.pow(2).mean().sqrt()))
    return stds


def test_t1_bad_inputs_name_the_argument():
    model = T1((6, 6), 2, 1, hidden_channels=4, n_layers=1)
    with pytest.raises(ValueError, match="x must have 4 dims"):
        model(torch.randn(2, 2, 16))
    with pytest.raises(ValueError, match="n_modes"):
        model(torch.randn(2, 2, 16, 5))
    with pytest.raises(ValueError, match="channels"):
        model(torch.randn(2, 3, 16, 16))
    with pytest.raises(ValueError, match="n_modes"):
        T1((6, 6), 2, 1, transform="dft")(torch.randn(1, 2, 10, 16))
    with pytest.raises(ValueError, match="transform"):
        T1((4, 4), transform="dst")
    with pytest.raises(TypeError, match="n_modes"):
        T1(4)
    with pytest.raises(ValueError, match="hidden_channels"):
        T1((4, 4), hidden_channels=0)
