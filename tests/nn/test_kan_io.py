"""KAN.save / KAN.load: bitwise round trips of plain, grid-updated, refined, pruned and symbolic KANs; clear
errors for files of another version, tampered configurations and unknown symbolic functions."""
from __future__ import annotations

import json

import pytest
import torch

from basiskit import UsageError
from basiskit.nn import KAN


def _data(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, generator=g) * 2 - 1
    return x, torch.sin(2 * x[:, :1]) * x[:, 1:2]


def _roundtrip(model, tmp_path, x):
    model.save(tmp_path / "kan")
    back = KAN.load(tmp_path / "kan")
    assert torch.equal(back(x), model(x))
    return back


def test_plain_updated_and_refined_kans_come_back_bitwise(tmp_path):
    torch.manual_seed(0)
    x, _ = _data()
    model = KAN([3, 4, 1], grid_size=5)
    _roundtrip(model, tmp_path / "a", x)
    model.update_grid(x * 1.5)  # non-uniform knots
    _roundtrip(model, tmp_path / "b", x)
    model.refine(10, x)
    back = _roundtrip(model, tmp_path / "c", x)
    assert back.layers[0].basis.grid_size == 10 and back.config() == model.config()


def test_pruned_kan_with_a_bias_added_by_pruning_loads_without_rebuilding_by_hand(tmp_path):
    torch.manual_seed(0)
    x, _ = _data()
    model = KAN([3, 6, 1], grid_size=5, bias=False)
    with torch.no_grad():
        model.layers[0].weight[2:].mul_(1e-6)  # four dead hidden nodes
    pruned = model.prune(x, threshold=1e-3)
    assert pruned.widths == [3, 2, 1] and pruned.layers[1].bias is not None and pruned.layers[0].bias is None
    with pytest.raises(RuntimeError):
        KAN([3, 6, 1], grid_size=5, bias=False).load_state_dict(pruned.state_dict())  # what users hit today
    back = _roundtrip(pruned, tmp_path, x)
    assert back.widths == [3, 2, 1]


def test_symbolic_fits_are_saved_by_name(tmp_path):
    pytest.importorskip("scipy")
    torch.manual_seed(0)
    x, _ = _data(128)
    model = KAN([3, 2, 1], grid_size=5).double()
    model.auto_symbolic(x.double(), library=["x", "x^2", "sin"])
    back = _roundtrip(model, tmp_path, x.double())
    assert [e.names for e in back.edges] == [e.names for e in model.edges]
    assert torch.equal(back.symbolic_forward(x.double()), model.symbolic_forward(x.double()))
    doc = json.loads((tmp_path / "kan" / "config.json").read_text())
    doc["config"]["symbolic_names"][0][0][0] = "my_custom_fn"
    (tmp_path / "kan" / "config.json").write_text(json.dumps(doc))
    with pytest.raises(UsageError, match="'my_custom_fn'.*register it again"):
        KAN.load(tmp_path / "kan")


def test_other_versions_tampered_files_and_missing_files_give_clear_errors(tmp_path):
    model = KAN([2, 3, 1])
    model.save(tmp_path / "kan")
    path = tmp_path / "kan" / "config.json"
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "format_version": 99}))
    with pytest.raises(UsageError, match="format_version 99"):
        KAN.load(tmp_path / "kan")
    path.write_text(json.dumps({**doc, "config": {**doc["config"], "widths": [2, 5, 1]}}))
    with pytest.raises(UsageError, match="do not match the saved configuration"):
        KAN.load(tmp_path / "kan")
    path.write_text(json.dumps({**doc, "config": {**doc["config"], "widths": "2,3,1"}}))
    with pytest.raises(UsageError, match="malformed"):
        KAN.load(tmp_path / "kan")
    path.write_text("{not json")
    with pytest.raises(UsageError, match="not valid JSON"):
        KAN.load(tmp_path / "kan")
    with pytest.raises(UsageError, match="not a saved KAN"):
        KAN.load(tmp_path / "nothing")
    assert not list((tmp_path / "kan").glob("*.pt")) and not list((tmp_path / "kan").glob("*.pkl"))


def test_a_training_checkpoint_rebuilds_a_pruned_kan_through_the_config_protocol(tmp_path):
    from basiskit.train import RunContext, fit, load_model

    torch.manual_seed(0)
    x, y = _data()
    model = KAN([3, 6, 1], grid_size=5)
    with torch.no_grad():
        model.layers[0].weight[3:].mul_(1e-6)
    pruned = model.prune(x, threshold=1e-3)
    fit(pruned, torch.nn.MSELoss(), (x, y), steps=5, ctx=RunContext(tmp_path, seed=0, progress=False), name="kan")
    back = load_model(tmp_path / "checkpoint" / "kan")
    assert isinstance(back, KAN) and back.widths == pruned.widths
    assert torch.equal(back(x), pruned(x))
    with pytest.raises(UsageError, match="no config.json"):
        fit(torch.nn.Linear(3, 1), torch.nn.MSELoss(), (x, y), steps=1,
            ctx=RunContext(tmp_path / "lin", seed=0, progress=False), name="lin")
        load_model(tmp_path / "lin" / "checkpoint" / "lin")


def test_boundary_is_saved_and_files_without_it_load_clamped(tmp_path):
    """KAN's defaults are pykan's layout (no bias, B-splines past the grid range); a file written before the
    boundary option existed was trained clamped, so it loads with boundary="clamp" and gives the same outputs."""
    torch.manual_seed(0)
    model = KAN([2, 3, 1], grid_size=4, dtype=torch.float64)
    assert all(layer.bias is None and layer.boundary == "extend" for layer in model.layers)
    model.save(tmp_path / "new")
    assert KAN.load(tmp_path / "new").layers[0].boundary == "extend"
    old = KAN([2, 3, 1], grid_size=4, bias=True, boundary="clamp", dtype=torch.float64)
    old.save(tmp_path / "old")
    path = tmp_path / "old" / "config.json"
    doc = json.loads(path.read_text())
    del doc["config"]["boundary"]
    path.write_text(json.dumps(doc))
    back = KAN.load(tmp_path / "old")
    x = torch.rand(64, 2, dtype=torch.float64) * 4 - 2  # outside the grid range, where the boundaries differ
    assert all(layer.boundary == "clamp" for layer in back.layers)
    torch.testing.assert_close(back(x), old(x), atol=0, rtol=0)
    assert not torch.allclose(model(x), torch.func.functional_call(
        KAN([2, 3, 1], grid_size=4, boundary="clamp", dtype=torch.float64), model.state_dict(), (x,)))
