r"""Steady 2-D Darcy flow :math:`-\nabla\cdot(a\nabla u) = f` on the unit square, :math:`u = 0` on the boundary.

Five-point finite differences on the uniform grid :math:`x_i = i h`, :math:`h = 1/(n-1)` (boundary included),
with the coefficient averaged onto the cell faces, :math:`a_{i+1/2,j} = (a_{i,j} + a_{i+1,j})/2`:

.. math::
    \frac{1}{h^2}\Big[a_{i+\frac12,j}(u_{i,j}-u_{i+1,j}) + a_{i-\frac12,j}(u_{i,j}-u_{i-1,j})
    + a_{i,j+\frac12}(u_{i,j}-u_{i,j+1}) + a_{i,j-\frac12}(u_{i,j}-u_{i,j-1})\Big] = f_{i,j}.

The symmetric positive-definite system is assembled from its five diagonals (``scipy.sparse``) and solved by a
sparse LU factorisation per sample; second-order accurate for smooth ``a`` and ``u``. Li et al. 2020 (FNO)
draw :math:`a = \psi(\text{GRF})` with :math:`\psi` mapping positive values to 12 and the rest to 3
(``threshold_coefficient``).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from .._validation import check_float


def darcy_matrix(a: np.ndarray) -> "scipy.sparse.csc_matrix":  # noqa: F821
    """The finite-difference operator on the interior nodes for nodal coefficients ``a``: (n, n) ->
    sparse ((n-2)^2, (n-2)^2), unknowns ordered row-major over (x index, y index)."""
    import scipy.sparse as sp

    n = a.shape[0]
    m = n - 2
    h2 = (1.0 / (n - 1)) ** 2
    centre = a[1:-1, 1:-1]
    east = 0.5 * (centre + a[2:, 1:-1])
    west = 0.5 * (centre + a[:-2, 1:-1])
    north = 0.5 * (centre + a[1:-1, 2:])
    south = 0.5 * (centre + a[1:-1, :-2])
    diag = ((east + west + north + south) / h2).ravel()
    up = -north / h2
    up[:, -1] = 0.0  # no coupling across the end of an x-row of unknowns
    up = up.ravel()[:-1]
    far = (-east[:-1, :] / h2).ravel()
    return sp.diags([far, up, diag, up, far], [-m, -1, 0, 1, m], shape=(m * m, m * m), format="csc")


def _source(f: float | np.ndarray | Callable[[np.ndarray, np.ndarray], np.ndarray], n: int) -> np.ndarray:
    if callable(f):
        x = np.linspace(0.0, 1.0, n)
        xx, yy = np.meshgrid(x, x, indexing="ij")
        return np.asarray(f(xx, yy), dtype=np.float64) * np.ones((n, n))
    if np.isscalar(f):
        return np.full((n, n), float(f))
    arr = np.asarray(f, dtype=np.float64)
    if arr.shape != (n, n):
        raise ValueError(f"f must be a number, a callable f(x, y) or an array of shape {(n, n)}, got {arr.shape}")
    return arr


def darcy_2d(a: torch.Tensor | np.ndarray, f: float | np.ndarray | Callable[..., np.ndarray] = 1.0,
             permc_spec: str = "MMD_AT_PLUS_A") -> torch.Tensor:
    r"""Solve :math:`-\nabla\cdot(a\nabla u) = f`, :math:`u|_{\partial\Omega} = 0` on :math:`[0, 1]^2`.

    Args:
        a: nodal coefficients on the grid including the boundary, (n, n) or (batch, n, n), all > 0.
        f: source: a number, a callable ``f(x, y)`` on the meshgrid (indexing "ij"), or an (n, n) array.
        permc_spec: SuperLU column ordering (MMD_AT_PLUS_A suits this symmetric pattern).

    Returns:
        u with the shape of ``a`` (float64 tensor), zero on the boundary rows and columns.
    """
    from scipy.sparse.linalg import splu

    arr = a.detach().cpu().double().numpy() if isinstance(a, torch.Tensor) else np.asarray(a, dtype=np.float64)
    single = arr.ndim == 2
    if single:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1] != arr.shape[2]:
        raise ValueError(f"a must have shape (n, n) or (batch, n, n), got {tuple(np.shape(a))}")
    n = arr.shape[1]
    if n < 3:
        raise ValueError(f"a needs at least 3 grid points per side (one interior node), got n={n}")
    if not np.all(np.isfinite(arr)) or arr.min() <= 0:
        raise ValueError(f"a must be finite and > 0 everywhere, got min {float(np.nanmin(arr)):.3g}")
    rhs = _source(f, n)[1:-1, 1:-1].ravel()
    out = np.zeros_like(arr)
    for b in range(arr.shape[0]):
        lu = splu(darcy_matrix(arr[b]), permc_spec=permc_spec)
        out[b, 1:-1, 1:-1] = lu.solve(rhs).reshape(n - 2, n - 2)
    u = torch.from_numpy(out)
    return u[0] if single else u


def threshold_coefficient(psi: torch.Tensor, high: float = 12.0, low: float = 3.0) -> torch.Tensor:
    """:math:`a = \\psi(\\text{field})`: ``high`` where the field is >= 0, ``low`` elsewhere (FNO's Darcy data)."""
    check_float("high", high, min_value=0.0, strict_min=True)
    check_float("low", low, min_value=0.0, strict_min=True)
    return torch.where(psi >= 0, torch.as_tensor(high, dtype=psi.dtype), torch.as_tensor(low, dtype=psi.dtype))
