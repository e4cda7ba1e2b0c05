"""Gaussian normalisers: statistics against NumPy, invertibility, streaming = in-memory, grid independence,
saving and loading, the per-point mode's refusal of other grids, clear errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basiskit import UsageError
from basiskit.data import GaussianNormalizer, NormalizedOperator


def _data(seed: int, shape=(12, 3, 10, 6)) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    scale = torch.tensor([1.0, 10.0, 0.1]).reshape(1, 3, 1, 1)
    shift = torch.tensor([0.0, -5.0, 2.0]).reshape(1, 3, 1, 1)
    return (torch.randn(shape, generator=g, dtype=torch.float64) * scale + shift)


def test_channel_statistics_match_numpy_and_encode_standardises_each_channel():
    x = _data(0)
    n = GaussianNormalizer().fit(x)
    arr = x.numpy()
    np.testing.assert_allclose(n.mean.reshape(-1).numpy(), arr.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(n.std.reshape(-1).numpy(), arr.std(axis=(0, 2, 3), ddof=1), rtol=1e-12)
    z = n.encode(x)
    assert torch.allclose(z.mean(dim=(0, 2, 3)), torch.zeros(3, dtype=z.dtype), atol=1e-12)
    assert torch.allclose(z.std(dim=(0, 2, 3)), torch.ones(3, dtype=z.dtype), atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(mode=st.sampled_from(["channel", "global", "point"]), seed=st.integers(0, 10_000),
       n_batches=st.integers(1, 4))
def test_decode_inverts_encode_and_streaming_equals_in_memory(mode, seed, n_batches):
    x = _data(seed)
    whole = GaussianNormalizer(mode).fit(x)
    assert torch.allclose(whole.decode(whole.encode(x)), x, atol=1e-10)
    streamed = GaussianNormalizer(mode).fit(list(x.chunk(n_batches)))
    assert torch.allclose(streamed.mean.double(), whole.mean, rtol=1e-5, atol=1e-6)
    assert torch.allclose(streamed.std.double(), whole.std, rtol=1e-5)


def test_channel_statistics_apply_at_any_grid_and_point_statistics_refuse_other_grids():
    x = _data(1)
    fine = torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear")
    chan = GaussianNormalizer().fit(x)
    assert chan.encode(fine).shape == fine.shape
    assert torch.allclose(chan.encode(x[..., 0]), chan.encode(x)[..., 0])  # 1-D data with 2-D statistics
    point = GaussianNormalizer("point").fit(x)
    assert point.mean.shape == (3, 10, 6)
    with pytest.raises(UsageError, match=r"fitted on the grid \(10, 6\).*\(20, 12\).*mode='channel'"):
        point.encode(fine)


def test_statistics_are_saved_and_loaded_with_the_model():
    x, y = _data(2), _data(3)[:, :1]
    model = NormalizedOperator.fit(torch.nn.Conv2d(3, 1, 1), x.float(), y.float())
    state = model.state_dict()
    clone = NormalizedOperator(torch.nn.Conv2d(3, 1, 1), GaussianNormalizer(), GaussianNormalizer())
    clone.load_state_dict(state)
    assert torch.equal(clone(x.float()), model(x.float()))
    assert "stats (3, 1, 1)" in repr(clone.x_normalizer)


def test_constant_channel_is_shifted_not_blown_up():
    x = _data(4)
    x[:, 2] = 7.0
    z = GaussianNormalizer(eps=1e-6).fit(x).encode(x)
    assert torch.all(z[:, 2] == 0) and torch.isfinite(z).all()


def test_bad_inputs_give_clear_errors():
    with pytest.raises(ValueError, match="mode"):
        GaussianNormalizer("batch")
    with pytest.raises(UsageError, match="call fit"):
        GaussianNormalizer().encode(_data(0))
    n = GaussianNormalizer().fit(_data(0))
    with pytest.raises(UsageError, match="has 2 channels; this normaliser was fitted on 3"):
        n.encode(_data(0)[:, :2])
    with pytest.raises(UsageError, match=r"\(batch, channels, \*grid\)"):
        GaussianNormalizer().fit(torch.zeros(5, 3))
    with pytest.raises(UsageError, match="empty"):
        GaussianNormalizer().fit([])
    with pytest.raises(UsageError, match="batch 1"):
        GaussianNormalizer().fit([_data(0), _data(1)[:, :2]])
    with pytest.raises(UsageError, match="grid-independent"):
        GaussianNormalizer("point").fit(_data(0)).scale_shift(_data(0))
