"""Multiplication nodes of ``KAN`` (KAN 2.0 / pykan's MultKAN layout): forward against a hand computation, x*y
fitted with splines alone and exactly once the edges are the identity, pruning, attribution (copy rule), grids,
symbolic export, plot, saving and bad inputs."""
from __future__ import annotations

import json
import math

import pytest
import torch

from basiskit import UsageError
from basiskit.nn import KAN

f64 = torch.float64


def _grid_points(n: int = 24) -> torch.Tensor:
    t = torch.linspace(-1, 1, n, dtype=f64)
    return torch.cartesian_prod(t, t)  # (n * n, 2), corners included


def _set_identity(layer, mask: torch.Tensor) -> None:
    """Make edge (j, i) of a cubic B-spline layer exactly ``x`` where ``mask[j, i]`` and exactly 0 elsewhere, and
    the biases 0. A degree-p spline reproduces x exactly when its coefficients are the Greville abscissae
    (the mean of the p knots t_{k+1}, ..., t_{k+p}); the base (SiLU) weight is set to 0."""
    knots, p = layer.basis.knots, layer.basis.order  # (in, K)
    greville = torch.stack([knots[:, k + 1: k + 1 + p].mean(-1) for k in range(layer.n_basis)], -1)  # (in, nb)
    with torch.no_grad():
        layer.weight.zero_()
        layer.weight[..., : layer.n_basis] = mask.to(f64).unsqueeze(-1) * greville.unsqueeze(0)


def _smooth(model: KAN) -> KAN:
    """Replace the random spline noise of every edge by a smooth curve (a least-squares fit of 0.5 sin(f z) on
    the grid range, f growing with the edge index; no base term, no bias), so grid updates can keep the function
    to a tight bar: every node value stays inside the next layer's grid range [-1, 1]."""
    from basiskit.nn.kan_grid import fit_coefficients

    for layer in model.layers:
        z = torch.linspace(-1, 1, 200, dtype=f64).unsqueeze(-1).expand(-1, layer.in_features)
        freq = 0.7 * torch.arange(1, layer.out_features * layer.in_features + 1, dtype=f64).reshape(
            layer.out_features, layer.in_features)
        coef = fit_coefficients(z, 0.5 * torch.sin(freq * z.unsqueeze(1)), layer.basis.knots, layer.basis.order)
        with torch.no_grad():
            layer.weight[..., : layer.n_basis] = coef / layer.in_features
            layer.weight[..., layer.n_basis] = 0.0
    return model


def _lbfgs_rounds(model: KAN, x: torch.Tensor, y: torch.Tensor, rounds: int, grid_updates: int = 0,
                  opt: torch.optim.LBFGS | None = None) -> tuple[float, torch.optim.LBFGS]:
    """``rounds`` LBFGS calls of 20 iterations each on the MSE, continuing ``opt`` when given; before each of the
    first ``grid_updates`` the grids move to the data (pykan's schedule) and the optimizer restarts. Returns the
    final training RMSE and the optimizer."""
    for r in range(rounds):
        if opt is None or r < grid_updates:
            if r < grid_updates:
                model.update_grid(x)
            opt = torch.optim.LBFGS(model.parameters(), lr=1.0, max_iter=20, history_size=50,
                                    line_search_fn="strong_wolfe", tolerance_grad=1e-32, tolerance_change=1e-32)

        def closure() -> torch.Tensor:
            model.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            return loss

        opt.step(closure)
    with torch.no_grad():
        return math.sqrt(float(((model(x) - y) ** 2).mean())), opt


def test_forward_multiplies_consecutive_subnodes_like_pykan():
    torch.manual_seed(0)
    model = KAN([3, 1, 2], mult_nodes=(0, 2, 0), mult_arity=3, dtype=f64)
    assert model.node_widths == [3, 3, 2] and model.subnode_widths == [3, 7, 2]
    assert model.layers[0].out_features == 7 and model.layers[1].in_features == 3
    x = torch.rand(40, 3, dtype=f64) * 2 - 1
    s = model.layers[0](x)  # (40, 7): sum node 0, then subnodes 1-3 and 4-6 of the two products
    nodes = torch.stack([s[:, 0], s[:, 1] * s[:, 2] * s[:, 3], s[:, 4] * s[:, 5] * s[:, 6]], -1)
    assert torch.equal(model(x), model.layers[1](nodes))
    hidden = model.layer_inputs(x)[1]
    assert hidden.shape == (40, 3) and torch.equal(hidden, nodes)
    assert model(x.reshape(4, 10, 3)).shape == (4, 10, 2)
    assert "mult_nodes=[0, 2, 0]" in repr(model)
    loss = model(x).square().mean() + model.regularization_loss(x)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_xy_is_fitted_with_splines_alone():
    """Training protocol (float64, 576 grid points on [-1, 1]^2, LBFGS): the product network has a spurious
    minimum (both subnodes aligned, RMSE ~0.12) that most random starts fall into, so 8 seeded starts get 10 rounds
    with pykan's grid updates, the one with the lowest training loss continues 30 rounds, then the grids are
    extended to 20 intervals (pykan's grid extension) for 30 more. Reached here (AMD EPYC, 1 thread): train RMSE
    1.9e-5, test RMSE 1.05e-5 on 2000 random points (bar 1e-4 on both: a 5x margin for another CPU)."""
    x = _grid_points()
    y = x[:, :1] * x[:, 1:]
    starts = []
    for seed in range(8):
        torch.manual_seed(seed)
        model = KAN([2, 0, 1], mult_nodes=(0, 1, 0), grid_size=5, dtype=f64)
        rmse, opt = _lbfgs_rounds(model, x, y, rounds=10, grid_updates=10)
        starts.append((rmse, seed, model, opt))
    _, seed, model, opt = min(starts, key=lambda s: s[:2])
    _lbfgs_rounds(model, x, y, rounds=30, opt=opt)
    model.refine(20, x)  # new coefficient count: a new optimizer
    train, _ = _lbfgs_rounds(model, x, y, rounds=30)
    xt = torch.rand(2000, 2, dtype=f64, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.no_grad():
        test = math.sqrt(float(((model(xt) - xt[:, :1] * xt[:, 1:]) ** 2).mean()))
    print(f"x*y with splines alone: start seed {seed}, train RMSE {train:.2e}, test RMSE {test:.2e}")
    assert train <= 1e-4 and test <= 1e-4


def test_xy_is_exact_once_the_edges_are_the_identity():
    pytest.importorskip("sympy")
    model = KAN([2, 0, 1], mult_nodes=(0, 1, 0), grid_size=5, dtype=f64)
    _set_identity(model.layers[0], torch.eye(2))  # subnode 0 = x, subnode 1 = y
    _set_identity(model.layers[1], torch.ones(1, 1))  # output = the product
    x = torch.rand(1000, 2, dtype=f64) * 2 - 1
    with torch.no_grad():
        err = float((model(x) - x[:, :1] * x[:, 1:]).abs().max())
    assert err <= 1e-12, err
    reports = model.auto_symbolic(x, library=["x", "x^2", "sin"])
    assert sorted(r["function"] for r in reports) == ["0", "0", "x", "x", "x"]
    assert float((model.symbolic_forward(x) - x[:, :1] * x[:, 1:]).abs().max()) <= 1e-12
    import sympy

    a, b = sympy.symbols("a b")
    formula = model.symbolic_formula(variables=["a", "b"])
    assert sympy.simplify(sympy.nsimplify(formula, tolerance=1e-9, rational=True) - a * b) == 0


def test_pruning_keeps_or_removes_a_multiplication_node_with_its_subnodes(tmp_path):
    torch.manual_seed(0)
    model = KAN([2, 2, 1], mult_nodes=(0, 2, 0), dtype=f64)  # nodes: sum 0, 1; products 2 (subnodes 2, 3), 3 (4, 5)
    x = torch.rand(200, 2, dtype=f64) * 2 - 1
    with torch.no_grad():
        model.layers[1].weight[:, 1].zero_()  # sum node 1 feeds nothing
        model.layers[1].weight[:, 2].zero_()  # product 2 feeds nothing
    scores = model.node_scores(x)[0]
    assert scores.shape == (4,) and float(scores[1]) == 0.0 and float(scores[2]) == 0.0
    pruned = model.prune(x, threshold=1e-6)
    assert pruned.widths == [2, 1, 1] and pruned.mult_nodes == [0, 1, 0]
    assert pruned.layers[0].out_features == 3 and pruned.layers[1].in_features == 2
    kept = torch.tensor([0, 4, 5])  # sum node 0 and the subnodes of product 3
    assert torch.equal(pruned.layers[0].weight, model.layers[0].weight[kept])
    torch.testing.assert_close(pruned(x), model(x), atol=1e-12, rtol=0)
    with torch.no_grad():
        model.layers[1].weight[:, 0].zero_()
        model.layers[1].weight[:, 3].zero_()
    only = model.prune(x, threshold=1e-6)  # every node dead: the best-scored one is kept
    assert sum(only.node_widths[1:2]) == 1
    back_dir = tmp_path / "pruned"
    pruned.save(back_dir)
    back = KAN.load(back_dir)
    assert back.widths == [2, 1, 1] and back.mult_nodes == [0, 1, 0] and torch.equal(back(x), pruned(x))


def test_attribution_copies_a_products_score_to_each_factor():
    torch.manual_seed(0)
    model = KAN([2, 0, 1], mult_nodes=(0, 1, 0), dtype=f64)
    x = torch.rand(300, 2, dtype=f64) * 2 - 1
    att = model.attribute(x)
    with torch.no_grad():
        s = model.layers[0](x)  # (N, 2) subnodes
        z = s[:, :1] * s[:, 1:]
        out_edge = model.layers[1].edge_activations(z)[:, 0, 0]
        product_score = out_edge.std() / (model(x)[:, 0].std() + 1e-4)
        edge0 = model.layers[0].edge_activations(x).std(0) * product_score / (s.std(0)[:, None] + 1e-4)
    assert [t.shape for t in att.node_scores] == [(2,), (1,), (1,)]
    assert att.edge_scores[0].shape == (2, 2) and att.edge_scores[1].shape == (1, 1)
    torch.testing.assert_close(att.node_scores[1], product_score.reshape(1))
    torch.testing.assert_close(att.edge_scores[0], edge0)  # both factors start from the full product score
    torch.testing.assert_close(model.feature_scores(x), edge0.sum(0))


def test_xy_attribution_finds_both_inputs_and_ignores_a_distractor():
    model = KAN([3, 0, 1], mult_nodes=(0, 1, 0), grid_size=5, dtype=f64)
    _set_identity(model.layers[0], torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    _set_identity(model.layers[1], torch.ones(1, 1))
    x = torch.rand(500, 3, dtype=f64) * 2 - 1
    scores = model.feature_scores(x)
    assert float(scores[2]) == 0.0 and float(scores[0]) > 0.5 and float(scores[1]) > 0.5


def test_grid_update_and_refine_pass_through_products():
    torch.manual_seed(0)
    model = _smooth(KAN([2, 1, 1], mult_nodes=(0, 1, 0), grid_size=5, dtype=f64))
    x = torch.rand(400, 2, dtype=f64) * 1.6 - 0.9
    before = model(x).detach()
    model.update_grid(x)
    hidden = model.layer_inputs(x)[1]  # the product node's values set the second layer's grid
    knots, p = model.layers[1].basis.knots, model.layers[1].basis.order
    assert abs(float(knots[1, p]) - float(hidden[:, 1].min())) < 1e-2
    assert abs(float(knots[1, -1 - p]) - float(hidden[:, 1].max())) < 1e-2
    err = float((model(x) - before).abs().max())
    assert err < 1e-2 * float(before.abs().max()), err  # non-nested refit, two layers: test_kan.py's whole-net bar
    mid = model(x).detach()
    model.refine(10)  # nested grids: the function is kept on each grid range
    torch.testing.assert_close(model(x).detach(), mid, atol=1e-9, rtol=0)
    assert model.layers[0].basis.grid_size == 10


def test_save_load_round_trip_is_bitwise_and_old_files_load_without_products(tmp_path):
    torch.manual_seed(0)
    model = KAN([2, 0, 1], mult_nodes=(0, 1, 0), mult_arity=3)
    x = torch.rand(64, 2) * 2 - 1
    model.save(tmp_path / "m")
    back = KAN.load(tmp_path / "m")
    assert torch.equal(back(x), model(x)) and back.config() == model.config()
    assert back.config()["mult_nodes"] == [0, 1, 0] and back.config()["mult_arity"] == 3
    path = tmp_path / "m" / "config.json"
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "config": {**doc["config"], "mult_nodes": [0, 1]}}))
    with pytest.raises(UsageError, match="mult_nodes"):
        KAN.load(tmp_path / "m")
    path.write_text(json.dumps({**doc, "config": {**doc["config"], "mult_arity": 1}}))
    with pytest.raises(UsageError, match="mult_arity"):
        KAN.load(tmp_path / "m")
    # a version-1 file from before multiplication nodes has neither key: it loads as a plain KAN
    plain = KAN([2, 3, 1])
    plain.save(tmp_path / "p")
    path = tmp_path / "p" / "config.json"
    doc = json.loads(path.read_text())
    for key in ("mult_nodes", "mult_arity"):
        del doc["config"][key]
    path.write_text(json.dumps(doc))
    old = KAN.load(tmp_path / "p")
    assert old.mult_nodes == [0, 0, 0] and torch.equal(old(x), plain(x))


def test_plot_names_the_factors(tmp_path):
    pytest.importorskip("matplotlib")
    torch.manual_seed(0)
    model = KAN([2, 1, 1], mult_nodes=(0, 1, 0))
    x = torch.rand(50, 2) * 2 - 1
    path = model.plot(str(tmp_path / "mult.png"), x)
    assert (tmp_path / "mult.png").stat().st_size > 1000 and path.endswith("mult.png")
    from basiskit.nn.kan_plot import _subnode_name

    assert [_subnode_name(model, 1, j) for j in range(3)] == ["0", "1*m0", "2*m0"]


def test_bad_multiplication_settings_raise_clear_errors():
    with pytest.raises(ValueError, match=r"mult_nodes must have one entry per node layer .*got 2"):
        KAN([2, 0, 1], mult_nodes=(0, 1))
    with pytest.raises(ValueError, match="0 on the input and output layers"):
        KAN([2, 3, 1], mult_nodes=(1, 0, 0))
    with pytest.raises(ValueError, match="0 on the input and output layers"):
        KAN([2, 3, 1], mult_nodes=(0, 0, 2))
    with pytest.raises(ValueError, match="mult_arity must be >= 2"):
        KAN([2, 0, 1], mult_nodes=(0, 1, 0), mult_arity=1)
    with pytest.raises(ValueError, match=r"mult_nodes\[1\] must be >= 0"):
        KAN([2, 3, 1], mult_nodes=(0, -1, 0))
    with pytest.raises(TypeError, match="mult_nodes must be a sequence"):
        KAN([2, 3, 1], mult_nodes=3)
    with pytest.raises(ValueError, match=r"widths\[1\] must be >= 1"):  # zero sum nodes need products
        KAN([2, 0, 1])
    with pytest.raises(ValueError, match=r"widths\[1\] must be >= 1"):
        KAN([2, 0, 1], mult_nodes=(0, 0, 0))
    with pytest.raises(ValueError, match=r"widths\[2\] must be >= 1"):
        KAN([2, 0, 0], mult_nodes=(0, 1, 0))
    assert KAN([2, 0, 1], mult_nodes=(0, 1, 0)).layers[0].out_features == 2


def test_products_in_two_hidden_layers_prune_save_and_export_together(tmp_path):
    pytest.importorskip("sympy")
    torch.manual_seed(0)
    model = KAN([3, 1, 0, 1], mult_nodes=(0, 1, 2, 0), dtype=f64)
    assert [l.out_features for l in model.layers] == [3, 4, 1] and [l.in_features for l in model.layers] == [3, 2, 2]
    x = torch.rand(200, 3, dtype=f64) * 2 - 1
    with torch.no_grad():
        model.layers[2].weight[:, 0].zero_()  # the first product of layer 2 feeds nothing
    pruned = model.prune(x, threshold=1e-6)
    assert pruned.widths == [3, 1, 0, 1] and pruned.mult_nodes == [0, 1, 1, 0]
    assert pruned.layers[1].out_features == 2 and pruned.layers[2].in_features == 1
    torch.testing.assert_close(pruned(x), model(x), atol=1e-12, rtol=0)
    pruned.auto_symbolic(x, library=["x", "x^2", "sin"])
    pruned.save(tmp_path / "k")
    back = KAN.load(tmp_path / "k")
    assert torch.equal(back(x), pruned(x)) and torch.equal(back.symbolic_forward(x), pruned.symbolic_forward(x))
    import sympy

    formula = pruned.symbolic_formula(variables=["a", "b", "c"])
    f = sympy.lambdify(sympy.symbols("a b c"), formula, "math")
    assert abs(f(*x[0].tolist()) - float(pruned.symbolic_forward(x[:1])[0, 0])) < 1e-9


def test_a_training_checkpoint_rebuilds_a_kan_with_products(tmp_path):
    from basiskit.train import RunContext, fit, load_model

    torch.manual_seed(0)
    x = torch.rand(128, 2) * 2 - 1
    model = KAN([2, 1, 1], mult_nodes=(0, 1, 0))
    fit(model, torch.nn.MSELoss(), (x, x[:, :1] * x[:, 1:]), steps=3,
        ctx=RunContext(tmp_path, seed=0, progress=False), name="kan")
    back = load_model(tmp_path / "checkpoint" / "kan")
    assert isinstance(back, KAN) and back.mult_nodes == [0, 1, 0] and torch.equal(back(x), model(x))
