"""``dynamics.discovery`` (MEDIDA): library terms against closed forms, sparse regression recovering planted
coefficients, the one-step model error, denoising, interpolation, an end-to-end KS discovery, and bad inputs."""
import math

import pytest
import torch

from basiskit.dynamics import discovery
from basiskit.dynamics.discovery import (
    DEFAULT_LIBRARY,
    ard_regression,
    denoise_states,
    interpolate_sparse,
    library_matrix,
    medida,
    model_error,
    noise_floor_cutoff,
    parse_term,
    sparse_regression,
    spectral_lowpass,
    stlsq,
)
from basiskit.pde import kuramoto_sivashinsky, kuramoto_sivashinsky_step

L = 2 * math.pi * 3


def test_parse_term():
    assert parse_term("u") == [(0, 1)]
    assert parse_term("u^2*u_x") == [(0, 2), (1, 1)]
    assert parse_term("u_xxxx") == [(4, 1)]
    assert parse_term("u_x^2") == [(1, 2)]
    for bad in ("v", "u_y", "u^0", "u**2", "", "u*"):
        with pytest.raises(ValueError, match="library term"):
            parse_term(bad)


def test_library_terms_match_closed_forms():
    n = 64
    x = torch.arange(n, dtype=torch.float64) * L / n
    q = 2 * math.pi * 2 / L
    u = torch.sin(q * x) + 0.5 * torch.cos(q * x)
    ux = q * (torch.cos(q * x) - 0.5 * torch.sin(q * x))
    uxx = -q ** 2 * u
    uxxx = -q ** 2 * ux
    uxxxx = q ** 4 * u
    expected = {"u": u, "u^2": u ** 2, "u^3": u ** 3, "u_x": ux, "u_xx": uxx, "u_xxx": uxxx, "u_xxxx": uxxxx,
                "u*u_x": u * ux, "u^2*u_x": u ** 2 * ux, "u*u_xx": u * uxx, "u*u_xxx": u * uxxx,
                "u_x^2": ux ** 2}
    theta = library_matrix(u, L)
    assert theta.shape == (n, len(DEFAULT_LIBRARY))
    for j, name in enumerate(DEFAULT_LIBRARY):
        torch.testing.assert_close(theta[:, j], expected[name], atol=1e-10, rtol=0, msg=name)
    batch = library_matrix(torch.stack([u, 2 * u]), L, ["u_xx", "u*u_x"])
    torch.testing.assert_close(batch[1], torch.stack([2 * uxx, 4 * u * ux], -1), atol=1e-10, rtol=0)


def _planted(n: int = 600, noise: float = 1e-3):
    g = torch.Generator().manual_seed(0)
    theta = torch.randn(n, 10, generator=g, dtype=torch.float64) * torch.logspace(-2, 2, 10, dtype=torch.float64)
    coef = torch.zeros(10, dtype=torch.float64)
    coef[[1, 4, 7]] = torch.tensor([30.0, -0.2, 0.004], dtype=torch.float64)
    y = theta @ coef
    return theta, y + noise * y.std() * torch.randn(n, generator=g, dtype=torch.float64), coef


@pytest.mark.parametrize("solver", [stlsq, ard_regression,
                                    lambda th, y: sparse_regression(th, y, "ard"),
                                    lambda th, y: sparse_regression(th, y, "stlsq")])
def test_sparse_regression_recovers_planted_coefficients(solver):
    theta, y, coef = _planted()
    found = solver(theta, y)
    assert torch.equal(found != 0, coef != 0), found
    torch.testing.assert_close(found, coef, rtol=1e-2, atol=0)


def test_pysindy_backend_agrees_with_our_stlsq():
    pytest.importorskip("pysindy")
    theta, y, coef = _planted(noise=1e-3)
    found = sparse_regression(theta, y, "sindy")
    assert torch.equal(found != 0, coef != 0), found
    torch.testing.assert_close(found, sparse_regression(theta, y, "stlsq"), rtol=1e-6, atol=1e-12)


def test_pysindy_backend_missing_says_what_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pysindy", None)
    monkeypatch.setitem(sys.modules, "pysindy.optimizers", None)
    theta, y, _ = _planted()
    with pytest.raises(ImportError, match=r"basiskit\[sindy\].*method='stlsq'"):
        sparse_regression(theta, y, "sindy")


def test_own_ard_agrees_with_scikit_learn():
    pytest.importorskip("sklearn")
    from sklearn.linear_model import ARDRegression

    theta, y, coef = _planted(noise=1e-2)
    scale = theta.pow(2).mean(0).sqrt()
    ys = float(y.pow(2).mean().sqrt())
    ref = ARDRegression(fit_intercept=False, tol=1e-8, max_iter=500).fit((theta / scale).numpy(), (y / ys).numpy())
    ours = ard_regression(theta, y) * scale / ys
    big = coef != 0
    torch.testing.assert_close(ours[big], torch.as_tensor(ref.coef_)[big], rtol=1e-3, atol=0)
    assert float(ours[~big].abs().max()) < 1e-2


def test_threshold_keeps_or_drops_a_small_term():
    theta, y, _ = _planted(noise=0.0)
    # term 7 contributes 4e-3 * 12.9 (its column's rms) ~ 0.05 against rms(y) ~ 0.85: about 6% of the target
    assert bool(stlsq(theta, y, threshold=0.03)[7] != 0)
    assert float(stlsq(theta, y, threshold=0.1)[7]) == 0.0


def test_model_error_of_a_linear_map():
    # truth u_{n+1} = a u_n, model M(u) = b u: e_n = (a - b) u_n / dt, midpoint (a + b) u_n / 2
    g = torch.Generator().manual_seed(1)
    u0 = torch.randn(8, dtype=torch.float64, generator=g)
    a, b, dt = 1.1, 0.9, 0.5
    u = torch.stack([u0 * a ** k for k in range(4)])
    errors, mid = model_error(u, torch.arange(4) * dt, lambda s, h: b * s)
    torch.testing.assert_close(errors, (a - b) * u[:-1] / dt)
    torch.testing.assert_close(mid, (a + b) * u[:-1] / 2)


def test_lowpass_and_noise_floor():
    n = 128
    x = torch.arange(n, dtype=torch.float64) / n
    smooth = sum(math.exp(-k) * torch.cos(2 * math.pi * k * x) for k in range(1, 12))
    g = torch.Generator().manual_seed(0)
    noisy = smooth + 1e-3 * torch.randn(50, n, generator=g, dtype=torch.float64)
    cut = noise_floor_cutoff(noisy)
    # power n^2 exp(-2k) / 4 against the floor n 1e-6: 10x the floor is crossed at k = 7.5
    assert 7 <= cut <= 9
    assert noise_floor_cutoff(smooth.expand(3, -1)) == 12  # exactly past its last mode
    filtered = spectral_lowpass(noisy, cut)
    assert float((filtered - smooth).pow(2).mean()) < 0.2 * float((noisy - smooth).pow(2).mean())
    torch.testing.assert_close(spectral_lowpass(smooth, 12), smooth)
    steady = denoise_states(noisy, cut, window=11)
    assert float((steady - smooth).pow(2).mean()) < float((filtered - smooth).pow(2).mean())
    with pytest.raises(ValueError, match="window"):
        denoise_states(noisy, cut, window=10)


def _ks_data(n_t: int = 300, n: int = 64, length: float = 44.0):
    x = torch.arange(n, dtype=torch.float64) * length / n
    u0 = 0.1 * torch.randn(n, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    start = kuramoto_sivashinsky(u0, 60.0, length=length, dt=0.05, dispersion=0.1)[-1]
    u = kuramoto_sivashinsky(start, 0.02 * (n_t - 1), length=length, dt=0.02, n_t=n_t, dispersion=0.1)
    t = torch.arange(n_t, dtype=torch.float64) * 0.02

    def model(states, dt):
        return kuramoto_sivashinsky_step(states, dt, length=length)

    return u, t, x, model


@pytest.mark.parametrize("method", ["ard", "stlsq"])
def test_medida_finds_the_missing_dispersion(method):
    u, t, x, model = _ks_data()
    found = medida(u, t, x, model, method=method)
    assert set(found) == {"u_xxx"}, found
    assert found["u_xxx"] == pytest.approx(0.1, rel=0.05)


def test_medida_without_sklearn_uses_own_ard(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError("no sklearn here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    u, t, x, model = _ks_data(n_t=150)
    found = medida(u, t, x, model, method="ard")
    assert set(found) == {"u_xxx"} and found["u_xxx"] == pytest.approx(0.1, rel=0.05)


def test_interpolate_sparse_fits_a_smooth_field():
    length, n = 10.0, 64
    x = torch.arange(n, dtype=torch.float64) * length / n
    t = torch.linspace(0, 1, 11, dtype=torch.float64)
    field = torch.sin(2 * math.pi * (x[None] / length - 0.2 * t[:, None]))
    stations = torch.arange(0, n, 4)
    for features in ("fourier", "none"):
        fill = interpolate_sparse(field[:, stations], x[stations], t, x, length=length, features=features,
                                  steps=400, hidden=32, num_features=32, sigma=(1.0, 0.5))
        assert fill.shape == field.shape
        assert float((fill - field).norm() / field.norm()) < 0.1, features


def test_bad_inputs():
    u, t, x, model = _ks_data(n_t=20)
    with pytest.raises(ValueError, match="uniform"):
        medida(u, t, x ** 2, model)
    with pytest.raises(ValueError, match="grid points"):
        medida(u, t, x[:-1], model)
    with pytest.raises(ValueError, match="one time per snapshot"):
        medida(u, t[:-1], x, model)
    with pytest.raises(ValueError, match="strictly increasing"):
        medida(u, t.flip(0), x, model)
    with pytest.raises(ValueError, match="method"):
        medida(u, t, x, model, method="lasso")
    with pytest.raises(ValueError, match="denoise"):
        medida(u, t, x, model, denoise="enkf")
    with pytest.raises(ValueError, match="must return shape"):
        medida(u, t, x, lambda s, h: s[0])
    with pytest.raises(ValueError, match="non-finite"):
        medida(u, t, x, lambda s, h: s * float("nan"))
    with pytest.raises(ValueError, match="u"):
        medida(u.masked_fill(u > 1, float("inf")), t, x, model)
    with pytest.raises(ValueError, match="at least 2 snapshots"):
        model_error(u[:1], t[:1], model)
    with pytest.raises(ValueError, match="at least as many samples"):
        stlsq(torch.randn(3, 5), torch.randn(3))
    with pytest.raises(ValueError, match="identically zero"):
        stlsq(torch.zeros(10, 2), torch.randn(10))
    with pytest.raises(ValueError, match="rows"):
        sparse_regression(torch.randn(10, 2), torch.randn(9))
    with pytest.raises(ValueError, match="library term"):
        medida(u, t, x, model, library=["u", "w_x"])
    with pytest.raises(ValueError, match="features"):
        interpolate_sparse(u[:, :4], x[:4], t, x, length=44.0, features="rbf")
    with pytest.raises(ValueError, match="x_obs"):
        interpolate_sparse(u[:, :4], x[:3], t, x, length=44.0)
    assert discovery.SPARSE_METHODS == ("ard", "stlsq", "sindy")
