r"""L-BFGS with the curvature-pair threshold as an option (``curvature_eps``) and little work per evaluation.

``torch.optim.LBFGS`` keeps a new pair :math:`(s_k, y_k)` (step and gradient change) only when
:math:`y_k^T s_k > 10^{-10}`, a fixed absolute threshold. A float64 fit whose loss has fallen to
:math:`10^{-8}` (RMSE :math:`10^{-4}`) takes steps and gradient changes so small that :math:`y^T s` sits
far below it: every new pair is dropped, the inverse-Hessian estimate freezes at what it was at a larger
loss, and the optimiser crawls. That is why KAN grid extension with torch's LBFGS stalled at the fine grids
(``kan-fit``; measured in ``docs/kan.md``). pykan ships its own L-BFGS with the threshold exposed and set to
:math:`10^{-32}`; this class does the same.

The algorithm is torch's (Nocedal & Wright, "Numerical Optimization" (2006), algorithms 7.4 and 7.5: the
two-loop recursion over ``history_size`` pairs; with ``line_search_fn="strong_wolfe"`` the bracketing and
cubic-interpolation zoom of minFunc's ``WolfeLineSearch``, algorithms 3.5 and 3.6; the same stopping tests), so
with ``curvature_eps=1e-10`` its iterates equal torch's to rounding. What differs is the cost around each
evaluation of the closure, which matters for small models (a ``[2, 5, 1]`` KAN on 500 points: 176 of 515 us per
evaluation in torch's loop):

* for small problems (``GRAM_MAX_NUMEL`` parameters, ``GRAM_MAX_VALUES`` history entries) the two-loop
  recursion runs on the Gram matrix :math:`s_i^T y_j` of the history (updated by two matrix-vector products
  when a pair enters), so a direction costs four matrix-vector products and :math:`O(m^2)` scalar work instead
  of :math:`4m` vector operations;
* the line search keeps its scalars (losses, directional derivatives, trial steps) as Python floats, moves
  the parameters to :math:`x_0 + t d` in one operation per parameter, and keeps each evaluation's flat
  gradient without copying it.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch

from .._validation import check_float, check_int

_C1, _C2, _LS_TOLERANCE, _MAX_LS = 1e-4, 0.9, 1e-9, 25  # torch's strong-Wolfe constants
# Up to GRAM_MAX_NUMEL parameters and GRAM_MAX_VALUES history entries (parameters x history_size) the two-loop
# recursion runs on the history's Gram matrix (fewer, larger operations); above, the textbook loops (fewer passes
# over the history). Measured per iteration on the project's AMD EPYC, 2 threads, float32 (Gram / loops, ms):
# n = 360, history 10: 0.036 / 0.079; n = 1e4, history 100: 0.75 / 1.30; n = 3e4, history 10: 0.15 / 0.20;
# n = 3e4, history 100: 2.98 / 2.62; n = 1e5, history 10: 0.35 / 0.30.
GRAM_MAX_NUMEL, GRAM_MAX_VALUES = 32768, 2_000_000


def cubic_minimiser(t1: float, f1: float, g1: float, t2: float, f2: float, g2: float,
                    lo: float | None = None, hi: float | None = None) -> float:
    """Minimiser of the cubic through (t1, f1) and (t2, f2) with slopes g1, g2, clipped to [lo, hi] (the interval
    between t1 and t2 when not given); the interval's midpoint when the cubic has no minimiser or the formula
    breaks down (a straight line, equal steps, overflow), where torch's version returns nan."""
    if lo is None or hi is None:
        lo, hi = min(t1, t2), max(t1, t2)
    try:
        a = g1 + g2 - 3.0 * (f1 - f2) / (t1 - t2)
        disc = a * a - g1 * g2
        if not disc >= 0:  # no minimiser (or an overflow)
            return (lo + hi) / 2.0
        b = math.sqrt(disc)
        if t1 <= t2:
            t = t2 - (t2 - t1) * ((g2 + b - a) / (g2 - g1 + 2.0 * b))
        else:
            t = t1 - (t1 - t2) * ((g1 + b - a) / (g1 - g2 + 2.0 * b))
    except ZeroDivisionError:  # equal steps, or a straight line (equal slopes, no curvature)
        return (lo + hi) / 2.0
    if not math.isfinite(t):
        return (lo + hi) / 2.0
    return min(max(t, lo), hi)


class _Point:
    """One evaluated step along the search direction: t, loss, directional derivative, flat gradient."""
    __slots__ = ("f", "g", "gtd", "t")

    def __init__(self, t: float, f: float, gtd: float, g: torch.Tensor) -> None:
        self.t, self.f, self.gtd, self.g = t, f, gtd, g


class LBFGS(torch.optim.LBFGS):
    """``torch.optim.LBFGS`` plus ``curvature_eps``: a pair ``(s, y)`` enters the history only when
    ``y.s > curvature_eps`` (torch fixes it at 1e-10). All other arguments are torch's. ``fit`` steps it with a
    closure like any ``torch.optim.LBFGS``.

    Example: ``fit(model, mse, data, steps=50, optimizer=lambda p: LBFGS(p, lr=1, max_iter=20,
    history_size=10, line_search_fn="strong_wolfe", curvature_eps=1e-32))``.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1.0, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None, curvature_eps: float = 1e-10) -> None:
        check_float("curvature_eps", curvature_eps, min_value=0.0)
        check_int("history_size", history_size, min_value=1)  # torch's fails with an IndexError at 0
        super().__init__(params, lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                         tolerance_change=tolerance_change, history_size=history_size,
                         line_search_fn=line_search_fn)
        self.defaults["curvature_eps"] = float(curvature_eps)
        for group in self.param_groups:
            group["curvature_eps"] = float(curvature_eps)

    # -- parameters as one flat vector -------------------------------------------------------------------------
    def _real_params(self) -> list[torch.Tensor]:
        return [torch.view_as_real(p) if torch.is_complex(p) else p for p in self._params]

    def _flat_views(self, flat: torch.Tensor) -> list[torch.Tensor]:
        """Views of ``flat`` (n,) shaped like each (real view of a) parameter."""
        views, offset = [], 0
        for p in self._real_params():
            views.append(flat[offset:offset + p.numel()].view_as(p))
            offset += p.numel()
        return views

    def _move_to(self, start: list[torch.Tensor], t: float, d_views: list[torch.Tensor]) -> None:
        """Parameters = start + t d (the same arithmetic as torch's copy then ``add_``, in one operation)."""
        for p, x0, d in zip(self._real_params(), start, d_views):
            torch.add(x0, d, alpha=t, out=p)

    # -- the history -------------------------------------------------------------------------------------------
    def _history(self, state: dict[str, Any], n: int, like: torch.Tensor) -> None:
        """Empty history: step and gradient-change rows S, Y (rows, n) filled as pairs arrive (rows grow by
        doubling up to ``history_size``), the rows in use oldest first (``slots``), rho = 1/(y.s) per row and,
        for small problems (``GRAM_MAX_NUMEL``, ``GRAM_MAX_VALUES``) the Gram matrix gram[i][j] = s_i.y_j by row
        (None otherwise)."""
        state["S"], state["Y"] = like.new_zeros(0, n), like.new_zeros(0, n)
        state["slots"], state["rho"] = [], []
        small = n <= GRAM_MAX_NUMEL and n * self.param_groups[0]["history_size"] <= GRAM_MAX_VALUES
        state["gram"] = [] if small else None
        state["H_diag"] = 1.0

    def _remember(self, state: dict[str, Any], s: torch.Tensor, y: torch.Tensor, ys: float) -> None:
        """Add the pair (s, y) with y.s = ys, dropping the oldest when ``history_size`` pairs are kept."""
        slots, m, gram = state["slots"], self.param_groups[0]["history_size"], state["gram"]
        k = slots.pop(0) if len(slots) == m else len(slots)
        if k >= state["S"].shape[0]:  # grow the rows (and the Gram matrix) by doubling
            rows = min(m, max(1, 2 * state["S"].shape[0]))
            for key in ("S", "Y"):
                grown = s.new_zeros(rows, s.numel())
                grown[:state[key].shape[0]] = state[key]
                state[key] = grown
            extra = rows - len(state["rho"])
            state["rho"] += [0.0] * extra
            if gram is not None:
                gram = state["gram"] = [row + [0.0] * extra for row in gram] + [[0.0] * rows for _ in range(extra)]
        S, Y = state["S"], state["Y"]
        S[k].copy_(s)
        Y[k].copy_(y)
        slots.append(k)
        if gram is not None:
            s_dot_y = (S @ y).tolist()  # s_i . y_k for every row i
            y_dot_s = (Y @ s).tolist()  # y_i . s_k
            for i in slots:
                gram[i][k] = s_dot_y[i]
                gram[k][i] = y_dot_s[i]
            gram[k][k] = ys
        state["rho"][k] = 1.0 / ys
        state["H_diag"] = ys / float(y.dot(y))

    @staticmethod
    def _direction(grad: torch.Tensor, state: dict[str, Any]) -> torch.Tensor:
        r"""Two-loop recursion, :math:`-H g` for the L-BFGS inverse-Hessian estimate H of the history.

        With the Gram matrix, the loops' inner products come from it: with :math:`q_i = -g - \sum_{j \text{
        newer}} \alpha_j y_j`, :math:`s_i^T q_i = -s_i^T g - \sum_j \alpha_j s_i^T y_j`; likewise :math:`y_i^T
        d_i` in the second loop. Vector work: :math:`S g`, :math:`Y^T \alpha`, :math:`Y d_0`, :math:`S^T (\alpha -
        \beta)`. Without it (many parameters, where passes over the history cost more than the calls), the
        textbook loops over its rows.
        """
        S, Y, slots, rho, gram = state["S"], state["Y"], state["slots"], state["rho"], state["gram"]
        if not slots:
            return grad.neg().mul_(state["H_diag"])
        if gram is None:
            q = grad.neg()
            alpha = {}
            for i in reversed(slots):
                alpha[i] = float(S[i].dot(q)) * rho[i]
                q.add_(Y[i], alpha=-alpha[i])
            d = q.mul_(state["H_diag"])
            for i in slots:
                d.add_(S[i], alpha=alpha[i] - float(Y[i].dot(d)) * rho[i])
            return d
        m = S.shape[0]
        s_dot_q = (S @ grad).neg_().tolist()
        alpha = [0.0] * m
        for pos in range(len(slots) - 1, -1, -1):
            i = slots[pos]
            row = gram[i]
            alpha[i] = rho[i] * (s_dot_q[i] - sum(alpha[j] * row[j] for j in slots[pos + 1:]))
        d = torch.addmv(grad, Y.t(), grad.new_tensor(alpha)).neg_().mul_(state["H_diag"])  # H0 (-g - Y^T alpha)
        y_dot_d = (Y @ d).tolist()
        step = [0.0] * m
        for pos, i in enumerate(slots):
            beta = rho[i] * (y_dot_d[i] + sum(step[j] * gram[j][i] for j in slots[:pos]))
            step[i] = alpha[i] - beta
        return torch.addmv(d, S.t(), grad.new_tensor(step))

    # -- the line search ---------------------------------------------------------------------------------------
    def _strong_wolfe(self, evaluate: Callable[[float], tuple[float, torch.Tensor]], d: torch.Tensor, t: float,
                      f0: float, g0: torch.Tensor, gtd0: float) -> tuple[float, torch.Tensor, float, int]:
        """A step t along d meeting the strong Wolfe conditions (sufficient decrease c1 = 1e-4, curvature
        c2 = 0.9): bracket, then zoom by safeguarded cubic interpolation, at most 25 evaluations after the first
        trial. ``evaluate(t)`` returns (loss, flat gradient) at x + t d. Returns (loss, gradient, t, evaluations)
        of the best point."""
        d_norm = float(d.abs().max())

        def point(step: float) -> _Point:
            f, g = evaluate(step)
            return _Point(step, f, float(g.dot(d)), g)

        def armijo_fails(p: _Point) -> bool:
            return p.f > f0 + _C1 * p.t * gtd0

        def curvature_holds(p: _Point) -> bool:
            return abs(p.gtd) <= -_C2 * gtd0

        prev, new = _Point(0.0, f0, gtd0, g0), point(t)
        evals, iters = 1, 0
        bracket: list[_Point] | None = None
        while iters < _MAX_LS:
            if armijo_fails(new) or (iters > 1 and new.f >= prev.f) or (not curvature_holds(new) and new.gtd >= 0):
                bracket = [prev, new]
                break
            if curvature_holds(new):
                return new.f, new.g, new.t, evals
            # extrapolate: the cubic's minimiser, kept in [t + 0.01 (t - t_prev), 10 t]
            step = cubic_minimiser(prev.t, prev.f, prev.gtd, new.t, new.f, new.gtd,
                                   lo=new.t + 0.01 * (new.t - prev.t), hi=new.t * 10)
            prev, new = new, point(step)
            evals += 1
            iters += 1
        if bracket is None:  # no bracket in max_ls evaluations: the better of the start and the last trial
            best = new if new.f < f0 else _Point(0.0, f0, gtd0, g0)
            return best.f, best.g, best.t, evals

        low, high = (0, 1) if bracket[0].f <= bracket[1].f else (1, 0)
        near_edge = False
        while iters < _MAX_LS:
            a, b = bracket[0].t, bracket[1].t
            if abs(b - a) * d_norm < _LS_TOLERANCE:
                break
            step = cubic_minimiser(a, bracket[0].f, bracket[0].gtd, b, bracket[1].f, bracket[1].gtd)
            left, right = min(a, b), max(a, b)
            margin = 0.1 * (right - left)
            # a trial at (or twice in a row near) an end of the bracket moves 10% of its length inside
            if min(right - step, step - left) < margin:
                if near_edge or step >= right or step <= left:
                    step = right - margin if abs(step - right) < abs(step - left) else left + margin
                    near_edge = False
                else:
                    near_edge = True
            else:
                near_edge = False
            new = point(step)
            evals += 1
            iters += 1
            if armijo_fails(new) or new.f >= bracket[low].f:
                bracket[high] = new
                low, high = (0, 1) if bracket[0].f <= bracket[1].f else (1, 0)
                continue
            done = curvature_holds(new)
            if not done and new.gtd * (bracket[high].t - bracket[low].t) >= 0:
                bracket[high] = bracket[low]
            bracket[low] = new
            if done:
                break
        best = bracket[low]
        return best.f, best.g, best.t, evals

    # -- the step ----------------------------------------------------------------------------------------------
    def _flat_grad(self) -> torch.Tensor:
        parts = []
        for p in self._params:
            g = p.grad
            if g is None:
                g = torch.zeros_like(p)
            elif g.is_sparse:
                g = g.to_dense()
            parts.append((torch.view_as_real(g) if torch.is_complex(g) else g).reshape(-1))
        return torch.cat(parts)

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        """Up to ``max_iter`` quasi-Newton iterations; ``closure`` zeroes the gradients, computes the loss,
        calls ``backward`` and returns the loss. Returns the loss at the start of the step."""
        if closure is None:
            raise ValueError("LBFGS.step needs a closure that re-evaluates the loss and its gradient")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        eps = group["curvature_eps"]
        closure = torch.enable_grad()(closure)
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        first_loss = closure()
        loss = float(first_loss.detach())
        evals = 1
        state["func_evals"] += 1
        grad = self._flat_grad()
        if float(grad.abs().max()) <= tol_grad:
            return first_loss
        d, t = state.get("d"), state.get("t")
        prev_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")
        if "S" not in state or state["S"].shape[1] != grad.numel():  # the first step, or a state without ours
            self._history(state, grad.numel(), grad)

        n = 0
        while n < max_iter:
            n += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:  # the history is the empty one made above
                d = grad.neg()
            else:
                change, stp = grad.sub(prev_grad), d.mul(t)
                ys = float(change.dot(stp))
                if ys > eps:
                    self._remember(state, stp, change, ys)
                d = self._direction(grad, state)
            prev_grad, prev_loss = grad, loss
            t = min(1.0, 1.0 / float(grad.abs().sum())) * lr if state["n_iter"] == 1 else lr
            gtd = float(grad.dot(d))
            if gtd > -tol_change:  # not a descent direction (or a vanishing one)
                break
            d_views = self._flat_views(d)
            if group["line_search_fn"] == "strong_wolfe":
                start = [p.clone() for p in self._real_params()]
                at = [0.0]

                def evaluate(step: float, start: list[torch.Tensor] = start, views: list[torch.Tensor] = d_views,
                             at: list[float] = at) -> tuple[float, torch.Tensor]:
                    self._move_to(start, step, views)
                    at[0] = step
                    return float(closure().detach()), self._flat_grad()

                loss, grad, t, ls_evals = self._strong_wolfe(evaluate, d, t, loss, grad, gtd)
                if at[0] != t:
                    self._move_to(start, t, d_views)
                converged = bool(grad.abs().max() <= tol_grad)
            else:
                for p, dv in zip(self._real_params(), d_views):
                    p.add_(dv, alpha=t)
                ls_evals, converged = 0, False
                if n != max_iter:
                    loss = float(closure().detach())
                    grad = self._flat_grad()
                    ls_evals, converged = 1, bool(grad.abs().max() <= tol_grad)
            evals += ls_evals
            state["func_evals"] += ls_evals
            if n == max_iter or evals >= max_eval or converged:
                break
            if float(d.abs().max()) * t <= tol_change or abs(loss - prev_loss) < tol_change:
                break

        state.update(d=d, t=t, prev_flat_grad=prev_grad, prev_loss=prev_loss)
        return first_loss
