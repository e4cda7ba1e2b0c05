"""``RunContext``: what a recipe (or a user's script) gets for one run.

It owns the run folder, the seed, the device, the per-step log (``log.csv``), progress bars and plot
saving. Only rank 0 writes files; other ranks get the same object with writing switched off.
"""
from __future__ import annotations

import csv
import os
import random
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from .._env import progress_enabled
from . import distributed as dist_utils

T = TypeVar("T")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class RunContext:
    """Run folder, seed, device, logging, progress and plots for one run.

    Args:
        run_dir: folder for this run's files (created on rank 0); None keeps everything in memory.
        seed: base seed; ``seed_everything`` is called on construction.
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        quick: whether the recipe runs at its quick size (recipes may use it for plot density etc.).
        resume: whether ``fit`` should continue from checkpoints found in ``run_dir/checkpoint``.
    """

    def __init__(self, run_dir: str | Path | None = None, *, seed: int = 0, device: str = "cpu",
                 quick: bool = False, resume: bool = False, progress: bool | None = None) -> None:
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.seed = int(seed)
        self.device = torch.device(device)
        self.quick = quick
        self.resume = resume
        self.rank = dist_utils.rank()
        self.world_size = dist_utils.world_size()
        self.is_main = self.rank == 0
        self.writes = self.is_main and self.run_dir is not None
        self._progress = progress_enabled() if progress is None else progress
        self._rows: list[dict[str, Any]] = []
        self._columns: list[str] = []
        if self.writes:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._load_existing_log()
        seed_everything(self.seed)

    # ---- randomness -------------------------------------------------------------------------
    def generator(self, offset: int = 0, device: str | torch.device = "cpu") -> torch.Generator:
        """A fresh ``torch.Generator`` seeded from the run seed plus ``offset`` (independent streams)."""
        g = torch.Generator(device=device)
        g.manual_seed(self.seed * 1_000_003 + offset)
        return g

    def rng(self, offset: int = 0) -> np.random.Generator:
        """A NumPy generator seeded from the run seed plus ``offset``."""
        return np.random.default_rng([self.seed, offset])

    # ---- files ------------------------------------------------------------------------------
    def path(self, name: str) -> Path | None:
        """``run_dir / name`` (parent folders created), or None when this rank does not write."""
        if not self.writes:
            return None
        p = self.run_dir / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    @property
    def checkpoint_dir(self) -> Path | None:
        return None if self.run_dir is None else self.run_dir / "checkpoint"

    # ---- per-step log -----------------------------------------------------------------------
    def log(self, **values: Any) -> None:
        """Append one row (e.g. ``phase="kan", step=10, loss=0.1``) to ``log.csv``."""
        row = {k: (float(v) if isinstance(v, (torch.Tensor, np.floating)) else v) for k, v in values.items()}
        self._rows.append(row)
        new = [k for k in row if k not in self._columns]
        self._columns.extend(new)
        if not self.writes:
            return
        path = self.run_dir / "log.csv"
        if new or not path.exists():
            self._rewrite_log(path)
        else:
            with open(path, "a", newline="") as f:
                csv.DictWriter(f, fieldnames=self._columns).writerow(row)

    def _rewrite_log(self, path: Path) -> None:
        tmp = path.with_suffix(".csv.tmp")
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self._columns)
            w.writeheader()
            w.writerows(self._rows)
        os.replace(tmp, path)

    def _load_existing_log(self) -> None:
        path = self.run_dir / "log.csv"
        if not path.exists():
            return
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            self._columns = list(reader.fieldnames or [])
            self._rows = [dict(r) for r in reader]

    def truncate_log(self, phase_key: str, phase: str, after_step: int) -> None:
        """Drop rows of ``phase`` logged after ``after_step`` (used when resuming from a checkpoint)."""
        def keep(r: dict[str, Any]) -> bool:
            return not (str(r.get(phase_key)) == phase and float(r.get("step", -1)) > after_step)

        self._rows = [r for r in self._rows if keep(r)]
        if self.writes and (self.run_dir / "log.csv").exists():
            self._rewrite_log(self.run_dir / "log.csv")

    @property
    def rows(self) -> list[dict[str, Any]]:
        return list(self._rows)

    # ---- progress and plots -----------------------------------------------------------------
    def progress(self, iterable: Iterable[T] | None = None, *, total: int | None = None, desc: str = "",
                 initial: int = 0) -> Iterator[T] | Any:
        """A tqdm bar on rank 0 (silent elsewhere or when progress is off)."""
        from tqdm.auto import tqdm

        return tqdm(iterable, total=total, desc=desc, initial=initial, leave=False, dynamic_ncols=True,
                    disable=not (self._progress and self.is_main), file=sys.stderr)

    def savefig(self, fig: Any, name: str) -> Path | None:
        """Save a matplotlib figure as ``run_dir/name.png`` (rank 0) and close it."""
        import matplotlib.pyplot as plt

        path = self.path(name if name.endswith(".png") else name + ".png")
        if path is not None:
            fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        return path

    def plot_curves(self, name: str, curves: dict[str, tuple[Any, Any]], **kwargs: Any) -> Path | None:
        """Line plot of named (x, y) curves; see ``basiskit.plotting.curves``."""
        from ..plotting import curves as make_curves

        return self.savefig(make_curves(curves, **kwargs), name)

    def plot_fields(self, name: str, fields: dict[str, Any], **kwargs: Any) -> Path | None:
        """Images (2-D) or lines (1-D) of named fields side by side; see ``basiskit.plotting.fields``."""
        from ..plotting import fields as make_fields

        return self.savefig(make_fields(fields, **kwargs), name)

    def __repr__(self) -> str:
        return (f"RunContext(run_dir={str(self.run_dir)!r}, seed={self.seed}, device={str(self.device)!r}, "
                f"quick={self.quick}, resume={self.resume}, rank={self.rank}/{self.world_size})")
