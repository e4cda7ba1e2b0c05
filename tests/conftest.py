import os
from pathlib import Path

import pytest
import torch

try:
    import fcntl
except ImportError:  # not POSIX: each worker keeps its own runs
    fcntl = None

os.environ.setdefault("BASISKIT_PROGRESS", "0")
# Two pytest-xdist workers share 2 cores: one torch thread each.
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Generated data sets go to a per-session temporary cache, never the user's."""
    monkeypatch.setenv("BASISKIT_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def _shared_run_folder(tmp_path_factory) -> Path | None:
    """A folder every pytest-xdist worker of this run sees (None outside xdist): the parent of the workers'
    base temporary folders, unique to the run."""
    if not os.environ.get("PYTEST_XDIST_WORKER") or fcntl is None:
        return None
    folder = tmp_path_factory.getbasetemp().parent / "quick-runs"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory):
    """``quick_run(name)`` -> (run folder, metrics.json as a dict): each recipe's quick config runs once per
    ``make test-slow``, however many slow tests inspect it and whichever worker they land on. Under pytest-xdist
    the workers share the runs through a folder of the test run, one file lock per recipe (a second worker that
    asks for a recipe in progress waits for it instead of training it again); the ``xdist_group`` marks that
    once kept a recipe's tests on one worker no longer do with pytest 9.2 and xdist 3.8, whose group suffix on
    the node id pytest 9.2 ignores."""
    import json

    from basiskit.recipes import run_recipe

    runs: dict = {}
    shared = _shared_run_folder(tmp_path_factory)

    def train(name: str, out: Path) -> Path:
        result = run_recipe(name, quick=True, out=out, progress=False, verbose=False)
        assert result.status == "ok", result
        return result.run_dir

    def run(name: str):
        if name not in runs:
            if shared is None:
                run_dir = train(name, tmp_path_factory.mktemp("quick"))
            else:
                done = shared / f"{name}.done"
                with open(shared / f"{name}.lock", "w") as lock:
                    fcntl.flock(lock, fcntl.LOCK_EX)
                    try:
                        if done.is_file():
                            run_dir = Path(done.read_text())
                        else:
                            run_dir = train(name, shared / name)
                            done.write_text(str(run_dir))
                    finally:
                        fcntl.flock(lock, fcntl.LOCK_UN)
            runs[name] = (run_dir, json.loads((run_dir / "metrics.json").read_text()))
        return runs[name]

    return run
