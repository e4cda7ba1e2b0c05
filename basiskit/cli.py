"""The ``basiskit`` command line: list, run, bench, report.

A mistake in what was asked for is a ``basiskit.UsageError``, raised where it is detected (the registries,
the recipe config checks, the runner); ``main`` prints it as one line on stderr and returns exit code 2.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any, NoReturn

from ._validation import UsageError, unknown_name_message

__all__ = ["REGISTRIES", "UsageError", "build_parser", "main", "papers_markdown"]

# kind -> "module:REGISTRY". A family's registry is listed here once the family exists in the package.
REGISTRIES = {
    "models": "basiskit.models:MODELS",
    "operators": "basiskit.operators:OPERATORS",
    "bases": "basiskit.bases:BASES",
    "recipes": "basiskit.recipes.core:RECIPES",
    "problems": "basiskit.physics.problems:PROBLEMS",
    "datasets": "basiskit.data:DATASETS",
    "suites": "basiskit.bench:SUITES",
}


def _registry(kind: str) -> Any:
    """The registry object of ``kind``; an import failure of its module surfaces as it is."""
    module, attr = REGISTRIES[kind].split(":")
    return getattr(importlib.import_module(module), attr)


def _parse_sets(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        if "=" not in item:
            raise UsageError(f"--set expects key=value, got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def cmd_list(args: argparse.Namespace) -> int:
    kinds = [args.kind] if args.kind else list(REGISTRIES)
    if args.markdown:
        if args.kind not in (None, "recipes"):
            raise UsageError("--markdown is available for 'list recipes' (the README's paper table)")
        print(papers_markdown(Path(args.runs) if args.runs else None))
        return 0
    for kind in kinds:
        entries = _registry(kind).entries()
        if len(kinds) > 1:
            print(f"{kind} ({len(entries)})")
        if not entries:
            print("  (none yet)")
        width = max((len(e.name) for e in entries), default=0)
        for e in entries:
            tour = "  [tour]" if kind == "recipes" and getattr(e.obj, "tour", False) else ""
            print(f"  {e.name.ljust(width)}  {e.summary}{tour}")
    return 0


def papers_markdown(runs: Path | None) -> str:
    """The README's paper table: each paper's recipes and their claim status (from ``runs`` if given)."""
    from .papers import PAPERS, recipe_status
    from .recipes.core import RECIPES
    from .report import markdown_table

    registered = set(RECIPES.names())
    rows = []
    for paper in PAPERS:
        if not paper.recipes:
            rows.append([paper.id, paper.title, paper.family, "-", paper.where or "not yet"])
            continue
        statuses = [recipe_status(runs, r, registered) for r in paper.recipes]
        status = (statuses[0] if len(set(statuses)) == 1
                  else "; ".join(f"{r}: {s}" for r, s in zip(paper.recipes, statuses)))
        rows.append([paper.id, paper.title, paper.family,
                     ", ".join(f"`{r}`" if r in registered else r for r in paper.recipes), status])
    extra = sorted(registered - {r for p in PAPERS for r in p.recipes})
    for name in extra:
        spec = RECIPES.get(name)
        rows.append(["-", spec.paper, "-", f"`{name}`", recipe_status(runs, name, registered)])
    return markdown_table(["#", "paper", "family", "recipes", "status"], rows)


def cmd_run(args: argparse.Namespace) -> int:
    from .recipes.core import RECIPES
    from .recipes.runner import check_device, run_recipe, run_tour

    check_device(args.device)
    progress = False if args.no_progress else None
    if args.recipe == "tour":
        if args.set or args.resume:
            raise UsageError("'run tour' takes no --set or --resume; run a single recipe for that")
        only = [s for s in args.only.split(",") if s] if args.only else None
        for name in only or []:
            RECIPES.get(name)
        results = run_tour(out=args.out, device=args.device, seed=args.seed, only=only, progress=progress,
                           threads=args.threads)
        return 1 if any(r.status != "ok" for r in results) else 0
    if args.recipe not in RECIPES:  # the CLI adds 'tour' to the recipes it accepts
        raise UsageError(unknown_name_message("recipe", args.recipe, [*RECIPES.names(), "tour"]))
    if args.only:
        raise UsageError("--only selects recipes of 'run tour'; it does not apply to a single recipe")
    result = run_recipe(args.recipe, quick=args.quick, overrides=_parse_sets(args.set), device=args.device,
                        seed=args.seed, out=args.out, resume=args.resume, progress=progress, threads=args.threads)
    return 0 if result.status == "ok" else 1


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import SUITES, set_threads
    from .recipes.runner import check_device

    suite = SUITES.get(args.suite)
    device = check_device(args.device)
    set_threads(args.threads)
    result = suite(quick=args.quick, device=device)
    text = result.to_markdown()
    print(text)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"suite": result.suite, "columns": result.columns, "rows": result.rows,
                                   "targets": result.targets, "notes": result.notes}, indent=2, default=str))
        out.with_suffix(".md").write_text(text + "\n")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    md, page = write_report(args.dir)
    print(f"wrote {md}\nwrote {page}")
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse with its errors in the CLI's one-line form (``basiskit: error: ...``, exit code 2)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = _Parser(prog="basiskit", description="Learning functions, fields and operators with the "
                                "right basis: KANs, neural operators, physics-informed solvers.")
    p.add_argument("--version", action="version", version=f"basiskit {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="{list,run,bench,report}")

    pl = sub.add_parser("list", help="what exists, one line each")
    pl.add_argument("kind", nargs="?", choices=list(REGISTRIES))
    pl.add_argument("--markdown", action="store_true", help="the paper table (with 'recipes') as Markdown")
    pl.add_argument("--runs", default=None, help="with --markdown: read claim status from this runs folder")
    pl.set_defaults(func=cmd_list)

    pr = sub.add_parser("run", help="train and evaluate a recipe (or 'tour')")
    pr.add_argument("recipe")
    pr.add_argument("--quick", action="store_true", help="the recipe's quick size (about a minute on 2 CPU cores)")
    pr.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config field")
    pr.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N")
    pr.add_argument("--seed", type=int, default=0)
    pr.add_argument("--out", default="runs", help="output folder (default: runs)")
    pr.add_argument("--resume", action="store_true", help="continue the newest run of this recipe")
    pr.add_argument("--only", default=None, help="with 'tour': comma-separated recipes to run")
    pr.add_argument("--no-progress", action="store_true", help="no progress bars")
    pr.add_argument("--threads", type=_positive_int, default=None,
                    help="torch threads for the run (default: torch's; a resumed run reuses its saved count)")
    pr.set_defaults(func=cmd_run)

    pb = sub.add_parser("bench", help="speed and memory, as ratios against a baseline in the same process")
    pb.add_argument("suite")
    pb.add_argument("--quick", action="store_true", help="fewer sizes and repeats")
    pb.add_argument("--device", default="cpu")
    pb.add_argument("--threads", type=_positive_int, default=None, help="torch threads (default: torch's)")
    pb.add_argument("--out", default=None, help="write the table as JSON (and .md beside it)")
    pb.set_defaults(func=cmd_bench)

    pp = sub.add_parser("report", help="Markdown + self-contained HTML over all runs in DIR")
    pp.add_argument("dir", nargs="?", default="runs")
    pp.set_defaults(func=cmd_report)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (2 for a ``UsageError``, printed as one line)."""
    try:
        args = build_parser().parse_args(argv)
    except UsageError as e:
        return _usage_error(e)
    except SystemExit as e:  # --help, --version
        return e.code if isinstance(e.code, int) else 0
    try:
        return int(args.func(args) or 0)
    except UsageError as e:
        return _usage_error(e)
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("basiskit: interrupted; resume with --resume", file=sys.stderr)
        return 130
    finally:
        from .train import distributed as dist_utils

        dist_utils.shutdown()


def _usage_error(e: UsageError) -> int:
    print("basiskit: error: " + " ".join(str(e).split()), file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
