"""Keep a run's figures in the docs: ``python tools/record_run.py RUN_DIR [RUN_DIR ...] [--docs docs/runs]``.

Copies ``metrics.json`` and ``config.yaml`` of each ``basiskit run`` folder to ``docs/runs/RECIPE/SIZE/``
(SIZE is ``quick`` or ``full``, read from the run) and writes ``command.txt``: the command that repeats the
run (``--set`` only for the fields that differ from the recipe's default at that size), the machine it ran
on and its wall time. The docs' paper / quick / full tables (tools/docs_pages.py ``results_table``) read
these folders, so each figure in the docs can be re-checked with the command beside it.

A full configuration that was not run gets ``docs/runs/RECIPE/full/not-run.txt`` with the reason instead
(``--not-run RECIPE "reason"``).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _setting(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return ",".join(_setting(x) for x in v)
    return str(v)


def repeat_command(record: dict[str, Any]) -> str:
    """``basiskit run NAME [--quick] [--seed S] [--threads T] [--set k=v ...]`` for a run's config.yaml record."""
    from basiskit.recipes.core import RECIPES, config_to_dict

    name, quick, seed = record["recipe"], bool(record["quick"]), int(record.get("seed", 0))
    default = config_to_dict(RECIPES.get(name).config(quick=quick))
    parts = ["basiskit run", name] + (["--quick"] if quick else []) + ([f"--seed {seed}"] if seed else [])
    threads = (record.get("machine") or {}).get("threads")
    if threads:  # the thread count is part of what makes a run repeat bit for bit
        parts.append(f"--threads {int(threads)}")
    for key, value in record["config"].items():
        if key in default and default[key] != value:
            parts.append(f"--set {key}={_setting(value)}")
    return " ".join(parts)


def record(run_dir: Path, docs: Path) -> Path:
    """Copy one run folder's figures into ``docs/RECIPE/SIZE``; returns that folder."""
    metrics_path, config_path = run_dir / "metrics.json", run_dir / "config.yaml"
    if not metrics_path.is_file() or not config_path.is_file():
        raise SystemExit(f"record_run: {run_dir} is not a finished run folder (needs metrics.json and config.yaml)")
    metrics = json.loads(metrics_path.read_text())
    config = yaml.safe_load(config_path.read_text())
    if metrics.get("status") != "ok":
        raise SystemExit(f"record_run: {run_dir} ended with status {metrics.get('status')!r}; record a finished run")
    size = "quick" if metrics.get("quick") else "full"
    target = docs / metrics["recipe"] / size
    target.mkdir(parents=True, exist_ok=True)
    (target / "not-run.txt").unlink(missing_ok=True)
    shutil.copyfile(metrics_path, target / "metrics.json")
    shutil.copyfile(config_path, target / "config.yaml")
    where = metrics.get("machine") or config.get("machine") or {}
    machine = (f"{where.get('cpu', 'unknown CPU')}, {where.get('threads', '?')} threads"
               if where else "machine not recorded (run made before basiskit recorded it)")
    cpu = "" if metrics.get("cpu_seconds") is None else f" ({metrics['cpu_seconds']:.0f} s CPU)"
    load = "" if metrics.get("load_average") is None else f", load average {metrics['load_average']:.1f} at the end"
    (target / "command.txt").write_text(
        f"{repeat_command(config)}\n"
        f"# finished {metrics.get('finished', '?')} in {metrics.get('seconds', float('nan')):.0f} s wall{cpu} "
        f"on {machine}{load}; basiskit {config.get('basiskit', '?')}, torch {config.get('torch', '?')}\n")
    return target


def not_run(name: str, reason: str, docs: Path) -> Path:
    from basiskit.recipes.core import RECIPES

    RECIPES.get(name)  # unknown names fail with the registry's close-match message
    target = docs / name / "full"
    target.mkdir(parents=True, exist_ok=True)
    (target / "not-run.txt").write_text(reason.strip() + "\n")
    return target


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(ROOT))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", type=Path, help="run folders (runs/RECIPE/TIMESTAMP)")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs" / "runs")
    parser.add_argument("--not-run", nargs=2, metavar=("RECIPE", "REASON"), action="append", default=[])
    args = parser.parse_args(argv)
    for run_dir in args.runs:
        print(record(run_dir, args.docs))
    for name, reason in args.not_run:
        print(not_run(name, reason, args.docs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
