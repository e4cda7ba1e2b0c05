"""Figures recipes save: learning curves and field images. Matplotlib with the Agg backend."""
from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import NullFormatter  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402


def _np(a: Any) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().float().cpu().numpy()
    return np.asarray(a)


def _label_few_x(ax: plt.Axes, data: dict[str, tuple[Any, Any]]) -> None:
    """On a log x axis with a few positive x values (grid sizes, widths), ticks at those values labelled as
    plain numbers (``20``, not ``2 x 10^1``), the minor labels dropped."""
    xs = sorted({float(v) for x, _ in data.values() for v in np.ravel(_np(x))})
    if 0 < len(xs) <= 12 and xs[0] > 0:
        ax.set_xticks(xs, [f"{v:g}" for v in xs])
        ax.xaxis.set_minor_formatter(NullFormatter())


def curves(data: dict[str, tuple[Any, Any]], *, xlabel: str = "step", ylabel: str = "loss", logx: bool = False,
           logy: bool = True, title: str = "", markers: bool = False) -> plt.Figure:
    """One axis with a line per named ``(x, y)`` pair."""
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for label, (x, y) in data.items():
        ax.plot(_np(x), _np(y), marker="o" if markers else None, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logx:
        ax.set_xscale("log")
        _label_few_x(ax, data)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    if len(data) > 1:
        ax.legend()
    fig.tight_layout()
    return fig


def fields(data: dict[str, Any], *, extent: tuple[float, float, float, float] | None = None,
           title: str = "", cmap: str = "viridis", shared_scale: bool = False) -> plt.Figure:
    """Panels side by side: 2-D arrays as images, 1-D arrays as lines (all lines in one row)."""
    items = [(k, _np(v).squeeze()) for k, v in data.items()]
    fig, axes = plt.subplots(1, len(items), figsize=(3.6 * len(items), 3.2), squeeze=False)
    finite = [a for _, a in items if a.ndim == 2]
    vmin = min(float(a.min()) for a in finite) if (shared_scale and finite) else None
    vmax = max(float(a.max()) for a in finite) if (shared_scale and finite) else None
    for ax, (label, arr) in zip(axes[0], items):
        if arr.ndim == 2:
            im = ax.imshow(arr.T, origin="lower", extent=extent, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
            fig.colorbar(im, ax=ax, fraction=0.046)
        elif arr.ndim == 1:
            ax.plot(arr)
        else:
            raise ValueError(f"fields: panel {label!r} must be 1-D or 2-D after squeeze, got shape {arr.shape}")
        ax.set_title(label)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
