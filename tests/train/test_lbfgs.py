"""basiskit.train.LBFGS: torch's iterates at torch's threshold; keeps learning where torch's drops every pair."""
import pytest
import torch

from basiskit.train import LBFGS, fit


def _rosenbrock_run(make, scale: float = 1.0, steps: int = 5) -> tuple[torch.Tensor, float]:
    x = torch.nn.Parameter(torch.tensor([-1.2, 1.0], dtype=torch.float64))
    opt = make([x])

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = scale * ((1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2)
        loss.backward()
        return loss

    for _ in range(steps):
        opt.step(closure)
    return x.detach(), float(closure().detach())


@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
def test_same_iterates_as_torch_at_torch_threshold(line_search):
    kw = {"lr": 1.0 if line_search else 0.1, "max_iter": 7, "history_size": 4, "line_search_fn": line_search}
    ours, loss_ours = _rosenbrock_run(lambda p: LBFGS(p, curvature_eps=1e-10, **kw))
    ref, loss_ref = _rosenbrock_run(lambda p: torch.optim.LBFGS(p, **kw))
    assert torch.allclose(ours, ref, rtol=1e-12, atol=1e-14)
    assert loss_ours == pytest.approx(loss_ref, rel=1e-10, abs=1e-300)


def test_small_threshold_keeps_learning_on_a_tiny_loss():
    """Rosenbrock scaled by 1e-12: every y.s is below torch's 1e-10, so torch's LBFGS keeps no pair and crawls
    along the valley; with curvature_eps=1e-32 the pairs are kept and it converges."""
    kw = {"lr": 1.0, "max_iter": 20, "history_size": 10, "line_search_fn": "strong_wolfe", "tolerance_grad": 1e-32,
          "tolerance_change": 1e-32}
    ours, _ = _rosenbrock_run(lambda p: LBFGS(p, curvature_eps=1e-32, **kw), scale=1e-12, steps=5)
    ref, _ = _rosenbrock_run(lambda p: torch.optim.LBFGS(p, **kw), scale=1e-12, steps=5)
    one = torch.ones(2, dtype=torch.float64)
    assert (ours - one).abs().max() < 1e-6
    assert (ref - one).abs().max() > 1e-3


def test_fit_steps_it_with_a_closure():
    torch.manual_seed(0)
    x = torch.randn(64, 3, dtype=torch.float64)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]], dtype=torch.float64)
    model = torch.nn.Linear(3, 1, dtype=torch.float64)
    res = fit(model, lambda p, t: ((p - t) ** 2).mean(), (x, y), steps=3,
              optimizer=lambda p: LBFGS(p, max_iter=20, line_search_fn="strong_wolfe", curvature_eps=1e-32,
                                               tolerance_grad=1e-32, tolerance_change=1e-32))
    assert float(((model(x) - y) ** 2).mean().detach()) < 1e-20
    assert res is not None


@pytest.mark.parametrize("bad", [-1.0, float("nan")])
def test_bad_curvature_eps(bad):
    with pytest.raises(ValueError, match="curvature_eps"):
        LBFGS([torch.nn.Parameter(torch.zeros(1))], curvature_eps=bad)


def test_step_needs_a_closure():
    with pytest.raises(ValueError, match="closure"):
        LBFGS([torch.nn.Parameter(torch.zeros(1))]).step(None)
