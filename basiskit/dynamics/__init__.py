"""Dynamical systems: chaotic-system benchmarks, Koopman operators (EDMD, ResDMD), equation discovery and
reduced-order bases.

Layering: imports ``models``, ``nn``, ``pde`` and below; nothing below imports ``dynamics``.
"""
from __future__ import annotations

from . import koopman, rom
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

__all__ = [
    "EDMD", "RBF", "Dictionary", "KMedoidsResult", "Legendre", "Monomials", "ResDMD", "assign_nearest",
    "create_dictionary", "dictionary_names", "kmeans", "kmedoids", "koopman", "local_pod", "local_projection_error",
    "pam", "pod_basis", "projection_error", "rom", "select_cluster", "sine_dissimilarity",
]
