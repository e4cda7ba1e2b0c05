"""Numerical PDE solvers and the spectral / finite-difference tools they share."""
from __future__ import annotations

from .allen_cahn import allen_cahn_etdrk4
from .burgers import burgers_1d, burgers_cole_hopf
from .burgers_exact import burgers_sine_exact
from .darcy import darcy_2d, darcy_matrix, threshold_coefficient
from .grf import grf, grf_covariance
from .heat import heat_2d, heat_2d_samples
from .kuramoto_sivashinsky import ks_linear_symbol, kuramoto_sivashinsky, kuramoto_sivashinsky_step
from .navier_stokes import fno_forcing, navier_stokes_2d, taylor_green_vorticity
from .navier_stokes import les_residual, vorticity_tendency
from .les import eddy_viscosity, smagorinsky_vorticity_term, strain_rate, strain_rate_magnitude
from .spectral import (dealias_mask, etdrk4_coefficients, etdrk4_snapshots, etdrk4_step, rfft_wavenumbers,
                       rfftn_wavenumbers, spectral_derivative)

__all__ = ["allen_cahn_etdrk4", "burgers_1d", "burgers_cole_hopf", "burgers_sine_exact", "darcy_2d", "darcy_matrix",
           "dealias_mask", "eddy_viscosity", "etdrk4_coefficients", "etdrk4_snapshots", "etdrk4_step",
           "fno_forcing", "grf", "grf_covariance", "heat_2d", "heat_2d_samples", "ks_linear_symbol",
           "kuramoto_sivashinsky", "kuramoto_sivashinsky_step", "les_residual", "navier_stokes_2d",
           "rfft_wavenumbers", "rfftn_wavenumbers", "smagorinsky_vorticity_term", "spectral_derivative",
           "strain_rate", "strain_rate_magnitude", "taylor_green_vorticity", "threshold_coefficient",
           "vorticity_tendency"]
