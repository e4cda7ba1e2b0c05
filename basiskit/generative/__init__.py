"""Generative models through their bases: Gaussian probability paths (cond-OT, cosine, kinetic-optimal) with
flow matching and ODE samplers, and bias-free denoisers whose Jacobians give geometry-adaptive harmonic bases.

Layering: imports ``nn``, ``ops``, ``bases``, ``data``, ``train`` and below; nothing below imports ``generative``.
"""
from __future__ import annotations

from . import denoiser, flow_matching, paths
from .denoiser import (BiasFreeBatchNorm, BiasFreeCNN, BiasFreeUNet, Eigenbasis, denoiser_psnr, jacobian_eigenbasis,
                       sample, train_denoiser)
from .flow_matching import ODE_METHODS, OdeStats, cfm_loss, mmd2, sample_ode
from .paths import (PATHS, CondOTPath, CosinePath, GaussianPath, KineticOptimalPath, VPPath, data_separation,
                    get_path, kinetic_energy, kinetic_optimal_path, marginal_velocity, posterior_mse)

__all__ = ["ODE_METHODS", "PATHS", "BiasFreeBatchNorm", "BiasFreeCNN", "BiasFreeUNet", "CondOTPath", "CosinePath",
           "Eigenbasis", "GaussianPath", "KineticOptimalPath", "OdeStats", "VPPath", "cfm_loss", "data_separation",
           "denoiser", "denoiser_psnr", "flow_matching", "get_path", "jacobian_eigenbasis", "kinetic_energy",
           "kinetic_optimal_path", "marginal_velocity", "mmd2", "paths", "posterior_mse", "sample", "sample_ode",
           "train_denoiser"]
