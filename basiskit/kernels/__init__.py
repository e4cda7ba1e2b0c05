"""Infinite-width kernels and random-feature models: neural-network kernels (SNNK / universal random features),
bandlimited random networks, ridge fits, and the layer-wise learner for hierarchical polynomials.

Layering: imports ``nn`` and below; nothing below imports ``kernels``.
"""
from __future__ import annotations

from . import hierarchical
from .hierarchical import RandomFeatureRidge, ThreeLayerLearner, hermite, planted_quadratic, quadratic_form
from .random_features import (
    BandlimitedRandomFeatures,
    neural_network_kernel,
    ridge_fit,
    ridge_select,
    universal_random_features,
)

__all__ = [
    "BandlimitedRandomFeatures", "RandomFeatureRidge", "ThreeLayerLearner", "hermite", "hierarchical",
    "neural_network_kernel", "planted_quadratic", "quadratic_form", "ridge_fit", "ridge_select",
    "universal_random_features",
]
