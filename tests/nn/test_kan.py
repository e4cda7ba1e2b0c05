"""KAN: grid update and extension keep the function, regularisation, pruning, symbolic regression, plot."""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basiskit.nn import KAN, KANLinear
from basiskit.nn.kan_symbolic import LIBRARY, fit_edge

f64 = torch.float64


def _smooth_kan(widths, grid=5, seed=0) -> KAN:
    """A KAN whose edges are smooth (least-squares fits of sin/cos) rather than random noise."""
    torch.manual_seed(seed)
    model = KAN(widths, grid_size=grid, dtype=f64)
    for l, layer in enumerate(model.layers):
        z = torch.linspace(-1, 1, 200, dtype=f64).unsqueeze(-1).expand(-1, layer.in_features)
        freq = torch.arange(1, layer.out_features * layer.in_features + 1, dtype=f64).reshape(
            layer.out_features, layer.in_features) * 0.7
        target = torch.sin(freq * z.unsqueeze(1)) * 0.5  # (N, out, in)
        from basiskit.nn.kan_grid import fit_coefficients
        coef = fit_coefficients(z, target, layer.basis.knots, layer.basis.order)
        with torch.no_grad():
            layer.weight[..., :layer.n_basis] = coef
            layer.weight[..., layer.n_basis] = 0.1
    return model


def test_refine_keeps_function_exactly_when_nested():
    model = _smooth_kan([2, 3, 1], grid=5)
    x = torch.rand(300, 2, dtype=f64) * 2 - 1
    layer = model.layers[0]
    before = layer(x)
    layer.refine(10)
    assert layer.basis.grid_size == 10
    torch.testing.assert_close(layer(x), before, atol=1e-9, rtol=0)
    single = KANLinear(2, 2, grid_size=4)  # float32
    xs = torch.rand(200, 2) * 2 - 1
    ref = single(xs)
    single.refine(12)
    with torch.no_grad():
        assert float((single(xs) - ref).abs().max()) < 1e-4


def test_refine_non_nested_is_close_and_whole_network():
    model = _smooth_kan([2, 3, 1], grid=4)
    x = torch.rand(300, 2, dtype=f64) * 2 - 1
    model.update_grid(x)
    before = model(x)
    model.refine(10, x)
    err = float((model(x) - before).abs().max().detach())
    assert err < 1e-2 * float(before.abs().max().detach())


def test_update_grid_moves_knots_to_data_and_keeps_function():
    model = _smooth_kan([1, 2], grid=8)
    x = torch.rand(400, 1, dtype=f64) * 1.2 - 0.7  # data on [-0.7, 0.5]
    before = model(x)
    model.update_grid(x)
    knots = model.layers[0].basis.knots[0]
    order = model.layers[0].basis.order
    assert abs(float(knots[order]) - float(x.min())) < 1e-2 and abs(float(knots[-1 - order]) - float(x.max())) < 1e-2
    err = float((model(x) - before).abs().max().detach())
    assert err < 2e-3 * float(before.abs().max()), err


def test_regularization_loss_is_l1_plus_entropy():
    model = _smooth_kan([2, 3, 1])
    x = torch.rand(50, 2, dtype=f64) * 2 - 1
    expected = 0.0
    h = x
    for layer in model.layers:
        mag = layer.edge_activations(h).abs().mean(0)
        p = mag / mag.sum()
        expected += 1.0 * float(mag.sum()) + 2.0 * float(-(p * torch.log(p)).sum())
        h = layer(h)
    loss = model.regularization_loss(x)
    assert abs(float(loss) - expected) < 1e-8
    loss.backward()
    assert all(layer.weight.grad is not None for layer in model.layers)


def test_prune_removes_dead_nodes_and_keeps_outputs():
    model = _smooth_kan([2, 4, 1])
    with torch.no_grad():  # planted dead hidden nodes 1 and 3: no incoming signal
        model.layers[0].weight[[1, 3]] = 0.0
    x = torch.rand(200, 2, dtype=f64) * 2 - 1
    small = model.prune(x, threshold=1e-6)
    assert small.widths == [2, 2, 1]
    torch.testing.assert_close(small(x), model(x), atol=1e-10, rtol=0)
    assert model.widths == [2, 4, 1]  # the original is untouched
    with pytest.raises(ValueError, match="threshold"):
        model.prune(x, threshold=-1.0)


def test_library_has_at_least_20_functions_and_fit_edge_recovers_planted():
    assert len(LIBRARY) >= 20
    x = torch.linspace(-1, 1, 200, dtype=f64)
    name, (a, b, c, d), r2, _ = fit_edge(x, 0.7 * torch.sin(2.0 * x + 0.3) - 0.2)
    assert name == "sin" and r2 > 0.99999
    pred = c * torch.sin(a * x + b) + d
    torch.testing.assert_close(pred, 0.7 * torch.sin(2.0 * x + 0.3) - 0.2, atol=1e-6, rtol=0)
    assert fit_edge(x, 3 * x**2 + 1)[0] == "x^2"
    assert fit_edge(x, torch.exp(1.5 * x))[0] == "exp"
    with pytest.raises(ValueError, match="library"):
        fit_edge(x, x, library=["sinx"])


def test_auto_symbolic_recovers_planted_formula():
    sympy = pytest.importorskip("sympy")
    torch.manual_seed(0)
    x = torch.rand(300, 2, dtype=f64) * 2 - 1
    y = torch.sin(math.pi * x[:, :1]) + x[:, 1:] ** 2
    model = KAN([2, 1], grid_size=10, dtype=f64)
    coef_target = torch.stack([torch.sin(math.pi * x[:, 0]), x[:, 1] ** 2], -1).unsqueeze(1)  # (N, 1, 2)
    from basiskit.nn.kan_grid import fit_coefficients
    model.update_grid(x)
    with torch.no_grad():
        layer = model.layers[0]
        layer.weight[..., :layer.n_basis] = fit_coefficients(x, coef_target, layer.basis.knots, 3)
        layer.weight[..., layer.n_basis] = 0.0
    reports = model.auto_symbolic(x)
    assert [r["function"] for r in reports] == ["sin", "x^2"]
    assert min(r["r2"] for r in reports) > 0.9999
    model.fit_symbolic(x, y, steps=30)
    formula = model.symbolic_formula(["x", "y"])
    fn = sympy.lambdify(sympy.symbols("x y"), formula, "numpy")
    pred = torch.as_tensor(fn(x[:, 0].numpy(), x[:, 1].numpy()))
    assert float((pred - y[:, 0]).abs().max()) < 1e-4
    torch.testing.assert_close(model.symbolic_forward(x), y, atol=1e-4, rtol=0)


def test_plot_writes_one_png(tmp_path):
    model = _smooth_kan([2, 3, 1])
    x = torch.rand(50, 2, dtype=f64) * 2 - 1
    path = model.plot(str(tmp_path / "edges.png"), x)
    assert (tmp_path / "edges.png").stat().st_size > 1000 and path.endswith("edges.png")


def test_kan_builds_other_bases_and_bad_inputs():
    model = KAN([3, 4, 2], basis="chebyshev", degree=4)
    assert model(torch.rand(5, 3)).shape == (5, 2)
    with pytest.raises(ValueError, match="widths"):
        KAN([3])
    with pytest.raises(ValueError, match="grid_size"):
        KAN([2, 1], grid_size=0)
    with pytest.raises(ValueError, match="order"):
        KAN([2, 1], order=-1)
    with pytest.raises(ValueError, match="x"):
        KAN([2, 1]).update_grid(torch.tensor([[float("nan"), 0.0]]))
    with pytest.raises(ValueError, match="x"):
        KAN([2, 1]).update_grid(torch.zeros(0, 2))
    with pytest.raises(ValueError, match="x"):
        KAN([2, 1]).update_grid(torch.zeros(5, 3))
    with pytest.raises(RuntimeError, match="auto_symbolic"):
        KAN([2, 1]).symbolic_formula()


def test_grid_updates_during_fit_keep_the_optimizer_training_the_same_parameters():
    """pykan's default schedule through fit's StepHook: update_grid every 5 steps until step 20. The update
    refits coefficients in place, so the optimizer still owns the weights afterwards and training continues."""
    from basiskit.train import StepHook, fit

    torch.manual_seed(0)
    x = torch.rand(256, 2) * 4 - 2  # outside the initial grid [-1, 1]: the update matters
    y = torch.sin(x[:, :1]) * x[:, 1:]
    model = KAN([2, 4, 1], grid_size=5)
    before = [id(p) for p in model.parameters()]
    updates = []
    hook = StepHook(lambda s: (model.update_grid(s.batch[0]), updates.append(s.step)), every=5, until=20)
    res = fit(model, torch.nn.MSELoss(), (x, y), steps=60, batch_size=64, lr=1e-2, callbacks=[hook])
    assert updates == [5, 10, 15, 20]
    assert [id(p) for p in model.parameters()] == before
    grid_lo = model.layers[0].basis.knots[:, model.layers[0].basis.order]
    assert float(grid_lo.max()) < -1.2  # the grid followed the data
    steps, losses = res.curve("loss")
    assert losses[-1] < 0.3 * losses[0]


def test_attribution_follows_pykans_rule_and_finds_the_ignored_inputs():
    torch.manual_seed(0)
    x = torch.rand(512, 4, dtype=torch.float64) * 2 - 1
    y = torch.sin(2 * x[:, :1]) + x[:, 1:2] ** 2  # inputs 2 and 3 are ignored
    model = KAN([4, 5, 1], grid_size=5).double()
    from basiskit.train import fit

    def objective(m):  # pykan's workflow: train with the sparsity penalty, then attribute
        return torch.nn.functional.mse_loss(m(x), y) + 1e-3 * m.regularization_loss(x)

    fit(model, objective=objective, steps=300, lr=1e-2)
    attr = model.attribute(x)
    scores = model.feature_scores(x)
    assert len(attr.node_scores) == 3 and attr.edge_scores[0].shape == (5, 4)
    assert float(scores[2:].max()) < 0.2 * float(scores[:2].min())
    # the rule by hand for the last layer: edge score = std(phi) / (std(output) + 1e-4), output score 1
    h = model.layers[0](x)
    edge_std = model.layers[1].edge_activations(h).std(0)
    torch.testing.assert_close(attr.edge_scores[1], edge_std / (model(x).std(0)[:, None] + 1e-4))
    torch.testing.assert_close(attr.node_scores[1], attr.edge_scores[1].sum(0))
    # and one layer down: a node's score feeds its incoming edges, scaled by that node's spread
    edge0 = model.layers[0].edge_activations(x).std(0)
    torch.testing.assert_close(attr.edge_scores[0], edge0 * (attr.node_scores[1] / (h.std(0) + 1e-4))[:, None])
    with pytest.raises(ValueError, match="at least 2 samples"):
        model.attribute(x[:1])


@settings(max_examples=40, deadline=None)
@given(order=st.integers(0, 5), grid=st.integers(1, 12), n_in=st.integers(1, 4),
       boundary=st.sampled_from(["extend", "clamp"]), dtype=st.sampled_from([torch.float32, torch.float64]), seed=st.integers(0, 10_000))
def test_spline_basis_values_equals_the_cox_de_boor_basis(order, grid, n_in, boundary, dtype, seed):
    """The native window scattered into the dense basis equals the full Cox-de Boor recursion, on data-adapted
    (unequal) knots, with samples inside and past the grid range."""
    from basiskit.nn.kan_grid import adaptive_knots, spline_basis, spline_basis_values
    g = torch.Generator().manual_seed(seed)
    knots = adaptive_knots(torch.rand(64, n_in, generator=g, dtype=dtype) * 2 - 1, grid, order)
    x = torch.randn(200, n_in, generator=g, dtype=dtype) * 1.5
    ref = spline_basis(x, knots, order, boundary)
    got = spline_basis_values(x, knots, order, boundary)
    assert got.shape == ref.shape
    assert torch.allclose(got, ref, atol=5e-6 if dtype == torch.float32 else 1e-13)


def test_spline_basis_values_falls_back_on_repeated_knots_few_splines_and_non_finite_samples():
    from basiskit.nn.kan_grid import spline_basis, spline_basis_values
    knots = torch.tensor([[-1.0, -1.0, -1.0, 0.0, 0.5, 1.0, 1.0, 1.0]], dtype=f64)  # clamped: repeated ends
    x = torch.tensor([[-1.0], [-0.3], [0.2], [0.99], [1.0]], dtype=f64)
    assert torch.equal(spline_basis_values(x, knots, 2, "clamp"), spline_basis(x, knots, 2, "clamp"))
    x[1, 0] = float("nan")
    assert torch.equal(spline_basis_values(x, knots, 2, "clamp").isnan(),
                       spline_basis(x, knots, 2, "clamp").isnan())
    with pytest.raises(ValueError, match="boundary"):
        spline_basis_values(x, knots, 2, "wrap")
    # "extend" with fewer than order + 1 splines (the kernels' shift needs a whole window): the reference path
    few = torch.tensor([[-1.0, -0.5, 0.0, 0.5, 1.0, 1.5]], dtype=f64)
    z = torch.linspace(-1.2, 1.6, 9, dtype=f64)[:, None]
    assert torch.equal(spline_basis_values(z, few, 3, "extend"), spline_basis(z, few, 3, "extend"))
