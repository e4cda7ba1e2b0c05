"""gaunt: the Gaunt tensor product through the 2-D Fourier basis is exact and rotation-equivariant (Luo, Chen &
Krishnapriyan 2024, "Enabling Efficient Equivariant Operations in the Fourier Basis via Gaunt Tensor Products",
ICLR).

The paper replaces the Clebsch-Gordan tensor product of irreps by the Gaunt one, i.e. the product of the two
spherical functions the coefficient vectors describe, and computes it by changing basis from spherical harmonics
to the 2-D Fourier basis ``exp(i (u theta + v phi))``, convolving the coefficients with FFTs and projecting back
(:mod:`basiskit.ops.gaunt`). This recipe checks the two properties that make it a drop-in replacement:

1. *Exactness.* For each L in ``degrees`` (L1 = L2 = L_out = L), the whole Gaunt tensor is recovered from the
   FFT method by multiplying every pair of basis vectors ``(e_a, e_b)`` and compared with the exact real Gaunt
   coefficients from the closed form (Racah's Wigner-3j sum in exact fractions, turned real by the unitary
   change of basis; ``gaunt_coefficients(method="wigner")``, independent of the harmonics code). The dense
   reference used by ``gaunt_product(method="dense")`` (quadrature) is compared with it too, and the largest
   entry on a path with odd ``l1 + l2 + l3`` (which must vanish: no antisymmetric paths) is recorded.
2. *Equivariance, by sampling* (no Wigner-D matrices): for ``rotations`` random rotations R (Haar, QR of a
   Gaussian matrix) and random unit-norm coefficient vectors of f and g, the FFT product of the expansions of
   ``f o R`` and ``g o R`` must equal the expansion of ``(f g) o R`` projected to degree L; every expansion is an
   exact quadrature (``sphere_quadrature(3L)``) of the rotated functions. The product is truncated at L_out = L,
   so this also checks that truncation commutes with rotation. A control shows that the check can fail: the same
   product computed on a quadrature grid of degree L (too coarse for the degree-3L integrand) aliases, and its
   equivariance error is O(0.1).

Claims, and their margins: the FFT tensor's max error <= 1e-6 and the equivariance error <= 1e-6 (the issue's
thresholds; the measured values are about 1e-15, nine orders below, so a change of CPU, BLAS or FFT library
cannot flip them); odd paths <= 1e-10; the control >= 1e-3 (measured ~0.1). The paper gives no number for any of
these (its figures are speed-ups and model accuracies). The cost claim, O(L^3) against O(L^6), is measured by
``basiskit bench gaunt`` (time ratio and fitted exponents up to L = 32), not timed here.

Quick = full degrees 2..10 (the claim's range; about 10 s of CPU, dominated by the closed-form tensor at L = 10),
3 rotations per degree instead of 20 (each rotation costs milliseconds; three already sample the group away from
the identity). The full size adds L = 11..14.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from ..bases.spherical import (
    lonlat_to_xyz,
    real_spherical_harmonics,
    sh_degrees,
    sphere_quadrature,
)
from ..ops.gaunt import gaunt_coefficients, gaunt_product
from ..train import RunContext
from .core import Claim, recipe


@dataclass
class GauntConfig:
    degrees: tuple[int, ...] = field(default=tuple(range(2, 15)), metadata={"min": 1, "max": 24, "min_len": 1})
    rotations: int = field(default=20, metadata={"min": 1, "max": 1000})
    reference: str = field(default="wigner", metadata={"choices": ("wigner", "quadrature")})
    map_degree: int = field(default=4, metadata={"min": 1, "max": 30})
    pair_chunk: int = field(default=8, metadata={"min": 1, "max": 4096})


def random_rotation(gen: torch.Generator) -> torch.Tensor:
    """A Haar-random rotation matrix (3, 3) float64: QR of a Gaussian matrix, signs fixed, det +1."""
    q, r = torch.linalg.qr(torch.randn(3, 3, dtype=torch.float64, generator=gen))
    q = q * torch.sign(torch.diagonal(r))
    if torch.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def fft_gaunt_tensor(L: int, chunk: int) -> torch.Tensor:
    """G[a, b, c] recovered from the FFT product of basis vectors e_a, e_b: ((L+1)^2,) * 3, float64."""
    n = (L + 1) ** 2
    eye = torch.eye(n, dtype=torch.float64)
    rows = [gaunt_product(eye[i:i + chunk, None, :], eye[None], L, method="fft") for i in range(0, n, chunk)]
    return torch.cat(rows, 0)


def _equivariance(L: int, n_rot: int, gen: torch.Generator) -> tuple[float, float, float]:
    """Max over rotations of |product(c(f o R), c(g o R)) - c((f g) o R)| for the FFT product, the same with the
    product rotated after (c(h o R), h = product(f, g)), and the under-resolved grid control."""
    nodes, w = sphere_quadrature(3 * L)
    y = real_spherical_harmonics(nodes, L, normalize=False)
    coarse, wc = sphere_quadrature(L)
    yc = real_spherical_harmonics(coarse, L, normalize=False)
    n = (L + 1) ** 2
    errs = [0.0, 0.0, 0.0]
    for _ in range(n_rot):
        rot = random_rotation(gen)
        x1 = torch.randn(n, dtype=torch.float64, generator=gen)
        x2 = torch.randn(n, dtype=torch.float64, generator=gen)
        x1, x2 = x1 / x1.norm(), x2 / x2.norm()
        y_rot = real_spherical_harmonics(nodes @ rot.T, L, normalize=False)  # Y(R x_q)
        f_rot, g_rot = y_rot @ x1, y_rot @ x2
        c_f, c_g = (w * f_rot) @ y, (w * g_rot) @ y
        target = (w * f_rot * g_rot) @ y
        errs[0] = max(errs[0], float((gaunt_product(c_f, c_g, L) - target).abs().max()))
        h = gaunt_product(x1, x2, L)
        errs[1] = max(errs[1], float(((w * (y_rot @ h)) @ y - gaunt_product(c_f, c_g, L)).abs().max()))
        coarse_product = (wc * (yc @ c_f) * (yc @ c_g)) @ yc
        errs[2] = max(errs[2], float((coarse_product - target).abs().max()))
    return errs[0], errs[1], errs[2]


def _maps(L: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
    """f, g (random, spectrum decaying like 1/(1+l)), their pointwise product and its Gaunt expansions on a
    lon/lat grid (lon, lat) arrays."""
    lon = torch.linspace(-180, 180, 145, dtype=torch.float64)
    lat = torch.linspace(-90, 90, 73, dtype=torch.float64)
    lon_grid, lat_grid = torch.meshgrid(lon, lat, indexing="ij")
    xyz = lonlat_to_xyz(lon_grid, lat_grid)
    ls, _ = sh_degrees(L)
    x1 = torch.randn((L + 1) ** 2, dtype=torch.float64, generator=gen) / (1 + ls)
    x2 = torch.randn((L + 1) ** 2, dtype=torch.float64, generator=gen) / (1 + ls)
    f = real_spherical_harmonics(xyz, L) @ x1
    g = real_spherical_harmonics(xyz, L) @ x2
    full = real_spherical_harmonics(xyz, 2 * L) @ gaunt_product(x1, x2, 2 * L)
    trunc = real_spherical_harmonics(xyz, L) @ gaunt_product(x1, x2, L)
    return {"f": f, "g": g, "f g (pointwise)": f * g, f"Gaunt product, L_out = {2 * L} (exact)": full,
            f"Gaunt product, L_out = {L}": trunc}


@recipe("gaunt", paper="Luo, Chen & Krishnapriyan 2024, Enabling Efficient Equivariant Operations in the Fourier "
        "Basis via Gaunt Tensor Products (ICLR)",
        summary="Gaunt tensor product via 2-D Fourier + FFT: exact against the closed-form Gaunt tensor for "
                "L = 2..10, rotation-equivariant by sampling; no odd (antisymmetric) paths",
        config=GauntConfig, quick={"degrees": tuple(range(2, 11)), "rotations": 3},
        claims=[
            Claim("gaunt_max_abs_error", "<=", 1e-6, note="max |G_fft - G_exact| over all entries and L in "
                  "degrees (L1 = L2 = L_out = L), float64; exact = closed form (Wigner 3j)"),
            Claim("equivariance_max_abs_error", "<=", 1e-6, note="max |prod(c(f o R), c(g o R)) - c((f g) o R)| "
                  "over random rotations and L, unit-norm inputs, by exact quadrature"),
            Claim("odd_path_max_abs", "<=", 1e-10, note="largest |G_fft| on paths with l1 + l2 + l3 odd (parity: "
                  "no antisymmetric paths)"),
            Claim("control_equivariance_error", ">=", 1e-3, note="control: the same check on a product computed "
                  "with a too-coarse quadrature (degree L) fails, so the check can detect a wrong product"),
        ], tour=True)
def run(cfg: GauntConfig, ctx: RunContext) -> dict:
    t0 = time.perf_counter()
    gen = ctx.generator(0)
    fft_err, dense_err, odd_max = [], [], []
    eq_err, eq_out_err, control = [], [], []
    for L in cfg.degrees:
        exact = gaunt_coefficients(L, L, L, method=cfg.reference)
        other = "quadrature" if cfg.reference == "wigner" else "wigner"
        g_fft = fft_gaunt_tensor(L, cfg.pair_chunk)
        ls, _ = sh_degrees(L)
        odd = (ls[:, None, None] + ls[None, :, None] + ls[None, None, :]) % 2 == 1
        fft_err.append(float((g_fft - exact).abs().max()))
        dense_err.append(float((gaunt_coefficients(L, L, L, method=other) - exact).abs().max()))
        odd_max.append(float(g_fft[odd].abs().max()))
        e1, e2, e3 = _equivariance(L, cfg.rotations, gen)
        eq_err.append(e1)
        eq_out_err.append(e2)
        control.append(e3)
        ctx.log(L=L, gaunt_error=fft_err[-1], reference_gap=dense_err[-1], odd_path_max=odd_max[-1],
                equivariance_error=e1, control_error=e3)

    metrics = {"gaunt_max_abs_error": max(fft_err), "reference_gap_max_abs": max(dense_err),
               "odd_path_max_abs": max(odd_max), "equivariance_max_abs_error": max(eq_err),
               "equivariance_rotated_output_max_abs_error": max(eq_out_err),
               "control_equivariance_error": min(control), "max_degree": max(cfg.degrees)}

    maps = _maps(cfg.map_degree, gen)
    full_key = next(k for k in maps if k.endswith("(exact)"))
    metrics["map_product_max_abs_error"] = float((maps[full_key] - maps["f g (pointwise)"]).abs().max())
    metrics["seconds"] = time.perf_counter() - t0

    degrees = list(cfg.degrees)
    floor = 1e-17  # exact zeros drawn at the floor of the log axis

    def curve(vals: list[float]) -> tuple[list[int], list[float]]:
        return degrees, [max(v, floor) for v in vals]

    ctx.plot_curves("errors", {"FFT Gaunt tensor vs closed form": curve(fft_err),
                               "quadrature tensor vs closed form": curve(dense_err),
                               "largest odd-path entry (FFT)": curve(odd_max),
                               "equivariance error (FFT product)": curve(eq_err),
                               "control: product on a degree-L grid": curve(control)},
                    xlabel="degree L (L1 = L2 = L_out)", ylabel="max abs error", logy=True, markers=True)
    ctx.plot_fields("product_maps", maps, extent=(-180, 180, -90, 90), cmap="RdBu_r")
    return metrics
