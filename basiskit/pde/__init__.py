"""Numerical PDE solvers and the spectral / finite-difference tools they share."""
# [operators-pde]
# [physics]
from .allen_cahn import allen_cahn_etdrk4, etdrk4_coefficients  # noqa: E402,F401
from .burgers_exact import burgers_sine_exact  # noqa: E402,F401
