"""Numerical PDE solvers and the spectral / finite-difference tools they share."""
# [operators-pde]
from .burgers import burgers_1d, burgers_cole_hopf  # noqa: E402,F401
from .darcy import darcy_2d, darcy_matrix, threshold_coefficient  # noqa: E402,F401
from .grf import grf, grf_covariance  # noqa: E402,F401
from .navier_stokes import fno_forcing, navier_stokes_2d, taylor_green_vorticity  # noqa: E402,F401
from .spectral import (dealias_mask, etdrk4_coefficients, etdrk4_step, rfft_wavenumbers,  # noqa: E402,F401
                       rfftn_wavenumbers, spectral_derivative)  # noqa: E402,F401
# [physics]
from .allen_cahn import allen_cahn_etdrk4  # noqa: E402,F401
from .burgers_exact import burgers_sine_exact  # noqa: E402,F401
