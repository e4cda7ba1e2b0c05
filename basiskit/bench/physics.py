"""bench physics: physics-informed solvers, time per training iteration.

* GPSolver (GP-HM) on ``poisson2d_sin(100)`` with 100^2, 200^2 and 400^2 grid points: seconds per iteration
  (objective, backward, Adam step), bytes kept for backward, and the growth exponent ``p`` of time ~ N^p
  fitted over the grids (N = number of grid points). Through the per-axis Kronecker factors an iteration is
  O(N^1.5) on a square grid; a dense GP would be O(N^3).
* PIG vs PINN at equal collocation points on ``helmholtz2d`` (PIG's benchmark): seconds per iteration, as
  a ratio to the PINN; PIG with its compiled jets kernel (the default on CPU) and with the PyTorch jets
  (``native=False``), so the kernel's speed-up is the ratio of those two rows.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..models import MLP
from ..ops import gaussian_native
from ..physics import GPSolver, PIG, PINN, create_problem
from . import register_suite
from ..measure import compare, kept_for_backward_bytes, train_step
from .timing import BenchResult


def _train_step(model: torch.nn.Module, objective: Callable[[], torch.Tensor]) -> Callable[[], torch.Tensor]:
    """One Adam iteration (lr 1e-3) of ``objective`` on ``model``."""
    return train_step(objective, model, torch.optim.Adam(model.parameters(), lr=1e-3))


def _growth_exponent(sizes: list[int], seconds: list[float]) -> float:
    """Least-squares slope of log(seconds) against log(sizes)."""
    xs = [math.log(n) for n in sizes]
    ys = [math.log(s) for s in seconds]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


@register_suite("physics")
def suite(quick: bool, device: str) -> BenchResult:
    res = BenchResult("physics", ["case", "size", "seconds/iter", "ratio", "kept for backward (MB)", "note"])
    repeats = 3 if quick else 7

    # ---- GPSolver scaling over grid sizes ----------------------------------------------------------
    problem = create_problem("poisson2d_sin", k=100.0)
    sides = [100, 200, 400]
    cases, kept = {}, {}
    for side in sides:
        gp = GPSolver(problem, side, n_components=30, freq_scale=20.0, parameterization="direct", device=device)
        cases[f"{side}^2"] = _train_step(gp, lambda m=gp: m.loss()[0])
        kept[f"{side}^2"] = kept_for_backward_bytes(lambda m=gp: m.loss()[0])
    timings = compare(cases, baseline="100^2", warmup=1, repeats=repeats, device=device)
    sizes = [s * s for s in sides]
    for side, n in zip(sides, sizes):
        t = timings[f"{side}^2"]
        res.rows.append({"case": "GPSolver (GP-HM) iteration", "size": f"{side}x{side} = {n} points",
                         "seconds/iter": t["seconds"], "ratio": t["ratio"],
                         "kept for backward (MB)": kept[f"{side}^2"] / 2**20,
                         "note": f"dense covariance would be {n * n * 8 / 2**30:.3g} GiB"})
    p = _growth_exponent(sizes, [timings[f"{s}^2"]["seconds"] for s in sides])
    res.add_target("GPSolver time growth exponent p (time ~ N^p, N grid points)", p, "<=", 1.5)
    last = _growth_exponent(sizes[-2:], [timings[f"{s}^2"]["seconds"] for s in sides[-2:]])
    res.notes.append(f"GPSolver: fitted growth exponent p = {p:.2f} over N = {sizes}, {last:.2f} between the two "
                     "largest grids (dense GP: p = 3); spectral mixture, 30 components per axis, float64")

    # ---- PIG vs PINN at equal collocation points ---------------------------------------------------
    helm = create_problem("helmholtz2d")
    n_points = 2000 if quick else 10000
    n_gauss = 400 if quick else 1600  # in all: n_gauss / 4 per channel (PIG's default per-channel layout)
    pinn = PINN(helm, MLP([2, 64, 64, 64, 1], activation="tanh"), n_interior=n_points, n_boundary=400,
                device=device)
    pig = PIG(helm, n_gaussians=n_gauss // 4, channels=4, n_interior=n_points, n_boundary=400, device=device)
    pig_torch = PIG(helm, n_gaussians=n_gauss // 4, channels=4, n_interior=n_points, n_boundary=400, device=device,
                    native=False)
    timings = compare({"PINN": _train_step(pinn, lambda: pinn.loss()[0]),
                       "PIG": _train_step(pig, lambda: pig.loss()[0]),
                       "PIG, PyTorch jets": _train_step(pig_torch, lambda: pig_torch.loss()[0])},
                      baseline="PINN", warmup=2, repeats=repeats * 3, device=device)
    for name, model in (("PINN", pinn), ("PIG", pig), ("PIG, PyTorch jets", pig_torch)):
        t = timings[name]
        n_params = sum(q.numel() for q in model.parameters())
        res.rows.append({"case": f"{name} iteration (helmholtz2d)", "size": f"{n_points} collocation points",
                         "seconds/iter": t["seconds"], "ratio": t["ratio"],
                         "kept for backward (MB)": kept_for_backward_bytes(lambda m=model: m.loss()[0]) / 2**20,
                         "note": (f"{n_params} parameters" + ("; MLP 3x64 tanh" if name == "PINN" else
                                  f"; {n_gauss // 4} Gaussians for each of 4 channels, closed-form derivatives"))})
    res.notes.append("PIG/PINN: objective + backward + Adam step, same collocation and boundary points")
    g = pig.gaussians
    native_used = gaussian_native.usable(g.means, g.weights)  # pig.native is None: where it can
    res.notes.append(f"PIG jets: compiled kernel {'used' if native_used else 'unavailable (PyTorch path in both rows)'}"
                     f"; PyTorch jets / kernel = {timings['PIG, PyTorch jets']['seconds'] / timings['PIG']['seconds']:.2f}x")
    return res
