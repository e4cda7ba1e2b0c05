r"""Koopman operators from snapshot pairs: EDMD with a dictionary, and ResDMD's verified spectra.

Given snapshot pairs :math:`y_m = F(x_m)` (``X``, ``Y``: (M, d)) and a dictionary
:math:`\Psi = (\psi_1, \dots, \psi_N)` evaluated on them (:math:`\Psi_X, \Psi_Y`: (M, N)), with quadrature
weights :math:`W = \mathrm{diag}(w_m)` (uniform :math:`1/M` for Monte Carlo samples),

.. math:: G = \Psi_X^* W \Psi_X, \qquad A = \Psi_X^* W \Psi_Y, \qquad L = \Psi_Y^* W \Psi_Y .

EDMD (Williams, Kevrekidis & Rowley 2015) approximates the Koopman operator :math:`\mathcal{K}g = g\circ F` on
the span of the dictionary by the matrix :math:`K = G^{+} A`; an eigenpair :math:`K v = \lambda v` gives the
candidate eigenfunction :math:`\phi(x) = \Psi(x) v`. Many of them are spurious: the projection of
:math:`\mathcal{K}` onto a finite span has eigenvalues that belong to no part of the true spectrum.

ResDMD (Colbrook & Townsend 2023, "Rigorous data-driven computation of spectral properties of Koopman operators";
Colbrook, Mezic & Stepanenko, "Limits and powers of Koopman learning") measures each candidate by its residual

.. math:: \mathrm{res}(\lambda, g)^2 = \frac{g^*(L - \lambda A^* - \bar\lambda A + |\lambda|^2 G)\, g}{g^* G g}
          \approx \frac{\|\mathcal{K}\phi - \lambda\phi\|^2}{\|\phi\|^2},

which converges (as M grows) to the true relative residual in :math:`L^2`, so :math:`\mathrm{res}(\lambda, g)`
bounds the distance from :math:`\lambda` to the spectrum of a normal :math:`\mathcal{K}`: eigenpairs with large
residual are spurious and are dropped (``filtered_eigs``), and the smallest residual over the span,
:math:`\tau_N(z) = \min_g \mathrm{res}(z, g)`, gives an approximate :math:`\varepsilon`-pseudospectrum
:math:`\{z : \tau_N(z) < \varepsilon\}` (``pseudospectrum``) that contains no spurious points.

Why held-out snapshots: the residual is a quadrature of :math:`\|\mathcal{K}\phi - \lambda\phi\|^2`, and it is
reliable only with many more snapshots than dictionary functions (M >> N). Worse, computed on the very pairs that
fitted :math:`K`, it is biased low: EDMD minimises :math:`\|\Psi_Y - \Psi_X K\|_W` over exactly those pairs, so
each eigenpair's residual there is partly fitted noise (with M = N every residual is zero). ``ResDMD.fit``
therefore evaluates residuals and pseudospectra on a second, independent set of snapshot pairs (passed as
``X_res``, ``Y_res``, or split off the given pairs with ``holdout``).

Numerics: residuals of eigenpairs are computed in the square-root form :math:`\|W^{1/2}(\Psi_Y g - \lambda\Psi_X
g)\| / \|W^{1/2}\Psi_X g\|` (equal to the Gram form above in exact arithmetic; the Gram form subtracts O(1) terms
and cannot resolve residuals below about :math:`\sqrt{\epsilon_{mach}} \approx 10^{-8}`). The pseudospectrum
uses the pencil whitened by the truncated SVD of :math:`W^{1/2}\Psi_X` (the regularisation: directions with
singular value below ``rcond`` times the largest are dropped), where :math:`\tau_N(z)` is the smallest singular
value of :math:`[\,C - zI;\ R\,]` with :math:`C` the projected operator and :math:`R` the part of
:math:`\mathcal{K}\Psi` outside the span (``min_residual``); dropping :math:`R` gives the pseudospectrum of the
EDMD matrix itself (``projected=True``), which is what EDMD alone would show.
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import torch

from .._validation import check_float, check_int, check_tensor
from ..registry import Registry

DICTIONARIES: Registry[type] = Registry("dictionary")

_F64 = torch.float64


def _as_states(arg: str, x: Any) -> torch.Tensor:
    """(M, d) float64 tensor from a tensor or array; finite values required."""
    if not isinstance(x, torch.Tensor):
        try:
            x = torch.as_tensor(x)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"{arg} must be a (M, d) tensor or array, got {type(x).__name__}") from None
    check_tensor(arg, x, ndim=(1, 2), finite=True, nonempty=True)
    x = x.to(_F64)
    return x[:, None] if x.ndim == 1 else x


def total_degree_exponents(dim: int, degree: int) -> torch.Tensor:
    """All multi-indices :math:`\\alpha \\in \\mathbb{N}^{dim}` with :math:`|\\alpha| \\le` degree, (N, dim) int64,
    ordered by total degree, then lexicographically (largest power of the first coordinate first);
    N = C(dim + degree, degree)."""
    check_int("dim", dim, min_value=1)
    check_int("degree", degree, min_value=0)
    rows = []
    for total in range(degree + 1):
        for combo in itertools.combinations_with_replacement(range(dim), total):
            alpha = [0] * dim
            for k in combo:
                alpha[k] += 1
            rows.append(alpha)
    return torch.tensor(rows, dtype=torch.int64).reshape(-1, dim)


class Dictionary:
    """Maps states (M, d) to dictionary values (M, N). ``adapt(X)`` fixes data-dependent choices (a bounding
    box, RBF centres) from the fitting snapshots; it is called by ``EDMD.fit`` and keeps explicit choices."""

    def adapt(self, x: torch.Tensor) -> Dictionary:
        return self

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        raise TypeError(f"{type(self).__name__} is an abstract dictionary; use Monomials, Legendre or RBF")

    def names(self, dim: int) -> list[str]:
        """One readable name per dictionary function."""
        return [f"psi_{i}" for i in range(self(torch.zeros(1, dim, dtype=_F64)).shape[1])]


def _monomial_names(exponents: torch.Tensor) -> list[str]:
    out = []
    for alpha in exponents.tolist():
        parts = [f"x{k + 1}" + (f"^{p}" if p > 1 else "") for k, p in enumerate(alpha) if p]
        out.append("*".join(parts) or "1")
    return out


@DICTIONARIES.register("monomials", summary="monomials of total degree <= degree")
class Monomials(Dictionary):
    r"""Monomials :math:`x^\alpha = \prod_k x_k^{\alpha_k}` of total degree :math:`|\alpha| \le` ``degree``;
    N = C(d + degree, degree) functions (see ``total_degree_exponents`` for the order)."""

    def __init__(self, degree: int) -> None:
        self.degree = check_int("degree", degree, min_value=0)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = _as_states("x", x)
        alpha = total_degree_exponents(x.shape[1], self.degree)
        return torch.prod(x[:, None, :] ** alpha[None].to(_F64), dim=2)

    def names(self, dim: int) -> list[str]:
        return _monomial_names(total_degree_exponents(dim, self.degree))

    def __repr__(self) -> str:
        return f"Monomials(degree={self.degree})"


def legendre_table(t: torch.Tensor, degree: int) -> torch.Tensor:
    r"""Orthonormal Legendre polynomials :math:`\sqrt{2n+1}\,P_n(t)`, n = 0..degree, at t (any shape):
    (\*t.shape, degree + 1), by the three-term recurrence :math:`(n+1)P_{n+1} = (2n+1)tP_n - nP_{n-1}`."""
    values = [torch.ones_like(t), t]
    for n in range(1, degree):
        values.append(((2 * n + 1) * t * values[n] - n * values[n - 1]) / (n + 1))
    table = torch.stack(values[: degree + 1], dim=-1)
    scale = torch.sqrt(2 * torch.arange(degree + 1, dtype=t.dtype) + 1)
    return table * scale


@DICTIONARIES.register("legendre", summary="tensor Legendre polynomials of total degree <= degree on a box")
class Legendre(Dictionary):
    r"""Products :math:`\prod_k \tilde P_{\alpha_k}(t_k)` of orthonormal Legendre polynomials of total degree
    :math:`|\alpha| \le` ``degree``, with :math:`t = 2(x - \text{lower})/(\text{upper} - \text{lower}) - 1` mapping
    the box to :math:`[-1, 1]^d`. Spans the same space as ``Monomials(degree)``, better conditioned.
    ``lower``/``upper`` default to the bounding box of the fitting snapshots (``adapt``)."""

    def __init__(self, degree: int, lower: Sequence[float] | None = None,
                 upper: Sequence[float] | None = None) -> None:
        self.degree = check_int("degree", degree, min_value=0)
        self.lower = None if lower is None else torch.as_tensor(lower, dtype=_F64).reshape(-1)
        self.upper = None if upper is None else torch.as_tensor(upper, dtype=_F64).reshape(-1)
        if self.lower is not None and self.upper is not None and (
                self.lower.shape != self.upper.shape or not bool((self.upper > self.lower).all())):
            raise ValueError(f"Legendre needs lower < upper in every coordinate, got lower={lower}, upper={upper}")

    def adapt(self, x: torch.Tensor) -> Legendre:
        x = _as_states("X", x)
        if self.lower is None or self.upper is None:
            lo, hi = x.min(0).values, x.max(0).values
            pad = 1e-9 * (hi - lo).clamp_min(1.0)
            self.lower = lo - pad if self.lower is None else self.lower
            self.upper = hi + pad if self.upper is None else self.upper
        return self

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = _as_states("x", x)
        if self.lower is None or self.upper is None:
            raise ValueError("Legendre has no box yet: pass lower= and upper=, or call adapt(X) (EDMD.fit does)")
        if self.lower.numel() != x.shape[1]:
            raise ValueError(f"Legendre box has {self.lower.numel()} coordinates, x has {x.shape[1]}")
        t = 2 * (x - self.lower) / (self.upper - self.lower) - 1
        table = legendre_table(t, self.degree)  # (M, d, degree + 1)
        alpha = total_degree_exponents(x.shape[1], self.degree)  # (N, d)
        picked = table[:, torch.arange(x.shape[1])[None, :], alpha]  # (M, N, d)
        return picked.prod(dim=2)

    def names(self, dim: int) -> list[str]:
        return ["P" + "".join(str(a) for a in alpha) for alpha in total_degree_exponents(dim, self.degree).tolist()]

    def __repr__(self) -> str:
        return f"Legendre(degree={self.degree})"


@DICTIONARIES.register("rbf", summary="Gaussian radial basis functions (plus the constant)")
class RBF(Dictionary):
    r"""Gaussian radial basis functions :math:`\exp(-\|x - c_i\|^2 / (2 s^2))` at centres :math:`c_i`, preceded
    by the constant function when ``constant`` (the Koopman eigenfunction of eigenvalue 1 of any map).

    Args:
        centers: (n, d) centres; default: ``n_centers`` snapshots drawn without replacement (``seed``) by ``adapt``.
        scale: width s; default: the mean distance from each centre to its nearest other centre.
    """

    def __init__(self, centers: torch.Tensor | None = None, *, n_centers: int | None = None,
                 scale: float | None = None, constant: bool = True, seed: int = 0) -> None:
        if centers is None and n_centers is None:
            raise ValueError("RBF needs centers=(n, d) or n_centers=n (drawn from the snapshots)")
        self.centers = None if centers is None else _as_states("centers", centers)
        self.n_centers = (self.centers.shape[0] if self.centers is not None
                          else check_int("n_centers", n_centers, min_value=1))
        self.scale = None if scale is None else check_float("scale", scale, min_value=0.0, strict_min=True)
        self.constant = bool(constant)
        self.seed = seed

    def adapt(self, x: torch.Tensor) -> RBF:
        x = _as_states("X", x)
        if self.centers is None:
            if self.n_centers > x.shape[0]:
                raise ValueError(f"RBF n_centers={self.n_centers} exceeds the {x.shape[0]} snapshots to draw from")
            g = torch.Generator().manual_seed(self.seed)
            self.centers = x[torch.randperm(x.shape[0], generator=g)[: self.n_centers]]
        if self.scale is None:
            if self.centers.shape[0] < 2:
                raise ValueError("RBF with one centre needs an explicit scale=")
            dist = torch.cdist(self.centers, self.centers)
            dist.fill_diagonal_(float("inf"))
            self.scale = float(dist.min(1).values.mean())
        return self

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = _as_states("x", x)
        if self.centers is None or self.scale is None:
            raise ValueError("RBF has no centres/scale yet: pass them, or call adapt(X) (EDMD.fit does)")
        if self.centers.shape[1] != x.shape[1]:
            raise ValueError(f"RBF centres have dimension {self.centers.shape[1]}, x has {x.shape[1]}")
        values = torch.exp(-torch.cdist(x, self.centers) ** 2 / (2 * self.scale ** 2))
        return torch.cat([torch.ones(x.shape[0], 1, dtype=_F64), values], 1) if self.constant else values

    def names(self, dim: int) -> list[str]:
        return (["1"] if self.constant else []) + [f"rbf_{i}" for i in range(self.n_centers)]

    def __repr__(self) -> str:
        return f"RBF(n_centers={self.n_centers}, scale={self.scale}, constant={self.constant})"


def create_dictionary(name: str, **kwargs: Any) -> Dictionary:
    """A dictionary by registered name ("monomials", "legendre", "rbf") with its constructor's keywords."""
    return DICTIONARIES.create(name, **kwargs)


def dictionary_names() -> list[str]:
    return DICTIONARIES.names()


def _weights(arg: str, weights: Any, m: int) -> torch.Tensor:
    if weights is None:
        return torch.full((m,), 1.0 / m, dtype=_F64)
    w = torch.as_tensor(weights, dtype=_F64).reshape(-1)
    if w.numel() != m:
        raise ValueError(f"{arg} must have one weight per snapshot ({m}), got {w.numel()}")
    if not bool(torch.isfinite(w).all()) or bool((w < 0).any()) or float(w.sum()) <= 0:
        raise ValueError(f"{arg} must be finite, non-negative and not all zero")
    return w


def _pairs(x: Any, y: Any, names: tuple[str, str]) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = _as_states(names[0], x), _as_states(names[1], y)
    if x.shape != y.shape:
        raise ValueError(f"{names[0]} and {names[1]} must be snapshot pairs of one shape (M, d), "
                         f"got {tuple(x.shape)} and {tuple(y.shape)}")
    return x, y


def gram_matrices(psi_x: torch.Tensor, psi_y: torch.Tensor,
                  weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r""":math:`G = \Psi_X^* W \Psi_X`, :math:`A = \Psi_X^* W \Psi_Y`, :math:`L = \Psi_Y^* W \Psi_Y`, each (N, N),
    from dictionary values ``psi_x``, ``psi_y`` (M, N) and weights (M,) (default 1/M)."""
    w = _weights("weights", weights, psi_x.shape[0]).to(psi_x.dtype)
    wx = psi_x * w[:, None]
    return psi_x.mH @ wx, wx.mH @ psi_y, psi_y.mH @ (psi_y * w[:, None])


def gram_residual(gram: tuple[torch.Tensor, torch.Tensor, torch.Tensor], lam: torch.Tensor,
                  vecs: torch.Tensor) -> torch.Tensor:
    r"""res(lambda_j, g_j) in the Gram form :math:`\sqrt{g^*(L - \lambda A^* - \bar\lambda A + |\lambda|^2 G)g
    / g^*Gg}` for eigenvalues ``lam`` (n,) and coefficient vectors ``vecs`` (N, n) (columns). Exact arithmetic
    equals ``ResDMD.residuals``; in floating point it cannot resolve residuals below about 1e-8."""
    g_mat, a_mat, l_mat = (m.to(torch.complex128) for m in gram)
    v = vecs.to(torch.complex128)
    lam = lam.to(torch.complex128)
    lv, av, gv = l_mat @ v, a_mat @ v, g_mat @ v
    ahv = a_mat.mH @ v
    num = ((v.conj() * lv).sum(0) - lam * (v.conj() * ahv).sum(0) - lam.conj() * (v.conj() * av).sum(0)
           + lam.abs() ** 2 * (v.conj() * gv).sum(0)).real
    den = (v.conj() * gv).sum(0).real
    return torch.sqrt(num.clamp_min(0.0) / den)


class EDMD:
    r"""Extended DMD: the Koopman matrix :math:`K = G^+ A` on a dictionary's span (see the module docstring).

    ``fit(X, Y)`` with snapshot pairs (M, d); then ``eigs()`` (N,), ``eigenvectors()`` (N, N) columns
    :math:`v_j` (eigenfunction :math:`\phi_j = \Psi v_j`), ``eigenfunctions(x)`` (M', N), ``modes()`` (N, d)
    Koopman modes of the full state (:math:`x \approx \sum_j \phi_j(x)\,\xi_j`) and ``predict(x, steps)``.

    Args:
        dictionary: a ``Dictionary`` or a registered name ("monomials", "legendre", "rbf") with ``**kwargs``.
        rcond: singular values of :math:`W^{1/2}\Psi_X` below ``rcond`` times the largest are treated as zero
            (the pseudo-inverse).
    """

    def __init__(self, dictionary: Dictionary | str, *, rcond: float = 1e-12, **kwargs: Any) -> None:
        if isinstance(dictionary, str):
            dictionary = create_dictionary(dictionary, **kwargs)
        elif kwargs:
            raise TypeError(f"keyword arguments {sorted(kwargs)} are for a dictionary given by name")
        if not isinstance(dictionary, Dictionary):
            raise TypeError(f"dictionary must be a Dictionary or one of {dictionary_names()}, "
                            f"got {type(dictionary).__name__}")
        self.dictionary = dictionary
        self.rcond = check_float("rcond", rcond, min_value=0.0, max_value=1.0)
        self._k: torch.Tensor | None = None

    def _psi(self, x: torch.Tensor) -> torch.Tensor:
        return self.dictionary(x).to(_F64)

    def fit(self, X: Any, Y: Any, *, weights: Any = None) -> EDMD:
        """Fit on snapshot pairs ``Y[m] = F(X[m])``, (M, d) each, with quadrature ``weights`` (M,) (default 1/M).
        Needs at least as many snapshots as dictionary functions."""
        x, y = _pairs(X, Y, ("X", "Y"))
        self.dictionary.adapt(x)
        psi_x, psi_y = self._psi(x), self._psi(y)
        m, n = psi_x.shape
        if m < n:
            raise ValueError(f"EDMD needs at least as many snapshots as dictionary functions: got M={m} snapshot "
                             f"pairs for N={n} functions ({self.dictionary!r}); give more data or a smaller "
                             f"dictionary (M >> N for reliable results)")
        w = _weights("weights", weights, m)
        sw = w.sqrt()[:, None]
        u, s, vh = torch.linalg.svd(sw * psi_x, full_matrices=False)
        keep = s > self.rcond * s[0]
        pinv = vh[keep].mH @ torch.diag(1.0 / s[keep]) @ u[:, keep].mH  # (N, M): (W^1/2 Psi_X)^+
        self._k = pinv @ (sw * psi_y)
        self._state_coeffs = pinv @ (sw * x)  # (N, d): x ~ Psi(x) B
        self._dim = x.shape[1]
        lam, vecs = torch.linalg.eig(self._k)
        order = torch.argsort(-lam.abs(), stable=True)
        self._lam, self._vecs = lam[order], vecs[:, order]
        return self

    def _fitted(self) -> None:
        if self._k is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted yet: call fit(X, Y) first")

    @property
    def koopman_matrix(self) -> torch.Tensor:
        """K = G^+ A, (N, N) float64."""
        self._fitted()
        return self._k  # type: ignore[return-value]

    def eigs(self) -> torch.Tensor:
        """Eigenvalues of K, (N,) complex128, by decreasing modulus."""
        self._fitted()
        return self._lam

    def eigenvectors(self) -> torch.Tensor:
        """(N, N) complex128, column j is the coefficient vector of eigenfunction j, unit 2-norm."""
        self._fitted()
        return self._vecs

    def eigenfunctions(self, x: Any) -> torch.Tensor:
        """:math:`\\phi_j(x) = \\Psi(x) v_j` at states (M', d): (M', N) complex128."""
        self._fitted()
        return self._psi(_as_states("x", x)).to(torch.complex128) @ self._vecs

    def modes(self) -> torch.Tensor:
        r"""Koopman modes :math:`\xi_j` of the full state, (N, d) complex128: :math:`x \approx \Psi(x)B =
        \sum_j \phi_j(x)\,\xi_j` with :math:`B = (W^{1/2}\Psi_X)^+ W^{1/2} X` and :math:`\Xi = V^{+}B` (the
        pseudo-inverse, so a defective K, e.g. from a linearly dependent dictionary, still gives modes)."""
        self._fitted()
        return torch.linalg.pinv(self._vecs) @ self._state_coeffs.to(torch.complex128)

    def predict(self, x: Any, steps: int = 1) -> torch.Tensor:
        r"""State after ``steps`` applications of the map, :math:`\sum_j \lambda_j^{steps}\phi_j(x)\xi_j`:
        (M', d) float64 (real part)."""
        self._fitted()
        check_int("steps", steps, min_value=0)
        phi = self.eigenfunctions(x)
        return ((phi * self._lam ** steps) @ self.modes()).real


class ResDMD(EDMD):
    r"""EDMD plus residuals, filtered spectra and pseudospectra (Colbrook & Townsend; module docstring).

    ``fit(X, Y, X_res, Y_res)``: :math:`K` from (X, Y), residuals and pseudospectra from the held-out pairs
    (X_res, Y_res) (or a ``holdout`` fraction split off (X, Y) by a seeded shuffle). Residuals need many more
    held-out snapshots than dictionary functions; fewer than N is refused.
    """

    def fit(self, X: Any, Y: Any, X_res: Any = None, Y_res: Any = None, *, weights: Any = None,
            weights_res: Any = None, holdout: float = 0.5, seed: int = 0) -> ResDMD:
        x, y = _pairs(X, Y, ("X", "Y"))
        if (X_res is None) != (Y_res is None):
            raise ValueError("give both X_res and Y_res (held-out snapshot pairs) or neither")
        if X_res is None:
            holdout = check_float("holdout", holdout, min_value=0.0, max_value=1.0, strict_min=True)
            if weights is not None or weights_res is not None:
                raise ValueError("weights with a holdout split are ambiguous: pass X_res, Y_res and weights_res")
            if holdout >= 1.0:
                raise ValueError("holdout must be < 1 (some pairs must fit K)")
            perm = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed))
            n_res = round(holdout * x.shape[0])
            res_idx, fit_idx = perm[:n_res], perm[n_res:]
            x, y, xr, yr = x[fit_idx], y[fit_idx], x[res_idx], y[res_idx]
        else:
            xr, yr = _pairs(X_res, Y_res, ("X_res", "Y_res"))
            if xr.shape[1] != x.shape[1]:
                raise ValueError(f"X_res has dimension {xr.shape[1]}, X has {x.shape[1]}")
        super().fit(x, y, weights=weights)
        psi_xr, psi_yr = self._psi(xr), self._psi(yr)
        m, n = psi_xr.shape
        if m < n:
            raise ValueError(f"ResDMD needs at least as many held-out snapshots as dictionary functions: got "
                             f"M_res={m} for N={n}; residuals are reliable only with M_res >> N")
        self._w_res = _weights("weights_res", weights_res, m)
        sw = self._w_res.sqrt()[:, None]
        self._bx, self._by = sw * psi_xr, sw * psi_yr  # W^1/2 Psi on the held-out pairs
        # whitened pencil for the pseudospectrum (regularised by the truncated SVD of W^1/2 Psi_X)
        u, s, vh = torch.linalg.svd(self._bx, full_matrices=False)
        keep = s > self.rcond * s[0]
        q = u[:, keep]
        t = vh[keep].mH / s[keep]  # (N, r): W^1/2 Psi_X t = q
        b = self._by @ t
        c = q.mH @ b
        outside = b - q @ c
        self._proj = c.to(torch.complex128)  # (r, r): projected operator
        self._outside_gram = (outside.mH @ outside).to(torch.complex128)  # R^* R
        return self

    def gram_matrices(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(G, A, L) of the held-out pairs, each (N, N) float64."""
        self._fitted()
        return self._bx.mH @ self._bx, self._bx.mH @ self._by, self._by.mH @ self._by

    def residuals(self) -> torch.Tensor:
        r"""res(lambda_j, v_j) for each EDMD eigenpair (aligned with ``eigs()``), (N,) float64, on the held-out
        pairs: :math:`\|W^{1/2}(\Psi_Y v - \lambda\Psi_X v)\| / \|W^{1/2}\Psi_X v\|`."""
        self._fitted()
        bx, by = self._bx.to(torch.complex128), self._by.to(torch.complex128)
        px, py = bx @ self._vecs, by @ self._vecs
        return (py - px * self._lam).norm(dim=0) / px.norm(dim=0)

    def filtered_eigs(self, tol: float) -> torch.Tensor:
        """Eigenvalues whose residual is at most ``tol`` (the others are spurious), (n,) complex128."""
        tol = check_float("tol", tol, min_value=0.0)
        return self.eigs()[self.residuals() <= tol]

    def _pencil(self, z: torch.Tensor, projected: bool, shift: float = 0.0) -> torch.Tensor:
        r"""(n, r, r) Hermitian :math:`(C - zI)^*(C - zI) + R^*R - s I` at complex points z (n,), s = ``shift``."""
        c = self._proj
        base = c.mH @ c + (0 if projected else self._outside_gram)
        base = 0.5 * (base + base.mH)  # exactly Hermitian; the z terms below are Hermitian entry by entry
        zc = z[:, None, None]
        mat = base - zc * c.mH
        mat -= zc.conj() * c
        mat.diagonal(dim1=1, dim2=2).add_((z.abs() ** 2 - shift)[:, None])
        return mat

    def min_residual(self, z: Any, *, projected: bool = False, chunk: int = 64) -> torch.Tensor:
        r""":math:`\tau_N(z) = \min_g \mathrm{res}(z, g)` at complex points ``z`` (any shape): same shape, float64.

        The square of the smallest singular value of :math:`[C - zI; R]` is the smallest eigenvalue of
        :math:`(C - zI)^*(C - zI) + R^*R`; with ``projected=True`` the :math:`R^*R` term (the part of the image
        outside the span) is dropped, giving the pseudospectrum of the EDMD matrix alone. One Hermitian
        eigenvalue problem of size r per point; ``pseudospectrum`` needs only a Cholesky test per point.
        """
        self._fitted()
        z = torch.as_tensor(z).to(torch.complex128)
        flat = z.reshape(-1)
        out = [torch.linalg.eigvalsh(self._pencil(flat[i:i + chunk], projected))[:, 0].clamp_min(0.0).sqrt()
               for i in range(0, flat.numel(), chunk)]
        return torch.cat(out).reshape(z.shape) if out else torch.zeros(z.shape, dtype=_F64)

    def pseudospectrum(self, grid: Any, eps: float, *, projected: bool = False, chunk: int = 64) -> torch.Tensor:
        r"""Boolean mask of the points of ``grid`` (complex, any shape) in the approximate
        :math:`\varepsilon`-pseudospectrum :math:`\{z: \tau_N(z) < \varepsilon\}`: :math:`\tau_N(z) <
        \varepsilon` exactly when :math:`(C - zI)^*(C - zI) + R^*R - \varepsilon^2 I` is not positive definite,
        which a Cholesky factorisation tells (about 30x cheaper than the eigenvalues of ``min_residual``)."""
        self._fitted()
        eps = check_float("eps", eps, min_value=0.0, strict_min=True)
        z = torch.as_tensor(grid).to(torch.complex128)
        flat = z.reshape(-1)
        out = [torch.linalg.cholesky_ex(self._pencil(flat[i:i + chunk], projected, eps ** 2)).info != 0
               for i in range(0, flat.numel(), chunk)]
        return torch.cat(out).reshape(z.shape) if out else torch.zeros(z.shape, dtype=torch.bool)


def pseudospectrum_band_fraction(mask: torch.Tensor, grid: torch.Tensor, width: float = 0.1) -> float:
    """Fraction of the (uniform-grid) area of a pseudospectrum ``mask`` lying within ``width`` of the unit circle;
    NaN for an empty mask."""
    band = ((grid.abs() - 1).abs() < width)
    total = int(mask.sum())
    return float("nan") if total == 0 else float((mask & band).sum()) / total


def unit_circle_distance(lam: torch.Tensor) -> torch.Tensor:
    """Distance of each complex number to the unit circle, ||lambda| - 1|."""
    return (torch.as_tensor(lam).abs() - 1).abs()


__all__ = ["DICTIONARIES", "EDMD", "RBF", "Dictionary", "Legendre", "Monomials", "ResDMD", "create_dictionary",
           "dictionary_names", "gram_matrices", "gram_residual", "legendre_table", "pseudospectrum_band_fraction",
           "total_degree_exponents", "unit_circle_distance"]
