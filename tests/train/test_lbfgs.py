"""basiskit.train.LBFGS: torch's iterates at torch's threshold; keeps learning where torch's drops every pair; its
two-loop recursion against the dense BFGS update, its line search against torch's, its state across a checkpoint."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.optim.lbfgs import _strong_wolfe as torch_strong_wolfe

from basiskit.train import LBFGS, fit
from basiskit.train import lbfgs as lbfgs_module
from basiskit.train.lbfgs import cubic_minimiser


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


def _evaluations(opt: torch.optim.LBFGS) -> tuple[int, int]:
    state = opt.state[opt.param_groups[0]["params"][0]]
    return state["func_evals"], state["n_iter"]


@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
def test_same_iterates_as_torch_at_torch_threshold(line_search):
    """Same path as torch's LBFGS: the same evaluations and iterations, iterates equal to rounding (the two-loop
    recursion through the Gram matrix rounds differently; Rosenbrock's valley amplifies it to ~1e-12 in five
    steps, so the bound is 1e-9)."""
    kw = {"lr": 1.0 if line_search else 0.1, "max_iter": 7, "history_size": 4, "line_search_fn": line_search}
    made = {}
    ours, loss_ours = _rosenbrock_run(lambda p: made.setdefault("ours", LBFGS(p, curvature_eps=1e-10, **kw)))
    ref, loss_ref = _rosenbrock_run(lambda p: made.setdefault("ref", torch.optim.LBFGS(p, **kw)))
    assert _evaluations(made["ours"]) == _evaluations(made["ref"])
    assert torch.allclose(ours, ref, rtol=1e-9, atol=1e-12)
    assert loss_ours == pytest.approx(loss_ref, rel=1e-6, abs=1e-300)


def _dense_bfgs_direction(grad, pairs, h0):
    """-H g with H from the BFGS inverse update applied to h0 I over the pairs, oldest first (closed form)."""
    n = grad.numel()
    eye = torch.eye(n, dtype=grad.dtype)
    h = h0 * eye
    for s, y in pairs:
        rho = 1.0 / float(y.dot(s))
        h = (eye - rho * torch.outer(s, y)) @ h @ (eye - rho * torch.outer(y, s)) + rho * torch.outer(s, s)
    return -(h @ grad)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 9), history=st.integers(1, 5), pairs=st.integers(0, 9), seed=st.integers(0, 10_000),
       gram=st.booleans())
def test_two_loop_direction_is_the_dense_bfgs_update(n, history, pairs, seed, gram):
    """The two-loop recursion (on the Gram matrix, or the textbook loops used for large problems) equals -H g for
    H the BFGS update of H_diag I over the newest ``history_size`` pairs, through the history's wrap-around and
    row growth."""
    limit = lbfgs_module.GRAM_MAX_NUMEL
    lbfgs_module.GRAM_MAX_NUMEL = limit if gram else 0
    try:
        state = _check_two_loop(n, history, pairs, seed)
        assert (state["gram"] is not None) == gram
    finally:
        lbfgs_module.GRAM_MAX_NUMEL = limit


def _check_two_loop(n, history, pairs, seed):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, n, generator=g, dtype=torch.float64)
    hess = a @ a.t() + n * torch.eye(n, dtype=torch.float64)  # y = A s with A SPD gives y.s > 0
    opt = LBFGS([torch.nn.Parameter(torch.zeros(n, dtype=torch.float64))], history_size=history)
    state = {}
    opt._history(state, n, torch.zeros(n, dtype=torch.float64))
    kept = []
    for _ in range(pairs):
        s = torch.randn(n, generator=g, dtype=torch.float64)
        y = hess @ s
        opt._remember(state, s, y, float(y.dot(s)))
        kept = (kept + [(s, y)])[-history:]
    grad = torch.randn(n, generator=g, dtype=torch.float64)
    h0 = state["H_diag"]
    if kept:
        s, y = kept[-1]
        assert h0 == pytest.approx(float(y.dot(s) / y.dot(y)), rel=1e-14)
    expected = _dense_bfgs_direction(grad, kept, h0)
    got = LBFGS._direction(grad, state)
    assert torch.allclose(got, expected, rtol=1e-9, atol=1e-11 * float(expected.abs().max()))
    assert state["S"].shape[0] <= history
    return state


_LINE_FUNCTIONS = {
    "rosenbrock": lambda z: ((1 - z[:-1]) ** 2 + 100 * (z[1:] - z[:-1] ** 2) ** 2).sum(),
    "quartic": lambda z: (z ** 4).sum() - 3 * (z ** 2).sum() + z.sum(),
    "softplus": lambda z: torch.log1p(torch.exp(3 * z)).sum() - 2 * z.sum() + 0.01 * (z ** 2).sum(),
}


def _line_function(kind: str):
    """(f, grad) of a test function of x (n,), float64: its value as a float and its autograd gradient."""
    expr = _LINE_FUNCTIONS[kind]

    def f(x):
        return float(expr(x))

    def grad(x):
        z = x.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            expr(z).backward()
        return z.grad
    return f, grad


@pytest.mark.parametrize("kind", ["rosenbrock", "quartic", "softplus"])
@pytest.mark.parametrize("t0", [1e-3, 0.1, 1.0, 30.0])
def test_line_search_matches_torchs_strong_wolfe(kind, t0):
    """The same trial steps, evaluations and result as torch's strong-Wolfe search along the steepest descent
    direction (extrapolation for small t0, zoom for large), up to rounding."""
    f, grad = _line_function(kind)
    gen = torch.Generator().manual_seed(3)
    for _ in range(4):
        x0 = torch.randn(5, generator=gen, dtype=torch.float64)
        g0 = grad(x0)
        d = -g0
        gtd = float(g0.dot(d))
        ours_t = []

        def evaluate(t, x0=x0, d=d, trials=ours_t):
            trials.append(t)
            x = x0 + t * d
            return f(x), grad(x)

        theirs_t = []

        def along(x, t, direction, trials=theirs_t):
            trials.append(float(t))
            z = x + t * direction
            return f(z), grad(z)

        opt = LBFGS([torch.nn.Parameter(x0.clone())])
        f1, g1, t1, n1 = opt._strong_wolfe(evaluate, d, t0, f(x0), g0, gtd)
        f2, g2, t2, n2 = torch_strong_wolfe(along, x0, t0, d, f(x0), g0, torch.tensor(gtd, dtype=torch.float64))
        # the same branches and trials; values to rounding (torch's tensor sqrt is not correctly rounded,
        # math.sqrt is: the two cubic steps can differ in the last bit)
        assert n1 == n2 and len(ours_t) == len(theirs_t)
        assert ours_t == pytest.approx(theirs_t, rel=1e-12)
        assert (t1, f1) == pytest.approx((float(t2), float(f2)), rel=1e-9)
        assert torch.allclose(g1, g2, rtol=1e-8)


def test_cubic_minimiser_is_the_cubic_interpolants_minimum():
    """On an exact cubic the interpolant is the cubic itself: its local minimiser, clipped to the bounds."""
    c = (0.5, -1.0, -2.0, 1.0)  # f = c0 + c1 t + c2 t^2 + c3 t^3, minimum at t = (2 + sqrt(7)) / 3

    def f(t):
        return c[0] + c[1] * t + c[2] * t * t + c[3] * t ** 3

    def df(t):
        return c[1] + 2 * c[2] * t + 3 * c[3] * t * t
    t_min = (2 + math.sqrt(7)) / 3
    for a, b in [(0.0, 3.0), (3.0, 0.5), (1.0, 2.0)]:
        assert cubic_minimiser(a, f(a), df(a), b, f(b), df(b)) == pytest.approx(t_min, rel=1e-12)
    assert cubic_minimiser(0.0, f(0.0), df(0.0), 3.0, f(3.0), df(3.0), lo=0.0, hi=1.0) == 1.0
    # no real minimiser (discriminant < 0): the middle of the bounds
    assert cubic_minimiser(0.0, 0.0, 2.0, 1.0, 1.0, 2.0, lo=0.0, hi=2.0) == 1.0


def test_line_search_on_a_function_unbounded_below_returns_a_finite_step():
    """f = -sum(x) never brackets: the first trial and 25 extrapolations, each up to 10x the last (torch's cubic
    divides by the zero curvature there and returns nan); the step stays finite and the loss falls."""
    x0 = torch.zeros(3, dtype=torch.float64)
    d = torch.ones(3, dtype=torch.float64)
    opt = LBFGS([torch.nn.Parameter(x0.clone())])
    f, _, t, n = opt._strong_wolfe(lambda t: (-3.0 * t, -torch.ones(3, dtype=torch.float64)), d, 1.0, 0.0,
                                   -torch.ones(3, dtype=torch.float64), -3.0)
    assert n == 26 and math.isfinite(t) and t > 1.0 and f == -3.0 * t
    assert cubic_minimiser(0.0, 0.0, -1.0, 1.0, -1.0, -1.0, lo=1.01, hi=10.0) == pytest.approx(5.505)


def test_resumes_from_its_state_dict():
    """Three steps straight equal two steps, a save and load into a fresh optimizer, and one step."""
    def run(split):
        x = torch.nn.Parameter(torch.tensor([-1.2, 1.0, 0.5], dtype=torch.float64))
        kw = {"max_iter": 4, "history_size": 3, "line_search_fn": "strong_wolfe"}
        opt = LBFGS([x], **kw)

        def closure():
            opt.zero_grad()
            loss = ((1 - x[:-1]) ** 2 + 100 * (x[1:] - x[:-1] ** 2) ** 2).sum()
            loss.backward()
            return loss
        for k in range(3):
            if k == split:
                saved = opt.state_dict()
                opt = LBFGS([x], **kw)
                opt.load_state_dict(saved)
            opt.step(closure)
        return x.detach()
    assert torch.equal(run(split=2), run(split=None))


@pytest.mark.parametrize("dtype", [torch.float32, torch.complex128])
def test_converges_for_float32_and_complex_parameters(dtype):
    target = torch.tensor([1.5, -0.5, 2.0], dtype=dtype) * (1 + 1j if dtype.is_complex else 1)
    z = torch.nn.Parameter(torch.zeros(3, dtype=dtype))
    opt = LBFGS([z], line_search_fn="strong_wolfe", max_iter=50)

    def closure():
        opt.zero_grad()
        loss = ((z - target).abs() ** 2).sum() + ((z - target).abs() ** 4).sum()
        loss.backward()
        return loss
    opt.step(closure)
    assert (z.detach() - target).abs().max() < 1e-3


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


@pytest.mark.parametrize("bad", [0, -2, 1.5])
def test_bad_history_size(bad):
    with pytest.raises((ValueError, TypeError), match="history_size"):
        LBFGS([torch.nn.Parameter(torch.zeros(1))], history_size=bad)


def test_step_needs_a_closure():
    with pytest.raises(ValueError, match="closure"):
        LBFGS([torch.nn.Parameter(torch.zeros(1))]).step(None)
