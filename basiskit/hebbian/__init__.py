"""Hebbian and associative networks: multitasking networks with diluted patterns, dense (P-spin) Hebbian
networks trained from examples, and Hebbian orthogonal projection (HLOP) for continual learning.

Layering: imports ``nn``, ``ops``, ``bases``, ``data``, ``train`` and below; nothing below imports ``hebbian``.
"""
from __future__ import annotations

from . import dense, hlop, multitask
from .dense import (DenseHebbian, best_overlap, dataset_entropy, dense_energy, flip_energy, hopfield, local_fields,
                    retrieve, sample_examples)
from .hlop import (ContinualMLP, GPMProjector, HebbianSubspace, ProjectedLinear, captured_energy_ratio,
                   oja_subspace_step, principal_angles, project_out, projected_linear)
from .multitask import MultitaskNetwork, diluted_patterns, hierarchical_amplitudes

__all__ = ["ContinualMLP", "DenseHebbian", "GPMProjector", "HebbianSubspace", "MultitaskNetwork", "ProjectedLinear",
           "best_overlap", "captured_energy_ratio", "dataset_entropy", "dense", "dense_energy", "diluted_patterns",
           "flip_energy", "hierarchical_amplitudes", "hlop", "hopfield", "local_fields", "multitask",
           "oja_subspace_step", "principal_angles", "project_out", "projected_linear", "retrieve", "sample_examples"]
