r"""Trajectories of the registered flows, sampled a fixed number of points per dominant period, cached on disk.

:func:`trajectory` integrates :math:`\dot x = f(x)` with SciPy's adaptive ``solve_ivp`` (``DOP853`` by default,
relative and absolute tolerance ``1e-10``), first for ``transient`` periods that are thrown away (so the samples
lie on the attractor), then for ``n_points`` samples ``period / pts_per_period`` apart. Sampling per period
rather than per unit time is what dysts does: every system then shows the same number of oscillations in a
window of the same length, and a forecast horizon counts periods.

A batch (``n_initial``) starts from points of one long reference run from the published initial condition,
drawn at random times (``seed``) over ``spread`` periods after the transient, so the members are spread over the
attractor and independent of the published point's neighbourhood.

The result is cached under ``basiskit._env.cache_dir()`` by every parameter that made it
(:func:`basiskit.data.cached`), the way the generated PDE data are.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy.integrate import solve_ivp

from .._validation import check_choice, check_float, check_int
from ..data.cache import cached
from .systems import System, resolve

__all__ = ["METHODS", "integrate", "trajectory"]

METHODS = ("DOP853", "RK45", "Radau", "LSODA", "BDF")


def integrate(system: System, x0: np.ndarray, times: np.ndarray, *, method: str = "DOP853", rtol: float = 1e-10,
              atol: float = 1e-10) -> np.ndarray:
    """States at ``times`` (increasing, starting at 0) from initial states ``x0`` ``(batch, dim)`` ->
    ``(batch, len(times), dim)``; the batch is integrated as one ODE. ValueError if the solver fails or the
    solution is not finite (the parameters leave the attractor)."""
    batch, dim = x0.shape
    if float(times[-1]) == 0.0:  # only the start point asked for
        return np.repeat(x0[:, None, :], len(times), axis=1)

    def fun(t: float, y: np.ndarray) -> np.ndarray:
        return system.rhs(t, y.reshape(batch, dim)).reshape(-1)

    with np.errstate(over="ignore", invalid="ignore"):  # a diverging state is reported below, not warned about
        sol = solve_ivp(fun, (0.0, float(times[-1])), x0.reshape(-1), method=method, t_eval=times, rtol=rtol,
                        atol=atol)
    if sol.status != 0 or sol.y.shape[1] != len(times):
        raise ValueError(f"trajectory of {system.name} with params {system.params} failed: {sol.message}")
    out = sol.y.reshape(batch, dim, len(times)).transpose(0, 2, 1)
    if not np.isfinite(out).all():
        raise ValueError(f"trajectory of {system.name} with params {system.params} is not finite "
                         "(the state diverged); check the parameters and the initial conditions")
    return out


def _build(system: System, n_points: int, pts_per_period: int, transient: float, seed: int, method: str,
           n_initial: int | None, spread: float, rtol: float, atol: float) -> dict[str, torch.Tensor]:
    dt = system.period / pts_per_period
    x0 = system.initial_conditions[None, :]
    if n_initial is not None or seed != 0:
        # points of a reference run at random times after the transient (seed 0 with one member: the published IC)
        count = n_initial or 1
        rng = np.random.default_rng(seed)
        n_ref = int(np.ceil(spread * pts_per_period)) + 1
        ref_times = transient * system.period + dt * np.arange(n_ref)
        ref = integrate(system, x0, np.concatenate([[0.0], ref_times]), method=method, rtol=rtol, atol=atol)[0, 1:]
        x0 = ref[rng.choice(n_ref, size=count, replace=count > n_ref)]
        start = 0.0
    else:
        start = transient * system.period
    times = start + dt * np.arange(n_points)
    if start > 0:
        states = integrate(system, x0, np.concatenate([[0.0], times]), method=method, rtol=rtol, atol=atol)[:, 1:]
    else:
        states = integrate(system, x0, times, method=method, rtol=rtol, atol=atol)
    return {"states": torch.from_numpy(np.ascontiguousarray(states)),
            "times": torch.from_numpy(times - times[0])}


def trajectory(system: str | System, n_points: int, pts_per_period: int = 100, *, transient: float = 10.0,
               seed: int = 0, method: str = "DOP853", n_initial: int | None = None, spread: float = 100.0,
               rtol: float = 1e-10, atol: float = 1e-10, cache: bool = True,
               return_times: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Sampled trajectory of ``system`` (a name or a :class:`System`), float64.

    Args:
        n_points: samples per trajectory.
        pts_per_period: samples per dominant period (the sampling step is ``period / pts_per_period``).
        transient: periods integrated and discarded before sampling.
        seed: with ``n_initial`` None and seed 0 the run starts from the published initial condition; otherwise
            the start points are drawn (from this seed) along a reference run, see the module docstring.
        n_initial: None for one trajectory ``(n_points, dim)``; an int for a batch ``(n_initial, n_points, dim)``.
        spread: periods of the reference run the batch's start points are drawn from.
        cache: load/store the result in the on-disk cache.
        return_times: also return the sample times ``(n_points,)`` from 0.

    Raises ValueError for a non-finite trajectory, UsageError for an unknown system name.
    """
    sys_ = resolve(system)
    check_int("n_points", n_points, min_value=1)
    check_int("pts_per_period", pts_per_period, min_value=1)
    check_float("transient", transient, min_value=0.0)
    check_int("seed", seed, min_value=0)
    check_choice("method", method, METHODS)
    if n_initial is not None:
        check_int("n_initial", n_initial, min_value=1)
    check_float("spread", spread, min_value=0.0, strict_min=True)
    check_float("rtol", rtol, min_value=0.0, strict_min=True)
    check_float("atol", atol, min_value=0.0, strict_min=True)
    key: dict[str, Any] = {
        "system": sys_.name, "params": {k: np.asarray(v).tolist() for k, v in sys_.params.items()},
        "ic": sys_.initial_conditions.tolist(), "period": sys_.period, "n_points": n_points,
        "pts_per_period": pts_per_period, "transient": transient, "seed": seed, "method": method,
        "n_initial": n_initial, "spread": spread, "rtol": rtol, "atol": atol}
    out = cached(f"trajectory-{sys_.name}", key,
                 lambda: _build(sys_, n_points, pts_per_period, transient, seed, method, n_initial, spread, rtol,
                                atol), use_cache=cache)
    states = out["states"] if n_initial is not None else out["states"][0]
    return (states, out["times"]) if return_times else states
