"""Generative models through their bases: Gaussian probability paths (cond-OT, cosine, kinetic-optimal) with
flow matching and ODE samplers, and bias-free denoisers whose Jacobians give geometry-adaptive harmonic bases.

Layering: imports ``nn``, ``ops``, ``bases``, ``data``, ``train`` and below; nothing below imports ``generative``.
"""
from __future__ import annotations

from .denoiser import (
    BiasFreeBatchNorm,
    BiasFreeCNN,
    BiasFreeUNet,
    Eigenbasis,
    denoiser_psnr,
    jacobian_eigenbasis,
    sample,
    train_denoiser,
)

__all__ = ["BiasFreeBatchNorm", "BiasFreeCNN", "BiasFreeUNet", "Eigenbasis", "denoiser_psnr",
           "jacobian_eigenbasis", "sample", "train_denoiser"]
