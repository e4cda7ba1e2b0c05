"""Hebbian and associative networks: multitasking networks with diluted patterns, dense (P-spin) Hebbian
networks trained from examples, and Hebbian orthogonal projection (HLOP) for continual learning.

Layering: imports ``nn``, ``ops``, ``bases``, ``data``, ``train`` and below; nothing below imports ``hebbian``.
"""
from __future__ import annotations

from .hlop import (
                   ContinualMLP,
                   GPMProjector,
                   HebbianSubspace,
                   ProjectedLinear,
                   oja_subspace_step,
                   principal_angles,
                   project_out,
                   projected_linear,
)

__all__ = ["ContinualMLP", "GPMProjector", "HebbianSubspace", "ProjectedLinear", "oja_subspace_step",
           "principal_angles", "project_out", "projected_linear"]
