"""Helpers shared by several recipes (a private module of ``basiskit.recipes``: recipes import it, never each
other).

* Operator recipes: one training path, :func:`train_operator` (normalisation by ``data.NormalizedOperator``
  with one global mean and std, buffers saved with the weights, AdamW with the config's weight decay, cosine
  schedule, relative L2 loss, the full test set logged ten times, BatchNorm statistics recomputed for evaluation),
  evaluation, sample images, the FNO-vs-other comparison on Darcy and the neuraloperator peer.
* Any recipe that gives a model its best chance: :func:`best_lr` (train at each learning rate of a sweep, keep
  the run that scores best on validation data).
* KAN recipes: the KAN paper's running example :func:`kan_example_target` and pykan's LBFGS setting
  :func:`lbfgs_fit_options`.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
import math
from typing import Any, NamedTuple

import torch
from torch import nn

from ..data import MultiResolutionPairs, NormalizedOperator
from ..losses import relative_lp
from ..measure import count_parameters, match_width, peer_available
from ..train import FitResult, RunContext, StepHook, batchnorm_layers, fit, recalibrate_batchnorm

Pair = tuple[torch.Tensor, torch.Tensor]


def kan_example_target(xy: torch.Tensor) -> torch.Tensor:
    """The KAN paper's running example f(x, y) = exp(sin(pi x) + y^2); xy: (n, 2) -> (n, 1)."""
    return torch.exp(torch.sin(math.pi * xy[:, :1]) + xy[:, 1:] ** 2)


def lbfgs_fit_options(iterations: int) -> dict[str, Any]:
    """``fit`` keyword arguments for pykan's LBFGS: ``iterations`` quasi-Newton iterations (strong-Wolfe line
    search) per optimizer step, history 10, lr 1, no early stop on small gradients or changes (float64 fits
    go far below the default tolerances). Use as ``fit(model, ..., **lbfgs_fit_options(20))``."""
    return {"optimizer": "lbfgs", "lr": 1.0,
            "optimizer_options": {"max_iter": iterations, "history_size": 10, "tolerance_grad": 1e-32,
                                  "tolerance_change": 1e-32}}


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, device: torch.device, batch_size: int = 32) -> torch.Tensor:
    """``model(x)`` in evaluation mode, ``batch_size`` samples at a time on ``device``, returned on the CPU."""
    was = model.training
    model.train(False)
    out = torch.cat([model(x[i:i + batch_size].to(device)).cpu() for i in range(0, x.shape[0], batch_size)])
    model.train(was)
    return out


def rel_l2(model: nn.Module, data: Pair, device: torch.device) -> float:
    """Mean over samples of the relative L2 error on held-out ``data``."""
    return float(relative_lp(predict(model, data[0], device), data[1]))


def train_operator(model: nn.Module, train: Pair | MultiResolutionPairs, test: Pair, ctx: RunContext, name: str,
                   *, steps: int, batch_size: int, lr: float, weight_decay: float, normalize: bool = True,
                   checkpoint_every: int = 0, view: Callable[[nn.Module], nn.Module] | None = None,
                   target_map: Callable[[torch.Tensor], torch.Tensor] | None = None
                   ) -> tuple[nn.Module, FitResult]:
    """Train an operator the one way every operator recipe does, so their tables compare like with like.

    * ``normalize=True`` wraps ``model`` in ``data.NormalizedOperator`` with one global mean and std (training
      statistics as buffers; the recipes' data have one input channel, so this equals per-channel scaling): the
      trained model maps raw inputs to raw outputs, is saved and reloaded with its scaling, and every error is
      measured on the original data. ``normalize=False`` trains ``model`` as given.
    * Loss: relative L2 on the raw targets, the figure the recipes report. Optimiser: AdamW (decoupled weight
      decay, so ``weight_decay`` from the recipe's config means the same at every learning rate, as in
      neuraloperator's trainer), cosine decay over ``steps``.
    * Evaluation: relative L2 on the full test set ``test``, logged ten times as ``test_rel_l2``: the last
      point of the curve is the number the recipe reports, with no second sample (a probe) to reconcile, at
      the cost of ten forward passes over the test set (a small fraction of training).
    * ``train`` may be a ``data.MultiResolutionPairs`` (the same samples on several grids, one grid per
      mini-batch); the normalisation statistics come from its first grid.
    * ``view`` and ``target_map`` train in another space: the module ``view(wrapped)`` is fitted to
      ``target_map(y)`` (e.g. a spectral model's kept modes against the targets' modes), while evaluation
      always uses the wrapped model on the physical test pairs.
    * A model with BatchNorm layers gets population statistics before each evaluation
      (``train.recalibrate_batchnorm`` over the training inputs, the first grid of a ``MultiResolutionPairs``, in
      random batches of ``batch_size``; one pass before the intermediate evaluations, ``FINAL_CALIBRATION_BATCHES``
      batches before the last): the moving averages follow the last ~10 batches and made the LSM's held-out error
      rise by 14% (0.0106 to 0.0121) over the last 500 steps,
      at a rate too small to move the weights. Training itself is unchanged (it normalises with each batch's
      statistics).

    Returns (the trained model as evaluated, i.e. the ``NormalizedOperator`` wrapper or ``model``; the
    ``FitResult``).
    """
    multi = isinstance(train, MultiResolutionPairs)
    if multi and target_map is not None:
        raise ValueError("target_map needs one training grid; got a MultiResolutionPairs")
    stats = train.pairs[0] if multi else train  # global mean and std: the same on every grid
    wrapped = NormalizedOperator.fit(model, *stats, mode="global") if normalize else model
    trained = view(wrapped) if view is not None else wrapped
    data = train
    if target_map is not None:
        with torch.no_grad():
            data = (train[0], target_map(train[1]))
    calibrate = _batchnorm_calibration(wrapped, stats[0], batch_size, ctx)
    step = [0]  # the step just taken (fit evaluates after its callbacks' on_step_end)

    def evaluate(_: nn.Module) -> dict[str, float]:
        calibrate(final=step[0] >= steps)
        return {"test_rel_l2": rel_l2(wrapped, test, ctx.device)}

    result = fit(trained, relative_lp, data, steps=steps, batch_size=batch_size, optimizer="adamw", lr=lr,
                 weight_decay=weight_decay, scheduler="cosine", ctx=ctx, name=name,
                 checkpoint_every=checkpoint_every, eval_every=max(1, steps // 10), eval_fn=evaluate,
                 callbacks=[StepHook(lambda s: step.__setitem__(0, s.step))])
    if step[0] < steps:  # no step taken here (a resumed, finished run): no evaluation ran, so calibrate now
        calibrate(final=True)
    return wrapped, result


# BatchNorm statistics for the final evaluation average this many batches (more if one pass over the training set
# has more). On the lsm quick model (seeds 1 and 2, five batch orders each) one pass of 8 random batches left the
# held-out error anywhere in 0.028-0.040, 128 batches in 0.0287-0.0301.
FINAL_CALIBRATION_BATCHES = 256


def _batchnorm_calibration(model: nn.Module, inputs: torch.Tensor, batch_size: int,
                           ctx: RunContext) -> Callable[..., None]:
    """``calibrate(final)``: population BatchNorm statistics for ``model`` over ``inputs`` in random batches of
    ``batch_size`` (one pass before an intermediate evaluation, ``FINAL_CALIBRATION_BATCHES`` before the last;
    the same seeded orders every time, so a resumed run measures what an uninterrupted one does). A no-op for a
    model without BatchNorm layers."""
    if not batchnorm_layers(model):
        return lambda final=False: None
    one_pass = -(-inputs.shape[0] // batch_size)

    def calibrate(final: bool = False) -> None:
        recalibrate_batchnorm(model, inputs, batch_size, device=ctx.device,
                              batches=max(one_pass, FINAL_CALIBRATION_BATCHES) if final else one_pass,
                              generator=torch.Generator().manual_seed(ctx.seed))
    return calibrate


def plot_samples(ctx: RunContext, name: str, pred: torch.Tensor, truth: torch.Tensor, n: int = 3,
                 channel: int = 0, inputs: torch.Tensor | None = None, input_label: str = "input") -> None:
    """One row of panels per test sample: [input,] prediction, truth, |error| (images for 2-D fields, lines
    for 1-D ones)."""
    for i in range(min(n, pred.shape[0])):
        p, t = pred[i, channel], truth[i, channel]
        panels = {input_label: inputs[i, 0]} if inputs is not None else {}
        panels.update({f"{name} prediction": p, "truth": t, "|error|": (p - t).abs()})
        ctx.plot_fields(f"{name}_sample{i}", panels, extent=(0, 1, 0, 1))


class LrChoice(NamedTuple):
    """The winner of a learning-rate sweep: its validation score, rate, trained model and fit result, and the
    validation score at every rate of the sweep (``scores[lr]``)."""

    score: float
    lr: float
    model: nn.Module
    result: FitResult
    scores: dict[float, float]


def best_lr(lrs: Sequence[float], train: Callable[[float], tuple[nn.Module, FitResult]],
            score: Callable[[nn.Module], float]) -> LrChoice:
    """Train once per learning rate (``train(lr) -> (model, result)``; seed inside ``train`` so every rate starts
    from the same weights) and keep the run with the highest ``score(model)`` (validation accuracy, or minus a
    validation error); the first rate wins ties. The baseline-gets-its-best-chance rule of the recipes."""
    if len(lrs) == 0:
        raise ValueError("lrs must name at least one learning rate, got an empty sequence")
    best: LrChoice | None = None
    scores: dict[float, float] = {}
    for lr in lrs:
        model, result = train(lr)
        scores[lr] = score(model)
        if best is None or scores[lr] > best.score:
            best = LrChoice(scores[lr], lr, model, result, scores)
    assert best is not None
    return best


def summary_metrics(**models: tuple[nn.Module, FitResult, float]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, (model, result, err) in models.items():
        out[f"{key}_rel_l2"] = err
        out[f"{key}_params"] = count_parameters(model)
        out[f"{key}_train_seconds"] = result.seconds
        out[f"{key}_final_loss"] = result.final_loss
    return out


@dataclass
class FnoComparisonConfig:
    """What ``compare_with_fno_on_darcy`` reads: the Darcy data, the FNO baseline, the shared training budget.
    A recipe's config derives from it and adds its own operator's fields."""

    n_train: int = field(default=1000, metadata={"min": 1})
    n_test: int = field(default=200, metadata={"min": 1})
    resolution: int = field(default=64, metadata={"min": 3})
    fno_modes: int = field(default=12, metadata={"min": 1})
    fno_width: int = field(default=32, metadata={"min": 1})
    fno_layers: int = field(default=4, metadata={"min": 1})
    steps: int = field(default=5000, metadata={"min": 1})
    batch_size: int = field(default=20, metadata={"min": 1})
    lr: float = field(default=1e-3, metadata={"gt": 0.0})  # the compared operator's learning rate
    # the FNO baseline's own rate: the best of the sweeps at quick (32x32) and medium (64x64) size; at full size
    # it gives 0.0106 against 0.0120 at 1e-3 (the mgno / lsm full runs)
    fno_lr: float = field(default=1e-2, metadata={"gt": 0.0})
    weight_decay: float = field(default=1e-4, metadata={"min": 0.0})
    checkpoint_every: int = field(default=1000, metadata={"min": 0})


def compare_with_fno_on_darcy(cfg: Any, ctx: RunContext, name: str, build: Callable[[int], nn.Module],
                              widths: Sequence[int]) -> dict[str, Any]:
    """The mgno / lsm recipes' body: Darcy data, an FNO, the other operator at the width whose parameter count
    is closest to the FNO's, both trained alike (``train_operator``: same data, steps, batch, schedule), each at
    its own learning rate (``cfg.fno_lr`` for the FNO, ``cfg.lr`` for the other: a baseline trained at a rate
    chosen for the other model is not given its best chance), held-out errors, images.

    ``cfg``: a ``FnoComparisonConfig`` (or anything with its fields).
    """
    from ..data import darcy
    from ..operators import FNO

    train, test = darcy(cfg.n_train, cfg.n_test, cfg.resolution, seed=ctx.seed)
    torch.manual_seed(ctx.seed)
    fno = FNO((cfg.fno_modes, cfg.fno_modes), 1, 1, cfg.fno_width, cfg.fno_layers)
    width, _ = match_width(build, count_parameters(fno), widths)
    torch.manual_seed(ctx.seed)
    other = build(width)
    kw = dict(steps=cfg.steps, batch_size=cfg.batch_size, weight_decay=cfg.weight_decay,
              checkpoint_every=cfg.checkpoint_every)
    fno_model, fno_result = train_operator(fno, train, test, ctx, "fno", lr=cfg.fno_lr, **kw)
    other_model, other_result = train_operator(other, train, test, ctx, name, lr=cfg.lr, **kw)
    fno_err, other_err = rel_l2(fno_model, test, ctx.device), rel_l2(other_model, test, ctx.device)
    plot_samples(ctx, "fno", predict(fno_model, test[0], ctx.device), test[1])
    plot_samples(ctx, name, predict(other_model, test[0], ctx.device), test[1])
    ctx.plot_curves("test_error", {"FNO test rel. L2": fno_result.curve("test_rel_l2"),
                                   f"{name} test rel. L2": other_result.curve("test_rel_l2")},
                    ylabel="relative L2")
    out = summary_metrics(fno=(fno, fno_result, fno_err), **{name: (other, other_result, other_err)})
    out[f"{name}_width"] = width
    out["param_ratio"] = count_parameters(other) / count_parameters(fno)
    out["error_ratio"] = other_err / fno_err
    return out


class TensorsOnly(nn.Module):
    """Wraps a peer model whose ``state_dict`` carries non-tensor metadata (neuraloperator adds ``_metadata``)
    so that safetensors checkpoints work; forward is unchanged."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def state_dict(self, *args: Any, **kwargs: Any) -> Any:
        state = super().state_dict(*args, **kwargs)
        for key in [k for k, v in state.items() if not isinstance(v, torch.Tensor)]:
            del state[key]
        return state


def peer_fno(cfg: Any, in_channels: int = 1, out_channels: int = 1) -> nn.Module | None:
    """neuraloperator's FNO at the configuration of ``cfg`` (modes, width, layers, padding), or None if absent."""
    if not peer_available("neuralop"):
        return None
    from neuralop.models import FNO as PeerFNO

    modes = (cfg.modes,) * 2
    return TensorsOnly(PeerFNO(n_modes=modes, in_channels=in_channels, out_channels=out_channels,
                               hidden_channels=cfg.width, n_layers=cfg.layers, domain_padding=cfg.padding or None))
