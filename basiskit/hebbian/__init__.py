"""Hebbian and associative networks: multitasking networks with diluted patterns, dense (P-spin) Hebbian
networks trained from examples, and Hebbian orthogonal projection (HLOP) for continual learning.

Layering: imports ``nn``, ``ops``, ``bases``, ``data``, ``train`` and below; nothing below imports ``hebbian``.
"""
from __future__ import annotations

from . import multitask
from .multitask import MultitaskNetwork, diluted_patterns, hierarchical_amplitudes

__all__ = ["MultitaskNetwork", "diluted_patterns", "hierarchical_amplitudes", "multitask"]
