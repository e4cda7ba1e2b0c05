"""Parameter counting: ``count_parameters`` lives in ``basiskit.measure``; this name keeps working."""
from __future__ import annotations

from ..measure import count_parameters

__all__ = ["count_parameters"]
