r"""Physics-informed neural network (Raissi, Perdikaris & Karniadakis 2019) with the standard remedies.

The network :math:`u_\theta` is fitted by minimising

.. math::
    L = \lambda_r \overline{r^2} + \lambda_b \overline{b^2} + \lambda_0 \overline{g^2}

over collocation points: r the PDE residual, b the boundary residual, g the initial residual.
Remedies, each optional:

* any ``nn.Module`` as the net: tanh MLP, random Fourier features + MLP (``FourierFeatures``), SIREN, KAN;
* adaptive weights by gradient-norm balancing (Wang, Teng & Perdikaris 2021, "Understanding and mitigating
  gradient flow pathologies"): :math:`\hat\lambda_k = \max|\nabla_\theta L_r| / \overline{|\nabla_\theta L_k|}`,
  :math:`\lambda_k \leftarrow \alpha \lambda_k + (1 - \alpha)\hat\lambda_k`;
* causal weighting for time-dependent problems (Wang, Sankaran & Perdikaris 2022, "Respecting causality"):
  time is cut into M chunks, chunk i's residual gets :math:`w_i = \exp(-\epsilon \sum_{k<i} L_r^{(k)})`;
* collocation resampling every ``resample_every`` loss evaluations (deterministic in the step count), uniform
  or residual-based (``sampling``): RAD (Wu, Zhu, Tan, Kartha & Lu 2023) redraws the interior points from a
  uniform pool of ``pool`` x ``n_interior`` candidates with probability
  :math:`p \propto |r|^k / \overline{|r|^k} + c` (defaults k = 1, c = 1); RAR (Lu, Meng, Mao & Karniadakis 2021,
  DeepXDE; "RAR-G" in Wu et al.) starts from ``start`` x ``n_interior`` uniform points and adds the ``n_add`` pool
  points of largest residual each round until ``n_interior`` are in use; RAR-D (``"rar-d"``, Wu et al. 2023) adds
  them the same way but draws them from the density above without replacement (defaults k = 2, c = 0; greedy RAR
  is its limit k -> infinity). All end at the same point budget as uniform sampling.
  The adaptive set is a buffer of the model, saved in checkpoints, so a resumed run continues on the same points.

Systems (a field of ``problem.outputs`` channels, e.g. Kovasznay's (u, v, p)) give one residual column per
equation; the residual loss is :math:`\sum_k w_k \overline{r_k^2}` with per-equation weights ``equation_weights``
(default 1 each; one equation: the plain mean square).

Inverse problems (:mod:`basiskit.physics.inverse`): ``unknowns={"nu": 0.05}`` makes PDE parameters trainable
(log-parameters of the solver, passed to ``equation(D, p)``), ``observations`` adds the data term
:math:`w_d \overline{(u_\theta(x_i) - u_i)^2}` (weight ``weights["data"]``); the recovered values are logged at
every evaluation of :func:`train_physics`.

Train with ``basiskit.train.fit(pinn, objective=pinn.loss, ...)`` or :func:`train_physics` (Adam, then
optional L-BFGS).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from .._validation import check_choice, check_float, check_int, check_tensor
from ..measure import count_parameters
from .derivatives import AutogradDerivatives, Derivatives
from .inverse import Observations, Unknowns
from .problems import Problem
from .sampling import residual_density

SAMPLINGS = ("uniform", "rad", "rar", "rar-d")

__all__ = ["PINN", "PhysicsModel", "causal_weights", "loss_change_at_end", "residual_scale", "train_physics",
           "training_summary"]


def residual_scale(problem: Problem) -> float:
    """Mean square of the PDE residual of u = 0 on the test grid (the source's size); 1 if that is 0.

    ``weights={"residual": 1 / residual_scale(problem)}`` starts the residual loss at O(1), balanced against
    boundary losses whatever the equation's scale (e.g. (50 pi)^2 for a 50 pi mode).
    """
    pts, _ = problem.test_grid()
    r0 = problem.residual(lambda x: x[:, :1].repeat(1, problem.outputs) * 0, pts).detach()
    scale = float(r0.pow(2).mean())
    return scale if scale > 0 else 1.0


def causal_weights(chunk_losses: torch.Tensor, eps: float) -> torch.Tensor:
    r"""Causal weights :math:`w_i = \exp(-\epsilon \sum_{k<i} L_k)` (detached); chunk_losses: (M,) -> (M,)."""
    prefix = torch.cumsum(chunk_losses.detach(), 0) - chunk_losses.detach()
    return torch.exp(-eps * prefix)


class PhysicsModel(nn.Module):
    """Shared plumbing of the physics-informed solvers: the problem, collocation sets, predict, relative L2.

    Subclasses implement ``forward(points) -> (n, outputs)`` and ``loss(*_) -> (loss, parts)``.
    """

    problem: Problem

    def equation_parameters(self) -> dict[str, torch.Tensor]:
        """Overrides of the problem's parameters passed to its equation (the unknowns; none by default)."""
        return {}

    def _setup_points(self, problem: Problem, n_interior: int, n_boundary: int, n_initial: int,
                      resample_every: int, seed: int, sampling: str = "uniform",
                      sampling_options: dict[str, float] | None = None) -> None:
        if not isinstance(problem, Problem):
            raise TypeError(f"problem must be a basiskit.physics.Problem (see problems.create), "
                            f"got {type(problem).__name__}")
        self.problem = problem
        self.n_interior = check_int("n_interior", n_interior, min_value=1)
        self.n_boundary = check_int("n_boundary", n_boundary, min_value=0)
        self.n_initial = check_int("n_initial", n_initial, min_value=0)
        self.resample_every = check_int("resample_every", resample_every, min_value=0)
        self.seed = check_int("seed", seed)
        self.register_buffer("evaluations", torch.zeros((), dtype=torch.long))
        self.register_buffer("lower", torch.tensor(problem.lower), persistent=False)
        self.register_buffer("upper", torch.tensor(problem.upper), persistent=False)
        self._points_round = -1
        self._points: dict[str, torch.Tensor] = {}
        self.sampling = check_choice("sampling", sampling, SAMPLINGS)
        allowed = {"uniform": (), "rad": ("k", "c", "pool"), "rar": ("start", "n_add", "pool"),
                   "rar-d": ("k", "c", "start", "n_add", "pool")}[sampling]
        opts = dict(sampling_options or {})
        for key in opts:
            if key not in allowed:
                raise ValueError(f"sampling_options: {key!r} is not an option of sampling={sampling!r}; allowed: "
                                 f"{list(allowed) or 'none'}")
        k0, c0 = (2.0, 0.0) if sampling == "rar-d" else (1.0, 1.0)  # Wu et al. 2023's defaults: RAR-D k=2, c=0
        self.sampling_options = {"k": check_float("k", opts.get("k", k0), min_value=0.0),
                                 "c": check_float("c", opts.get("c", c0), min_value=0.0),
                                 "pool": check_int("pool", opts.get("pool", 4), min_value=1),
                                 "start": check_float("start", opts.get("start", 0.5), min_value=0.0, max_value=1.0,
                                                      strict_min=True),
                                 "n_add": check_int("n_add", opts.get("n_add", max(1, n_interior // 20)),
                                                    min_value=1)}
        if sampling != "uniform":
            if not resample_every:
                raise ValueError(f"sampling={sampling!r} adapts the points every resample_every evaluations; "
                                 "pass resample_every >= 1")
            self.register_buffer("adaptive_points", torch.zeros(n_interior, problem.input_dim))
            self.register_buffer("adaptive_round", torch.tensor(-1, dtype=torch.long))
            self.register_buffer("adaptive_count", torch.tensor(0, dtype=torch.long))

    def _pool_residuals(self, pool: torch.Tensor) -> torch.Tensor:
        """|PDE residual| of the current model at ``pool`` points (n,), in chunks, no graph kept."""
        out = []
        with torch.enable_grad():
            for chunk in pool.split(4096):
                r = self.problem.residual(self.derivatives(chunk.detach().requires_grad_(True)),
                                          params=self.equation_parameters())
                out.append(r.detach().abs().sum(1))
        return torch.cat(out)

    def _adaptive_interior(self, rnd: int) -> None:
        """Refresh the adaptive interior buffer for round ``rnd`` (RAD: redraw; RAR: add the worst points)."""
        g = torch.Generator().manual_seed(self.seed * 100_003 + rnd + 7)
        dtype, device = self.adaptive_points.dtype, self.adaptive_points.device
        n, o = self.n_interior, self.sampling_options
        if rnd == 0 or int(self.adaptive_round) < 0:  # start: uniform points (RAR keeps a fraction)
            m = n if self.sampling == "rad" else max(1, round(o["start"] * n))
            self.adaptive_points[:m] = self.problem.sample_interior(m, g).to(device, dtype)
            self.adaptive_count.fill_(m)
        else:
            pool = self.problem.sample_interior(int(o["pool"]) * n, g).to(device, dtype)
            res = self._pool_residuals(pool)
            have = 0 if self.sampling == "rad" else int(self.adaptive_count)  # RAD redraws all, RAR adds
            add = n if self.sampling == "rad" else min(int(o["n_add"]), n - have)
            if add > 0:
                if self.sampling == "rar":  # greedy: the largest residuals (RAR-G in Wu et al.'s naming)
                    idx = res.topk(add).indices
                else:  # RAD, RAR-D: drawn from the residual density, without replacement
                    prob = residual_density(res.cpu(), o["k"], o["c"])
                    idx = torch.multinomial(prob, add, replacement=False, generator=g).to(device)
                self.adaptive_points[have:have + add] = pool[idx]
                self.adaptive_count.fill_(have + add)
        self.adaptive_round.fill_(rnd)

    def adapt_points(self) -> None:
        """Run the next adaptive round now (RAD: redraw, RAR: add points), whatever the evaluation counter says.

        For schedules in rounds (warm-up, then rounds of Adam + L-BFGS on fixed points): set ``resample_every =
        0`` so the points stay fixed between calls, and call this at the start of each round."""
        if self.sampling == "uniform":
            raise ValueError("adapt_points() needs sampling='rad', 'rar' or 'rar-d'; this model samples uniformly")
        self.collocation()  # the round-0 (uniform) points, if none were drawn yet
        self._adaptive_interior(int(self.adaptive_round) + 1)
        self._points_round = -1

    def collocation(self) -> dict[str, torch.Tensor]:
        """The current point sets {"interior", "boundary", "initial"}: a pure function of (seed, round)."""
        rnd = int(self.evaluations) // self.resample_every if self.resample_every else 0
        if self.sampling != "uniform":
            frozen = not self.resample_every and int(self.adaptive_round) >= 0  # e.g. the L-BFGS phase
            if not frozen and rnd != int(self.adaptive_round):
                self._adaptive_interior(rnd)
                self._points_round = -1  # rebuild the dict below
        stale = bool(self._points) and next(iter(self._points.values())).device != self.lower.device
        if rnd != self._points_round or stale:
            g = torch.Generator().manual_seed(self.seed * 100_003 + rnd)
            p = self.problem
            pts = {"interior": p.sample_interior(self.n_interior, g)}
            if self.n_boundary and p.boundary != "none":
                pts["boundary"] = p.sample_boundary(self.n_boundary, g)
            if self.n_initial and p.time_dependent and p.initial:
                pts["initial"] = p.sample_initial(self.n_initial, g)
            dtype = self.lower.dtype
            self._points = {k: v.to(self.lower.device, dtype) for k, v in pts.items()}
            self._points_round = rnd
        if self.sampling != "uniform":
            self._points["interior"] = self.adaptive_points[: int(self.adaptive_count)]
        return self._points

    def normalize(self, points: torch.Tensor) -> torch.Tensor:
        """Map the domain box to [-1, 1]^d."""
        return 2 * (points - self.lower) / (self.upper - self.lower) - 1

    def predict(self, points: torch.Tensor) -> torch.Tensor:
        """u at points (n, input_dim) -> (n, outputs), no grad."""
        self.problem.check_points(points)
        with torch.no_grad():
            return self(points.to(self.lower.device, self.lower.dtype))

    def relative_l2(self, channels: Sequence[int] | None = None) -> float:
        """Relative L2 error of the current model on the problem's fixed test grid (``channels``: a subset)."""
        return self.problem.relative_l2(lambda p: self.predict(p.to(self.lower.dtype)).cpu(), channels=channels)


class PINN(PhysicsModel):
    """Physics-informed network for a :class:`Problem`: points (n, input_dim) -> u (n, outputs).

    Args:
        problem: the PDE (``problems.create(...)``).
        net: any module (n, input_dim) -> (n, problem.outputs); it sees inputs mapped to [-1, 1]^d when
            ``normalize_inputs``.
        weights: fixed loss weights {"residual", "boundary", "initial", "data"} (the adaptive ones start there;
            "data" stays fixed).
        equation_weights: one weight per equation of a system (residual column), default 1 each.
        unknowns: ``{name: initial guess}`` of PDE parameters to recover (names of ``problem.params``), trainable
            (:class:`~basiskit.physics.inverse.Unknowns`; ``positive_unknowns``: stored as logs).
        observations: the data term (:class:`~basiskit.physics.inverse.Observations`, e.g. from ``observe``).
        adaptive: gradient-norm balancing of the boundary/initial weights every ``adapt_every`` evaluations.
        causal_eps: causal weighting tolerance (time-dependent problems; None = off), ``n_chunks`` time chunks.
        n_interior, n_boundary, n_initial: collocation set sizes; ``resample_every`` (0 = fixed points).
        sampling: "uniform", "rad", "rar" or "rar-d" (module docstring); ``sampling_options``: RAD ``k``, ``c``,
            ``pool``; RAR ``start`` (fraction of ``n_interior`` drawn uniformly first), ``n_add`` (points per
            round), ``pool``; RAR-D all five (defaults k = 2, c = 0).
    """

    def __init__(self, problem: Problem, net: nn.Module, *, n_interior: int = 2000, n_boundary: int = 200,
                 n_initial: int = 200, weights: dict[str, float] | None = None, adaptive: bool = False,
                 adapt_every: int = 10, adapt_alpha: float = 0.9, causal_eps: float | None = None,
                 n_chunks: int = 16, resample_every: int = 0, normalize_inputs: bool = True, seed: int = 0,
                 sampling: str = "uniform", sampling_options: dict[str, float] | None = None,
                 equation_weights: Sequence[float] | None = None, unknowns: dict[str, float] | None = None,
                 positive_unknowns: bool = True, observations: Observations | None = None,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        if not isinstance(net, nn.Module):
            raise TypeError(f"net must be an nn.Module mapping (n, input_dim) to (n, outputs), "
                            f"got {type(net).__name__}")
        self._setup_points(problem, n_interior, n_boundary, n_initial, resample_every, seed, sampling,
                           sampling_options)
        self.net = net
        self.normalize_inputs = normalize_inputs
        w = {"residual": 1.0, "boundary": 1.0, "initial": 1.0, "data": 1.0, **(weights or {})}
        for k, v in w.items():
            if k not in ("residual", "boundary", "initial", "data"):
                raise ValueError(f"weights: unknown key {k!r}; allowed 'residual', 'boundary', 'initial', 'data'")
            check_float(f"weights[{k!r}]", v, min_value=0.0)
        self.register_buffer("loss_weights", torch.tensor([w["residual"], w["boundary"], w["initial"]]))
        if equation_weights is not None:
            ew = [check_float(f"equation_weights[{i}]", v, min_value=0.0) for i, v in enumerate(equation_weights)]
            self.register_buffer("equation_weights", torch.tensor(ew))
        else:
            self.equation_weights = None
        self.unknowns = None
        if unknowns is not None:
            problem.parameters({k: torch.zeros(()) for k in unknowns})  # each must be a parameter of the problem
            self.unknowns = Unknowns(unknowns, positive=positive_unknowns)
        if observations is not None and not isinstance(observations, Observations):
            raise TypeError(f"observations must be a basiskit.physics.inverse.Observations (see observe), "
                            f"got {type(observations).__name__}")
        if observations is not None:
            problem.check_points(observations.points, "observations.points")
        self.observations = observations
        self.data_weight = w["data"]
        self.adaptive = adaptive
        self.adapt_every = check_int("adapt_every", adapt_every, min_value=1)
        self.adapt_alpha = check_float("adapt_alpha", adapt_alpha, min_value=0.0, max_value=1.0)
        if causal_eps is not None:
            check_float("causal_eps", causal_eps, min_value=0.0)
            if not problem.time_dependent:
                raise ValueError(f"causal_eps: problem {problem.name!r} is not time-dependent")
        self.causal_eps = causal_eps
        self.n_chunks = check_int("n_chunks", n_chunks, min_value=1)
        self.to(device=device, dtype=dtype)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        check_tensor("points", points, ndim=2, last_dim=self.problem.input_dim)
        out = self.net(self.normalize(points) if self.normalize_inputs else points)
        m = self.problem.outputs
        if out.ndim != 2 or out.shape != (points.shape[0], m):
            raise ValueError(f"net must return (n, {m}) for problem {self.problem.name!r} (outputs "
                             f"{', '.join(self.problem.output_names)}), got {tuple(out.shape)} for input "
                             f"{tuple(points.shape)}")
        return out

    def equation_parameters(self) -> dict[str, torch.Tensor]:
        """The unknowns' current values (trainable), else {}."""
        return self.unknowns() if self.unknowns is not None else {}

    def unknown_values(self) -> dict[str, float]:
        """The recovered parameters as floats ({} for a forward problem)."""
        return self.unknowns.values() if self.unknowns is not None else {}

    def derivatives(self, x: torch.Tensor) -> Derivatives:
        """Derivatives of u at x (n, input_dim) for the residual (autograd here; PIG overrides)."""
        return AutogradDerivatives(self, x)

    def residual_loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        r = self.problem.residual(self.derivatives(x), params=self.equation_parameters())
        ew = self.equation_weights
        if ew is not None and ew.numel() != r.shape[1]:
            raise ValueError(f"equation_weights: {ew.numel()} weight(s) for the {r.shape[1]} equation(s) of "
                             f"problem {self.problem.name!r}")
        sq = r.pow(2) if ew is None else r.pow(2) * ew
        if self.causal_eps is None:
            return (r.pow(2).mean() if ew is None and r.shape[1] == 1 else sq.mean(0).sum()), {}
        t = x[:, -1]
        t0, t1 = self.problem.time  # type: ignore[misc]
        chunk = ((t - t0) / (t1 - t0) * self.n_chunks).long().clamp(0, self.n_chunks - 1)
        sums = torch.zeros(self.n_chunks, dtype=r.dtype, device=r.device).index_add(0, chunk, sq.sum(1))
        counts = torch.bincount(chunk, minlength=self.n_chunks).clamp_min(1).to(r.dtype)
        chunk_losses = sums / counts
        w = causal_weights(chunk_losses, self.causal_eps)
        return (w * chunk_losses).mean(), {"causal_min_weight": float(w.min())}

    def terms(self) -> tuple[list[torch.Tensor], dict[str, float]]:
        """[residual, boundary, initial] mean-square losses (zeros where absent) and extra logged values."""
        pts = self.collocation()
        res, extra = self.residual_loss(pts["interior"])
        zero = res.new_zeros(())
        if self.problem.boundary == "conditions":  # condition objects (PointSet ones need no sampled points)
            bnd = self.problem.conditions_loss(self, pts.get("boundary"))
        else:
            bnd = self.problem.boundary_residual(self, pts["boundary"]).pow(2).mean() if "boundary" in pts else zero
        ini = self.problem.initial_residual(self, pts["initial"]).pow(2).mean() if "initial" in pts else zero
        return [res, bnd, ini], extra

    def data_loss(self) -> torch.Tensor:
        """Mean square misfit on the observations (moved to the model's device and dtype once)."""
        obs = self.observations
        assert obs is not None
        if obs.points.device != self.lower.device or obs.points.dtype != self.lower.dtype:
            self.observations = obs = obs.to(self.lower.device, self.lower.dtype)
        return obs.loss(self)

    def _adapt(self, terms: list[torch.Tensor]) -> None:
        params = [p for p in self.parameters() if p.requires_grad]
        g_res = torch.autograd.grad(terms[0], params, retain_graph=True, allow_unused=True)
        top = max(float(g.abs().max()) for g in g_res if g is not None)
        for k in (1, 2):
            if not terms[k].requires_grad:
                continue
            grads = torch.autograd.grad(terms[k], params, retain_graph=True, allow_unused=True)
            flat = torch.cat([g.abs().reshape(-1) for g in grads if g is not None])
            mean = float(flat.mean()) if flat.numel() else 0.0
            if mean > 0:
                new = top / mean
                self.loss_weights[k] = self.adapt_alpha * self.loss_weights[k] + (1 - self.adapt_alpha) * new

    def loss(self, *_: Any) -> tuple[torch.Tensor, dict[str, float]]:
        """Weighted physics loss and its parts; usable as ``fit(pinn, objective=pinn.loss)``."""
        terms, extra = self.terms()
        if self.adaptive and self.training and int(self.evaluations) % self.adapt_every == 0:
            self._adapt(terms)
        self.evaluations += 1
        w = self.loss_weights
        total = w[0] * terms[0] + w[1] * terms[1] + w[2] * terms[2]
        parts = {"residual": float(terms[0].detach()), "boundary": float(terms[1].detach()), "initial": float(terms[2].detach()), **extra}
        if self.observations is not None:
            data = self.data_loss()
            total = total + self.data_weight * data
            parts["data"] = float(data.detach())
        parts.update(self.unknown_values())  # the recovered parameters, a curve over training in the log
        if self.adaptive:
            parts.update(w_boundary=float(w[1]), w_initial=float(w[2]))
        return total, parts

    def extra_repr(self) -> str:
        return (f"problem={self.problem.name}, n_interior={self.n_interior}, adaptive={self.adaptive}, "
                f"causal_eps={self.causal_eps}, resample_every={self.resample_every}")


def train_physics(model: PhysicsModel, *, steps: int, lr: float = 1e-3, lbfgs_steps: int = 0, lbfgs_iters: int = 20,
                  scheduler: str | None = None, ctx: Any = None, name: str = "pinn",
                  eval_every: int = 0, eval_fn: Callable[[nn.Module], dict[str, float]] | None = None,
                  log_every: int = 10) -> list[dict[str, float]]:
    """Adam for ``steps`` (with ``scheduler``), then L-BFGS for ``lbfgs_steps``; returns the merged history.

    Each L-BFGS step runs ``lbfgs_iters`` iterations (strong-Wolfe line search) on frozen collocation points.

    Each phase is one ``basiskit.train.fit`` call (names ``name`` and ``name + "-lbfgs"``), so checkpoints
    and resume work as for any model. ``eval_fn`` defaults to the relative L2 on the test grid.
    """
    from ..train import fit

    eval_fn = eval_fn or (lambda m: {"rel_l2": m.relative_l2()})
    history: list[dict[str, float]] = []
    if steps:
        res = fit(model, objective=model.loss, steps=steps, lr=lr, scheduler=scheduler, ctx=ctx, name=name,
                  eval_fn=eval_fn, eval_every=eval_every, log_every=log_every)
        history += res.history
    if lbfgs_steps:
        # L-BFGS's line search needs one fixed objective: freeze the current collocation points
        resample, model.resample_every = model.resample_every, 0
        model._points_round = 0
        res = fit(model, objective=model.loss, steps=lbfgs_steps, optimizer="lbfgs", lr=1.0, ctx=ctx,
                  optimizer_options={"tolerance_grad": 0.0, "tolerance_change": 0.0, "max_iter": lbfgs_iters},
                  name=name + "-lbfgs", eval_fn=eval_fn, eval_every=eval_every and max(1, eval_every // 10),
                  log_every=max(1, log_every // 5))
        model.resample_every = resample
        history += [{**r, "step": r["step"] + steps} for r in res.history]
    return history


def loss_change_at_end(steps: list[float], losses: list[float], fraction: float = 0.1) -> float:
    r"""How flat a loss curve is at its end: the relative change of the loss over the last ``fraction`` of the steps,

    .. math::
        \frac{|\bar L_{\text{end}} - \bar L_{\text{start}}|}{\bar L_{\text{start}}},

    where :math:`\bar L_{\text{start}}` is the median of the logged losses in the window of width
    ``fraction * fraction * T`` just before step ``(1 - fraction) T`` and :math:`\bar L_{\text{end}}` the median
    in the same width at the end (medians, because a loss on resampled points is noisy step to step). A value
    of 0.01 means the loss moved by 1% over the last tenth of training: a baseline that is still falling fast
    (say 0.3) was stopped early, not beaten. ``steps``, ``losses``: the logged curve, same length; ``nan`` if
    fewer than two points are logged.
    """
    check_float("fraction", fraction, min_value=0.0, max_value=1.0, strict_min=True)
    if len(steps) != len(losses):
        raise ValueError(f"steps and losses must have the same length, got {len(steps)} and {len(losses)}")
    if len(steps) < 2:
        return float("nan")
    total = max(steps)
    start, width = (1 - fraction) * total, max(fraction * fraction * total, 1e-12)

    def window(lo: float, hi: float) -> float:
        vals = sorted(v for s, v in zip(steps, losses) if lo <= s <= hi)
        if not vals:  # sparse logging: the logged point nearest to hi
            nearest = min(range(len(steps)), key=lambda i: abs(steps[i] - hi))
            return float(losses[nearest])
        return float(vals[len(vals) // 2])

    before, end = window(start - width, start), window(total - width, total)
    return abs(end - before) / abs(before) if before != 0 else float("inf")


def training_summary(name: str, model: PhysicsModel, history: list[dict[str, float]]
                     ) -> tuple[dict[str, float], dict[str, tuple[list[float], list[float]]]]:
    """Figures and curves of one trained physics model, keyed by ``name``.

    Metrics: ``{name}_rel_l2`` (final iterate on the problem's test grid), ``{name}_best_rel_l2_during_training``
    (labelled as such, from the periodic evaluations), ``{name}_n_params`` and ``{name}_loss_change_last10``
    (:func:`loss_change_at_end`: relative change of the loss over the last 10% of the steps, to show that a
    baseline was trained until its loss was flat). Curves: loss and rel. L2 by step. An inverse problem adds
    ``{name}_{unknown}`` (the final recovered value) and its curve over training (logged with the loss).
    """
    losses = [(r["step"], r["loss"]) for r in history if "loss" in r]
    evals = [(r["step"], r["rel_l2"]) for r in history if "rel_l2" in r]
    metrics = {f"{name}_rel_l2": model.relative_l2(),
               f"{name}_best_rel_l2_during_training": min(v for _, v in evals) if evals else float("nan"),
               f"{name}_n_params": float(count_parameters(model)),
               f"{name}_loss_change_last10": loss_change_at_end([s for s, _ in losses], [v for _, v in losses])}
    curves = {f"{name} loss": ([s for s, _ in losses], [v for _, v in losses]),
              f"{name} rel. L2": ([s for s, _ in evals], [v for _, v in evals])}
    unknowns = model.unknown_values() if isinstance(model, PINN) else {}
    for key, value in unknowns.items():  # the recovered parameters: final value and curve over training
        metrics[f"{name}_{key}"] = value
        rows = [(r["step"], r[key]) for r in history if key in r]
        curves[f"{name} {key}"] = ([s for s, _ in rows], [v for _, v in rows])
    return metrics, curves
