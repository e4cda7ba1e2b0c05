r"""Gaunt tensor products: the product of two spherical-harmonic expansions, projected back to degree ``L_out``.

Luo, Chen & Krishnapriyan, "Enabling Efficient Equivariant Operations in the Fourier Basis via Gaunt Tensor
Products", ICLR 2024. With the real orthonormal harmonics ``Y_a`` of :mod:`basiskit.bases.spherical` (order
``a = l^2 + l + m``), two functions ``f = sum_a x1_a Y_a`` (degree ``L1``) and ``g = sum_b x2_b Y_b`` (degree
``L2``) have the product

.. math::  (f g)_c = \int_{S^2} f g \, Y_c \, d\Omega = \sum_{a, b} x1_a \, x2_b \, G_{abc},
           \qquad G_{abc} = \int_{S^2} Y_a Y_b Y_c \, d\Omega

(the real Gaunt coefficients). Three ways to compute it, one result (tested against each other):

* ``method="dense"``: the contraction with the dense tensor ``G`` (:func:`gaunt_coefficients`), the reference;
  ``O(L^6)`` work per product (``(L1+1)^2 (L2+1)^2 (L_out+1)^2``).
* ``method="fft"``: the paper's method. Every ``Y_{l,m}`` is a trigonometric polynomial in the polar angle
  ``theta`` and the azimuth ``phi`` (``x = sin(theta) cos(phi)``, ``y = sin(theta) sin(phi)``, ``z = cos(theta)``):

  .. math::  Y_{l,m}(\theta, \phi) = \sum_{u=-l}^{l} \sum_{v=\pm m} y^{l,m}_{u,v} e^{i (u \theta + v \phi)},

  sparse in ``v`` (only ``v = +|m|`` and ``v = -|m|``), so the change of basis costs ``O(L^3)``. The product of
  two Fourier series is the 2-D convolution of their coefficients, done with ``torch.fft`` (``O(L^2 log L)``),
  and the result goes back to harmonics with the exact projection

  .. math::  z^{l,m}_{u,v} = \int_{S^2} e^{i (u \theta + v \phi)} Y_{l,m} \, d\Omega
             = 2 \pi \sum_{u'} y^{l,m}_{u', -v} \, I(u + u'), \qquad
             I(k) = \int_0^\pi e^{i k \theta} \sin\theta \, d\theta
             = \begin{cases} \pm i \pi / 2 & k = \pm 1 \\ (1 + (-1)^k) / (1 - k^2) & \text{else,} \end{cases}

  again nonzero only for ``v = +-m`` (``O(L^3)``). The ``y`` are read off exactly (to rounding) by a 2-D DFT of
  ``Y`` sampled on a ``(2L+1) x (2L+1)`` grid of ``(theta, phi)`` over the whole torus, where each harmonic is a
  trigonometric polynomial of degree ``l`` in both angles. All tables are built once per degree in float64 and
  cached.
* ``method="grid"``: evaluate both functions at the nodes of :func:`~basiskit.bases.spherical.sphere_quadrature`
  (exact for degree ``L1 + L2 + L_out``), multiply, project: ``O(L^4)``.

**Selection rules.** ``G_{abc}`` vanishes unless ``|l1 - l2| <= l3 <= l1 + l2`` and ``l1 + l2 + l3`` is even:
``Y_{l}(-r) = (-1)^l Y_l(r)``, so the integrand of an odd sum is odd under inversion. Unlike the full
Clebsch-Gordan tensor product, the Gaunt product has no antisymmetric paths (e.g. the cross product
``1 x 1 -> 1``); it is symmetric in its two inputs. Both statements are tested.

Shapes: ``x1 (..., (L1+1)^2)``, ``x2 (..., (L2+1)^2)`` (batch dimensions broadcast) -> ``(..., (L_out+1)^2)``;
float32 or float64, differentiable in both inputs (plain torch operations, checked by ``gradcheck``).
"""
from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import Literal

import numpy as np
import torch
from torch import nn

from .._validation import UsageError, check_choice, check_int
from ..bases.spherical import real_spherical_harmonics, sphere_quadrature

Method = Literal["fft", "dense", "grid"]
METHODS = ("fft", "dense", "grid")


# ---- tables (float64 numpy, cached per degree) --------------------------------------------------------

def _frozen(a: np.ndarray) -> np.ndarray:
    """A contiguous read-only copy: cached tables cannot be changed through what a caller gets back."""
    out = np.array(a, copy=True, order="C")
    out.setflags(write=False)
    return out


def _torus_points(n: int) -> np.ndarray:
    """Unit vectors at ``theta_j = phi_j = 2 pi j / n`` (all of [0, 2 pi) in both): (n, n, 3)."""
    ang = 2 * np.pi * np.arange(n) / n
    st, ct = np.sin(ang)[:, None], np.cos(ang)[:, None]
    return np.stack([st * np.cos(ang)[None], st * np.sin(ang)[None], ct * np.ones((1, n))], -1)


@functools.lru_cache(maxsize=64)
def sh_to_fourier(L: int) -> np.ndarray:
    """``y[a, u + L, v + L]``: the 2-D Fourier coefficients of each real harmonic, ``((L+1)^2, 2L+1, 2L+1)``
    complex128, with ``Y_a(theta, phi) = sum_{u,v} y[a, u, v] exp(i (u theta + v phi))`` (exact to rounding)."""
    L = check_int("L", L, min_value=0)
    n = 2 * L + 1
    pts = torch.as_tensor(_torus_points(n), dtype=torch.float64)
    vals = real_spherical_harmonics(pts, L, normalize=False).numpy()  # (n_theta, n_phi, (L+1)^2)
    coef = np.fft.fftshift(np.fft.fft2(vals, axes=(0, 1)), axes=(0, 1)) / (n * n)
    return _frozen(np.moveaxis(coef, -1, 0))


def _sin_weighted_integral(k: np.ndarray) -> np.ndarray:
    """``I(k) = int_0^pi exp(i k theta) sin(theta) dtheta`` for integer arrays ``k``."""
    k = np.asarray(k)
    even = (k % 2 == 0).astype(float)
    denom = np.where(np.abs(k) == 1, 1.0, 1.0 - k.astype(float) ** 2)
    out = (2.0 * even / denom).astype(complex)
    return np.where(k == 1, 0.5j * np.pi, np.where(k == -1, -0.5j * np.pi, out))


@functools.lru_cache(maxsize=64)
def fourier_to_sh(L: int, U: int) -> np.ndarray:
    """``z[c, u + U, v + L] = int exp(i (u theta + v phi)) Y_c dOmega`` for |u| <= U, |v| <= L:
    ``((L+1)^2, 2U+1, 2L+1)`` complex128 (closed form through :func:`sh_to_fourier`)."""
    L, U = check_int("L", L, min_value=0), check_int("U", U, min_value=0)
    y = sh_to_fourier(L)[:, :, ::-1]  # y[c, u' + L, (-v) + L] at position v + L
    u = np.arange(-U, U + 1)[:, None]
    up = np.arange(-L, L + 1)[None, :]
    kernel = _sin_weighted_integral(u + up)  # (2U+1, 2L+1)
    return _frozen(2 * np.pi * np.einsum("cpv,up->cuv", y, kernel))


def _packing(L: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index tables for the (m, l) layout: ``idx[m + L, l]`` = position of ``Y_{l,m}`` (or ``(L+1)^2``, a zero
    pad, where ``l < |m|``); ``vcol[m + L, s]`` = the column ``v + L`` of ``v = +|m|`` (s = 0), ``-|m|`` (s = 1);
    ``valid[m + L, s]``: False for the duplicate ``s = 1`` of ``m = 0``."""
    n = (L + 1) ** 2
    idx = np.full((2 * L + 1, L + 1), n, dtype=np.int64)
    for m in range(-L, L + 1):
        for l in range(abs(m), L + 1):
            idx[m + L, l] = l * l + l + m
    mabs = np.abs(np.arange(-L, L + 1))
    vcol = np.stack([L + mabs, L - mabs], 1)
    valid = np.ones((2 * L + 1, 2), dtype=bool)
    valid[L, 1] = False
    return idx, vcol, valid


@functools.lru_cache(maxsize=64)
def _sparse_tables(L1: int, L2: int, L_out: int) -> dict[str, np.ndarray]:
    """The sparse conversion tables of the fft path (float64 / complex128)."""
    tables: dict[str, np.ndarray] = {}
    for name, L in (("1", L1), ("2", L2)):
        y = sh_to_fourier(L)
        idx, vcol, valid = _packing(L)
        padded = np.concatenate([y, np.zeros((1, 2 * L + 1, 2 * L + 1))], 0)
        u = np.arange(2 * L + 1)
        # to_fourier[m, l, s, u] = y[idx[m, l], u, vcol[m, s]]: (2L+1, L+1, 2, 2L+1)
        b = padded[idx[:, :, None, None], u[None, None, None, :], vcol[:, None, :, None]]
        tables["to_fourier" + name] = np.ascontiguousarray(b * valid[:, None, :, None])
        tables["idx" + name] = idx
        tables["vcol" + name] = vcol
    U = L1 + L2
    Lv = min(L_out, U)
    z = fourier_to_sh(L_out, U)  # (n_out, 2U+1, 2 L_out+1)
    idx, vcol, valid = _packing(L_out)
    padded = np.concatenate([z, np.zeros((1,) + z.shape[1:])], 0)
    u = np.arange(2 * U + 1)
    # to_sh[m, l, u, s] = z[idx[m, l], u, vcol[m, s]]: (2 L_out+1, L_out+1, 2U+1, 2)
    c = padded[idx[:, :, None, None], u[None, None, :, None], vcol[:, None, None, :]]
    c = c * valid[:, None, None, :]
    # only |m| <= Lv can be reached by the product (|v| <= L1 + L2): drop the rest
    keep = np.abs(np.arange(-L_out, L_out + 1)) <= Lv
    tables["to_sh"] = np.ascontiguousarray(c[keep])
    tables["idx_out"] = idx[keep]
    tables["vcol_out"] = vcol[keep] - L_out + Lv  # columns in a v-window of half-width Lv
    return tables


@functools.lru_cache(maxsize=4)
def _gaunt_numpy(L1: int, L2: int, L3: int) -> np.ndarray:
    degree = L1 + L2 + L3
    Lmax = max(L1, L2, L3)
    z, wz = np.polynomial.legendre.leggauss(degree // 2 + 1)
    pts = torch.as_tensor(np.stack([np.sqrt(1 - z**2), np.zeros_like(z), z], -1))
    at_phi0 = real_spherical_harmonics(pts, Lmax, normalize=False).numpy()  # theta factors of m >= 0
    n_phi = degree + 1
    phi = 2 * np.pi * np.arange(n_phi) / n_phi
    ms = np.arange(-Lmax, Lmax + 1)
    az = np.where(ms[:, None] > 0, np.cos(np.abs(ms)[:, None] * phi), np.sin(np.abs(ms)[:, None] * phi))
    az[Lmax] = 1.0
    s = np.einsum("ap,bp,cp->abc", az, az, az) * (2 * np.pi / n_phi)  # exact: all frequencies < n_phi
    s[np.abs(s) < 1e-12] = 0.0

    def theta_part(L: int) -> tuple[np.ndarray, np.ndarray]:
        cols = [l * l + l + abs(m) for l in range(L + 1) for m in range(-l, l + 1)]
        m_of = [m + Lmax for l in range(L + 1) for m in range(-l, l + 1)]
        return at_phi0[:, cols], np.asarray(m_of)

    t1, m1 = theta_part(L1)
    t2, m2 = theta_part(L2)
    t3, m3 = theta_part(L3)
    g = np.einsum("i,ia,ib,ic->abc", wz, t1, t2, t3, optimize=True)
    return g * s[np.ix_(m1, m2, m3)]


def gaunt_coefficients(L1: int, L2: int, L: int, *, method: Literal["quadrature", "wigner"] = "quadrature",
                       dtype: torch.dtype = torch.float64, device: torch.device | str | None = None) -> torch.Tensor:
    r"""The dense real Gaunt tensor ``G[a, b, c] = int Y_a Y_b Y_c dOmega``: ``((L1+1)^2, (L2+1)^2, (L+1)^2)``.

    ``method="quadrature"`` (default): exact quadrature, separated: the azimuthal integral of the three
    ``cos/sin(m phi)`` factors on ``L1+L2+L+1`` equally spaced angles, the polar one by Gauss-Legendre in
    ``z = cos(theta)`` with ``(L1+L2+L)//2 + 1`` nodes (exact, since the surviving integrands are polynomials in z
    of degree <= L1+L2+L). ``O(L^7)`` once, cached per ``(L1, L2, L)`` in float64; memory ``8 (L+1)^6`` bytes.

    ``method="wigner"``: the closed form, independent of the harmonics code: complex Gaunt coefficients
    ``sqrt((2l1+1)(2l2+1)(2l3+1) / 4 pi) (l1 l2 l3; 0 0 0) (l1 l2 l3; m1 m2 m3)`` from :func:`wigner_3j` (Racah's
    sum in exact rational arithmetic), turned real by the unitary change of basis of :func:`real_from_complex`.
    Slow (a Python loop over the nonzero symbols); meant as a reference for L up to ~12.
    """
    L1, L2, L = (check_int(n, v, min_value=0) for n, v in (("L1", L1), ("L2", L2), ("L", L)))
    check_choice("method", method, ("quadrature", "wigner"))
    table = _gaunt_numpy(L1, L2, L) if method == "quadrature" else _gaunt_wigner(L1, L2, L)
    return torch.tensor(table, dtype=dtype, device=device)  # a copy: the cached table stays untouched


@functools.cache
def _factorial(n: int) -> int:
    return math.factorial(n)


def wigner_3j(j1: int, j2: int, j3: int, m1: int, m2: int, m3: int) -> float:
    r"""The Wigner 3j symbol ``(j1 j2 j3; m1 m2 m3)`` for integer arguments, by Racah's formula

    .. math::  (-1)^{j_1 - j_2 - m_3} \sqrt{\Delta \prod_i (j_i + m_i)! (j_i - m_i)!}
               \sum_k rac{(-1)^k}{k! (j_3 - j_2 + k + m_1)! (j_3 - j_1 + k - m_2)! (j_1 + j_2 - j_3 - k)!
               (j_1 - k - m_1)! (j_2 - k + m_2)!}

    with ``Delta = (j1+j2-j3)! (j1-j2+j3)! (-j1+j2+j3)! / (j1+j2+j3+1)!``; the sum is exact (fractions), so the
    only rounding is the final square root and product. Zero outside the selection rules.
    """
    if m1 + m2 + m3 != 0 or any(abs(m) > j for j, m in ((j1, m1), (j2, m2), (j3, m3))):
        return 0.0
    if j3 > j1 + j2 or j3 < abs(j1 - j2):
        return 0.0
    f = _factorial
    lo = max(0, j2 - j3 - m1, j1 - j3 + m2)
    hi = min(j1 + j2 - j3, j1 - m1, j2 + m2)
    total = Fraction(0)
    for k in range(lo, hi + 1):
        den = (f(k) * f(j3 - j2 + k + m1) * f(j3 - j1 + k - m2) * f(j1 + j2 - j3 - k) * f(j1 - k - m1)
               * f(j2 - k + m2))
        total += Fraction((-1) ** k, den)
    under = Fraction(f(j1 + j2 - j3) * f(j1 - j2 + j3) * f(-j1 + j2 + j3), f(j1 + j2 + j3 + 1))
    under *= f(j1 + m1) * f(j1 - m1) * f(j2 + m2) * f(j2 - m2) * f(j3 + m3) * f(j3 - m3)
    sign = -1 if (j1 - j2 - m3) % 2 else 1
    if total == 0:
        return 0.0
    # |sqrt(under) * total| = sqrt(under * total^2): an O(1) fraction of huge integers, rounded once to float
    return sign * (1 if total > 0 else -1) * math.sqrt(float(under * total * total))


def real_from_complex(L: int) -> np.ndarray:
    """``U ((L+1)^2, (L+1)^2)`` complex: our real ``Y_a = sum_k U[a, k] Y_k`` with ``Y_k`` the complex harmonics
    with the Condon-Shortley phase (sympy's ``Ynm``), both in the order ``l^2 + l + m``. From
    ``Y_{l,m} = sqrt(2) N P_l^m cos(m phi)`` (no Condon-Shortley phase) and ``Y_l^{-m} = (-1)^m conj(Y_l^m)``:
    ``Y_{l,m} = ((-1)^m Y_l^m + Y_l^{-m}) / sqrt(2)``, ``Y_{l,-m} = ((-1)^m Y_l^m - Y_l^{-m}) / (i sqrt(2))``."""
    L = check_int("L", L, min_value=0)
    n = (L + 1) ** 2
    u = np.zeros((n, n), dtype=complex)
    r = 1 / math.sqrt(2)
    for l in range(L + 1):
        u[l * l + l, l * l + l] = 1
        for m in range(1, l + 1):
            plus, minus = l * l + l + m, l * l + l - m
            u[plus, plus], u[plus, minus] = (-1) ** m * r, r
            u[minus, plus], u[minus, minus] = (-1) ** m * r / 1j, -r / 1j
    return u


@functools.lru_cache(maxsize=8)
def _gaunt_wigner(L1: int, L2: int, L3: int) -> np.ndarray:
    n1, n2, n3 = (L1 + 1) ** 2, (L2 + 1) ** 2, (L3 + 1) ** 2
    g = np.zeros((n1, n2, n3))
    for l1 in range(L1 + 1):
        for l2 in range(L2 + 1):
            for l3 in range(abs(l1 - l2), min(l1 + l2, L3) + 1):
                if (l1 + l2 + l3) % 2:
                    continue  # (l1 l2 l3; 0 0 0) = 0
                pre = math.sqrt((2 * l1 + 1) * (2 * l2 + 1) * (2 * l3 + 1) / (4 * math.pi))
                pre *= wigner_3j(l1, l2, l3, 0, 0, 0)
                for m1 in range(-l1, l1 + 1):
                    for m2 in range(-l2, l2 + 1):
                        m3 = -m1 - m2
                        if abs(m3) <= l3:
                            g[l1 * l1 + l1 + m1, l2 * l2 + l2 + m2, l3 * l3 + l3 + m3] = (
                                pre * wigner_3j(l1, l2, l3, m1, m2, m3))
    u1, u2, u3 = (real_from_complex(L) for L in (L1, L2, L3))
    real = np.einsum("ai,ijk->ajk", u1, g)
    real = np.einsum("bj,ajk->abk", u2, real)
    real = np.einsum("ck,abk->abc", u3, real)
    return np.ascontiguousarray(real.real)


# ---- the product --------------------------------------------------------------------------------------

def degree_of(arg: str, x: torch.Tensor) -> int:
    """The degree ``L`` of coefficient vectors ``x (..., (L+1)^2)``; ``UsageError`` naming ``arg`` otherwise."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{arg} must be a torch.Tensor of shape (..., (L+1)^2), got {type(x).__name__}")
    if x.ndim == 0:
        raise UsageError(f"{arg} must have shape (..., (L+1)^2) (spherical-harmonic coefficients), got a scalar")
    n = x.shape[-1]
    root = math.isqrt(n)
    if n == 0 or root * root != n:
        lower = (max(root, 1)) ** 2
        raise UsageError(f"{arg} has last dim {n}, which is not (L+1)^2 for any degree L >= 0 (nearest: "
                         f"{lower} or {(root + 1) ** 2}); spherical-harmonic coefficients come in 1, 4, 9, 16, ...")
    if not x.is_floating_point():
        raise TypeError(f"{arg} must be a floating-point tensor (float32 or float64), got dtype {x.dtype}")
    return root - 1


_TORCH_CACHE: dict[tuple, dict[str, torch.Tensor]] = {}  # tables per (degrees, dtype, device), bounded below


def _torch_tables(L1: int, L2: int, L_out: int, dtype: torch.dtype, device: torch.device) -> dict[str, torch.Tensor]:
    key = (L1, L2, L_out, dtype, device)
    if key not in _TORCH_CACHE:
        cdtype = torch.complex128 if dtype == torch.float64 else torch.complex64
        out: dict[str, torch.Tensor] = {}
        for name, arr in _sparse_tables(L1, L2, L_out).items():
            t = torch.tensor(arr)
            out[name] = t.to(device=device, dtype=cdtype) if t.is_complex() else t.to(device)
        if len(_TORCH_CACHE) > 64:
            _TORCH_CACHE.clear()
        _TORCH_CACHE[key] = out
    return _TORCH_CACHE[key]


def _to_fourier(x: torch.Tensor, L: int, b: torch.Tensor, idx: torch.Tensor, vcol: torch.Tensor) -> torch.Tensor:
    """(..., (L+1)^2) real -> (..., 2L+1 [u], 2L+1 [v]) complex Fourier coefficients, O(L^3)."""
    padded = torch.cat([x, x.new_zeros(*x.shape[:-1], 1)], -1)
    packed = padded[..., idx].to(b.dtype)  # (..., m, l)
    part = torch.einsum("...ml,mlsu->...msu", packed, b)  # (..., m, s, u)
    flat = part.reshape(*part.shape[:-3], -1, part.shape[-1]).transpose(-1, -2)  # (..., u, m*s)
    out = part.new_zeros(*part.shape[:-3], 2 * L + 1, 2 * L + 1)
    return out.index_add(-1, vcol.reshape(-1), flat)


def _fast_size(n: int) -> int:
    """The smallest 5-smooth integer >= n (FFT lengths with only factors 2, 3, 5 are the fast ones)."""
    while True:
        k = n
        for p in (2, 3, 5):
            while k % p == 0:
                k //= p
        if k == 1:
            return n
        n += 1


def _fourier_product(f1: torch.Tensor, f2: torch.Tensor, L1: int, L2: int, Lv: int) -> torch.Tensor:
    """Linear 2-D convolution of coefficient arrays (..., 2L1+1, 2L1+1) and (..., 2L2+1, 2L2+1) via FFT; returns
    the |u| <= L1 + L2, |v| <= Lv window: (..., 2(L1+L2)+1, 2 Lv + 1)."""
    U = L1 + L2
    # circular convolution of length >= the linear one in u, and long enough in v that no wrap-around reaches
    # |v| <= Lv; rounded up to fast FFT lengths
    pu, pv = _fast_size(2 * U + 1), _fast_size(U + Lv + 1)

    def spectrum(f: torch.Tensor, L: int) -> torch.Tensor:
        padded = torch.nn.functional.pad(f, (0, pv - (2 * L + 1), 0, pu - (2 * L + 1)))
        return torch.fft.fft2(torch.roll(padded, (-L, -L), (-2, -1)))

    prod = torch.fft.ifft2(spectrum(f1, L1) * spectrum(f2, L2))
    prod = torch.roll(prod, (U, Lv), (-2, -1))
    return prod[..., : 2 * U + 1, : 2 * Lv + 1]


def _to_sh(p: torch.Tensor, L_out: int, c: torch.Tensor, idx: torch.Tensor, vcol: torch.Tensor) -> torch.Tensor:
    """(..., 2U+1 [u], 2Lv+1 [v]) complex -> (..., (L_out+1)^2) real, O(L^3)."""
    gathered = p[..., vcol]  # (..., u, m, s)
    packed = torch.einsum("...ums,mlus->...ml", gathered, c).real  # (..., m, l)
    n_out = (L_out + 1) ** 2
    flat = packed.reshape(*packed.shape[:-2], -1)
    out = flat.new_zeros(*flat.shape[:-1], n_out + 1)
    out = out.index_add(-1, idx.reshape(-1), flat)
    return out[..., :n_out]


def _product_fft(x1: torch.Tensor, x2: torch.Tensor, L1: int, L2: int, L_out: int) -> torch.Tensor:
    t = _torch_tables(L1, L2, L_out, x1.dtype, x1.device)
    f1 = _to_fourier(x1, L1, t["to_fourier1"], t["idx1"], t["vcol1"])
    f2 = _to_fourier(x2, L2, t["to_fourier2"], t["idx2"], t["vcol2"])
    p = _fourier_product(f1, f2, L1, L2, min(L_out, L1 + L2))
    return _to_sh(p, L_out, t["to_sh"], t["idx_out"], t["vcol_out"])


def _product_dense(x1: torch.Tensor, x2: torch.Tensor, L1: int, L2: int, L_out: int) -> torch.Tensor:
    key = ("dense", L1, L2, L_out, x1.dtype, x1.device)
    if key not in _TORCH_CACHE:
        _TORCH_CACHE.pop(next((k for k in _TORCH_CACHE if k[0] == "dense"), None), None)  # keep one dense tensor
        _TORCH_CACHE[key] = {"g": gaunt_coefficients(L1, L2, L_out, dtype=x1.dtype, device=x1.device)}
    g = _TORCH_CACHE[key]["g"]
    n1, n2, n3 = g.shape
    t = (x1 @ g.reshape(n1, n2 * n3)).reshape(*x1.shape[:-1], n2, n3)
    return (x2.unsqueeze(-2) @ t).squeeze(-2)


@functools.lru_cache(maxsize=16)
def _grid_tables(L1: int, L2: int, L_out: int) -> tuple[torch.Tensor, ...]:
    nodes, w = sphere_quadrature(L1 + L2 + L_out)
    Lmax = max(L1, L2, L_out)
    y = real_spherical_harmonics(nodes, Lmax, normalize=False)
    return y[:, : (L1 + 1) ** 2], y[:, : (L2 + 1) ** 2], (y[:, : (L_out + 1) ** 2] * w[:, None])


def _product_grid(x1: torch.Tensor, x2: torch.Tensor, L1: int, L2: int, L_out: int) -> torch.Tensor:
    y1, y2, y3w = (t.to(device=x1.device, dtype=x1.dtype) for t in _grid_tables(L1, L2, L_out))
    return ((x1 @ y1.T) * (x2 @ y2.T)) @ y3w


def gaunt_product(x1: torch.Tensor, x2: torch.Tensor, L_out: int, method: Method = "fft") -> torch.Tensor:
    r"""Coefficients of the product of two spherical-harmonic expansions, projected onto degree <= ``L_out``.

    ``x1 (..., (L1+1)^2)`` and ``x2 (..., (L2+1)^2)`` (real harmonics, order ``l^2 + l + m``; batch dimensions
    broadcast) -> ``(..., (L_out+1)^2)`` with ``out_c = sum_{a,b} x1_a x2_b G_{abc}`` (module docstring).
    ``method``: ``"fft"`` (the paper's change of basis to 2-D Fourier + FFT convolution, ``O(L^3)``),
    ``"dense"`` (contraction with :func:`gaunt_coefficients`, ``O(L^6)``, the reference) or ``"grid"``
    (quadrature on the sphere, ``O(L^4)``). All three are exact up to rounding; the product is exact (no
    truncation) when ``L_out >= L1 + L2``. Output paths with ``l1 + l2 + l3`` odd are zero (parity).
    """
    L1, L2 = degree_of("x1", x1), degree_of("x2", x2)
    L_out = check_int("L_out", L_out, min_value=0)
    check_choice("method", method, METHODS)
    dtype = torch.promote_types(x1.dtype, x2.dtype)
    if dtype not in (torch.float32, torch.float64):
        dtype = torch.float32
    if x1.device != x2.device:
        raise UsageError(f"x1 and x2 must be on one device, got {x1.device} and {x2.device}")
    try:
        batch = torch.broadcast_shapes(x1.shape[:-1], x2.shape[:-1])
    except RuntimeError:
        raise UsageError(f"the batch dimensions of x1 {tuple(x1.shape)} and x2 {tuple(x2.shape)} do not broadcast "
                         "(all but the last dimension must)") from None
    x1 = x1.to(dtype).expand(*batch, x1.shape[-1])
    x2 = x2.to(dtype).expand(*batch, x2.shape[-1])
    fn = {"fft": _product_fft, "dense": _product_dense, "grid": _product_grid}[method]
    return fn(x1, x2, L1, L2, L_out)


class GauntTensorProduct(nn.Module):
    r"""Gaunt tensor product with learnable per-degree weights (the paper's parameterisation, Sec. 3.3):

    .. math::  \mathrm{out} = \Big(\sum_l w^{(1)}_l x_1^{(l)}\Big) \otimes_G \Big(\sum_l w^{(2)}_l x_2^{(l)}\Big)

    with ``x^{(l)}`` the degree-l block of a coefficient vector and ``⊗_G`` :func:`gaunt_product`; every output
    degree is then rescaled by ``w^{(out)}_l``. Weights start at 1 (the plain product). Input
    ``x1 (..., (L1+1)^2)``, ``x2 (..., (L2+1)^2)`` -> ``(..., (L_out+1)^2)``; rotation-equivariant for any
    weights, since each degree block transforms on its own.
    """

    def __init__(self, L1: int, L2: int, L_out: int, *, method: Method = "fft", device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.L1, self.L2 = check_int("L1", L1, min_value=0), check_int("L2", L2, min_value=0)
        self.L_out = check_int("L_out", L_out, min_value=0)
        self.method = check_choice("method", method, METHODS)
        kw = {"device": device, "dtype": dtype}
        self.weight1 = nn.Parameter(torch.ones(self.L1 + 1, **kw))
        self.weight2 = nn.Parameter(torch.ones(self.L2 + 1, **kw))
        self.weight_out = nn.Parameter(torch.ones(self.L_out + 1, **kw))
        for name, L in (("degrees1", self.L1), ("degrees2", self.L2), ("degrees_out", self.L_out)):
            degrees = torch.cat([torch.full((2 * l + 1,), l) for l in range(L + 1)])
            self.register_buffer(name, degrees, persistent=False)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        for arg, x, L in (("x1", x1, self.L1), ("x2", x2, self.L2)):
            if degree_of(arg, x) != L:
                raise UsageError(f"{arg} must have last dim (L+1)^2 = {(L + 1) ** 2} for degree {L}, "
                                 f"got shape {tuple(x.shape)}")
        out = gaunt_product(x1 * self.weight1[self.degrees1], x2 * self.weight2[self.degrees2], self.L_out,
                            self.method)
        return out * self.weight_out[self.degrees_out]

    def extra_repr(self) -> str:
        return f"L1={self.L1}, L2={self.L2}, L_out={self.L_out}, method={self.method!r}"


__all__ = [
    "METHODS",
    "GauntTensorProduct",
    "degree_of",
    "fourier_to_sh",
    "gaunt_coefficients",
    "gaunt_product",
    "real_from_complex",
    "sh_to_fourier",
    "wigner_3j",
]
