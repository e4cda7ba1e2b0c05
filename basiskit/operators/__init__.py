"""Neural operators, all mapping (batch, channels, *grid) to (batch, channels, *grid).

``create(name, **kwargs)`` / ``names()``; operators register with ``register_operator``.
"""
from __future__ import annotations

from ._registry import OPERATORS, create, names, register_operator
from .common import (ChannelLinear, ChannelMLP, append_grid, append_sinusoidal, count_parameters, grid_coordinates,
                     pad_domain, sinusoidal_features, unpad_domain)
from .fno import FNO
from .interp_conv import InterpConv2d, resample_kernel
from .lsm import LSM
from .mgno import MgNO, prolong, restrict, v_cycle
from .multigrid import MGTFNO, multigrid_patch, multigrid_unpatch
from .spectral import SpectralConv, spectral_conv
from .t1 import T1, dct_forward, dct_inverse, dft_forward, dft_inverse
from .tfno import TFNO, FactorizedSpectralConv, factorized_spectral_conv
from .unet import FunctionUNet, QuadratureNorm, UNet, quadrature_norm

__all__ = ["FNO", "LSM", "MGTFNO", "OPERATORS", "T1", "TFNO", "ChannelLinear", "ChannelMLP", "FactorizedSpectralConv",
           "FunctionUNet", "InterpConv2d", "MgNO", "SpectralConv", "UNet", "append_grid", "count_parameters", "create",
           "dct_forward", "dct_inverse", "dft_forward", "dft_inverse", "factorized_spectral_conv", "grid_coordinates",
           "multigrid_patch", "multigrid_unpatch", "names", "pad_domain", "append_sinusoidal", "prolong", "QuadratureNorm",
           "quadrature_norm", "register_operator",
           "resample_kernel", "restrict", "sinusoidal_features", "spectral_conv", "unpad_domain", "v_cycle"]
