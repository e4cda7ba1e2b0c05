"""kan-fit: a [2, 5, 1] KAN fits f(x, y) = exp(sin(pi x) + y^2) with grid extension 3 -> 5 -> 10 -> 20 and LBFGS
(Liu et al. 2024, "KAN: Kolmogorov-Arnold Networks", section 2.5 / figure 2.3), side by side with pykan (the
paper's own code, when the ``peers`` extra is installed) on the same data and schedule, and against MLPs with at
least as many parameters trained for the same number of LBFGS steps.

Schedule (pykan's ``fit`` defaults, the same on both sides): at every grid size ``steps_per_grid`` LBFGS steps of
20 quasi-Newton iterations (strong-Wolfe line search, history 10, no tolerance stop), with the grid moved to the
data (``update_grid``) before steps 0, 5, 10, ... while the step is below ``grid_update_until`` = 50; between
sizes, grid extension (``refine``: the finer spline fitted by least squares to the coarser one). Ours runs
:class:`basiskit.train.LBFGS` with ``curvature_eps=1e-32`` as pykan does: torch's LBFGS drops every curvature
pair once ``y.s < 1e-10``, which in a float64 fit at RMSE ~1e-4 is every pair. Before, we updated the grid once,
in the first stage, with torch's LBFGS; measurements of each change are in docs/kan.md.

Each side trains ``seeds`` models (initialisation seeds ``seed, seed + 1, ...``; same data) and reports the
median test RMSE per grid size and the median wall and CPU times, ours and pykan's alternating seed by seed so
both see the same machine load. Our model is ``KAN(widths, grid_size, order)`` with the library's defaults.
Claims: our median final RMSE <= 1.5x pykan's (the issue's goal; margin: the full runs sit at 0.79x and 0.97x,
the quick run at 0.93x or 1.57x depending on the thread count, and single seeds of either side spread by up to 4x
at grid 20, see docs/kan.md, so medians over 3 seeds are compared) and our time <= 1/5 of pykan's (process CPU
time, robust on a shared machine where wall time is not; reported, not asserted; wall times reported beside it).
Without pykan those two claims are left out and ``pykan_skipped`` says why.

Quick size: ``steps_per_grid`` 20 (pykan's grid updates then come before steps 0, 5, 10, 15), 500 train and test
points, 3 seeds each side: about 50 s of CPU here with pykan (pykan ~60% of it); the full size is the
tutorial's schedule (50 steps per grid, 1000 points; 145 s of CPU).

Status (this machine, AMD EPYC): the accuracy gap to pykan is closed by two changes of ``basiskit.nn.KAN``'s
defaults, found by rebuilding pykan's layer from our pieces and switching its differences on and off one at a
time (docs/kan.md has the per-seed tables): B-splines that continue past the grid range as the end functions'
tails (``boundary="extend"``, pykan's ``B_batch``) instead of a clamped constant (a hidden layer's inputs leave
the range of its last grid update; clamped, those samples pass no gradient through the spline), and no node
biases (``bias=False``, pykan's layout). Full size (docs/runs/kan-fit/full, one thread): median RMSE 7.7e-5
against pykan's 7.9e-5 (0.97x, met) in **0.15x** pykan's CPU time (3.8 s against 25.1 s, met). The time claim
needed the C kernels on the knots ``update_grid`` leaves (data quantiles, not uniform), ``boundary="extend"``
without a padded weight copy, and small layers keeping their forward window for backward
(``basiskit.ops.bspline``); before that it was 0.53x. Quick size (one thread): 5.7e-4 (< 1e-3, met) against
pykan's 3.6e-4 (1.57x, a near tie the thread count decides: 0.93x at two threads), CPU 0.25x (not met: at 500
points per-call Python work dominates ours).

Paper figure: none set. The paper shows these RMSEs as curves against grid size (figure 2.3), not as stated
numbers, and the pykan and MLP comparisons at this budget are ours, so ``paper=`` is unset.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import itertools
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

from ..losses import mse, rmse
from ..measure import count_parameters, match_width
from ..models import MLP
from ..nn import KAN
from ..train import LBFGS, RunContext, StepHook, fit
from ._common import kan_example_target as target
from .core import Claim, recipe

PYKAN_LBFGS_ITERS = 20  # pykan's fit builds its LBFGS with max_iter left at 20


@dataclass
class KanFitConfig:
    n_train: int = field(default=1000, metadata={"min": 1})
    n_test: int = field(default=1000, metadata={"min": 1})
    widths: tuple[int, ...] = field(default=(2, 5, 1), metadata={"min": 1, "min_len": 2})
    grids: tuple[int, ...] = field(default=(3, 5, 10, 20), metadata={"min": 1, "min_len": 1})
    order: int = field(default=3, metadata={"min": 0})
    steps_per_grid: int = field(default=50, metadata={"min": 1})
    lbfgs_iters: int = field(default=20, metadata={"min": 1})
    grid_update_every: int = field(default=5, metadata={"min": 1})
    grid_update_until: int = field(default=50, metadata={"min": 0})
    seeds: int = field(default=3, metadata={"min": 1, "max": 20})
    pykan: bool = True
    mlp_depth: int = field(default=2, metadata={"min": 1})
    mlp_activation: str = field(default="tanh", metadata={"choices_from": "basiskit.nn.activations:activation_names"})
    dtype: str = field(default="float64", metadata={"choices": ("float32", "float64")})

    def validate(self) -> None:
        """The target maps 2 inputs to 1 output; grid extension goes to ever finer grids; pykan's fit always
        takes 20 LBFGS iterations per step, so a comparison needs the same."""
        if self.widths[0] != 2 or self.widths[-1] != 1:
            raise ValueError(f"widths must start with 2 inputs and end with 1 output (the target is f(x, y)), "
                             f"got {self.widths}")
        if any(b <= a for a, b in zip(self.grids[:-1], self.grids[1:])):
            raise ValueError(f"grids must increase (each stage extends the grid), got {self.grids}")
        if self.pykan and self.lbfgs_iters != PYKAN_LBFGS_ITERS:
            raise ValueError(f"lbfgs_iters={self.lbfgs_iters} with pykan=true: pykan's fit always takes "
                             f"{PYKAN_LBFGS_ITERS} LBFGS iterations per step; set lbfgs_iters={PYKAN_LBFGS_ITERS} "
                             "or pykan=false")


def pykan_missing() -> str | None:
    """Why pykan cannot run here (None when ``import kan`` would find it)."""
    if importlib.util.find_spec("kan") is None:
        return "pykan is not installed (install the peers extra: pip install basiskit[peers])"
    return None


def _claims(cfg: KanFitConfig) -> list[Claim]:
    claims = [Claim("kan_rmse", "<", 1e-3, note="median over seeds of the final test RMSE after extension to grid 20"),
              Claim("rmse_falls_each_grid", "==", 1.0, note="median test RMSE lower after every grid extension"),
              Claim("mlp_rmse", ">", "kan_rmse", note="MLP with >= the KAN's parameters, same number of LBFGS steps")]
    if cfg.pykan and pykan_missing() is None:
        claims += [Claim("kan_rmse", "<=", "pykan_rmse", scale=1.5,
                         note="median final test RMSE within 1.5x pykan's, same data and schedule"),
                   Claim("kan_cpu_seconds", "<=", "pykan_cpu_seconds", scale=0.2, timing=True,
                         note="median process CPU time of the whole grid-extension schedule, 1/5 of pykan's or "
                              "less (wall times, kan_seconds and pykan_seconds, are reported beside it)")]
    return claims


def lbfgs_options(iterations: int) -> dict[str, Any]:
    """``fit`` keyword arguments for pykan's LBFGS setting: ``iterations`` strong-Wolfe iterations per step,
    history 10, lr 1, every tolerance at 1e-32 (the curvature-pair threshold included)."""
    def make(params: Any) -> LBFGS:
        return LBFGS(params, lr=1.0, max_iter=iterations, history_size=10, line_search_fn="strong_wolfe",
                     tolerance_grad=1e-32, tolerance_change=1e-32, curvature_eps=1e-32)
    return {"optimizer": make}


def mlp_width_for(n: int, n_in: int, n_out: int, depth: int) -> int:
    """Smallest hidden width (up to 4096) of a ``depth``-hidden-layer MLP with at least ``n`` parameters."""
    return match_width(lambda w: MLP([n_in] + [w] * depth + [n_out]), n, range(1, 4097), at_least=True)[0]


def _stage_fit(model: KAN, cfg: KanFitConfig, ctx: RunContext, x: torch.Tensor, y: torch.Tensor, name: str) -> None:
    """One grid size: ``steps_per_grid`` LBFGS steps, the grid moved to the data before steps 0, every, 2 every,
    ... below ``grid_update_until`` (pykan's schedule)."""
    until = min(cfg.grid_update_until, cfg.steps_per_grid)
    hooks = []
    if until > 0:
        model.update_grid(x)
        if until - 1 >= cfg.grid_update_every:
            hooks.append(StepHook(lambda s: model.update_grid(x), every=cfg.grid_update_every, until=until - 1))
    fit(model, mse, (x, y), steps=cfg.steps_per_grid, ctx=ctx, name=name, callbacks=hooks,
        **lbfgs_options(cfg.lbfgs_iters))


def train_kan_with_grid_extension(cfg: KanFitConfig, ctx: RunContext, data: tuple[torch.Tensor, torch.Tensor],
                                  x_test: torch.Tensor, y_test: torch.Tensor, name: str = "kan") -> tuple[KAN, list]:
    """Grid extension through ``cfg.grids`` with the schedule of the module docstring; the caller seeds torch.
    Returns the model and one row (grid, n_params, test_rmse, train_rmse) per grid size."""
    x, y = data
    model = KAN(list(cfg.widths), grid_size=cfg.grids[0], order=cfg.order, dtype=getattr(torch, cfg.dtype))
    rows = []
    for k, grid in enumerate(cfg.grids):
        if k:
            model.refine(grid, x)
        _stage_fit(model, cfg, ctx, x, y, f"{name}-g{grid}")
        with torch.no_grad():
            rows.append({"grid": grid, "n_params": count_parameters(model), "test_rmse": rmse(model(x_test), y_test),
                         "train_rmse": rmse(model(x), y)})
        ctx.log(phase=f"{name}-stage", **rows[-1])
    return model, rows


@contextlib.contextmanager
def _pykan_session(dtype: torch.dtype) -> Iterator[str]:
    """pykan builds its tensors in torch's default dtype, reseeds torch's global generator in every LBFGS step,
    prints a line per model version and a progress bar, and writes checkpoints: run it with the default dtype set,
    the generator state restored afterwards, its output swallowed, and a temporary checkpoint folder."""
    old = torch.get_default_dtype()
    with tempfile.TemporaryDirectory() as folder, torch.random.fork_rng(), \
            contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        torch.set_default_dtype(dtype)
        try:
            yield folder
        finally:
            torch.set_default_dtype(old)


def train_pykan(cfg: KanFitConfig, seed: int, data: tuple[torch.Tensor, torch.Tensor], x_test: torch.Tensor,
                y_test: torch.Tensor) -> tuple[list[dict[str, float]], tuple[float, float]]:
    """pykan's tutorial loop on the same data and schedule: ``KAN(width, grid, k, seed)``, ``fit`` (its LBFGS and
    grid updates), ``refine`` between grid sizes. Returns one row (grid, test_rmse) per size and the (wall, process
    CPU) seconds of building and training (the per-size evaluations excluded)."""
    from kan import KAN as PyKAN  # the peers extra; callers check pykan_missing() first

    x, y = data
    dataset = {"train_input": x, "train_label": y, "test_input": x_test, "test_label": y_test}
    rows, wall, cpu = [], 0.0, 0.0
    with _pykan_session(getattr(torch, cfg.dtype)) as folder:
        t0, c0 = time.perf_counter(), time.process_time()
        model = PyKAN(width=list(cfg.widths), grid=cfg.grids[0], k=cfg.order, seed=seed, auto_save=False,
                      ckpt_path=folder)
        for k, grid in enumerate(cfg.grids):
            if k:
                model = model.refine(grid)
            update = cfg.grid_update_until > 0
            model.fit(dataset, opt="LBFGS", steps=cfg.steps_per_grid, update_grid=update,
                      grid_update_num=max(1, cfg.grid_update_until // cfg.grid_update_every),
                      stop_grid_update_step=max(1, cfg.grid_update_until), log=cfg.steps_per_grid + 1)
            wall, cpu = wall + time.perf_counter() - t0, cpu + time.process_time() - c0
            with torch.no_grad():
                rows.append({"grid": grid, "test_rmse": rmse(model(x_test), y_test)})
            t0, c0 = time.perf_counter(), time.process_time()
    return rows, (wall, cpu)


def _median_curve(runs: list[list[dict[str, float]]]) -> list[float]:
    return [statistics.median(run[k]["test_rmse"] for run in runs) for k in range(len(runs[0]))]


@recipe("kan-fit", paper="Liu et al. 2024, KAN: Kolmogorov-Arnold Networks",
        summary="[2,5,1] KAN fits exp(sin(pi x)+y^2), grid extension 3->5->10->20 (LBFGS), vs pykan and MLPs",
        config=KanFitConfig, quick={"steps_per_grid": 20, "n_train": 500, "n_test": 500},
        claims=_claims, tour=True)
def run(cfg: KanFitConfig, ctx: RunContext) -> dict:
    dtype = getattr(torch, cfg.dtype)
    g = ctx.generator(1)
    x_train = (torch.rand(cfg.n_train, 2, generator=g, dtype=dtype) * 2 - 1)
    x_test = (torch.rand(cfg.n_test, 2, generator=g, dtype=dtype) * 2 - 1)
    y_train, y_test = target(x_train), target(x_test)
    metrics: dict[str, Any] = {}
    missing = pykan_missing() if cfg.pykan else "pykan=false"
    if missing is not None:
        metrics["pykan_skipped"] = missing

    ours, ours_s, theirs, theirs_s = [], [], [], []
    for i in range(cfg.seeds):
        torch.manual_seed(ctx.seed + i)
        t0, c0 = time.perf_counter(), time.process_time()
        _, rows = train_kan_with_grid_extension(cfg, ctx, (x_train, y_train), x_test, y_test, name=f"kan-s{i}")
        ours_s.append((time.perf_counter() - t0, time.process_time() - c0))
        ours.append(rows)
        if missing is None:
            rows_p, seconds = train_pykan(cfg, ctx.seed + i, (x_train, y_train), x_test, y_test)
            theirs.append(rows_p)
            theirs_s.append(seconds)
            ctx.log(phase="pykan-run", seed=ctx.seed + i, seconds=seconds[0], cpu_seconds=seconds[1],
                    test_rmse=rows_p[-1]["test_rmse"])
    rmses = _median_curve(ours)
    grids = list(cfg.grids)
    total_steps = cfg.steps_per_grid * len(cfg.grids)

    mlp_rows = []
    for row in ours[0]:
        width = mlp_width_for(row["n_params"], 2, 1, cfg.mlp_depth)
        torch.manual_seed(ctx.seed + width)
        mlp = MLP([2] + [width] * cfg.mlp_depth + [1], activation=cfg.mlp_activation, dtype=dtype)
        fit(mlp, mse, (x_train, y_train), steps=total_steps, ctx=ctx, name=f"mlp-w{width}",
            **lbfgs_options(cfg.lbfgs_iters))
        with torch.no_grad():
            mlp_rows.append({"width": width, "n_params": count_parameters(mlp), "test_rmse": rmse(mlp(x_test), y_test)})
        ctx.log(phase="mlp-stage", **mlp_rows[-1])

    curves = {"basiskit KAN (median)": (grids, rmses)}
    if theirs:
        curves["pykan KAN (median)"] = (grids, _median_curve(theirs))
    ctx.plot_curves("rmse_vs_grid", curves, xlabel="grid size", ylabel="test RMSE", logx=True, logy=True,
                    markers=True)
    ctx.plot_curves("rmse_vs_params", {"KAN (grid extension)": ([r["n_params"] for r in ours[0]], rmses),
                                       f"MLP depth {cfg.mlp_depth}": ([r["n_params"] for r in mlp_rows],
                                                                      [r["test_rmse"] for r in mlp_rows])},
                    xlabel="parameters", ylabel="test RMSE", logx=True, logy=True, markers=True)
    falls = all(b < a for a, b in itertools.pairwise(rmses))
    metrics.update({"kan_rmse": rmses[-1], "mlp_rmse": mlp_rows[-1]["test_rmse"],
                    "rmse_falls_each_grid": float(falls),
                    "kan_seconds": statistics.median(s[0] for s in ours_s),
                    "kan_cpu_seconds": statistics.median(s[1] for s in ours_s),
                    "kan_params": ours[0][-1]["n_params"], "mlp_params": mlp_rows[-1]["n_params"],
                    "seeds": cfg.seeds, "lbfgs_steps": total_steps, "lbfgs_iters_per_step": cfg.lbfgs_iters,
                    "kan_rmse_worst_seed": max(run[-1]["test_rmse"] for run in ours)})
    for grid, value in zip(grids, rmses):
        metrics[f"kan_rmse_grid{grid}"] = value
    if theirs:
        pykan_curve = _median_curve(theirs)
        metrics.update({"pykan_rmse": pykan_curve[-1], "pykan_seconds": statistics.median(s[0] for s in theirs_s),
                        "pykan_cpu_seconds": statistics.median(s[1] for s in theirs_s),
                        "rmse_ratio_to_pykan": rmses[-1] / pykan_curve[-1],
                        "pykan_rmse_worst_seed": max(run[-1]["test_rmse"] for run in theirs)})
        metrics["cpu_time_ratio_to_pykan"] = metrics["kan_cpu_seconds"] / metrics["pykan_cpu_seconds"]
        for grid, value in zip(grids, pykan_curve):
            metrics[f"pykan_rmse_grid{grid}"] = value
    for m in mlp_rows:
        metrics[f"mlp_rmse_params{m['n_params']}"] = m["test_rmse"]
    return metrics
