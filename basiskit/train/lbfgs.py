r"""L-BFGS whose curvature-pair threshold is an option (``curvature_eps``).

``torch.optim.LBFGS`` keeps a new pair :math:`(s_k, y_k)` (step and gradient change) only when
:math:`y_k^T s_k > 10^{-10}`, a fixed absolute threshold. A float64 fit whose loss has fallen to
:math:`10^{-8}` (RMSE :math:`10^{-4}`) takes steps and gradient changes so small that :math:`y^T s` sits
far below it: every new pair is dropped, the inverse-Hessian estimate freezes at what it was at a larger
loss, and the optimiser crawls. That is why KAN grid extension with torch's LBFGS stalled at the fine grids
(``kan-fit``; measured in ``docs/kan.md``). pykan ships its own L-BFGS with the threshold exposed and set to
:math:`10^{-32}`; this class does the same, with the algorithm otherwise that of ``torch.optim.LBFGS``
(two-loop recursion, history ``history_size``, optional strong-Wolfe line search, the same stopping tests),
so with ``curvature_eps=1e-10`` its iterates equal torch's.

Nocedal & Wright, "Numerical Optimization" (2006), algorithms 7.4 and 7.5.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim.lbfgs import _strong_wolfe

from .._validation import check_float


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
        super().__init__(params, lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                         tolerance_change=tolerance_change, history_size=history_size,
                         line_search_fn=line_search_fn)
        self.defaults["curvature_eps"] = float(curvature_eps)
        for group in self.param_groups:
            group["curvature_eps"] = float(curvature_eps)

    def _direction(self, grad: torch.Tensor, state: dict[str, Any]) -> torch.Tensor:
        """Two-loop recursion: ``-H grad`` with H the L-BFGS inverse-Hessian estimate of the history."""
        steps, changes, rho = state["old_stps"], state["old_dirs"], state["ro"]
        q = grad.neg()
        alpha = [0.0] * len(steps)
        for i in reversed(range(len(steps))):
            alpha[i] = steps[i].dot(q) * rho[i]
            q.add_(changes[i], alpha=-alpha[i])
        d = q.mul_(state["H_diag"])
        for i in range(len(steps)):
            beta = changes[i].dot(d) * rho[i]
            d.add_(steps[i], alpha=alpha[i] - beta)
        return d

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        """Up to ``max_iter`` quasi-Newton iterations; ``closure`` zeroes the gradients, computes the loss,
        calls ``backward`` and returns the loss. Returns the loss at the start of the step."""
        if closure is None:
            raise ValueError("LBFGS.step needs a closure that re-evaluates the loss and its gradient")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history, eps = group["history_size"], group["curvature_eps"]
        closure = torch.enable_grad()(closure)
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        first_loss = closure()
        loss = float(first_loss.detach())
        evals = 1
        state["func_evals"] += 1
        grad = self._gather_flat_grad()
        if grad.abs().max() <= tol_grad:
            return first_loss
        d, t = state.get("d"), state.get("t")
        prev_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")

        n = 0
        while n < max_iter:
            n += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = grad.neg()
                state["old_stps"], state["old_dirs"], state["ro"], state["H_diag"] = [], [], [], 1.0
            else:
                change, stp = grad.sub(prev_grad), d.mul(t)
                ys = change.dot(stp)
                if ys > eps:
                    if len(state["old_stps"]) == history:
                        for key in ("old_stps", "old_dirs", "ro"):
                            state[key].pop(0)
                    state["old_stps"].append(stp)
                    state["old_dirs"].append(change)
                    state["ro"].append(1.0 / ys)
                    state["H_diag"] = ys / change.dot(change)
                d = self._direction(grad, state)
            prev_grad = grad.clone(memory_format=torch.contiguous_format)
            prev_loss = loss
            t = min(1.0, 1.0 / float(grad.abs().sum())) * lr if state["n_iter"] == 1 else lr
            gtd = grad.dot(d)
            if gtd > -tol_change:  # not a descent direction (or a vanishing one)
                break
            if group["line_search_fn"] == "strong_wolfe":
                start = self._clone_param()

                def along(x: list[torch.Tensor], step: float, direction: torch.Tensor) -> tuple[float, torch.Tensor]:
                    return self._directional_evaluate(closure, x, step, direction)

                loss, grad, t, ls_evals = _strong_wolfe(along, start, t, d, loss, grad, gtd)
                self._add_grad(t, d)
                converged = bool(grad.abs().max() <= tol_grad)
            else:
                self._add_grad(t, d)
                ls_evals, converged = 0, False
                if n != max_iter:
                    loss = float(closure().detach())
                    grad = self._gather_flat_grad()
                    ls_evals, converged = 1, bool(grad.abs().max() <= tol_grad)
            evals += ls_evals
            state["func_evals"] += ls_evals
            if n == max_iter or evals >= max_eval or converged:
                break
            if d.mul(t).abs().max() <= tol_change or abs(loss - prev_loss) < tol_change:
                break

        state.update(d=d, t=t, prev_flat_grad=prev_grad, prev_loss=prev_loss)
        return first_loss
