r"""Multitasking Hebbian networks: diluted ternary patterns learnt from examples, retrieved several at once.

Agliari, Alessandrelli, Barra & Ricci-Tersenghi 2023, "Parallel learning by multitasking neural networks"
(J. Stat. Mech. 113401; arXiv:2308.04106). The model, in the notation used here. The equation labels (M1)-(M8) are
this module's own: only the paper's abstract could be read with the tools at hand, so its equation numbers are not
quoted (docs/generative-hebbian-multitask.md says what was and was not verified):

.. math::

    (M1)\quad & P(\xi_i^\mu) = \tfrac{1-d}{2}\,\delta_{\xi,+1} + \tfrac{1-d}{2}\,\delta_{\xi,-1} + d\,\delta_{\xi,0},
        \qquad \mu = 1..K,\ i = 1..N \\
    (M2)\quad & \eta_i^{\mu,a} = \chi_i^{\mu,a}\,\xi_i^\mu,\quad P(\chi = \pm 1) = \tfrac{1 \pm r}{2},
        \qquad a = 1..M \ \text{(examples keep the pattern's blanks)} \\
    (M3)\quad & J^{\rm sup}_{ij} = \frac{1}{N \mathcal{R}} \sum_\mu \bar\eta_i^\mu \bar\eta_j^\mu,\quad
        \bar\eta^\mu = \frac{1}{M}\sum_a \eta^{\mu,a} \quad \text{(teacher: average the examples of a pattern
        first)} \\
    (M4)\quad & J^{\rm unsup}_{ij} = \frac{1}{N \mathcal{R} M} \sum_\mu \sum_a \eta_i^{\mu,a} \eta_j^{\mu,a},
        \qquad \mathcal{R} = r^2 + \frac{1 - r^2}{M}, \quad J_{ii} = 0 \\
    (M5)\quad & h_i = \sum_j J_{ij}\sigma_j,\qquad \sigma_i \leftarrow \operatorname{sign}(h_i) \ (T = 0) \\
    (M6)\quad & P(\sigma_i = +1) = \frac{1}{1 + e^{-2\beta h_i}} \ \text{(Glauber / heat bath)} \\
    (M7)\quad & m_\mu = \frac{1}{N}\sum_i \xi_i^\mu \sigma_i \ \text{(Mattis overlap; no } 1/(1-d)
        \text{ factor, so a perfectly retrieved diluted pattern has } m = 1 - d) \\
    (M8)\quad & m_k = (1 - d)\, d^{k-1},\ k = 1..K \ \text{(hierarchical state: } \sigma_i \text{ copies the first
        pattern that is not blank at } i)

(M1) and (M2) are the paper's data model (ternary patterns of dilution ``d``, examples of quality ``r`` that are
blank where the pattern is). (M3)/(M4) are its supervised and unsupervised Hebbian rules; the factor
:math:`1/\mathcal{R}` (the second moment of an averaged example entry, :math:`\mathbb{E}\,\bar\eta_i^2 =
\mathcal{R}\,|\xi_i|`) makes both rules tend to the Hopfield couplings of the patterns as ``M`` grows. It rescales
the fields only, so zero-temperature dynamics do not depend on it; at finite ``beta`` it fixes the temperature
scale. We set :math:`J_{ii} = 0` (no self-coupling), the usual choice for Monte Carlo. Dilution ``d`` is the
fraction of blanks, so the information content of a pattern falls as ``d`` grows.

What was checked against the paper: its abstract and text (hierarchical regime with power-law amplitudes for mild
dilution, parallel regime with equal amplitudes for strong dilution, same thresholds for supervised and
unsupervised learning). (M8) is the classic hierarchical ("parallel retrieval") ansatz of the multitasking
network, Agliari, Barra, Galluzzi, Guerra & Moauro 2012: every neuron follows the first pattern not blank there,
so pattern ``k`` is aligned on the fraction :math:`d^{k-1}(1 - d)` of sites where patterns 1..k-1 are blank.

Dynamics: ``zero_temperature`` and ``glauber`` update neurons in random blocks of ``block_size`` (a random
permutation of the neurons per sweep, one matrix-vector product per block; ``block_size=1`` is exact sequential
dynamics, ``mode="parallel"`` updates all neurons at once). Nothing loops in Python over neurons; the couplings are
one matrix product of the examples, ``(N, K M) @ (K M, N)``. All functions take a batch of configurations
``(B, N)`` as well as a single one ``(N,)``.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch

from .._validation import check_choice, check_float, check_int, check_tensor

__all__ = [
    "GlauberRun",
    "MultitaskNetwork",
    "Relaxation",
    "cue_state",
    "diluted_patterns",
    "example_quality_factor",
    "examples",
    "glauber",
    "hebbian_couplings",
    "hierarchical_amplitudes",
    "hierarchical_state",
    "mattis_overlaps",
    "zero_temperature",
]


# ----------------------------------------------------------------------------------------------- checks
def _check_ternary(arg: str, x: torch.Tensor, ndim: int, shape_doc: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{arg} must be a torch.Tensor of shape {shape_doc}, got {type(x).__name__}")
    if x.ndim != ndim:
        raise ValueError(f"{arg} must have shape {shape_doc} ({ndim} dims), got {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{arg} must not be empty, got shape {tuple(x.shape)}")
    bad = ~((x == 0) | (x == 1) | (x == -1))
    if bool(bad.any()):
        value = x[bad][0].item()
        raise ValueError(f"{arg} must be ternary (entries in {{-1, 0, +1}}), got {int(bad.sum())} other "
                         f"entries, e.g. {value!r}")
    return x


def _check_spins(arg: str, sigma: torch.Tensor, n: int) -> torch.Tensor:
    check_tensor(arg, sigma, ndim=(1, 2), floating=False, nonempty=True)
    if sigma.shape[-1] != n:
        raise ValueError(f"{arg} must have shape (N,) or (B, N) with N = {n}, got {tuple(sigma.shape)}")
    if not bool(((sigma == 1) | (sigma == -1)).all()):
        raise ValueError(f"{arg} must contain only -1 and +1 (Ising spins), got values "
                         f"{sorted({float(v) for v in sigma.unique()[:5]})}")
    return sigma


def _check_couplings(J: torch.Tensor) -> int:
    check_tensor("J", J, ndim=2, floating=True, finite=True, nonempty=True)
    if J.shape[0] != J.shape[1]:
        raise ValueError(f"J must be square (N, N), got {tuple(J.shape)}")
    return J.shape[0]


def _block(block_size: int | None, n: int) -> int:
    if block_size is None:
        return max(1, n // 100)
    return check_int("block_size", block_size, min_value=1, max_value=n)


# ---------------------------------------------------------------------------------------------- data
def diluted_patterns(K: int, N: int, d: float, generator: torch.Generator | None = None, *,
                     dtype: torch.dtype = torch.float32) -> torch.Tensor:
    r"""K ternary patterns of N entries, each entry blank (0) with probability ``d`` and +-1 with probability
    ``(1 - d) / 2`` each (eq. M1). Returns ``(K, N)``. One uniform draw per entry, so the same generator state
    gives the same patterns."""
    check_int("K", K, min_value=1)
    check_int("N", N, min_value=1)
    check_float("d", d, min_value=0.0, max_value=1.0)
    u = torch.rand(K, N, generator=generator, dtype=torch.float64)
    xi = torch.where(u < d, 0.0, torch.where(u < d + (1.0 - d) / 2.0, 1.0, -1.0))
    return xi.to(dtype)


def examples(patterns: torch.Tensor, M: int, r: float, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""M noisy examples of each pattern (eq. M2): :math:`\eta^{\mu,a}_i = \chi^{\mu,a}_i \xi^\mu_i` with
    :math:`\chi = +1` with probability ``(1 + r) / 2`` and -1 otherwise; ``r`` in [0, 1] is the quality (``r = 1``:
    copies; ``r = 0``: no information). Blanks of a pattern stay blank in its examples.

    patterns ``(K, N)`` ternary -> examples ``(K, M, N)`` of the same dtype."""
    _check_ternary("patterns", patterns, 2, "(K, N)")
    check_int("M", M, min_value=1)
    check_float("r", r, min_value=0.0, max_value=1.0)
    K, N = patterns.shape
    flips = torch.rand(K, M, N, generator=generator, dtype=torch.float64) < (1.0 - r) / 2.0
    chi = torch.where(flips, -1.0, 1.0).to(patterns.dtype)
    return chi * patterns[:, None, :]


def example_quality_factor(r: float, M: int) -> float:
    r""":math:`\mathcal{R} = r^2 + (1 - r^2) / M`, the second moment of an averaged example entry (eq. M4)."""
    check_float("r", r, min_value=0.0, max_value=1.0)
    check_int("M", M, min_value=1)
    return r * r + (1.0 - r * r) / M


def hebbian_couplings(examples: torch.Tensor, supervised: bool, *, r: float | None = None,
                      zero_diagonal: bool = True) -> torch.Tensor:
    r"""Hebbian couplings ``(N, N)`` from examples ``(K, M, N)`` (eqs. M3, M4).

    ``supervised=True``: the examples of each pattern are averaged first (a teacher knows which pattern each
    example belongs to), :math:`J = \bar\eta^\top \bar\eta / (N \mathcal{R})`; ``supervised=False``: every example
    contributes its own outer product, :math:`J = \sum_{\mu,a} \eta^{\mu,a} \eta^{\mu,a\top} / (N \mathcal{R} M)`.
    With ``r`` given, :math:`\mathcal{R} = r^2 + (1 - r^2)/M`; with ``r=None``, :math:`\mathcal{R} = 1` (plain
    Hebbian sums; zero-temperature dynamics are the same either way). The diagonal is set to zero unless
    ``zero_diagonal=False``. Cost: one ``(N, K) @ (K, N)`` (supervised) or ``(N, K M) @ (K M, N)`` product."""
    _check_ternary("examples", examples, 3, "(K, M, N)")
    if not isinstance(supervised, bool):
        raise TypeError(f"supervised must be a bool, got {type(supervised).__name__} {supervised!r}")
    K, M, N = examples.shape
    x = examples if examples.is_floating_point() else examples.to(torch.get_default_dtype())
    scale = 1.0 if r is None else example_quality_factor(r, M)
    if supervised:
        mean = x.mean(dim=1)  # (K, N)
        J = torch.mm(mean.T, mean).div_(N * scale)
    else:
        flat = x.reshape(K * M, N)
        J = torch.mm(flat.T, flat).div_(M * N * scale)
    if zero_diagonal:
        J.fill_diagonal_(0.0)
    return J


# ---------------------------------------------------------------------------------------------- states
def mattis_overlaps(patterns: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    r"""Mattis overlaps :math:`m_\mu = \frac{1}{N}\sum_i \xi_i^\mu \sigma_i` (eq. M7), patterns ``(K, N)``,
    sigma ``(N,)`` or ``(B, N)`` -> ``(K,)`` or ``(B, K)``. No division by ``1 - d``: a diluted pattern
    retrieved perfectly has overlap ``1 - d`` (its fraction of non-blank entries)."""
    _check_ternary("patterns", patterns, 2, "(K, N)")
    _check_spins("sigma", sigma, patterns.shape[1])
    return sigma.to(patterns.dtype) @ patterns.T / patterns.shape[1]


def hierarchical_amplitudes(K: int, d: float) -> torch.Tensor:
    r"""The hierarchical amplitudes :math:`(1 - d) d^{k-1}`, k = 1..K (eq. M8), float64 ``(K,)``."""
    check_int("K", K, min_value=1)
    check_float("d", d, min_value=0.0, max_value=1.0)
    k = torch.arange(K, dtype=torch.float64)
    return (1.0 - d) * d ** k


def hierarchical_state(patterns: torch.Tensor, order: list[int] | None = None,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    r"""The planted hierarchical configuration of eq. (M8): :math:`\sigma_i` is the sign of the first pattern in
    ``order`` (default 0..K-1) that is not blank at ``i``; sites blank in every pattern get a random sign.
    patterns ``(K, N)`` -> ``(N,)``."""
    _check_ternary("patterns", patterns, 2, "(K, N)")
    K, N = patterns.shape
    order = list(range(K)) if order is None else list(order)
    if sorted(order) != list(range(K)):
        raise ValueError(f"order must be a permutation of 0..{K - 1}, got {order}")
    sigma = torch.where(torch.rand(N, generator=generator) < 0.5, 1.0, -1.0).to(patterns.dtype)
    for mu in reversed(order):  # loop over the K patterns (not the neurons): earlier patterns overwrite later
        sigma = torch.where(patterns[mu] != 0, patterns[mu], sigma)
    return sigma


def cue_state(patterns: torch.Tensor, index: int = 0, generator: torch.Generator | None = None,
              batch: int | None = None) -> torch.Tensor:
    r"""A configuration aligned with pattern ``index`` on its non-blank entries and random (+-1 with probability
    1/2) on its blanks: the network is shown one pattern and left to fill the blanks. ``(N,)``, or ``(batch, N)``
    with independent random blanks."""
    _check_ternary("patterns", patterns, 2, "(K, N)")
    K, N = patterns.shape
    check_int("index", index, min_value=0, max_value=K - 1)
    shape = (N,) if batch is None else (check_int("batch", batch, min_value=1), N)
    noise = torch.where(torch.rand(shape, generator=generator) < 0.5, 1.0, -1.0).to(patterns.dtype)
    return torch.where(patterns[index] != 0, patterns[index], noise)


# ---------------------------------------------------------------------------------------------- dynamics
class Relaxation(NamedTuple):
    """Result of :func:`zero_temperature`: final spins (shape of ``sigma0``), sweeps done, whether a fixed point
    (no spin changed in a whole sweep) was reached for every configuration of the batch."""

    sigma: torch.Tensor
    sweeps: int
    converged: bool


class GlauberRun(NamedTuple):
    """Result of :func:`glauber`: final spins and the spins averaged over the sweeps after ``burn_in`` (thermal
    averages, shape of ``sigma0``)."""

    sigma: torch.Tensor
    mean_sigma: torch.Tensor


def _blocks(n: int, block: int, generator: torch.Generator | None) -> list[torch.Tensor]:
    return list(torch.randperm(n, generator=generator).split(block))


def zero_temperature(J: torch.Tensor, sigma0: torch.Tensor, *, max_sweeps: int = 100, mode: str = "sequential",
                     block_size: int | None = None, generator: torch.Generator | None = None) -> Relaxation:
    r"""Zero-temperature dynamics (eq. M5): :math:`\sigma_i \leftarrow \operatorname{sign}(h_i)`, :math:`h = J
    \sigma`, a spin with :math:`h_i = 0` keeps its value. ``mode="sequential"``: each sweep visits the neurons in a
    fresh random order in blocks of ``block_size`` (default N // 100; 1 is exact asynchronous dynamics), stopping
    after a sweep in which no spin changed; ``mode="parallel"``: all spins at once (may end in a 2-cycle; then
    ``converged`` is False). J ``(N, N)`` symmetric, sigma0 ``(N,)`` or ``(B, N)`` of +-1."""
    n = _check_couplings(J)
    _check_spins("sigma0", sigma0, n)
    check_int("max_sweeps", max_sweeps, min_value=1)
    check_choice("mode", mode, ("sequential", "parallel"))
    block = _block(block_size, n)
    sigma = sigma0.to(J.dtype).clone()
    single = sigma.ndim == 1
    if single:
        sigma = sigma[None]
    for sweep in range(1, max_sweeps + 1):
        changed = False
        if mode == "parallel":
            h = sigma @ J.T
            new = torch.where(h > 0, 1.0, torch.where(h < 0, -1.0, sigma)).to(J.dtype)
            changed = bool((new != sigma).any())
            sigma = new
        else:
            for idx in _blocks(n, block, generator):
                h = sigma @ J[idx].T  # (B, block)
                old = sigma[:, idx]
                new = torch.where(h > 0, 1.0, torch.where(h < 0, -1.0, old)).to(J.dtype)
                if bool((new != old).any()):
                    changed = True
                    sigma[:, idx] = new
        if not changed:
            return Relaxation(sigma[0] if single else sigma, sweep, True)
    return Relaxation(sigma[0] if single else sigma, max_sweeps, False)


def glauber(J: torch.Tensor, sigma0: torch.Tensor, beta: float, sweeps: int, *, burn_in: int = 0,
            block_size: int | None = None, generator: torch.Generator | None = None) -> GlauberRun:
    r"""Glauber (heat-bath) dynamics at inverse temperature ``beta`` (eq. M6): each neuron, visited in a random
    order in blocks of ``block_size`` (default N // 100), is set to +1 with probability
    :math:`1 / (1 + e^{-2\beta h_i})`. Runs ``sweeps`` sweeps and averages the spins over the last
    ``sweeps - burn_in``. J ``(N, N)``, sigma0 ``(N,)`` or ``(B, N)`` of +-1."""
    n = _check_couplings(J)
    _check_spins("sigma0", sigma0, n)
    check_float("beta", beta, min_value=0.0)
    check_int("sweeps", sweeps, min_value=1)
    check_int("burn_in", burn_in, min_value=0, max_value=sweeps - 1)
    block = _block(block_size, n)
    sigma = sigma0.to(J.dtype).clone()
    single = sigma.ndim == 1
    if single:
        sigma = sigma[None]
    total = torch.zeros_like(sigma)
    for sweep in range(sweeps):
        for idx in _blocks(n, block, generator):
            h = sigma @ J[idx].T
            p_up = torch.sigmoid(2.0 * beta * h)
            u = torch.rand(p_up.shape, generator=generator, dtype=p_up.dtype)
            sigma[:, idx] = torch.where(u < p_up, 1.0, -1.0).to(J.dtype)
        if sweep >= burn_in:
            total += sigma
    mean = total / (sweeps - burn_in)
    return GlauberRun(sigma[0] if single else sigma, mean[0] if single else mean)


# ---------------------------------------------------------------------------------------------- network
class MultitaskNetwork:
    r"""A multitasking Hebbian network: K diluted patterns, M examples of quality r each, supervised (M3) or
    unsupervised (M4) couplings, and retrieval by zero-temperature or Glauber dynamics.

    >>> g = torch.Generator().manual_seed(0)
    >>> net = MultitaskNetwork.random(K=3, N=500, d=0.2, M=20, r=0.6, generator=g)
    >>> sigma = net.retrieve(net.cue(0, generator=g), generator=g)
    >>> net.overlaps(sigma).shape
    torch.Size([3])
    """

    def __init__(self, patterns: torch.Tensor, examples_: torch.Tensor, *, r: float | None = None,
                 supervised: bool = True) -> None:
        _check_ternary("patterns", patterns, 2, "(K, N)")
        _check_ternary("examples", examples_, 3, "(K, M, N)")
        if examples_.shape[0] != patterns.shape[0] or examples_.shape[2] != patterns.shape[1]:
            raise ValueError(f"examples must have shape (K, M, N) = ({patterns.shape[0]}, M, {patterns.shape[1]}) "
                             f"to match patterns {tuple(patterns.shape)}, got {tuple(examples_.shape)}")
        self.patterns = patterns
        self.examples = examples_
        self.r = r
        self.supervised = supervised
        self.couplings = hebbian_couplings(examples_, supervised, r=r)

    @classmethod
    def random(cls, K: int, N: int, d: float, M: int, r: float, *, supervised: bool = True,
               generator: torch.Generator | None = None) -> MultitaskNetwork:
        """Patterns (eq. M1) and examples (eq. M2) drawn from ``generator``, then the couplings."""
        patterns = diluted_patterns(K, N, d, generator)
        return cls(patterns, examples(patterns, M, r, generator), r=r, supervised=supervised)

    @property
    def K(self) -> int:
        return self.patterns.shape[0]

    @property
    def N(self) -> int:
        return self.patterns.shape[1]

    def cue(self, index: int = 0, generator: torch.Generator | None = None, batch: int | None = None) -> torch.Tensor:
        """See :func:`cue_state`."""
        return cue_state(self.patterns, index, generator, batch)

    def retrieve(self, sigma0: torch.Tensor, *, beta: float = math.inf, sweeps: int = 100, burn_in: int = 0,
                 block_size: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Final spins from ``sigma0``: zero-temperature dynamics (up to ``sweeps`` sweeps) when ``beta`` is inf,
        else the thermal average of the spins under Glauber dynamics."""
        if isinstance(beta, (int, float)) and not isinstance(beta, bool) and math.isinf(beta) and beta > 0:
            return zero_temperature(self.couplings, sigma0, max_sweeps=sweeps, block_size=block_size,
                                    generator=generator).sigma
        return glauber(self.couplings, sigma0, beta, sweeps, burn_in=burn_in, block_size=block_size,
                       generator=generator).mean_sigma

    def overlaps(self, sigma: torch.Tensor) -> torch.Tensor:
        """Mattis overlaps (eq. M7) of spins ``(N,)``/``(B, N)``; thermal averages (real values) are allowed."""
        _check_ternary("patterns", self.patterns, 2, "(K, N)")
        check_tensor("sigma", sigma, ndim=(1, 2), floating=False, nonempty=True)
        if sigma.shape[-1] != self.N:
            raise ValueError(f"sigma must have shape (N,) or (B, N) with N = {self.N}, got {tuple(sigma.shape)}")
        return sigma.to(self.patterns.dtype) @ self.patterns.T / self.N

    def __repr__(self) -> str:
        kind = "supervised" if self.supervised else "unsupervised"
        return (f"MultitaskNetwork(K={self.K}, N={self.N}, M={self.examples.shape[1]}, r={self.r}, {kind})")
