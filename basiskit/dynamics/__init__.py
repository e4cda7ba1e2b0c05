"""Dynamical systems: chaotic-system benchmarks, Koopman/DMD, equation discovery, reduced-order bases."""
from __future__ import annotations

from .discovery import medida

__all__ = ["medida"]
