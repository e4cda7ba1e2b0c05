"""``basiskit bench operators``: our FNO and TFNO against neuraloperator's at the same configuration.

2-D grid 64x64, width 32, 12 modes, 4 layers, batch 16 (one input and one output channel, positional grid
channels, neuraloperator's default block layout). Reported per model: parameter counts (target: equal),
forward+backward seconds of one relative-L2 training step and its ratio ours / neuraloperator (target <= 1.0),
and the bytes autograd keeps for backward. Timings are interleaved, after warm-up, median of repeats, in one
process. A missing ``neuralop`` gives skipped rows with a note.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from . import register_suite
from ..measure import compare, count_parameters, kept_for_backward_bytes, peer_available, train_step
from .timing import BenchResult

CONFIG = {"grid": (64, 64), "width": 32, "modes": 12, "layers": 4, "batch": 16}


def _step(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> Callable[[], torch.Tensor]:
    """Forward and backward of the relative-L2 loss on (x, y) (no optimizer step)."""
    from ..losses import relative_lp

    return train_step(lambda: relative_lp(model(x), y), model)


@register_suite("operators")
def suite(quick: bool = False, device: str = "cpu") -> BenchResult:
    """Our FNO / TFNO vs neuraloperator's: parameters, fwd+bwd time ratio, saved-for-backward memory."""
    from ..operators import FNO, TFNO

    cfg = CONFIG
    result = BenchResult("operators", ["model", "params (ours)", "params (neuralop)", "fwd+bwd s (ours)",
                                       "fwd+bwd s (neuralop)", "time ratio", "saved MB (ours)",
                                       "saved MB (neuralop)"])
    result.notes.append(f"2-D {cfg['grid'][0]}x{cfg['grid'][1]}, width {cfg['width']}, {cfg['modes']} modes, "
                        f"{cfg['layers']} layers, batch {cfg['batch']}, device {device}, "
                        f"torch threads {torch.get_num_threads()}; time ratio = ours / neuralop "
                        "(interleaved, median)")
    g = torch.Generator().manual_seed(0)
    x = torch.randn(cfg["batch"], 1, *cfg["grid"], generator=g).to(device)
    y = torch.randn(cfg["batch"], 1, *cfg["grid"], generator=g).to(device)
    modes = (cfg["modes"],) * 2
    ours = {"FNO": FNO(modes, 1, 1, cfg["width"], cfg["layers"]),
            "TFNO (Tucker, rank 0.1)": TFNO(modes, 1, 1, cfg["width"], cfg["layers"], factorization="tucker",
                                             rank=0.1)}
    have_peer = peer_available("neuralop")
    if not have_peer:
        result.notes.append("neuraloperator (neuralop) is not installed: peer columns skipped")
    for name, model in ours.items():
        model.to(device)
        row: dict[str, Any] = {"model": name, "params (ours)": count_parameters(model)}
        cases = {"ours": _step(model, x, y)}
        peer = None
        if have_peer:
            from neuralop.models import FNO as PeerFNO
            from neuralop.models import TFNO as PeerTFNO

            kw = {"n_modes": modes, "in_channels": 1, "out_channels": 1, "hidden_channels": cfg["width"],
                  "n_layers": cfg["layers"]}
            peer = (PeerFNO(**kw) if name == "FNO" else PeerTFNO(**kw, factorization="tucker", rank=0.1)).to(device)
            row["params (neuralop)"] = count_parameters(peer)
            cases["neuralop"] = _step(peer, x, y)
        timing = compare(cases, "neuralop" if peer is not None else "ours", warmup=2 if quick else 3,
                         repeats=5 if quick else 15, device=device)
        row["fwd+bwd s (ours)"] = timing["ours"]["seconds"]
        row["saved MB (ours)"] = kept_for_backward_bytes(lambda: model(x)) / 2 ** 20
        if peer is not None:
            row["fwd+bwd s (neuralop)"] = timing["neuralop"]["seconds"]
            row["time ratio"] = timing["ours"]["ratio"]
            row["saved MB (neuralop)"] = kept_for_backward_bytes(lambda: peer(x)) / 2 ** 20
            result.add_target(f"{name} fwd+bwd time ours/neuralop", timing["ours"]["ratio"], "<=", 1.0)
            result.add_target(f"{name} |params ours - neuralop|",
                              float(abs(row["params (ours)"] - row["params (neuralop)"])), "<=", 0.0)
        else:
            row["time ratio"] = None
        result.rows.append(row)
    return result
