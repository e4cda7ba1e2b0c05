"""The physics bench suite's growth-exponent fit (the suite itself is run by ``basiskit bench physics``)."""
from __future__ import annotations

import pytest

from basiskit.bench.physics import _growth_exponent


@pytest.mark.parametrize("power", [1.0, 1.5, 3.0])
def test_growth_exponent_recovers_power_law(power: float) -> None:
    sizes = [10_000, 40_000, 160_000]
    assert _growth_exponent(sizes, [2e-9 * n ** power for n in sizes]) == pytest.approx(power, rel=1e-12)


def test_physics_suite_is_registered() -> None:
    from basiskit import bench

    assert "physics" in bench.names()
