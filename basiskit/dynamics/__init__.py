"""Dynamical systems: chaotic flows with their published facts, Lyapunov exponents and forecasters benchmarked
against the degree of chaos; Koopman operators (EDMD, ResDMD); equation discovery; reduced-order bases.

* :mod:`~basiskit.dynamics.systems`: ``create(name, **params)``, ``names()``, each system's ``rhs``,
  ``jacobian``, ``period`` and ``reference_lyapunov``; ``linear_system(A)``.
* :mod:`~basiskit.dynamics.trajectory`: ``trajectory(system, n_points, pts_per_period)``, cached on disk.
* :mod:`~basiskit.dynamics.lyapunov`: ``max_lyapunov`` (Benettin) and ``lyapunov_spectrum`` (QR).
* :mod:`~basiskit.dynamics.forecast`: forecasters behind one ``fit`` / ``predict`` interface and ``benchmark``.
* :mod:`~basiskit.dynamics.koopman`: ``EDMD`` with monomial, Legendre and RBF dictionaries; ``ResDMD``
  (residuals, pseudospectra, filtered eigenvalues).
* :mod:`~basiskit.dynamics.discovery`: ``medida`` (model-error discovery: one-step increments, a spectral library,
  sparse regression, denoising and random-Fourier-feature interpolation of sparse observations).
* :mod:`~basiskit.dynamics.rom`: sine dissimilarity, k-medoids, local POD bases and the a-priori basis choice.

Layering: imports ``models``, ``nn``, ``data``, ``pde``, ``train`` and below; nothing below imports ``dynamics``.
"""
from __future__ import annotations

from . import discovery, forecast, koopman, rom
from .discovery import medida
from .forecast import Forecaster, benchmark, forecaster_names, make_forecaster, smape, spearman_ci
from .koopman import (
    EDMD,
    RBF,
    Dictionary,
    Legendre,
    Monomials,
    ResDMD,
    create_dictionary,
    dictionary_names,
)
from .lyapunov import lyapunov_spectrum, max_lyapunov
from .rom import (
    KMedoidsResult,
    assign_nearest,
    kmeans,
    kmedoids,
    local_pod,
    local_projection_error,
    pam,
    pod_basis,
    projection_error,
    select_cluster,
    sine_dissimilarity,
)
from .systems import System, create, linear_system, names, system_facts
from .trajectory import trajectory

__all__ = [
    "EDMD", "RBF", "Dictionary", "Forecaster", "KMedoidsResult", "Legendre", "Monomials", "ResDMD", "System",
    "assign_nearest", "benchmark", "create", "create_dictionary", "dictionary_names", "discovery", "forecast",
    "forecaster_names", "kmeans", "kmedoids", "koopman", "linear_system", "local_pod", "local_projection_error",
    "lyapunov_spectrum", "make_forecaster", "max_lyapunov", "medida", "names", "pam", "pod_basis", "projection_error", "rom",
    "select_cluster", "sine_dissimilarity", "smape", "spearman_ci", "system_facts", "trajectory",
]
