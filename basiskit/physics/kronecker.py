r"""Kronecker-structured linear algebra on tensor grids, through per-dimension factors only.

For :math:`K = K_1 \otimes \dots \otimes K_d` with :math:`K_j` of size :math:`n_j \times n_j` and
:math:`N = \prod_j n_j`, a vector on the grid is kept as a tensor ``x: (*batch, n_1, ..., n_d)`` (row-major
``vec``), and

* :math:`K\,\mathrm{vec}(x)` is a product along each mode, :math:`O(N \sum_j n_j)` (``kron_matvec``);
* :math:`K^{-1}\mathrm{vec}(x)` applies :math:`K_j^{-1}` along each mode, through Cholesky factors or the
  eigendecompositions :math:`K_j = Q_j \Lambda_j Q_j^\top` (``kron_solve``); the eigen route also solves
  :math:`(K + \sigma^2 I)` since :math:`K + \sigma^2 I = (\otimes Q_j)(\otimes \Lambda_j + \sigma^2)(\otimes Q_j)^\top`;
* :math:`\log|K| = \sum_j (N / n_j) \log|K_j|` (``kron_logdet``).

The full :math:`N \times N` matrix is never formed (``kron_dense`` exists for tests on small grids).
Cost per call :math:`O(\sum_j n_j^3 + N \sum_j n_j)`, i.e. :math:`O(N^{1.5})` on a square 2-D grid.
Used by GP-HM (Fang et al., ICLR 2024) and the Kronecker GP literature (Saatci 2012).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from .._validation import check_choice, check_float, check_tensor

METHODS = ("cholesky", "eigh")


def _check_factors(factors: Sequence[torch.Tensor], square: bool = True) -> list[torch.Tensor]:
    if isinstance(factors, torch.Tensor) or not isinstance(factors, Sequence) or len(factors) == 0:
        raise TypeError(f"factors must be a non-empty list of 2-D tensors, got {type(factors).__name__}")
    for j, f in enumerate(factors):
        check_tensor(f"factors[{j}]", f, ndim=2)
        if square and f.shape[0] != f.shape[1]:
            raise ValueError(f"factors[{j}] must be square, got shape {tuple(f.shape)}")
    return list(factors)


def _check_grid(x: torch.Tensor, sizes: Sequence[int], arg: str = "x") -> None:
    check_tensor(arg, x, min_ndim=len(sizes))
    if tuple(x.shape[x.ndim - len(sizes):]) != tuple(sizes):
        raise ValueError(f"{arg} must end with the grid shape {tuple(sizes)}, got shape {tuple(x.shape)}")


def mode_product(matrix: torch.Tensor, x: torch.Tensor, dim: int) -> torch.Tensor:
    """Multiply ``x`` along axis ``dim`` by ``matrix: (m, n)``: ``x: (..., n, ...) -> (..., m, ...)``."""
    out = torch.tensordot(matrix, x, dims=([1], [dim]))
    return torch.movedim(out, 0, dim)


def _solve_along(x: torch.Tensor, dim: int, solve: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Apply a linear ``solve: (n, m) -> (n, m)`` to axis ``dim`` of ``x`` as one matrix right-hand side."""
    moved = torch.movedim(x, dim, 0)
    out = solve(moved.reshape(moved.shape[0], -1)).reshape(moved.shape)
    return torch.movedim(out, 0, dim)


def kron_matvec(factors: Sequence[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    r""":math:`(A_1 \otimes \dots \otimes A_d)\,\mathrm{vec}(x)` as a grid tensor.

    Args:
        factors: ``d`` matrices ``A_j: (m_j, n_j)`` (need not be square).
        x: ``(*batch, n_1, ..., n_d)``.
    Returns:
        ``(*batch, m_1, ..., m_d)``.
    """
    factors = _check_factors(factors, square=False)
    _check_grid(x, [f.shape[1] for f in factors])
    d, lead = len(factors), x.ndim - len(factors)
    for j in range(d):
        x = mode_product(factors[j], x, lead + j)
    return x


def kron_dense(factors: Sequence[torch.Tensor]) -> torch.Tensor:
    """The full Kronecker product ``(prod m_j, prod n_j)``; for tests and tiny grids only."""
    factors = _check_factors(factors, square=False)
    out = factors[0]
    for f in factors[1:]:
        out = torch.kron(out, f)
    return out


def kron_cholesky(factors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Lower Cholesky factors ``L_j`` of each ``K_j: (n_j, n_j)`` (symmetric positive definite)."""
    out = []
    for j, k in enumerate(_check_factors(factors)):
        chol, info = torch.linalg.cholesky_ex(k)
        if int(info) != 0:
            raise ValueError(f"factors[{j}] is not positive definite (Cholesky failed at column {int(info)}); "
                             "add jitter to the diagonal")
        out.append(chol)
    return out


def kron_cholesky_solve(chols: Sequence[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    r""":math:`(\otimes_j L_j L_j^\top)^{-1}\mathrm{vec}(x)` from lower Cholesky factors ``L_j: (n_j, n_j)``;
    ``x: (*batch, n_1, ..., n_d)`` -> same shape. Lets a caller factor once and reuse."""
    chols = _check_factors(chols)
    _check_grid(x, [c.shape[0] for c in chols])
    lead = x.ndim - len(chols)
    for j, chol in enumerate(chols):
        x = _solve_along(x, lead + j, lambda rhs, c=chol: torch.cholesky_solve(rhs, c))
    return x


def kron_triangular_solve(chols: Sequence[torch.Tensor], x: torch.Tensor, *, transpose: bool = False) -> torch.Tensor:
    r""":math:`(\otimes_j L_j)^{-1}\mathrm{vec}(x)`, or :math:`(\otimes_j L_j^\top)^{-1}\mathrm{vec}(x)` with
    ``transpose=True``, for lower-triangular ``L_j: (n_j, n_j)``; ``x: (*batch, n_1, ..., n_d)`` -> same shape."""
    chols = _check_factors(chols)
    _check_grid(x, [c.shape[0] for c in chols])
    lead = x.ndim - len(chols)
    for j, chol in enumerate(chols):
        tri = chol.mT if transpose else chol
        x = _solve_along(x, lead + j, lambda rhs, t=tri: torch.linalg.solve_triangular(t, rhs, upper=transpose))
    return x


def kron_cholesky_logdet(chols: Sequence[torch.Tensor]) -> torch.Tensor:
    r""":math:`\log|\otimes_j L_j L_j^\top| = \sum_j (N/n_j)\, 2\sum_i \log (L_j)_{ii}` (scalar)."""
    chols = _check_factors(chols)
    sizes = [c.shape[0] for c in chols]
    total = math.prod(sizes)
    return sum((total // n) * 2 * torch.log(torch.diagonal(c)).sum() for c, n in zip(chols, sizes))


def kron_eigh(factors: Sequence[torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``(eigenvalues: (n_j,), eigenvectors: (n_j, n_j))`` of each symmetric ``K_j``."""
    return [torch.linalg.eigh(k) for k in _check_factors(factors)]


def _eig_grid(eigvals: Sequence[torch.Tensor]) -> torch.Tensor:
    """Eigenvalues of the Kronecker product as a grid tensor ``(n_1, ..., n_d)`` (outer product)."""
    lam = eigvals[0]
    for v in eigvals[1:]:
        lam = lam.unsqueeze(-1) * v
    return lam


def kron_solve(factors: Sequence[torch.Tensor], x: torch.Tensor, *, method: str = "cholesky",
               shift: float = 0.0) -> torch.Tensor:
    r""":math:`(K_1 \otimes \dots \otimes K_d + \mathrm{shift}\, I)^{-1}\mathrm{vec}(x)` as a grid tensor.

    Args:
        factors: symmetric positive definite ``K_j: (n_j, n_j)``.
        x: ``(*batch, n_1, ..., n_d)``.
        method: ``"cholesky"`` (``shift`` must be 0) or ``"eigh"`` (any ``shift >= 0``).
    Returns:
        ``(*batch, n_1, ..., n_d)``.
    """
    factors = _check_factors(factors)
    check_choice("method", method, METHODS)
    shift = check_float("shift", shift, min_value=0.0)
    _check_grid(x, [f.shape[0] for f in factors])
    if method == "cholesky":
        if shift != 0.0:
            raise ValueError(f"shift={shift} needs method='eigh' (a shifted Kronecker product has no "
                             "Kronecker Cholesky factor)")
        return kron_cholesky_solve(kron_cholesky(factors), x)
    pairs = kron_eigh(factors)
    z = kron_matvec([q.mT for _, q in pairs], x)
    z = z / (_eig_grid([lam for lam, _ in pairs]) + shift)
    return kron_matvec([q for _, q in pairs], z)


def kron_logdet(factors: Sequence[torch.Tensor], *, method: str = "cholesky", shift: float = 0.0) -> torch.Tensor:
    r""":math:`\log|K_1 \otimes \dots \otimes K_d + \mathrm{shift}\,I|`; without shift
    :math:`\sum_j (N / n_j) \log|K_j|`, with shift (``method="eigh"``) a sum over the :math:`N` products of
    per-dimension eigenvalues (a length-``N`` vector, never an ``N x N`` matrix). Returns a scalar."""
    factors = _check_factors(factors)
    check_choice("method", method, METHODS)
    shift = check_float("shift", shift, min_value=0.0)
    sizes = [f.shape[0] for f in factors]
    total = math.prod(sizes)
    if method == "cholesky":
        if shift != 0.0:
            raise ValueError(f"shift={shift} needs method='eigh'")
        return kron_cholesky_logdet(kron_cholesky(factors))
    eigvals = [lam for lam, _ in kron_eigh(factors)]
    if shift == 0.0:
        return sum((total // n) * torch.log(lam).sum() for lam, n in zip(eigvals, sizes))
    return torch.log(_eig_grid(eigvals) + shift).sum()
