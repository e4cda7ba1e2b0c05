"""Kronecker matvec, solve and log-determinant against the dense matrices on small grids."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basiskit.physics.kronecker import (kron_cholesky, kron_cholesky_logdet, kron_cholesky_solve, kron_dense,
                                        kron_logdet, kron_matvec, kron_solve, mode_product)


def spd(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, n, generator=g, dtype=torch.float64)
    return a @ a.T / n + 0.5 * torch.eye(n, dtype=torch.float64)


@settings(max_examples=20, deadline=None)
@given(sizes=st.lists(st.integers(1, 5), min_size=1, max_size=3), seed=st.integers(0, 1000))
def test_matvec_equals_dense(sizes: list[int], seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    factors = [torch.randn(n + 1, n, generator=g, dtype=torch.float64) for n in sizes]
    x = torch.randn(2, *sizes, generator=g, dtype=torch.float64)
    got = kron_matvec(factors, x)
    want = (kron_dense(factors) @ x.reshape(2, -1).T).T.reshape(2, *[n + 1 for n in sizes])
    torch.testing.assert_close(got, want)


@pytest.mark.parametrize("method", ["cholesky", "eigh"])
@pytest.mark.parametrize("sizes", [(7,), (4, 5), (3, 4, 2)])
def test_solve_and_logdet_equal_dense(method: str, sizes: tuple[int, ...]) -> None:
    factors = [spd(n, seed=n * 11 + j) for j, n in enumerate(sizes)]
    dense = kron_dense(factors)
    x = torch.randn(*sizes, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    got = kron_solve(factors, x, method=method)
    want = torch.linalg.solve(dense, x.reshape(-1)).reshape(sizes)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(kron_logdet(factors, method=method), torch.linalg.slogdet(dense)[1],
                               rtol=1e-10, atol=1e-10)


def test_shifted_solve_and_logdet_equal_dense() -> None:
    factors = [spd(4, 1), spd(6, 2)]
    dense = kron_dense(factors) + 0.3 * torch.eye(24, dtype=torch.float64)
    x = torch.randn(3, 4, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    got = kron_solve(factors, x, method="eigh", shift=0.3)
    want = torch.linalg.solve(dense, x.reshape(3, -1).T).T.reshape(3, 4, 6)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(kron_logdet(factors, method="eigh", shift=0.3), torch.linalg.slogdet(dense)[1])


def test_cholesky_helpers_and_gradients_match_dense() -> None:
    a = spd(3, 4).requires_grad_(True)
    b = spd(4, 5).requires_grad_(True)
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)

    def kron_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        chols = kron_cholesky([a, b])
        return (x * kron_cholesky_solve(chols, x)).sum() + kron_cholesky_logdet(chols)

    def dense_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        k = torch.kron(a, b)
        return x.reshape(-1) @ torch.linalg.solve(k, x.reshape(-1)) + torch.linalg.slogdet(k)[1]

    ga = torch.autograd.grad(kron_loss(a, b), (a, b))
    gd = torch.autograd.grad(dense_loss(a, b), (a, b))
    for g1, g2 in zip(ga, gd):
        torch.testing.assert_close(g1, g2, rtol=1e-9, atol=1e-9)


def test_mode_product_changes_one_axis() -> None:
    x = torch.randn(2, 3, 4, dtype=torch.float64)
    m = torch.randn(5, 3, dtype=torch.float64)
    out = mode_product(m, x, 1)
    assert out.shape == (2, 5, 4)
    torch.testing.assert_close(out, torch.einsum("ij,ajb->aib", m, x))


def test_bad_inputs_name_the_argument() -> None:
    k = spd(3, 0)
    with pytest.raises(ValueError, match="x must end with the grid shape"):
        kron_solve([k, k], torch.zeros(3, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="method"):
        kron_solve([k], torch.zeros(3, dtype=torch.float64), method="lu")
    with pytest.raises(ValueError, match="shift"):
        kron_solve([k], torch.zeros(3, dtype=torch.float64), shift=0.1)
    with pytest.raises(ValueError, match=r"factors\[1\] must be square"):
        kron_logdet([k, torch.zeros(2, 3, dtype=torch.float64)])
    with pytest.raises(TypeError, match="factors"):
        kron_matvec(k, torch.zeros(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="not positive definite"):
        kron_cholesky([-k])
