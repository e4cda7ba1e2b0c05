"""``basiskit bench gaunt`` runs and reports its rows, exponents and targets (small degrees, so it is fast)."""
from __future__ import annotations

import basiskit.bench.gaunt as gaunt_bench
from basiskit.bench import SUITES


def test_gaunt_suite_small(monkeypatch) -> None:
    monkeypatch.setattr(gaunt_bench, "DEGREES", (2, 4, 6, 8, 10))
    monkeypatch.setattr(gaunt_bench, "DENSE_MAX", {True: 8, False: 8})
    monkeypatch.setattr(gaunt_bench, "FIT_FROM", 4)
    res = SUITES.get("gaunt")(quick=True, device="cpu")
    assert [r["L"] for r in res.rows] == [2, 4, 6, 8, 10]
    assert all(r["fft ms"] > 0 for r in res.rows)
    assert [r["dense ms"] is None for r in res.rows] == [False, False, False, False, True]
    assert len(res.targets) == 3 and "fitted exponent" in res.to_markdown()


def test_fitted_exponent() -> None:
    assert abs(gaunt_bench.fitted_exponent([2, 4, 8], [3.0 * 8, 3.0 * 64, 3.0 * 512]) - 3.0) < 1e-12
