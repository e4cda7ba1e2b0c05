"""Numerical PDE solvers and the spectral / finite-difference tools they share."""
# [operators-pde]
# [physics]
