import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_diabetes, make_classification  # noqa: E402

from basiskit.tabular import KANClassifier, KANRegressor  # noqa: E402

FAST = dict(hidden=(4,), grid_size=3, max_epochs=60, random_state=0)


def _reg_data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, 3))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2 - X[:, 2]
    return X, y


def test_regressor_fits_and_scores():
    X, y = _reg_data()
    reg = KANRegressor(hidden=(6,), grid_size=4, max_epochs=100, random_state=0).fit(X[:100], y[:100])
    assert reg.predict(X[100:]).shape == (20,)
    assert reg.score(X[100:], y[100:]) > 0.8
    assert reg.n_features_in_ == 3 and len(reg.loss_curve_) == reg.n_epochs_


def test_classifier_proba_and_labels():
    X, y = make_classification(n_samples=150, n_features=4, n_informative=3, n_redundant=0, n_classes=3,
                               random_state=0)
    labels = np.array(["a", "b", "c"])[y]
    clf = KANClassifier(**FAST).fit(X, labels)
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
    assert set(clf.predict(X)) <= {"a", "b", "c"}
    assert clf.score(X, labels) > 0.7


def test_random_state_makes_fit_reproducible_and_clone_keeps_params():
    X, y = _reg_data(60)
    a = KANRegressor(**FAST).fit(X, y).predict(X)
    b = KANRegressor(**FAST).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)
    est = KANRegressor(hidden=(3, 2), lr=0.05)
    assert clone(est).get_params() == est.get_params()
    assert est.set_params(lr=0.1).lr == 0.1


def test_early_stopping_stops_before_max_epochs():
    X, y = _reg_data(80)
    rng = np.random.default_rng(1)
    reg = KANRegressor(hidden=(4,), max_epochs=2000, patience=5, random_state=0).fit(X, rng.normal(size=80))
    assert reg.n_epochs_ < 2000 and len(reg.validation_scores_) == reg.n_epochs_


def test_string_column_raises_naming_it():
    X = np.array([[1.0, "steel"], [2.0, "iron"]], dtype=object)
    with pytest.raises(ValueError, match="column '1'.*non-numeric.*'steel'"):
        KANRegressor(**FAST).fit(X, [0.0, 1.0])


def test_nan_raises_naming_the_column():
    X, y = _reg_data(20)
    X[5, 2] = np.nan
    with pytest.raises(ValueError, match="column '2' contains NaN"):
        KANRegressor(**FAST).fit(X, y)
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X, columns=["Al", "Co", "Cr"])
    with pytest.raises(ValueError, match="column 'Cr' contains NaN"):
        KANRegressor(**FAST).fit(df, y)


def test_mismatched_lengths_and_feature_count():
    X, y = _reg_data(20)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        KANRegressor(**FAST).fit(X, y[:-1])
    reg = KANRegressor(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="3 features"):
        reg.predict(X[:, :2])


def test_bad_params_and_one_class():
    X, y = _reg_data(20)
    with pytest.raises(ValueError, match="max_epochs"):
        KANRegressor(max_epochs=0).fit(X, y)
    with pytest.raises(ValueError, match="2 classes"):
        KANClassifier(**FAST).fit(X, np.zeros(20))


def test_real_data_diabetes_runs():
    data = load_diabetes()
    reg = KANRegressor(**FAST).fit(data.data[:300], data.target[:300])
    assert np.isfinite(reg.predict(data.data[300:])).all()


def _all_checks():
    from sklearn.utils.estimator_checks import check_estimator

    return check_estimator


@pytest.mark.slow
@pytest.mark.parametrize("est", [KANRegressor(max_epochs=100, random_state=0),
                                 KANClassifier(max_epochs=100, random_state=0)], ids=lambda e: type(e).__name__)
def test_scikit_learn_check_estimator(est):
    results = _all_checks()(est, on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"]
    assert not failed, failed
    assert len(results) > 40


def test_kan_tabular_recipe_pieces():
    from basiskit.recipes.kan_tabular import DATASETS, KanTabularConfig, _claims, cross_validate

    cfg = KanTabularConfig(folds=2, kan_epochs=3, mlp_epochs=3, patience=2)
    scores = cross_validate("wine", "kan", cfg, seed=0)
    assert scores.shape == (2,) and ((0 <= scores) & (scores <= 1)).all()
    claims = _claims(cfg)
    assert [c.metric for c in claims] == [f"{d}_kan" for d in DATASETS]
    assert all(c.target == f"{c.metric[:-4]}_mlp_minus_std" for c in claims)


def test_symbolic_formula_is_in_the_original_units():
    pytest.importorskip("sympy")
    pytest.importorskip("basiskit.nn.kan_symbolic")  # [kan]'s symbolic regression
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.uniform(-1, 1, size=(200, 2)) * [3.0, 0.5] + [10.0, -2.0], columns=["Al", "Co (at%)"])
    y = 5.0 + 4.0 * ((X["Al"].to_numpy() - 10) / 3) ** 2 + 2 * X["Co (at%)"].to_numpy()
    reg = KANRegressor(hidden=(2,), max_epochs=100, random_state=0).fit(X, y)
    opts = {"library": ["x", "x^2", "sin"], "n_grid": 11, "polish_steps": 5, "digits": None}
    expr = reg.symbolic_formula(**opts)
    assert {s.name for s in expr.free_symbols} <= {"Al", "Co__at__"}
    import sympy

    f = sympy.lambdify([sympy.Symbol("Al"), sympy.Symbol("Co__at__")], expr, "numpy")
    formula = np.broadcast_to(f(X["Al"].to_numpy(), X["Co (at%)"].to_numpy()), (len(X),))
    z_expr = reg.symbolic_formula(standardised=True, **opts)  # the same fit, in standardised units
    assert {s.name for s in z_expr.free_symbols} <= {"z_Al", "z_Co__at__"}
    z = (X.to_numpy() - reg.x_mean_) / reg.x_scale_
    g = sympy.lambdify([sympy.Symbol("z_Al"), sympy.Symbol("z_Co__at__")], z_expr, "numpy")
    np.testing.assert_allclose(formula, np.broadcast_to(g(z[:, 0], z[:, 1]), (len(z),)) * reg.y_scale_[0]
                               + reg.y_mean_[0], rtol=1e-9, atol=1e-9)
    assert np.corrcoef(formula, reg.predict(X))[0, 1] > 0.9 and abs(formula.mean() - y.mean()) < 0.5 * y.std()


def test_validation_split_stratified_and_disjoint():
    from basiskit.tabular import validation_split

    codes = np.array([0] * 20 + [1] * 10)
    val, tr = validation_split(30, 0.2, np.random.default_rng(0), codes)
    assert len(np.intersect1d(val, tr)) == 0 and len(val) + len(tr) == 30
    assert np.bincount(codes[val]).tolist() == [4, 2]
    val, tr = validation_split(2, 0.2, np.random.default_rng(0))  # round(0.4) = 0 validation rows
    assert len(val) == 0 and len(tr) == 2
