"""Fit the starting coefficients of GroupRational: least-squares safe-Padé fits of GELU and Swish on [-3, 3].

    python tools/fit_rational_init.py            # prints the fits, their errors and a constants block

R(x) = (a_0 + ... + a_5 x^5) / (1 + |b_1 x + ... + b_4 x^4|). The fit starts from the linearised problem
P(x) - f(x) S(x) = f(x) (no absolute value; solved by ordinary least squares) and is refined by nonlinear least
squares on the true safe form, on 3001 points of [-3, 3]. The printed dict is pasted into
``basiskit/nn/grkan.py`` as ``INIT_COEFFS``; the tests check its max error on [-3, 3] (<= 1e-2).
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares
from scipy.special import erf

M, N = 5, 4
TARGETS = {
    "gelu": lambda x: 0.5 * x * (1.0 + erf(x / np.sqrt(2.0))),
    "swish": lambda x: x / (1.0 + np.exp(-x)),
}


def safe_pade(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    p = np.polyval(a[::-1], x)
    s = x * np.polyval(b[::-1], x)
    return p / (1.0 + np.abs(s))


def fit(f, lo: float = -3.0, hi: float = 3.0, points: int = 3001) -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(lo, hi, points)
    y = f(x)
    # linearised start: P(x) - y S(x) = y, unknowns a_0..a_M, b_1..b_N
    design = np.concatenate([x[:, None] ** np.arange(M + 1), -(y[:, None] * x[:, None] ** np.arange(1, N + 1))], 1)
    theta0 = np.linalg.lstsq(design, y, rcond=None)[0]

    def residual(theta: np.ndarray) -> np.ndarray:
        return safe_pade(x, theta[:M + 1], theta[M + 1:]) - y

    best = least_squares(residual, theta0, method="lm", xtol=1e-15, ftol=1e-15, max_nfev=20000)
    return best.x[:M + 1], best.x[M + 1:]


def main() -> None:
    block = {}
    for name, f in TARGETS.items():
        a, b = fit(f)
        xs = np.linspace(-3, 3, 20001)
        err = np.abs(safe_pade(xs, a, b) - f(xs)).max()
        far = {v: float(abs(safe_pade(np.array([v]), a, b) - f(np.array([v])))[0]) for v in (-10, -5, 5, 10)}
        print(f"{name}: max |R - f| on [-3, 3] = {err:.2e}; |R - f| at " +
              ", ".join(f"x={k:g}: {v:.3g}" for k, v in far.items()))
        block[name] = (a, b)
    print("\nINIT_COEFFS = {")
    for name, (a, b) in block.items():
        print(f'    "{name}": ({[float(f"{v:.10g}") for v in a]},\n'
              f'              {[float(f"{v:.10g}") for v in b]}),')
    print('    "identity": ([0.0, 1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]),')
    print("}")


if __name__ == "__main__":
    main()
