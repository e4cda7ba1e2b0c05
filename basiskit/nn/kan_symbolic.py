r"""Symbolic regression of a trained KAN, edge by edge (Liu et al. 2024, "KAN", section 2.5.1), and the per-edge
symbolic branch that holds the fixed edges (pykan's ``Symbolic_KANLayer``).

Every edge function :math:`\phi(x)` is fitted by :math:`c\,f(a x + b) + d` for each ``f`` of a library: a coarse
grid over (a, b) with (c, d) by linear least squares (:math:`R^2` = squared correlation), two zoomed grids
around the best point, then a few Gauss-Newton (LBFGS) steps on all four constants. The simplest function
whose :math:`R^2` is within ``tolerance`` of the best wins (ties go to the earlier library entry).
``fit_symbolic`` then tunes all constants of the symbolic network jointly on data, and ``symbolic_formula``
writes it out with sympy (optional extra).

The per-edge branch: every layer of a ``KAN`` owns a ``KANEdges`` module (``kan.edges[l]``) with, per edge (j, i),
a spline mask, a symbolic mask, the function name and the constants ``affine[j, i] = (a, b, c, d)`` as a real
``nn.Parameter`` in the model's dtype. The layer's output is

.. math::  y_j = \sum_i m^{\mathrm{num}}_{ji}\,\phi_{ji}(x_i) + m^{\mathrm{sym}}_{ji}\,(c_{ji} f_{ji}(a_{ji} x_i + b_{ji})
           + d_{ji}) + \beta_j

so spline edges and fixed symbolic edges train together (mixed training: the constants get gradients, a fixed
edge's spline coefficients get none), and a pruned edge (both masks 0) stays pruned whatever the optimizer does.
Masks and constants are in the ``state_dict``; the names go into ``KAN.config()`` (a user function is saved by
name: loading fails clearly unless it is registered again with ``register_symbolic``).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .._validation import check_float, check_int, unknown_name_message
from ..measure import train_step


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


ZERO = SymbolicFunction("0", lambda z: torch.zeros_like(z), lambda z: 0, 0)
"""The constant edge: ``c * 0 + d`` (what ``auto_symbolic`` fixes a dead edge to)."""
BUILTIN = frozenset(LIBRARY)


def register_symbolic(name: str, torch_fn: Callable[[torch.Tensor], torch.Tensor],
                      sympy_fn: Callable[[Any], Any] | None = None, complexity: int = 2,
                      valid: Callable[[torch.Tensor], torch.Tensor] | None = None, *, overwrite: bool = False
                      ) -> SymbolicFunction:
    """Add a user function ``f`` to the symbolic library (``LIBRARY[name]``), usable by ``fit_edge``,
    ``KAN.fix_symbolic``/``suggest_symbolic``/``auto_symbolic(library=[..., name])``. ``torch_fn`` must be finite
    for every input (clamp it; ``valid`` says where it is exact); ``sympy_fn`` (default: an undefined sympy
    function of that name) is used by ``symbolic_formula``. Saved KANs name it; register it again before loading.
    Built-in names cannot be replaced; a user name is replaced only with ``overwrite=True``."""
    if not isinstance(name, str) or not name or name == "0":
        raise ValueError(f"name must be a non-empty string other than '0', got {name!r}")
    if name in BUILTIN:
        raise ValueError(f"name {name!r} is a built-in symbolic function; choose another name")
    if name in LIBRARY and not overwrite:
        raise ValueError(f"symbolic function {name!r} is already registered; pass overwrite=True to replace it")
    if not callable(torch_fn):
        raise TypeError(f"torch_fn must be callable, got {type(torch_fn).__name__}")
    check_int("complexity", complexity, min_value=0)
    if sympy_fn is None:
        def sympy_fn(z: Any, _name: str = name) -> Any:
            import sympy

            return sympy.Function(_name)(z)
    fn = SymbolicFunction(name, torch_fn, sympy_fn, int(complexity),
                          valid if valid is not None else (lambda z: torch.ones_like(z, dtype=torch.bool)))
    LIBRARY[name] = fn
    return fn


def unregister_symbolic(name: str) -> None:
    """Remove a user function added by ``register_symbolic`` (built-ins stay)."""
    if name in BUILTIN:
        raise ValueError(f"{name!r} is a built-in symbolic function and cannot be removed")
    if name not in LIBRARY:
        raise ValueError(unknown_name_message("symbolic function", name, LIBRARY))
    del LIBRARY[name]


def symbolic_function(name: str) -> SymbolicFunction:
    """``LIBRARY[name]`` (or ``ZERO`` for "0"), with a did-you-mean ``ValueError`` for an unknown name."""
    if name == "0":
        return ZERO
    if not isinstance(name, str) or name not in LIBRARY:
        raise ValueError(f"fn: {unknown_name_message('symbolic function', str(name), LIBRARY)}")
    return LIBRARY[name]


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


def _fit_all(x: torch.Tensor, y: torch.Tensor, names: list[str], *, a_range: float, b_range: float, n_grid: int,
             polish_steps: int, polish_top: int) -> dict[str, tuple[float, list[float]]]:
    """(R^2, [a, b, c, d]) of every function of ``names`` for float64 samples x, y: (n,)."""
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
    return fits


def _library_names(library: Sequence[str] | None) -> list[str]:
    names = list(LIBRARY) if library is None else list(library)
    if not names:
        raise ValueError("library must name at least one symbolic function, got an empty list")
    for n in names:
        if n not in LIBRARY:
            raise ValueError(f"library: {unknown_name_message('symbolic function', str(n), LIBRARY)}")
    return names


def fit_edge(x: torch.Tensor, y: torch.Tensor, library: Sequence[str] | None = None, *, a_range: float = 10.0,
             b_range: float = 10.0, n_grid: int = 41, polish_steps: int = 100, polish_top: int = 6,
             tolerance: float = 1e-4
             ) -> tuple[str, list[float], float, dict[str, float]]:
    """Best ``c f(a x + b) + d`` for samples ``x, y: (n,)``: (name, [a, b, c, d], r2, r2 of every function).

    Every function gets the (a, b) grid search; the ``polish_top`` best are then polished by LBFGS."""
    names = _library_names(library)
    x, y = x.detach().double().flatten(), y.detach().double().flatten()
    fits = _fit_all(x, y, names, a_range=a_range, b_range=b_range, n_grid=n_grid, polish_steps=polish_steps,
                    polish_top=polish_top)
    best = max(v[0] for v in fits.values())
    ok = [n for n in names if fits[n][0] >= best - tolerance]
    choice = min(ok, key=lambda n: (LIBRARY[n].complexity, names.index(n)))  # ties: library order
    return choice, fits[choice][1], fits[choice][0], {n: v[0] for n, v in fits.items()}


def rank_fits(x: torch.Tensor, y: torch.Tensor, library: Sequence[str] | None = None, top_k: int = 5, *,
              tolerance: float = 1e-4, **options: Any) -> list[dict[str, Any]]:
    """The ``top_k`` best functions for samples ``x, y: (n,)``, best first, as dicts ``{function, r2,
    complexity, params: [a, b, c, d]}``. Order: functions whose R^2 is within ``tolerance`` of the best come
    first, simplest first (``fit_edge``'s choice is the first entry), then the rest by decreasing R^2."""
    check_int("top_k", top_k, min_value=1)
    names = _library_names(library)
    xd, yd = x.detach().double().flatten(), y.detach().double().flatten()
    fits = _fit_all(xd, yd, names, **{"a_range": 10.0, "b_range": 10.0, "n_grid": 41, "polish_steps": 100,
                                      "polish_top": 6, **options})
    best = max(v[0] for v in fits.values())

    def key(n: str) -> tuple:
        near = fits[n][0] >= best - tolerance
        return (0, LIBRARY[n].complexity, names.index(n)) if near else (1, -fits[n][0], names.index(n))

    return [{"function": n, "r2": fits[n][0], "complexity": LIBRARY[n].complexity, "params": fits[n][1]}
            for n in sorted(names, key=key)[:top_k]]


class KANEdges(nn.Module):
    r"""Per-edge state of one KAN layer with ``in_features`` inputs and ``out_features`` outputs (see the module
    docstring): ``numeric_mask`` (out, in) 1 where the spline edge is active, ``symbolic_mask`` (out, in) 1 where
    the edge is fixed to :math:`c f(a x + b) + d`, ``affine`` (out, in, 4) the trainable constants (a, b, c, d),
    ``names[j][i]`` the function name (None for a spline or pruned edge). An edge with both masks 0 is pruned.

    ``affine`` is a parameter only while some edge is symbolic (None before the first ``fix`` and after the last
    ``unfix``), so every parameter of a KAN gets a gradient; create the optimizer after fixing edges.
    """

    def __init__(self, in_features: int, out_features: int, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.names: list[list[str | None]] = [[None] * self.in_features for _ in range(self.out_features)]
        self.register_parameter("affine", None)
        self.register_buffer("numeric_mask", torch.ones(self.out_features, self.in_features, device=device,
                                                        dtype=dtype if dtype is not None else torch.get_default_dtype()))
        self.register_buffer("symbolic_mask", torch.zeros_like(self.numeric_mask))
        self._refresh()

    def _refresh(self) -> None:
        """Python-side flags (no tensor reads in ``forward``): any symbolic edge, any masked spline edge; the
        constants exist only while some edge is symbolic."""
        self.has_symbolic = any(n is not None for row in self.names for n in row)
        self.all_numeric = bool((self.numeric_mask == 1).all()) and not self.has_symbolic
        if not self.has_symbolic:
            self.affine = None

    def _ensure_affine(self) -> torch.Tensor:
        if self.affine is None:
            affine = torch.zeros(self.out_features, self.in_features, 4, device=self.numeric_mask.device,
                                 dtype=self.numeric_mask.dtype)
            affine[..., 0] = 1.0
            affine[..., 2] = 1.0
            self.affine = nn.Parameter(affine)
        return self.affine

    # ---- edits ------------------------------------------------------------------------------------
    def _check_edge(self, i: int, j: int) -> None:
        check_int("i", i, min_value=0, max_value=self.in_features - 1)
        check_int("j", j, min_value=0, max_value=self.out_features - 1)

    @torch.no_grad()
    def fix(self, i: int, j: int, name: str, params: Sequence[float]) -> None:
        """Edge (input i -> output j) becomes ``c f(a x + b) + d`` with ``params = (a, b, c, d)``."""
        self._check_edge(i, j)
        symbolic_function(name)
        values = torch.as_tensor([float(v) for v in params], dtype=self.numeric_mask.dtype)
        if values.shape != (4,) or not bool(torch.isfinite(values).all()):
            raise ValueError(f"params must be 4 finite numbers (a, b, c, d), got {list(params)}")
        self._ensure_affine()[j, i] = values.to(self.numeric_mask.device)
        self.names[j][i] = name
        self.numeric_mask[j, i] = 0.0
        self.symbolic_mask[j, i] = 1.0
        self._refresh()

    @torch.no_grad()
    def unfix(self, i: int, j: int) -> None:
        """Edge (i -> j) back to its spline (kept, untouched, while the edge was symbolic)."""
        self._check_edge(i, j)
        if self.names[j][i] is None:
            state = "pruned" if float(self.numeric_mask[j, i]) == 0 else "a spline edge"
            raise ValueError(f"edge (i={i}, j={j}) is not symbolic (it is {state}); nothing to unfix")
        self.names[j][i] = None
        self.numeric_mask[j, i] = 1.0
        self.symbolic_mask[j, i] = 0.0
        self._refresh()

    @torch.no_grad()
    def prune(self, keep: torch.Tensor) -> None:
        """Zero both masks where the bool ``keep: (out, in)`` is False (the edge is gone for good)."""
        drop = ~keep.to(torch.bool)
        self.numeric_mask[drop] = 0.0
        self.symbolic_mask[drop] = 0.0
        for j, i in drop.nonzero().tolist():
            self.names[j][i] = None
        self._refresh()

    @torch.no_grad()
    def select(self, outputs: torch.Tensor | None = None, inputs: torch.Tensor | None = None) -> None:
        """Keep the edges of the given output rows / input columns (node and input pruning)."""
        rows = torch.arange(self.out_features) if outputs is None else outputs.cpu()
        cols = torch.arange(self.in_features) if inputs is None else inputs.cpu()
        dev = self.numeric_mask.device
        if self.affine is not None:
            self.affine = nn.Parameter(self.affine.detach()[rows.to(dev)][:, cols.to(dev)].clone())
        self.numeric_mask = self.numeric_mask[rows.to(dev)][:, cols.to(dev)].clone()
        self.symbolic_mask = self.symbolic_mask[rows.to(dev)][:, cols.to(dev)].clone()
        self.names = [[self.names[j][i] for i in cols.tolist()] for j in rows.tolist()]
        self.out_features, self.in_features = len(rows), len(cols)
        self._refresh()

    @torch.no_grad()
    def set_names(self, names: list[list[str | None]]) -> None:
        """Restore the symbolic edges by name (``from_config``): each named edge becomes symbolic with default
        constants (the ``state_dict`` then brings the saved constants and masks). Every name must be
        registered."""
        if (not isinstance(names, list) or len(names) != self.out_features
                or any(not isinstance(r, list) or len(r) != self.in_features for r in names)):
            raise ValueError(f"symbolic names must be a {self.out_features} x {self.in_features} table (list of "
                             f"lists), got {names!r}")
        for row in names:
            for n in row:
                if n is not None:
                    symbolic_function(n)
        self.names = [list(r) for r in names]
        for j, row in enumerate(names):
            for i, n in enumerate(row):
                if n is not None:
                    self._ensure_affine()
                    self.numeric_mask[j, i] = 0.0
                    self.symbolic_mask[j, i] = 1.0
        self._refresh()

    def check_consistent(self) -> None:
        """Raise ``ValueError`` unless the names and the masks agree (a named edge has symbolic mask 1 and spline
        mask 0, an unnamed one symbolic mask 0) and the masks hold only 0 and 1."""
        for m in (self.numeric_mask, self.symbolic_mask):
            if not bool(((m == 0) | (m == 1)).all()):
                raise ValueError("edge masks must hold only 0 and 1")
        for j, row in enumerate(self.names):
            for i, n in enumerate(row):
                sym, num = float(self.symbolic_mask[j, i]), float(self.numeric_mask[j, i])
                if (n is not None) != (sym == 1.0) or (n is not None and num != 0.0):
                    raise ValueError(f"edge (i={i}, j={j}): symbolic name {n!r} but masks symbolic={sym}, "
                                     f"spline={num}")

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # type: ignore[no-untyped-def]
        # files saved before the per-edge branch existed have no mask keys: keep the defaults (all spline edges);
        # pruning changes the shapes: take the saved ones (the names come from the configuration); the constants
        # are saved only when some edge is symbolic
        for key in ("numeric_mask", "symbolic_mask"):
            if prefix + key not in state_dict:
                state_dict[prefix + key] = getattr(self, key).detach()
        saved = state_dict[prefix + "numeric_mask"]
        dev, dtype = self.numeric_mask.device, self.numeric_mask.dtype
        if saved.shape != self.numeric_mask.shape:
            self.numeric_mask = torch.empty(saved.shape, device=dev, dtype=dtype)
            self.symbolic_mask = torch.empty_like(self.numeric_mask)
            self.out_features, self.in_features = saved.shape
            self.names = [[None] * self.in_features for _ in range(self.out_features)]
            self.affine = None
        if prefix + "affine" in state_dict and self.affine is None:
            self.affine = nn.Parameter(torch.empty(*saved.shape, 4, device=dev, dtype=dtype))
        elif prefix + "affine" not in state_dict and self.affine is not None and not self.has_symbolic:
            self.affine = None
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self.has_symbolic = any(n is not None for row in self.names for n in row)
        self.all_numeric = bool((self.numeric_mask == 1).all()) and not self.has_symbolic

    # ---- evaluation ---------------------------------------------------------------------------------
    def edge_values(self, x: torch.Tensor) -> torch.Tensor:
        """Symbolic part of every edge, ``m_sym * (c f(a x + b) + d)``: x (N, in) -> (N, out, in)."""
        out = x.new_zeros(x.shape[0], self.out_features, self.in_features)
        if not self.has_symbolic or self.affine is None:
            return out
        affine = self.affine.to(x.dtype)
        z = affine[..., 0] * x.unsqueeze(1) + affine[..., 1]  # (N, out, in)
        for name in sorted({n for row in self.names for n in row if n is not None}):
            sel = torch.tensor([[n == name for n in row] for row in self.names], device=x.device)
            value = affine[..., 2] * symbolic_function(name).torch_fn(z) + affine[..., 3]
            out = out + torch.where(sel, value, torch.zeros_like(value))
        return out * self.symbolic_mask.to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Sum of the symbolic edges into each output: x (..., in) -> (..., out)."""
        lead = x.shape[:-1]
        return self.edge_values(x.reshape(-1, self.in_features)).sum(-1).reshape(*lead, self.out_features)

    def extra_repr(self) -> str:
        n_sym = sum(n is not None for row in self.names for n in row)
        n_pruned = int(((self.numeric_mask == 0) & (self.symbolic_mask == 0)).sum())
        return f"in={self.in_features}, out={self.out_features}, symbolic={n_sym}, pruned={n_pruned}"


# ---- the KAN-level operations (KAN's methods call these) ---------------------------------------------------------
def _edge_data(kan: Any, l: int, i: int, j: int, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(input samples, spline edge values) of edge (l, i, j) on ``x``, each (N,)."""
    _check_layer_edge(kan, l, i, j)
    h = kan.layer_inputs(x)[l]
    with torch.no_grad():
        values = kan.layers[l].edge_activations(h)[:, j, i]
    return h[:, i], values


def _check_layer_edge(kan: Any, l: Any, i: Any, j: Any) -> None:
    check_int("layer", l, min_value=0, max_value=len(kan.layers) - 1)
    layer = kan.layers[l]
    check_int("i", i, min_value=0, max_value=layer.in_features - 1)
    check_int("j", j, min_value=0, max_value=layer.out_features - 1)


def fix_symbolic(kan: Any, l: int, i: int, j: int, fn: str, x: torch.Tensor | None = None, *,
                 params: Sequence[float] | None = None, **fit_options: Any) -> float | None:
    """Fix edge (layer l, input i -> output j) to ``c fn(a x + b) + d``. With ``x`` the constants are fitted to
    the edge's current spline on the inputs it sees (returns the fit's R^2); with ``params`` they are set as
    given; with neither they are (1, 0, 1, 0) (pykan's ``fit_params_bool=False``) and None is returned."""
    _check_layer_edge(kan, l, i, j)
    f = symbolic_function(fn)
    r2 = None
    if params is not None and x is not None:
        raise ValueError("pass either x (fit the constants) or params (set them), not both")
    if params is None and x is not None:
        if fn == "0":
            xs, ys = _edge_data(kan, l, i, j, x)
            params, r2 = [0.0, 0.0, 0.0, float(ys.double().mean())], float("nan")
        else:
            xs, ys = _edge_data(kan, l, i, j, x)
            fits = _fit_all(xs.detach().double(), ys.detach().double(), [f.name],
                            **{"a_range": 10.0, "b_range": 10.0, "n_grid": 41, "polish_steps": 100, "polish_top": 1,
                               **fit_options})
            r2, params = fits[f.name]
    elif params is None:
        params = [1.0, 0.0, 1.0, 0.0] if fn != "0" else [0.0, 0.0, 0.0, 0.0]
    kan.edges[l].fix(i, j, fn, params)
    return r2


def unfix_symbolic(kan: Any, l: int, i: int, j: int) -> None:
    """Edge (l, i, j) back to its spline."""
    _check_layer_edge(kan, l, i, j)
    kan.edges[l].unfix(i, j)


def suggest_symbolic(kan: Any, l: int, i: int, j: int, x: torch.Tensor, top_k: int = 5,
                     library: Sequence[str] | None = None, **options: Any) -> list[dict[str, Any]]:
    """Ranked candidates for edge (l, i, j)'s spline on ``x`` (``rank_fits``): ``{function, r2, complexity,
    params}``, best first."""
    xs, ys = _edge_data(kan, l, i, j, x)
    return rank_fits(xs, ys, library, top_k, **options)


def auto_symbolic(kan: Any, x: torch.Tensor, library: Sequence[str] | None = None, *, dead_tol: float = 1e-3,
                  layers: Sequence[int] | None = None, **options: Any) -> list[dict[str, Any]]:
    """Fix every active spline edge of ``kan`` to its best library function (``fit_edge``) on the layer inputs it
    sees for ``x``; edges already symbolic and pruned edges are left as they are (and not reported).

    An edge whose spread (std over x) is below ``dead_tol`` times the largest edge spread of its layer is the
    constant "0" function (its mean goes into d). Returns one dict per edge fixed:
    ``{layer, input, output, function, params: [a, b, c, d], r2}``. ``layers`` restricts it to those layers
    (pykan's layer-by-layer workflow: fix the last layer, retrain the rest, then the layer before); ``tolerance``
    (see ``fit_edge``) trades accuracy for simplicity: the simplest function within it of the best R^2 wins.
    """
    check_float("dead_tol", dead_tol, min_value=0.0)
    _library_names(library)
    chosen = list(range(len(kan.layers))) if layers is None else list(layers)
    for l in chosen:
        check_int("layers[]", l, min_value=0, max_value=len(kan.layers) - 1)
    inputs = kan.layer_inputs(x)
    reports = []
    for l, (layer, h) in enumerate(zip(kan.layers, inputs)):
        if l not in chosen:
            continue
        edges_state = kan.edges[l]
        with torch.no_grad():
            edges = layer.edge_activations(h)  # (N, out, in)
        spread = edges.std(0) * edges_state.numeric_mask.to(edges.dtype)
        top = float(spread.max()) if spread.numel() else 0.0
        for j in range(layer.out_features):
            for i in range(layer.in_features):
                if float(edges_state.numeric_mask[j, i]) == 0.0:
                    continue
                if float(spread[j, i]) <= dead_tol * top:
                    name, p, r2 = "0", [0.0, 0.0, 0.0, float(edges[:, j, i].double().mean())], float("nan")
                else:
                    name, p, r2, _ = fit_edge(h[:, i], edges[:, j, i], library, **options)
                edges_state.fix(i, j, name, p)
                reports.append({"layer": l, "input": i, "output": j, "function": name, "params": p, "r2": r2})
    return reports


def _spline_edges(kan: Any) -> list[tuple[int, int, int]]:
    """(layer, i, j) of every active spline edge."""
    return [(l, i, j) for l, e in enumerate(kan.edges) for j, i in (e.numeric_mask != 0).nonzero().tolist()]


def _require(kan: Any) -> None:
    if not any(e.has_symbolic for e in kan.edges):
        raise RuntimeError("no symbolic edges yet: call kan.auto_symbolic(x) or kan.fix_symbolic(...) first")
    left = _spline_edges(kan)
    if left:
        shown = ", ".join(f"(layer={l}, i={i}, j={j})" for l, i, j in left[:5])
        raise RuntimeError(f"{len(left)} edge(s) are still splines, e.g. {shown}: fix them with "
                           "fix_symbolic/auto_symbolic (or prune them) before writing the formula")


def symbolic_forward(kan: Any, x: torch.Tensor) -> torch.Tensor:
    """The network once every active edge is symbolic (``kan(x)`` then has no spline left): x (N, widths[0]) ->
    (N, widths[-1]) in the model's dtype. Raises ``RuntimeError`` while spline edges remain."""
    _require(kan)
    return kan(x.to(kan.layers[0].weight.dtype))


def symbolic_parameters(kan: Any) -> list[torch.Tensor]:
    """The constants of the symbolic network: every layer's ``affine`` and bias."""
    leaves = [e.affine for e in kan.edges if e.affine is not None]
    return leaves + [layer.bias for layer in kan.layers if layer.bias is not None]


def fit_symbolic(kan: Any, x: torch.Tensor, y: torch.Tensor, steps: int = 50) -> float:
    """Tune the constants (a, b, c, d of the symbolic edges and the biases; splines left as they are) jointly by
    LBFGS on (x, y) (MSE); returns the final RMSE. Kept only if the loss went down."""
    check_int("steps", steps, min_value=1)
    if not any(e.has_symbolic for e in kan.edges):
        raise RuntimeError("no symbolic edges yet: call kan.auto_symbolic(x) or kan.fix_symbolic(...) first")
    leaves = symbolic_parameters(kan)
    dtype = leaves[0].dtype
    xd, yd = x.to(dtype), y.to(dtype)
    frozen = [p for p in kan.parameters() if all(p is not q for q in leaves)]
    flags = [p.requires_grad for p in frozen]
    for p in frozen:
        p.requires_grad_(False)
    try:
        opt = torch.optim.LBFGS(leaves, lr=1.0, max_iter=steps, history_size=50, line_search_fn="strong_wolfe",
                                tolerance_grad=1e-32, tolerance_change=1e-32)
        closure = train_step(lambda: ((kan(xd) - yd) ** 2).mean(), leaves)
        before = [p.detach().clone() for p in leaves]
        start = float(closure().detach())
        opt.step(closure)
        with torch.no_grad():
            end = float(((kan(xd) - yd) ** 2).mean())
            if not (math.isfinite(end) and end <= start):
                for p, b in zip(leaves, before):
                    p.copy_(b)
                end = start
    finally:
        for p, f in zip(frozen, flags):
            p.requires_grad_(f)
    return math.sqrt(end)


def symbolic_formula(kan: Any, variables: Sequence[str] | None = None, digits: int | None = None) -> Any:
    """sympy expression of the symbolic network (a list when there are several outputs); every active edge must
    be symbolic. Pruned edges are left out."""
    try:
        import sympy
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("symbolic_formula needs sympy: pip install 'basiskit[symbolic]'") from e
    _require(kan)
    n_in = kan.layers[0].in_features
    names = list(variables) if variables is not None else [f"x_{i + 1}" for i in range(n_in)]
    if len(names) != n_in:
        raise ValueError(f"variables must name {n_in} inputs, got {len(names)}: {names}")
    h: list[Any] = list(sympy.symbols(names))

    def num(v: float) -> Any:
        return sympy.Float(round(v, digits) if digits is not None else v)

    for l, (layer, edges) in enumerate(zip(kan.layers, kan.edges)):
        if edges.affine is None:  # a layer of pruned and spline edges only (splines are refused by _require)
            affine = torch.zeros(edges.out_features, edges.in_features, 4, dtype=torch.float64)
        else:
            affine = edges.affine.detach().double().cpu()
        outs = []
        for j, row in enumerate(edges.names):
            total = num(float(layer.bias[j].detach())) if layer.bias is not None else sympy.Integer(0)
            for i, name in enumerate(row):
                if name is None:
                    continue  # pruned
                a, b, c, d = (float(v) for v in affine[j, i])
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


def _mult_layout(kan: Any, l: int) -> tuple[int, int, int]:
    """(sum nodes, multiplication nodes, arity) of node layer ``l`` of ``kan``."""
    mult = getattr(kan, "mult_nodes", None)
    if not mult:
        return 0, 0, 2
    return int(kan.widths[l]), int(mult[l]), int(kan.mult_arity)
