"""``fit``: a small, explicit training loop (not a framework).

Two ways to say what to minimise:

* supervised: ``fit(model, loss_fn, data=(x, y), ...)`` draws mini-batches of ``data`` (tensors with a shared
  first dim; the last is the target, the others are the model's inputs) and minimises ``loss_fn(model(*x), y)``;
* objective: ``fit(model, objective=f, ...)`` minimises ``f(model)`` (physics-informed losses and anything
  that builds its own batch). ``f`` may return ``loss`` or ``(loss, {"part": value, ...})``.

Checkpoints (every ``checkpoint_every`` steps and at the end) hold weights, optimizer, scheduler and RNG
states, so a resumed run (``ctx.resume``) continues to the same result as an uninterrupted one. Mini-batch
order is a pure function of (seed, name, step), so it needs no state of its own. A NaN/inf loss stops the
run with ``TrainingDiverged`` naming the step; the last good checkpoint is kept.
Under ``torchrun`` the model is wrapped in DistributedDataParallel and each rank draws from its own shard; in
objective mode the ranks start from rank 0's weights and their gradients are averaged after each backward.
"""
from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._validation import check_choice, check_float, check_int
from . import distributed as dist_utils
from .checkpoint import latest_checkpoint, load_checkpoint, rng_state, save_checkpoint, set_rng_state
from .context import RunContext

OPTIMIZERS = ("adam", "adamw", "sgd", "lbfgs")
SCHEDULERS = (None, "cosine", "step", "exponential")


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the message names the step and the last good checkpoint."""


@dataclass
class FitResult:
    steps: int
    final_loss: float
    history: list[dict[str, float]] = field(default_factory=list)
    resumed_from: int | None = None
    seconds: float = 0.0

    def curve(self, key: str = "loss") -> tuple[list[float], list[float]]:
        """(steps, values) of a logged quantity, for plotting."""
        rows = [r for r in self.history if key in r]
        return [r["step"] for r in rows], [r[key] for r in rows]


def make_optimizer(kind: str | Callable[..., torch.optim.Optimizer], params: Any, lr: float,
                   weight_decay: float = 0.0, **options: Any) -> torch.optim.Optimizer:
    if callable(kind):
        return kind(params)
    check_choice("optimizer", kind, OPTIMIZERS)
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, **options)
    if kind == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, **options)
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay, **{"momentum": 0.9, **options})
    # One quasi-Newton iteration per step; max_eval must leave the line search room (torch's default for
    # max_iter=1 is a single evaluation, which starves strong-Wolfe and stalls progress after a few steps).
    return torch.optim.LBFGS(params, lr=lr, **{"max_iter": 1, "max_eval": 25, "history_size": 50,
                                                "line_search_fn": "strong_wolfe", **options})


def make_scheduler(kind: str | Callable[..., Any] | None, optimizer: torch.optim.Optimizer, steps: int,
                   warmup_steps: int = 0) -> Any:
    if kind is None and warmup_steps == 0:
        return None
    if callable(kind):
        return kind(optimizer)
    check_choice("scheduler", kind, SCHEDULERS)

    def factor(step: int) -> float:
        warm = min(1.0, (step + 1) / warmup_steps) if warmup_steps else 1.0
        t = min(1.0, max(0.0, (step - warmup_steps) / max(1, steps - warmup_steps)))
        if kind == "cosine":
            decay = 0.5 * (1 + math.cos(math.pi * t))
        elif kind == "step":
            decay = 0.1 ** int(3 * t) if t < 1 else 1e-3
        elif kind == "exponential":
            decay = 0.01 ** t
        else:
            decay = 1.0
        return warm * decay

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _as_tensors(data: Any) -> tuple[torch.Tensor, ...]:
    if isinstance(data, torch.utils.data.TensorDataset):
        data = data.tensors
    if isinstance(data, torch.Tensor) or not isinstance(data, Sequence) or len(data) < 2:
        raise TypeError("data must be a tuple (inputs..., targets) of tensors with a shared first dim, "
                        f"or a TensorDataset; got {type(data).__name__}")
    for i, t in enumerate(data):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"data[{i}] must be a torch.Tensor, got {type(t).__name__}")
    n = data[0].shape[0] if data[0].ndim else 0
    if n == 0:
        raise ValueError("data must hold at least one sample, got an empty first dim")
    for i, t in enumerate(data):
        if t.ndim == 0 or t.shape[0] != n:
            raise ValueError(f"data[{i}] has shape {tuple(t.shape)}; every tensor needs first dim {n}")
    return tuple(data)


class _BatchSampler:
    """Mini-batch indices as a pure function of (seed, step): resumable without saved state."""

    def __init__(self, n: int, batch_size: int | None, seed: int, rank: int, world: int) -> None:
        self.shard = torch.arange(rank, n, world)
        self.batch_size = None if batch_size is None or batch_size >= len(self.shard) else batch_size
        self.seed = seed
        self._epoch, self._perm = -1, self.shard

    def __call__(self, step: int) -> torch.Tensor | None:
        if self.batch_size is None:
            return None
        per_epoch = len(self.shard) // self.batch_size  # drop the ragged last batch
        epoch, i = divmod(step, per_epoch)
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 7919 + epoch)
            self._perm = self.shard[torch.randperm(len(self.shard), generator=g)]
            self._epoch = epoch
        return self._perm[i * self.batch_size:(i + 1) * self.batch_size]


def fit(model: nn.Module, loss_fn: Callable[..., torch.Tensor] | None = None, data: Any = None, *,
        objective: Callable[[nn.Module], Any] | None = None, steps: int, batch_size: int | None = None,
        optimizer: str | Callable[..., torch.optim.Optimizer] = "adam", lr: float = 1e-3,
        weight_decay: float = 0.0, optimizer_options: dict[str, Any] | None = None,
        scheduler: str | Callable[..., Any] | None = None, warmup_steps: int = 0,
        grad_clip: float | None = None, eval_fn: Callable[[nn.Module], dict[str, float]] | None = None,
        eval_every: int = 0, log_every: int = 10, checkpoint_every: int = 0, ctx: RunContext | None = None,
        name: str = "model", device: str | torch.device | None = None) -> FitResult:
    """Train ``model`` for ``steps`` optimizer steps; see the module docstring.

    Args:
        steps: optimizer steps (for LBFGS each step is one ``optimizer.step(closure)``).
        batch_size: mini-batch size per rank; None (or >= the data size) means full batch.
        optimizer: "adam" | "adamw" | "sgd" | "lbfgs", or ``params -> Optimizer``.
        scheduler: None | "cosine" | "step" | "exponential", or ``optimizer -> scheduler``;
            ``warmup_steps`` adds a linear warm-up.
        grad_clip: clip the global gradient norm to this value.
        eval_fn: ``model -> {name: value}``, called every ``eval_every`` steps and at the end; logged.
        checkpoint_every: write a checkpoint every so many steps (0: only at the end), when ``ctx`` has a
            run folder. ``name`` keeps several trainings of one run apart (``checkpoint/<name>/``).
    """
    import time

    check_int("steps", steps, min_value=0)
    check_float("lr", lr, min_value=0.0, strict_min=True)
    check_int("log_every", log_every, min_value=1)
    check_int("checkpoint_every", checkpoint_every, min_value=0)
    check_int("eval_every", eval_every, min_value=0)
    if batch_size is not None:
        check_int("batch_size", batch_size, min_value=1)
    if (objective is None) == (loss_fn is None):
        raise ValueError("fit needs exactly one of loss_fn (with data) or objective")
    if loss_fn is not None and data is None:
        raise ValueError("fit: loss_fn was given without data; pass data=(inputs..., targets)")
    if objective is not None and data is not None:
        raise ValueError("fit: objective builds its own batches; do not pass data with it")

    ctx = ctx or RunContext(None, seed=torch.initial_seed() % 2**31, progress=False)
    device = torch.device(device) if device is not None else ctx.device
    model.to(device)
    tensors = tuple(t.to(device) for t in _as_tensors(data)) if data is not None else ()
    wrapped: nn.Module = model
    sync_grads = False
    if dist_utils.is_distributed():
        if objective is None:
            ids = [device.index] if device.type == "cuda" else None
            wrapped = nn.parallel.DistributedDataParallel(model, device_ids=ids)
        else:
            # An objective may call the model through its own bound methods, bypassing a DDP wrapper;
            # so start every rank from rank 0's weights and average gradients explicitly.
            dist_utils.broadcast_parameters(model)
            sync_grads = True

    opt = make_optimizer(optimizer, model.parameters(), lr, weight_decay, **(optimizer_options or {}))
    sched = make_scheduler(scheduler, opt, steps, warmup_steps)
    sampler = _BatchSampler(tensors[0].shape[0], batch_size, ctx.seed + zlib.crc32(name.encode()),
                            ctx.rank, ctx.world_size) if tensors else None

    ckpt_dir = ctx.checkpoint_dir / name if ctx.checkpoint_dir is not None else None
    history: list[dict[str, float]] = []
    start, acc, count, resumed_from, last_loss = 0, 0.0, 0, None, float("nan")
    last_good: Path | None = None
    if ctx.resume and ckpt_dir is not None and (found := latest_checkpoint(ckpt_dir)) is not None:
        state = load_checkpoint(found, model, map_location=device)
        opt.load_state_dict(state["optimizer"])
        if sched is not None and state.get("scheduler") is not None:
            sched.load_state_dict(state["scheduler"])
        # each rank continues its own random stream (older checkpoints hold rank 0's only)
        per_rank = state.get("rng_per_rank")
        set_rng_state(per_rank[ctx.rank] if per_rank and len(per_rank) == ctx.world_size else state["rng"])
        start, acc, count = int(state["step"]), float(state["loss_acc"]), int(state["loss_count"])
        history = [dict(r) for r in state["history"]]
        resumed_from, last_good, last_loss = start, found, float(state["last_loss"])
        ctx.truncate_log("phase", name, start)

    def compute_loss() -> tuple[torch.Tensor, dict[str, float]]:
        if objective is not None:
            out = objective(wrapped)
            loss, parts = (out if isinstance(out, tuple) else (out, {}))
        else:
            idx = sampler(step) if sampler is not None else None
            batch = tensors if idx is None else tuple(t[idx] for t in tensors)
            loss, parts = loss_fn(wrapped(*batch[:-1]), batch[-1]), {}
        if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
            raise TypeError(f"the loss must be a scalar tensor, got {type(loss).__name__} "
                            f"{tuple(getattr(loss, 'shape', ()))}")
        return loss, {k: float(v) for k, v in parts.items()}

    def closure() -> torch.Tensor:
        opt.zero_grad(set_to_none=True)
        loss, parts = compute_loss()
        loss.backward()
        if sync_grads:
            dist_utils.average_gradients(model)
        closure.parts = parts  # type: ignore[attr-defined]
        return loss

    def checkpoint(step_done: int, last_loss: float) -> None:
        nonlocal last_good
        if ckpt_dir is None:
            return
        rngs = dist_utils.gather_to_main(rng_state())  # collective: every rank takes part
        if not ctx.is_main:
            return
        state = {"step": step_done, "optimizer": opt.state_dict(),
                 "scheduler": sched.state_dict() if sched is not None else None, "rng": rngs[0],
                 "rng_per_rank": rngs,
                 "loss_acc": acc, "loss_count": count, "history": history, "last_loss": last_loss}
        last_good = save_checkpoint(ckpt_dir, step_done, model, state)

    def run_eval(step_done: int) -> None:
        if eval_fn is None:
            return
        was_training = model.training
        model.train(False)
        grad_mode = torch.enable_grad() if getattr(eval_fn, "needs_grad", False) else torch.no_grad()
        with grad_mode:
            values = {k: float(v) for k, v in eval_fn(model).items()}
        model.train(was_training)
        row = {"step": step_done, **values}
        history.append(row)
        ctx.log(phase=name, **row)

    t0 = time.perf_counter()
    model.train()
    bar = ctx.progress(total=steps, initial=start, desc=name)
    step = start
    for step in range(start, steps):
        if optimizer == "lbfgs":
            loss_t = opt.step(closure)
        else:
            loss_t = closure()
            if grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            opt.step()
        if sched is not None:
            sched.step()
        loss = float(loss_t.detach())
        if not math.isfinite(loss):
            where = f"last good checkpoint kept at {last_good}" if last_good else "no checkpoint was written"
            raise TrainingDiverged(f"{name}: loss became {loss} at step {step + 1}; {where}")
        acc, count, last_loss = acc + loss, count + 1, loss
        done = step + 1
        if done % log_every == 0 or done == steps:
            mean = dist_utils.mean_across_ranks(acc / count)
            row = {"step": done, "loss": mean, "lr": opt.param_groups[0]["lr"],
                   **getattr(closure, "parts", {})}
            history.append(row)
            ctx.log(phase=name, **row)
            bar.set_postfix(loss=f"{mean:.3g}")
            acc, count = 0.0, 0
        if eval_every and done % eval_every == 0 and done != steps:
            run_eval(done)
        if done == steps:
            run_eval(done)
        bar.update(1)
        if (checkpoint_every and done % checkpoint_every == 0) or done == steps:
            checkpoint(done, last_loss)
    bar.close()
    return FitResult(steps=steps, final_loss=last_loss, history=history, resumed_from=resumed_from,
                     seconds=time.perf_counter() - t0)
