"""Generated PDE data sets (FNO benchmarks): Burgers, Darcy and Navier-Stokes, from ``basiskit.pde`` solvers.

Each loader returns ``(train, test)``, each a tuple ``(inputs, targets)`` of float32 tensors shaped
``(batch, channels, *grid)``, and is cached on disk under a key made of every parameter (``basiskit.data.cached``).
Samples are generated in fixed-size chunks, each from its own random stream derived from
``(seed, split, chunk index)``: the result does not depend on ``workers``, and the test set does not depend on
``n_train``. ``workers > 1`` solves chunks in parallel processes; a tqdm bar shows progress (off when
``BASISKIT_PROGRESS=0``).

Set-ups follow Li et al. 2020 (Fourier Neural Operator):

* ``burgers``: :math:`u_0 \\sim N(0, 625(-\\Delta + 25 I)^{-2})` (mean-free) on the periodic unit interval
  :math:`\\mapsto u(\\cdot, t_{final})`, solved on ``solve_resolution`` points and subsampled, so every
  resolution dividing it sees the same functions (zero-shot super-resolution tests use this).
* ``darcy``: :math:`a = 12` where :math:`\\psi \\ge 0`, else 3, :math:`\\psi \\sim N(0, (-\\Delta + 9 I)^{-2})`
  with Neumann modes :math:`\\mapsto u` solving :math:`-\\nabla\\cdot(a\\nabla u) = 1`, ``u = 0`` on the boundary;
  solved on a grid ``refine`` times finer (``refine * (resolution - 1) + 1`` points) and subsampled.
* ``navier_stokes``: :math:`w_0 \\sim N(0, 7^{3/2}(-\\Delta + 49 I)^{-2.5})` (mean-free) :math:`\\mapsto w` at
  ``snapshots`` evenly spaced times up to ``t_final`` (channels), forcing :math:`0.1(\\sin 2\\pi(x+y) +
  \\cos 2\\pi(x+y))`.
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

import numpy as np
import torch

from .._env import progress_enabled
from .._validation import check_float, check_int
from ..pde.burgers import burgers_1d
from ..pde.darcy import darcy_2d, threshold_coefficient
from ..pde.grf import grf
from ..pde.navier_stokes import fno_forcing, navier_stokes_2d
from ._registry import register_dataset
from .cache import cached

Pair = tuple[torch.Tensor, torch.Tensor]
CHUNK = {"burgers": 64, "darcy": 16, "navier_stokes": 16}


def _generator(seed: int, split: int, chunk: int) -> torch.Generator:
    state = np.random.SeedSequence([seed, split, chunk]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 31 ^ int(state[1]))


# ---- one chunk of each problem (top-level functions so worker processes can run them) -----------------
def _burgers_chunk(p: dict[str, Any], g: torch.Generator, size: int) -> Pair:
    n_solve = p["solve_resolution"]
    u0 = grf(n_solve, 2.0, 5.0, 25.0, "periodic", n_samples=size, zero_mean=True, generator=g)
    u1 = burgers_1d(u0, p["viscosity"], p["t_final"])
    step = n_solve // p["resolution"]
    return u0[:, None, ::step], u1[:, None, ::step]


def _darcy_chunk(p: dict[str, Any], g: torch.Generator, size: int) -> Pair:
    r = p["refine"]
    n_fine = r * (p["resolution"] - 1) + 1
    psi = grf((n_fine, n_fine), p["alpha"], p["tau"], 1.0, "neumann", n_samples=size, generator=g)
    a = threshold_coefficient(psi, p["high"], p["low"])
    u = darcy_2d(a, p["source"])
    return a[:, None, ::r, ::r], u[:, None, ::r, ::r]


def _navier_stokes_chunk(p: dict[str, Any], g: torch.Generator, size: int) -> Pair:
    n_solve = p["solve_resolution"]
    w0 = grf((n_solve, n_solve), 2.5, 7.0, 7.0 ** 1.5, "periodic", n_samples=size, zero_mean=True, generator=g)
    w = navier_stokes_2d(w0, p["viscosity"], p["t_final"], forcing=fno_forcing(n_solve), record=p["snapshots"])
    if p["snapshots"] == 1:
        w = w[:, None]
    step = n_solve // p["resolution"]
    return w0[:, None, ::step, ::step], w[:, :, ::step, ::step]


_CHUNKS: dict[str, Callable[[dict[str, Any], torch.Generator, int], Pair]] = {
    "burgers": _burgers_chunk, "darcy": _darcy_chunk, "navier_stokes": _navier_stokes_chunk}


def _run_chunk(kind: str, params: dict[str, Any], split: int, index: int, size: int) -> tuple[int, int, Pair]:
    x, y = _CHUNKS[kind](params, _generator(params["seed"], split, index), size)
    return split, index, (x.float().contiguous(), y.float().contiguous())


def _init_worker() -> None:
    torch.set_num_threads(1)


def generate(kind: str, params: dict[str, Any], n_train: int, n_test: int, workers: int = 1) -> dict[str, torch.Tensor]:
    """Solve every chunk of both splits (in ``workers`` processes) and stack them:
    {"x_train", "y_train", "x_test", "y_test"}."""
    chunk = CHUNK[kind]
    jobs = [(split, i, min(chunk, n - i * chunk)) for split, n in ((0, n_train), (1, n_test))
            for i in range(math.ceil(n / chunk))]
    results: dict[tuple[int, int], Pair] = {}
    from tqdm.auto import tqdm

    bar = tqdm(total=n_train + n_test, desc=f"generating {kind}", unit="sample", leave=False,
               disable=not progress_enabled())
    if workers > 1 and len(jobs) > 1:
        import multiprocessing as mp

        ctx = mp.get_context("fork" if os.name == "posix" else "spawn")
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx,
                                 initializer=_init_worker) as pool:
            futures = {pool.submit(_run_chunk, kind, params, s, i, size): size for s, i, size in jobs}
            for fut in as_completed(futures):
                split, index, pair = fut.result()
                results[(split, index)] = pair
                bar.update(futures[fut])
    else:
        for split, index, size in jobs:
            results[(split, index)] = _run_chunk(kind, params, split, index, size)[2]
            bar.update(size)
    bar.close()
    out = {}
    for split, name in ((0, "train"), (1, "test")):
        keys = sorted(k for k in results if k[0] == split)
        out[f"x_{name}"] = torch.cat([results[k][0] for k in keys])
        out[f"y_{name}"] = torch.cat([results[k][1] for k in keys])
    return out


def _load(kind: str, params: dict[str, Any], n_train: int, n_test: int, workers: int, cache: bool
          ) -> tuple[Pair, Pair]:
    check_int("n_train", n_train, min_value=1)
    check_int("n_test", n_test, min_value=1)
    check_int("workers", workers, min_value=1)
    key = {**params, "n_train": n_train, "n_test": n_test, "chunk": CHUNK[kind], "generator": 1}
    t = cached(kind, key, lambda: generate(kind, params, n_train, n_test, workers), use_cache=cache)
    shapes_ok = (t["x_train"].shape[0] == n_train and t["x_test"].shape[0] == n_test)
    if not shapes_ok:
        raise RuntimeError(f"{kind}: generated {t['x_train'].shape[0]}/{t['x_test'].shape[0]} samples, "
                           f"expected {n_train}/{n_test}")
    return (t["x_train"], t["y_train"]), (t["x_test"], t["y_test"])


@register_dataset("burgers")
def burgers(n_train: int, n_test: int, resolution: int = 256, viscosity: float = 0.1, seed: int = 0, *,
            t_final: float = 1.0, solve_resolution: int = 1024, workers: int = 1, cache: bool = True
            ) -> tuple[Pair, Pair]:
    """1-D periodic viscous Burgers u0 -> u(t_final); inputs and targets (batch, 1, resolution)."""
    check_int("resolution", resolution, min_value=4)
    check_int("solve_resolution", solve_resolution, min_value=4)
    if solve_resolution % resolution or (solve_resolution // resolution) < 1:
        raise ValueError(f"resolution={resolution} must divide solve_resolution={solve_resolution}")
    params = {"resolution": resolution, "viscosity": check_float("viscosity", viscosity, min_value=0.0,
                                                                  strict_min=True),
              "seed": check_int("seed", seed), "t_final": check_float("t_final", t_final, min_value=0.0,
                                                                     strict_min=True),
              "solve_resolution": solve_resolution}
    return _load("burgers", params, n_train, n_test, workers, cache)


@register_dataset("darcy")
def darcy(n_train: int, n_test: int, resolution: int = 64, seed: int = 0, *, refine: int = 2,
          alpha: float = 2.0, tau: float = 3.0, high: float = 12.0, low: float = 3.0, source: float = 1.0,
          workers: int = 1, cache: bool = True) -> tuple[Pair, Pair]:
    """2-D Darcy flow a -> u on [0, 1]^2 (boundary included); inputs and targets (batch, 1, res, res)."""
    check_int("resolution", resolution, min_value=3)
    params = {"resolution": resolution, "seed": check_int("seed", seed),
              "refine": check_int("refine", refine, min_value=1),
              "alpha": check_float("alpha", alpha, min_value=0.0, strict_min=True),
              "tau": check_float("tau", tau, min_value=0.0), "high": check_float("high", high),
              "low": check_float("low", low), "source": check_float("source", source)}
    return _load("darcy", params, n_train, n_test, workers, cache)


@register_dataset("navier_stokes")
def navier_stokes(n_train: int, n_test: int, resolution: int = 64, viscosity: float = 1e-3,
                  t_final: float = 10.0, seed: int = 0, *, snapshots: int = 1, solve_resolution: int | None = None,
                  workers: int = 1, cache: bool = True) -> tuple[Pair, Pair]:
    """2-D Navier-Stokes vorticity on the torus, w0 -> w(t_final) (or ``snapshots`` times); (batch, c, res, res).

    inputs (batch, 1, res, res); targets (batch, snapshots, res, res)."""
    check_int("resolution", resolution, min_value=4)
    solve_resolution = resolution if solve_resolution is None else solve_resolution
    check_int("solve_resolution", solve_resolution, min_value=4)
    if solve_resolution % resolution:
        raise ValueError(f"resolution={resolution} must divide solve_resolution={solve_resolution}")
    params = {"resolution": resolution, "seed": check_int("seed", seed),
              "viscosity": check_float("viscosity", viscosity, min_value=0.0, strict_min=True),
              "t_final": check_float("t_final", t_final, min_value=0.0, strict_min=True),
              "snapshots": check_int("snapshots", snapshots, min_value=1), "solve_resolution": solve_resolution}
    return _load("navier_stokes", params, n_train, n_test, workers, cache)
