"""Gaunt tensor products (basiskit.ops.gaunt): the Gaunt tensor against sympy, the three product methods against
each other and against the pointwise product on the sphere, parity, gradients and bad inputs."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basiskit import UsageError
from basiskit.bases.spherical import (
    real_spherical_harmonics,
    sh_degrees,
    sphere_quadrature,
)
from basiskit.ops.gaunt import (
    GauntTensorProduct,
    fourier_to_sh,
    gaunt_coefficients,
    gaunt_product,
    real_from_complex,
    sh_to_fourier,
    wigner_3j,
)


def _lm(L: int) -> list[tuple[int, int]]:
    return [(l, m) for l in range(L + 1) for m in range(-l, l + 1)]


def _real_from_complex(L: int) -> torch.Tensor:
    """U[a, k]: our real Y_a = sum_k U[a, k] Y_k (complex, Condon-Shortley phase, the convention of sympy's Ynm
    and gaunt). Derived from Y_{l,m} = sqrt(2) N P_l^m cos(m phi) without the Condon-Shortley phase."""
    lm = _lm(L)
    pos = {key: i for i, key in enumerate(lm)}
    u = torch.zeros(len(lm), len(lm), dtype=torch.complex128)
    r = 1 / math.sqrt(2)
    for (l, m), a in pos.items():
        mu = abs(m)
        if m == 0:
            u[a, pos[(l, 0)]] = 1
        elif m > 0:
            u[a, pos[(l, mu)]] = (-1) ** mu * r
            u[a, pos[(l, -mu)]] = r
        else:
            u[a, pos[(l, mu)]] = (-1) ** mu * r / 1j
            u[a, pos[(l, -mu)]] = -r / 1j
    return u


def test_gaunt_tensor_matches_sympy_complex_gaunt() -> None:
    wigner = pytest.importorskip("sympy.physics.wigner")
    L1, L2, L3 = 2, 2, 3
    lm = _lm(max(L1, L2, L3))
    n = [(L + 1) ** 2 for L in (L1, L2, L3)]
    g_c = torch.zeros(*n, dtype=torch.complex128)
    for i in range(n[0]):
        for j in range(n[1]):
            for k in range(n[2]):
                (l1, m1), (l2, m2), (l3, m3) = lm[i], lm[j], lm[k]
                if m1 + m2 + m3 == 0:
                    g_c[i, j, k] = float(wigner.gaunt(l1, l2, l3, m1, m2, m3))
    u = _real_from_complex(max(L1, L2, L3))
    expected = torch.einsum("ai,bj,ck,ijk->abc", u[: n[0], : n[0]], u[: n[1], : n[1]], u[: n[2], : n[2]], g_c)
    assert expected.imag.abs().max() < 1e-12
    ours = gaunt_coefficients(L1, L2, L3)
    assert torch.allclose(ours, expected.real, atol=1e-13)
    assert ours.abs().max() > 0.1


def test_gaunt_tensor_matches_sympy_real_gaunt_up_to_its_sign_convention() -> None:
    """sympy's real harmonics Z_l^mu carry (-1)^mu relative to ours (its U keeps the Condon-Shortley phase)."""
    wigner = pytest.importorskip("sympy.physics.wigner")
    if not hasattr(wigner, "real_gaunt"):
        pytest.skip("sympy without real_gaunt")
    lm = _lm(2)
    g = gaunt_coefficients(2, 2, 2)
    for i in range(len(lm)):
        for j in range(len(lm)):
            for k in range(len(lm)):
                (l1, m1), (l2, m2), (l3, m3) = lm[i], lm[j], lm[k]
                ref = float(wigner.real_gaunt(l1, l2, l3, m1, m2, m3)) * (-1) ** (m1 + m2 + m3)
                assert abs(float(g[i, j, k]) - ref) < 1e-13, (lm[i], lm[j], lm[k])


def test_wigner_3j_matches_sympy() -> None:
    wigner = pytest.importorskip("sympy.physics.wigner")
    for j1, j2, j3, m1, m2 in [(1, 1, 0, 1, -1), (2, 3, 4, -2, 1), (5, 5, 6, 3, -4), (3, 4, 7, 2, -2),
                               (6, 2, 4, 0, 0), (4, 4, 3, 1, 1), (2, 2, 5, 0, 0), (25, 20, 30, -7, 11)]:
        m3 = -m1 - m2
        expected = float(wigner.wigner_3j(j1, j2, j3, m1, m2, m3))
        assert abs(wigner_3j(j1, j2, j3, m1, m2, m3) - expected) < 1e-15, (j1, j2, j3, m1, m2)
    assert wigner_3j(1, 1, 1, 1, 0, 0) == 0.0  # m1 + m2 + m3 != 0


def test_gaunt_quadrature_equals_closed_form_and_real_from_complex_is_unitary() -> None:
    assert torch.allclose(gaunt_coefficients(5, 4, 6), gaunt_coefficients(5, 4, 6, method="wigner"), atol=1e-14)
    u = torch.as_tensor(real_from_complex(3))
    assert torch.allclose(u @ u.conj().T, torch.eye(16, dtype=u.dtype), atol=1e-15)
    assert torch.allclose(u, _real_from_complex(3), atol=1e-15)


def test_gaunt_tensor_selection_rules_and_symmetry() -> None:
    g = gaunt_coefficients(4, 3, 5)
    l1, _ = sh_degrees(4)
    l2, _ = sh_degrees(3)
    l3, _ = sh_degrees(5)
    s = l1[:, None, None] + l2[None, :, None] + l3[None, None, :]
    odd = s % 2 == 1
    outside = (l3[None, None, :] > l1[:, None, None] + l2[None, :, None]) | (
        l3[None, None, :] < (l1[:, None, None] - l2[None, :, None]).abs())
    assert g[odd].abs().max() < 1e-14
    assert g[outside].abs().max() < 1e-14
    assert g[~odd & ~outside].abs().max() > 0.1
    g33 = gaunt_coefficients(3, 3, 3)
    assert torch.allclose(g33, g33.transpose(0, 1), atol=1e-15)
    assert torch.allclose(g33, g33.permute(2, 1, 0), atol=1e-15)
    # Y_00 = 1/sqrt(4 pi): G[0, b, c] = delta_bc / sqrt(4 pi)
    assert torch.allclose(g33[0], torch.eye(16, dtype=torch.float64) / math.sqrt(4 * math.pi), atol=1e-15)


@pytest.mark.parametrize("L1,L2,L_out", [(1, 1, 2), (3, 2, 5), (4, 4, 3), (2, 5, 9), (6, 6, 12), (0, 3, 3),
                                         (5, 0, 2), (3, 3, 0)])
def test_fft_and_grid_equal_dense(L1: int, L2: int, L_out: int) -> None:
    gen = torch.Generator().manual_seed(L1 * 100 + L2 * 10 + L_out)
    x1 = torch.randn(4, (L1 + 1) ** 2, dtype=torch.float64, generator=gen)
    x2 = torch.randn(4, (L2 + 1) ** 2, dtype=torch.float64, generator=gen)
    dense = gaunt_product(x1, x2, L_out, method="dense")
    assert dense.shape == (4, (L_out + 1) ** 2)
    for method in ("fft", "grid"):
        assert torch.allclose(gaunt_product(x1, x2, L_out, method=method), dense, atol=1e-10, rtol=0), method


@settings(max_examples=15, deadline=None)
@given(L1=st.integers(0, 5), L2=st.integers(0, 5), L_out=st.integers(0, 11), seed=st.integers(0, 2**16))
def test_fft_equals_dense_for_random_degrees(L1: int, L2: int, L_out: int, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    x1 = torch.randn(2, (L1 + 1) ** 2, dtype=torch.float64, generator=gen)
    x2 = torch.randn(2, (L2 + 1) ** 2, dtype=torch.float64, generator=gen)
    assert torch.allclose(gaunt_product(x1, x2, L_out), gaunt_product(x1, x2, L_out, method="dense"),
                          atol=1e-10, rtol=0)


def test_product_of_expansions_is_expansion_of_pointwise_product() -> None:
    L1, L2 = 4, 3
    L_out = L1 + L2
    gen = torch.Generator().manual_seed(3)
    x1 = torch.randn((L1 + 1) ** 2, dtype=torch.float64, generator=gen)
    x2 = torch.randn((L2 + 1) ** 2, dtype=torch.float64, generator=gen)
    out = gaunt_product(x1, x2, L_out)
    # the expansion reproduces f g pointwise at random points (exact: deg(f g) = L1 + L2 = L_out)
    pts = torch.randn(200, 3, dtype=torch.float64, generator=gen)
    f = real_spherical_harmonics(pts, L1) @ x1
    g = real_spherical_harmonics(pts, L2) @ x2
    assert torch.allclose(real_spherical_harmonics(pts, L_out) @ out, f * g, atol=1e-11)
    # and equals the quadrature of (f g) Y_c
    nodes, w = sphere_quadrature(2 * L_out)
    fg = (real_spherical_harmonics(nodes, L1) @ x1) * (real_spherical_harmonics(nodes, L2) @ x2)
    assert torch.allclose((w * fg) @ real_spherical_harmonics(nodes, L_out), out, atol=1e-11)


def test_parity_no_antisymmetric_paths() -> None:
    """A degree-l1 input times a degree-l2 input has no component in degrees l3 with l1 + l2 + l3 odd: e.g.
    1 x 1 -> 1 (the cross product path of the Clebsch-Gordan product) is absent, and the product is symmetric."""
    gen = torch.Generator().manual_seed(5)
    l_out, _ = sh_degrees(8)
    for l1, l2 in ((1, 1), (2, 3), (3, 4), (4, 4)):
        x1 = torch.zeros(25, dtype=torch.float64)
        x2 = torch.zeros(25, dtype=torch.float64)
        x1[l1 * l1: (l1 + 1) ** 2] = torch.randn(2 * l1 + 1, dtype=torch.float64, generator=gen)
        x2[l2 * l2: (l2 + 1) ** 2] = torch.randn(2 * l2 + 1, dtype=torch.float64, generator=gen)
        out = gaunt_product(x1, x2, 8)
        odd = (l1 + l2 + l_out) % 2 == 1
        assert out[odd].abs().max() < 1e-12, (l1, l2)
        assert out[~odd].abs().max() > 1e-3, (l1, l2)
        assert torch.allclose(out, gaunt_product(x2, x1, 8), atol=1e-12)


def test_change_of_basis_tables_are_exact() -> None:
    L = 5
    y = sh_to_fourier(L)
    gen = torch.Generator().manual_seed(1)
    theta = torch.rand(50, dtype=torch.float64, generator=gen) * math.pi
    phi = torch.rand(50, dtype=torch.float64, generator=gen) * 2 * math.pi
    xyz = torch.stack([theta.sin() * phi.cos(), theta.sin() * phi.sin(), theta.cos()], -1)
    k = torch.arange(-L, L + 1, dtype=torch.float64)
    waves = torch.exp(1j * (theta[:, None, None] * k[None, :, None] + phi[:, None, None] * k[None, None, :]))
    series = torch.einsum("auv,puv->pa", torch.tensor(y), waves)
    assert torch.allclose(series.real, real_spherical_harmonics(xyz, L), atol=1e-13)
    assert series.imag.abs().max() < 1e-13
    # sparsity: Y_{l,m} has Fourier modes only at v = +-m
    _, ms = sh_degrees(L)
    v = torch.arange(-L, L + 1)
    mask = (v[None, :] != ms[:, None]) & (v[None, :] != -ms[:, None])
    assert torch.tensor(abs(y)).amax(1)[mask].max() < 1e-14
    # the projection back: z[c, u, v] = int exp(i(u theta + v phi)) Y_c dOmega, against a fine product rule in
    # (theta, phi): Gauss-Legendre on [0, pi] (smooth integrand) x uniform phi (exact for these frequencies)
    z = torch.tensor(fourier_to_sh(3, 4))
    t, wt = (torch.as_tensor(a, dtype=torch.float64) for a in np.polynomial.legendre.leggauss(60))
    th, wth = (t + 1) * math.pi / 2, wt * math.pi / 2 * torch.sin((t + 1) * math.pi / 2)
    ph = 2 * math.pi * torch.arange(16, dtype=torch.float64) / 16
    th, ph = th[:, None].expand(60, 16).reshape(-1), ph[None, :].expand(60, 16).reshape(-1)
    w = wth[:, None].expand(60, 16).reshape(-1) * 2 * math.pi / 16
    nodes = torch.stack([th.sin() * ph.cos(), th.sin() * ph.sin(), th.cos()], -1)
    u = torch.arange(-4, 5, dtype=torch.float64)
    vv = torch.arange(-3, 4, dtype=torch.float64)
    e = torch.exp(1j * (th[:, None, None] * u[None, :, None] + ph[:, None, None] * vv[None, None, :]))
    quad = torch.einsum("p,puv,pc->cuv", w.to(torch.complex128), e, real_spherical_harmonics(nodes, 3).to(e.dtype))
    assert torch.allclose(z, quad, atol=1e-12)
    assert z.abs().max() > 0.1


def test_cached_tables_cannot_be_changed_by_callers() -> None:
    g = gaunt_coefficients(2, 2, 2)
    g.zero_()
    assert gaunt_coefficients(2, 2, 2).abs().max() > 0.1
    with pytest.raises(ValueError, match="read-only"):
        sh_to_fourier(2)[0, 0, 0] = 1.0


def test_batching_broadcast_and_float32() -> None:
    gen = torch.Generator().manual_seed(2)
    x1 = torch.randn(3, 1, 9, dtype=torch.float64, generator=gen)
    x2 = torch.randn(1, 5, 16, dtype=torch.float64, generator=gen)
    out = gaunt_product(x1, x2, 4)
    assert out.shape == (3, 5, 25)
    assert torch.allclose(out[2, 4], gaunt_product(x1[2, 0], x2[0, 4], 4), atol=1e-13)
    out32 = gaunt_product(x1.float(), x2.float(), 4)
    assert out32.dtype == torch.float32
    assert torch.allclose(out32.double(), out, atol=1e-5)
    assert gaunt_product(x1.float(), x2.float(), 4, method="dense").dtype == torch.float32


def test_gradcheck_float64() -> None:
    gen = torch.Generator().manual_seed(4)
    x1 = torch.randn(2, 9, dtype=torch.float64, generator=gen, requires_grad=True)
    x2 = torch.randn(2, 4, dtype=torch.float64, generator=gen, requires_grad=True)
    for method in ("fft", "dense", "grid"):
        assert torch.autograd.gradcheck(lambda a, b, m=method: gaunt_product(a, b, 3, method=m), (x1, x2))


def test_module_learnable_weights() -> None:
    torch.manual_seed(0)
    tp = GauntTensorProduct(2, 2, 4, dtype=torch.float64)
    x1, x2 = torch.randn(3, 9, dtype=torch.float64), torch.randn(3, 9, dtype=torch.float64)
    assert torch.allclose(tp(x1, x2), gaunt_product(x1, x2, 4), atol=1e-13)
    with torch.no_grad():
        tp.weight1[1] = 2.0
        tp.weight_out[0] = 0.0
    out = tp(x1, x2)
    scaled = x1.clone()
    scaled[:, 1:4] *= 2
    expected = gaunt_product(scaled, x2, 4)
    expected[:, 0] = 0
    assert torch.allclose(out, expected, atol=1e-13)
    out.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in tp.parameters())
    assert "L_out=4" in repr(tp)
    with pytest.raises(UsageError, match="x2 must have last dim"):
        tp(x1, torch.randn(3, 16, dtype=torch.float64))


def test_bad_inputs() -> None:
    x = torch.randn(9)
    with pytest.raises(ValueError, match="L_out must be >= 0"):
        gaunt_product(x, x, -1)
    with pytest.raises(UsageError, match="x1 has last dim 5, which is not"):
        gaunt_product(torch.randn(5), x, 2)
    with pytest.raises(UsageError, match="x2 has last dim 10"):
        gaunt_product(x, torch.randn(2, 10), 2)
    with pytest.raises(UsageError, match="x1 has last dim 0"):
        gaunt_product(torch.randn(3, 0), x, 2)
    with pytest.raises(ValueError, match="method.*'fourier'"):
        gaunt_product(x, x, 2, method="fourier")
    with pytest.raises(TypeError, match="x1 must be a floating-point"):
        gaunt_product(torch.ones(9, dtype=torch.int64), x, 2)
    with pytest.raises(ValueError, match="L must be >= 0"):
        gaunt_coefficients(1, 1, -2)
    with pytest.raises(ValueError, match="method.*'racah'"):
        gaunt_coefficients(1, 1, 1, method="racah")
    with pytest.raises(ValueError, match="L1 must be >= 0"):
        GauntTensorProduct(-1, 1, 1)
    with pytest.raises(UsageError, match="do not broadcast"):
        gaunt_product(torch.randn(2, 9), torch.randn(3, 9), 2)
