"""``fit``: a small, explicit training loop (not a framework).

Two ways to say what to minimise:

* supervised: ``fit(model, loss_fn, data=(x, y), ...)`` draws mini-batches of ``data`` (tensors with a shared
  first dim; the last is the target, the others are the model's inputs) and minimises ``loss_fn(model(*x), y)``;
  ``data`` may also be a map-style dataset giving ``(inputs..., target)`` per index (e.g. ``basiskit.data``'s
  ``ArrayPairs`` read from a file), fetched a batch at a time with the same resumable sampling;
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
import time
import warnings
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._validation import check_choice, check_float, check_int
from . import distributed as dist_utils
from .callbacks import Callback, TrainState
from .checkpoint import latest_checkpoint, load_checkpoint, rng_state, save_checkpoint, set_rng_state
from .context import RunContext

OPTIMIZERS = ("adam", "adamw", "sgd", "lbfgs")
SCHEDULERS = (None, "cosine", "step", "exponential")
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the message names the step and the last good checkpoint."""


@dataclass
class FitResult:
    steps: int
    final_loss: float
    history: list[dict[str, float]] = field(default_factory=list)
    resumed_from: int | None = None
    seconds: float = 0.0
    stopped_early: bool = False

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


class _MapData:
    """A map-style dataset (``len`` and ``ds[i] -> (inputs..., target)``) read one mini-batch at a time.

    Uses the dataset's ``batch(idx)`` when it has one (e.g. ``basiskit.data.ArrayPairs``, which reads a whole
    batch from a file at once), else stacks ``ds[i]`` with the default collate. The full batch is read once.
    """

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset
        self.n = len(dataset)
        if self.n == 0:
            raise ValueError("data must hold at least one sample, got an empty dataset")
        self._full: tuple[torch.Tensor, ...] | None = None

    def __call__(self, idx: torch.Tensor | None, device: torch.device) -> tuple[torch.Tensor, ...]:
        if idx is None:
            if self._full is None:
                self._full = self._read(torch.arange(self.n), device)
            return self._full
        return self._read(idx, device)

    def _read(self, idx: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, ...]:
        if hasattr(self.dataset, "batch"):
            batch = self.dataset.batch(idx)
        else:
            batch = torch.utils.data.default_collate([self.dataset[int(i)] for i in idx])
        if not isinstance(batch, (tuple, list)) or len(batch) < 2:
            raise TypeError("a dataset passed as data must give (inputs..., target) per sample, got "
                            f"{type(batch).__name__}")
        return tuple(t.to(device) for t in batch)


def _is_map_dataset(data: Any) -> bool:
    return (isinstance(data, torch.utils.data.Dataset) and not isinstance(data, torch.utils.data.TensorDataset)
            and hasattr(data, "__len__"))


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


@dataclass
class _Evaluation:
    """One forward and backward pass: the scalar loss and the named parts the objective reported."""

    loss: torch.Tensor
    parts: dict[str, float]


@dataclass
class _Progress:
    """Where a training stands; with weights, optimizer, scheduler and RNG states it is a checkpoint.

    ``loss_acc``/``loss_count`` accumulate the losses since the last logged row; ``last_good`` is the newest
    checkpoint this rank wrote or resumed from (None on ranks other than 0, which write none).
    """

    step: int = 0
    loss_acc: float = 0.0
    loss_count: int = 0
    last_loss: float = float("nan")
    history: list[dict[str, float]] = field(default_factory=list)
    resumed_from: int | None = None
    last_good: Path | None = None
    stopped: bool = False
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    scaler: dict[str, Any] | None = None


def _wrap_for_ranks(model: nn.Module, objective: Callable[..., Any] | None,
                    device: torch.device) -> tuple[nn.Module, bool]:
    """``(module to call, whether gradients must be averaged by hand)`` for this process.

    Supervised training under torchrun calls the model through DistributedDataParallel. An objective may
    call the model through its own bound methods, bypassing a DDP wrapper; so then every rank starts from
    rank 0's weights and gradients are averaged explicitly after each backward.
    """
    if not dist_utils.is_distributed():
        return model, False
    if objective is None:
        ids = [device.index] if device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids), False
    dist_utils.broadcast_parameters(model)
    return model, True


def _restore(ckpt_dir: Path | None, model: nn.Module, opt: torch.optim.Optimizer, sched: Any,
             ctx: RunContext, name: str, device: torch.device) -> _Progress:
    """Load the newest checkpoint of ``ckpt_dir`` into ``model``/``opt``/``sched`` when ``ctx.resume``.

    Restores this rank's own RNG stream (older checkpoints hold rank 0's only) and drops the log rows of
    phase ``name`` written after the checkpoint. Without a checkpoint to resume: a fresh ``_Progress``.
    """
    if not ctx.resume or ckpt_dir is None or (found := latest_checkpoint(ckpt_dir)) is None:
        return _Progress()
    state = load_checkpoint(found, model, map_location=device)
    opt.load_state_dict(state["optimizer"])
    if sched is not None and state.get("scheduler") is not None:
        sched.load_state_dict(state["scheduler"])
    per_rank = state.get("rng_per_rank")
    set_rng_state(per_rank[ctx.rank] if per_rank and len(per_rank) == ctx.world_size else state["rng"])
    step = int(state["step"])
    ctx.truncate_log("phase", name, step)
    return _Progress(step=step, loss_acc=float(state["loss_acc"]), loss_count=int(state["loss_count"]),
                     last_loss=float(state["last_loss"]), history=[dict(r) for r in state["history"]],
                     resumed_from=step, last_good=found, stopped=bool(state.get("stopped", False)),
                     callbacks=list(state.get("callbacks", [])), scaler=state.get("scaler"))


def _save(ckpt_dir: Path, model: nn.Module, opt: torch.optim.Optimizer, sched: Any, ctx: RunContext,
          progress: _Progress, callbacks: Sequence[Callback] = (), scaler: Any = None) -> Path | None:
    """Write a checkpoint of ``progress.step`` (rank 0 writes; every rank must call: the RNG states of all
    ranks are gathered). Returns the step folder on rank 0, None elsewhere."""
    rngs = dist_utils.gather_to_main(rng_state())
    if not ctx.is_main:
        return None
    state = {"step": progress.step, "optimizer": opt.state_dict(),
             "scheduler": sched.state_dict() if sched is not None else None, "rng": rngs[0],
             "rng_per_rank": rngs, "loss_acc": progress.loss_acc, "loss_count": progress.loss_count,
             "history": progress.history, "last_loss": progress.last_loss, "stopped": progress.stopped,
             "callbacks": [cb.state_dict() for cb in callbacks],
             "scaler": scaler.state_dict() if scaler is not None else None}
    return save_checkpoint(ckpt_dir, progress.step, model, state)


def _optimizer_step(opt: torch.optim.Optimizer, forward_backward: Callable[[int], _Evaluation],
                    model: nn.Module, grad_clip: float | None, accumulate: int = 1,
                    scaler: Any = None) -> _Evaluation:
    """One optimizer step; returns the evaluation at the step's starting point.

    LBFGS (any ``torch.optim.LBFGS``, however built) re-evaluates inside its line search through a closure;
    the loss it reports and the parts logged with it are those of the first evaluation. ``grad_clip`` does
    not apply to LBFGS (``fit`` warns): its line search needs the true gradient of the loss it evaluates.
    Otherwise the gradients of ``accumulate`` micro-batches are summed (each loss divided by ``accumulate``)
    before the step; the reported loss is their mean. ``scaler`` (float16 training) scales the backward pass,
    unscales before clipping and skips steps with non-finite gradients.
    """
    if isinstance(opt, torch.optim.LBFGS):
        evaluations: list[_Evaluation] = []
        params = [p for group in opt.param_groups for p in group["params"]]

        def closure() -> torch.Tensor:
            for p in params:  # zero_grad(set_to_none=True) without its profiler scope: LBFGS calls this often
                p.grad = None
            evaluations.append(forward_backward(0))
            return evaluations[-1].loss

        opt.step(closure)
        return evaluations[0]
    opt.zero_grad(set_to_none=True)
    parts = [forward_backward(k) for k in range(accumulate)]
    if scaler is not None:
        scaler.unscale_(opt)
    if grad_clip is not None:
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    if scaler is not None:
        scaler.step(opt)
        scaler.update()
    else:
        opt.step()
    if accumulate == 1:
        return parts[0]
    loss = torch.stack([e.loss.detach() for e in parts]).mean()
    keys = {k for e in parts for k in e.parts}
    return _Evaluation(loss, {k: sum(e.parts.get(k, 0.0) for e in parts) / accumulate for k in keys})


def _evaluate(eval_fn: Callable[[nn.Module], dict[str, float]], model: nn.Module,
              needs_grad: bool) -> dict[str, float]:
    """``eval_fn(model)`` in eval mode (grad off unless ``needs_grad``), values as floats; mode restored."""
    was_training = model.training
    model.train(False)
    try:
        with torch.enable_grad() if needs_grad else torch.no_grad():
            return {k: float(v) for k, v in eval_fn(model).items()}
    finally:
        model.train(was_training)


def fit(model: nn.Module, loss_fn: Callable[..., torch.Tensor] | None = None, data: Any = None, *,
        objective: Callable[[nn.Module], Any] | None = None, steps: int, batch_size: int | None = None,
        optimizer: str | Callable[..., torch.optim.Optimizer] = "adam", lr: float = 1e-3,
        weight_decay: float = 0.0, optimizer_options: dict[str, Any] | None = None,
        scheduler: str | Callable[..., Any] | None = None, warmup_steps: int = 0,
        grad_clip: float | None = None, eval_fn: Callable[[nn.Module], dict[str, float]] | None = None,
        eval_every: int = 0, eval_needs_grad: bool = False, log_every: int = 10, checkpoint_every: int = 0,
        ctx: RunContext | None = None, name: str = "model",
        device: str | torch.device | None = None, callbacks: Sequence[Callback] = (),
        precision: str = "fp32", accumulate: int = 1) -> FitResult:
    """Train ``model`` for ``steps`` optimizer steps; see the module docstring.

    Args:
        steps: optimizer steps (for LBFGS each step is one ``optimizer.step(closure)``).
        batch_size: mini-batch size per rank; None (or >= the data size) means full batch.
        optimizer: "adam" | "adamw" | "sgd" | "lbfgs", or ``params -> Optimizer``; an LBFGS optimizer
            (by name or from the callable) is stepped with a closure.
        scheduler: None | "cosine" | "step" | "exponential", or ``optimizer -> scheduler``;
            ``warmup_steps`` adds a linear warm-up.
        grad_clip: clip the global gradient norm to this value (> 0). Not applied under LBFGS, whose line
            search needs the true gradient: a ``UserWarning`` says so.
        eval_fn: ``model -> {name: value}``, called every ``eval_every`` steps and at the end, in eval mode
            and without autograd (``eval_needs_grad=True`` keeps autograd on, e.g. for a PDE residual);
            logged. The older spelling, an attribute ``eval_fn.needs_grad = True``, still works but is
            deprecated.
        checkpoint_every: write a checkpoint every so many steps (0: only at the end), when ``ctx`` has a
            run folder. ``name`` keeps several trainings of one run apart (``checkpoint/<name>/``).
        callbacks: ``basiskit.train.callbacks`` objects (step hooks, early stopping, best checkpoint, loggers);
            their state is checkpointed with the run. An early stop ends training and is itself checkpointed.
        precision: "fp32" | "bf16" | "fp16": the forward pass and loss under ``torch.autocast`` in that dtype
            (weights and optimizer stay float32); "fp16" adds a gradient scaler. Spectral layers transform in
            float32 (CPU FFTs reject half precision). Not with LBFGS.
        accumulate: micro-batches per optimizer step (gradients summed, each loss divided by ``accumulate``):
            an effective batch of ``accumulate * batch_size``. Not with LBFGS, and needs ``batch_size``.
    """
    check_int("steps", steps, min_value=0)
    check_float("lr", lr, min_value=0.0, strict_min=True)
    check_int("log_every", log_every, min_value=1)
    check_int("checkpoint_every", checkpoint_every, min_value=0)
    check_int("eval_every", eval_every, min_value=0)
    if batch_size is not None:
        check_int("batch_size", batch_size, min_value=1)
    if grad_clip is not None:
        check_float("grad_clip", grad_clip, min_value=0.0, strict_min=True)
    if (objective is None) == (loss_fn is None):
        raise ValueError("fit needs exactly one of loss_fn (with data) or objective")
    if loss_fn is not None and data is None:
        raise ValueError("fit: loss_fn was given without data; pass data=(inputs..., targets)")
    if objective is not None and data is not None:
        raise ValueError("fit: objective builds its own batches; do not pass data with it")
    check_choice("precision", precision, tuple(PRECISIONS))
    check_int("accumulate", accumulate, min_value=1)
    for i, cb in enumerate(callbacks):
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks[{i}] must be a basiskit.train.callbacks.Callback, got {type(cb).__name__}")
    if accumulate > 1 and loss_fn is not None and batch_size is None:
        raise ValueError(f"fit: accumulate={accumulate} needs mini-batches; pass batch_size (the full batch "
                         "would be the same micro-batch every time)")
    if eval_fn is not None and hasattr(eval_fn, "needs_grad"):
        warnings.warn("fit: the eval_fn.needs_grad attribute is deprecated; pass fit(..., eval_needs_grad=True)",
                      DeprecationWarning, stacklevel=2)
        eval_needs_grad = eval_needs_grad or bool(eval_fn.needs_grad)

    ctx = ctx or RunContext(None, seed=torch.initial_seed() % 2**31, progress=False)
    device = torch.device(device) if device is not None else ctx.device
    model.to(device)
    if isinstance(data, torch.utils.data.IterableDataset):
        raise TypeError("fit needs a map-style dataset (len and indexing): an IterableDataset cannot be "
                        "resumed exactly, since fit draws batches as a pure function of (seed, step)")
    mapped = _MapData(data) if _is_map_dataset(data) else None
    tensors = (tuple(t.to(device) for t in _as_tensors(data)) if data is not None and mapped is None else ())
    n_samples = mapped.n if mapped is not None else (tensors[0].shape[0] if tensors else 0)
    wrapped, sync_grads = _wrap_for_ranks(model, objective, device)
    opt = make_optimizer(optimizer, model.parameters(), lr, weight_decay, **(optimizer_options or {}))
    sched = make_scheduler(scheduler, opt, steps, warmup_steps)
    if isinstance(opt, torch.optim.LBFGS) and (precision != "fp32" or accumulate > 1):
        raise ValueError(f"fit: LBFGS cannot train with precision={precision!r} or accumulate={accumulate}: its "
                         "line search compares exact losses of the full objective; use fp32 and accumulate=1")
    if grad_clip is not None and isinstance(opt, torch.optim.LBFGS):
        warnings.warn(f"fit: grad_clip={grad_clip} is not applied under LBFGS (its line search needs the true "
                      "gradient); bound the step with optimizer_options such as lr or max_eval instead",
                      UserWarning, stacklevel=2)
    sampler = _BatchSampler(n_samples, batch_size, ctx.seed + zlib.crc32(name.encode()),
                            ctx.rank, ctx.world_size) if n_samples else None
    ckpt_dir = ctx.checkpoint_dir / name if ctx.checkpoint_dir is not None else None
    progress = _restore(ckpt_dir, model, opt, sched, ctx, name, device)
    scaler = torch.amp.GradScaler(device.type) if precision == "fp16" else None
    if scaler is not None and progress.scaler:
        scaler.load_state_dict(progress.scaler)
    for cb, cb_state in zip(callbacks, progress.callbacks):
        cb.load_state_dict(cb_state)
    autocast_dtype = PRECISIONS[precision]
    tstate = TrainState(model=model, optimizer=opt, name=name, steps=steps, ctx=ctx, step=progress.step,
                        loss=progress.last_loss, stop=progress.stopped)

    def forward_backward(micro: int) -> _Evaluation:
        with torch.autocast(device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
            if objective is not None:
                out = objective(wrapped)
                loss, parts = out if isinstance(out, tuple) else (out, {})
            else:
                idx = sampler(progress.step * accumulate + micro) if sampler is not None else None
                if mapped is not None:
                    batch = mapped(idx, device)
                else:
                    batch = tensors if idx is None else tuple(t[idx] for t in tensors)
                tstate.batch = batch
                loss, parts = loss_fn(wrapped(*batch[:-1]), batch[-1]), {}
        if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
            raise TypeError(f"the loss must be a scalar tensor, got {type(loss).__name__} "
                            f"{tuple(getattr(loss, 'shape', ()))}")
        scaled = loss / accumulate if accumulate > 1 else loss
        (scaler.scale(scaled) if scaler is not None else scaled).backward()
        if sync_grads:
            dist_utils.average_gradients(model)
        loss = loss.float() if loss.dtype in (torch.float16, torch.bfloat16) else loss
        return _Evaluation(loss, {k: float(v) for k, v in parts.items()})

    def record(row: dict[str, float]) -> None:
        progress.history.append(row)
        ctx.log(phase=name, **row)
        for cb in callbacks:
            cb.on_log(tstate, row)

    def save() -> Path | None:
        return _save(ckpt_dir, model, opt, sched, ctx, progress, callbacks, scaler)

    t0 = time.perf_counter()
    model.train()
    bar = ctx.progress(total=steps, initial=progress.step, desc=name)
    for cb in callbacks:
        cb.on_train_start(tstate)
    while progress.step < steps and not tstate.stop:
        evaluation = _optimizer_step(opt, forward_backward, model, grad_clip, accumulate, scaler)
        if sched is not None:
            sched.step()
        loss = float(evaluation.loss.detach())
        done = progress.step + 1
        if not math.isfinite(loss):
            where = (f"last good checkpoint kept at {progress.last_good}" if progress.last_good
                     else "no checkpoint was written")
            raise TrainingDiverged(f"{name}: loss became {loss} at step {done}; {where}")
        progress.step, progress.last_loss = done, loss
        tstate.step, tstate.loss = done, loss
        progress.loss_acc, progress.loss_count = progress.loss_acc + loss, progress.loss_count + 1
        if done % log_every == 0 or done == steps:
            mean = dist_utils.mean_across_ranks(progress.loss_acc / progress.loss_count)
            record({"step": done, "loss": mean, "lr": opt.param_groups[0]["lr"], **evaluation.parts})
            bar.set_postfix(loss=f"{mean:.3g}")
            progress.loss_acc, progress.loss_count = 0.0, 0
        for cb in callbacks:
            cb.on_step_end(tstate)
        if eval_fn is not None and ((eval_every and done % eval_every == 0) or done == steps):
            metrics = _evaluate(eval_fn, model, eval_needs_grad)
            record({"step": done, **metrics})
            for cb in callbacks:
                cb.on_eval(tstate, metrics)
        progress.stopped = tstate.stop
        bar.update(1)
        due = (checkpoint_every and done % checkpoint_every == 0) or done == steps or tstate.stop
        if ckpt_dir is not None and due:
            progress.last_good = save() or progress.last_good
    bar.close()
    tstate.batch = None
    for cb in callbacks:
        cb.on_train_end(tstate)
    return FitResult(steps=progress.step, final_loss=progress.last_loss, history=progress.history,
                     resumed_from=progress.resumed_from, seconds=time.perf_counter() - t0,
                     stopped_early=progress.stopped)
