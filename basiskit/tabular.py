"""scikit-learn estimators over basiskit's KAN: ``KANRegressor`` and ``KANClassifier``.

Used as in the high-entropy-alloy study (Kolmogorov-Arnold neural networks for high-entropy alloys design,
2024): a small KAN on tabular composition/process features, compared with MLPs by F1, MSE and R^2.

    from basiskit.tabular import KANRegressor
    reg = KANRegressor(hidden=(8,), random_state=0).fit(X_train, y_train)
    reg.score(X_test, y_test); reg.symbolic_formula()

What ``fit`` does: checks X (numeric columns only; NaN/inf and string columns raise ``ValueError`` naming the
column), standardises X (and y for regression) with training statistics, holds out ``validation_fraction`` of
the rows for early stopping (``patience`` epochs without improvement; the best weights are restored), and trains
with Adam in mini-batches, in float64. The network is ``basiskit.nn.KAN([n_features, *hidden, n_outputs],
basis, grid_size, domain=(-3, 3))`` (B-spline by default; splines are clamped outside the grid, the SiLU base
branch carries on). Everything is a pure function of ``random_state``. Needs scikit-learn (the
``tabular`` extra). After ``fit``, ``feature_importances_`` (sums to 1, scikit-learn's convention) holds the
fitted KAN's attribution scores of the features (``KAN.feature_scores``, pykan's rule) on up to 1,000
standardised training rows.
"""
from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("basiskit.tabular needs scikit-learn; install it with `pip install basiskit[tabular]`") from e


def _column_names(X: Any) -> list[str]:
    cols = getattr(X, "columns", None)
    n = X.shape[1] if getattr(X, "ndim", 0) == 2 else 0
    return [str(c) for c in cols] if cols is not None else [str(i) for i in range(n)]


def check_features(X: Any) -> None:
    """Refuse non-numeric and non-finite columns with a ``ValueError`` naming the column.

    Runs before scikit-learn's own validation, which then handles shapes, sparse input and feature counts.
    Values that are neither numbers nor strings (e.g. dicts) raise numpy's ``TypeError``.
    """
    if isinstance(X, (str, bytes)) or not hasattr(X, "__len__"):
        return
    if hasattr(X, "iloc"):  # pandas
        names, columns = _column_names(X), [np.asarray(X.iloc[:, j]) for j in range(X.shape[1])]
    else:
        try:
            arr = np.asarray(X)
        except (ValueError, TypeError):
            return  # ragged input: scikit-learn's validation explains it
        if arr.ndim != 2 or arr.dtype.kind not in "OUSfciub":
            return
        names, columns = _column_names(arr), [arr[:, j] for j in range(arr.shape[1])]
    for name, col in zip(names, columns):
        if col.dtype.kind in "OUS":
            try:
                col = col.astype(np.float64)
            except ValueError:
                example = next((v for v in col if isinstance(v, (str, bytes))), col[0])
                raise ValueError(f"X column {name!r} holds non-numeric values (e.g. {example!r}); encode strings "
                                 "and categories as numbers before fitting") from None
        if col.dtype.kind in "fc":
            bad = ~np.isfinite(col)
            if bad.any():
                kind = "NaN" if np.isnan(col).any() else "inf"
                raise ValueError(f"X column {name!r} contains {kind} ({int(bad.sum())} value(s), first at row "
                                 f"{int(np.flatnonzero(bad)[0])}); impute or drop them before fitting "
                                 "(the estimator does not accept NaN or inf)")


def validation_split(n: int, fraction: float, rng: np.random.Generator,
                     stratify: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Indices (validation, train) with about ``fraction * n`` validation rows, stratified by the class codes
    ``stratify`` when every class has at least two rows; no validation rows when that would leave < 2 to train."""
    n_val = int(round(fraction * n))
    if n_val < 1 or n - n_val < 2:
        return np.array([], dtype=np.int64), np.arange(n)
    if stratify is not None and np.bincount(stratify).min() >= 2:
        val = []
        for c in np.unique(stratify):
            idx = rng.permutation(np.flatnonzero(stratify == c))
            val.append(idx[:max(1, int(round(fraction * len(idx))))])
        val_idx = rng.permutation(np.concatenate(val))
        return val_idx, rng.permutation(np.setdiff1d(np.arange(n), val_idx))
    order = rng.permutation(n)
    return order[:n_val], order[n_val:]


class _KANEstimator(BaseEstimator):
    """Shared fitting code; see the module docstring. Not for direct use."""

    def __init__(self, hidden: tuple[int, ...] = (8,), basis: str = "bspline", grid_size: int = 5,
                 lr: float = 1e-2, max_epochs: int = 300, batch_size: int = 256, weight_decay: float = 0.0,
                 early_stopping: bool = True, validation_fraction: float = 0.15, patience: int = 30,
                 random_state: int | None = None) -> None:
        self.hidden = hidden
        self.basis = basis
        self.grid_size = grid_size
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.random_state = random_state

    # ---- hooks -----------------------------------------------------------------------------
    def _loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise TypeError("use KANRegressor or KANClassifier")

    # ---- shared ----------------------------------------------------------------------------
    def _check_params(self) -> None:
        from ._validation import check_float, check_int

        hidden = (self.hidden,) if isinstance(self.hidden, int) else tuple(self.hidden)
        for i, h in enumerate(hidden):
            check_int(f"hidden[{i}]", h, min_value=1)
        check_int("grid_size", self.grid_size, min_value=1)
        check_float("lr", self.lr, min_value=0.0, strict_min=True)
        check_int("max_epochs", self.max_epochs, min_value=1)
        check_int("batch_size", self.batch_size, min_value=1)
        check_float("weight_decay", self.weight_decay, min_value=0.0)
        check_float("validation_fraction", self.validation_fraction, min_value=0.0, max_value=0.5)
        check_int("patience", self.patience, min_value=1)
        self._hidden = hidden

    def _validate(self, X: Any, y: Any = "no_validation", reset: bool = False, y_numeric: bool = False) -> Any:
        from sklearn.utils.validation import validate_data

        check_features(X)
        if isinstance(y, str) and y == "no_validation":
            return validate_data(self, X, reset=reset, dtype=np.float64)
        return validate_data(self, X, y, reset=reset, dtype=np.float64, multi_output=True, y_numeric=y_numeric)

    def _standardise(self, X: np.ndarray) -> torch.Tensor:
        return torch.as_tensor((X - self.x_mean_) / self.x_scale_, dtype=torch.float64)

    def _build(self, n_in: int, n_out: int) -> torch.nn.Module:
        from .nn import KAN

        return KAN([n_in, *self._hidden, n_out], basis=self.basis, grid_size=self.grid_size, domain=(-3.0, 3.0))

    def _fit_tensors(self, X: np.ndarray, target: torch.Tensor, n_out: int, stratify: np.ndarray | None) -> None:
        from sklearn.utils import check_random_state

        seed = (int(self.random_state) if isinstance(self.random_state, (int, np.integer))
                else int(check_random_state(self.random_state).randint(0, 2**31 - 1)))
        self.x_mean_ = X.mean(0)
        scale = X.std(0)
        self.x_scale_ = np.where(scale > 1e-12, scale, 1.0)
        xs = self._standardise(X)
        n = len(xs)
        rng = np.random.default_rng(seed)
        val_idx, train_idx = validation_split(n, self.validation_fraction if self.early_stopping else 0.0,
                                              rng, stratify)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = self._build(X.shape[1], n_out).double()  # float64: predictions independent of batching
            self._symbolic_x = xs[train_idx[:1000]]
            opt = torch.optim.Adam(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            g = torch.Generator().manual_seed(seed)
            x_tr, t_tr = xs[train_idx], target[train_idx]
            x_va, t_va = xs[val_idx], target[val_idx]
            best, best_state, since = math.inf, None, 0
            self.loss_curve_, self.validation_scores_ = [], []
            for epoch in range(self.max_epochs):
                model.train()
                perm = torch.randperm(len(x_tr), generator=g)
                total = 0.0
                for i in range(0, len(perm), self.batch_size):
                    idx = perm[i:i + self.batch_size]
                    opt.zero_grad()
                    loss = self._loss(model(x_tr[idx]), t_tr[idx])
                    loss.backward()
                    opt.step()
                    total += float(loss.detach()) * len(idx)
                self.loss_curve_.append(total / len(perm))
                if len(val_idx):
                    model.train(False)
                    with torch.no_grad():
                        val = float(self._loss(model(x_va), t_va))
                    self.validation_scores_.append(val)
                    if val < best - 1e-6:
                        best, best_state, since = val, copy.deepcopy(model.state_dict()), 0
                    else:
                        since += 1
                        if since >= self.patience:
                            break
            if best_state is not None:
                model.load_state_dict(best_state)
        model.train(False)
        self.model_ = model
        x_attr = self._symbolic_x
        if x_attr.shape[0] >= 2:
            scores = model.feature_scores(x_attr).numpy()
        else:  # one training row: no spread to attribute with
            scores = np.ones(X.shape[1])
        total = float(scores.sum())
        self.feature_importances_ = scores / total if total > 0 else np.full(X.shape[1], 1.0 / X.shape[1])
        self.n_epochs_ = epoch + 1
        self.n_iter_ = self.n_epochs_

    def _forward(self, X: Any) -> torch.Tensor:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "model_")
        X = self._validate(X)
        with torch.no_grad():
            return self.model_(self._standardise(X))

    def symbolic_formula(self, library: Any = None, digits: int | None = 3, *, standardised: bool = False,
                         **options: Any) -> Any:
        """Fit a symbolic function to every edge of (a copy of) the fitted KAN on up to 1,000 training rows
        (``KAN.auto_symbolic``) and return the network's formula (``KAN.symbolic_formula``): a sympy
        expression per output in the original units: variables named after the features (non-word characters
        replaced by ``_``), the standardisation z = (X - mean) / std substituted in, and for regression the
        target mapped back, y = mean_y + std_y * output (classifiers give the logits). ``standardised=True``
        gives the formula in the standardised features ``z_name`` and target instead. Practical for small
        networks only; needs sympy."""
        import re

        import sympy
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "model_")
        names = getattr(self, "feature_names_in_", None)
        names = [str(n) for n in names] if names is not None else [f"x{i}" for i in range(self.n_features_in_)]
        clean = [re.sub(r"\W", "_", n) for n in names]
        variables = ["z_" + n for n in clean]
        model = copy.deepcopy(self.model_)
        model.auto_symbolic(self._symbolic_x, library=library, **options)
        expr = model.symbolic_formula(variables=variables, digits=digits)
        if standardised:
            return expr
        exprs = expr if isinstance(expr, list) else [expr]

        def num(v: float) -> Any:
            return sympy.Float(round(float(v), digits) if digits is not None else float(v))

        subs = {sympy.Symbol(z): (sympy.Symbol(n) - num(m)) / num(sd)
                for z, n, m, sd in zip(variables, clean, self.x_mean_, self.x_scale_)}
        out = [e.subs(subs) for e in exprs]
        if hasattr(self, "y_mean_"):
            out = [num(self.y_mean_[k]) + num(self.y_scale_[k]) * e for k, e in enumerate(out)]
        return out[0] if len(out) == 1 else out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


class KANRegressor(RegressorMixin, _KANEstimator):
    """KAN regression (mean squared error), X: (n_samples, n_features) -> y: (n_samples,) or (n_samples, k).

    Parameters: ``hidden`` widths, ``basis`` (a ``basiskit.bases`` name) and ``grid_size``, ``lr``, ``max_epochs``,
    ``batch_size``, ``weight_decay``, ``early_stopping`` with ``validation_fraction`` and ``patience``,
    ``random_state``. y is standardised for training and mapped back in ``predict``.
    """

    def _loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(out, target)

    def fit(self, X: Any, y: Any) -> KANRegressor:
        self._check_params()
        X, y = self._validate(X, y, reset=True, y_numeric=True)
        y = np.asarray(y, dtype=np.float64)
        self._y_1d = y.ndim == 1
        y2 = y.reshape(len(y), -1)
        self.y_mean_ = y2.mean(0)
        scale = y2.std(0)
        self.y_scale_ = np.where(scale > 1e-12, scale, 1.0)
        target = torch.as_tensor((y2 - self.y_mean_) / self.y_scale_, dtype=torch.float64)
        self._fit_tensors(X, target, y2.shape[1], None)
        return self

    def predict(self, X: Any) -> np.ndarray:
        pred = self._forward(X).numpy() * self.y_scale_ + self.y_mean_
        return pred[:, 0] if self._y_1d else pred

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


class KANClassifier(ClassifierMixin, _KANEstimator):
    """KAN classification (cross-entropy over ``len(classes_)`` logits), X: (n_samples, n_features) -> labels.

    Same parameters as :class:`KANRegressor`; ``predict_proba`` gives (n_samples, n_classes) softmax
    probabilities in the order of ``classes_``.
    """

    def _loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(out, target)

    def fit(self, X: Any, y: Any) -> KANClassifier:
        from sklearn.utils.multiclass import check_classification_targets
        from sklearn.utils.validation import column_or_1d

        self._check_params()
        X, y = self._validate(X, y, reset=True)
        y = column_or_1d(y, warn=True)  # (n, 1) -> (n,) with a DataConversionWarning
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"KANClassifier needs at least 2 classes in y, got 1 class ({self.classes_[0]!r})")
        self._fit_tensors(X, torch.as_tensor(codes, dtype=torch.long), len(self.classes_), codes)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        return torch.softmax(self._forward(X), -1).numpy()

    def predict(self, X: Any) -> np.ndarray:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "model_")
        return self.classes_[self._forward(X).argmax(-1).numpy()]
