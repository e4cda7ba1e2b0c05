"""EDMD and ResDMD: closed-form Koopman spectra of linear and polynomial maps, Gram matrices against direct sums,
residuals, pseudospectra and bad inputs."""
import math

import numpy as np
import pytest
import torch

from basiskit import UsageError
from basiskit.dynamics import koopman
from basiskit.dynamics.koopman import (
    EDMD,
    RBF,
    Legendre,
    Monomials,
    ResDMD,
    gram_matrices,
    gram_residual,
    legendre_table,
    pseudospectrum_band_fraction,
    total_degree_exponents,
)

A, B, C = 0.9, 0.5, 1.0


def _uniform(m, d=2, seed=0):
    return 2 * torch.rand(m, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) - 1


def _poly_map(x):
    return torch.stack([A * x[:, 0], B * x[:, 1] + C * x[:, 0] ** 2], 1)


def _match(lam, targets):
    """Index of the nearest eigenvalue for each target, each eigenvalue used once."""
    used = []
    for t in targets:
        d = (lam - t).abs()
        d[used] = float("inf")
        used.append(int(d.argmin()))
    return used


# ---- dictionaries ------------------------------------------------------------------------------------------
def test_total_degree_exponents_count_and_order():
    alpha = total_degree_exponents(3, 4)
    assert alpha.shape == (math.comb(7, 4), 3)
    assert alpha.sum(1).tolist() == sorted(alpha.sum(1).tolist())
    assert len({tuple(a) for a in alpha.tolist()}) == alpha.shape[0]
    assert total_degree_exponents(2, 2).tolist() == [[0, 0], [1, 0], [0, 1], [2, 0], [1, 1], [0, 2]]


def test_monomials_match_direct_products():
    x = _uniform(7)
    psi = Monomials(2)(x)
    x1, x2 = x[:, 0], x[:, 1]
    direct = torch.stack([torch.ones_like(x1), x1, x2, x1 ** 2, x1 * x2, x2 ** 2], 1)
    torch.testing.assert_close(psi, direct)
    assert Monomials(2).names(2) == ["1", "x1", "x2", "x1^2", "x1*x2", "x2^2"]


def test_legendre_table_matches_numpy():
    t = torch.linspace(-1, 1, 11, dtype=torch.float64)
    table = legendre_table(t, 5)
    for n in range(6):
        coef = np.zeros(n + 1)
        coef[n] = 1.0
        ref = np.polynomial.legendre.legval(t.numpy(), coef) * math.sqrt(2 * n + 1)
        np.testing.assert_allclose(table[:, n].numpy(), ref, atol=1e-13)


def test_legendre_is_orthonormal_on_the_box():
    # Gauss-Legendre tensor quadrature on [0, 2] x [-1, 3]: the Gram matrix of the dictionary is the identity
    nodes, weights = np.polynomial.legendre.leggauss(8)
    x1, x2 = 1 + nodes, 1 + 2 * nodes
    xx = torch.tensor(np.stack(np.meshgrid(x1, x2, indexing="ij"), -1).reshape(-1, 2))
    w = torch.tensor(np.outer(weights, weights).reshape(-1)) / 4
    psi = Legendre(3, lower=[0, -1], upper=[2, 3])(xx)
    g, _, _ = gram_matrices(psi, psi, w)
    torch.testing.assert_close(g, torch.eye(psi.shape[1], dtype=torch.float64), atol=1e-12, rtol=0)


def test_rbf_values_constant_and_default_scale():
    centers = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    rbf = RBF(centers).adapt(centers)
    assert rbf.scale == pytest.approx((1 + 1 + 2) / 3)
    psi = rbf(centers)
    assert psi.shape == (3, 4)
    torch.testing.assert_close(psi[:, 0], torch.ones(3, dtype=torch.float64))
    torch.testing.assert_close(psi[:, 1:].diagonal(), torch.ones(3, dtype=torch.float64))
    assert float(psi[0, 2]) == pytest.approx(math.exp(-1 / (2 * rbf.scale ** 2)))
    drawn = RBF(n_centers=5, seed=3, constant=False).adapt(_uniform(50))
    assert drawn.centers.shape == (5, 2) and drawn(_uniform(4)).shape == (4, 5)


def test_dictionary_by_name_and_close_match_error():
    model = EDMD("monomials", degree=1).fit(_uniform(50), _poly_map(_uniform(50)))
    assert model.eigs().shape == (3,)
    assert set(koopman.dictionary_names()) == {"monomials", "legendre", "rbf"}
    with pytest.raises(UsageError, match="did you mean 'monomials'"):
        EDMD("monomial", degree=2)


# ---- closed-form spectra -----------------------------------------------------------------------------------
def test_linear_map_eigenvalues_modes_and_prediction():
    mat = torch.tensor([[0.8, 0.3], [-0.1, 0.5]], dtype=torch.float64)
    mu = torch.linalg.eigvals(mat)
    x = _uniform(200)
    model = EDMD(Monomials(2)).fit(x, x @ mat.T)
    # degree-2 monomials are invariant under a linear map: eigenvalues are all products mu^alpha, |alpha| <= 2
    expected = [1.0, mu[0], mu[1], mu[0] ** 2, mu[0] * mu[1], mu[1] ** 2]
    lam = model.eigs()
    idx = _match(lam, [complex(e) for e in expected])
    assert len(set(idx)) == 6
    assert max(abs(complex(lam[i]) - complex(e)) for i, e in zip(idx, expected)) < 1e-12
    x_new = _uniform(5, seed=1)
    torch.testing.assert_close(model.predict(x_new, 3), x_new @ torch.linalg.matrix_power(mat, 3).T,
                               atol=1e-11, rtol=0)
    assert model.modes().shape == (6, 2)
    # eigenfunctions: phi(F(x)) = lambda phi(x)
    phi, phi_next = model.eigenfunctions(x_new), model.eigenfunctions(x_new @ mat.T)
    torch.testing.assert_close(phi_next, phi * lam, atol=1e-11, rtol=0)


@pytest.mark.parametrize("dictionary", [Monomials(6), Legendre(6)])
def test_polynomial_map_exact_eigenvalues_have_tiny_residuals_and_the_rest_are_filtered(dictionary):
    p = 6
    x, xr = _uniform(1500), _uniform(1500, seed=1)
    model = ResDMD(dictionary).fit(x, _poly_map(x), xr, _poly_map(xr))
    lam, res = model.eigs(), model.residuals()
    true = [A ** i * B ** j for j in range(p // 2 + 1) for i in range(p - 2 * j + 1)]
    assert lam.numel() == 28 and len(true) == 16
    idx = _match(lam, true)
    assert max(abs(complex(lam[i]) - t) for i, t in zip(idx, true)) < 1e-9
    assert float(res[idx].max()) < 1e-10
    others = [j for j in range(28) if j not in idx]
    assert float(res[others].min()) > 1e-5
    kept = model.filtered_eigs(1e-8)
    assert sorted(kept.real.tolist()) == pytest.approx(sorted(true), abs=1e-9)


def test_the_eigenfunction_formula_of_the_polynomial_map():
    x = _uniform(20)
    fx = _poly_map(x)

    def phi(z, i, j):
        return z[:, 0] ** i * (z[:, 1] + C * z[:, 0] ** 2 / (B - A ** 2)) ** j

    for i, j in [(1, 0), (0, 1), (2, 1), (1, 2)]:
        torch.testing.assert_close(phi(fx, i, j), A ** i * B ** j * phi(x, i, j), atol=1e-13, rtol=0)


# ---- Gram matrices, residual forms -------------------------------------------------------------------------
def test_gram_matrices_equal_direct_sums_over_snapshots():
    x = _uniform(40)
    psi_x, psi_y = Monomials(2)(x), Monomials(2)(_poly_map(x))
    w = torch.rand(40, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    g, a, l_mat = gram_matrices(psi_x, psi_y, w)
    g_ref = sum(w[m] * torch.outer(psi_x[m], psi_x[m]) for m in range(40))
    a_ref = sum(w[m] * torch.outer(psi_x[m], psi_y[m]) for m in range(40))
    l_ref = sum(w[m] * torch.outer(psi_y[m], psi_y[m]) for m in range(40))
    for got, ref in ((g, g_ref), (a, a_ref), (l_mat, l_ref)):
        torch.testing.assert_close(got, ref, atol=1e-13, rtol=1e-13)
    default, _, _ = gram_matrices(psi_x, psi_y)
    torch.testing.assert_close(default, psi_x.T @ psi_x / 40)


def test_gram_form_residual_agrees_with_the_square_root_form():
    x, xr = _uniform(600), _uniform(600, seed=1)
    model = ResDMD(Monomials(4)).fit(x, _poly_map(x), xr, _poly_map(xr))
    res = model.residuals()
    gram = gram_residual(model.gram_matrices(), model.eigs(), model.eigenvectors())
    big = res > 1e-4
    assert int(big.sum()) >= 3
    torch.testing.assert_close(gram[big], res[big], rtol=1e-6, atol=0)
    assert float(gram[~big].max()) < 1e-6  # the Gram form bottoms out near sqrt(machine eps)


def test_holdout_split_and_explicit_residual_set():
    x = _uniform(2000)
    model = ResDMD(Monomials(3)).fit(x, _poly_map(x), holdout=0.25, seed=4)
    assert model._bx.shape[0] == 500
    g, _, _ = model.gram_matrices()
    assert g.shape == (10, 10)


# ---- pseudospectra -----------------------------------------------------------------------------------------
def _rotation_model():
    """The rotation of the circle by 1 radian, observed through (cos, sin): unitary, spectrum = the unit circle.
    Equispaced angles make the quadrature exact for the trigonometric polynomials involved (degree <= 8)."""
    th = 2 * math.pi * torch.arange(64, dtype=torch.float64) / 64
    th_r = th + math.pi / 64

    def emb(t):
        return torch.stack([t.cos(), t.sin()], 1)

    return ResDMD(Monomials(4)).fit(emb(th), emb(th + 1.0), emb(th_r), emb(th_r + 1.0))


def test_pseudospectrum_of_a_circle_rotation():
    model = _rotation_model()
    # trigonometric polynomials of degree <= 4 are invariant: eigenvalues e^{ik}, |k| <= 4, residuals ~ 0
    lam, res = model.eigs(), model.residuals()
    true = [complex(math.cos(k), math.sin(k)) for k in range(-4, 5)]
    idx = _match(lam, true)
    assert max(abs(complex(lam[i]) - t) for i, t in zip(idx, true)) < 1e-8
    assert float(res[idx].max()) < 1e-8
    z = torch.tensor([true[5], 0.5 + 0.0j, 1.5 + 0.2j], dtype=torch.complex128)
    tau = model.min_residual(z)
    assert float(tau[0]) < 1e-6  # on an eigenvalue
    # a unitary operator: tau(z) >= dist(z, spectrum) >= ||z| - 1|
    assert float(tau[1]) >= 0.5 - 1e-6 and float(tau[2]) >= abs(abs(complex(z[2])) - 1) - 1e-6
    assert bool((model.min_residual(z, projected=True) <= tau + 1e-9).all())


def test_pseudospectrum_mask_equals_min_residual_below_eps_and_band_fraction():
    model = _rotation_model()
    xs = torch.linspace(-1.3, 1.3, 27, dtype=torch.float64)
    grid = xs[None, :] + 1j * xs[:, None]
    tau = model.min_residual(grid)
    for eps in (0.05, 0.2):
        mask = model.pseudospectrum(grid, eps)
        close = (tau - eps).abs() < 1e-9
        assert bool((mask[~close] == (tau < eps)[~close]).all())
        assert pseudospectrum_band_fraction(mask, grid, width=eps + 0.05) == 1.0
    assert math.isnan(pseudospectrum_band_fraction(torch.zeros(3, dtype=torch.bool), grid[0, :3]))


# ---- bad inputs ------------------------------------------------------------------------------------------------
def test_fewer_snapshots_than_dictionary_functions_is_refused():
    x = _uniform(10)
    with pytest.raises(ValueError, match=r"at least as many snapshots as dictionary functions: got M=10 .* N=28"):
        EDMD(Monomials(6)).fit(x, _poly_map(x))
    with pytest.raises(ValueError, match=r"at least as many held-out snapshots .*: got M_res=5 for N=10"):
        ResDMD(Monomials(3)).fit(_uniform(100), _poly_map(_uniform(100)), x[:5], _poly_map(x[:5]))


def test_non_finite_or_mismatched_snapshots_are_refused():
    x = _uniform(50)
    bad = x.clone()
    bad[3, 1] = float("nan")
    with pytest.raises(ValueError, match="X contains 1 NaN/inf"):
        EDMD(Monomials(2)).fit(bad, x)
    with pytest.raises(ValueError, match="Y contains 1 NaN/inf"):
        EDMD(Monomials(2)).fit(x, bad)
    with pytest.raises(ValueError, match="snapshot pairs of one shape"):
        EDMD(Monomials(2)).fit(x, x[:40])
    with pytest.raises(ValueError, match="one weight per snapshot"):
        EDMD(Monomials(2)).fit(x, x, weights=torch.ones(3))
    with pytest.raises(ValueError, match="give both X_res and Y_res"):
        ResDMD(Monomials(2)).fit(x, x, X_res=x)
    with pytest.raises(ValueError, match="X_res contains 1 NaN/inf"):
        ResDMD(Monomials(2)).fit(x, x, bad, x)


def test_misuse_of_models_and_dictionaries():
    with pytest.raises(RuntimeError, match="not fitted yet"):
        EDMD(Monomials(2)).eigs()
    with pytest.raises(ValueError, match="lower < upper"):
        Legendre(2, lower=[0, 1], upper=[1, 0])
    with pytest.raises(ValueError, match="no box yet"):
        Legendre(2)(_uniform(3))
    with pytest.raises(ValueError, match="centers=.* or n_centers"):
        RBF()
    with pytest.raises(TypeError, match="must be a Dictionary"):
        EDMD(object())
    with pytest.raises(ValueError, match="eps must be > 0"):
        _rotation_model().pseudospectrum(torch.zeros(2, dtype=torch.complex128), 0.0)
