import math

import pytest
import torch

import basiskit.models as M
from basiskit.nn import GRKAN, GroupRational
from basiskit.nn.grkan import INIT_COEFFS, gaussian_second_moment, init_coefficients


@pytest.mark.parametrize("init,ref", [("gelu", torch.nn.functional.gelu), ("swish", torch.nn.functional.silu)])
def test_init_fits_within_1e_2_on_minus3_3(init, ref):
    layer = GroupRational(8, groups=2, init=init).double()
    x = torch.linspace(-3, 3, 6001, dtype=torch.float64)[:, None].repeat(1, 8)
    with torch.no_grad():
        assert float((layer(x) - ref(x)).abs().max()) <= 1e-2


def test_identity_init_is_exact():
    x = torch.cat([torch.randn(64, 16) * 10, torch.tensor([[1e4] * 16, [-1e-20] * 16])])
    y = GroupRational(16, groups=8, init="identity")(x)
    assert torch.equal(y, x)


def test_gain_matches_monte_carlo():
    a, b = (torch.tensor(v, dtype=torch.float64) for v in INIT_COEFFS["gelu"])
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2_000_000, generator=g, dtype=torch.float64)
    from basiskit.bases.rational import rational

    mc = float((x.square().mean() / rational(x, a, b).square().mean()).sqrt())
    quad = float(gaussian_second_moment(a, b).rsqrt())
    assert abs(quad - mc) / mc < 0.02
    assert abs(GroupRational(8, init="gelu").gain() - quad) < 1e-6
    assert GroupRational(8, init="identity").gain() == pytest.approx(1.0, abs=1e-9)


def test_grkan_variance_preserving_init_and_forward():
    torch.manual_seed(0)
    layer = GRKAN(128, 512, 128)
    gain = layer.act2.gain()
    assert float(layer.fc2.weight.detach().std()) == pytest.approx(gain / math.sqrt(512), rel=0.03)
    assert float(layer.fc1.weight.detach().std()) == pytest.approx(1 / math.sqrt(128), rel=0.03)
    assert torch.all(layer.fc1.bias == 0)
    x = torch.randn(2048, 128)
    with torch.no_grad():
        h = layer.fc1(layer.act1(x))
        y = layer(x)
    assert float(h.var()) == pytest.approx(1.0, rel=0.1)  # E[x^2] kept through rational + Linear
    assert float(y.square().mean()) == pytest.approx(float(h.square().mean()), rel=0.15)


def test_kat_model_keeps_grkan_init():
    torch.manual_seed(0)
    model = M.create("kat_tiny", img_size=16, patch_size=4, in_chans=1, num_classes=3, depth=2, embed_dim=64,
                     num_heads=2)
    fc2 = model.blocks[1].mlp.fc2
    gain = model.blocks[1].mlp.act2.gain()
    assert float(fc2.weight.detach().std()) == pytest.approx(gain / math.sqrt(fc2.in_features), rel=0.05)
    assert float(model.blocks[0].attn.qkv.weight.detach().std()) == pytest.approx(0.02 * 0.88, rel=0.1)  # ViT's own init


def test_fused_and_reference_layers_agree():
    torch.manual_seed(1)
    fused, ref = GRKAN(32, 64, 16), GRKAN(32, 64, 16, fused=False)
    ref.load_state_dict(fused.state_dict())
    x = torch.randn(10, 7, 32)
    torch.testing.assert_close(fused(x), ref(x), atol=1e-5, rtol=1e-5)


def test_higher_degrees_pad_with_zeros():
    a, b = init_coefficients("gelu", m=7, n=5)
    assert a.shape == (8,) and b.shape == (5,) and a[6:].abs().sum() == 0 and b[4:].abs().sum() == 0


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="num_features"):
        GroupRational(10, groups=8)
    with pytest.raises(ValueError, match="init"):
        GroupRational(8, init="relu")
    with pytest.raises(ValueError, match="hidden_features"):
        GRKAN(16, 20, 16, groups=8)
    with pytest.raises(ValueError, match="act_init"):
        GRKAN(16, 32, 16, act_init="tanh")
    with pytest.raises(ValueError, match="denominator degree"):
        GroupRational(8, m=5, n=2, init="gelu")
    with pytest.raises(ValueError, match="expects x"):
        GroupRational(8)(torch.randn(3, 9))


def test_grkan_builds_directly_on_another_device():
    # the gain comes from the CPU init constants, so building on a device (here meta) never mixes devices
    ffn = GRKAN(16, 32, 16, device="meta")
    assert ffn.fc1.weight.is_meta and ffn.act2.a.is_meta
