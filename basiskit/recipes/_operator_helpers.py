"""Pieces every operator recipe shares: data scaling (external, or as buffers of a ``Normalized`` wrapper),
evaluation, parameter matching, training with a relative L2 loss, prediction / truth / error images, and the
neuraloperator peer model."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from ..losses import relative_lp
from ..nn.params import count_parameters
from ..train import FitResult, RunContext, fit

Pair = tuple[torch.Tensor, torch.Tensor]


def scale_pairs(train: Pair, *tests: Pair) -> tuple[Pair, ...]:
    """Standardise inputs with the training mean/std and divide targets by the training target std.

    Dividing targets by one number leaves every relative error unchanged, so errors reported on the scaled
    targets are the errors on the original data.
    """
    x_mean, x_std = train[0].mean(), train[0].std().clamp_min(1e-12)
    y_std = train[1].std().clamp_min(1e-12)
    return tuple(((x - x_mean) / x_std, y / y_std) for x, y in (train, *tests))


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, device: torch.device, batch_size: int = 32) -> torch.Tensor:
    was = model.training
    model.train(False)
    out = torch.cat([model(x[i:i + batch_size].to(device)).cpu() for i in range(0, x.shape[0], batch_size)])
    model.train(was)
    return out


def rel_l2(model: nn.Module, data: Pair, device: torch.device) -> float:
    """Mean over samples of the relative L2 error on held-out ``data``."""
    return float(relative_lp(predict(model, data[0], device), data[1]))


def match_width(build: Callable[[int], nn.Module], target: int, widths: range) -> tuple[int, int]:
    """The width in ``widths`` whose model's parameter count is closest to ``target``: (width, count).

    Counts are computed by building the models; they grow with the width, so a bisection finds the first width
    at or above the target and the one below it is compared too.
    """
    counts: dict[int, int] = {}

    def count(w: int) -> int:
        if w not in counts:
            counts[w] = count_parameters(build(w))
        return counts[w]

    lo, hi = 0, len(widths) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if count(widths[mid]) < target:
            lo = mid + 1
        else:
            hi = mid
    options = [widths[i] for i in (lo - 1, lo) if 0 <= i < len(widths)]
    best = min(options, key=lambda w: abs(count(w) - target))
    return best, count(best)


def train_operator(model: nn.Module, train: Pair, test: Pair, ctx: RunContext, name: str, *, steps: int,
                   batch_size: int, lr: float, checkpoint_every: int = 0,
                   loss_fn: Callable[..., torch.Tensor] = relative_lp, eval_model: nn.Module | None = None
                   ) -> FitResult:
    """Adam + cosine decay on the relative L2 loss; test error of ``eval_model`` (default: ``model``, which
    may be a view of it, e.g. one that outputs modes) logged ten times."""
    target = model if eval_model is None else eval_model
    return fit(model, loss_fn, train, steps=steps, batch_size=batch_size, lr=lr, scheduler="cosine",
               weight_decay=1e-4, ctx=ctx, name=name, checkpoint_every=checkpoint_every,
               eval_fn=lambda m: {"test_rel_l2": rel_l2(target, test, ctx.device)}, eval_every=max(1, steps // 10))


def plot_samples(ctx: RunContext, name: str, pred: torch.Tensor, truth: torch.Tensor, n: int = 3,
                 channel: int = 0, inputs: torch.Tensor | None = None, input_label: str = "input") -> None:
    """One row of panels per test sample: [input,] prediction, truth, |error| (images for 2-D fields, lines
    for 1-D ones)."""
    for i in range(min(n, pred.shape[0])):
        p, t = pred[i, channel], truth[i, channel]
        panels = {input_label: inputs[i, 0]} if inputs is not None else {}
        panels.update({f"{name} prediction": p, "truth": t, "|error|": (p - t).abs()})
        ctx.plot_fields(f"{name}_sample{i}", panels, extent=(0, 1, 0, 1))


def summary_metrics(**models: tuple[nn.Module, FitResult, float]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, (model, result, err) in models.items():
        out[f"{key}_rel_l2"] = err
        out[f"{key}_params"] = count_parameters(model)
        out[f"{key}_train_seconds"] = result.seconds
        out[f"{key}_final_loss"] = result.final_loss
    return out


def compare_with_fno_on_darcy(cfg: Any, ctx: RunContext, name: str, build: Callable[[int], nn.Module],
                              widths: Iterable[int]) -> dict[str, Any]:
    """The mgno / lsm recipes' body: Darcy data, an FNO, the other operator at the width whose parameter count
    is closest to the FNO's, both trained alike, held-out errors, images.

    ``cfg`` needs n_train, n_test, resolution, fno_modes, fno_width, fno_layers, steps, batch_size, lr,
    checkpoint_every.
    """
    from ..data import darcy
    from ..operators import FNO

    train, test = darcy(cfg.n_train, cfg.n_test, cfg.resolution, seed=ctx.seed)
    train, test = scale_pairs(train, test)
    torch.manual_seed(ctx.seed)
    fno = FNO((cfg.fno_modes, cfg.fno_modes), 1, 1, cfg.fno_width, cfg.fno_layers)
    width, _ = match_width(build, count_parameters(fno), widths)
    torch.manual_seed(ctx.seed)
    other = build(width)
    kw = dict(steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr, checkpoint_every=cfg.checkpoint_every)
    fno_result = train_operator(fno, train, test, ctx, "fno", **kw)
    other_result = train_operator(other, train, test, ctx, name, **kw)
    fno_err, other_err = rel_l2(fno, test, ctx.device), rel_l2(other, test, ctx.device)
    plot_samples(ctx, "fno", predict(fno, test[0], ctx.device), test[1])
    plot_samples(ctx, name, predict(other, test[0], ctx.device), test[1])
    ctx.plot_curves("test_error", {"FNO test rel. L2": fno_result.curve("test_rel_l2"),
                                   f"{name} test rel. L2": other_result.curve("test_rel_l2")},
                    ylabel="relative L2")
    out = summary_metrics(fno=(fno, fno_result, fno_err), **{name: (other, other_result, other_err)})
    out[f"{name}_width"] = width
    out["param_ratio"] = count_parameters(other) / count_parameters(fno)
    out["error_ratio"] = other_err / fno_err
    return out


class Normalized(nn.Module):
    """``model`` applied to standardised inputs, its output rescaled: u = s_y * model((a - m_x) / s_x) + m_y.

    The statistics are buffers (saved with the weights); x: (b, c, *grid) as for ``model``.
    """

    def __init__(self, model: nn.Module, x_train: torch.Tensor, y_train: torch.Tensor) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("x_mean", x_train.mean().reshape(1))
        self.register_buffer("x_std", x_train.std().clamp_min(1e-12).reshape(1))
        self.register_buffer("y_mean", y_train.mean().reshape(1))
        self.register_buffer("y_std", y_train.std().clamp_min(1e-12).reshape(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model((x - self.x_mean) / self.x_std) * self.y_std + self.y_mean


def train_normalized(model: nn.Module, train: Pair, test: Pair, ctx: RunContext, name: str, *, steps: int,
                     batch_size: int, lr: float, weight_decay: float = 0.0) -> tuple[nn.Module, FitResult]:
    """Wrap ``model`` with the data's normalisation and train it on the relative L2 loss (AdamW, cosine); the
    error on the first 64 test samples is logged ten times. Returns (normalised model, FitResult)."""
    wrapped = Normalized(model, *train)
    probe = (test[0][:64], test[1][:64])
    result = fit(wrapped, relative_lp, train, steps=steps, batch_size=batch_size, optimizer="adamw", lr=lr,
                 weight_decay=weight_decay, scheduler="cosine", ctx=ctx, name=name,
                 eval_fn=lambda m: {"test_rel_l2": rel_l2(m, probe, ctx.device)}, eval_every=max(1, steps // 10))
    return wrapped, result


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
    from ..bench import peer_available

    if not peer_available("neuralop"):
        return None
    from neuralop.models import FNO as PeerFNO

    modes = (cfg.modes,) * 2
    return TensorsOnly(PeerFNO(n_modes=modes, in_channels=in_channels, out_channels=out_channels,
                               hidden_channels=cfg.width, n_layers=cfg.layers, domain_padding=cfg.padding or None))
