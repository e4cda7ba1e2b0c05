"""Spectral-mixture and Student-t-mixture kernels: closed-form derivatives against autograd and finite
differences, the kernel against the numerical inverse Fourier transform of its spectrum, bad inputs."""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basiskit.physics.kernels_sm import (KERNELS, mixture_kernel, mixture_kernel_matrix, spectral_density,
                                         spectral_mixture, student_t_mixture)


def params(q: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    log_w = torch.randn(q, generator=g, dtype=torch.float64) * 0.5
    log_s = torch.rand(q, generator=g, dtype=torch.float64) * 1.5 - 1.5
    mu = torch.rand(q, generator=g, dtype=torch.float64) * 3
    return log_w, log_s, mu


@pytest.mark.parametrize("kind", KERNELS)
def test_derivatives_match_autograd(kind: str) -> None:
    log_w, log_s, mu = params()
    # lags away from 0 (|r| is not differentiable there for autograd; the closed form is)
    r = torch.cat([torch.linspace(-2.0, -0.01, 40), torch.linspace(0.01, 2.0, 40)]).double().requires_grad_(True)
    k0 = mixture_kernel(kind, r, log_w, log_s, mu, 0)
    (d1,) = torch.autograd.grad(k0.sum(), r, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), r)
    torch.testing.assert_close(mixture_kernel(kind, r, log_w, log_s, mu, 1), d1, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(mixture_kernel(kind, r, log_w, log_s, mu, 2), d2, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("kind", KERNELS)
def test_derivatives_at_zero_lag_match_finite_differences(kind: str) -> None:
    log_w, log_s, mu = params(seed=3)
    h = 1e-4
    r = torch.tensor([-h, 0.0, h], dtype=torch.float64)
    k = mixture_kernel(kind, r, log_w, log_s, mu, 0)
    k1 = mixture_kernel(kind, r, log_w, log_s, mu, 1)
    second_fd = (k[0] - 2 * k[1] + k[2]) / h ** 2
    assert abs(float(k1[1])) < 1e-12  # the kernel is even, so k'(0) = 0
    torch.testing.assert_close(mixture_kernel(kind, r[1:2], log_w, log_s, mu, 2)[0], second_fd,
                               rtol=1e-5, atol=1e-5)


@settings(max_examples=20, deadline=None)
@given(r=st.floats(-3, 3), mu=st.floats(0, 4), log_s=st.floats(-2, 0.5), log_w=st.floats(-2, 1))
def test_single_component_spectral_mixture_closed_form(r: float, mu: float, log_s: float, log_w: float) -> None:
    t = torch.tensor
    got = spectral_mixture(t([r], dtype=torch.float64), t([log_w], dtype=torch.float64),
                           t([log_s], dtype=torch.float64), t([mu], dtype=torch.float64))
    s = math.exp(log_s)
    want = math.exp(log_w) * math.exp(-2 * math.pi ** 2 * s ** 2 * r ** 2) * math.cos(2 * math.pi * mu * r)
    assert abs(float(got) - want) < 1e-12


@pytest.mark.parametrize("kind", KERNELS)
def test_kernel_is_inverse_fourier_transform_of_spectrum(kind: str) -> None:
    """Wiener-Khinchin: k(r) = int S(xi) cos(2 pi xi r) d xi, by trapezoid quadrature on a wide, fine grid."""
    log_w, log_s, mu = params(q=3, seed=1)
    xi = torch.linspace(-400.0, 400.0, 200_001, dtype=torch.float64)
    dens = spectral_density(kind, xi, log_w, log_s, mu)
    for r in (0.0, 0.13, 0.7):
        numeric = torch.trapezoid(dens * torch.cos(2 * math.pi * xi * r), xi)
        closed = mixture_kernel(kind, torch.tensor([r], dtype=torch.float64), log_w, log_s, mu)[0]
        assert abs(float(numeric - closed)) < 2e-4 * float(log_w.exp().sum())


def test_student_t_mixture_is_matern52_times_cosine() -> None:
    ell, mu = 0.4, 1.7
    s = 1 / (2 * math.pi * ell)  # spectral scale of a Matern-5/2 with length scale ell
    r = torch.linspace(-2, 2, 21, dtype=torch.float64)
    got = student_t_mixture(r, torch.zeros(1, dtype=torch.float64), torch.tensor([math.log(s)], dtype=torch.float64),
                            torch.tensor([mu], dtype=torch.float64))
    a = math.sqrt(5) * r.abs() / ell
    want = (1 + a + a ** 2 / 3) * torch.exp(-a) * torch.cos(2 * math.pi * mu * r)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_kernel_matrix_is_symmetric_positive_semidefinite() -> None:
    log_w, log_s, mu = params(q=5, seed=2)
    x = torch.linspace(0, 3, 60, dtype=torch.float64)
    for kind in KERNELS:
        k = mixture_kernel_matrix(kind, x, x, log_w, log_s, mu)
        torch.testing.assert_close(k, k.T)
        assert float(torch.linalg.eigvalsh(k).min()) > -1e-8 * float(k.diagonal().max())


def test_gradients_reach_every_parameter() -> None:
    log_w, log_s, mu = (p.clone().requires_grad_(True) for p in params())
    r = torch.linspace(-1, 1, 11, dtype=torch.float64)
    for kind in KERNELS:
        for order in (0, 1, 2):
            out = mixture_kernel(kind, r, log_w, log_s, mu, order).pow(2).sum()
            grads = torch.autograd.grad(out, (log_w, log_s, mu))
            assert all(torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads)


def test_bad_inputs_name_the_argument() -> None:
    log_w, log_s, mu = params()
    r = torch.zeros(3, dtype=torch.float64)
    with pytest.raises(ValueError, match="kernel"):
        mixture_kernel("rbf_mixture", r, log_w, log_s, mu)
    with pytest.raises(ValueError, match="order"):
        spectral_mixture(r, log_w, log_s, mu, order=3)
    with pytest.raises(ValueError, match="log_weights, log_scales and freqs"):
        spectral_mixture(r, log_w[:2], log_s, mu)
    with pytest.raises(ValueError, match="log_scales"):
        student_t_mixture(r, log_w, log_s[None], mu)
    with pytest.raises(ValueError, match="x1"):
        mixture_kernel_matrix("spectral_mixture", r[None], r, log_w, log_s, mu)
