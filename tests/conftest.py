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
