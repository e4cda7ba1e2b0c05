"""basiskit.measure: timing, kept-for-backward bytes, parameter counts and matching, the train-step closure,
accuracy."""
import time

import pytest
import torch
from torch import nn

from basiskit import measure
from basiskit.measure import accuracy, compare, count_parameters, kept_for_backward_bytes, match_width, train_step


class _VirtualClock:
    """A clock that only the timed callables move, so compare's arithmetic is checked without wall-time noise."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def work(self, seconds: float):
        def run() -> None:
            self.now += seconds
        return run


def test_compare_medians_and_ratios_on_a_virtual_clock():
    clock = _VirtualClock()
    res = compare({"fast": clock.work(0.001), "slow": clock.work(0.004)}, "fast", warmup=2, repeats=5, number=3,
                  clock=clock)
    assert res["fast"] == pytest.approx({"seconds": 0.001, "ratio": 1.0})
    assert res["slow"] == pytest.approx({"seconds": 0.004, "ratio": 4.0})
    with pytest.raises(ValueError, match="baseline 'x'"):
        compare({"a": lambda: None}, "x")
    with pytest.raises(ValueError, match="repeats must be >= 1"):
        compare({"a": lambda: None}, "a", repeats=0)


def test_compare_takes_the_median_and_rotates_the_order():
    clock, calls, costs = _VirtualClock(), [], iter([0.001] * 3 + [0.1] + [0.001] * 3)  # one outlier round

    def base() -> None:
        calls.append("base")
        clock.now += next(costs)

    def other() -> None:
        calls.append("other")
        clock.now += 0.002

    res = compare({"base": base, "other": other}, "base", warmup=0, repeats=7, clock=clock)
    assert res["base"]["seconds"] == pytest.approx(0.001)  # the 0.1 s round does not move the median
    assert res["other"]["ratio"] == pytest.approx(2.0)
    assert calls[:4] == ["base", "other", "other", "base"]  # each round starts one case later


def test_compare_with_a_cpu_clock_ignores_sleeping():
    def busy() -> None:
        end = time.process_time() + 0.004
        while time.process_time() < end:
            pass

    res = compare({"sleep": lambda: time.sleep(0.01), "busy": busy}, "busy", warmup=0, repeats=3,
                  clock=time.process_time)
    assert res["sleep"]["seconds"] < 0.5 * res["busy"]["seconds"]


def test_kept_for_backward_bytes_on_a_known_graph():
    a = torch.randn(32, 16, requires_grad=True)
    b = torch.randn(16, 8, requires_grad=True)
    # a @ b saves both operands (32*16 + 16*8 floats); sin saves its input, the product (32*8 floats)
    assert kept_for_backward_bytes(lambda: torch.sin(a @ b)) == (32 * 16 + 16 * 8 + 32 * 8) * 4
    assert kept_for_backward_bytes(lambda: (a * 2).sum()) == 0
    with torch.no_grad():
        assert kept_for_backward_bytes(lambda: torch.sin(a @ b)) == 0


def test_count_parameters_counts_complex_parameters_twice():
    assert count_parameters(nn.Conv2d(2, 3, 3)) == 2 * 3 * 9 + 3
    module = nn.Module()
    module.w = nn.Parameter(torch.zeros(4, 5, dtype=torch.complex64))
    assert count_parameters(module) == 40


def test_count_parameters_old_names_still_import():
    from basiskit.nn.params import count_parameters as from_nn
    from basiskit.operators.common import count_parameters as from_operators

    assert from_nn is count_parameters and from_operators is count_parameters


def test_match_width_closest_and_at_least():
    def build(w: int) -> nn.Module:
        return nn.Linear(w, w)  # w^2 + w parameters

    assert match_width(build, 110, range(1, 50)) == (10, 110)
    assert match_width(build, 115, range(1, 50)) == (10, 110)
    assert match_width(build, 130, range(1, 50)) == (11, 132)
    assert match_width(build, 10 ** 6, range(1, 50)) == (49, 49 * 50)
    assert match_width(build, 111, range(1, 50), at_least=True) == (11, 132)
    assert match_width(build, 110, range(1, 50), at_least=True) == (10, 110)
    # a tie goes to the smaller width: 11 h parameters, 55 and 66 are both 5.5 away from 60.5 -> 61 picks 6
    assert match_width(lambda h: nn.Linear(10, h), 56, range(1, 20))[0] == 5
    assert match_width(lambda h: nn.Linear(10, h), 61, range(1, 20))[0] == 6
    with pytest.raises(ValueError, match="no width in widths"):
        match_width(build, 10 ** 6, range(1, 50), at_least=True)
    with pytest.raises(ValueError, match="widths must hold"):
        match_width(build, 10, [])


def test_match_width_builds_few_models():
    built = []

    def build(w: int) -> nn.Module:
        built.append(w)
        return nn.Linear(1, w)

    match_width(build, 500, range(1, 1025))
    assert len(set(built)) <= 12


def test_train_step_lowers_a_loss():
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    x = torch.randn(64, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    step = train_step(lambda: ((model(x) - y) ** 2).mean(), model, torch.optim.SGD(model.parameters(), lr=0.1))
    losses = [float(step().detach()) for _ in range(20)]
    assert losses[-1] < 0.1 * losses[0]
    assert all(b <= a for a, b in zip(losses, losses[1:]))


def test_train_step_without_optimizer_is_forward_backward_and_clears_gradients():
    model = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, 2.0]]))
    x = torch.tensor([[1.0, 1.0]], requires_grad=True)
    step = train_step(lambda: model(x).sum(), model, clear=(x,))
    for _ in range(3):  # gradients do not accumulate across calls
        loss = step()
    assert float(loss.detach()) == 3.0
    assert torch.equal(model.weight.grad, torch.tensor([[1.0, 1.0]]))
    assert torch.equal(x.grad, torch.tensor([[1.0, 2.0]]))
    assert torch.equal(model.weight, torch.tensor([[1.0, 2.0]]))  # no step taken


def test_train_step_is_an_lbfgs_closure_over_plain_tensors():
    theta = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    target = torch.tensor([1.5, -0.5], dtype=torch.float64)
    opt = torch.optim.LBFGS([theta], lr=1.0, max_iter=50, line_search_fn="strong_wolfe")
    opt.step(train_step(lambda: ((theta - target) ** 2).sum(), [theta]))
    assert torch.allclose(theta.detach(), target, atol=1e-8)


def test_train_step_bad_arguments():
    with pytest.raises(TypeError, match="objective must be a callable"):
        train_step(1.0, nn.Linear(1, 1))
    with pytest.raises(TypeError, match=r"params\[0\] must be a torch.Tensor"):
        train_step(lambda: torch.zeros(()), [1.0])


class _Fixed(nn.Module):
    """Logits that favour class ``x[:, 0]`` (an integer per sample); records train/eval mode when called."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.modes: list[bool] = []
        self.batches: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.modes.append(self.training)
        self.batches.append(x.shape[0])
        return nn.functional.one_hot(x[:, 0].long(), 4).float() * self.scale


def test_accuracy_closed_cases_in_batches_and_restores_the_mode():
    model = _Fixed()
    x = torch.tensor([[0.0], [1.0], [2.0], [3.0], [1.0]])
    assert accuracy(model, x, torch.tensor([0, 1, 2, 3, 1])) == 100.0
    assert accuracy(model, x, torch.tensor([0, 1, 2, 3, 0]), batch_size=2) == 80.0
    assert model.batches[-3:] == [2, 2, 1]
    assert accuracy(model, x, torch.tensor([3, 3, 3, 0, 0]), device="cpu") == 0.0
    assert model.training and not any(model.modes)  # evaluated in eval mode, training mode restored
    model.train(False)
    accuracy(model, x, torch.tensor([0, 1, 2, 3, 1]))
    assert not model.training


def test_accuracy_bad_arguments():
    model = _Fixed()
    with pytest.raises(ValueError, match="same number of samples"):
        accuracy(model, torch.zeros(3, 1), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="at least one sample"):
        accuracy(model, torch.zeros(0, 1), torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        accuracy(model, torch.zeros(2, 1), torch.zeros(2, dtype=torch.long), batch_size=0)


def test_peer_available_does_not_import():
    assert measure.peer_available("torch") and not measure.peer_available("basiskit_no_such_peer_module")


def test_machine_names_the_cpu_and_the_threads(monkeypatch):
    from basiskit import measure

    got = measure.machine()
    assert isinstance(got["cpu"], str) and got["cpu"]
    assert got["cores"] >= 1 and got["threads"] == torch.get_num_threads()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert "gpu" not in measure.machine()
