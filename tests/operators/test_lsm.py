import math

import pytest
import torch

from basiskit.operators import LSM, create
from basiskit.operators.lsm import SpectralBlock, patchify, spectral_tokens, unpatchify


def test_patchify_round_trip_and_patch_contents():
    x = torch.randn(2, 3, 8, 12)
    seq = patchify(x, (2, 3))
    assert seq.shape == (12, 16, 3)
    assert torch.equal(unpatchify(seq, x.shape, (2, 3)), x)
    # patch (1, 2) of sample 1 holds rows 4..7, columns 8..11
    assert torch.equal(seq[1 * 6 + 1 * 3 + 2], x[1, :, 4:8, 8:12].permute(1, 2, 0).reshape(16, 3))


def test_spectral_tokens_is_the_trigonometric_expansion():
    t = torch.randn(5, 4, 3, dtype=torch.float64)
    coeffs = torch.randn(3, 2, 2, dtype=torch.float64)
    out = spectral_tokens(t, coeffs)
    c = 1
    tc = t[..., c]
    # K = 2: frequencies 0 and pi / 2; sin(0) = 0 and cos(0) = 1 make the constant term
    ref = (tc + coeffs[c, 0, 1] * torch.sin(math.pi * tc / 2) + coeffs[c, 1, 0]
           + coeffs[c, 1, 1] * torch.cos(math.pi * tc / 2))
    assert torch.allclose(out[..., c], ref)


def test_spectral_block_attention_written_out_per_head():
    """Two heads, one patch: the block against the attention written with explicit loops over heads."""
    torch.manual_seed(0)
    block = SpectralBlock(4, num_tokens=3, n_basis=2, n_patches=1, num_heads=2).double()
    x = torch.randn(1, 4, 2, 3, dtype=torch.float64)
    seq = x[0].reshape(4, 6).T                                   # (N, C)
    kv = block.to_key_value(seq)
    key, value, query = kv[:, :4], kv[:, 4:], block.to_query(seq)
    tokens = torch.cat([torch.softmax(block.latent[h] @ key[:, 2 * h:2 * h + 2].T, -1) @ value[:, 2 * h:2 * h + 2]
                        + block.latent[h] for h in range(2)], dim=1)   # (T, C)
    tokens = spectral_tokens(tokens, block.coeffs)
    back = torch.cat([torch.softmax(query[:, 2 * h:2 * h + 2] @ tokens[:, 2 * h:2 * h + 2].T, -1)
                      @ tokens[:, 2 * h:2 * h + 2] for h in range(2)], dim=1)  # (N, C)
    assert torch.allclose(block(x), x + back.T.reshape(1, 4, 2, 3), atol=1e-12)


def test_spectral_block_keeps_shape_and_is_patch_local():
    torch.manual_seed(0)
    block = SpectralBlock(4, num_tokens=3, n_basis=4, n_patches=2).double()
    x = torch.randn(1, 4, 8, 8, dtype=torch.float64)
    y = block(x)
    assert y.shape == x.shape
    x2 = x.clone()
    x2[..., :4, :4] += 1.0  # change one patch only: the other patches' outputs do not move
    y2 = block(x2)
    assert torch.allclose(y2[..., 4:, :], y[..., 4:, :]) and torch.allclose(y2[..., :4, 4:], y[..., :4, 4:])
    assert not torch.allclose(y2[..., :4, :4], y[..., :4, :4])


def test_lsm_builds_by_name_maps_shapes_trains_and_round_trips(assert_steps_lower_loss):
    torch.manual_seed(0)
    kwargs = dict(in_channels=2, out_channels=1, hidden_channels=4, levels=3, num_tokens=2, n_basis=3, n_patches=2)
    model = create("lsm", **kwargs)
    assert isinstance(model, LSM)
    x, y = torch.randn(4, 2, 16, 16), torch.randn(4, 1, 16, 16)
    assert model(x).shape == (4, 1, 16, 16)
    assert_steps_lower_loss(model, x, y)
    model.train(False)
    clone = LSM(**kwargs).train(False)
    clone.load_state_dict(model.state_dict())
    assert torch.equal(clone(x), model(x))


def test_lsm_bad_inputs_name_the_argument():
    model = LSM(1, 1, hidden_channels=4, levels=3, n_patches=2)
    with pytest.raises(ValueError, match="x must have 4 dims"):
        model(torch.randn(1, 1, 16))
    with pytest.raises(ValueError, match="in_channels"):
        model(torch.randn(1, 3, 16, 16))
    with pytest.raises(ValueError, match="levels=3"):
        model(torch.randn(1, 1, 18, 16))
    with pytest.raises(ValueError, match="n_patches"):
        LSM(1, 1, hidden_channels=4, levels=1, n_patches=3)(torch.randn(1, 1, 16, 16))
    with pytest.raises(ValueError, match="num_tokens"):
        LSM(num_tokens=0)
    with pytest.raises(ValueError, match="divisible by num_heads"):
        LSM(hidden_channels=6, num_heads=4)
    with pytest.raises(ValueError, match="divisible by num_heads"):
        SpectralBlock(6, num_tokens=2, n_basis=2, n_patches=1, num_heads=4)


def test_lsm_default_heads_and_coordinates():
    assert [LSM(hidden_channels=w).num_heads for w in (16, 12, 6, 9)] == [8, 4, 2, 1]
    torch.manual_seed(0)
    model = LSM(1, 1, hidden_channels=4, levels=2, n_patches=2).double().train(False)
    flat = model(torch.zeros(1, 1, 8, 8, dtype=torch.float64))
    assert flat.std() > 0  # a constant input still gives a field that varies in space: the coordinates enter
    assert LSM(1, 1, hidden_channels=4, levels=2, positional=False).fc0.in_channels == 1
