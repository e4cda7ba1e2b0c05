"""Location encoders (basiskit.nn.location) and the location-encoder recipe's data."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basiskit.bases.spherical import lonlat_to_xyz, real_spherical_harmonics
from basiskit.nn.location import (
    NN_NAMES,
    PE_NAMES,
    GridEncoder,
    LocationEncoder,
    SphericalHarmonicsEncoder,
    check_lonlat,
    geometric_radii,
    grid_features,
    make_positional_embedding,
)
from basiskit.nn.siren import SIREN


def _lonlat(n: int, seed: int = 0, dtype=torch.float64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    lon = torch.rand(n, generator=g, dtype=dtype) * 360 - 180
    lat = torch.rand(n, generator=g, dtype=dtype) * 180 - 90
    return torch.stack([lon, lat], -1)


# ---- spherical harmonics encoder ----------------------------------------------------------------------
@pytest.mark.parametrize("L", [0, 1, 5, 10])
def test_sh_encoder_equals_real_sh_of_converted_points(L):
    x = _lonlat(64)
    out = SphericalHarmonicsEncoder(L)(x)
    ref = real_spherical_harmonics(lonlat_to_xyz(x[:, 0], x[:, 1], degrees=True), L)
    assert out.shape == (64, (L + 1) ** 2)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-12)


def test_sh_encoder_radians_and_xyz_inputs_agree_with_degrees():
    x = _lonlat(32, seed=1)
    deg = SphericalHarmonicsEncoder(6)(x)
    rad = SphericalHarmonicsEncoder(6, degrees=False)(torch.deg2rad(x))
    xyz = SphericalHarmonicsEncoder(6)(lonlat_to_xyz(x[:, 0], x[:, 1]))
    torch.testing.assert_close(rad, deg, rtol=0, atol=1e-12)
    torch.testing.assert_close(xyz, deg, rtol=0, atol=1e-12)


def test_sh_encoder_closed_form_low_degrees():
    """Y_00 = 1/sqrt(4 pi); (Y_1-1, Y_10, Y_11) = sqrt(3/(4 pi)) (y, z, x), by hand."""
    lon, lat = 30.0, 45.0
    out = SphericalHarmonicsEncoder(1)(torch.tensor([lon, lat], dtype=torch.float64))
    c = math.sqrt(3 / (4 * math.pi))
    la, ph = math.radians(lat), math.radians(lon)
    expected = [1 / math.sqrt(4 * math.pi), c * math.cos(la) * math.sin(ph), c * math.sin(la),
                c * math.cos(la) * math.cos(ph)]
    torch.testing.assert_close(out, torch.tensor(expected, dtype=torch.float64), rtol=0, atol=1e-14)


@settings(max_examples=20, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=0, max_size=3), L=st.integers(0, 8))
def test_encoder_shapes_keep_batch_dims(shape, L):
    x = _lonlat(int(np.prod(shape)) if shape else 1).reshape(*shape, 2)
    assert SphericalHarmonicsEncoder(L)(x).shape == (*shape, (L + 1) ** 2)
    assert GridEncoder("grid", n_scales=3)(x).shape == (*shape, 12)
    assert GridEncoder("theory", n_scales=3)(x).shape == (*shape, 18)
    assert GridEncoder("spherec+", n_scales=3)(x).shape == (*shape, 18)


def test_sh_encoder_is_smooth_at_the_pole():
    """All longitudes at lat = 90 are one point: SH gives one embedding, the grid does not."""
    pole = torch.tensor([[-180.0, 90.0], [-45.0, 90.0], [120.0, 90.0]], dtype=torch.float64)
    sh = SphericalHarmonicsEncoder(10)(pole)
    torch.testing.assert_close(sh, sh[:1].expand_as(sh), rtol=0, atol=1e-12)
    grid = GridEncoder("grid", 4, 1.0, 360.0)(pole)
    assert (grid - grid[:1]).abs().max() > 0.1


# ---- sin/cos grid (DFS) baselines ------------------------------------------------------------------------
def test_geometric_radii():
    r = geometric_radii(4, 1.0, 1000.0)
    torch.testing.assert_close(r, torch.tensor([1.0, 10.0, 100.0, 1000.0], dtype=torch.float64))
    assert geometric_radii(1, 5.0, 360.0).tolist() == [5.0]


def test_grid_features_against_hand_written_formula():
    x = _lonlat(5, seed=2)
    S, rmin, rmax = 3, 2.0, 200.0
    out = GridEncoder("grid", S, rmin, rmax)(x).numpy()
    for p in range(5):
        lon, lat = float(x[p, 0]), float(x[p, 1])
        row = []
        for coord in (lon, lat):
            for s in range(S):
                r = rmin * (rmax / rmin) ** (s / (S - 1))
                row += [math.sin(coord / r), math.cos(coord / r)]
        np.testing.assert_allclose(out[p], row, rtol=0, atol=1e-12)


def test_theory_and_spherec_plus_against_hand_written_formula():
    x = _lonlat(4, seed=3)
    r = torch.tensor([10.0, 100.0], dtype=torch.float64)
    theory = grid_features(x, r, "theory").numpy()
    sc = grid_features(x, r, "spherec+").numpy()
    dirs = [(1.0, 0.0), (-0.5, math.sqrt(3) / 2), (-0.5, -math.sqrt(3) / 2)]
    for p in range(4):
        lon, lat = float(x[p, 0]), float(x[p, 1])
        row = []
        for a in dirs:
            proj = a[0] * lon + a[1] * lat
            for rs in (10.0, 100.0):
                row += [math.sin(proj / rs), math.cos(proj / rs)]
        np.testing.assert_allclose(theory[p], row, rtol=0, atol=1e-12)
        row = []
        for rs in (10.0, 100.0):
            a, b = lat / rs, lon / rs
            row += [math.sin(a), math.cos(a), math.sin(b), math.cos(b), math.cos(a) * math.cos(b),
                    math.cos(a) * math.sin(b)]
        np.testing.assert_allclose(sc[p], row, rtol=0, atol=1e-12)


def test_direct_and_xyz_embeddings():
    x = torch.tensor([[90.0, -45.0]], dtype=torch.float64)
    torch.testing.assert_close(make_positional_embedding("direct")(x), torch.tensor([[0.5, -0.5]],
                                                                                    dtype=torch.float64))
    torch.testing.assert_close(make_positional_embedding("xyz")(x), lonlat_to_xyz(x[:, 0], x[:, 1]))


# ---- location encoders --------------------------------------------------------------------------------
@pytest.mark.parametrize("pe", PE_NAMES)
@pytest.mark.parametrize("nn_name", NN_NAMES)
def test_location_encoder_every_pair_runs_and_trains(pe, nn_name):
    torch.manual_seed(0)
    model = LocationEncoder(pe, nn_name, L=4, n_out=3, hidden=8, n_scales=4)
    x = _lonlat(10, dtype=torch.float32)
    out = model(x)
    assert out.shape == (10, 3) and torch.isfinite(out).all()
    out.square().sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_sh_siren_is_the_papers_sirennet():
    """SIREN(SH): (L+1)^2 inputs, `layers` sine layers of width `hidden`, first frequency 30, hidden 1."""
    model = LocationEncoder("sh", "siren", L=10, hidden=64, layers=2, n_out=16)
    assert isinstance(model.net, SIREN) and model.net.widths == [121, 64, 64, 16]
    first, second = model.net.net[0], model.net.net[1]
    assert (first.omega, second.omega) == (30.0, 1.0)
    mlp = LocationEncoder("grid", "mlp", n_scales=16, hidden=64, layers=2, n_out=16, activation="relu")
    assert [type(m).__name__ for m in mlp.net] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert mlp.net[0].in_features == 64


def test_location_encoder_float64():
    model = LocationEncoder("sh", "mlp", L=3, n_out=2, dtype=torch.float64)
    assert model(_lonlat(3)).dtype == torch.float64


# ---- bad inputs ---------------------------------------------------------------------------------------
def test_negative_or_non_integer_degree_is_refused():
    with pytest.raises(ValueError, match="L must be >= 0, got -1"):
        SphericalHarmonicsEncoder(-1)
    with pytest.raises(TypeError, match="L must be an int"):
        SphericalHarmonicsEncoder(2.5)
    with pytest.raises(ValueError, match="L must be >= 0"):
        LocationEncoder("sh", L=-3)


@pytest.mark.parametrize("enc", [SphericalHarmonicsEncoder(3), GridEncoder("grid", 4), LocationEncoder("sh", L=2),
                                 make_positional_embedding("direct")])
def test_latitude_out_of_range_is_refused(enc):
    with pytest.raises(ValueError, match=r"latitude must lie in \[-90, 90\].*95"):
        enc(torch.tensor([[10.0, 95.0]]))
    with pytest.raises(ValueError, match=r"longitude must lie in \[-180, 180\]"):
        enc(torch.tensor([[200.0, 10.0]]))


def test_latitude_range_in_radians():
    with pytest.raises(ValueError, match="latitude"):
        SphericalHarmonicsEncoder(2, degrees=False)(torch.tensor([[0.0, 2.0]]))
    SphericalHarmonicsEncoder(2, degrees=False)(torch.tensor([[math.pi, -math.pi / 2]]))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_coordinates_are_refused(bad):
    for enc in (SphericalHarmonicsEncoder(3), GridEncoder("theory", 2)):
        with pytest.raises(ValueError, match="must be finite; got 1 points"):
            enc(torch.tensor([[0.0, 0.0], [bad, 10.0]]))
    with pytest.raises(ValueError, match="finite"):
        SphericalHarmonicsEncoder(3)(torch.tensor([[0.0, 0.0, bad]]))


def test_wrong_shape_and_type_are_refused():
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\)"):
        check_lonlat(torch.zeros(4, 4))
    with pytest.raises(TypeError, match="torch.Tensor"):
        GridEncoder()([[0.0, 0.0]])


def test_unknown_names_suggest_close_matches():
    with pytest.raises(ValueError, match=r"unknown pe 'shh'; did you mean 'sh'\?"):
        LocationEncoder("shh")
    with pytest.raises(ValueError, match=r"unknown nn 'sirne'; did you mean 'siren'"):
        LocationEncoder("sh", "sirne")
    with pytest.raises(ValueError, match=r"did you mean 'grid'"):
        make_positional_embedding("gird")
    with pytest.raises(ValueError, match="activation"):
        LocationEncoder("grid", "mlp", activation="rellu")


def test_bad_scales_are_refused():
    with pytest.raises(ValueError, match=r"max_radius \(1\) must be >= min_radius \(10\)"):
        GridEncoder("grid", 4, 10.0, 1.0)
    with pytest.raises(ValueError, match="min_radius must be > 0"):
        GridEncoder("grid", 4, 0.0, 1.0)
    with pytest.raises(ValueError, match="n_scales must be >= 1"):
        GridEncoder("grid", 0)


# ---- the recipe's checkerboard ------------------------------------------------------------------------
def test_checkerboard_lattice_neighbours_differ_and_labels_are_nearest_centre():
    from basiskit.recipes.location_encoder import (
        checkerboard_labels,
        fibonacci_lattice,
        uniform_sphere,
    )

    centres, classes = fibonacci_lattice(200, 16)
    assert centres.shape == (200, 2) and set(classes.tolist()) == set(range(16))
    u = lonlat_to_xyz(centres[:, 0], centres[:, 1])
    cos = u @ u.T
    cos.fill_diagonal_(-2.0)
    # each centre's 4 nearest centres (its Voronoi neighbours on a near-hexagonal lattice) have other classes
    near = cos.topk(4, dim=1).indices
    assert (classes[near] != classes[:, None]).all()
    # near-uniform: nearest-neighbour angular distances within a factor 1.5 of each other
    nn_angle = torch.rad2deg(torch.arccos(cos.max(1).values.clamp(-1, 1)))
    assert nn_angle.max() < 1.5 * nn_angle.min()
    x = uniform_sphere(500, torch.Generator().manual_seed(0))
    assert x.shape == (500, 2) and x[:, 1].abs().max() <= 90 and x[:, 0].abs().max() <= 180
    y = checkerboard_labels(x, centres, classes)
    xu = lonlat_to_xyz(x[:, 0], x[:, 1])
    dist = torch.cdist(xu, u)
    assert torch.equal(y, classes[dist.argmin(1)])
    # uniform on the sphere: sin(lat) is uniform on [-1, 1]
    assert abs(float(torch.sin(torch.deg2rad(x[:, 1])).mean())) < 0.1


def test_recipe_config_checks_the_baseline_sweep():
    from basiskit import UsageError
    from basiskit.recipes import get

    spec = get("location-encoder")
    with pytest.raises(UsageError, match=r"baseline_min_radii \(\(400.0,\)\) must be <= max_radius \(360.0\)"):
        spec.config(overrides={"baseline_min_radii": "400"})
    quick = spec.config(quick=True)
    assert (quick.L, quick.n_centres, quick.n_classes, quick.n_train) == (10, 200, 16, 10000)
