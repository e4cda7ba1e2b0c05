"""Bias-free denoisers: no additive constants, exact positive homogeneity and Euler's identity f(y) = J(y) y,
the Jacobian eigenbasis, the reverse-diffusion sampler against an exact Gaussian denoiser, bad inputs."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from basiskit.generative.denoiser import (
    BiasFreeBatchNorm,
    BiasFreeCNN,
    BiasFreeUNet,
    bias_parameters,
    denoiser_psnr,
    jacobian_eigenbasis,
    sample,
    sigma_schedule,
    train_denoiser,
)


def _trained_norm_stats(model: nn.Module) -> nn.Module:
    """Give every BiasFreeBatchNorm non-trivial running statistics and scales, then switch to evaluation."""
    gen = torch.Generator().manual_seed(3)
    for m in model.modules():
        if isinstance(m, BiasFreeBatchNorm):
            m.running_var.copy_(0.5 + torch.rand(m.channels, generator=gen, dtype=m.running_var.dtype))
            with torch.no_grad():
                m.weight.copy_(0.5 + torch.rand(m.channels, generator=gen, dtype=m.weight.dtype))
    return model.eval()


def _models(dtype=torch.float64):
    torch.manual_seed(0)
    return {"cnn": _trained_norm_stats(BiasFreeCNN(1, width=6, depth=4).to(dtype)),
            "unet": _trained_norm_stats(BiasFreeUNet(1, width=4, levels=2).to(dtype))}


@pytest.mark.parametrize("name", ["cnn", "unet"])
def test_no_bias_anywhere(name):
    model = _models()[name]
    assert bias_parameters(model) == []
    for mod in model.modules():
        assert getattr(mod, "bias", None) is None
        assert not isinstance(mod, (nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm, nn.InstanceNorm2d))
    assert any(isinstance(m, BiasFreeBatchNorm) for m in model.modules())


def test_bias_parameters_finds_constants():
    """The walker flags a conv bias and an ordinary BatchNorm (its running mean and shift)."""
    names = bias_parameters(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)))
    assert names == ["0.bias", "1.bias", "1.running_mean"]


@pytest.mark.parametrize("name", ["cnn", "unet"])
@settings(max_examples=10, deadline=None)
@given(a=st.floats(min_value=1e-3, max_value=1e3), seed=st.integers(0, 10_000))
def test_positive_homogeneity(name, a, seed):
    model = _models()[name]
    y = torch.randn(2, 1, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        fy, fay = model(y), model(a * y)
    assert torch.allclose(fay, a * fy, rtol=1e-10, atol=1e-12 * a)


@pytest.mark.parametrize("name", ["cnn", "unet"])
def test_euler_identity_and_eigenbasis(name):
    """f(y) = J(y) y at random y; the eigenvectors are orthonormal and reconstruct the (symmetrised) Jacobian."""
    model = _models()[name]
    gen = torch.Generator().manual_seed(1)
    for _ in range(3):
        y = torch.randn(1, 8, 8, dtype=torch.float64, generator=gen)
        basis = jacobian_eigenbasis(model, y, symmetrize=True)
        jac = torch.func.jacrev(lambda v: model(v.view(1, 1, 8, 8)).reshape(-1))(y.reshape(-1)).detach()
        with torch.no_grad():
            fy = model(y[None]).reshape(-1)
        assert torch.allclose(jac @ y.reshape(-1), fy, rtol=1e-10, atol=1e-10)
        vec = basis.vectors.reshape(64, 64)
        assert torch.allclose(vec @ vec.T, torch.eye(64, dtype=torch.float64), atol=1e-10)
        assert torch.allclose(vec.T @ torch.diag(basis.values) @ vec, 0.5 * (jac + jac.T), atol=1e-10)
        assert torch.all(basis.values[:-1] >= basis.values[1:])
        expected = float((jac - jac.T).norm() / jac.norm())
        assert basis.asymmetry == pytest.approx(expected, rel=1e-9)


def test_eigenbasis_of_a_symmetric_linear_map_is_exact():
    """A linear denoiser y -> S y with S symmetric: eigh of S, top-k kept, without symmetrising."""
    gen = torch.Generator().manual_seed(2)
    q, _ = torch.linalg.qr(torch.randn(16, 16, dtype=torch.float64, generator=gen))
    lam = torch.linspace(1.0, 0.0, 16, dtype=torch.float64)
    s = q @ torch.diag(lam) @ q.T

    def linear(v):
        return (v.reshape(v.shape[0], -1) @ s.T).reshape(v.shape)

    basis = jacobian_eigenbasis(linear, torch.randn(1, 4, 4, dtype=torch.float64, generator=gen), k=3,
                                symmetrize=False)
    assert torch.allclose(basis.values, lam[:3], atol=1e-12)
    for i in range(3):
        assert abs(float(basis.vectors[i].reshape(-1) @ q[:, i])) == pytest.approx(1.0, abs=1e-10)
    assert basis.asymmetry < 1e-12


def test_eigenbasis_refuses_asymmetric_without_symmetrize():
    m = torch.tensor([[1.0, 2.0], [0.0, 1.0]], dtype=torch.float64)
    with pytest.raises(ValueError, match="not symmetric"):
        jacobian_eigenbasis(lambda v: (v.reshape(1, 2) @ m.T).reshape(v.shape),
                            torch.ones(1, 1, 2, dtype=torch.float64), symmetrize=False)


def _gaussian(d: int = 4):
    gen = torch.Generator().manual_seed(4)
    a = torch.randn(d, d, dtype=torch.float64, generator=gen)
    return a @ a.T / d + 0.1 * torch.eye(d, dtype=torch.float64)


@pytest.mark.parametrize("eta", [1.0, 0.0])
def test_sampler_reproduces_gaussian_covariance(eta):
    """Exact MMSE denoiser of N(0, Sigma): f(y) = Sigma (Sigma + sigma^2 I)^-1 y; samples must have covariance
    Sigma within sampling error (n = 20,000: relative standard error of an entry about 1-2%)."""
    cov = _gaussian()
    eye = torch.eye(4, dtype=torch.float64)

    def denoiser(y, sigma):
        return y @ torch.linalg.solve(cov + sigma ** 2 * eye, cov)  # rows: (S (S + s^2 I)^-1 y)^T

    n = 20_000
    x = sample(denoiser, (n, 4), sigma_max=30.0, sigma_min=1e-3, steps=400, eta=eta, blind=False,
               dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    emp = x.T @ x / n
    scale = torch.sqrt(torch.diagonal(cov)[:, None] * torch.diagonal(cov)[None, :])
    err = ((emp - cov) / scale).abs().max()
    assert err < 0.06, (emp, cov)
    assert x.mean(0).abs().max() < 0.05


def test_sampler_is_deterministic_given_noise_and_seed():
    torch.manual_seed(0)
    model = BiasFreeCNN(1, width=4, depth=3).eval()
    noise = torch.randn(2, 1, 8, 8)
    s1 = sample(model, (2, 1, 8, 8), noise=noise, steps=5, generator=torch.Generator().manual_seed(9))
    s2 = sample(model, (2, 1, 8, 8), noise=noise, steps=5, generator=torch.Generator().manual_seed(9))
    s3 = sample(model, (2, 1, 8, 8), noise=noise, steps=5, generator=torch.Generator().manual_seed(10))
    assert torch.equal(s1, s2)
    assert not torch.equal(s1, s3)
    d1 = sample(model, (2, 1, 8, 8), noise=noise, steps=5, eta=0.0, generator=torch.Generator().manual_seed(9))
    d2 = sample(model, (2, 1, 8, 8), noise=noise, steps=5, eta=0.0, generator=torch.Generator().manual_seed(10))
    assert torch.equal(d1, d2)  # eta = 0 draws nothing after the initial noise


def test_training_lowers_loss_and_psnr_improves():
    torch.manual_seed(0)
    images = torch.rand(4, 1, 8, 8)
    model = BiasFreeUNet(1, width=4, levels=1)
    before = denoiser_psnr(model.eval(), images, 0.3)
    losses = train_denoiser(model, images, sigmas=(0.0, 0.5), steps=60, batch_size=8, lr=1e-2,
                            generator=torch.Generator().manual_seed(1))
    after = denoiser_psnr(model, images, 0.3)
    assert sum(losses[-10:]) < sum(losses[:10])
    assert after > before
    assert not model.training


def test_batchnorm_is_scale_only():
    bn = BiasFreeBatchNorm(3)
    x = torch.randn(8, 3, 4, 4) + 5.0
    out = bn(x)
    std = x.var(dim=(0, 2, 3), unbiased=False).add(1e-5).sqrt()
    assert torch.allclose(out, x / std.view(1, 3, 1, 1), atol=1e-6)  # the mean (about 5) is kept, not removed
    bn.eval()
    assert torch.allclose(bn(2 * x), 2 * bn(x))


def test_sigma_schedule():
    s = sigma_schedule(1.0, 0.01, 4)
    assert s.shape == (5,)
    assert s[0] == pytest.approx(1.0) and s[-1] == pytest.approx(0.01)
    assert torch.allclose(s[1:] / s[:-1], torch.full((4,), 10 ** -0.5, dtype=torch.float64))
    assert math.isclose(float(s[2]), 0.1, rel_tol=1e-12)


def test_bad_inputs():
    model = BiasFreeCNN(1, width=4, depth=3)
    images = torch.rand(4, 1, 8, 8)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        denoiser_psnr(model, images, 0.0)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        denoiser_psnr(model, images, -0.1)
    with pytest.raises(ValueError, match="images must be 4-D"):
        train_denoiser(model, torch.rand(4, 8, 8), steps=1)
    with pytest.raises(ValueError, match="images must be 4-D"):
        denoiser_psnr(model, torch.rand(8, 8), 0.1)
    with pytest.raises(ValueError, match="sigmas"):
        train_denoiser(model, images, sigmas=(0.5, 0.1), steps=1)
    with pytest.raises(ValueError, match=r"sigmas\[1\] must be > 0"):
        train_denoiser(model, images, sigmas=(0.0, 0.0), steps=1)
    with pytest.raises(ValueError, match="sigma_min must be < sigma_max"):
        sample(model, (1, 1, 8, 8), sigma_max=0.1, sigma_min=0.5)
    with pytest.raises(ValueError, match="sigma_max must be > 0"):
        sample(model, (1, 1, 8, 8), sigma_max=0.0)
    with pytest.raises(ValueError, match="noise must have shape"):
        sample(model, (1, 1, 8, 8), noise=torch.randn(2, 1, 8, 8))
    with pytest.raises(ValueError, match="shape must be"):
        sample(model, (0, 1, 8, 8))
    with pytest.raises(ValueError, match="one image"):
        jacobian_eigenbasis(model, torch.rand(2, 1, 8, 8))
    with pytest.raises(ValueError, match="k must be <= 64"):
        jacobian_eigenbasis(model, torch.rand(1, 8, 8), k=65)
    with pytest.raises(ValueError, match="needs input"):
        model(torch.rand(1, 2, 8, 8))
    with pytest.raises(ValueError, match="divisible by 4"):
        BiasFreeUNet(1, width=4, levels=2)(torch.rand(1, 1, 10, 10))
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        BiasFreeCNN(kernel_size=4)


def test_recipe_config_rejects_bad_sizes():
    """N larger than a half of MNIST-5k, no N <= 10, repeated sizes: refused before any work."""
    from basiskit._validation import UsageError
    from basiskit.recipes import RECIPES

    spec = RECIPES.get("gahb")
    for bad in ({"n_train": (1, 2501)}, {"n_train": (20, 2500)}, {"n_train": (1, 1, 2500)},
                {"sigma_min": 2.0, "sigma_max": 1.0}):
        with pytest.raises((UsageError, ValueError)):
            spec.config(overrides=bad)
