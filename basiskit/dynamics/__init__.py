"""Dynamical systems: a registry of chaotic flows with their published facts, trajectories cached on disk,
Lyapunov exponents (Benettin, QR) and forecasters benchmarked against the degree of chaos.

* :mod:`~basiskit.dynamics.systems`: ``create(name, **params)``, ``names()``, each system's ``rhs``,
  ``jacobian``, ``period`` and ``reference_lyapunov``; ``linear_system(A)``.
* :mod:`~basiskit.dynamics.trajectory`: ``trajectory(system, n_points, pts_per_period)``, cached on disk.
* :mod:`~basiskit.dynamics.lyapunov`: ``max_lyapunov`` (Benettin) and ``lyapunov_spectrum`` (QR).
* :mod:`~basiskit.dynamics.forecast`: forecasters behind one ``fit`` / ``predict`` interface and ``benchmark``.

Layering: imports ``models``, ``nn``, ``data``, ``train`` and below; nothing below imports ``dynamics``.
"""
from __future__ import annotations

from . import forecast
from .forecast import Forecaster, benchmark, forecaster_names, make_forecaster, smape, spearman_ci
from .lyapunov import lyapunov_spectrum, max_lyapunov
from .systems import System, create, linear_system, names, system_facts
from .trajectory import trajectory

__all__ = [
    "Forecaster", "System", "benchmark", "create", "forecast", "forecaster_names", "linear_system",
    "lyapunov_spectrum", "make_forecaster", "max_lyapunov", "names", "smape", "spearman_ci", "system_facts",
    "trajectory",
]
