import pytest
import torch
from torch.nn import functional as F

from basiskit.operators import MgNO, create, prolong, restrict, v_cycle
from basiskit.operators.mgno import VCycle, default_smoothing


@pytest.mark.parametrize("padding,size", [("zeros", (8, 8)), ("zeros", (7, 10)), ("periodic", (8, 12))])
def test_restriction_and_prolongation_shapes(padding, size):
    x = torch.randn(2, 3, *size)
    r = restrict(x, torch.randn(5, 3, 3, 3), padding)
    coarse = (-(-size[0] // 2), -(-size[1] // 2))
    assert r.shape == (2, 5, *coarse)
    p = prolong(r, torch.randn(5, 4, 3, 3), size, padding)
    assert p.shape == (2, 4, *size)


def test_prolongation_places_coarse_point_on_fine_neighbours():
    coarse = torch.zeros(1, 1, 4, 4)
    coarse[0, 0, 3, 0] = 1.0
    w = torch.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    zero = prolong(coarse, w, (8, 8), "zeros")[0, 0]
    per = prolong(coarse, w, (8, 8), "periodic")[0, 0]
    # coarse (3, 0) sits on fine (6, 0) and feeds fine rows 5..7, columns -1..1 with kernel entry [1+di, 1+dj]
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            i, j = 6 + di, dj
            if j >= 0:
                assert zero[i, j] == w[0, 0, 1 + di, 1 + dj]
            assert per[i % 8, j % 8] == w[0, 0, 1 + di, 1 + dj]
    assert zero.count_nonzero() == 6 and per.count_nonzero() == 9


def test_restriction_is_strided_convolution():
    x = torch.randn(1, 2, 8, 8)
    w = torch.randn(3, 2, 3, 3)
    ref = torch.nn.functional.conv2d(x, w, padding=1, stride=2)
    assert torch.allclose(restrict(x, w, "zeros"), ref, atol=1e-6)


def _weights(cycle):
    return ([list(s) for s in cycle.smooth], [list(a) for a in cycle.a], list(cycle.pi), list(cycle.r),
            list(cycle.p))


@pytest.mark.parametrize("padding", ["zeros", "periodic"])
def test_v_cycle_is_linear_in_u(padding):
    torch.manual_seed(0)
    cycle = VCycle(2, 3, smoothing=(1, 2, 2), padding=padding).double()
    u, v = torch.randn(2, 2, 16, 16, dtype=torch.float64), torch.randn(2, 2, 16, 16, dtype=torch.float64)
    a, b = 0.7, -1.3
    assert torch.allclose(cycle(a * u + b * v), a * cycle(u) + b * cycle(v), atol=1e-10)
    out = v_cycle(u, *_weights(cycle), padding)
    assert out.shape == (2, 3, 16, 16) and torch.equal(out, cycle(u))


def test_v_cycle_matches_the_mgnet_recursion_written_out():
    """Two grids, steps (2, 1), zero padding, against the MgNet update written with F.conv2d directly."""
    torch.manual_seed(1)
    cycle = VCycle(2, 3, smoothing=(2, 1)).double()
    f = torch.randn(1, 2, 8, 6, dtype=torch.float64)
    (s0, s1), (a0,) = cycle.smooth[0], cycle.a[0]
    (s_c,), (a_c,) = cycle.smooth[1], cycle.a[1]
    conv = lambda x, w, stride=1: F.conv2d(x, w, padding=1, stride=stride)
    v = conv(f, s0)
    v = v + conv(f - conv(v, a0), s1)
    vc, fc = conv(v, cycle.pi[0], 2), conv(f, cycle.r[0], 2)
    vc = vc + conv(fc - conv(vc, a_c), s_c)
    up = F.conv_transpose2d(vc, cycle.p[0], stride=2, padding=1)  # coarse j -> fine 2j-1 .. 2j+2
    assert torch.allclose(cycle(f), v + up[..., :8, :6], atol=1e-12)


def test_default_smoothing_is_the_authors_script_default():
    assert default_smoothing(5) == (1, 1, 1, 2, 2)
    assert default_smoothing(1) == (1,)


def test_periodic_v_cycle_commutes_with_even_shifts():
    torch.manual_seed(0)
    cycle = VCycle(1, 2, smoothing=(1, 1, 2), padding="periodic").double()
    u = torch.randn(1, 1, 16, 16, dtype=torch.float64)
    shift = 4  # a multiple of 2**(levels-1) keeps every coarse grid aligned
    assert torch.allclose(cycle(torch.roll(u, shift, dims=-1)), torch.roll(cycle(u), shift, dims=-1), atol=1e-10)


def test_mgno_builds_by_name_maps_shapes_trains_and_round_trips(assert_steps_lower_loss):
    torch.manual_seed(0)
    model = create("mgno", in_channels=2, out_channels=1, hidden_channels=6, n_layers=3, levels=3)
    assert isinstance(model, MgNO)
    x, y = torch.randn(4, 2, 16, 16), torch.randn(4, 1, 16, 16)
    assert model(x).shape == (4, 1, 16, 16)
    assert model(torch.randn(1, 2, 20, 12)).shape == (1, 1, 20, 12)
    assert_steps_lower_loss(model, x, y)
    clone = MgNO(in_channels=2, out_channels=1, hidden_channels=6, n_layers=3, levels=3)
    clone.load_state_dict(model.state_dict())
    assert torch.equal(clone(x), model(x))


def test_mgno_bad_inputs_name_the_argument():
    model = MgNO(1, 1, hidden_channels=4, n_layers=2, levels=3, padding="periodic")
    with pytest.raises(ValueError, match="x must have 4 dims"):
        model(torch.randn(1, 1, 16))
    with pytest.raises(ValueError, match="in_channels"):
        model(torch.randn(1, 2, 16, 16))
    with pytest.raises(ValueError, match="levels=3"):
        model(torch.randn(1, 1, 18, 16))
    with pytest.raises(ValueError, match="levels=3"):
        MgNO(1, 1, levels=3)(torch.randn(1, 1, 3, 16))
    with pytest.raises(ValueError, match="padding"):
        MgNO(padding="reflect")
    with pytest.raises(ValueError, match="n_layers"):
        MgNO(n_layers=0)
    with pytest.raises(ValueError, match="smoothing must give 3"):
        MgNO(levels=3, smoothing=(1, 1))
    with pytest.raises(ValueError, match="the first >= 1"):
        MgNO(levels=2, smoothing=(0, 1))
    with pytest.raises(ValueError, match="smoothing"):
        MgNO(levels=2, smoothing=(1, -1))
    with pytest.raises(ValueError, match="one or more"):
        VCycle(1, 1, smoothing=())


@pytest.mark.parametrize("levels", [1, 2, 4, 5])
def test_v_cycle_init_keeps_the_input_scale(levels):
    """torch's default convolution initialisation (the authors'): about 0.6x the input's std at every depth of
    the cycle, neither growing with the number of grids nor vanishing."""
    torch.manual_seed(0)
    cycle = VCycle(8, 8, smoothing=default_smoothing(levels))
    x = torch.randn(4, 8, 32, 32)
    with torch.no_grad():
        ratio = float(cycle(x).std() / x.std())
    assert 0.4 < ratio < 1.0


def test_prolongation_with_the_4x4_kernel_reaches_four_fine_points():
    coarse = torch.zeros(1, 1, 4, 4)
    coarse[0, 0, 1, 1] = 1.0
    w = torch.arange(1.0, 17.0).reshape(1, 1, 4, 4)
    out = prolong(coarse, w, (8, 8), "zeros")[0, 0]
    # coarse (1, 1) sits on fine (2, 2) and feeds fine rows and columns 1..4 with kernel entry [i - 1, j - 1]
    assert torch.equal(out[1:5, 1:5], w[0, 0]) and out.count_nonzero() == 16


def test_single_layer_mgno_is_one_cycle_plus_local_term_then_projection():
    torch.manual_seed(0)
    model = MgNO(1, 2, hidden_channels=3, n_layers=1, levels=2).double()
    x = torch.randn(2, 1, 8, 8, dtype=torch.float64)
    hidden = F.gelu(model.cycles[0](x) + model.local[0](x))
    assert torch.allclose(model(x), F.conv2d(hidden, model.projection.weight), atol=1e-12)
