"""fno-darcy: FNO learns the 2-D Darcy flow map a -> u (Li et al. 2020, Fourier Neural Operator, sec. 5.2).

Data: ``basiskit.data.darcy`` (piecewise-constant coefficients 12/3 from a thresholded GRF, solved by finite
differences on a grid twice as fine and subsampled). Model: ``FNO`` with zero padding (the problem is not
periodic), trained on the relative L2 loss. ``--set peer=true`` also trains neuraloperator's FNO at the same
configuration, on the same samples, with the same optimiser, schedule, batch size and number of steps (the
mini-batch order follows each run's name), and compares.

The helpers below (normalisation, training, evaluation, sample plots) are shared by the other operator recipes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..data import darcy
from ..losses import relative_lp
from ..operators import FNO
from ..operators.common import count_parameters
from ..train import RunContext, fit
from .core import Claim, recipe


@dataclass
class FnoDarcyConfig:
    n_train: int = 1000
    n_test: int = 200
    resolution: int = 64
    modes: int = 12
    width: int = 32
    layers: int = 4
    padding: float = 0.125
    steps: int = 10000
    batch_size: int = 16
    lr: float = 2e-3
    weight_decay: float = 1e-4
    peer: bool = False
    workers: int = 1


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


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, device: torch.device, batch: int = 64) -> torch.Tensor:
    """Model outputs for ``x`` in batches, on the CPU."""
    model.eval()
    return torch.cat([model(x[i:i + batch].to(device)).cpu() for i in range(0, x.shape[0], batch)])


def rel_l2(model: nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device) -> float:
    """Mean over samples of the relative L2 error on held-out data."""
    return float(relative_lp(predict(model, x, device), y))


def train_operator(model: nn.Module, train: tuple[torch.Tensor, torch.Tensor], test: tuple[torch.Tensor, torch.Tensor],
                   ctx: RunContext, name: str, *, steps: int, batch_size: int, lr: float, weight_decay: float = 0.0
                   ) -> tuple[nn.Module, Any]:
    """Wrap ``model`` with the data's normalisation and train it on the relative L2 loss (AdamW, cosine);
    the test error is logged ten times. Returns (normalised model, FitResult)."""
    wrapped = Normalized(model, *train)
    n_eval = min(64, test[0].shape[0])
    result = fit(wrapped, relative_lp, train, steps=steps, batch_size=batch_size, optimizer="adamw", lr=lr,
                 weight_decay=weight_decay, scheduler="cosine", ctx=ctx, name=name,
                 eval_fn=lambda m: {"test_rel_l2": rel_l2(m, test[0][:n_eval], test[1][:n_eval], ctx.device)},
                 eval_every=max(1, steps // 10))
    return wrapped, result


def plot_samples(ctx: RunContext, name: str, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                 n: int = 3, input_label: str = "input") -> None:
    """Input / prediction / truth / |error| images (or lines) for the first ``n`` test samples."""
    pred = predict(model, x[:n], ctx.device)
    for i in range(min(n, x.shape[0])):
        ctx.plot_fields(f"{name}_sample{i}", {input_label: x[i, 0], "prediction": pred[i, 0], "truth": y[i, 0],
                                              "|error|": (pred[i, 0] - y[i, 0]).abs()})


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


def _claims(cfg: FnoDarcyConfig) -> list[Claim]:
    claims = [Claim("rel_l2", "<", 5e-2, note="held-out relative L2 (FNO paper: ~1e-2 at 85x85, 1000 samples)")]
    if cfg.peer:
        claims.append(Claim("rel_l2", "<=", "peer_rel_l2", scale=1.1,
                            note="within 10% of neuraloperator's FNO trained the same way on the same samples"))
    return claims


@recipe("fno-darcy", paper="Li et al. 2020, Fourier Neural Operator for Parametric PDEs",
        summary="FNO on 2-D Darcy flow (coefficient -> pressure), held-out relative L2",
        config=FnoDarcyConfig, claims=_claims, tour=True,
        quick={"n_train": 200, "n_test": 50, "resolution": 32, "modes": 8, "width": 16, "steps": 600,
               "batch_size": 10, "lr": 3e-3})
def run(cfg: FnoDarcyConfig, ctx: RunContext) -> dict:
    train, test = darcy(cfg.n_train, cfg.n_test, resolution=cfg.resolution, seed=ctx.seed, workers=cfg.workers)
    metrics: dict[str, Any] = {}
    torch.manual_seed(ctx.seed)
    fno = FNO((cfg.modes, cfg.modes), 1, 1, cfg.width, cfg.layers, padding=cfg.padding)
    model, result = train_operator(fno, train, test, ctx, "fno", steps=cfg.steps, batch_size=cfg.batch_size,
                                   lr=cfg.lr, weight_decay=cfg.weight_decay)
    metrics["rel_l2"] = rel_l2(model, *test, ctx.device)
    metrics["train_rel_l2"] = result.final_loss
    metrics["n_params"] = count_parameters(fno)
    metrics["train_seconds"] = result.seconds
    curves: dict[str, Any] = {"FNO train": result.curve("loss"), "FNO test": result.curve("test_rel_l2")}
    if cfg.peer:
        torch.manual_seed(ctx.seed)
        peer = peer_fno(cfg)
        if peer is None:
            metrics["peer_skipped"] = "neuraloperator (neuralop) is not installed"
        else:
            peer_model, peer_result = train_operator(peer, train, test, ctx, "neuralop_fno", steps=cfg.steps,
                                                     batch_size=cfg.batch_size, lr=cfg.lr,
                                                     weight_decay=cfg.weight_decay)
            metrics["peer_rel_l2"] = rel_l2(peer_model, *test, ctx.device)
            metrics["peer_n_params"] = count_parameters(peer)
            metrics["peer_train_seconds"] = peer_result.seconds
            curves.update({"neuralop train": peer_result.curve("loss"),
                           "neuralop test": peer_result.curve("test_rel_l2")})
    ctx.plot_curves("learning_curve", curves, ylabel="relative L2")
    plot_samples(ctx, "darcy", model, *test, input_label="coefficient a")
    return metrics

