"""recalibrate_batchnorm: population statistics against the per-batch moments computed by hand."""
import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch import nn

from basiskit.train import batchnorm_layers, recalibrate_batchnorm


def _net(dropout: float = 0.0) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.Dropout(dropout), nn.GELU(),
                         nn.Conv2d(3, 2, 1), nn.BatchNorm2d(2))


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 23), batch=st.integers(1, 9), seed=st.integers(0, 10_000))
def test_first_layer_gets_the_average_of_per_batch_moments(n: int, batch: int, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    x = 3.0 + 2.0 * torch.randn(n, 2, 4, 5, generator=g, dtype=torch.float64)
    net = _net().double()
    net.train()
    net(x[:2])  # running statistics that must be discarded
    assert recalibrate_batchnorm(net, x, batch) == 2
    pre = net[0](x)  # what the first BatchNorm saw
    batches = pre.split(batch)
    means = torch.stack([b.mean(dim=(0, 2, 3)) for b in batches])
    vars_ = torch.stack([b.transpose(0, 1).reshape(3, -1).var(dim=1, unbiased=True) for b in batches])
    torch.testing.assert_close(net[1].running_mean, means.mean(0))
    torch.testing.assert_close(net[1].running_var, vars_.mean(0))
    assert int(net[1].num_batches_tracked) == len(batches)


def test_random_batches_over_several_passes() -> None:
    """With a generator: each pass a new permutation, batches cut from it, ``batches`` of them in all (7 = two
    passes of 3 and one more), each weighing the same."""
    x = torch.randn(40, 2, 4, 4, dtype=torch.float64)
    net = _net().double()
    assert recalibrate_batchnorm(net, x, 16, batches=7, generator=torch.Generator().manual_seed(3)) == 2
    g = torch.Generator().manual_seed(3)
    means = []
    while len(means) < 7:
        order = torch.randperm(40, generator=g)
        for i in range(0, 40, 16):
            if len(means) < 7:
                means.append(net[0](x[order[i:i + 16]]).mean(dim=(0, 2, 3)))
    torch.testing.assert_close(net[1].running_mean, torch.stack(means).mean(0))
    assert int(net[1].num_batches_tracked) == 7


def test_without_a_generator_more_passes_repeat_the_same_batches() -> None:
    x = torch.randn(20, 2, 4, 4, dtype=torch.float64)
    one, three = _net().double(), _net().double()
    recalibrate_batchnorm(one, x, 8)
    recalibrate_batchnorm(three, x, 8, batches=9)
    torch.testing.assert_close(one[1].running_var, three[1].running_var)
    assert int(three[1].num_batches_tracked) == 9


def test_one_batch_of_everything_gives_the_dataset_moments() -> None:
    x = torch.randn(40, 2, 6, 6, dtype=torch.float64)
    net = _net().double()
    recalibrate_batchnorm(net, x, batch_size=40)
    pre = net[0](x).transpose(0, 1).reshape(3, -1)
    torch.testing.assert_close(net[1].running_mean, pre.mean(1))
    torch.testing.assert_close(net[1].running_var, pre.var(1, unbiased=True))


def test_modes_momenta_and_weights_are_restored_and_dropout_stays_off() -> None:
    x = torch.randn(30, 2, 5, 5)
    net = _net(dropout=0.5)
    net.eval()
    net[1].momentum = 0.3
    weights = {k: v.clone() for k, v in net.state_dict().items() if "running" not in k and "num_batches" not in k}
    recalibrate_batchnorm(net, x, 8)
    first = net[1].running_mean.clone()
    recalibrate_batchnorm(net, x, 8)  # dropout in training mode would make the two passes differ
    torch.testing.assert_close(net[1].running_mean, first, rtol=0, atol=0)
    assert not any(m.training for m in net.modules())
    assert net[1].momentum == 0.3 and net[5].momentum == 0.1
    for k, v in net.state_dict().items():
        if k in weights:
            torch.testing.assert_close(v, weights[k], rtol=0, atol=0)
    net.train()
    recalibrate_batchnorm(net, x, 8)
    assert all(m.training for m in net.modules())


def test_evaluation_no_longer_depends_on_the_last_batches() -> None:
    """The point of it: two copies whose moving averages saw different last batches evaluate alike after it."""
    x = torch.randn(64, 2, 5, 5)
    a, b = _net(), _net()
    for net, order in ((a, range(0, 64, 8)), (b, range(56, -1, -8))):
        net.train()
        with torch.no_grad():
            for i in order:
                net(x[i:i + 8])
    a.eval(), b.eval()
    assert not torch.allclose(a(x), b(x))
    recalibrate_batchnorm(a, x, 8)
    recalibrate_batchnorm(b, x, 8)
    torch.testing.assert_close(a(x), b(x))


def test_models_without_batchnorm_are_left_alone() -> None:
    net = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.BatchNorm1d(4, track_running_stats=False))
    assert batchnorm_layers(net) == []
    assert recalibrate_batchnorm(net, torch.randn(5, 3), 2) == 0


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, True])
def test_bad_batch_size(batch_size) -> None:
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        recalibrate_batchnorm(_net(), torch.randn(4, 2, 3, 3), batch_size)


@pytest.mark.parametrize("inputs", [torch.randn(0, 2, 3, 3), torch.tensor(1.0), [1.0, 2.0]])
def test_bad_inputs(inputs) -> None:
    with pytest.raises(ValueError, match="inputs must be a tensor with at least one sample"):
        recalibrate_batchnorm(_net(), inputs, 2)


@pytest.mark.parametrize("batches", [0, -1, 1.5, False])
def test_bad_batches(batches) -> None:
    with pytest.raises(ValueError, match="batches must be a positive int"):
        recalibrate_batchnorm(_net(), torch.randn(4, 2, 3, 3), 2, batches=batches)
