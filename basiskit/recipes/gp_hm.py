"""gp-hm: GP-HM solves high-frequency Poisson problems with a spectral-mixture GP on a Kronecker grid.

Fang et al., ICLR 2024. 1-D: ``poisson1d_sin(k=100)`` on a 400-point grid (the paper's setting: 30
components, initial frequencies linspace(0, 20), boundary weight 200, Adam lr 1e-2, 10^5 steps); the claims are the
final iterate's relative L2 error on the problem's fixed test grid and that the largest learned mixture weight
sits within 5% of the true frequency k / (2 pi). 2-D: ``poisson2d_sin(k=100)`` on a 400 x 400 grid
(160,000 unknowns, whose dense covariance would take 205 GB) trained through the per-axis factors only;
time per iteration and peak memory are reported.
"""
from __future__ import annotations

import math
import resource
import time
from dataclasses import dataclass, field

import torch

from ..measure import kept_for_backward_bytes
from ..physics import GPSolver, create_problem
from ..train import RunContext, fit
from .core import Claim, recipe


@dataclass
class GpHmConfig:
    k: float = field(default=100.0, metadata={"gt": 0.0})
    grid_1d: int = field(default=400, metadata={"min": 3})
    grid_2d: int = field(default=400, metadata={"min": 3})
    n_components: int = field(default=30, metadata={"min": 1})
    kernel: str = field(default="spectral_mixture",
                        metadata={"choices_from": "basiskit.physics.kernels_sm:KERNELS"})
    # U trained directly, as the GP-HM code does: on sin(100x) it is at 3e-4 after 15000 steps where the
    # whitened U = L(theta) v (which moves whenever the kernel does) is still at 1e-2 (docs/physics.md)
    parameterization: str = field(default="direct", metadata={"choices": ("direct", "whitened")})
    freq_scale: float = field(default=20.0, metadata={"gt": 0.0})
    boundary_weight: float = field(default=200.0, metadata={"gt": 0.0})
    lr: float = field(default=1e-2, metadata={"gt": 0.0})
    # the GP-HM code's setting for sin(100x): nepoch 100000 at a constant lr 1e-2 (code_fang/config/
    # poisson_1d-single_sin.yaml and run_1d.sh in xuangu-fang/Gaussian-Process-Slover-for-High-Freq-PDE);
    # Adam's second-moment estimates remember the first steps' ~1e10-sized gradients for ~10^4 steps
    steps_1d: int = field(default=100000, metadata={"min": 1})
    steps_2d: int = field(default=2000, metadata={"min": 1})
    eval_every_1d: int = field(default=1000, metadata={"min": 1})
    checkpoint_every: int = field(default=1000, metadata={"min": 0})


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _make(cfg: GpHmConfig, problem, grid: int, ctx: RunContext) -> GPSolver:  # type: ignore[no-untyped-def]
    return GPSolver(problem, grid, cfg.n_components, cfg.kernel, freq_scale=cfg.freq_scale,
                    boundary_weight=cfg.boundary_weight, parameterization=cfg.parameterization,
                    device=ctx.device)


@recipe("gp-hm", paper="Fang et al. 2024, Solving High Frequency and Multi-Scale PDEs with Gaussian Processes",
        summary="GP-HM (spectral-mixture GP, Kronecker grid) on sin(100x) in 1-D and a 400x400 2-D grid",
        config=GpHmConfig, quick={"steps_1d": 400, "steps_2d": 30, "eval_every_1d": 100, "checkpoint_every": 0},
        claims=[Claim("rel_l2_1d", "<=", 1e-2, note="final iterate, fixed test grid, poisson1d_sin(100), 400 points"),
                Claim("dominant_freq_rel_err_1d", "<=", 0.05,
                      note="largest learned weight's frequency vs k / (2 pi)"),
                Claim("seconds_2d", "<=", 60.0, note="poisson2d_sin(100) on 400x400: steps_2d x measured seconds per "
                      "iteration, within the quick budget; "
                      "see peak_rss_mb, kept_for_backward_mb_2d, dense_covariance_gb")],
        tour=True)
def run(cfg: GpHmConfig, ctx: RunContext) -> dict:
    target_freq = cfg.k / (2 * math.pi)

    # ---- 1-D: sin(k x) on [0, 2 pi] -------------------------------------------------------------
    prob1 = create_problem("poisson1d_sin", k=cfg.k)
    gp1 = _make(cfg, prob1, cfg.grid_1d, ctx)

    def rel_l2(model: GPSolver, problem) -> float:  # type: ignore[no-untyped-def]
        """Relative L2 on the problem's fixed test grid, predicted axis by axis (Kronecker)."""
        points, shape = problem.test_grid()
        grid = points.double().reshape(*shape, len(shape))
        axes = [grid[(0,) * j + (slice(None),) + (0,) * (len(shape) - 1 - j)][:, j] for j in range(len(shape))]
        pred = model.predict_grid([a.to(ctx.device) for a in axes]).cpu().reshape(-1)
        ref = problem.solution(points.double()).reshape(-1)
        return float((pred - ref).norm() / ref.norm())

    res1 = fit(gp1, objective=lambda m: m.loss(), steps=cfg.steps_1d, lr=cfg.lr, ctx=ctx, name="gp_1d",
               eval_fn=lambda m: {"test_rel_l2": rel_l2(m, prob1)}, eval_every=cfg.eval_every_1d,
               checkpoint_every=cfg.checkpoint_every)
    with torch.no_grad():
        err1 = rel_l2(gp1, prob1)
        dom = float(gp1.dominant_frequencies()[0])
        x_test, _ = prob1.test_grid()
        pred1 = gp1.predict(x_test.to(ctx.device, torch.float64)).cpu()
        exact1 = prob1.solution(x_test.double()).reshape(-1)
        weights = gp1.weights()[0].cpu()
        freqs = gp1.freqs[0].abs().cpu()
    best1 = min(v for _, v in zip(*res1.curve("test_rel_l2")))
    near = ((freqs - target_freq).abs() <= 0.05 * target_freq)
    ctx.plot_fields("solution_1d", {"GP-HM": pred1, "exact": exact1, "|error|": (pred1 - exact1).abs()})
    ctx.plot_curves("loss_1d", {"negative log joint - min + 1": _shifted(res1.curve("loss")),
                                "test rel. L2": res1.curve("test_rel_l2"),
                                "residual MSE": res1.curve("residual_mse")}, ylabel="value")
    order = torch.argsort(freqs)
    ctx.plot_curves("weights_1d", {"learned weight": (freqs[order], weights[order]),
                                   "true frequency": ([target_freq, target_freq],
                                                      [float(weights.min()), float(weights.max())])},
                    xlabel="frequency (cycles / unit)", ylabel="mixture weight", markers=True)

    # ---- 2-D: sin(k x) sin(k y) on [0, 2 pi]^2, grid_2d^2 unknowns ---------------------------------
    prob2 = create_problem("poisson2d_sin", k=cfg.k)
    gp2 = _make(cfg, prob2, cfg.grid_2d, ctx)
    kept_2d = kept_for_backward_bytes(lambda: gp2.loss()[0])
    t0 = time.perf_counter()
    res2 = fit(gp2, objective=lambda m: m.loss(), steps=cfg.steps_2d, lr=cfg.lr, ctx=ctx, name="gp_2d",
               log_every=max(1, cfg.steps_2d // 20), checkpoint_every=cfg.checkpoint_every)
    seconds_trained = time.perf_counter() - t0  # of this invocation (less after --resume)
    per_iter = _seconds_per_iteration(gp2)
    with torch.no_grad():
        err2 = rel_l2(gp2, prob2)
        zoom = 1.0  # plot [0, 1]^2: 16 periods per axis, 12 pixels per period
        axes2 = [torch.linspace(0, zoom, 201, dtype=torch.float64)] * 2
        pred2 = gp2.predict_grid([a.to(ctx.device) for a in axes2]).cpu()
        mesh = torch.stack(torch.meshgrid(*axes2, indexing="ij"), -1).reshape(-1, 2)
        exact2 = prob2.solution(mesh).reshape(201, 201)
    n2 = cfg.grid_2d ** 2
    ctx.plot_fields("solution_2d", {"GP-HM": pred2, "exact": exact2, "|error|": (pred2 - exact2).abs()},
                    extent=(0, zoom, 0, zoom), title="poisson2d_sin(100), zoom on [0, 1]^2")
    ctx.plot_curves("loss_2d", {"negative log joint - min + 1": _shifted(res2.curve("loss")),
                                "residual MSE": res2.curve("residual_mse")}, ylabel="value")

    return {"rel_l2_1d": err1, "best_rel_l2_1d_during_training": best1,
            "dominant_freq_1d": dom, "target_freq_1d": target_freq,
            "dominant_freq_rel_err_1d": abs(dom - target_freq) / target_freq,
            "weight_share_near_target_1d": float(weights[near].sum() / weights.sum()),
            "seconds_1d_this_run": res1.seconds, "seconds_per_iter_1d": _seconds_per_iteration(gp1),
            "rel_l2_2d": err2, "seconds_2d": per_iter * cfg.steps_2d, "seconds_per_iter_2d": per_iter,
            "seconds_2d_this_run": seconds_trained,
            "grid_points_2d": n2, "peak_rss_mb": _peak_rss_mb(), "kept_for_backward_mb_2d": kept_2d / 2**20,
            "dense_covariance_gb": n2 * n2 * 8 / 1e9}


def _seconds_per_iteration(model: GPSolver, repeats: int = 3) -> float:
    """Median wall time of objective + backward (the optimizer step is negligible); gradients are cleared."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.loss()[0].backward()
        times.append(time.perf_counter() - t0)
    model.zero_grad(set_to_none=True)
    return sorted(times)[len(times) // 2]


def _shifted(curve: tuple[list[float], list[float]]) -> tuple[list[float], list[float]]:
    """A loss curve moved to start at 1 above its minimum, so it can be drawn on a log axis."""
    steps, values = curve
    low = min(values) if values else 0.0
    return steps, [v - low + 1.0 for v in values]
