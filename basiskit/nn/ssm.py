r"""Diagonal state-space layers (S4D / S5 style) initialised from HiPPO-LegS, including PTD.

Yu, Nigmetov, Morozov, Mahoney & Erichson 2024, "Robustifying State-space Models for Long Sequences via
Approximate Diagonalization" (ICLR); Gu, Goel & Re 2022 (S4); Gu, Gupta, Goel & Re 2022 (S4D).

A continuous linear time-invariant system :math:`x' = A x + B u,\ y = C x` has the transfer function

.. math::
    G(i\omega) = C (i\omega I - A)^{-1} B .

**HiPPO-LegS** (:func:`hippo_legs`) is the lower-triangular :math:`A_{nk} = -\sqrt{2n+1}\sqrt{2k+1}` (n > k),
:math:`-(n+1)` (n = k), 0 above, with :math:`B_n = \sqrt{2n+1}`. It is *normal plus low rank*
(:func:`hippo_legs_nplr`): with :math:`P_n = \sqrt{n + 1/2}`, :math:`A + P P^T = -\tfrac12 I + S` with S skew
symmetric, so :math:`A = V \Lambda V^* - P P^T` with V unitary and :math:`\operatorname{Re}\Lambda = -1/2`.

Three diagonal initialisations (:func:`diagonal_init`), each a triple :math:`(\Lambda, \tilde B = V^{-1} B, V)`
whose diagonal system :math:`(\Lambda, V^{-1}B, C V)` is used by :class:`SSMLayer`:

* ``"legs"`` - the naive eigendecomposition of A itself. A is diagonalisable in exact arithmetic (eigenvalues
  -1..-N), but its eigenvector matrix has condition number about 1e20 at N = 64, so in floating point the
  diagonal system is garbage (its transfer function is off by many orders of magnitude). Kept as the cautionary
  reference.
* ``"s4d"`` - S4D-LegS / S5: the eigendecomposition of the normal part :math:`A + P P^T` (well conditioned,
  V unitary), i.e. the low-rank term is dropped. Its transfer function differs from HiPPO's by O(1): with
  :math:`g = P^T(i\omega - A_N)^{-1}P`, HiPPO with C = B^T has :math:`G = 2g/(1+g)` (Sherman-Morrison), S4D has
  :math:`2g` (the paper's "weak convergence" only).
* ``"ptd"`` - perturb-then-diagonalise: the eigendecomposition of :math:`A + E` for a small E chosen so that
  :math:`\kappa(V) \le` ``kappa_target`` (:func:`ptd_perturbation`). Its transfer function is that of
  :math:`A + E`, within :math:`O(\|E\|)` of HiPPO's.

**How E is found (ours; the paper's search code is not public).** :math:`E = \varepsilon \|A\|_2 G / \|G\|_2`
with G a seeded standard Gaussian matrix. Pseudospectral theory says a random perturbation of relative size
:math:`\varepsilon` gives :math:`\kappa(V) \approx c/\varepsilon`, while the transfer-function error grows
like :math:`\varepsilon` (and the rounding error of a diagonalisation grows like :math:`\kappa(V) u`). Both
competing errors are monotone in :math:`\varepsilon`, so the best trade-off under the constraint is the
*smallest* :math:`\varepsilon` meeting it, with all eigenvalues kept in the open left half-plane (too large a perturbation
pushes some across): scan the decades :math:`10^{-15}, 10^{-14}, \dots, 1` for the first that meets both,
then bisect geometrically inside it to 0.1% relative width. Cost: about 24 dense eigendecompositions,
:math:`O(24 N^3)` - 0.03 s at N = 64 and 0.15 s at N = 128 on one core. At N = 64 and target 1e6 it finds
:math:`\varepsilon = 3.1\cdot10^{-6}` with a relative transfer-function error of 5.5e-4 against S4D's 5.2
(see the ``s4-ptd`` recipe and docs/representations.md for the whole trade-off curve).

**The layer** (:class:`SSMLayer`): per channel h, a complex diagonal :math:`\Lambda_h`, :math:`\tilde B_h`,
:math:`\tilde C_h`, a learnable step :math:`\Delta_h = e^{\log\Delta_h}`, zero-order-hold discretisation
:math:`\bar\Lambda = e^{\Delta\Lambda},\ \bar B = (\bar\Lambda - 1)\Lambda^{-1}\tilde B`, the kernel by a
Vandermonde product :math:`K_l = \operatorname{Re}\sum_n \tilde C_n \bar B_n \bar\Lambda_n^l` (:func:`ssm_kernel`),
and a causal FFT convolution (:func:`causal_fft_conv`) plus a skip :math:`D u`. :func:`ssm_recurrence` is the
step-by-step reference the convolution is tested against.
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import torch
from torch import nn

from .._validation import check_choice, check_float, check_int, check_tensor
from .activations import get_activation

__all__ = ["INITS", "NPLR", "PTDResult", "SSMClassifier", "SSMLayer", "causal_fft_conv", "diagonal_init",
           "eigenvector_condition", "hippo_legs", "hippo_legs_nplr", "ptd_perturbation", "ssm_kernel",
           "ssm_recurrence", "transfer_function"]

INITS = ("ptd", "s4d", "legs")


def hippo_legs(N: int) -> tuple[torch.Tensor, torch.Tensor]:
    r"""HiPPO-LegS ``(A (N, N), B (N,))`` in float64: :math:`A_{nk} = -\sqrt{(2n+1)(2k+1)}` for n > k,
    :math:`-(n+1)` on the diagonal, 0 above; :math:`B_n = \sqrt{2n+1}`."""
    check_int("N", N, min_value=1)
    r = torch.sqrt(2.0 * torch.arange(N, dtype=torch.float64) + 1.0)
    A = -torch.tril(torch.outer(r, r), diagonal=-1) - torch.diag(torch.arange(1, N + 1, dtype=torch.float64))
    return A, r.clone()


class NPLR(NamedTuple):
    """HiPPO-LegS as normal plus low rank: ``A = V diag(lam) V^* - P P^T``.

    lam (N,) complex with real part -1/2, V (N, N) unitary, P (N,) real, B (N,) real (= sqrt(2) P).
    """

    lam: torch.Tensor
    V: torch.Tensor
    P: torch.Tensor
    B: torch.Tensor


def hippo_legs_nplr(N: int) -> NPLR:
    r"""The normal-plus-low-rank form of :func:`hippo_legs` (S4, Gu et al. 2022): :math:`P_n = \sqrt{n+1/2}`,
    :math:`A + PP^T = -\tfrac12 I + S` (S skew-symmetric) diagonalised by the Hermitian eigenproblem of
    :math:`-iS`, so V is unitary to machine precision."""
    A, B = hippo_legs(N)
    P = torch.sqrt(torch.arange(N, dtype=torch.float64) + 0.5)
    S = A + torch.outer(P, P) + 0.5 * torch.eye(N, dtype=torch.float64)
    S = 0.5 * (S - S.T)                                 # exactly skew-symmetric (it is, up to rounding)
    omega, V = torch.linalg.eigh(-1j * S.to(torch.complex128))
    lam = torch.complex(torch.full_like(omega, -0.5), omega)
    return NPLR(lam, V, P, B)


def eigenvector_condition(V: torch.Tensor) -> float:
    r"""2-norm condition number :math:`\kappa(V) = \sigma_{max}/\sigma_{min}` of an eigenvector matrix
    V (N, N) after scaling its columns to unit norm (the usual convention; inf if V is singular)."""
    check_tensor("V", V, ndim=2)
    if V.shape[0] != V.shape[1]:
        raise ValueError(f"V must be square, got shape {tuple(V.shape)}")
    V = V / torch.linalg.vector_norm(V, dim=0, keepdim=True)
    s = torch.linalg.svdvals(V)
    return float(s[0] / s[-1]) if float(s[-1]) > 0 else math.inf


def _eig(M: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    lam, V = torch.linalg.eig(M)
    return lam, V / torch.linalg.vector_norm(V, dim=0, keepdim=True)


class PTDResult(NamedTuple):
    """Outcome of :func:`ptd_perturbation`: E (N, N) real, eps = ||E||_2 / ||A||_2, kappa = kappa(V) of A + E,
    lam (N,) and V (N, N) its eigendecomposition (unit columns), evaluations = eigendecompositions used."""

    E: torch.Tensor
    eps: float
    kappa: float
    lam: torch.Tensor
    V: torch.Tensor
    evaluations: int


def ptd_perturbation(A: torch.Tensor, kappa_target: float = 1e6, *, seed: int = 0,
                     iterations: int = 50) -> PTDResult:
    r"""The smallest Gaussian perturbation :math:`E = \varepsilon\|A\|_2 G/\|G\|_2` (G seeded) such that
    :math:`A + E` has :math:`\kappa(V) \le` ``kappa_target`` and a stable spectrum (all Re < 0 when A's is).

    A: (N, N) real. A scan over the decades of :math:`\varepsilon` (at most 17 eigendecompositions), then a
    geometric bisection while the total stays below ``iterations``; if A itself meets the target, E = 0. Raises ValueError if no
    :math:`\varepsilon \le 1` meets it.
    """
    check_tensor("A", A, ndim=2, finite=True)
    if A.shape[0] != A.shape[1] or A.is_complex():
        raise ValueError(f"A must be a real square matrix, got shape {tuple(A.shape)} dtype {A.dtype}")
    check_float("kappa_target", kappa_target, min_value=1.0, strict_min=True)
    check_int("iterations", iterations, min_value=1)
    A = A.to(torch.float64)
    N = A.shape[0]
    stable = bool((torch.linalg.eigvals(A).real < 0).all())

    def attempt(E: torch.Tensor) -> tuple[bool, float, torch.Tensor, torch.Tensor]:
        lam, V = _eig(A + E)
        kappa = eigenvector_condition(V)
        ok = kappa <= kappa_target and (not stable or bool((lam.real < 0).all()))
        return ok, kappa, lam, V

    evaluations = 1
    zero = torch.zeros_like(A)
    ok, kappa, lam, V = attempt(zero)
    if ok:
        return PTDResult(zero, 0.0, kappa, lam, V, evaluations)
    gen = torch.Generator().manual_seed(seed)
    G = torch.randn(N, N, generator=gen, dtype=torch.float64)
    G = G * (torch.linalg.matrix_norm(A, ord=2) / torch.linalg.matrix_norm(G, ord=2))
    best = None
    lo = math.log(1e-16)
    for decade in range(-15, 1):                      # the first decade that meets the target brackets eps
        evaluations += 1
        ok, kappa, lam, V = attempt(10.0 ** decade * G)
        if ok:
            best = (10.0 ** decade, kappa, lam, V)
            break
        lo = decade * math.log(10.0)
    if best is None:
        raise ValueError(f"no perturbation of relative size <= 1 gives kappa(V) <= kappa_target="
                         f"{kappa_target:g} with a stable spectrum (last kappa {kappa:.3g}); raise kappa_target")
    hi = math.log(best[0])
    while evaluations < iterations and hi - lo > 1e-3:
        mid = 0.5 * (lo + hi)
        evaluations += 1
        ok, kappa, lam, V = attempt(math.exp(mid) * G)
        if ok:
            hi, best = mid, (math.exp(mid), kappa, lam, V)
        else:
            lo = mid
    eps, kappa, lam, V = best
    return PTDResult(eps * G, eps, kappa, lam, V, evaluations)


@functools.lru_cache(maxsize=32)
def _diagonal_init_cached(N: int, method: str, kappa_target: float, seed: int
                          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    A, B = hippo_legs(N)
    if method == "legs":
        lam, V = _eig(A)
    elif method == "s4d":
        lam, V, _, _ = hippo_legs_nplr(N)
    else:
        res = ptd_perturbation(A, kappa_target, seed=seed)
        lam, V = res.lam, res.V
    Bt = torch.linalg.solve(V, B.to(torch.complex128))
    return lam, Bt, V


def diagonal_init(N: int, method: str = "ptd", *, kappa_target: float = 1e6,
                  seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""A diagonal system from HiPPO-LegS of size N: ``(lam (N,), Bt (N,), V (N, N))`` complex128 with
    :math:`\tilde B = V^{-1} B`; the diagonal system with :math:`\tilde C = C V` stands for (an approximation
    of) :math:`(A, B, C)`. ``method``: ``"ptd"`` (A + E, see :func:`ptd_perturbation`), ``"s4d"`` (normal part
    of the NPLR form, low rank dropped), ``"legs"`` (naive eigendecomposition of A; ill-conditioned)."""
    check_int("N", N, min_value=1)
    check_choice("method", method, INITS)
    check_float("kappa_target", kappa_target, min_value=1.0, strict_min=True)
    check_int("seed", seed, min_value=0)
    lam, Bt, V = _diagonal_init_cached(N, method, float(kappa_target), seed)
    return lam.clone(), Bt.clone(), V.clone()


def transfer_function(A: torch.Tensor, B: torch.Tensor, C: torch.Tensor, omega: torch.Tensor) -> torch.Tensor:
    r""":math:`G(i\omega) = C (i\omega I - A)^{-1} B` at each frequency, complex.

    A: (N, N) dense (a batched direct solve) or (N,) the diagonal of a diagonal system (closed form
    :math:`\sum_n C_n B_n / (i\omega - A_n)`); B (N,), C (N,), real or complex; omega (W,) finite real.
    Returns (W,) complex128 (complex64 when every input is single precision).
    """
    for name, t in (("A", A), ("B", B), ("C", C)):
        check_tensor(name, t, ndim=(1, 2) if name == "A" else 1, finite=True)
    check_tensor("omega", omega, ndim=1, finite=True)
    if omega.is_complex():
        raise ValueError(f"omega must be real (frequencies), got dtype {omega.dtype}")
    N = A.shape[0]
    if (A.ndim == 2 and A.shape[1] != N) or B.shape[0] != N or C.shape[0] != N:
        raise ValueError(f"shapes do not match: A {tuple(A.shape)}, B {tuple(B.shape)}, C {tuple(C.shape)}; "
                         "need A (N, N) or (N,), B (N,), C (N,)")
    single = all(t.dtype in (torch.float32, torch.complex64) for t in (A, B, C, omega))
    ctype = torch.complex64 if single else torch.complex128
    A, B, C = A.to(ctype), B.to(ctype), C.to(ctype)
    s = 1j * omega.to(ctype)
    if A.ndim == 1:
        return ((C * B) / (s[:, None] - A)).sum(-1)
    eye = torch.eye(N, dtype=ctype, device=A.device)
    x = torch.linalg.solve(s[:, None, None] * eye - A, B.expand(len(omega), N).unsqueeze(-1))
    return (x.squeeze(-1) * C).sum(-1)


def ssm_kernel(lam: torch.Tensor, B: torch.Tensor, C: torch.Tensor, log_dt: torch.Tensor,
               length: int) -> torch.Tensor:
    r"""ZOH convolution kernel of a diagonal SSM: :math:`K_{h,l} = \operatorname{Re}\sum_n C_{hn}\bar B_{hn}
    \bar\Lambda_{hn}^l`, :math:`\bar\Lambda = e^{\Delta\Lambda}`, :math:`\bar B = (\bar\Lambda-1)\Lambda^{-1}B`.

    lam, B, C: (H, N) complex; log_dt: (H,) real; returns (H, length) real (Vandermonde product)."""
    dt = torch.exp(log_dt).unsqueeze(-1)
    dtlam = dt * lam
    Bbar = torch.expm1(dtlam) / lam * B
    vandermonde = torch.exp(dtlam.unsqueeze(-1) * torch.arange(length, device=lam.device, dtype=log_dt.dtype))
    return torch.einsum("hn,hnl->hl", C * Bbar, vandermonde).real


def causal_fft_conv(u: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    r"""Causal convolution :math:`y_t = \sum_{j \le t} K_{t-j} u_j` by FFT (zero-padded to 2L, no wrap-around).

    u: (..., H, L), K: (H, L) -> (..., H, L)."""
    L = u.shape[-1]
    n = 2 * L
    y = torch.fft.irfft(torch.fft.rfft(u, n=n) * torch.fft.rfft(K, n=n), n=n)
    return y[..., :L]


def ssm_recurrence(u: torch.Tensor, lam: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
                   log_dt: torch.Tensor) -> torch.Tensor:
    r"""Reference recurrence :math:`x_t = \bar\Lambda x_{t-1} + \bar B u_t,\ y_t = \operatorname{Re}(C x_t)`
    (x_{-1} = 0), step by step; u (batch, H, L) -> (batch, H, L). Slow; for tests."""
    dtlam = torch.exp(log_dt).unsqueeze(-1) * lam
    lam_bar, Bbar = torch.exp(dtlam), torch.expm1(dtlam) / lam * B
    x = torch.zeros(u.shape[0], *lam.shape, dtype=lam.dtype, device=u.device)
    ys = []
    for t in range(u.shape[-1]):
        x = lam_bar * x + Bbar * u[..., t].unsqueeze(-1)
        ys.append((x * C).sum(-1).real)
    return torch.stack(ys, dim=-1)


class SSMLayer(nn.Module):
    r"""Diagonal SSM layer (S4D / S5 style) with FFT-convolution kernels; (batch, L, d_model) -> same.

    Each of the ``d_model`` channels is a single-input single-output system of ``state_dim`` complex modes
    initialised from HiPPO-LegS by ``init`` (see :func:`diagonal_init`): :math:`\Lambda`, :math:`\tilde B =
    V^{-1}B` and :math:`\tilde C = C_0 V` with :math:`C_0 \sim N(0, 1/N)` real per channel, so at
    initialisation channel h realises :math:`(A_{init}, B, C_{0,h})`. Each eigenvector is rescaled so that
    :math:`\|V_{:,n}\| = \|(V^{-1})_{n,:}\|` (a diagonal similarity: the system is unchanged, B and C entries
    are balanced for the optimiser). :math:`\operatorname{Re}\Lambda = -e^{\theta}` stays negative (stable).
    The step :math:`\Delta_h` is log-uniform in [dt_min, dt_max]; D is a learnable skip.

    Precision: the PTD modes are individually large and cancel (:math:`|\tilde C_n \tilde B_n|` up to the
    eigenvalue condition numbers, about 2e5 at kappa 1e6, N = 32), so float32 storage (the default) realises
    the system to about :math:`\kappa u_{32}` - a few percent at kappa 1e6; ``dtype=torch.float64`` keeps it
    to 1e-9. Either is far closer to HiPPO than S4D's O(1) difference.
    """

    def __init__(self, d_model: int, state_dim: int = 64, init: str = "ptd", *, dt_min: float = 1e-3,
                 dt_max: float = 1e-1, kappa_target: float = 1e6, ptd_seed: int = 0,
                 generator: torch.Generator | None = None, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        dtype = torch.get_default_dtype() if dtype is None else dtype
        if dtype not in (torch.float32, torch.float64):
            raise TypeError(f"dtype must be torch.float32 or torch.float64 (real storage), got {dtype}")
        kw = {"device": device, "dtype": dtype}
        self.d_model = check_int("d_model", d_model, min_value=1)
        self.state_dim = check_int("state_dim", state_dim, min_value=1)
        self.init = check_choice("init", init, INITS)
        check_float("dt_min", dt_min, min_value=0.0, strict_min=True)
        check_float("dt_max", dt_max, min_value=dt_min)
        lam, Bt, V = diagonal_init(state_dim, init, kappa_target=kappa_target, seed=ptd_seed)
        W_rows = torch.linalg.vector_norm(torch.linalg.inv(V), dim=1)
        scale = torch.sqrt(W_rows)                                   # columns of V have unit norm
        V, Bt = V * scale, Bt / scale
        C0 = torch.randn(d_model, state_dim, generator=generator, dtype=torch.float64) / math.sqrt(state_dim)
        Ct = C0.to(torch.complex128) @ V
        u = torch.rand(d_model, generator=generator, dtype=torch.float64)
        log_dt = math.log(dt_min) + u * (math.log(dt_max) - math.log(dt_min))
        lam = lam.expand(d_model, state_dim)
        self.log_neg_re = nn.Parameter(torch.log(-lam.real).to(**kw).contiguous())
        self.im = nn.Parameter(lam.imag.to(**kw).contiguous())
        self.B = nn.Parameter(torch.view_as_real(Bt.expand(d_model, state_dim).contiguous()).to(**kw))
        self.C = nn.Parameter(torch.view_as_real(Ct).to(**kw).contiguous())
        self.log_dt = nn.Parameter(log_dt.to(**kw))
        self.D = nn.Parameter(torch.randn(d_model, generator=generator, dtype=torch.float64).to(**kw))

    def state_parameters(self) -> list[nn.Parameter]:
        """The state-matrix parameters (Lambda, B, log step): S4/S4D/S5 train these at a small fixed learning
        rate (1e-3) without weight decay; C and D train with the rest of the network."""
        return [self.log_neg_re, self.im, self.B, self.log_dt]

    def eigenvalues(self) -> torch.Tensor:
        """(d_model, state_dim) complex: the current continuous-time diagonal."""
        return torch.complex(-torch.exp(self.log_neg_re), self.im)

    def kernel(self, length: int) -> torch.Tensor:
        """(d_model, length) real convolution kernel."""
        return ssm_kernel(self.eigenvalues(), torch.view_as_complex(self.B), torch.view_as_complex(self.C),
                          self.log_dt, length)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=3, last_dim=self.d_model)
        u = x.transpose(1, 2)
        y = causal_fft_conv(u, self.kernel(u.shape[-1])) + self.D.unsqueeze(-1) * u
        return y.transpose(1, 2)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, state_dim={self.state_dim}, init={self.init!r}"


class SSMClassifier(nn.Module):
    """Sequence classifier: linear encoder, ``n_layers`` pre-norm residual blocks
    (LayerNorm -> SSMLayer -> activation -> Linear), mean over time, linear head.

    x: (batch, L, d_input) -> logits (batch, n_classes). ``activation`` is a name from
    :mod:`basiskit.nn.activations`; remaining keywords go to :class:`SSMLayer`.
    """

    def __init__(self, d_input: int, n_classes: int, d_model: int = 64, n_layers: int = 2, state_dim: int = 64,
                 init: str = "ptd", activation: str = "gelu", generator: torch.Generator | None = None,
                 **ssm_kwargs: float) -> None:
        super().__init__()
        check_int("d_input", d_input, min_value=1)
        check_int("n_classes", n_classes, min_value=1)
        check_int("n_layers", n_layers, min_value=1)
        act = get_activation(activation)
        self.encoder = nn.Linear(d_input, d_model)
        self.norms = nn.ModuleList(nn.LayerNorm(d_model) for _ in range(n_layers))
        self.ssms = nn.ModuleList(SSMLayer(d_model, state_dim, init, generator=generator, **ssm_kwargs)
                                  for _ in range(n_layers))
        self.mixers = nn.ModuleList(nn.Sequential(act.module(), nn.Linear(d_model, d_model))
                                    for _ in range(n_layers))
        self.head = nn.Linear(d_model, n_classes)

    def param_groups(self, lr: float, state_lr: float | None = None) -> list[dict]:
        """Optimizer groups: every SSM layer's :meth:`SSMLayer.state_parameters` at ``state_lr`` (default
        ``lr``) with no weight decay, everything else at ``lr``."""
        state = [p for ssm in self.ssms for p in ssm.state_parameters()]
        ids = {id(p) for p in state}
        rest = [p for p in self.parameters() if id(p) not in ids]
        return [{"params": rest, "lr": lr},
                {"params": state, "lr": lr if state_lr is None else state_lr, "weight_decay": 0.0}]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=3, last_dim=self.encoder.in_features)
        h = self.encoder(x)
        for norm, ssm, mixer in zip(self.norms, self.ssms, self.mixers):
            h = h + mixer(ssm(norm(h)))
        return self.head(h.mean(dim=1))
