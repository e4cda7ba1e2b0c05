"""Neural operators, all mapping (batch, channels, *grid) to (batch, channels, *grid), except ``DeepONet``,
which is evaluated at any query points: ``forward(branch, trunk)``.

``create(name, **kwargs)`` / ``names()``; operators register with ``register_operator``.
"""
from __future__ import annotations

from ._registry import OPERATORS, create, names, register_operator
from .common import (ChannelLinear, ChannelMLP, append_grid, append_sinusoidal, count_parameters, grid_coordinates,
                     pad_domain, sinusoidal_features, unpad_domain)
from .deeponet import DeepONet, DeepONetOnGrid
from .fem import FESpace, MassSolve
from .fno import FNO
from .interp_conv import InterpConv2d, resample_kernel
from .lsm import LSM
from .mgno import MgNO, prolong, restrict, v_cycle
from .multigrid import MGTFNO, multigrid_patch, multigrid_unpatch
from .refine import (RefineResult, VorticityProblem, hminus1_norm_sq, hminus1_weight, spectral_refine,
                     trajectory_residual_norm, vorticity_residual)
from .spectral import SpectralConv, spectral_conv
from .spherical_fno import SphericalConv, SphericalFNO, spherical_conv
from .spon import SPON, BoundSPON, KernelIntegralLayer, impose_dirichlet, kernel_integral, mass_apply
from .stfno import SpatioTemporalFNO
from .t1 import T1, dct_forward, dct_inverse, dft_forward, dft_inverse
from .tfno import TFNO, FactorizedSpectralConv, factorized_spectral_conv
from .unet import FunctionUNet, QuadratureNorm, UNet, quadrature_norm
from .uno import UNO, UNOLayer, resample

__all__ = ["BoundSPON", "ChannelLinear", "ChannelMLP", "DeepONet", "DeepONetOnGrid", "FESpace", "FNO",
           "FactorizedSpectralConv", "FunctionUNet", "InterpConv2d", "KernelIntegralLayer", "LSM", "MGTFNO",
           "MassSolve", "MgNO", "OPERATORS", "QuadratureNorm", "RefineResult", "SPON", "SpatioTemporalFNO",
           "SpectralConv", "SphericalConv", "SphericalFNO", "T1", "TFNO", "UNO", "UNOLayer", "UNet",
           "VorticityProblem", "append_grid", "append_sinusoidal", "count_parameters", "create", "dct_forward",
           "dct_inverse", "dft_forward", "dft_inverse", "factorized_spectral_conv", "grid_coordinates",
           "hminus1_norm_sq", "hminus1_weight", "impose_dirichlet", "kernel_integral", "mass_apply",
           "multigrid_patch", "multigrid_unpatch", "names", "pad_domain", "prolong", "quadrature_norm",
           "register_operator", "resample", "resample_kernel", "restrict", "sinusoidal_features", "spectral_conv",
           "spectral_refine", "spherical_conv", "trajectory_residual_norm", "unpad_domain", "v_cycle",
           "vorticity_residual"]
