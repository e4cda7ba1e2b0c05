"""Infinite-width kernels, random-feature models and deep-learning theory: the NTK, NNGP and its scale mixtures,
neural-network kernels (SNNK / universal random features), bandlimited random networks, ridge fits, the
layer-wise learner for hierarchical polynomials, and criticality.

Layering: imports ``nn`` and below; nothing below imports ``kernels``.
"""
from __future__ import annotations

from . import hierarchical
from .criticality import (
    CRITICAL_POINTS,
    critical_init,
    kernel_recursion,
    preactivation_statistics,
    relu_excess_kurtosis,
    sample_preactivations,
)
from .hierarchical import RandomFeatureRidge, ThreeLayerLearner, hermite, planted_quadratic, quadratic_form
from .nngp import (
    Burr12Prior,
    GaussianProcess,
    InverseGammaPrior,
    NNGPKernel,
    ScaleMixtureProcess,
    StudentTProcess,
    gp_posterior,
    student_t_log_prob,
)
from .ntk import NTKMLP, analytic_nngp_diag, analytic_ntk, empirical_ntk, ntk_predict
from .random_features import (
    BandlimitedRandomFeatures,
    neural_network_kernel,
    ridge_fit,
    ridge_select,
    universal_random_features,
)

__all__ = [
    "CRITICAL_POINTS", "BandlimitedRandomFeatures", "Burr12Prior", "GaussianProcess", "InverseGammaPrior",
    "NNGPKernel", "NTKMLP", "RandomFeatureRidge", "ScaleMixtureProcess", "StudentTProcess", "ThreeLayerLearner",
    "analytic_nngp_diag", "analytic_ntk", "critical_init", "empirical_ntk", "gp_posterior", "hermite",
    "hierarchical", "kernel_recursion", "neural_network_kernel", "ntk_predict",
    "planted_quadratic", "preactivation_statistics", "quadratic_form", "relu_excess_kurtosis", "ridge_fit",
    "ridge_select", "sample_preactivations", "student_t_log_prob", "universal_random_features",
]
