import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basiskit.measure import count_parameters
from basiskit.nn.neurbf import (
    KERNELS,
    AdaptiveRBF,
    BilinearGrid,
    GridField,
    NeuRBF,
    SinusoidResidual,
    bilinear_grid,
    channel_frequencies,
    cluster_shapes,
    image_gradient_magnitude,
    log_spaced,
    mahalanobis_sq,
    neurbf_parameter_count,
    pixel_coordinates,
    rbf_kernel,
    sinusoid_composition,
    sinusoid_residual,
    weighted_kmeans,
)


# ---- kernels and distances ------------------------------------------------------------------------------------
def test_kernels_match_closed_forms():
    r2 = torch.tensor([0.0, 0.5, 1.0, 4.0], dtype=torch.float64)
    assert torch.allclose(rbf_kernel(r2, "gaussian"), torch.tensor([1.0, math.exp(-0.5), math.exp(-1.0),
                                                                    math.exp(-4.0)], dtype=torch.float64))
    assert torch.allclose(rbf_kernel(r2, "inverse_quadric"), torch.tensor([1.0, 1 / 1.5, 0.5, 0.2],
                                                                          dtype=torch.float64))


def test_unknown_kernel_is_refused_with_close_match():
    with pytest.raises(ValueError, match="gaussian"):
        rbf_kernel(torch.zeros(3), "gausian")
    with pytest.raises(ValueError, match="kernel"):
        AdaptiveRBF(4, 2, kernel="multiquadric")


def test_mahalanobis_matches_explicit_quadratic_form():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 3, generator=g, dtype=torch.float64)
    c = torch.randn(4, 3, generator=g, dtype=torch.float64)
    chol = torch.randn(4, 3, 3, generator=g, dtype=torch.float64).tril()
    got = mahalanobis_sq(x[:, None, :], c, chol)
    for n in range(5):
        for k in range(4):
            a = chol[k] @ chol[k].T
            d = x[n] - c[k]
            assert got[n, k].item() == pytest.approx((d @ a @ d).item(), rel=1e-12)


def test_mahalanobis_gradcheck():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 1, 2, generator=g, dtype=torch.float64)
    c = torch.randn(4, 2, generator=g, dtype=torch.float64, requires_grad=True)
    chol = torch.randn(4, 2, 2, generator=g, dtype=torch.float64).tril().requires_grad_()
    assert torch.autograd.gradcheck(lambda cc, ll: mahalanobis_sq(x, cc, ll), (c, chol))


def test_sinusoid_composition_and_channel_frequencies():
    freqs = channel_frequencies((1.0, 10.0), 4)
    assert freqs.tolist() == [1.0, 1.0, 10.0, 10.0]
    act = torch.tensor([[0.3, 0.7]])
    bias = torch.tensor([0.0, 0.5, 0.0, 0.5])
    out = sinusoid_composition(act, freqs, bias)
    assert out.shape == (1, 2, 4)
    assert out[0, 1, 2].item() == pytest.approx(math.sin(7.0))
    assert out[0, 0, 1].item() == pytest.approx(math.sin(0.3 + 0.5))
    with pytest.raises(ValueError, match="multiple"):
        channel_frequencies((1.0, 2.0, 3.0), 4)
    with pytest.raises(ValueError, match="frequencies"):
        channel_frequencies((), 4)
    with pytest.raises(ValueError, match=">"):
        channel_frequencies((1.0, -2.0), 4)


def test_sinusoid_residual_closed_form_and_derivative():
    z = torch.tensor([[0.1, -0.4, 2.0]], dtype=torch.float64, requires_grad=True)
    nu = torch.tensor([10.0, 31.6, 100.0], dtype=torch.float64)
    out = sinusoid_residual(z, nu)
    expected = [0.1 + math.sin(1.0), -0.4 + math.sin(-0.4 * 31.6), 2.0 + math.sin(200.0)]
    assert out[0].tolist() == pytest.approx(expected, rel=1e-12)
    out.sum().backward()  # d/dz (z + sin(nu z)) = 1 + nu cos(nu z)
    assert z.grad[0].tolist() == pytest.approx((1 + nu * torch.cos(nu * z.detach()))[0].tolist(), rel=1e-12)


def test_log_spaced_endpoints_ratio_and_bad_bounds():
    f = log_spaced(10.0, 100.0, 5).double()
    assert f[0].item() == pytest.approx(10.0, rel=1e-6) and f[-1].item() == pytest.approx(100.0, rel=1e-6)
    ratios = f[1:] / f[:-1]
    assert torch.allclose(ratios, torch.full_like(ratios, 10 ** 0.25), rtol=1e-5)
    assert log_spaced(3.0, 3.0, 1).tolist() == pytest.approx([3.0])
    with pytest.raises(ValueError, match="low"):
        log_spaced(0.0, 10.0, 4)
    with pytest.raises(ValueError, match="high"):
        log_spaced(10.0, 5.0, 4)


def test_decoder_first_layer_sinusoids_on_and_off():
    model = NeuRBF(12, 4, frequencies=(1.0, 4.0), grid_resolution=8, hidden=(16, 8), decoder_frequencies=(10, 100))
    first = model.decoder[1]
    assert isinstance(first, SinusoidResidual)
    assert torch.allclose(first.frequencies, log_spaced(10.0, 100.0, 16))
    assert not isinstance(model.decoder[3], SinusoidResidual)  # only the first hidden layer
    z = torch.randn(5, 16)
    assert torch.allclose(first(z), z + torch.sin(z * first.frequencies))
    plain = NeuRBF(12, 4, frequencies=(1.0, 4.0), grid_resolution=8, hidden=(16, 8))  # default: off
    assert not any(isinstance(m, SinusoidResidual) for m in plain.decoder)
    assert count_parameters(plain) == count_parameters(model)  # the frequencies are a buffer, not parameters
    grid = GridField(2, 9, hidden=(6,), decoder_frequencies=(2.0, 20.0))
    assert isinstance(grid.decoder[1], SinusoidResidual) and grid(torch.rand(3, 2)).shape == (3, 1)
    assert not any(isinstance(m, SinusoidResidual) for m in GridField(2, 9, hidden=(6,)).decoder)


@pytest.mark.parametrize("bad,match", [((10.0,), "low, high"), ((10.0, 20.0, 30.0), "low, high"),
                                       ((-1.0, 10.0), "decoder_frequencies"), ((50.0, 10.0), "decoder_frequencies")])
def test_bad_decoder_frequencies_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        NeuRBF(8, 2, frequencies=(1.0,), hidden=(4,), decoder_frequencies=bad)


def test_decoder_frequencies_need_a_hidden_layer():
    with pytest.raises(ValueError, match="hidden layer"):
        NeuRBF(8, 2, frequencies=(1.0,), grid_channels=0, hidden=(), decoder_frequencies=(10.0, 100.0))
    with pytest.raises(ValueError, match="hidden layer"):
        GridField(1, 8, decoder_frequencies=(10.0, 100.0))
    assert NeuRBF(8, 2, frequencies=(1.0,), grid_channels=0, hidden=())(torch.rand(3, 2)).shape == (3, 1)


# ---- initialisation -------------------------------------------------------------------------------------------
def test_weighted_kmeans_hand_computed_centroids():
    points = torch.tensor([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0], [10.0, 2.0]], dtype=torch.float64)
    weights = torch.tensor([1.0, 3.0, 1.0, 1.0], dtype=torch.float64)
    init = torch.tensor([[0.0, 0.0], [10.0, 0.0]], dtype=torch.float64)
    centers, labels = weighted_kmeans(points, weights, 2, iters=5, init=init)
    # cluster 0: (0 * 1 + 1 * 3) / 4 = 0.75; cluster 1: the plain mean (10, 1)
    assert torch.allclose(centers, torch.tensor([[0.75, 0.0], [10.0, 1.0]], dtype=torch.float64))
    assert labels.tolist() == [0, 0, 1, 1]


def test_weighted_kmeans_zero_weight_cluster_stays_and_weights_pull():
    points = torch.tensor([[0.0], [1.0], [5.0]], dtype=torch.float64)
    weights = torch.tensor([0.0, 2.0, 0.0], dtype=torch.float64)
    centers, _ = weighted_kmeans(points, weights, 2, iters=3, init=torch.tensor([[0.2], [5.0]],
                                                                                 dtype=torch.float64))
    # only the point at 1 has weight: the first centre moves onto it, the second (zero mass) stays at 5
    assert centers[:, 0].tolist() == [1.0, 5.0]


def test_weighted_kmeans_sampling_init_is_seeded_and_bad_inputs():
    g = torch.Generator().manual_seed(0)
    pts = torch.rand(200, 2, generator=g)
    w = torch.rand(200, generator=g)
    a, _ = weighted_kmeans(pts, w, 5, generator=torch.Generator().manual_seed(3))
    b, _ = weighted_kmeans(pts, w, 5, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="non-negative"):
        weighted_kmeans(pts, -w, 5)
    with pytest.raises(ValueError, match="positive weight"):
        weighted_kmeans(pts[:3], torch.tensor([1.0, 0.0, 0.0]), 2)
    with pytest.raises(ValueError, match="one entry per point"):
        weighted_kmeans(pts, w[:10], 5)
    with pytest.raises(ValueError, match="NaN"):
        weighted_kmeans(pts.masked_fill(torch.arange(200)[:, None] == 0, float("nan")), w, 5)


def test_cluster_shapes_inverse_covariance():
    points = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0], [0.0, -2.0]], dtype=torch.float64)
    weights = torch.ones(4, dtype=torch.float64)
    labels = torch.zeros(4, dtype=torch.long)
    centers = torch.zeros(1, 2, dtype=torch.float64)
    chol = cluster_shapes(points, weights, labels, centers, scale=1.0, min_std=1e-6)
    a = chol[0] @ chol[0].T  # covariance diag(0.5, 2) -> precision diag(2, 0.5)
    assert torch.allclose(a, torch.diag(torch.tensor([2.0, 0.5], dtype=torch.float64)), atol=1e-8)
    chol2 = cluster_shapes(points, weights, labels, centers, scale=2.0, min_std=1e-6)
    assert torch.allclose(chol2[0] @ chol2[0].T, a / 4, atol=1e-8)
    # an empty cluster gets the isotropic min_std shape
    chol3 = cluster_shapes(points, weights, labels, torch.zeros(2, 2, dtype=torch.float64), min_std=0.1)
    assert torch.allclose(chol3[1] @ chol3[1].T, 100 * torch.eye(2, dtype=torch.float64))


def test_image_gradient_magnitude_of_a_ramp():
    img = torch.arange(6, dtype=torch.float64)[None, :].repeat(5, 1) * 0.5 + 2.0 * torch.arange(5)[:, None]
    grad = image_gradient_magnitude(img)
    assert torch.allclose(grad, torch.full((5, 6), math.hypot(0.5, 2.0), dtype=torch.float64))
    with pytest.raises(ValueError, match="dims"):
        image_gradient_magnitude(torch.zeros(4))


def test_init_from_image_puts_bases_where_the_image_changes():
    img = torch.zeros(32, 32)
    img[:, :8] = (torch.arange(8) % 2).float()  # stripes on the left quarter, flat elsewhere
    model = NeuRBF(16, 4, frequencies=(1.0, 2.0), grid_channels=0)
    labels = model.init_from_image(img, generator=torch.Generator().manual_seed(0))
    assert labels.shape == (32 * 32,)
    assert bool((model.rbf.centers[:, 1] < 0.3).all())
    diag = torch.diagonal(model.rbf.cholesky(), dim1=-2, dim2=-1)
    assert bool((diag > 0).all()) and bool(torch.isfinite(diag).all())


# ---- modules --------------------------------------------------------------------------------------------------
def _dense_reference(rbf: AdaptiveRBF, x: torch.Tensor) -> torch.Tensor:
    """All bases at once (top_k >= K): sum_i w_i sin(omega phi_hat_i + b), phi_hat normalised over all bases."""
    chol = rbf.cholesky()
    out = torch.zeros(x.shape[0], rbf.feature_dim, dtype=x.dtype)
    for n in range(x.shape[0]):
        phis = []
        for i in range(rbf.num_bases):
            d = x[n] - rbf.centers[i]
            r2 = d @ chol[i] @ chol[i].T @ d
            phis.append(1.0 / (1.0 + r2))
        total = sum(phis)
        for i, phi in enumerate(phis):
            out[n] += rbf.features[i] * torch.sin(rbf.frequencies * (phi / total) + rbf.bias)
    return out


def test_adaptive_rbf_matches_dense_reference_when_all_bases_are_neighbours():
    torch.manual_seed(0)
    rbf = AdaptiveRBF(5, 4, top_k=5, frequencies=(1.0, 8.0)).double()
    with torch.no_grad():
        rbf.offdiag.normal_()
        rbf.bias.normal_()
    x = torch.rand(7, 2, dtype=torch.float64)
    assert torch.allclose(rbf(x), _dense_reference(rbf, x), atol=1e-12)


def test_neighbors_are_nearest_and_chunking_does_not_matter():
    torch.manual_seed(0)
    rbf = AdaptiveRBF(30, 2, top_k=3, frequencies=None, chunk_size=7)
    x = torch.rand(50, 2)
    idx = rbf.neighbors(x)
    r2 = mahalanobis_sq(x[:, None, :], rbf.centers, rbf.cholesky()).detach()
    expected = r2.topk(3, dim=1, largest=False).indices
    assert torch.equal(idx.sort(1).values, expected.sort(1).values)
    rbf.chunk_size = 4096
    assert torch.equal(rbf.neighbors(x), idx)
    act = rbf.activations(x, idx)
    assert torch.allclose(act.sum(1), torch.ones(50))
    # precomputed neighbours give the same output
    assert torch.allclose(rbf(x, idx), rbf(x))


def test_plain_combination_without_sinusoids():
    torch.manual_seed(0)
    rbf = AdaptiveRBF(6, 3, top_k=2, frequencies=None)
    x = torch.rand(4, 2)
    idx = rbf.neighbors(x)
    expected = (rbf.activations(x, idx).unsqueeze(-1) * rbf.features[idx]).sum(1)
    assert torch.allclose(rbf(x, idx), expected)
    assert rbf.bias is None


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("sinusoid,grid_channels,hidden", [(True, 4, (16, 16)), (False, 2, (8,)), (True, 0, ())])
def test_parameter_count_helper_matches_module(kernel, sinusoid, grid_channels, hidden):
    model = NeuRBF(37, 6, grid_channels=grid_channels, grid_resolution=9, hidden=hidden, kernel=kernel,
                   frequencies=(1.0, 2.0, 3.0) if sinusoid else None, trainable_geometry=False,
                   decoder_frequencies=(10.0, 100.0) if hidden else None)
    assert count_parameters(model) == neurbf_parameter_count(37, 6, grid_channels, 9, hidden, sinusoid=sinusoid)


def test_neurbf_shapes_and_a_training_step_lowers_the_loss():
    torch.manual_seed(0)
    model = NeuRBF(20, 4, frequencies=(1.0, 4.0), grid_resolution=8, out_dim=3)
    x = torch.rand(64, 2)
    y = torch.rand(64, 3)
    assert model(x).shape == (64, 3)
    nb = model.neighbors(x)
    assert nb.shape == (64, 4) and nb.dtype == torch.long
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(20):
        loss = ((model(x, nb) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert model.rbf.centers.grad is not None


def test_fixed_geometry_gets_no_gradient_but_counts():
    model = NeuRBF(10, 2, frequencies=(1.0,), grid_channels=0, hidden=(4,), trainable_geometry=False)
    model(torch.rand(5, 2)).sum().backward()
    assert model.rbf.centers.grad is None and model.rbf.log_diag.grad is None
    assert model.rbf.features.grad is not None
    assert count_parameters(model) == neurbf_parameter_count(10, 2, 0, 2, (4,))


def test_set_geometry_round_trip():
    rbf = AdaptiveRBF(3, 2, frequencies=None)
    chol = torch.tensor([[[2.0, 0.0], [0.5, 1.0]]]).repeat(3, 1, 1)
    centers = torch.rand(3, 2)
    rbf.set_geometry(centers, chol)
    assert torch.allclose(rbf.cholesky(), chol) and torch.equal(rbf.centers.data, centers)
    with pytest.raises(ValueError, match="positive diagonal"):
        rbf.set_geometry(centers, -chol)
    with pytest.raises(ValueError, match="centers must be"):
        rbf.set_geometry(centers[:2], chol)


def test_bilinear_grid_reproduces_nodes_and_linear_functions():
    g = 5
    r = torch.linspace(0, 1, g)
    grid = (1.0 + 2.0 * r[:, None] - 3.0 * r[None, :]).unsqueeze(0).double()
    nodes = torch.cartesian_prod(r, r).double()
    assert torch.allclose(bilinear_grid(grid, nodes)[:, 0], grid[0].flatten(), atol=1e-12)
    x = torch.rand(20, 2, dtype=torch.float64)
    assert torch.allclose(bilinear_grid(grid, x)[:, 0], 1.0 + 2.0 * x[:, 0] - 3.0 * x[:, 1], atol=1e-12)
    assert BilinearGrid(3, 4)(torch.rand(6, 2)).shape == (6, 3)


def test_grid_field_direct_and_decoded():
    assert GridField(1, 8)(torch.rand(5, 2)).shape == (5, 1)
    assert GridField(4, 8, hidden=(6,), out_dim=2)(torch.rand(5, 2)).shape == (5, 2)
    with pytest.raises(ValueError, match="channels == out_dim"):
        GridField(4, 8)


def test_pixel_coordinates():
    xy = pixel_coordinates(2, 4)
    assert xy.shape == (8, 2)
    assert xy[0].tolist() == [0.25, 0.125] and xy[-1].tolist() == [0.75, 0.875]


# ---- bad inputs -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("num_bases", [0, -3])
def test_non_positive_number_of_bases_is_refused(num_bases):
    with pytest.raises(ValueError, match="num_bases"):
        NeuRBF(num_bases)
    with pytest.raises(ValueError, match="num_bases"):
        AdaptiveRBF(num_bases, 4)


def test_non_integer_number_of_bases_is_refused():
    with pytest.raises(TypeError, match="num_bases"):
        NeuRBF(10.5)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_coordinates_are_refused(bad):
    model = NeuRBF(8, 4, frequencies=(1.0, 2.0))
    x = torch.rand(5, 2)
    x[2, 1] = bad
    with pytest.raises(ValueError, match="NaN/inf"):
        model(x)
    with pytest.raises(ValueError, match="NaN/inf"):
        model.neighbors(x)


def test_wrong_shapes_are_refused():
    model = NeuRBF(8, 4, frequencies=(1.0, 2.0))
    with pytest.raises(ValueError, match="last dim 2"):
        model(torch.rand(5, 3))
    with pytest.raises(ValueError, match="neighbors"):
        model(torch.rand(5, 2), torch.zeros(4, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="multiple"):
        NeuRBF(8, 5, frequencies=(1.0, 2.0))


def test_sample_image_loader():
    pytest.importorskip("sklearn")
    from basiskit.data.images import sample_image

    img = sample_image("flower.jpg", size=32, top=0, left=0)
    assert img.shape == (32, 32) and img.dtype == torch.float32
    assert 0.0 <= float(img.min()) and float(img.max()) <= 1.0
    with pytest.raises(ValueError, match="china.jpg"):
        sample_image("chna.jpg")
    with pytest.raises(ValueError, match="does not fit"):
        sample_image(size=256, top=300)


@settings(max_examples=25, deadline=None)
@given(num_bases=st.integers(1, 40), groups=st.integers(1, 3), per_group=st.integers(1, 3),
       grid_channels=st.integers(0, 3), grid_resolution=st.integers(2, 6), top_k=st.integers(1, 6),
       hidden=st.lists(st.integers(1, 8), max_size=2), kernel=st.sampled_from(KERNELS), seed=st.integers(0, 99))
def test_sizes_vary_counts_match_and_activations_are_a_partition_of_unity(num_bases, groups, per_group, grid_channels,
                                                                           grid_resolution, top_k, hidden, kernel,
                                                                           seed):
    torch.manual_seed(seed)
    freqs = tuple(float(2 ** i) for i in range(groups))
    model = NeuRBF(num_bases, groups * per_group, grid_channels=grid_channels, grid_resolution=grid_resolution,
                   hidden=hidden, kernel=kernel, top_k=top_k, frequencies=freqs,
                   decoder_frequencies=(10.0, 100.0) if hidden else None)
    assert count_parameters(model) == neurbf_parameter_count(num_bases, groups * per_group, grid_channels,
                                                             grid_resolution, hidden)
    x = torch.rand(9, 2)
    nb = model.neighbors(x)
    assert nb.shape == (9, min(top_k, num_bases))
    act = model.rbf.activations(x, nb)
    assert bool((act >= 0).all()) and torch.allclose(act.sum(1), torch.ones(9))
    out = model(x, nb)
    assert out.shape == (9, 1) and bool(torch.isfinite(out).all())
