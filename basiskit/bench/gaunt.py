"""``basiskit bench gaunt``: the Gaunt tensor product's cost, FFT method against the dense Gaunt contraction
(Luo, Chen & Krishnapriyan, ICLR 2024: full tensor products of irreps in O(L^3) instead of O(L^6)).

For L1 = L2 = L_out = L, a batch of ``BATCH`` products in float64 on one thread, forward only: ``gaunt_product``
with ``method="fft"`` (SH -> 2-D Fourier, FFT convolution, Fourier -> SH; sparse O(L^3) tables) for L up to 32,
and ``method="dense"`` (contraction with the dense Gaunt tensor, (L+1)^6 multiply-adds per product) while the
tensor fits in memory (L <= 16 quick, <= 20 full: the float64 tensor is 8 (L+1)^6 bytes, 690 MB at L = 20,
8.6 GB at L = 32). Tables are built before timing (they are cached per degree in the library too). Where both
run they are timed interleaved in one process (median of repeats, CPU time of this process, so a busy machine
counts less); the table has the time ratio fft / dense, and the notes the fitted log-log exponents of both over
L >= 8 (below that, fixed per-call overhead dominates). The targets are the paper's asymptotic statement put as
exponent bands (fft <= 3.5, dense >= 5); timings are reported, not asserted by the test suite.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from ..measure import compare
from ..ops.gaunt import gaunt_coefficients, gaunt_product
from . import register_suite
from .timing import BenchResult

BATCH = 32
DEGREES = (2, 4, 8, 12, 16, 20, 24, 28, 32)
DENSE_MAX = {True: 16, False: 20}
FIT_FROM = 8


def fitted_exponent(degrees: list[int], seconds: list[float]) -> float:
    """Least-squares slope of log(seconds) against log(L)."""
    return float(np.polyfit(np.log(np.asarray(degrees, float)), np.log(np.asarray(seconds, float)), 1)[0])


@register_suite("gaunt", summary="Gaunt tensor product: FFT method vs dense Gaunt contraction, time and "
                                 "fitted exponents to L = 32 (Luo et al. 2024)")
def suite(quick: bool = False, device: str = "cpu") -> BenchResult:
    """Seconds per batch of Gaunt products, fft and dense, for L = 2..32; ratio and fitted exponents."""
    dev = torch.device(device)
    res = BenchResult("gaunt", ["L", "fft ms", "dense ms", "fft / dense", "dense mult-adds / product"])
    repeats, warmup = (3, 1) if quick else (7, 2)
    cuda = dev.type == "cuda"
    clock = time.perf_counter if cuda else time.process_time
    res.notes.append(f"L1 = L2 = L_out = L, batch {BATCH}, float64, forward, median of {repeats} interleaved "
                     f"rounds ({'wall' if cuda else 'process CPU'} time); torch threads = {torch.get_num_threads()},"
                     f" device {device}")
    gen = torch.Generator().manual_seed(0)
    fft_pts: tuple[list[int], list[float]] = ([], [])
    dense_pts: tuple[list[int], list[float]] = ([], [])
    for L in DEGREES:
        n = (L + 1) ** 2
        x1 = torch.randn(BATCH, n, dtype=torch.float64, generator=gen).to(dev)
        x2 = torch.randn(BATCH, n, dtype=torch.float64, generator=gen).to(dev)
        cases = {"fft": lambda a=x1, b=x2, L=L: gaunt_product(a, b, L, method="fft")}
        with_dense = L <= DENSE_MAX[quick]
        if with_dense:
            gaunt_coefficients(L, L, L)  # build (and cache) the tensor outside the timing
            cases["dense"] = lambda a=x1, b=x2, L=L: gaunt_product(a, b, L, method="dense")
        times = compare(cases, "fft", warmup=warmup, repeats=repeats, device=device, clock=clock)
        t_fft = times["fft"]["seconds"]
        t_dense = times["dense"]["seconds"] if with_dense else None
        res.rows.append({"L": L, "fft ms": 1e3 * t_fft, "dense ms": None if t_dense is None else 1e3 * t_dense,
                         "fft / dense": None if t_dense is None else t_fft / t_dense,
                         "dense mult-adds / product": float(n) ** 3})
        if L >= FIT_FROM:
            fft_pts[0].append(L)
            fft_pts[1].append(t_fft)
            if t_dense is not None:
                dense_pts[0].append(L)
                dense_pts[1].append(t_dense)
    fft_exp = fitted_exponent(*fft_pts)
    dense_exp = fitted_exponent(*dense_pts)
    res.notes.append(f"fitted exponent, fft: time ~ L^{fft_exp:.2f} (L = {fft_pts[0][0]}..{fft_pts[0][-1]}); "
                     f"dense: time ~ L^{dense_exp:.2f} (L = {dense_pts[0][0]}..{dense_pts[0][-1]}); paper: "
                     "O(L^3) vs O(L^6)")
    nxt = min(L for L in DEGREES if L > DENSE_MAX[quick])
    res.notes.append(f"dense skipped above L = {DENSE_MAX[quick]}: its float64 Gaunt tensor would take "
                     f"{8 * (nxt + 1) ** 6 / 2**30:.1f} GiB at L = {nxt}")
    slope, icept = np.polyfit(np.log(dense_pts[0]), np.log(dense_pts[1]), 1)
    top = max(DEGREES)
    extrapolated = float(np.exp(icept + slope * np.log(top)))
    t_top = next(r["fft ms"] for r in res.rows if r["L"] == top) / 1e3
    res.notes.append(f"dense at L = {top} extrapolated from its fit: {extrapolated:.3g} s per batch, "
                     f"fft / dense ~ {t_top / extrapolated:.2g} (an extrapolation, not a measurement)")
    res.add_target("fitted exponent of the fft method's time in L", fft_exp, "<=", 3.5)
    res.add_target("fitted exponent of the dense method's time in L", dense_exp, ">=", 5.0)
    last = max(dense_pts[0])
    ratio = next(r["fft / dense"] for r in res.rows if r["L"] == last)
    res.add_target(f"fft / dense time at L = {last}", ratio, "<", 1.0)
    return res
