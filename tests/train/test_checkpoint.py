"""Training state in safetensors + JSON: exact round trips of optimizer/scheduler/RNG states, no pickle written,
old state.pt checkpoints still load (deprecated, weights_only), clear errors for foreign or tampered files."""
from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from basiskit import UsageError
from basiskit.train import checkpoint as ckpt


def _trained() -> tuple[nn.Module, torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.StepLR(opt, 2)
    for _ in range(3):
        opt.zero_grad()
        model(torch.randn(8, 3)).square().mean().backward()
        opt.step()
        sched.step()
    return model, opt, sched


def _same(a, b) -> None:
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for u, v in zip(a, b):
            _same(u, v)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b and type(a) is type(b)


def test_training_state_round_trips_exactly_without_pickle(tmp_path):
    model, opt, sched = _trained()
    state = {"step": 3, "optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "rng": ckpt.rng_state(),
             "history": [{"loss": 0.5}, {"loss": float("nan")}], "pair": (1, "a"), "complex": torch.ones(2, dtype=torch.complex64),
             "empty": torch.zeros(0), "none": None}
    folder = ckpt.save_checkpoint(tmp_path, 3, model, state)
    assert sorted(p.name for p in folder.iterdir()) == ["model.safetensors", "state.json", "state.safetensors"]
    assert json.loads((folder / "state.json").read_text())["format_version"] == 1
    back = ckpt.load_checkpoint(folder, nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)))
    _same(state, back)
    fresh = torch.optim.Adam(model.parameters(), lr=1e-2)
    fresh.load_state_dict(back["optimizer"])  # int-keyed per-parameter state comes back as ints
    assert list(fresh.state_dict()["state"]) == [0, 1, 2, 3]


def test_old_state_pt_checkpoints_load_with_a_deprecation_warning(tmp_path):
    model, opt, _ = _trained()
    folder = ckpt.save_checkpoint(tmp_path, 1, model, {"step": 1})
    for name in ("state.json", "state.safetensors"):
        (folder / name).unlink()
    torch.save({"step": 1, "optimizer": opt.state_dict()}, folder / "state.pt")  # what older versions wrote
    assert ckpt.latest_checkpoint(tmp_path) == folder
    with pytest.warns(DeprecationWarning, match="state.pt.*deprecated"):
        state = ckpt.load_checkpoint(folder)
    assert state["step"] == 1 and torch.equal(state["optimizer"]["state"][0]["exp_avg"],
                                              opt.state_dict()["state"][0]["exp_avg"])
    torch.save({"obj": _Unsafe()}, folder / "state.pt")  # a pickled object is refused (weights_only)
    with pytest.warns(DeprecationWarning), pytest.raises(Exception, match="[Ww]eights only"):
        ckpt.load_checkpoint(folder)


class _Unsafe:
    pass


def test_foreign_or_tampered_state_files_raise_clear_errors(tmp_path):
    model, _, _ = _trained()
    folder = ckpt.save_checkpoint(tmp_path, 1, model, {"step": 1, "w": torch.ones(2)})
    doc = json.loads((folder / "state.json").read_text())
    (folder / "state.json").write_text(json.dumps({**doc, "format_version": 9}))
    with pytest.raises(UsageError, match="format_version 9"):
        ckpt.load_state(folder)
    (folder / "state.json").write_text(json.dumps({**doc, "format": "other"}))
    with pytest.raises(UsageError, match="is not a basiskit.train_state file"):
        ckpt.load_state(folder)
    doc["state"]["w"] = {"__tensor__": "t99"}
    (folder / "state.json").write_text(json.dumps(doc))
    with pytest.raises(UsageError, match="t99"):
        ckpt.load_state(folder)
    (folder / "state.json").write_text("{not json")
    with pytest.raises(UsageError, match="not valid JSON"):
        ckpt.load_state(folder)
    with pytest.raises(TypeError, match=r"state\['bad'\] is a _Unsafe"):
        ckpt.save_checkpoint(tmp_path, 2, model, {"bad": _Unsafe()})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "step_000000001"]  # nothing half-written
    with pytest.raises(UsageError, match="no training state"):
        ckpt.load_state(tmp_path)
