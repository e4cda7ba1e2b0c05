"""Univariate basis families: each a pure function on tensors plus a small registered ``nn.Module``.

Every basis module maps ``x: (...)`` to ``(..., n_basis)``, has an ``n_basis: int`` attribute, is built by
name with keyword arguments (``create("fourier", n_freq=3)``) and documents its domain and what happens
outside it.

=============  ==========================================  ==========================================
name           module / pure function                      n_basis
=============  ==========================================  ==========================================
bspline        ``BSpline`` / ``bspline_basis``              grid_size + order
chebyshev      ``Chebyshev`` / ``chebyshev_basis``          degree + 1
fourier        ``Fourier`` / ``fourier_basis``              2 n_freq
gaussian       ``Gaussian`` / ``gaussian_basis``            n_centers
relu_power     ``ReLUPower`` / ``relu_power_basis``         grid_size + order
rational       ``Rational`` / ``rational_basis``            m + 1
spherical      ``SphericalHarmonics`` /                     (L + 1)^2  (multivariate: ``xyz: (..., 3)``)
               ``real_spherical_harmonics``
=============  ==========================================  ==========================================

``univariate_names()`` lists the scalar bases (what KAN layers accept); ``spherical`` is the one multivariate
basis (:mod:`basiskit.bases.spherical`: unit vectors in, real harmonics in the order ``l^2 + l + m`` out).
"""
from __future__ import annotations

from ._registry import BASES, create, names, register_basis, univariate_names
from .bspline import BSpline, bspline_basis, bspline_local, check_domain, uniform_knots
from .chebyshev import Chebyshev, chebyshev_basis
from .fourier import Fourier, fourier_basis
from .gaussian import Gaussian, gaussian_basis
from .rational import Rational, polyval, rational, rational_basis
from .relu_power import ReLUPower, relu_power_basis
from .spherical import (SphericalHarmonics, lonlat_to_xyz, n_harmonics, real_spherical_harmonics, sh_degrees,
                        sh_index, sphere_quadrature, xyz_to_lonlat)

__all__ = ["BASES", "BSpline", "Chebyshev", "Fourier", "Gaussian", "ReLUPower", "Rational", "bspline_basis",
           "bspline_local", "chebyshev_basis", "check_domain", "create", "fourier_basis", "gaussian_basis", "names",
           "polyval", "rational", "rational_basis", "register_basis", "relu_power_basis", "uniform_knots",
           "SphericalHarmonics", "lonlat_to_xyz", "n_harmonics", "real_spherical_harmonics", "sh_degrees", "sh_index",
           "sphere_quadrature", "univariate_names", "xyz_to_lonlat"]
