"""Neural operators, all mapping (batch, channels, *grid) to (batch, channels, *grid).

``create(name, **kwargs)`` / ``names()``; operators register with ``register_operator``.
"""
from __future__ import annotations

from typing import Any

from ..registry import Registry

OPERATORS: Registry[Any] = Registry("operator", ("basiskit.operators",))
register_operator = OPERATORS.register


def create(name: str, **kwargs: Any) -> Any:
    return OPERATORS.create(name, **kwargs)


def names(pattern: str | None = None) -> list[str]:
    return OPERATORS.names(pattern)


# Each family adds its exports under its own marker.
# [operators-fno]
from .common import (ChannelLinear, ChannelMLP, append_grid, count_parameters, grid_coordinates,  # noqa: E402,F401
                     pad_domain, unpad_domain)
from .fno import FNO  # noqa: E402,F401
from .spectral import SpectralConv, spectral_conv  # noqa: E402,F401
from .tfno import TFNO, FactorizedSpectralConv, factorized_spectral_conv  # noqa: E402,F401
from .multigrid import MGTFNO, multigrid_patch, multigrid_unpatch  # noqa: E402,F401
# [operators-more]
from .interp_conv import InterpConv2d, resample_kernel  # noqa: E402
from .lsm import LSM  # noqa: E402
from .mgno import MgNO, prolong, restrict, v_cycle  # noqa: E402
from .unet import FunctionUNet, UNet  # noqa: E402
from .t1 import T1, dct_forward, dct_inverse, dft_forward, dft_inverse  # noqa: E402
