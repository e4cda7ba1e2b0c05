"""Gaussian normalisers for operator data, saved with the model and independent of the grid.

``GaussianNormalizer(mode)`` maps ``x -> (x - mean) / std`` and back, statistics fitted on training data:

* ``"channel"`` (default): one mean and std per channel, over samples and grid points. A neural operator trained
  at one resolution and evaluated at another must see the same input scaling, so the statistics must not depend
  on the grid: per-channel scalars do not (they estimate the field's spatial mean and spread, which a finer grid
  only samples more densely).
* ``"global"``: one mean and std over everything (what the recipes used before this module existed).
* ``"point"``: a mean and std per channel and grid point (neuraloperator's ``UnitGaussianNormalizer`` default):
  it refuses inputs on any other grid, since per-point statistics have no meaning there.

Statistics are buffers, so they travel in the ``state_dict`` with the weights; a normaliser loads statistics of any
shape from a saved state. ``fit`` takes a tensor ``(n, c, *grid)`` or an iterable of such batches (streamed with
Chan et al.'s pairwise update of mean and variance in float64, so data larger than memory can be fitted).
``NormalizedOperator`` wraps a model so that it maps raw inputs to raw outputs.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from .._validation import UsageError, check_choice, check_float

MODES = ("channel", "global", "point")


def _reduce_dims(mode: str, ndim: int) -> tuple[int, ...]:
    if mode == "global":
        return tuple(range(ndim))
    if mode == "channel":
        return (0, *range(2, ndim))
    return (0,)


class GaussianNormalizer(nn.Module):
    """``encode(x) = (x - mean) / std``, ``decode(z) = z * std + mean``; x: (b, c, *grid).

    ``eps`` floors the standard deviation (a constant channel is shifted, not blown up).
    """

    def __init__(self, mode: str = "channel", eps: float = 1e-12) -> None:
        super().__init__()
        self.mode = check_choice("mode", mode, MODES)
        self.eps = check_float("eps", eps, min_value=0.0, strict_min=True)
        self.register_buffer("mean", torch.empty(0))
        self.register_buffer("std", torch.empty(0))

    @property
    def fitted(self) -> bool:
        return self.mean.numel() > 0

    def fit(self, data: torch.Tensor | Iterable[torch.Tensor]) -> GaussianNormalizer:
        """Statistics of ``data``: a tensor (n, c, *grid) or an iterable of such batches. Returns self."""
        if isinstance(data, torch.Tensor):
            self._check_shape(data, "data")
            if self.mode == "global":
                mean, std = data.mean().reshape(1), data.std().reshape(1)
            else:
                dims = _reduce_dims(self.mode, data.ndim)
                mean = data.mean(dim=dims, keepdim=True)[0]  # (c, 1, ..) or (c, *grid): batch axis added at use
                std = data.std(dim=dims, keepdim=True)[0]
            return self._set(mean, std.clamp_min(self.eps))
        count, mean, m2 = 0, None, None
        for i, batch in enumerate(data):
            if not isinstance(batch, torch.Tensor):
                raise UsageError(f"fit: batch {i} must be a tensor (b, c, *grid), got {type(batch).__name__}")
            self._check_shape(batch, f"batch {i}")
            dims = _reduce_dims(self.mode, batch.ndim)
            b = batch.double()
            n_b = math.prod(b.shape[d] for d in dims)  # values per statistic in this batch
            mean_b = b.mean(dim=dims, keepdim=True)
            m2_b = ((b - mean_b) ** 2).sum(dim=dims, keepdim=True)
            if mean is None:
                count, mean, m2 = n_b, mean_b, m2_b
                continue
            if mean_b.shape != mean.shape:
                raise UsageError(f"fit: batch {i} has shape {tuple(batch.shape)}, which does not match the "
                                 "earlier batches' channels (or grid, for mode='point')")
            delta, total = mean_b - mean, count + n_b
            mean = mean + delta * (n_b / total)
            m2 = m2 + m2_b + delta ** 2 * (count * n_b / total)
            count = total
        if mean is None:
            raise UsageError("fit: the iterable of batches was empty")
        if count < 2:
            raise UsageError("fit: need at least two values per statistic to estimate a standard deviation")
        std = (m2 / (count - 1)).sqrt()
        if self.mode == "global":
            mean, std = mean.reshape(1), std.reshape(1)
        else:
            mean, std = mean[0], std[0]
        return self._set(mean.float(), std.float().clamp_min(self.eps))

    def _set(self, mean: torch.Tensor, std: torch.Tensor) -> GaussianNormalizer:
        self.mean, self.std = mean.detach().clone(), std.detach().clone()
        return self

    def _check_shape(self, x: torch.Tensor, arg: str) -> None:
        if x.ndim < 2 or (self.mode != "global" and x.ndim < 3):
            raise UsageError(f"{arg} must be shaped (batch, channels, *grid), got {tuple(x.shape)}")

    def _stats(self, x: torch.Tensor, arg: str) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.fitted:
            raise UsageError("this GaussianNormalizer has no statistics yet: call fit(train_data) first "
                             "(or load a saved state_dict)")
        self._check_shape(x, arg)
        if self.mode == "global":
            return self.mean, self.std
        c = self.mean.shape[0]
        if x.shape[1] != c:
            raise UsageError(f"{arg} has {x.shape[1]} channels; this normaliser was fitted on {c}")
        if self.mode == "point":
            if tuple(x.shape[2:]) != tuple(self.mean.shape[1:]):
                raise UsageError(f"per-point statistics were fitted on the grid {tuple(self.mean.shape[1:])}; "
                                 f"{arg} is on {tuple(x.shape[2:])}. Use mode='channel' to evaluate at other "
                                 "resolutions")
            return self.mean, self.std
        shape = (c,) + (1,) * (x.ndim - 2)
        return self.mean.reshape(shape), self.std.reshape(shape)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        mean, std = self._stats(x, "x")
        return (x - mean) / std

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        mean, std = self._stats(z, "z")
        return z * std + mean

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode(x)

    def scale_shift(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(std, mean) broadcastable against ``like`` (b, c, ...), for a linear map applied after decoding."""
        if self.mode == "point":
            raise UsageError("scale_shift needs grid-independent statistics (mode='channel' or 'global')")
        mean, std = self._stats(like, "like")
        return std, mean

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any) -> None:
        # Statistics have the shape of the data they were fitted on: adopt the saved shape before loading.
        for name in ("mean", "std"):
            saved = state_dict.get(prefix + name)
            if isinstance(saved, torch.Tensor):
                setattr(self, name, torch.empty_like(saved, device=getattr(self, name).device))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self) -> str:
        stats = f", stats {tuple(self.mean.shape)}" if self.fitted else ", not fitted"
        return f"mode={self.mode!r}{stats}"


class NormalizedOperator(nn.Module):
    """``model`` on normalised inputs with its outputs mapped back: u = y_norm.decode(model(x_norm.encode(a))).

    The statistics are buffers of the two normalisers (saved with the weights); x: (b, c, *grid) as for ``model``.
    """

    def __init__(self, model: nn.Module, x_normalizer: GaussianNormalizer, y_normalizer: GaussianNormalizer) -> None:
        super().__init__()
        self.model, self.x_normalizer, self.y_normalizer = model, x_normalizer, y_normalizer

    @classmethod
    def fit(cls, model: nn.Module, x_train: torch.Tensor | Iterable[torch.Tensor],
            y_train: torch.Tensor | Iterable[torch.Tensor], mode: str = "channel") -> NormalizedOperator:
        """Wrap ``model`` with normalisers fitted on the training inputs and targets."""
        return cls(model, GaussianNormalizer(mode).fit(x_train), GaussianNormalizer(mode).fit(y_train))

    def normalize_input(self, x: torch.Tensor) -> torch.Tensor:
        return self.x_normalizer.encode(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.y_normalizer.decode(self.model(self.x_normalizer.encode(x)))
