"""Hebbian and associative networks: multitasking networks with diluted patterns, dense (P-spin) Hebbian
networks trained from examples, and Hebbian orthogonal projection (HLOP) for continual learning.

Layering: imports ``nn``, ``ops``, ``bases``, ``data``, ``train`` and below; nothing below imports ``hebbian``.
"""
from __future__ import annotations

from .dense import (
    DenseHebbian,
    best_overlap,
    dataset_entropy,
    dense_energy,
    flip_energy,
    hopfield,
    local_fields,
    retrieve,
    sample_examples,
)

__all__ = [
    "DenseHebbian",
    "best_overlap",
    "dataset_entropy",
    "dense_energy",
    "flip_energy",
    "hopfield",
    "local_fields",
    "retrieve",
    "sample_examples",
]
