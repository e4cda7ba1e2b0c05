"""Hebbian and associative networks: multitasking networks with diluted patterns, dense (P-spin) Hebbian
networks trained from examples, and Hebbian orthogonal projection (HLOP) for continual learning.

Layering: imports ``nn``, ``ops``, ``bases``, ``data``, ``train`` and below; nothing below imports ``hebbian``.
"""
from __future__ import annotations

from . import hlop, multitask
from .hlop import (ContinualMLP, GPMProjector, HebbianSubspace, ProjectedLinear, oja_subspace_step, principal_angles,
                   project_out, projected_linear)
from .multitask import MultitaskNetwork, diluted_patterns, hierarchical_amplitudes

__all__ = ["ContinualMLP", "GPMProjector", "HebbianSubspace", "MultitaskNetwork", "ProjectedLinear",
           "diluted_patterns", "hierarchical_amplitudes", "hlop", "multitask", "oja_subspace_step",
           "principal_angles", "project_out", "projected_linear"]
