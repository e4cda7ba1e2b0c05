"""basiskit.hebbian.dense: energies against explicit coupling tensors, exact flip energies, the closed-form best
overlap against exact fractions and a simulation, zero-temperature and Glauber dynamics, Hopfield capacity, errors."""
from __future__ import annotations

import itertools
import math
from fractions import Fraction

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basiskit.hebbian.dense import (
    DenseHebbian,
    best_overlap,
    dataset_entropy,
    dense_energy,
    flip_energy,
    hopfield,
    local_fields,
    mattis_overlap,
    normalised_patterns,
    overlaps,
    retrieve,
    sample_examples,
    sign_with_random_ties,
)


def _spins(*shape: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.where(torch.rand(*shape, generator=g) < 0.5, -1.0, 1.0).double()


def _data(K: int, N: int, M: int = 5, r: float = 0.6, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    xi, eta = sample_examples(K, N, M, r, generator=torch.Generator().manual_seed(seed))
    return xi, eta.mean(1)


def _exact_best(r: Fraction, M: int) -> Fraction:
    p = (1 + r) / 2
    return sum((Fraction(math.comb(M, k)) * p**k * (1 - p) ** (M - k) * (1 if 2 * k > M else -1)
                for k in range(M + 1) if 2 * k != M), Fraction(0))


# ---- closed form --------------------------------------------------------------------------------------
def test_best_overlap_limits_and_the_issue_value():
    assert best_overlap(1.0, 7) == 1.0
    assert best_overlap(0.37, 1) == pytest.approx(0.37, abs=1e-14)
    assert best_overlap(0.37, 2) == pytest.approx(0.37, abs=1e-14)  # the tie at k = 1 is a fair coin
    value = best_overlap(0.3, 30)
    assert value == pytest.approx(float(_exact_best(Fraction(3, 10), 30)), abs=1e-13)
    assert 0.90 < value < 0.91  # "about 0.9" (issue 16)


@settings(max_examples=40, deadline=None)
@given(num=st.integers(1, 20), M=st.integers(1, 60))
def test_best_overlap_equals_the_exact_binomial_sum_in_fractions(num, M):
    r = Fraction(num, 20)
    assert best_overlap(float(r), M) == pytest.approx(float(_exact_best(r, M)), abs=1e-12)


@pytest.mark.parametrize("r,M", [(0.3, 30), (0.2, 8), (0.5, 3)])
def test_best_overlap_matches_a_simulation_of_the_example_mean_sign(r, M):
    g = torch.Generator().manual_seed(1)
    xi, eta = sample_examples(400, 250, M, r, generator=g)
    m = (sign_with_random_ties(eta.sum(1), generator=g) * xi).mean()
    sd = math.sqrt((1 - best_overlap(r, M) ** 2) / xi.numel())
    assert abs(float(m) - best_overlap(r, M)) < 5 * sd


def test_best_overlap_grows_with_more_examples_and_better_ones():
    assert best_overlap(0.3, 10) < best_overlap(0.3, 30) < best_overlap(0.3, 100)
    assert best_overlap(0.2, 30) < best_overlap(0.3, 30)


def test_dataset_entropy():
    assert dataset_entropy(0.3, 30) == pytest.approx(0.91 / 2.7)
    assert dataset_entropy(1.0, 5) == 0.0


def test_sample_examples_shapes_and_quality():
    xi, eta = sample_examples(50, 100, 40, 0.4, generator=torch.Generator().manual_seed(0))
    assert xi.shape == (50, 100) and eta.shape == (50, 40, 100)
    assert set(torch.unique(eta).tolist()) == {-1.0, 1.0}
    agree = (eta * xi[:, None, :] > 0).double().mean()
    assert float(agree) == pytest.approx(0.7, abs=0.01)  # (1 + r) / 2


def test_sign_with_random_ties_keeps_signs_and_breaks_ties_both_ways():
    x = torch.tensor([2.0, -0.5] + [0.0] * 200)
    s = sign_with_random_ties(x, generator=torch.Generator().manual_seed(0))
    assert s[:2].tolist() == [1.0, -1.0]
    assert set(s[2:].tolist()) == {-1.0, 1.0}


# ---- energy and fields against explicit couplings ---------------------------------------------------------
def test_p2_energy_is_the_hopfield_quadratic_form():
    xi = _spins(6, 40)
    sigma = _spins(3, 40, seed=1)
    J = xi.T @ xi / 40
    expected = -0.5 * torch.einsum("bi,ij,bj->b", sigma, J, sigma)
    torch.testing.assert_close(dense_energy(sigma, xi, 2), expected)


def test_p3_energy_and_fields_against_the_coupling_tensor():
    _, mean = _data(4, 12)
    X = normalised_patterns(mean)
    N = 12
    J = torch.einsum("mi,mj,mk->ijk", X, X, X) / N**2  # H = -(N/2) sum n^3 = -(1/(2 N^2)) sum J sss
    sigma = _spins(5, N, seed=2)
    expected = -0.5 * torch.einsum("ijk,bi,bj,bk->b", J, sigma, sigma, sigma)
    torch.testing.assert_close(dense_energy(sigma, mean, 3), expected)
    fields = 1.5 * torch.einsum("ijk,bj,bk->bi", J, sigma, sigma)
    torch.testing.assert_close(local_fields(sigma, mean, 3), fields)


@pytest.mark.parametrize("P", [2, 3, 4, 5])
def test_fields_are_minus_the_gradient_of_the_energy(P):
    _, mean = _data(7, 30)
    sigma = _spins(4, 30, seed=3).requires_grad_(True)
    X = normalised_patterns(mean)
    energy = -0.5 * 30 * ((sigma @ X.T) / 30).pow(P).sum()
    (grad,) = torch.autograd.grad(energy, sigma)
    torch.testing.assert_close(local_fields(sigma.detach(), mean, P), -grad)
    torch.testing.assert_close(dense_energy(sigma.detach(), mean, P), -0.5 * 30 * overlaps(sigma.detach(), mean)
                               .pow(P).sum(-1))


def test_plus_minus_one_patterns_are_not_rescaled():
    xi = _spins(5, 20)
    torch.testing.assert_close(normalised_patterns(xi), xi)
    torch.testing.assert_close(mattis_overlap(xi[:2], xi), overlaps(xi[:2], xi))


@settings(max_examples=25, deadline=None)
@given(P=st.integers(2, 6), N=st.integers(2, 24), K=st.integers(1, 12), seed=st.integers(0, 10_000))
def test_flip_energy_equals_recomputing_the_energy(P, N, K, seed):
    _, mean = _data(K, N, seed=seed)
    sigma = _spins(3, N, seed=seed + 1)
    delta = flip_energy(sigma, mean, P)
    e0 = dense_energy(sigma, mean, P)
    flipped = sigma[:, None, :].repeat(1, N, 1)
    flipped[:, torch.arange(N), torch.arange(N)] *= -1
    torch.testing.assert_close(delta, dense_energy(flipped, mean, P) - e0[:, None], atol=1e-10, rtol=1e-9)


def test_flip_energy_first_order_part_is_two_sigma_h():
    _, mean = _data(10, 50)
    X = normalised_patterns(mean)
    sigma = _spins(2, 50, seed=4)
    # P = 2: the difference is exactly the self-coupling term 2 sum_mu X_mu,i^2 / N
    exact2 = flip_energy(sigma, mean, 2)
    torch.testing.assert_close(exact2, 2 * sigma * local_fields(sigma, mean, 2) - 2 * X.pow(2).sum(0) / 50)
    # P = 4: not equal to 2 sigma h; near a stored pattern (overlap ~1) the rest is O(P / N) relative to it
    exact4 = flip_energy(sigma, mean, 4)
    first = 2 * sigma * local_fields(sigma, mean, 4)
    assert float((exact4 - first).abs().max()) > 1e-3

    def relative_rest(N: int) -> float:
        _, m = _data(10, N, seed=1)
        near = torch.sign(m[:2])
        first = 2 * near * local_fields(near, m, 4)
        return float(((flip_energy(near, m, 4) - first) / first).abs().median())

    small, large = relative_rest(50), relative_rest(400)
    assert 0.02 < small < 0.3
    assert 5 < small / large < 12  # ~ 1 / N


# ---- dynamics ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("P", [2, 3, 4, 6])
def test_the_sweeps_site_by_site_flip_energies_equal_the_reference(P):
    from basiskit.hebbian.dense import _SiteFlips

    _, mean = _data(25, 40, seed=P)
    X = normalised_patterns(mean)
    sigma = _spins(6, 40, seed=11)
    n = sigma @ X.T / 40
    sites = _SiteFlips(X, P)
    fast = torch.stack([sites.delta(n, sigma[:, i], i) for i in range(40)], -1)
    torch.testing.assert_close(fast, flip_energy(sigma, mean, P), atol=1e-12, rtol=1e-10)


@settings(max_examples=15, deadline=None)
@given(P=st.integers(2, 5), N=st.integers(8, 60), K=st.integers(1, 40), seed=st.integers(0, 10_000))
def test_zero_temperature_sequential_dynamics_never_raise_the_energy_and_end_at_a_fixed_point(P, N, K, seed):
    _, mean = _data(K, N, seed=seed)
    sigma0 = _spins(4, N, seed=seed + 7)
    out = retrieve(sigma0, mean, P, 200, generator=torch.Generator().manual_seed(seed), return_energies=True)
    e = out.energies
    assert bool((e[1:] <= e[:-1] + 1e-9).all())
    assert out.sweeps_run < 200  # reached a fixed point
    assert bool((flip_energy(out.sigma, mean, P) >= -1e-8).all())
    torch.testing.assert_close(e[-1], dense_energy(out.sigma, mean, P))


def test_energy_decreases_sweep_by_sweep_when_resumed_from_the_returned_state():
    _, mean = _data(30, 40, seed=5)
    sigma = _spins(1, 40, seed=6)
    energies = [float(dense_energy(sigma, mean, 4))]
    for _ in range(40):  # one sweep per call, each resumed from the state the last one returned
        sigma = retrieve(sigma, mean, 4, 1, generator=torch.Generator().manual_seed(len(energies)))
        energies.append(float(dense_energy(sigma, mean, 4)))
    assert all(b <= a + 1e-12 for a, b in itertools.pairwise(energies))
    assert energies[-1] < energies[0]


def _retrieval_overlaps(P: int, N: int, K: int, noise: float, seed: int = 0, mode: str = "sequential",
                        runs: int = 10) -> torch.Tensor:
    xi = _spins(K, N, seed=seed)
    g = torch.Generator().manual_seed(seed + 1)
    flips = torch.where(torch.rand(runs, N, generator=g) < noise, -1.0, 1.0).double()
    out = retrieve(xi[:runs] * flips, xi, P, 50, generator=g, mode=mode)
    return (out * xi[:runs]).mean(-1)


@pytest.mark.parametrize("mode", ["sequential", "parallel"])
def test_hopfield_retrieves_below_capacity(mode):
    m = _retrieval_overlaps(2, 400, 20, noise=0.1, mode=mode)  # K / N = 0.05
    assert float(m.min()) >= 0.97


def test_hopfield_fails_far_above_capacity_where_p4_still_retrieves():
    m2 = _retrieval_overlaps(2, 200, 100, noise=0.0)  # K / N = 0.5, even starting on the pattern
    assert float(m2.mean()) <= 0.5
    m4 = _retrieval_overlaps(4, 200, 100, noise=0.1)
    assert float(m4.min()) >= 0.99


def test_glauber_sequential_dynamics_sample_the_boltzmann_distribution():
    N, beta, P = 4, 1.5, 3
    _, mean = _data(2, N, M=3, seed=8)
    states = torch.tensor(list(itertools.product([-1.0, 1.0], repeat=N))).double()
    weights = torch.exp(-beta * dense_energy(states, mean, P))
    boltzmann = weights / weights.sum()
    chains = 20_000
    g = torch.Generator().manual_seed(9)
    out = retrieve(_spins(chains, N, seed=10), mean, P, 25, beta, generator=g)
    codes = ((out > 0).long() * (2 ** torch.arange(N - 1, -1, -1))).sum(-1)
    empirical = torch.bincount(codes, minlength=2**N).double() / chains
    sd = (boltzmann * (1 - boltzmann) / chains).sqrt()
    assert bool(((empirical - boltzmann).abs() <= 5 * sd + 1e-3).all()), (empirical, boltzmann)


def test_high_temperature_forgets_and_large_beta_retrieves():
    xi = _spins(10, 300)
    g = torch.Generator().manual_seed(0)
    hot = retrieve(xi[:5], xi, 2, 20, beta=0.05, generator=g)
    cold = retrieve(xi[:5], xi, 2, 20, beta=20.0, generator=g)
    assert float((hot * xi[:5]).mean(-1).abs().max()) < 0.3
    assert float((cold * xi[:5]).mean(-1).min()) > 0.95
    par = retrieve(xi[:5], xi, 2, 20, beta=20.0, mode="parallel", generator=g)
    assert float((par * xi[:5]).mean(-1).min()) > 0.95


def test_retrieve_keeps_batch_shape_and_input():
    xi = _spins(5, 30)
    sigma0 = xi[:4].reshape(2, 2, 30).clone()
    out = retrieve(sigma0, xi, 3, 5, generator=torch.Generator().manual_seed(0), return_energies=True)
    assert out.sigma.shape == (2, 2, 30) and out.energies.shape[1:] == (2, 2)
    torch.testing.assert_close(sigma0, xi[:4].reshape(2, 2, 30))


# ---- the network ------------------------------------------------------------------------------------------
def test_dense_hebbian_fit_retrieve_and_classify():
    g = torch.Generator().manual_seed(0)
    xi, eta = sample_examples(40, 200, 20, 0.5, generator=g)
    net = DenseHebbian(4).fit(eta)
    torch.testing.assert_close(net.patterns, eta.mean(1))
    start = xi * torch.where(torch.rand(40, 200, generator=g) < 0.3, -1.0, 1.0).double()
    assert bool((net.classify(start, generator=g) == torch.arange(40)).all())
    out = net.retrieve(start, generator=g)
    best = (net.example_sign(generator=g) * xi).mean(-1)
    assert float(((out * xi).mean(-1) - best).abs().max()) <= 0.05
    torch.testing.assert_close(net.energy(out), dense_energy(out, net.patterns, 4))
    torch.testing.assert_close(net.local_fields(out), local_fields(out, net.patterns, 4))
    assert "P=4, K=40, N=200" in repr(net)
    other = DenseHebbian(4)
    other.load_state_dict(net.state_dict())
    torch.testing.assert_close(other.patterns, net.patterns)


def test_hopfield_is_the_p2_network():
    xi = _spins(10, 300).long()
    net = hopfield(xi)
    assert isinstance(net, DenseHebbian) and net.P == 2
    out = net(xi[:3].double())
    torch.testing.assert_close(out, xi[:3].double())


# ---- errors -----------------------------------------------------------------------------------------------
def test_bad_interaction_order_raises():
    xi = _spins(3, 10)
    with pytest.raises(ValueError, match="P must be >= 2"):
        dense_energy(xi, xi, 1)
    with pytest.raises(TypeError, match="P must be an int"):
        local_fields(xi, xi, 2.5)
    with pytest.raises(ValueError, match="P must be >= 2"):
        DenseHebbian(0)


def test_non_binary_inputs_raise():
    xi = _spins(3, 10)
    with pytest.raises(ValueError, match="sigma must hold only -1 and \\+1"):
        dense_energy(xi * 0.5, xi, 2)
    with pytest.raises(ValueError, match="examples must hold only -1 and \\+1"):
        DenseHebbian(3).fit(torch.zeros(2, 3, 10))
    with pytest.raises(ValueError, match="patterns must hold only"):
        hopfield(torch.randn(3, 10))
    with pytest.raises(ValueError, match="archetypes must hold only"):
        mattis_overlap(xi, xi * 2)


@pytest.mark.parametrize("r", [0.0, -0.2, 1.5])
def test_quality_outside_the_unit_interval_raises(r):
    with pytest.raises(ValueError, match="r \\(example quality"):
        best_overlap(r, 5)
    with pytest.raises(ValueError, match="r \\(example quality"):
        sample_examples(2, 3, 4, r)
    with pytest.raises(ValueError, match="r \\(example quality"):
        dataset_entropy(r, 4)


def test_bad_shapes_and_arguments_raise():
    xi = _spins(3, 10)
    with pytest.raises(ValueError, match="sigma must have shape \\(..., N\\) with N = 10"):
        dense_energy(_spins(2, 11), xi, 2)
    with pytest.raises(ValueError, match="examples_mean must have 2 dims"):
        local_fields(xi[0], xi[0], 2)
    with pytest.raises(ValueError, match="examples must have 3 dims"):
        DenseHebbian(3).fit(xi)
    with pytest.raises(ValueError, match="all zeros"):
        overlaps(xi, torch.zeros(3, 10))
    with pytest.raises(ValueError, match="beta"):
        retrieve(xi, xi, 2, 3, beta=0.0)
    with pytest.raises(ValueError, match="mode"):
        retrieve(xi, xi, 2, 3, mode="async")
    with pytest.raises(ValueError, match="sweeps must be >= 0"):
        retrieve(xi, xi, 2, -1)
    with pytest.raises(ValueError, match="M must be >= 1"):
        best_overlap(0.5, 0)
    with pytest.raises(RuntimeError, match="call fit"):
        DenseHebbian(3).energy(xi)
