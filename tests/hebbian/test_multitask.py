"""basiskit.hebbian.multitask: data model, Hebbian couplings, dynamics and overlaps against closed forms."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basiskit.hebbian.multitask import (
    MultitaskNetwork,
    cue_state,
    diluted_patterns,
    example_quality_factor,
    examples,
    glauber,
    hebbian_couplings,
    hierarchical_amplitudes,
    hierarchical_state,
    mattis_overlaps,
    zero_temperature,
)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------------------------------------ data model
def test_diluted_patterns_frequencies_match_the_distribution():
    d, n = 0.3, 200_000
    xi = diluted_patterns(1, n, d, gen(1))
    assert xi.shape == (1, n) and xi.dtype == torch.float32
    tol = 5 * math.sqrt(0.25 / n)  # five binomial standard deviations
    assert abs(float((xi == 0).float().mean()) - d) < tol
    assert abs(float((xi == 1).float().mean()) - (1 - d) / 2) < tol
    assert abs(float((xi == -1).float().mean()) - (1 - d) / 2) < tol


def test_dilution_extremes():
    assert bool((diluted_patterns(3, 500, 0.0, gen()) != 0).all())
    assert bool((diluted_patterns(3, 500, 1.0, gen()) == 0).all())


def test_examples_keep_blanks_and_agree_with_probability_one_plus_r_over_two():
    r = 0.4
    xi = diluted_patterns(2, 20_000, 0.5, gen(2))
    eta = examples(xi, 5, r, gen(3))
    assert eta.shape == (2, 5, 20_000)
    assert bool(((eta == 0) == (xi[:, None, :] == 0)).all())
    nonblank = (xi != 0)[:, None, :].expand_as(eta)
    agree = float((eta == xi[:, None, :])[nonblank].float().mean())
    assert abs(agree - (1 + r) / 2) < 5 * math.sqrt(0.25 / int(nonblank.sum()))
    assert torch.equal(examples(xi, 3, 1.0, gen()), xi[:, None, :].expand(2, 3, -1))


def test_generator_makes_everything_deterministic():
    a = diluted_patterns(3, 100, 0.4, gen(7)), examples(diluted_patterns(3, 100, 0.4, gen(7)), 4, 0.5, gen(8))
    b = diluted_patterns(3, 100, 0.4, gen(7)), examples(diluted_patterns(3, 100, 0.4, gen(7)), 4, 0.5, gen(8))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], diluted_patterns(3, 100, 0.4, gen(9)))
    xi = a[0]
    J = hebbian_couplings(a[1], True)
    s0 = cue_state(xi, 0, gen(1))
    r1 = zero_temperature(J, s0, generator=gen(5))
    r2 = zero_temperature(J, s0, generator=gen(5))
    assert torch.equal(r1.sigma, r2.sigma) and r1.sweeps == r2.sweeps
    g1 = glauber(J, s0, 2.0, 5, generator=gen(6))
    g2 = glauber(J, s0, 2.0, 5, generator=gen(6))
    assert torch.equal(g1.sigma, g2.sigma)


# ------------------------------------------------------------------------------------------------ couplings
def _reference_couplings(eta: torch.Tensor, supervised: bool, scale: float) -> torch.Tensor:
    """Explicit sums over patterns, examples and neuron pairs (slow, independent of the matrix products)."""
    K, M, N = eta.shape
    J = torch.zeros(N, N, dtype=torch.float64)
    for i in range(N):
        for j in range(N):
            if i == j:
                continue
            total = 0.0
            for mu in range(K):
                if supervised:
                    total += float(eta[mu, :, i].mean()) * float(eta[mu, :, j].mean())
                else:
                    total += sum(float(eta[mu, a, i] * eta[mu, a, j]) for a in range(M)) / M
            J[i, j] = total / (N * scale)
    return J


@pytest.mark.parametrize("supervised", [True, False])
def test_couplings_equal_the_explicit_sums(supervised):
    xi = diluted_patterns(2, 7, 0.3, gen(4), dtype=torch.float64)
    eta = examples(xi, 3, 0.5, gen(5))
    scale = example_quality_factor(0.5, 3)
    assert scale == pytest.approx(0.25 + 0.75 / 3)
    J = hebbian_couplings(eta, supervised, r=0.5)
    torch.testing.assert_close(J, _reference_couplings(eta, supervised, scale), rtol=1e-12, atol=1e-12)
    assert torch.equal(J, J.T) and bool((J.diagonal() == 0).all())
    plain = hebbian_couplings(eta, supervised)  # r=None: no 1/R factor
    torch.testing.assert_close(plain, J * scale, rtol=1e-12, atol=1e-12)
    kept = hebbian_couplings(eta, supervised, zero_diagonal=False)
    assert bool((kept.diagonal() != 0).any())


def test_perfect_examples_give_the_hopfield_couplings_for_both_protocols():
    xi = diluted_patterns(3, 40, 0.25, gen(6), dtype=torch.float64)
    eta = examples(xi, 4, 1.0, gen(7))
    hopfield = xi.T @ xi / 40
    hopfield.fill_diagonal_(0)
    for supervised in (True, False):
        torch.testing.assert_close(hebbian_couplings(eta, supervised, r=1.0), hopfield)


# ------------------------------------------------------------------------------------------------ closed forms
@pytest.mark.parametrize("supervised", [True, False])
@pytest.mark.parametrize("mode", ["sequential", "parallel"])
def test_single_pattern_without_dilution_is_retrieved_exactly(supervised, mode):
    """K = 1, d = 0, M large: the Hopfield network of one pattern; a cue with 30% of its spins flipped relaxes to
    the pattern itself, m = 1 exactly."""
    net = MultitaskNetwork.random(K=1, N=400, d=0.0, M=200, r=0.5, supervised=supervised, generator=gen(10))
    xi = net.patterns[0]
    flip = torch.rand(400, generator=gen(11)) < 0.3
    sigma0 = torch.where(flip, -xi, xi)
    assert float(net.overlaps(sigma0)[0]) < 0.6
    res = zero_temperature(net.couplings, sigma0, mode=mode, generator=gen(12))
    assert res.converged
    assert torch.equal(res.sigma, xi)
    assert float(mattis_overlaps(net.patterns, res.sigma)[0]) == 1.0


def test_planted_hierarchical_state_fields_computed_by_hand():
    """K = 2, N = 10, J = Hopfield couplings of the patterns (r = 1), zero diagonal. Planted state: each neuron
    copies pattern 1 where it is not blank, else pattern 2. By hand: N m = (7, 3) and
    N h_i = sum_mu xi_i^mu (N m_mu - xi_i^mu sigma_i) = (8, -8, 6, -2, 2, 6, -2, 0, 6, -6); every non-zero field
    has the sign of sigma_i, so the state is a zero-temperature fixed point."""
    xi = torch.tensor([[1, -1, 1, 0, 0, 1, -1, 0, 1, -1],
                       [1, -1, 0, -1, 1, 0, 1, 0, 0, 0]], dtype=torch.float64)
    sigma = hierarchical_state(xi, generator=gen(0))
    expected = torch.tensor([1, -1, 1, -1, 1, 1, -1, float(sigma[7]), 1, -1], dtype=torch.float64)
    assert torch.equal(sigma, expected)
    torch.testing.assert_close(mattis_overlaps(xi, sigma), torch.tensor([0.7, 0.3], dtype=torch.float64))
    J = hebbian_couplings(xi[:, None, :], True, r=1.0)
    h = J @ sigma
    torch.testing.assert_close(h, torch.tensor([8, -8, 6, -2, 2, 6, -2, 0, 6, -6], dtype=torch.float64) / 10)
    res = zero_temperature(J, sigma, block_size=1, generator=gen(1))
    assert res.converged and res.sweeps == 1 and torch.equal(res.sigma, sigma)


def test_hierarchical_ansatz_is_stable_at_mild_dilution_and_breaks_where_predicted():
    """K = 3, perfect examples. The planted state's overlaps are (1 - d) d^(k-1) up to finite-N noise; at d = 0.2
    (d + d^2 < 1) it is a zero-temperature fixed point; at d = 0.8 (d + d^2 > 1) exactly the neurons where
    pattern 1 is opposed by both others (xi^2 = xi^3 = -xi^1) have a field against their spin."""
    n = 6000
    for d, stable in ((0.2, True), (0.8, False)):
        xi = diluted_patterns(3, n, d, gen(20), dtype=torch.float64)
        sigma = hierarchical_state(xi, generator=gen(21))
        m = mattis_overlaps(xi, sigma)
        torch.testing.assert_close(m, hierarchical_amplitudes(3, d), atol=5 * math.sqrt(1 / n), rtol=0)
        J = hebbian_couplings(xi[:, None, :], True, r=1.0)
        unstable = (J @ sigma) * sigma < 0
        if stable:
            assert not bool(unstable.any())
            assert zero_temperature(J, sigma, generator=gen(22)).sweeps == 1
        else:
            opposed = (xi[0] != 0) & (xi[1] == -xi[0]) & (xi[2] == -xi[0])
            assert int(opposed.sum()) > 0
            assert torch.equal(unstable, opposed)


def test_hierarchical_amplitudes_values():
    torch.testing.assert_close(hierarchical_amplitudes(3, 0.2), torch.tensor([0.8, 0.16, 0.032],
                                                                              dtype=torch.float64))
    torch.testing.assert_close(hierarchical_amplitudes(2, 0.0), torch.tensor([1.0, 0.0], dtype=torch.float64))


def test_glauber_two_spins_match_the_boltzmann_weights():
    """Two spins, J_12 = 1: the heat-bath chain samples P(aligned) = e^beta / (e^beta + e^-beta)."""
    J = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
    beta, chains = 0.5, 8000
    sigma0 = torch.ones(chains, 2, dtype=torch.float64)
    run = glauber(J, sigma0, beta, 10, block_size=1, generator=gen(30))
    aligned = float((run.sigma[:, 0] == run.sigma[:, 1]).double().mean())
    expected = math.exp(beta) / (math.exp(beta) + math.exp(-beta))
    assert abs(aligned - expected) < 5 * math.sqrt(expected * (1 - expected) / chains)


def test_glauber_infinite_temperature_forgets_and_low_temperature_keeps_the_pattern():
    net = MultitaskNetwork.random(K=1, N=500, d=0.0, M=100, r=0.6, generator=gen(31))
    start = net.patterns[0].clone()
    hot = net.retrieve(start, beta=0.0, sweeps=20, burn_in=10, generator=gen(32))
    assert abs(float(net.overlaps(hot)[0])) < 0.1
    cold = net.retrieve(start, beta=20.0, sweeps=20, burn_in=10, generator=gen(33))
    assert float(net.overlaps(cold)[0]) > 0.99


def test_network_retrieve_zero_temperature_and_repr():
    net = MultitaskNetwork.random(K=3, N=600, d=0.2, M=20, r=0.6, supervised=False, generator=gen(40))
    sigma = net.retrieve(net.cue(0, generator=gen(41)), generator=gen(42))
    m = net.overlaps(sigma).abs()
    assert float(m[0]) == pytest.approx(float((net.patterns[0] != 0).double().mean()), abs=0.02)
    assert "unsupervised" in repr(net) and "K=3" in repr(net)
    batch = net.cue(1, generator=gen(43), batch=4)
    assert batch.shape == (4, 600)
    assert zero_temperature(net.couplings, batch, generator=gen(44)).sigma.shape == (4, 600)


# ------------------------------------------------------------------------------------------------ properties
@settings(max_examples=25, deadline=None)
@given(K=st.integers(1, 4), N=st.integers(2, 60), M=st.integers(1, 6), d=st.floats(0.0, 1.0),
       r=st.floats(0.0, 1.0), seed=st.integers(0, 2**16))
def test_properties_hold_for_any_sizes(K, N, M, d, r, seed):
    g = gen(seed)
    xi = diluted_patterns(K, N, d, g, dtype=torch.float64)
    assert bool(((xi == 0) | (xi.abs() == 1)).all())
    eta = examples(xi, M, r, g)
    assert bool(((eta == 0) == (xi[:, None] == 0)).all())
    for supervised in (True, False):
        J = hebbian_couplings(eta, supervised, r=r)
        assert torch.allclose(J, J.T) and bool((J.diagonal() == 0).all()) and bool(torch.isfinite(J).all())
    if M == 1:
        torch.testing.assert_close(hebbian_couplings(eta, True), hebbian_couplings(eta, False))
    J = hebbian_couplings(eta, True, r=r)
    res = zero_temperature(J, cue_state(xi, 0, g), max_sweeps=200, block_size=1, generator=g)
    assert res.converged  # symmetric J, asynchronous updates: always reaches a fixed point
    h = J @ res.sigma
    assert bool((h * res.sigma >= -1e-12).all())  # a fixed point: no field against its spin (a zero field may
    # come out as -3e-17 after rounding: found by hypothesis with K=4, N=47, M=6, d=0, r=0, seed=4)
    m = mattis_overlaps(xi, res.sigma)
    assert bool((m.abs() <= (xi != 0).double().mean(1) + 1e-12).all())


# ------------------------------------------------------------------------------------------------ bad inputs
@pytest.mark.parametrize("d", [-0.1, 1.5, float("nan")])
def test_dilution_outside_unit_interval_raises(d):
    with pytest.raises(ValueError, match="d must"):
        diluted_patterns(2, 10, d)
    with pytest.raises(ValueError, match="d must"):
        hierarchical_amplitudes(2, d)


@pytest.mark.parametrize("r", [-0.2, 1.01])
def test_quality_outside_unit_interval_raises(r):
    xi = diluted_patterns(2, 10, 0.1, gen())
    with pytest.raises(ValueError, match="r must"):
        examples(xi, 3, r)
    with pytest.raises(ValueError, match="r must"):
        hebbian_couplings(examples(xi, 3, 0.5, gen()), True, r=r)


def test_non_ternary_patterns_and_examples_raise():
    bad = torch.tensor([[1.0, 0.5, -1.0]])
    with pytest.raises(ValueError, match=r"patterns must be ternary .*0\.5"):
        examples(bad, 2, 0.5)
    with pytest.raises(ValueError, match="patterns must be ternary"):
        mattis_overlaps(bad, torch.ones(3))
    with pytest.raises(ValueError, match="examples must be ternary"):
        hebbian_couplings(torch.full((1, 2, 3), 2.0), True)


def test_bad_shapes_and_arguments_raise():
    xi = diluted_patterns(2, 6, 0.2, gen())
    eta = examples(xi, 3, 0.5, gen())
    J = hebbian_couplings(eta, True)
    with pytest.raises(ValueError, match=r"patterns must have shape \(K, N\)"):
        examples(xi[0], 3, 0.5)
    with pytest.raises(ValueError, match=r"examples must have shape \(K, M, N\)"):
        hebbian_couplings(xi, True)
    with pytest.raises(TypeError, match="supervised must be a bool"):
        hebbian_couplings(eta, "yes")
    with pytest.raises(ValueError, match="J must be square"):
        zero_temperature(J[:, :5], torch.ones(6))
    with pytest.raises(ValueError, match="sigma0 must have shape"):
        zero_temperature(J, torch.ones(5))
    with pytest.raises(ValueError, match=r"sigma0 must contain only -1 and \+1"):
        zero_temperature(J, torch.zeros(6))
    with pytest.raises(ValueError, match="sigma must have shape"):
        mattis_overlaps(xi, torch.ones(7))
    with pytest.raises(ValueError, match="mode"):
        zero_temperature(J, torch.ones(6), mode="random")
    with pytest.raises(ValueError, match="block_size must be >= 1"):
        zero_temperature(J, torch.ones(6), block_size=0)
    with pytest.raises(ValueError, match="beta must be >= 0"):
        glauber(J, torch.ones(6), -1.0, 3)
    with pytest.raises(ValueError, match="burn_in must be <= 2"):
        glauber(J, torch.ones(6), 1.0, 3, burn_in=3)
    with pytest.raises(ValueError, match="K must be >= 1"):
        diluted_patterns(0, 5, 0.1)
    with pytest.raises(ValueError, match="M must be >= 1"):
        examples(xi, 0, 0.5)
    with pytest.raises(ValueError, match="order must be a permutation"):
        hierarchical_state(xi, order=[0, 0])
    with pytest.raises(ValueError, match="index must be <= 1"):
        cue_state(xi, 2)
    with pytest.raises(ValueError, match=r"examples must have shape \(K, M, N\) = \(2, M, 6\)"):
        MultitaskNetwork(xi, eta[:, :, :5])
