"""Callbacks for ``fit``: things that happen during training without ``fit`` knowing any model family.

A callback subclasses ``Callback`` and overrides any of

* ``on_train_start(state)`` — once, after a resume has restored the weights;
* ``on_step_end(state)`` — after every optimizer step (``state.step`` is the number of steps done, ``state.batch``
  the step's mini-batch ``(inputs..., target)`` in supervised mode, None in objective mode);
* ``on_eval(state, metrics)`` — after each evaluation, with the dict ``eval_fn`` returned;
* ``on_log(state, row)`` — after each logged row (loss rows and evaluation rows);
* ``on_train_end(state)``;
* ``state_dict()`` / ``load_state_dict(d)`` — numbers, strings, lists and dicts saved in ``fit``'s checkpoints, so a
  resumed run continues with the callback where it was.

Setting ``state.stop = True`` ends training after the current step (early stopping); the stop is checkpointed, so
resuming a stopped run does not train further. Shipped: ``StepHook`` (a function every k steps up to a stop step,
e.g. a KAN's grid update from the batch), ``EarlyStopping``, ``BestCheckpoint`` (the best weights by an evaluation
metric, kept outside the rotation that deletes old step folders), ``CSVLogger`` and ``TensorBoardLogger``.
"""
from __future__ import annotations

import csv
import json
import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from .._validation import UsageError, check_choice, check_float, check_int
from .context import RunContext


@dataclass
class TrainState:
    """What callbacks see: the model being trained, its optimizer, where training stands, the run context."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    name: str
    steps: int
    ctx: RunContext
    step: int = 0
    loss: float = float("nan")
    batch: tuple[torch.Tensor, ...] | None = None
    stop: bool = False


class Callback:
    """Base class: every hook does nothing; override the ones you need (see the module docstring)."""

    def on_train_start(self, state: TrainState) -> None:
        pass

    def on_step_end(self, state: TrainState) -> None:
        pass

    def on_eval(self, state: TrainState, metrics: dict[str, float]) -> None:
        pass

    def on_log(self, state: TrainState, row: dict[str, float]) -> None:
        pass

    def on_train_end(self, state: TrainState) -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


class StepHook(Callback):
    """``fn(state)`` after steps ``every, 2 every, ...`` while the step count is <= ``until`` (None: always).

    pykan's default grid schedule is ``StepHook(lambda s: kan.update_grid(s.batch[0]), every=5, until=50)``.
    """

    def __init__(self, fn: Callable[[TrainState], Any], every: int = 1, until: int | None = None) -> None:
        if not callable(fn):
            raise UsageError(f"StepHook needs a callable fn(state), got {type(fn).__name__}")
        self.fn, self.every = fn, check_int("every", every, min_value=1)
        self.until = None if until is None else check_int("until", until, min_value=0)

    def on_step_end(self, state: TrainState) -> None:
        if state.step % self.every == 0 and (self.until is None or state.step <= self.until):
            self.fn(state)


def _improved(value: float, best: float | None, mode: str, min_delta: float) -> bool:
    if not math.isfinite(value):
        return False
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


def _metric(metrics: dict[str, float], key: str, who: str) -> float:
    if key not in metrics:
        raise UsageError(f"{who}: the evaluation returned {sorted(metrics)}, not {key!r}; pass metric= one of them")
    return float(metrics[key])


class EarlyStopping(Callback):
    """Stop when ``metric`` (a key of ``eval_fn``'s result) has not improved by more than ``min_delta`` for
    ``patience`` evaluations in a row; ``mode="min"`` for errors, ``"max"`` for accuracies."""

    def __init__(self, metric: str, patience: int = 5, mode: str = "min", min_delta: float = 0.0) -> None:
        self.metric = metric
        self.patience = check_int("patience", patience, min_value=1)
        self.mode = check_choice("mode", mode, ("min", "max"))
        self.min_delta = check_float("min_delta", min_delta, min_value=0.0)
        self.best: float | None = None
        self.best_step = 0
        self.bad_evals = 0
        self.stopped_at: int | None = None

    def on_eval(self, state: TrainState, metrics: dict[str, float]) -> None:
        value = _metric(metrics, self.metric, "EarlyStopping")
        if _improved(value, self.best, self.mode, self.min_delta):
            self.best, self.best_step, self.bad_evals = value, state.step, 0
            return
        self.bad_evals += 1
        if self.bad_evals >= self.patience:
            state.stop, self.stopped_at = True, state.step

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_step": self.best_step, "bad_evals": self.bad_evals,
                "stopped_at": self.stopped_at}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_step = state["best"], int(state["best_step"])
        self.bad_evals, self.stopped_at = int(state["bad_evals"]), state["stopped_at"]


class BestCheckpoint(Callback):
    """Keep the weights with the best ``metric`` seen so far.

    With a run folder they are written to ``checkpoint/<name>/best/`` (``model.safetensors`` and ``best.json``
    with the step and value), atomically and outside the step-folder rotation; without one they are kept in
    memory. ``restore(model)`` loads them into ``model``.
    """

    def __init__(self, metric: str, mode: str = "min") -> None:
        self.metric = metric
        self.mode = check_choice("mode", mode, ("min", "max"))
        self.best: float | None = None
        self.best_step: int | None = None
        self.path: Path | None = None
        self._weights: dict[str, torch.Tensor] | None = None

    def on_train_start(self, state: TrainState) -> None:
        if state.ctx.checkpoint_dir is not None:
            self.path = state.ctx.checkpoint_dir / state.name / "best"

    def on_eval(self, state: TrainState, metrics: dict[str, float]) -> None:
        value = _metric(metrics, self.metric, "BestCheckpoint")
        if not _improved(value, self.best, self.mode, 0.0):
            return
        self.best, self.best_step = value, state.step
        weights = {k: v.detach().cpu().clone().contiguous() for k, v in state.model.state_dict().items()}
        self._weights = weights
        if self.path is not None and state.ctx.is_main:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(dir=self.path.parent, prefix=".tmp_best_"))
            save_file(weights, str(tmp / "model.safetensors"))
            (tmp / "best.json").write_text(json.dumps({"metric": self.metric, "value": value, "step": state.step}))
            old = self.path.with_name(".old_best")
            if self.path.exists():
                os.replace(self.path, old)
            os.replace(tmp, self.path)
            if old.exists():
                for f in old.iterdir():
                    f.unlink()
                old.rmdir()

    def restore(self, model: nn.Module) -> nn.Module:
        """Load the best weights into ``model`` (from the run folder if there is one, else from memory)."""
        if self.path is not None and (self.path / "model.safetensors").is_file():
            model.load_state_dict(load_file(str(self.path / "model.safetensors")))
        elif self._weights is not None:
            model.load_state_dict(self._weights)
        else:
            raise UsageError("BestCheckpoint.restore: no evaluation has run yet, so there are no best weights")
        return model

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_step": self.best_step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_step = state["best"], state["best_step"]


class CSVLogger(Callback):
    """Every logged row of this training appended to ``path`` (columns grow as new keys appear)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._rows: list[dict[str, Any]] = []

    def on_train_start(self, state: TrainState) -> None:
        if self.path.exists():
            with open(self.path, newline="") as f:
                self._rows = [r for r in csv.DictReader(f) if float(r.get("step") or 0) <= state.step]

    def on_log(self, state: TrainState, row: dict[str, float]) -> None:
        self._rows.append({"phase": state.name, **row})
        columns: list[str] = []
        for r in self._rows:
            columns += [k for k in r if k not in columns]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(self._rows)


class TensorBoardLogger(Callback):
    """Every logged number as a TensorBoard scalar ``<name>/<key>`` at its step (needs ``tensorboard``)."""

    def __init__(self, log_dir: str | Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as err:
            raise UsageError("TensorBoardLogger needs the tensorboard package: pip install tensorboard "
                             "(or log with CSVLogger, which needs nothing)") from err
        self.writer = SummaryWriter(str(log_dir))

    def on_log(self, state: TrainState, row: dict[str, float]) -> None:
        step = int(row.get("step", state.step))
        for key, value in row.items():
            if key != "step":
                self.writer.add_scalar(f"{state.name}/{key}", float(value), step)

    def on_train_end(self, state: TrainState) -> None:
        self.writer.flush()
