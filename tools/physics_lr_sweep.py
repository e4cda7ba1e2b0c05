"""Learning-rate sweep of the tanh-PINN baseline of a physics recipe (pig, lpinn, pinn-remedies).

A claim "ours <= baseline / 10" is only as good as the baseline, so the baseline's Adam learning rate is chosen by
this sweep at the recipe's quick size (or full size) and stored as the config default (``lr`` of ``pig``,
``pinn_lr`` of ``lpinn`` and ``pinn-remedies``). The baseline is built and trained by the recipe's own
``build_model`` / ``train_model`` (same points, same steps, same schedule as in the recipe); only its lr changes.
For each lr the table gives the final rel. L2, the best rel. L2 seen at the periodic evaluations and the relative
change of the loss over the last 10% of the steps (``loss_change_at_end``).

    PYTHONPATH=. OMP_NUM_THREADS=1 python tools/physics_lr_sweep.py lpinn --lrs 1e-4 3e-4 1e-3 3e-3 1e-2 --quick \\
        --out docs/runs/lpinn/lr_sweep/results.json
"""
from __future__ import annotations

import argparse
import importlib
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

from basiskit.physics import training_summary
from basiskit.recipes import get
from basiskit.train import RunContext

MODULES = {"pig": "basiskit.recipes.pig", "lpinn": "basiskit.recipes.lpinn",
           "pinn-remedies": "basiskit.recipes.pinn_remedies"}


def cpu_name() -> str:
    """The CPU model from lscpu (the platform string where lscpu is missing)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe", choices=sorted(MODULES))
    parser.add_argument("--lrs", type=float, nargs="+", required=True)
    parser.add_argument("--quick", action="store_true", help="the recipe's quick config (else its full config)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="config override, as for basiskit run (repeatable)")
    parser.add_argument("--out", type=Path, default=None, help="write the table as JSON here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    module = importlib.import_module(MODULES[args.recipe])
    overrides = dict(item.split("=", 1) for item in args.overrides)
    cfg = get(args.recipe).config(quick=args.quick, overrides=overrides)
    rows = []
    for lr in args.lrs:
        ctx = RunContext(seed=args.seed, progress=False)  # seeds torch as a run does; the recipe builds the
        model = module.build_model("pinn", cfg, ctx)       # baseline first, so this is the recipe's baseline
        t0 = time.process_time()
        history = module.train_model(model, "pinn", cfg, ctx, lr)
        figures, _ = training_summary("pinn", model, history)
        row = {"lr": lr, "rel_l2": figures["pinn_rel_l2"],
               "best_rel_l2_during_training": figures["pinn_best_rel_l2_during_training"],
               "loss_change_last10": figures["pinn_loss_change_last10"],
               "final_loss": next(r["loss"] for r in reversed(history) if "loss" in r),
               "cpu_seconds": time.process_time() - t0}
        rows.append(row)
        print(f"lr={lr:<8g} rel_l2={row['rel_l2']:.4g}  best={row['best_rel_l2_during_training']:.4g}  "
              f"loss_change_last10={row['loss_change_last10']:.3g}  final_loss={row['final_loss']:.4g}  "
              f"cpu={row['cpu_seconds']:.1f}s", flush=True)
    best = min(rows, key=lambda r: r["rel_l2"])
    print(f"best lr for {args.recipe} baseline: {best['lr']:g} (rel. L2 {best['rel_l2']:.4g})")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        record = {"recipe": args.recipe, "size": "quick" if args.quick else "full", "overrides": overrides,
                  "seed": args.seed,
                  "command": " ".join([Path(sys.executable).name, *sys.argv]),
                  "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpu": cpu_name(),
                  "threads": torch.get_num_threads(), "best_lr": best["lr"], "rows": rows}
        args.out.write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
