import pytest
import torch

from basiskit.operators import FunctionUNet, InterpConv2d, UNet, create, resample_kernel
from basiskit.operators.interp_conv import hat_resample_matrix


def test_kernel_resampled_to_reference_grid_equals_stored_one():
    torch.manual_seed(0)
    conv = InterpConv2d(2, 3, kernel_size=5, ref_resolution=(16, 24))
    assert torch.equal(conv.kernel((16, 24)), conv.weight)


def test_resampled_kernel_keeps_mass_and_shape():
    w = torch.randn(2, 2, 3, 3, dtype=torch.float64)
    k2 = resample_kernel(w, (16, 16), (32, 32))
    assert k2.shape == (2, 2, 7, 7)
    assert torch.allclose(k2.sum((-1, -2)), w.sum((-1, -2)))
    k4 = resample_kernel(w, (16, 16), (64, 64))
    assert k4.shape == (2, 2, 15, 15)
    # the resampled kernel is the hat interpolant: the centre row at 2x holds c_-1, (c_-1+c_0)/2, c_0, ...
    b = hat_resample_matrix(3, 16, 32, dtype=torch.float64)
    assert torch.allclose(b[0:5], torch.tensor([[0.5, 0, 0], [1, 0, 0], [0.5, 0.5, 0], [0, 1, 0], [0, 0.5, 0.5]],
                                               dtype=torch.float64))


def _smooth(n):
    t = torch.arange(n, dtype=torch.float64) / n
    x, y = torch.meshgrid(t, t, indexing="ij")
    return torch.stack([torch.sin(2 * torch.pi * x) * torch.cos(2 * torch.pi * y), torch.cos(2 * torch.pi * x)])[None]


def test_outputs_at_2x_resolution_approximate_1x_for_smooth_inputs():
    torch.manual_seed(0)
    conv = InterpConv2d(2, 3, ref_resolution=16, padding="periodic").double()
    with torch.no_grad():
        y1, y2, y4 = conv(_smooth(16)), conv(_smooth(32)), conv(_smooth(64))
    scale = float(y1.abs().max())
    err_12 = float((y2[..., ::2, ::2] - y1).abs().max())
    err_24 = float((y4[..., ::2, ::2] - y2).abs().max())
    assert err_12 < 0.05 * scale and err_24 < err_12 / 3  # converges (second order) under refinement
    plain = torch.nn.Conv2d(2, 3, 3, padding=1, padding_mode="circular").double()
    plain.weight.data, plain.bias.data = conv.weight.data.clone(), conv.bias.data.clone()
    with torch.no_grad():
        plain_err = float((plain(_smooth(32))[..., ::2, ::2] - plain(_smooth(16))).abs().max())
    assert plain_err > 5 * err_12


@pytest.mark.parametrize("name,cls", [("unet", UNet), ("function_unet", FunctionUNet)])
def test_unets_build_by_name_map_shapes_train_and_round_trip(name, cls, assert_steps_lower_loss):
    torch.manual_seed(0)
    model = create(name, in_channels=2, out_channels=1, hidden_channels=4, levels=3)
    assert isinstance(model, cls)
    x, y = torch.randn(4, 2, 16, 16), torch.randn(4, 1, 16, 16)
    assert model(x).shape == (4, 1, 16, 16)
    assert model(torch.randn(1, 2, 32, 32)).shape == (1, 1, 32, 32)
    assert_steps_lower_loss(model, x, y)
    model.train(False)
    clone = cls(in_channels=2, out_channels=1, hidden_channels=4, levels=3).train(False)
    clone.load_state_dict(model.state_dict())
    assert torch.equal(clone(x), model(x))


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="kernel_size"):
        InterpConv2d(1, 1, kernel_size=4)
    with pytest.raises(ValueError, match="padding"):
        InterpConv2d(1, 1, padding="reflect")
    with pytest.raises(ValueError, match="in_channels"):
        InterpConv2d(2, 1)(torch.randn(1, 3, 8, 8))
    with pytest.raises(ValueError, match="x must have 4 dims"):
        UNet()(torch.randn(1, 1, 16))
    with pytest.raises(ValueError, match="in_channels"):
        FunctionUNet(in_channels=1)(torch.randn(1, 2, 16, 16))
    with pytest.raises(ValueError, match="levels=3"):
        UNet(levels=3)(torch.randn(1, 1, 18, 16))
    with pytest.raises(ValueError, match="ref_resolution"):
        FunctionUNet(ref_resolution=2, levels=3)


def test_quadrature_norm_statistics_are_functionals_of_the_field():
    from basiskit.operators.unet import QuadratureNorm, quadrature_norm

    def field(n):  # a smooth periodic 2-channel field on the grid x_j = j / n
        t = torch.arange(n, dtype=torch.float64) / n
        x, y = torch.meshgrid(t, t, indexing="ij")
        return torch.stack([3 + torch.sin(2 * torch.pi * x), 2 * torch.cos(2 * torch.pi * y) ** 2])[None]

    coarse, fine = quadrature_norm(field(16)), quadrature_norm(field(64))
    assert torch.allclose(coarse.mean(), torch.zeros((), dtype=torch.float64), atol=1e-12)
    assert torch.allclose(coarse.var(unbiased=False), torch.ones((), dtype=torch.float64), atol=1e-4)
    # the same function on two grids: the same statistics, so the normalised values agree at shared points
    assert torch.allclose(fine[..., ::4, ::4], coarse, atol=1e-6)
    per_channel = quadrature_norm(field(16), per_channel=True)
    assert torch.allclose(per_channel.mean((-1, -2)), torch.zeros(1, 2, dtype=torch.float64), atol=1e-12)
    norm = QuadratureNorm(2)
    assert not list(norm.buffers()) and norm(field(8).float()).shape == (1, 2, 8, 8)
    with pytest.raises(ValueError, match="channels"):
        norm(torch.randn(1, 3, 8, 8))


def test_unet_norm_option():
    fs = FunctionUNet(hidden_channels=4, levels=2)
    assert fs.norm == "layer" and not [b for b in fs.buffers()]  # no running statistics tied to a grid
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in UNet(hidden_channels=4, levels=2).modules())
    batch = FunctionUNet(hidden_channels=4, levels=2, norm="batch")
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in batch.modules())
    assert sum(p.numel() for p in fs.parameters()) == sum(p.numel() for p in batch.parameters())
    with pytest.raises(ValueError, match="norm"):
        UNet(norm="group")
