"""Lyapunov exponents: a linear system's closed form, Lorenz against the literature and its exact trace, bad inputs."""
import numpy as np
import pytest

import basiskit.dynamics as dyn
from basiskit.dynamics import lyapunov_spectrum, max_lyapunov


@pytest.mark.parametrize("matrix, expected", [
    (np.diag([0.5, -0.1, -1.0]), [0.5, -0.1, -1.0]),
    ([[0.3, 1.0, 0.0], [-1.0, 0.3, 0.0], [0.0, 0.0, -0.7]], [0.3, 0.3, -0.7]),  # a rotating pair
])
def test_linear_system_exponents_are_the_real_parts_of_the_eigenvalues(matrix, expected):
    s = dyn.linear_system(matrix)
    spec = lyapunov_spectrum(s, t_total=60.0, dt=0.02, initial_conditions=np.ones((2, 3)), align=0.2)
    np.testing.assert_allclose(spec, expected, atol=2e-2)
    assert max_lyapunov(s, t_total=60.0, dt=0.02, initial_conditions=np.ones(3)) == pytest.approx(expected[0],
                                                                                                 abs=2e-2)
    assert s.reference_lyapunov == pytest.approx(expected[0])


def test_lorenz_largest_exponent_within_10_percent_of_the_literature():
    lam = max_lyapunov("Lorenz", t_total=100.0, n_initial=2)
    assert abs(lam - 0.9056) / 0.9056 < 0.1


def test_lorenz_spectrum_sums_to_the_constant_divergence():
    # the divergence of the Lorenz field is -(sigma + 1 + beta) everywhere, so the exponents sum to it exactly
    spec = lyapunov_spectrum("Lorenz", t_total=60.0, n_initial=2)
    assert spec.sum() == pytest.approx(-(10 + 1 + 8 / 3), rel=1e-2)
    assert abs(spec[1]) < 0.1 and spec[0] > 0.7


def test_results_are_deterministic_in_the_seed():
    a = max_lyapunov("Rossler", t_total=30.0, seed=3, n_initial=2)
    b = max_lyapunov("Rossler", t_total=30.0, seed=3, n_initial=2)
    assert a == b


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="k must be <= 3"):
        lyapunov_spectrum("Lorenz", 4)
    with pytest.raises(ValueError, match="dt must be > 0"):
        max_lyapunov("Lorenz", dt=0.0)
    with pytest.raises(ValueError, match="steps"):
        max_lyapunov("Lorenz", t_total=0.01, dt=0.01)
    with pytest.raises(ValueError, match="NaN"):
        max_lyapunov("Lorenz", initial_conditions=[np.nan, 0.0, 0.0], t_total=1.0)
    with pytest.raises(ValueError, match="did you mean 'Lorenz'"):
        max_lyapunov("lorenz")
