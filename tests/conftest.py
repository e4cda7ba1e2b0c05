import json
import os
from pathlib import Path

import pytest
import torch

try:
    import fcntl
except ImportError:  # not POSIX: each worker keeps its own runs
    fcntl = None
try:  # pytest >= 9.2 keeps the node id as a structured NodeId
    from _pytest.nodeid import NodeId
except ImportError:  # older pytest reads item._nodeid, where xdist writes its group suffix
    NodeId = None

os.environ.setdefault("BASISKIT_PROGRESS", "0")
# Two pytest-xdist workers share 2 cores: one torch thread each.
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)


# ---- scheduling the slow set under pytest-xdist --------------------------------------------------------------
# `make test-slow` runs about 45 CPU-minutes of recipes on two workers. Two things keep both workers busy:
# 1. a recipe's slow tests share one quick run (the `quick_run` fixture), so they go to one worker as a group
#    (xdist's `--dist loadgroup` with the `xdist_group` mark); otherwise the second worker to ask for a run in
#    progress sits idle until the first finishes it;
# 2. the work units start longest first (`tests/slow_durations.json`, seconds per test as measured by a run of
#    the slow set; unknown tests count 0 and keep their collection order), so the longest recipe does not start
#    last. Refresh the file with `make slow-durations` after adding or resizing a recipe.
DURATIONS = Path(__file__).with_name("slow_durations.json")


def pytest_addoption(parser):
    parser.addoption("--durations-file", default=None, metavar="PATH",
                     help="write each test's setup + call + teardown seconds to PATH (JSON), for the slow set's "
                          "longest-first order (tests/slow_durations.json)")


def _group(item) -> str:
    names = sorted(str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                   for m in item.iter_markers("xdist_group"))
    return "_".join(names) if names else item.nodeid.split("@")[0]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Longest work unit first; and, under xdist's loadgroup, the group suffix xdist puts on ``item._nodeid``
    copied into the node id pytest >= 9.2 reads (``item._id``), which it otherwise ignores."""
    try:
        seconds = json.loads(DURATIONS.read_text())
    except (OSError, ValueError):
        seconds = {}
    groups = {id(item): _group(item) for item in items}
    cost: dict[str, float] = {}
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        key = groups[id(item)]
        cost[key] = cost.get(key, 0.0) + float(seconds.get(item.nodeid.split("@")[0], 0.0))
        first.setdefault(key, i)
    # a group's tests stay together, at the place of its first test; groups ordered by cost, ties by that place
    items.sort(key=lambda it: (-cost[groups[id(it)]], first[groups[id(it)]]))
    if NodeId is not None:
        for item in items:
            suffixed = getattr(item, "_nodeid", None)
            if isinstance(suffixed, str) and suffixed != item.nodeid and suffixed.startswith(item.nodeid):
                item._id = NodeId.parse(suffixed)


_durations: dict[str, float] = {}


def pytest_runtest_logreport(report):
    if report.when in ("setup", "call", "teardown"):
        key = report.nodeid.split("@")[0]
        _durations[key] = _durations.get(key, 0.0) + report.duration


def pytest_sessionfinish(session):
    path = session.config.getoption("--durations-file")
    if path and _durations and not os.environ.get("PYTEST_XDIST_WORKER"):
        Path(path).write_text(json.dumps({k: round(v, 1) for k, v in sorted(_durations.items())}, indent=1) + "\n")


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
    asks for a recipe in progress waits for it instead of training it again); the ``xdist_group`` marks keep a
    recipe's tests on one worker, so that wait is rare (see the scheduling notes above)."""
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
