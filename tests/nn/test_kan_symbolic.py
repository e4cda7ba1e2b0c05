"""Per-edge symbolic control of a KAN: fix/suggest/unfix, mixed training (constants trainable next to splines),
user functions, x*y exact with fixed edges, symbolic edges kept by pruning and saving, clear errors."""
from __future__ import annotations

import json
import warnings

import pytest
import torch

from basiskit import UsageError
from basiskit.nn import KAN
from basiskit.nn.kan_symbolic import LIBRARY, register_symbolic, unregister_symbolic

f64 = torch.float64


def _x(n: int = 256, d: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, d, dtype=f64, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _planted(model: KAN, l: int, i: int, j: int, fn) -> None:
    """Make edge (l, i, j)'s spline follow fn on [-1, 1] (least squares on the layer's features), others zero."""
    layer = model.layers[l]
    z = torch.linspace(-1, 1, 200, dtype=f64).unsqueeze(-1).expand(-1, layer.in_features)
    feats = layer.features(z)[:, i]  # (P, n_basis + 1)
    coef = torch.linalg.lstsq(feats, fn(z[:, i]).unsqueeze(-1)).solution.squeeze(-1)
    with torch.no_grad():
        layer.weight[j, i] = coef


def test_fix_fits_the_constants_in_the_models_dtype_and_unfix_restores_the_spline():
    torch.manual_seed(0)
    model = KAN([2, 1], grid_size=10, dtype=f64)
    with torch.no_grad():
        model.layers[0].weight.zero_()
    _planted(model, 0, 0, 0, lambda z: 0.7 * torch.sin(2.0 * z + 0.3) + 0.1)
    x = _x()
    before = model(x).detach()
    r2 = model.fix_symbolic(0, 0, 0, "sin", x)
    assert r2 > 0.9999
    edges = model.edges[0]
    assert edges.names == [["sin", None]] and edges.affine.dtype == f64 and edges.affine.requires_grad
    assert float(edges.numeric_mask[0, 0]) == 0 and float(edges.symbolic_mask[0, 0]) == 1
    a, b, c, d = edges.affine[0, 0].tolist()
    pred = c * torch.sin(a * x[:, 0] + b) + d
    torch.testing.assert_close(model(x)[:, 0], pred, atol=1e-12, rtol=0)
    assert float((model(x).detach() - before).abs().max()) < 5e-3  # the fit replaces the spline closely
    model.unfix_symbolic(0, 0, 0)
    assert torch.equal(model(x), before) and edges.affine is None and edges.all_numeric


def test_fix_without_data_uses_pykans_defaults_or_given_params():
    model = KAN([2, 1], dtype=f64)
    assert model.fix_symbolic(0, 1, 0, "x^2") is None
    assert model.edges[0].affine[0, 1].tolist() == [1.0, 0.0, 1.0, 0.0]
    model.fix_symbolic(0, 0, 0, "x", params=(2.0, 0.5, 3.0, -1.0))
    assert model.edges[0].affine[0, 0].tolist() == [2.0, 0.5, 3.0, -1.0]
    x = _x(16)
    expect = 3.0 * (2.0 * x[:, 0] + 0.5) - 1.0 + x[:, 1] ** 2  # KAN has no bias by default (pykan's layout)
    torch.testing.assert_close(model(x)[:, 0], expect.detach(), atol=1e-12, rtol=0)


def test_suggest_ranks_candidates_with_r2_and_complexity():
    model = KAN([1, 1], grid_size=10, dtype=f64)
    with torch.no_grad():
        model.layers[0].weight.zero_()
    _planted(model, 0, 0, 0, lambda z: torch.exp(0.8 * z))
    out = model.suggest_symbolic(0, 0, 0, _x(200, 1), top_k=3, library=["x", "x^2", "exp", "sin", "cosh"])
    assert len(out) == 3 and set(out[0]) == {"function", "r2", "complexity", "params"}
    assert out[0]["function"] == "exp" and out[0]["r2"] > 0.99999 and out[0]["complexity"] == 2
    assert out[1]["r2"] <= out[0]["r2"] + 1e-4


def test_mixed_training_updates_symbolic_constants_and_splines_but_not_fixed_splines():
    torch.manual_seed(0)
    model = KAN([2, 3, 1], grid_size=5, dtype=f64)
    model.fix_symbolic(0, 0, 1, "sin")
    x = _x(128)
    y = torch.sin(3 * x[:, :1]) + x[:, 1:] ** 2
    params = list(model.parameters())
    assert any(p is model.edges[0].affine for p in params)
    spline_before = model.layers[0].weight.detach().clone()
    affine_before = model.edges[0].affine.detach().clone()
    opt = torch.optim.Adam(params, lr=1e-2)
    for _ in range(20):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        assert all(p.grad is not None for p in params)
        assert float(model.layers[0].weight.grad[1, 0].abs().max()) == 0.0  # fixed edge: its spline gets no grad
        opt.step()
    assert not torch.equal(model.edges[0].affine[1, 0], affine_before[1, 0])  # the constants trained
    assert not torch.equal(model.layers[0].weight[0, 0], spline_before[0, 0])  # the splines trained
    assert torch.equal(model.layers[0].weight[1, 0], spline_before[1, 0])  # the fixed edge's spline kept


def test_xy_is_exact_with_one_multiplication_node_and_edges_fixed_to_x():
    pytest.importorskip("sympy")
    model = KAN([2, 0, 1], mult_nodes=(0, 1, 0), dtype=f64)
    model.fix_symbolic(0, 0, 0, "x")
    model.fix_symbolic(0, 1, 0, "0")
    model.fix_symbolic(0, 0, 1, "0")
    model.fix_symbolic(0, 1, 1, "x")
    model.fix_symbolic(1, 0, 0, "x")
    x = _x(1000)
    assert float((model.symbolic_forward(x) - x[:, :1] * x[:, 1:]).abs().max()) <= 1e-12
    import sympy

    a, b = sympy.symbols("a b")
    assert sympy.simplify(model.symbolic_formula(["a", "b"]) - a * b) == 0


def test_partial_symbolic_network_refuses_a_formula_until_every_edge_is_fixed():
    model = KAN([2, 2, 1], dtype=f64)
    with pytest.raises(RuntimeError, match="auto_symbolic"):
        model.symbolic_formula()
    model.fix_symbolic(0, 0, 0, "x")
    with pytest.raises(RuntimeError, match="still splines"):
        model.symbolic_formula()
    reports = model.auto_symbolic(_x(128), library=["x", "x^2"], n_grid=11, polish_steps=5)
    assert len(reports) == 5 and all(r["layer"] in (0, 1) for r in reports)  # the fixed edge is not refitted
    assert model.edges[0].names[0][0] == "x"


def test_user_functions_fit_save_by_name_and_must_be_registered_to_load(tmp_path):
    pytest.importorskip("sympy")
    register_symbolic("softsign", lambda z: z / (1 + z.abs()), complexity=3)
    try:
        model = KAN([1, 1], grid_size=10, dtype=f64)
        with torch.no_grad():
            model.layers[0].weight.zero_()
        _planted(model, 0, 0, 0, lambda z: 1.5 * z / (1 + z.abs()))
        x = _x(200, 1)
        assert model.suggest_symbolic(0, 0, 0, x, top_k=1, library=["x", "softsign"])[0]["function"] == "softsign"
        assert model.fix_symbolic(0, 0, 0, "softsign", x) > 0.9999  # a spline of 10 intervals: R2 1 - 1e-5
        assert "softsign" in str(model.symbolic_formula(["u"]))
        model.save(tmp_path / "k")
        assert torch.equal(KAN.load(tmp_path / "k")(x), model(x))
    finally:
        unregister_symbolic("softsign")
    with pytest.raises(UsageError, match="'softsign'.*register it again"):
        KAN.load(tmp_path / "k")
    with pytest.raises(ValueError, match="built-in"):
        register_symbolic("sin", torch.sin)
    assert "softsign" not in LIBRARY


def test_pruning_keeps_the_symbolic_edges_of_kept_nodes_and_save_load_is_bitwise(tmp_path):
    torch.manual_seed(0)
    model = KAN([2, 3, 1], dtype=f64)
    with torch.no_grad():
        model.layers[1].weight[:, 1] = 0  # hidden node 1 is dead
    model.fix_symbolic(0, 1, 2, "sin", params=(2.0, 0.1, 0.5, 0.0))
    model.fix_symbolic(1, 2, 0, "x^2", params=(1.0, 0.0, 0.3, 0.1))
    x = _x(128)
    pruned = model.prune(x, threshold=1e-6)
    assert pruned.widths == [2, 2, 1]
    assert pruned.edges[0].names == [[None, None], [None, "sin"]] and pruned.edges[1].names == [[None, "x^2"]]
    torch.testing.assert_close(pruned(x), model(x), atol=1e-12, rtol=0)
    pruned.save(tmp_path / "p")
    back = KAN.load(tmp_path / "p")
    assert torch.equal(back(x), pruned(x)) and back.edges[1].names == [[None, "x^2"]]


def test_version_1_files_with_an_all_edge_fit_still_load(tmp_path):
    model = KAN([2, 1], bias=True, dtype=f64)  # version 1 files were written when every KAN had biases
    model.save(tmp_path / "v")
    from safetensors.torch import load_file, save_file

    weights = {k: v for k, v in load_file(str(tmp_path / "v" / "model.safetensors")).items() if "edges." not in k}
    save_file(weights, str(tmp_path / "v" / "model.safetensors"))
    doc = json.loads((tmp_path / "v" / "config.json").read_text())
    doc["format_version"] = 1
    del doc["config"]["symbolic_names"], doc["config"]["input_ids"]
    doc["symbolic"] = [{"names": [["x", "sin"]], "params": [[[1, 0, 2, 0], [1, 0, 1, 0.5]]], "bias": [0.25]}]
    (tmp_path / "v" / "config.json").write_text(json.dumps(doc))
    back = KAN.load(tmp_path / "v")
    x = _x(32)
    torch.testing.assert_close(back(x)[:, 0], 2 * x[:, 0] + torch.sin(x[:, 1]) + 0.75, atol=1e-12, rtol=0)


def test_the_old_symbolic_attribute_warns_and_shows_the_fits():
    model = KAN([2, 1], dtype=f64)
    with pytest.warns(DeprecationWarning, match="kan.edges"):
        assert model.symbolic is None
    model.fix_symbolic(0, 0, 0, "x")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert model.symbolic[0]["names"] == [["x", None]]


def test_bad_symbolic_requests_raise_clear_errors():
    model = KAN([2, 3, 1], dtype=f64)
    x = _x(32)
    with pytest.raises(ValueError, match="unknown symbolic function 'sinn'.*did you mean 'sin'"):
        model.fix_symbolic(0, 0, 0, "sinn")
    with pytest.raises(ValueError, match="layer"):
        model.fix_symbolic(2, 0, 0, "x")
    with pytest.raises(ValueError, match="i must be <= 1"):
        model.fix_symbolic(0, 2, 0, "x")
    with pytest.raises(ValueError, match="j must be <= 2"):
        model.suggest_symbolic(0, 0, 3, x)
    with pytest.raises(ValueError, match="not symbolic"):
        model.unfix_symbolic(0, 0, 0)
    with pytest.raises(ValueError, match="either x"):
        model.fix_symbolic(0, 0, 0, "x", x, params=(1, 0, 1, 0))
    with pytest.raises(ValueError, match="4 finite numbers"):
        model.fix_symbolic(0, 0, 0, "x", params=(1, 0, float("nan"), 0))
    with pytest.raises(ValueError, match="library"):
        model.auto_symbolic(x, library=["x", "nope"])
    with pytest.raises(ValueError, match="top_k"):
        model.suggest_symbolic(0, 0, 0, x, top_k=0)


def test_a_training_checkpoint_rebuilds_symbolic_and_pruned_edges(tmp_path):
    from basiskit.train.checkpoint import load_model, save_checkpoint

    torch.manual_seed(0)
    model = KAN([2, 3, 1], dtype=f64)
    x = _x(64)
    model.fix_symbolic(0, 1, 2, "tanh", params=(2.0, 0.1, 0.5, 0.0))
    model = model.prune_edges(x, float(model.attribute(x).edge_scores[1].min()) * 1.01)
    save_checkpoint(tmp_path, 1, model, {"step": 1})
    back = load_model(tmp_path)
    assert torch.equal(back(x), model(x)) and back.edges[0].names[2][1] == "tanh"
    assert torch.equal(back.edges[1].numeric_mask, model.edges[1].numeric_mask)
