r"""Symbolic regression of a trained KAN, edge by edge (Liu et al. 2024, "KAN", section 2.5.1).

Every edge function :math:`\phi(x)` is fitted by :math:`c\,f(a x + b) + d` for each ``f`` of a library: a coarse
grid over (a, b) with (c, d) by linear least squares (:math:`R^2` = squared correlation), two zoomed grids
around the best point, then a few Gauss-Newton (LBFGS) steps on all four constants. The simplest function
whose :math:`R^2` is within ``tolerance`` of the best wins (ties go to the earlier library entry).
``fit_symbolic`` then tunes all constants of the symbolic network jointly on data, and ``symbolic_formula``
writes it out with sympy (optional extra).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from .._validation import check_float, check_int, unknown_name_message
from ..measure import train_step
from .kan_linear import multiply_subnodes


@dataclass(frozen=True)
class SymbolicFunction:
    """``torch_fn`` (safe: finite for any input), ``sympy_fn`` (exact), ``valid`` (argument domain on which the
    two agree) and a complexity used to prefer simpler formulas."""

    name: str
    torch_fn: Callable[[torch.Tensor], torch.Tensor]
    sympy_fn: Callable[[Any], Any]
    complexity: int
    valid: Callable[[torch.Tensor], torch.Tensor] = lambda z: torch.ones_like(z, dtype=torch.bool)


def _sp(name: str) -> Callable[[Any], Any]:
    def f(z: Any) -> Any:
        import sympy

        return {"exp": sympy.exp, "log": sympy.log, "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan,
                "tanh": sympy.tanh, "atan": sympy.atan, "asin": sympy.asin, "abs": sympy.Abs,
                "sign": sympy.sign, "cosh": sympy.cosh, "sqrt": sympy.sqrt}[name](z)

    return f


_EPS = 1e-4
LIBRARY: dict[str, SymbolicFunction] = {f.name: f for f in [
    SymbolicFunction("x", lambda z: z, lambda z: z, 1),
    SymbolicFunction("x^2", lambda z: z * z, lambda z: z**2, 2),
    SymbolicFunction("x^3", lambda z: z**3, lambda z: z**3, 3),
    SymbolicFunction("x^4", lambda z: z**4, lambda z: z**4, 3),
    SymbolicFunction("x^5", lambda z: z**5, lambda z: z**5, 3),
    SymbolicFunction("1/x", lambda z: 1 / torch.where(z.abs() < _EPS, torch.full_like(z, _EPS), z),
                     lambda z: 1 / z, 2, lambda z: z.abs() > _EPS),
    SymbolicFunction("1/x^2", lambda z: 1 / z.square().clamp_min(_EPS**2), lambda z: z**-2, 2,
                     lambda z: z.abs() > _EPS),
    SymbolicFunction("sqrt", lambda z: torch.sqrt(z.clamp_min(0)), _sp("sqrt"), 2, lambda z: z >= 0),
    SymbolicFunction("1/sqrt", lambda z: torch.rsqrt(z.clamp_min(_EPS)), lambda z: 1 / _sp("sqrt")(z), 2,
                     lambda z: z > _EPS),
    SymbolicFunction("exp", lambda z: torch.exp(z.clamp(max=50)), _sp("exp"), 2, lambda z: z < 50),
    SymbolicFunction("log", lambda z: torch.log(z.clamp_min(_EPS)), _sp("log"), 2, lambda z: z > _EPS),
    SymbolicFunction("sin", torch.sin, _sp("sin"), 2),
    SymbolicFunction("cos", torch.cos, _sp("cos"), 2),
    SymbolicFunction("tan", lambda z: torch.tan(z.clamp(-1.5, 1.5)), _sp("tan"), 3, lambda z: z.abs() < 1.5),
    SymbolicFunction("tanh", torch.tanh, _sp("tanh"), 3),
    SymbolicFunction("sigmoid", torch.sigmoid, lambda z: 1 / (1 + _sp("exp")(-z)), 3),
    SymbolicFunction("arctan", torch.atan, _sp("atan"), 3),
    SymbolicFunction("arcsin", lambda z: torch.asin(z.clamp(-1, 1)), _sp("asin"), 3, lambda z: z.abs() <= 1),
    SymbolicFunction("abs", torch.abs, _sp("abs"), 3),
    SymbolicFunction("sgn", torch.sign, _sp("sign"), 3),
    SymbolicFunction("gaussian", lambda z: torch.exp(-z * z), lambda z: _sp("exp")(-z**2), 3),
    SymbolicFunction("cosh", lambda z: torch.cosh(z.clamp(-50, 50)), _sp("cosh"), 3, lambda z: z.abs() < 50),
]}


def _r2(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """R^2 of the best c z + d for y, over the last dim (squared correlation); 0 for constant z."""
    zc = z - z.mean(-1, keepdim=True)
    yc = y - y.mean()
    cov = (zc * yc).sum(-1)
    var = (zc * zc).sum(-1)
    return torch.where(var > 1e-30, cov * cov / (var * (yc * yc).sum() + 1e-300), torch.zeros_like(cov))


def _grid_search(fn: SymbolicFunction, x: torch.Tensor, y: torch.Tensor, a_range: float, b_range: float,
                 n_grid: int) -> tuple[float, float, float]:
    a = torch.linspace(-a_range, a_range, n_grid, dtype=x.dtype)
    b = torch.linspace(-b_range, b_range, n_grid, dtype=x.dtype)
    best = (-1.0, 1.0, 0.0)
    step_a, step_b = a[1] - a[0], b[1] - b[0]
    for _ in range(3):
        z = a[:, None, None] * x + b[None, :, None]
        score = _r2(fn.torch_fn(z), y)
        score = torch.where(fn.valid(z).all(-1) & torch.isfinite(score), score, torch.full_like(score, -1.0))
        k = int(torch.argmax(score))
        ia, ib = divmod(k, score.shape[1])
        if float(score[ia, ib]) > best[0]:
            best = (float(score[ia, ib]), float(a[ia]), float(b[ib]))
        a = torch.linspace(best[1] - step_a, best[1] + step_a, 21, dtype=x.dtype)
        b = torch.linspace(best[2] - step_b, best[2] + step_b, 21, dtype=x.dtype)
        step_a, step_b = a[1] - a[0], b[1] - b[0]
    return best


def _linear_fit(z: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    zc = z - z.mean()
    var = float((zc * zc).sum())
    c = float((zc * (y - y.mean())).sum()) / var if var > 1e-30 else 0.0
    return c, float(y.mean() - c * z.mean())


def _polish(fn: SymbolicFunction, x: torch.Tensor, y: torch.Tensor, params: list[float], steps: int) -> list[float]:
    theta = torch.tensor(params, dtype=torch.float64, requires_grad=True)
    xd, yd = x.double(), y.double()
    opt = torch.optim.LBFGS([theta], lr=1.0, max_iter=steps, line_search_fn="strong_wolfe", tolerance_grad=1e-32,
                            tolerance_change=1e-32)

    def mse() -> torch.Tensor:
        return ((theta[2] * fn.torch_fn(theta[0] * xd + theta[1]) + theta[3] - yd) ** 2).mean()

    try:
        opt.step(train_step(mse, [theta]))
    except RuntimeError:
        return params
    new = theta.detach().tolist()
    if not all(math.isfinite(v) for v in new) or not bool(fn.valid(new[0] * xd + new[1]).all()):
        return params
    return new


def fit_edge(x: torch.Tensor, y: torch.Tensor, library: Sequence[str] | None = None, *, a_range: float = 10.0,
             b_range: float = 10.0, n_grid: int = 41, polish_steps: int = 100, polish_top: int = 6,
             tolerance: float = 1e-4
             ) -> tuple[str, list[float], float, dict[str, float]]:
    """Best ``c f(a x + b) + d`` for samples ``x, y: (n,)``: (name, [a, b, c, d], r2, r2 of every function).

    Every function gets the (a, b) grid search; the ``polish_top`` best are then polished by LBFGS."""
    names = list(LIBRARY) if library is None else list(library)
    for n in names:
        if n not in LIBRARY:
            raise ValueError(f"library: {unknown_name_message('symbolic function', n, LIBRARY)}")
    x, y = x.detach().double().flatten(), y.detach().double().flatten()
    ss = float(((y - y.mean()) ** 2).sum())

    def score(fn: SymbolicFunction, params: list[float]) -> float:
        pred = params[2] * fn.torch_fn(params[0] * x + params[1]) + params[3]
        r2 = 1.0 - float(((pred - y) ** 2).sum()) / ss if ss > 0 else 0.0
        return r2 if math.isfinite(r2) else -math.inf

    fits: dict[str, tuple[float, list[float]]] = {}
    for name in names:
        fn = LIBRARY[name]
        if name == "x":
            c, d = _linear_fit(x, y)
            params = [1.0, 0.0, c, d]
        else:
            _, a, b = _grid_search(fn, x, y, a_range, b_range, n_grid)
            c, d = _linear_fit(fn.torch_fn(a * x + b), y)
            params = [a, b, c, d]
        fits[name] = (score(fn, params), params)
    # polish the most promising candidates only (all four constants by LBFGS)
    for name in sorted(fits, key=lambda n: -fits[n][0])[:polish_top] if polish_steps else []:
        if name != "x":
            params = _polish(LIBRARY[name], x, y, fits[name][1], polish_steps)
            fits[name] = max(fits[name], (score(LIBRARY[name], params), params), key=lambda v: v[0])
    best = max(v[0] for v in fits.values())
    ok = [n for n in names if fits[n][0] >= best - tolerance]
    choice = min(ok, key=lambda n: (LIBRARY[n].complexity, names.index(n)))  # ties: library order
    return choice, fits[choice][1], fits[choice][0], {n: v[0] for n, v in fits.items()}


def auto_symbolic(kan: Any, x: torch.Tensor, library: Sequence[str] | None = None, *, dead_tol: float = 1e-3,
                  **options: Any) -> list[dict[str, Any]]:
    """Fit every edge of ``kan`` on the layer inputs it sees for ``x``; store the fits on ``kan.symbolic``.

    An edge whose spread (std over x) is below ``dead_tol`` times the largest edge spread of its layer is the
    constant "0" function (its mean goes into d). Returns one dict per edge:
    ``{layer, input, output, function, params: [a, b, c, d], r2}``.
    """
    check_float("dead_tol", dead_tol, min_value=0.0)
    inputs = kan.layer_inputs(x)
    reports, store = [], []
    for l, (layer, h) in enumerate(zip(kan.layers, inputs)):
        with torch.no_grad():
            edges = layer.edge_activations(h)  # (N, out, in)
        spread = edges.std(0)
        names = [[None] * layer.in_features for _ in range(layer.out_features)]
        params = torch.zeros(layer.out_features, layer.in_features, 4, dtype=torch.float64)
        for j in range(layer.out_features):
            for i in range(layer.in_features):
                if float(spread[j, i]) <= dead_tol * float(spread.max()):
                    name, p, r2 = "0", [0.0, 0.0, 0.0, float(edges[:, j, i].mean())], float("nan")
                else:
                    name, p, r2, _ = fit_edge(h[:, i], edges[:, j, i], library, **options)
                names[j][i] = name
                params[j, i] = torch.tensor(p, dtype=torch.float64)
                reports.append({"layer": l, "input": i, "output": j, "function": name, "params": p, "r2": r2})
        bias = (layer.bias.detach().double().clone() if layer.bias is not None
                else torch.zeros(layer.out_features, dtype=torch.float64))
        store.append({"names": names, "params": params, "bias": bias})
    kan.symbolic = store
    return reports


def _require(kan: Any) -> list[dict[str, Any]]:
    if not getattr(kan, "symbolic", None):
        raise RuntimeError("no symbolic fits yet: call kan.auto_symbolic(x) first")
    return kan.symbolic


def _edge(name: str, z: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    if name == "0":
        return p[3] + 0 * z
    return p[2] * LIBRARY[name].torch_fn(p[0] * z + p[1]) + p[3]


def _mult_layout(kan: Any, l: int) -> tuple[int, int, int]:
    """(sum nodes, multiplication nodes, arity) of node layer ``l`` of ``kan``."""
    mult = getattr(kan, "mult_nodes", None)
    if not mult:
        return 0, 0, 2
    return int(kan.widths[l]), int(mult[l]), int(kan.mult_arity)


def symbolic_forward(kan: Any, x: torch.Tensor, store: list[dict[str, Any]] | None = None) -> torch.Tensor:
    """Evaluate the symbolic network (float64), multiplication nodes included. x: (N, widths[0]) ->
    (N, widths[-1])."""
    store = store or _require(kan)
    h = x.double()
    for l, layer in enumerate(store):
        names, params, bias = layer["names"], layer["params"], layer["bias"]
        outs = []
        for j, row in enumerate(names):
            total = bias[j] + torch.zeros(h.shape[0], dtype=h.dtype)
            for i, name in enumerate(row):
                total = total + _edge(name, h[:, i], params[j, i])
            outs.append(total)
        h = multiply_subnodes(torch.stack(outs, -1), *_mult_layout(kan, l + 1))
    return h


def fit_symbolic(kan: Any, x: torch.Tensor, y: torch.Tensor, steps: int = 50) -> float:
    """Tune every symbolic constant jointly by LBFGS on (x, y) (MSE); returns the final RMSE."""
    check_int("steps", steps, min_value=1)
    store = _require(kan)
    leaves = []
    for layer in store:
        layer["params"] = layer["params"].clone().requires_grad_(True)
        layer["bias"] = layer["bias"].clone().requires_grad_(True)
        leaves += [layer["params"], layer["bias"]]
    opt = torch.optim.LBFGS(leaves, lr=1.0, max_iter=steps, history_size=50, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-32, tolerance_change=1e-32)
    yd = y.double()

    closure = train_step(lambda: ((symbolic_forward(kan, x, store) - yd) ** 2).mean(), leaves)

    before = [(layer["params"].detach().clone(), layer["bias"].detach().clone()) for layer in store]
    start = float(closure().detach())
    opt.step(closure)
    with torch.no_grad():
        end = float(((symbolic_forward(kan, x, store) - yd) ** 2).mean())
    for layer, (p, b) in zip(store, before):
        if not (math.isfinite(end) and end <= start):
            layer["params"], layer["bias"] = p, b
        else:
            layer["params"], layer["bias"] = layer["params"].detach(), layer["bias"].detach()
    return math.sqrt(min(end, start) if math.isfinite(end) else start)


def symbolic_formula(kan: Any, variables: Sequence[str] | None = None, digits: int | None = None) -> Any:
    """sympy expression of the symbolic network (a list when there are several outputs)."""
    try:
        import sympy
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("symbolic_formula needs sympy: pip install 'basiskit[symbolic]'") from e
    store = _require(kan)
    n_in = len(store[0]["names"][0])
    names = list(variables) if variables is not None else [f"x_{i + 1}" for i in range(n_in)]
    if len(names) != n_in:
        raise ValueError(f"variables must name {n_in} inputs, got {len(names)}: {names}")
    h: list[Any] = list(sympy.symbols(names))

    def num(v: float) -> Any:
        return sympy.Float(round(v, digits) if digits is not None else v)

    for l, layer in enumerate(store):
        outs = []
        for j, row in enumerate(layer["names"]):
            total = num(float(layer["bias"][j]))
            for i, name in enumerate(row):
                a, b, c, d = (float(v) for v in layer["params"][j, i])
                if name == "0":
                    total += num(d)
                else:
                    total += num(c) * LIBRARY[name].sympy_fn(num(a) * h[i] + num(b)) + num(d)
            outs.append(total)
        n_sum, n_mult, arity = _mult_layout(kan, l + 1)
        if n_mult:  # multiplication nodes: products of consecutive subnodes (see basiskit.nn.kan)
            outs = outs[:n_sum] + [sympy.Mul(*outs[n_sum + m * arity: n_sum + (m + 1) * arity])
                                   for m in range(n_mult)]
        h = outs
    return h[0] if len(h) == 1 else h
