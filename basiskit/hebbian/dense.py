r"""Dense (P-spin) Hebbian networks trained from examples with a teacher (supervised), and the Hopfield network
(P = 2) they generalise.

Agliari, Albanese, Alemanno, Alessandrelli, Barra, Giannotti, Lotito & Pedreschi, "Dense Hebbian neural networks:
a replica symmetric picture of supervised learning" (Physica A 2023, arXiv:2212.00606); the unsupervised
companion is arXiv:2211.14067.

**Data model.** ``K`` archetypes :math:`\xi^\mu \in \{-1, +1\}^N` are never shown to the network; each class
:math:`\mu` is seen through ``M`` examples :math:`\eta^{\mu a}_i = \xi^\mu_i \chi^{\mu a}_i` with independent
:math:`\chi = \pm 1`, :math:`P(\chi = +1) = (1 + r) / 2`, so ``r`` in (0, 1] is the quality of the examples
(:math:`r = 1`: every example is the archetype). The teacher groups the examples by class, so the network is
built from the class means :math:`\bar\eta^\mu = M^{-1} \sum_a \eta^{\mu a}`, whose mean square is
:math:`R = r^2 + (1 - r^2) / M = r^2 (1 + \rho)` with the dataset entropy :math:`\rho = (1 - r^2) / (M r^2)`.

**Energy.** With the patterns normalised to unit mean square, :math:`X = \bar\eta / \sqrt{\hat R}`
(:math:`\hat R` = the mean of :math:`\bar\eta^2` over all entries, an estimate of R; exactly 1 for +-1 patterns),
and the overlaps :math:`n_\mu(\sigma) = N^{-1} \sum_i X_{\mu i} \sigma_i`,

.. math:: H(\sigma) = -\frac{N}{2} \sum_{\mu=1}^{K} n_\mu(\sigma)^P .

For P = 2 and +-1 patterns this is the Hopfield energy :math:`-\frac{1}{2N} \sum_{ij} \sum_\mu \xi^\mu_i
\xi^\mu_j \sigma_i \sigma_j` (self-couplings included). The overall constant only rescales the temperature; the
zero-temperature dynamics do not depend on it.

**Fields and flips.** The local field is :math:`h_i = -\partial H / \partial \sigma_i = \frac{P}{2} \sum_\mu
n_\mu^{P-1} X_{\mu i}`, computed from the K overlaps in O(N K) (never from the :math:`N^P` coupling tensor). Flipping
spin i changes every overlap by :math:`d_\mu = 2 \sigma_i X_{\mu i} / N` and the energy by exactly

.. math:: \Delta H_i = -\frac{N}{2} \sum_\mu \left[(n_\mu - d_\mu)^P - n_\mu^P\right]
          = 2 \sigma_i h_i - \frac{N}{2} \sum_\mu \sum_{k \ge 2} \binom{P}{k} (-d_\mu)^k n_\mu^{P-k},

so :math:`2 \sigma_i h_i` is only its first-order part (the rest is the self-interaction, O(K / N) for P = 2 and
smaller still for P > 2). Sequential dynamics use the exact :math:`\Delta H_i`, so at zero temperature every
accepted flip lowers the energy.

**Best possible overlap.** Whatever the dynamics, the information the network has about :math:`\xi^\mu` is the
class mean; the state that maximises :math:`n_\mu` alone is :math:`\mathrm{sign}(\bar\eta^\mu)` (ties at random
for even M), whose overlap with the archetype has the closed-form expectation :func:`best_overlap`.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from .._validation import check_choice, check_float, check_int, check_tensor

__all__ = [
    "DenseHebbian",
    "Retrieval",
    "best_overlap",
    "dataset_entropy",
    "dense_energy",
    "flip_energy",
    "hopfield",
    "local_fields",
    "mattis_overlap",
    "normalised_patterns",
    "overlaps",
    "retrieve",
    "sample_examples",
    "sign_with_random_ties",
]

MODES = ("sequential", "parallel")


# ---- checks -----------------------------------------------------------------------------------------
def _check_power(P: int) -> int:
    if isinstance(P, bool) or not isinstance(P, int):
        raise TypeError(f"P must be an int >= 2 (the interaction order; 2 is the Hopfield network), got "
                        f"{type(P).__name__} {P!r}")
    if P < 2:
        raise ValueError(f"P must be >= 2 (the interaction order; 2 is the Hopfield network), got {P}")
    return P


def _check_quality(r: float) -> float:
    r = check_float("r", r)
    if not 0.0 < r <= 1.0:
        raise ValueError(f"r (example quality, P(chi = +1) = (1 + r) / 2) must be in (0, 1], got {r}")
    return r


def _check_binary(arg: str, x: torch.Tensor) -> torch.Tensor:
    """``x`` holds only -1 and +1 (any dtype); returned as float64 unless already floating."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{arg} must be a torch.Tensor of -1/+1 values, got {type(x).__name__}")
    if x.numel() and not bool(((x == 1) | (x == -1)).all()):
        bad = x[(x != 1) & (x != -1)]
        raise ValueError(f"{arg} must hold only -1 and +1 (binary spins), got {bad.numel()} other value(s), "
                         f"e.g. {float(bad.flatten()[0])!r}")
    return x if x.is_floating_point() else x.to(torch.float64)


def _check_state(sigma: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    sigma = _check_binary("sigma", sigma)
    if sigma.ndim < 1 or sigma.shape[-1] != X.shape[-1]:
        raise ValueError(f"sigma must have shape (..., N) with N = {X.shape[-1]} (the patterns' length), got "
                         f"{tuple(sigma.shape)}")
    return sigma.to(X.dtype)


# ---- data -------------------------------------------------------------------------------------------
def dataset_entropy(r: float, M: int) -> float:
    r"""The dataset entropy :math:`\rho = (1 - r^2) / (M r^2)` of M examples of quality r (0 when r = 1)."""
    r = _check_quality(r)
    M = check_int("M", M, min_value=1)
    return (1.0 - r * r) / (M * r * r)


def sample_examples(K: int, N: int, M: int, r: float, *, generator: torch.Generator | None = None,
                    dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    r"""K random archetypes and M examples of each: :math:`\eta^{\mu a}_i = \xi^\mu_i \chi^{\mu a}_i`,
    :math:`P(\chi = +1) = (1 + r) / 2`.

    Returns ``(archetypes (K, N), examples (K, M, N))``, entries -1/+1 of ``dtype``.
    """
    K = check_int("K", K, min_value=1)
    N = check_int("N", N, min_value=1)
    M = check_int("M", M, min_value=1)
    r = _check_quality(r)
    xi = torch.where(torch.rand(K, N, generator=generator) < 0.5, -1.0, 1.0).to(dtype)
    chi = torch.where(torch.rand(K, M, N, generator=generator) < (1.0 + r) / 2.0, 1.0, -1.0).to(dtype)
    return xi, xi[:, None, :] * chi


def sign_with_random_ties(x: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """sign(x) with every exact zero replaced by an independent random -1/+1; same shape and dtype as ``x``."""
    check_tensor("x", x)
    coin = torch.where(torch.rand(x.shape, generator=generator) < 0.5, -1.0, 1.0).to(x)
    return torch.where(x == 0, coin, torch.sign(x))


def best_overlap(r: float, M: int) -> float:
    r"""Expected overlap :math:`N^{-1} \sum_i \xi_i \, \mathrm{sign}(\sum_a \eta^a_i)` of the sign of the example
    mean with the archetype (ties at random): the best the network can do from M examples of quality r.

    Per site the number k of examples agreeing with the archetype is Binomial(M, p), p = (1 + r) / 2; the sign
    agrees for k > M / 2, disagrees for k < M / 2 and is a fair coin at k = M / 2 (even M), so

    .. math:: \bar m(r, M) = \sum_{k > M/2} \binom{M}{k} p^k (1-p)^{M-k} - \sum_{k < M/2} \binom{M}{k}
              p^k (1-p)^{M-k},

    summed exactly (log-space terms in float64). r = 1 gives 1; M = 1 gives r.
    """
    r = _check_quality(r)
    M = check_int("M", M, min_value=1)
    p = (1.0 + r) / 2.0
    if p == 1.0:
        return 1.0
    total = 0.0
    for k in range(M + 1):
        if 2 * k == M:
            continue
        log_term = (math.lgamma(M + 1) - math.lgamma(k + 1) - math.lgamma(M - k + 1)
                    + k * math.log(p) + (M - k) * math.log1p(-p))
        total += math.copysign(math.exp(log_term), 2 * k - M)
    return total


# ---- energy, overlaps, fields -----------------------------------------------------------------------
def normalised_patterns(examples_mean: torch.Tensor) -> torch.Tensor:
    r"""The class means scaled to unit mean square, :math:`X = \bar\eta / \sqrt{\hat R}`, (K, N) float.

    ``examples_mean`` (K, N): the mean of each class's examples (or +-1 patterns, left unchanged)."""
    if isinstance(examples_mean, torch.Tensor) and not examples_mean.is_floating_point():
        examples_mean = examples_mean.to(torch.float64)
    check_tensor("examples_mean", examples_mean, ndim=2, finite=True, nonempty=True)
    ms = examples_mean.pow(2).mean()
    if not bool(ms > 0):
        raise ValueError("examples_mean must not be all zeros (its mean square normalises the overlaps)")
    return examples_mean / ms.sqrt()


def overlaps(sigma: torch.Tensor, examples_mean: torch.Tensor) -> torch.Tensor:
    r"""Normalised overlaps :math:`n_\mu = N^{-1} \sum_i X_{\mu i} \sigma_i`: sigma (..., N) -> (..., K)."""
    X = normalised_patterns(examples_mean)
    sigma = _check_state(sigma, X)
    return sigma @ X.T / X.shape[-1]


def mattis_overlap(sigma: torch.Tensor, archetypes: torch.Tensor) -> torch.Tensor:
    r"""Mattis magnetisations :math:`m_\mu = N^{-1} \sum_i \xi^\mu_i \sigma_i`: sigma (..., N), archetypes (K, N)
    of -1/+1 -> (..., K)."""
    archetypes = _check_binary("archetypes", archetypes)
    check_tensor("archetypes", archetypes, ndim=2, nonempty=True)
    sigma = _check_state(sigma, archetypes)
    return sigma @ archetypes.T / archetypes.shape[-1]


def dense_energy(sigma: torch.Tensor, examples_mean: torch.Tensor, P: int) -> torch.Tensor:
    r""":math:`H(\sigma) = -\frac{N}{2} \sum_\mu n_\mu(\sigma)^P` (module docstring): sigma (..., N) of -1/+1,
    examples_mean (K, N) -> energies (...)."""
    P = _check_power(P)
    n = overlaps(sigma, examples_mean)
    return -0.5 * examples_mean.shape[-1] * n.pow(P).sum(-1)


def local_fields(sigma: torch.Tensor, examples_mean: torch.Tensor, P: int) -> torch.Tensor:
    r""":math:`h_i = \frac{P}{2} \sum_\mu n_\mu^{P-1} X_{\mu i}`, in O(N K) through the overlaps:
    sigma (..., N), examples_mean (K, N) -> (..., N)."""
    P = _check_power(P)
    X = normalised_patterns(examples_mean)
    sigma = _check_state(sigma, X)
    n = sigma @ X.T / X.shape[-1]
    return 0.5 * P * n.pow(P - 1) @ X


def _power_difference(n: torch.Tensor, d: torch.Tensor, P: int) -> torch.Tensor:
    """(n - d)^P - n^P by its binomial expansion (no cancellation between two P-th powers)."""
    out = torch.zeros_like(n + d)
    for k in range(1, P + 1):
        out = out + math.comb(P, k) * (-d).pow(k) * n.pow(P - k)
    return out


def flip_energy(sigma: torch.Tensor, examples_mean: torch.Tensor, P: int) -> torch.Tensor:
    r"""Exact :math:`\Delta H_i = H(\sigma \text{ with } \sigma_i \to -\sigma_i) - H(\sigma)` for every site i
    (module docstring): sigma (..., N), examples_mean (K, N) -> (..., N). Memory O(batch K N); the dynamics
    compute one site at a time instead."""
    P = _check_power(P)
    X = normalised_patterns(examples_mean)
    sigma = _check_state(sigma, X)
    N = X.shape[-1]
    n = (sigma @ X.T / N)[..., :, None]  # (..., K, 1)
    d = 2.0 / N * sigma[..., None, :] * X  # (..., K, N)
    return -0.5 * N * _power_difference(n, d, P).sum(-2)


# ---- dynamics ---------------------------------------------------------------------------------------
class Retrieval(NamedTuple):
    """What :func:`retrieve` returns with ``return_energies=True``."""

    sigma: torch.Tensor  # (..., N) final states
    energies: torch.Tensor  # (sweeps_run + 1, ...) energy before the first sweep and after each
    sweeps_run: int  # sweeps done (fewer than asked when a zero-temperature run reaches a fixed point)


def _rounding_tolerance(X: torch.Tensor, P: int) -> float:
    """A bound on the rounding error of one computed flip energy: |Delta H_i| <= K P A^P (1 + 2/N)^(P-1) with
    A = max |X|, times 64 machine epsilons. Zero-temperature moves need Delta H below minus this, so a move of
    exactly zero energy (which rounding may show as -1e-16 both ways) cannot cycle forever."""
    K, N = X.shape
    A = float(X.abs().max())
    return 64.0 * torch.finfo(X.dtype).eps * K * P * A**P * (1.0 + 2.0 / N) ** (P - 1)


class _SiteFlips:
    """Flip energies one site at a time for a batch of states, from the overlaps n (B, K).

    With c = 2 sigma_i / N the flip energy is -(N/2) sum_k C(P, k) (-c)^k sum_mu X_mu,i^k n_mu^(P-k): the powers
    of the overlaps once per site (P - 2 products of (B, K)) and P - 1 matrix-vector products, instead of the
    (B, K) binomial expansion of :func:`flip_energy`, its reference."""

    def __init__(self, X: torch.Tensor, P: int) -> None:
        self.P, self.N = P, X.shape[-1]
        self.Xt = X.T.contiguous()  # (N, K): row i is site i's pattern entries
        self.col_powers = [self.Xt.pow(k) for k in range(P + 1)]  # X_.,i^k, (N, K) each
        self.binom = [math.comb(P, k) for k in range(P + 1)]
        self.last = self.col_powers[P].sum(-1).tolist()  # sum_mu X_mu,i^P per site

    def delta(self, n: torch.Tensor, sigma_i: torch.Tensor, i: int) -> torch.Tensor:
        """Delta H of flipping site i in each state: n (B, K), sigma_i (B,) -> (B,)."""
        P = self.P
        c = (2.0 / self.N) * sigma_i
        powers = [n]  # n^1 .. n^(P-1)
        for _ in range(P - 2):
            powers.append(powers[-1] * n)
        total = self.binom[P] * (-c).pow(P) * self.last[i]
        for k in range(1, P):
            total = total + self.binom[k] * (-c).pow(k) * (powers[P - k - 1] @ self.col_powers[k][i])
        return -0.5 * self.N * total


def _sequential_sweep(sigma: torch.Tensor, X: torch.Tensor, P: int, beta: float,
                      generator: torch.Generator | None, tol: float) -> int:
    """One sweep in a random site order, in place on sigma (B, N); returns the number of flips."""
    N = X.shape[-1]
    n = sigma @ X.T / N  # (B, K)
    sites = _SiteFlips(X, P)
    order = torch.randperm(N, generator=generator)
    flips = 0
    for i in order.tolist():
        delta = sites.delta(n, sigma[:, i], i)  # (B,)
        if math.isinf(beta):
            flip = delta < -tol
        else:
            u = torch.rand(delta.shape, generator=generator, dtype=delta.dtype)
            flip = u < torch.sigmoid(-beta * delta)
        if bool(flip.any()):
            n[flip] -= (2.0 / N) * sigma[flip, i, None] * sites.Xt[i]  # the overlaps before the flip, minus d
            sigma[flip, i] = -sigma[flip, i]
            flips += int(flip.sum())
    return flips


def _parallel_sweep(sigma: torch.Tensor, X: torch.Tensor, P: int, beta: float,
                    generator: torch.Generator | None, tol: float) -> int:
    """All sites at once from the local fields (sign(h), h = 0 keeps the spin; Glauber: P(+1) = sigmoid(2 beta h))."""
    h = 0.5 * P * (sigma @ X.T / X.shape[-1]).pow(P - 1) @ X
    if math.isinf(beta):
        new = torch.where(h == 0, sigma, torch.sign(h))
    else:
        u = torch.rand(h.shape, generator=generator, dtype=h.dtype)
        new = torch.where(u < torch.sigmoid(2.0 * beta * h), 1.0, -1.0).to(sigma)
    flips = int((new != sigma).sum())
    sigma.copy_(new)
    return flips


def retrieve(sigma0: torch.Tensor, examples_mean: torch.Tensor, P: int, sweeps: int, beta: float = math.inf, *,
             mode: str = "sequential", generator: torch.Generator | None = None,
             return_energies: bool = False) -> torch.Tensor | Retrieval:
    r"""Run the network's dynamics from ``sigma0`` (..., N) for up to ``sweeps`` sweeps.

    ``mode="sequential"``: sites in a fresh random order each sweep; a flip of site i is accepted when its exact
    energy change :math:`\Delta H_i` < 0 (beyond rounding; ``beta = inf``, zero temperature: the energy never increases and a
    sweep without flips ends the run) or with the Glauber probability :math:`1 / (1 + e^{\beta \Delta H_i})`.
    Each site costs O(batch K), a sweep O(batch N K). ``mode="parallel"``: every spin at once,
    :math:`\sigma_i = \mathrm{sign}(h_i)` (ties keep the spin) or +1 with probability
    :math:`(1 + \tanh \beta h_i) / 2`; the energy is not guaranteed to decrease (two-cycles are possible).

    Returns the final states (float, shape of ``sigma0``); with ``return_energies`` a :class:`Retrieval` with the
    energy before the first sweep and after each.
    """
    P = _check_power(P)
    sweeps = check_int("sweeps", sweeps, min_value=0)
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or math.isnan(beta) or beta <= 0:
        raise ValueError(f"beta (inverse temperature) must be a positive number or math.inf, got {beta!r}")
    beta = float(beta)
    check_choice("mode", mode, MODES)
    X = normalised_patterns(examples_mean)
    sigma = _check_state(sigma0, X).clone()
    shape = sigma.shape
    sigma = sigma.reshape(-1, shape[-1])
    N = X.shape[-1]

    def energy() -> torch.Tensor:
        return -0.5 * N * (sigma @ X.T / N).pow(P).sum(-1)

    tol = _rounding_tolerance(X, P)
    energies = [energy()] if return_energies else []
    done = 0
    for _ in range(sweeps):
        step = _sequential_sweep if mode == "sequential" else _parallel_sweep
        flips = step(sigma, X, P, beta, generator, tol)
        done += 1
        if return_energies:
            energies.append(energy())
        if flips == 0 and math.isinf(beta):
            break
    sigma = sigma.reshape(shape)
    if not return_energies:
        return sigma
    return Retrieval(sigma, torch.stack(energies).reshape(len(energies), *shape[:-1]), done)


# ---- the network ------------------------------------------------------------------------------------
class DenseHebbian(nn.Module):
    r"""A dense Hebbian network of order P built, with a teacher, from examples grouped by class.

    ``DenseHebbian(P).fit(examples)`` with examples (K, M, N) of -1/+1 stores the class means
    :math:`\bar\eta^\mu` (buffer ``patterns`` (K, N)); the energy, fields and dynamics are those of the module
    functions (:func:`dense_energy`, :func:`local_fields`, :func:`retrieve`). P = 2 is the Hopfield network
    (:func:`hopfield`), the baseline the paper compares with. ``forward(sigma)`` runs zero-temperature
    sequential dynamics (``sweeps`` at most) and returns the final states (..., N).
    """

    patterns: torch.Tensor

    def __init__(self, P: int, patterns: torch.Tensor | None = None, *, sweeps: int = 50) -> None:
        super().__init__()
        self.P = _check_power(P)
        self.sweeps = check_int("sweeps", sweeps, min_value=1)
        self.register_buffer("patterns", torch.empty(0, 0, dtype=torch.float64))
        if patterns is not None:
            check_tensor("patterns", patterns, ndim=2, floating=False, nonempty=True)
            self.patterns = _check_binary("patterns", patterns).to(torch.float64)

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args, **kwargs) -> None:  # type: ignore[override]
        # the stored patterns' shape is data, not architecture: an unfitted network takes the saved one's
        key = prefix + "patterns"
        if key in state_dict:
            self.patterns = torch.empty_like(state_dict[key])
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @property
    def fitted(self) -> bool:
        return self.patterns.numel() > 0

    def fit(self, examples: torch.Tensor) -> DenseHebbian:
        """Store the class means of ``examples`` (K, M, N) of -1/+1 (M examples of each of K classes)."""
        check_tensor("examples", examples, ndim=3, floating=False, nonempty=True)
        examples = _check_binary("examples", examples)
        self.patterns = examples.to(torch.float64).mean(1)
        return self

    def _stored(self) -> torch.Tensor:
        if not self.fitted:
            raise RuntimeError("DenseHebbian has no patterns yet: call fit(examples) or pass patterns=")
        return self.patterns

    def energy(self, sigma: torch.Tensor) -> torch.Tensor:
        """H(sigma): (..., N) -> (...)."""
        return dense_energy(sigma, self._stored(), self.P)

    def local_fields(self, sigma: torch.Tensor) -> torch.Tensor:
        """h(sigma): (..., N) -> (..., N)."""
        return local_fields(sigma, self._stored(), self.P)

    def overlaps(self, sigma: torch.Tensor) -> torch.Tensor:
        """Normalised overlaps with the stored class means: (..., N) -> (..., K)."""
        return overlaps(sigma, self._stored())

    def example_sign(self, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """sign of each class mean, ties at random: the best state the data allow, (K, N)."""
        return sign_with_random_ties(self._stored(), generator=generator)

    def retrieve(self, sigma0: torch.Tensor, sweeps: int | None = None, beta: float = math.inf, *,
                 mode: str = "sequential", generator: torch.Generator | None = None,
                 return_energies: bool = False) -> torch.Tensor | Retrieval:
        """:func:`retrieve` with the stored patterns (``sweeps`` defaults to the module's)."""
        return retrieve(sigma0, self._stored(), self.P, self.sweeps if sweeps is None else sweeps, beta,
                        mode=mode, generator=generator, return_energies=return_energies)

    def classify(self, sigma0: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """The class whose mean has the largest overlap with the retrieved state: (..., N) -> (...) long."""
        return self.overlaps(self.retrieve(sigma0, generator=generator)).argmax(-1)

    def forward(self, sigma: torch.Tensor) -> torch.Tensor:
        return self.retrieve(sigma)

    def extra_repr(self) -> str:
        K, N = (self.patterns.shape if self.fitted else (0, 0))
        return f"P={self.P}, K={K}, N={N}, sweeps={self.sweeps}"


def hopfield(patterns: torch.Tensor, *, sweeps: int = 50) -> DenseHebbian:
    """The Hopfield network storing ``patterns`` (K, N) of -1/+1: :class:`DenseHebbian` with P = 2 (energy
    :math:`-\\frac{1}{2N} \\sum_{ij} \\sum_\\mu \\xi^\\mu_i \\xi^\\mu_j \\sigma_i \\sigma_j`, capacity about
    0.138 N at zero temperature)."""
    return DenseHebbian(2, patterns, sweeps=sweeps)
