import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basiskit.pde.operator_examples import (antiderivative, antiderivative_pairs, diffusion_reaction,
                                            diffusion_reaction_pairs, rbf_grf)


def test_rbf_grf_covariance_matches_the_kernel():
    x = torch.linspace(0, 1, 12, dtype=torch.float64)
    u = rbf_grf(x, 40_000, length_scale=0.3, sigma=1.5, generator=torch.Generator().manual_seed(0))
    emp = u.T @ u / u.shape[0]
    exact = 1.5 ** 2 * torch.exp(-(x[:, None] - x[None, :]) ** 2 / (2 * 0.3 ** 2))
    assert torch.allclose(emp, exact, atol=0.08)


@settings(max_examples=20, deadline=None)
@given(a=st.floats(-3, 3), b=st.floats(-3, 3), c=st.floats(0.5, 4))
def test_antiderivative_of_a_quadratic_is_second_order_exact(a, b, c):
    # the trapezoid rule on u = a + b x + c x^2: error c h^2 x / 6 at x (an O(h^2) closed form)
    x = torch.linspace(0, 1, 201, dtype=torch.float64)
    u = a + b * x + c * x ** 2
    s = antiderivative(u, x)
    exact = a * x + b * x ** 2 / 2 + c * x ** 3 / 3
    h = x[1] - x[0]
    assert torch.allclose(s - exact, c * h ** 2 * x / 6, atol=1e-12)


def test_antiderivative_pairs_shapes_and_derivative():
    u, s, x = antiderivative_pairs(5, 50, generator=torch.Generator().manual_seed(1))
    assert u.shape == s.shape == (5, 50) and x.shape == (50,)
    assert torch.all(s[:, 0] == 0)
    # the fine-grid antiderivative differentiates back to u (central differences, interior points)
    ds = (s[:, 2:] - s[:, :-2]) / (x[2:] - x[:-2])
    assert torch.allclose(ds, u[:, 1:-1], atol=2e-2 * float(u.abs().max()))


def test_diffusion_reaction_linear_case_matches_the_closed_form():
    # k = 0, u = sin(pi x): s = sin(pi x)(1 - exp(-D pi^2 t)) / (D pi^2); error O(h^2 + dt^2)
    errors = []
    for n_x in (21, 41):
        x = torch.linspace(0, 1, n_x, dtype=torch.float64)
        t = torch.linspace(0, 1, 11, dtype=torch.float64)
        u = torch.sin(math.pi * x)[None]
        s = diffusion_reaction(u, diffusivity=0.05, reaction=0.0, n_x=n_x, n_t=11, steps_per_output=20)[0]
        rate = 0.05 * math.pi ** 2
        exact = torch.sin(math.pi * x)[:, None] * (1 - torch.exp(-rate * t))[None, :] / rate
        errors.append(float((s - exact).abs().max()))
    assert errors[1] < 1e-3 and errors[0] / errors[1] > 3.5  # second order in space


def test_diffusion_reaction_reaction_term_converges_in_time():
    x = torch.linspace(0, 1, 33, dtype=torch.float64)
    u = (2 + torch.sin(3 * x))[None] * torch.sin(math.pi * x)[None]
    coarse, mid, fine = (diffusion_reaction(u, diffusivity=0.01, reaction=0.5, n_x=33, n_t=5, steps_per_output=k)
                         for k in (5, 10, 20))
    e1, e2 = float((coarse - fine).abs().max()), float((mid - fine).abs().max())
    assert e1 / e2 > 2.5  # about 3 for a second-order scheme against a finer run (4x then 2x)
    assert fine[0, 1:-1, -1].min() > 0  # a positive source and reaction drive s up


def test_diffusion_reaction_pairs_line_up():
    u, s, xt = diffusion_reaction_pairs(3, 11, 6, steps_per_output=2, generator=torch.Generator().manual_seed(0))
    assert u.shape == (3, 11) and s.shape == (3, 11, 6) and xt.shape == (66, 2)
    assert torch.allclose(xt.reshape(11, 6, 2)[:, 0, 0], torch.linspace(0, 1, 11, dtype=torch.float64))
    assert torch.all(s[:, :, 0] == 0) and torch.all(s[:, 0] == 0) and torch.all(s[:, -1] == 0)


def test_bad_inputs_name_the_argument():
    x = torch.linspace(0, 1, 5)
    with pytest.raises(ValueError, match="length_scale"):
        rbf_grf(x, 2, length_scale=0.0)
    with pytest.raises(ValueError, match="u: last dim must match"):
        antiderivative(torch.zeros(2, 4), x)
    with pytest.raises(ValueError, match=r"u must be \(batch, n_x=5\)"):
        diffusion_reaction(torch.zeros(2, 4), n_x=5)
    with pytest.raises(ValueError, match="n_t"):
        diffusion_reaction(torch.zeros(2, 5), n_x=5, n_t=1)
