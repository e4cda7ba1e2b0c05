"""Infinite-width kernels and random-feature models: NTK, NNGP and their scale mixtures, neural-network
kernels (SNNK / universal random features), bandlimited random networks, hierarchical polynomials, criticality.

Each family adds its exports under its own marker (keeps parallel work from colliding).
"""
from __future__ import annotations

# [kernels-b] random features (SNNK/URF, bandlimited), ridge fits, hierarchical polynomials
from . import hierarchical  # noqa: E402,F401
from .hierarchical import (  # noqa: E402,F401
    RandomFeatureRidge,
    ThreeLayerLearner,
    hermite,
    planted_quadratic,
    quadratic_form,
)
from .random_features import (  # noqa: E402,F401
    BandlimitedRandomFeatures,
    neural_network_kernel,
    ridge_fit,
    ridge_select,
    universal_random_features,
)

__all__ = [
    # [kernels-b]
    "BandlimitedRandomFeatures", "RandomFeatureRidge", "ThreeLayerLearner", "hermite", "hierarchical",
    "neural_network_kernel", "planted_quadratic", "quadratic_form", "ridge_fit", "ridge_select",
    "universal_random_features",
]
