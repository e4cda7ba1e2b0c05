import os

import pytest
import torch

os.environ.setdefault("BASISKIT_PROGRESS", "0")
# Two pytest-xdist workers share 2 cores: one torch thread each.
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Generated data sets go to a per-session temporary cache, never the user's."""
    monkeypatch.setenv("BASISKIT_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory):
    """``quick_run(name)`` -> (run folder, metrics.json as a dict): each recipe's quick config runs once per test
    process, however many slow tests inspect it (tests of one recipe share an ``xdist_group`` named after it, and
    ``make test-slow`` distributes by group, so they meet in one process)."""
    import json

    from basiskit.recipes import run_recipe

    runs: dict = {}

    def run(name: str):
        if name not in runs:
            result = run_recipe(name, quick=True, out=tmp_path_factory.mktemp("quick"), progress=False, verbose=False)
            assert result.status == "ok", result
            runs[name] = (result.run_dir, json.loads((result.run_dir / "metrics.json").read_text()))
        return runs[name]

    return run
