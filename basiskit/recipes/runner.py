"""Running recipes: run folders, config.yaml, claim checking, metrics.json, the tour."""
from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml

from .. import __version__
from .._env import override
from .._validation import UsageError
from ..measure import machine
from ..report import paper_figure
from ..train import distributed as dist_utils
from ..train.context import RunContext
from ..train.loop import TrainingDiverged
from .core import RECIPES, RecipeSpec, config_to_dict


@dataclass
class RunResult:
    recipe: str
    run_dir: Path | None
    metrics: dict[str, Any]
    claims: list[dict[str, Any]]
    seconds: float
    status: str = "ok"
    error: str = ""

    @property
    def claims_met(self) -> tuple[int, int]:
        return sum(c["met"] for c in self.claims), len(self.claims)


def check_device(device: str) -> str:
    """'cpu', 'cuda' or 'cuda:N' (under torchrun 'cuda' becomes this rank's device); ``UsageError`` for any
    other string, or if CUDA is asked for and absent."""
    if not isinstance(device, str):
        raise UsageError(f"device must be a str ('cpu', 'cuda' or 'cuda:N'), got {type(device).__name__} {device!r}")
    if device == "cpu":
        return device
    index = device[5:] if device.startswith("cuda:") else None
    if device != "cuda" and not (index is not None and index.isdigit()):
        raise UsageError(f"device must be 'cpu', 'cuda' or 'cuda:N' (N = 0, 1, ...), got {device!r}")
    if not torch.cuda.is_available():
        raise UsageError(f"device {device!r}: CUDA is not available on this machine (torch {torch.__version__}, "
                         f"cuda build: {torch.version.cuda or 'none'}); use 'cpu'")
    if index is not None and int(index) >= torch.cuda.device_count():
        raise UsageError(f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s) present "
                         f"(cuda:0 to cuda:{torch.cuda.device_count() - 1})")
    if dist_utils.launched_by_torchrun() and device == "cuda":
        return f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    return device


def _plain(v: Any) -> Any:
    if isinstance(v, torch.Tensor):
        v = v.detach().cpu()
        return v.item() if v.numel() == 1 else v.tolist()
    if hasattr(v, "item") and callable(v.item) and not isinstance(v, (list, tuple, dict)):
        try:
            return v.item()
        except (TypeError, ValueError):
            pass
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


def _new_run_dir(out: Path, name: str) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path, k = out / name / stamp, 1
    while path.exists():
        path, k = out / name / f"{stamp}-{k}", k + 1
    path.mkdir(parents=True)
    return path


def latest_run_dir(out: Path, name: str) -> Path | None:
    """The newest run folder of recipe ``name`` under ``out`` (by folder name), or None."""
    runs = sorted(p for p in (out / name).glob("*") if (p / "config.yaml").is_file()) if (out / name).is_dir() else []
    return runs[-1] if runs else None


def run_recipe(name: str, *, quick: bool = False, overrides: dict[str, str] | None = None, device: str = "cpu",
               seed: int = 0, out: str | Path = "runs", resume: bool = False, progress: bool | None = None,
               verbose: bool = True, threads: int | None = None) -> RunResult:
    """Run recipe ``name`` and write its run folder (config.yaml, metrics.json, log.csv, plots, checkpoint/).

    ``threads`` sets torch's intra-op threads for the run (and restores them after it): floating-point sums
    are split differently with another thread count, so a figure is reproduced bit for bit only with the same
    count. It is recorded in ``machine.threads``; ``resume`` reuses the saved count unless one is given.

    Every mistake in the request (unknown recipe, bad override, bad device, nothing to resume) raises
    ``UsageError`` before any work starts."""
    spec: RecipeSpec = RECIPES.get(name)
    device = check_device(device)
    if resume and overrides:
        raise UsageError(f"resume continues the newest run of {name!r} with its saved config; give no overrides "
                         f"(--set) with it, or start a new run")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise UsageError(f"threads must be a whole number >= 1 (or None for torch's default), got {threads!r}")
    cfg = None if resume else spec.config(quick=quick, overrides=overrides)
    dist_utils.init_from_env(device)
    out = Path(out)
    if resume:
        run_dir = latest_run_dir(out, name) if dist_utils.is_main() else None
        run_dir = dist_utils.broadcast_object(run_dir)
        if run_dir is None:
            raise UsageError(f"nothing to resume: no earlier run of {name!r} under {out / name}; start one first "
                             f"(without --resume)")
        saved = yaml.safe_load((run_dir / "config.yaml").read_text())
        quick, seed = bool(saved["quick"]), int(saved["seed"])
        cfg = spec.config(quick=quick, overrides=saved["config"])
        if threads is None:
            threads = (saved.get("machine") or {}).get("threads")
    else:
        run_dir = _new_run_dir(out, name) if dist_utils.is_main() else None
        run_dir = dist_utils.broadcast_object(run_dir)
    threads_before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    # progress=False silences every bar of the run, the library's own too (data generation, solvers)
    quiet = override("BASISKIT_PROGRESS", "0") if progress is False else contextlib.nullcontext()
    try:
        with quiet:
            return _run_in_folder(spec, cfg, run_dir, name=name, quick=quick, seed=seed, device=device,
                                  resume=resume, progress=progress, verbose=verbose)
    finally:
        torch.set_num_threads(threads_before)


def _run_in_folder(spec: RecipeSpec, cfg: Any, run_dir: Path, *, name: str, quick: bool, seed: int, device: str,
                   resume: bool, progress: bool | None, verbose: bool) -> RunResult:
    record = {"recipe": name, "paper": spec.paper, "summary": spec.summary, "quick": quick, "seed": seed,
              "device": device, "world_size": dist_utils.world_size(), "basiskit": __version__,
              "torch": str(torch.__version__), "python": platform.python_version(), "machine": machine(),
              "config": config_to_dict(cfg)}
    if dist_utils.is_main():
        (run_dir / "config.yaml").write_text(yaml.safe_dump(record, sort_keys=False))
    ctx = RunContext(run_dir, seed=seed, device=device, quick=quick, resume=resume, progress=progress)
    if verbose and ctx.is_main:
        print(f"[basiskit] {name}{' (quick)' if quick else ''} -> {run_dir}", flush=True)
    t0, c0 = time.perf_counter(), time.process_time()
    status, error, metrics = "ok", "", {}
    try:
        metrics = spec.fn(cfg, ctx) or {}
    except TrainingDiverged as e:
        status, error = "diverged", str(e)
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    metrics = _plain(metrics)
    claims = [c.check(metrics) for c in spec.claims_for(cfg)] if status == "ok" else []
    result = RunResult(name, run_dir, metrics, claims, seconds, status, error)
    if ctx.is_main:
        payload = {"recipe": name, "paper": spec.paper, "summary": spec.summary, "quick": quick, "seed": seed,
                   "status": status, "error": error, "seconds": round(seconds, 3),
                   "cpu_seconds": round(cpu_seconds, 3), "machine": record["machine"],
                   "load_average": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
                   "metrics": metrics,
                   "claims": claims, "plots": sorted(p.name for p in run_dir.glob("*.png")),
                   "finished": _dt.datetime.now().isoformat(timespec="seconds")}
        tmp = run_dir / "metrics.json.tmp"
        tmp.write_text(json.dumps(payload, indent=2))
        os.replace(tmp, run_dir / "metrics.json")
        if verbose:
            print(summarize(result), flush=True)
    dist_utils.barrier()
    if status == "diverged":
        raise TrainingDiverged(error)
    return result


def summarize(result: RunResult) -> str:
    lines = [f"[basiskit] {result.recipe}: {result.status} in {result.seconds:.1f}s"]
    for c in result.claims:
        value = "missing" if c["value"] is None else f"{c['value']:.4g}"
        target = "?" if c["target"] is None else f"{c['target']:.4g}"
        paper = "" if c.get("paper") is None else f"; paper {paper_figure(c)}"
        lines.append(f"  [{'met' if c['met'] else 'NOT met'}] {c['claim']}: {value} (target {c['op']} {target}{paper})")
    return "\n".join(lines)


def key_figures(result: RunResult, limit: int = 4) -> str:
    """The metrics named by the recipe's claims, compactly (``name=value``)."""
    names: list[str] = []
    for c in result.claims:
        for n in (c["metric"],):
            if n not in names:
                names.append(n)
    if not names:
        names = [k for k, v in result.metrics.items() if isinstance(v, (int, float))][:limit]
    parts = [f"{n}={result.metrics[n]:.3g}" for n in names[:limit]
             if isinstance(result.metrics.get(n), (int, float))]
    return ", ".join(parts)


def paper_beside_ours(result: RunResult) -> str:
    """``metric: paper P / ours O`` for each checked claim that carries the paper's figure ("-" if none)."""
    parts = []
    for c in result.claims:
        if c.get("paper") is not None:
            ours = "missing" if c["value"] is None else f"{c['value']:.3g}"
            parts.append(f"{c['metric']}: paper {c['paper']:.3g} / ours {ours}")
    return "; ".join(parts) or "-"


def tour_names() -> list[str]:
    return [e.name for e in RECIPES.entries() if e.obj.tour]


def run_tour(*, out: str | Path = "runs", device: str = "cpu", seed: int = 0, only: list[str] | None = None,
             progress: bool | None = None, threads: int | None = None) -> list[RunResult]:
    """Every tour recipe at quick size, one after another; a failing recipe is reported, not fatal."""
    from ..report import markdown_table

    names = only or tour_names()
    results: list[RunResult] = []
    for name in names:
        try:
            results.append(run_recipe(name, quick=True, device=device, seed=seed, out=out, progress=progress,
                                      threads=threads))
        except Exception as e:  # report and go on: the tour is a survey
            results.append(RunResult(name, None, {}, [], 0.0, status="error", error=f"{type(e).__name__}: {e}"))
            print(f"[basiskit] {name}: error: {type(e).__name__}: {e}", flush=True)
    rows = []
    for r in results:
        met, total = r.claims_met
        rows.append([r.recipe, r.status if r.status != "ok" else key_figures(r),
                     f"{met}/{total}" if r.status == "ok" else "-", paper_beside_ours(r), f"{r.seconds:.0f}s"])
    print("\n" + markdown_table(["recipe", "key figures", "claims met", "paper / ours (quick)", "time"], rows),
          flush=True)
    return results
