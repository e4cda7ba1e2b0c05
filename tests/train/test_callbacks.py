"""fit's callbacks (step hooks, early stopping, best checkpoint, loggers), mixed precision and gradient
accumulation: behaviour, resume, and clear errors."""
from __future__ import annotations

import csv
import json

import pytest
import torch
from torch import nn

from basiskit import UsageError
from basiskit.operators import FNO
from basiskit.train import (BestCheckpoint, Callback, CSVLogger, EarlyStopping, RunContext, StepHook,
                            TensorBoardLogger, fit, latest_checkpoint)


def _data(n=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, generator=g) * 2 - 1
    return x, torch.sin(3 * x[:, :1]) + x[:, 1:2] * x[:, 2:3]


def _model():
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(3, 32), nn.Tanh(), nn.Linear(32, 1))


def test_step_hook_runs_every_k_steps_until_the_stop_step_and_sees_the_batch():
    seen = []
    hook = StepHook(lambda s: seen.append((s.step, s.batch[0].shape[0])), every=5, until=20)
    fit(_model(), nn.MSELoss(), _data(), steps=30, batch_size=16, callbacks=[hook])
    assert seen == [(5, 16), (10, 16), (15, 16), (20, 16)]


def _plateau_eval():
    """An evaluation that improves for 4 calls and then stays flat: early stopping must fire."""
    values = iter([5.0, 4.0, 3.0, 2.0] + [2.0] * 100)
    return lambda m: {"val": next(values)}


def test_early_stopping_stops_after_patience_flat_evaluations():
    stop = EarlyStopping("val", patience=3)
    res = fit(_model(), nn.MSELoss(), _data(), steps=200, batch_size=16, eval_fn=_plateau_eval(), eval_every=10,
              callbacks=[stop])
    assert res.stopped_early and res.steps == 70 and stop.stopped_at == 70
    assert stop.best == 2.0 and stop.best_step == 40


def test_a_stopped_run_resumes_as_stopped_and_a_killed_run_resumes_with_the_callback_state(tmp_path):
    def run(ctx, fail_at=None):
        evals = _plateau_eval()
        count = {"n": 0}

        def eval_fn(m):
            count["n"] += 1
            if fail_at is not None and count["n"] == fail_at:
                raise KeyboardInterrupt("simulated kill")
            return evals(m)

        stop = EarlyStopping("val", patience=3)
        model = _model()
        res = fit(model, nn.MSELoss(), _data(), steps=200, batch_size=16, eval_fn=eval_fn, eval_every=10,
                  checkpoint_every=30, callbacks=[stop], ctx=ctx, name="net")
        return model, res, stop

    full_model, full, _ = run(RunContext(tmp_path / "a", seed=0, progress=False))
    again_model, again, _ = run(RunContext(tmp_path / "a", seed=0, resume=True, progress=False))
    assert again.resumed_from == 70 and again.stopped_early and again.steps == 70
    with pytest.raises(KeyboardInterrupt):
        run(RunContext(tmp_path / "b", seed=0, progress=False), fail_at=6)  # dies at step 60
    assert latest_checkpoint(tmp_path / "b" / "checkpoint" / "net").name == "step_000000030"
    # the resumed evaluation stream restarts, so feed it from where the checkpoint was (3 evaluations done)
    evals = _plateau_eval()
    for _ in range(3):
        evals(None)
    stop = EarlyStopping("val", patience=3)
    model = _model()
    res = fit(model, nn.MSELoss(), _data(), steps=200, batch_size=16, eval_fn=evals, eval_every=10,
              checkpoint_every=30, callbacks=[stop], ctx=RunContext(tmp_path / "b", seed=0, resume=True,
                                                                    progress=False), name="net")
    assert res.resumed_from == 30 and res.stopped_early and res.steps == 70 and stop.best_step == 40
    for p, q in zip(model.parameters(), full_model.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6)


def test_best_checkpoint_keeps_the_best_weights_outside_the_rotation(tmp_path):
    values = iter([3.0, 1.0, 2.0, 4.0, 5.0, 6.0])
    snapshots = {}

    def eval_fn(m):
        snapshots[len(snapshots) + 1] = {k: v.clone() for k, v in m.state_dict().items()}
        return {"err": next(values)}

    best = BestCheckpoint("err")
    ctx = RunContext(tmp_path, seed=0, progress=False)
    model = _model()
    fit(model, nn.MSELoss(), _data(), steps=60, batch_size=16, eval_fn=eval_fn, eval_every=10,
        checkpoint_every=10, callbacks=[best], ctx=ctx, name="net")
    folder = tmp_path / "checkpoint" / "net"
    assert sorted(p.name for p in folder.glob("step_*")) == ["step_000000050", "step_000000060"]
    assert json.loads((folder / "best" / "best.json").read_text()) == {"metric": "err", "value": 1.0, "step": 20}
    assert latest_checkpoint(folder).name == "step_000000060"
    restored = best.restore(_model())
    for k, v in restored.state_dict().items():
        torch.testing.assert_close(v, snapshots[2][k], rtol=0, atol=0)
    in_memory = BestCheckpoint("err", mode="max")
    fit(_model(), nn.MSELoss(), _data(), steps=20, batch_size=16, eval_fn=lambda m: {"err": 1.0}, eval_every=10,
        callbacks=[in_memory])
    assert in_memory.best_step == 10 and in_memory.restore(_model()) is not None


def test_csv_logger_writes_every_logged_row(tmp_path):
    fit(_model(), nn.MSELoss(), _data(), steps=20, batch_size=16, log_every=5, eval_fn=lambda m: {"v": 1.0},
        eval_every=10, callbacks=[CSVLogger(tmp_path / "train.csv")], name="net")
    with open(tmp_path / "train.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["step"] for r in rows if r["loss"]] == ["5", "10", "15", "20"]
    assert [r["step"] for r in rows if r["v"]] == ["10", "20"] and {r["phase"] for r in rows} == {"net"}


def test_tensorboard_logger_needs_tensorboard_or_says_how_to_get_it(tmp_path):
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        with pytest.raises(UsageError, match="pip install tensorboard"):
            TensorBoardLogger(tmp_path)
        return
    fit(_model(), nn.MSELoss(), _data(), steps=10, batch_size=16, log_every=5,
        callbacks=[TensorBoardLogger(tmp_path)])
    assert any(tmp_path.iterdir())


def test_accumulated_micro_batches_give_the_full_batch_gradient_step():
    """n = 32, batch 16, accumulate 2: the two micro-batches of step 0 are the two halves of one permutation,
    so one SGD step equals one full-batch step (the mean loss is linear in the samples)."""
    x, y = _data(32)
    sgd = lambda params: torch.optim.SGD(params, lr=0.1)  # noqa: E731
    a, b = _model().double(), _model().double()
    fit(a, nn.MSELoss(), (x.double(), y.double()), steps=1, batch_size=16, accumulate=2, optimizer=sgd)
    fit(b, nn.MSELoss(), (x.double(), y.double()), steps=1, optimizer=sgd)
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_an_fno_close_to_float32(precision):
    g = torch.Generator().manual_seed(0)
    k = torch.arange(1, 5).reshape(1, 4, 1)
    grid = torch.arange(32) / 32
    x = (torch.randn(32, 4, 1, generator=g) * torch.sin(2 * torch.pi * k * grid + torch.rand(32, 4, 1, generator=g)
                                                         * 6.3)).sum(1, keepdim=True)
    y = torch.roll(x, 3, -1) * 0.5  # a shift: a diagonal map on the kept modes
    losses = {}
    for prec in ("fp32", precision):
        torch.manual_seed(0)
        model = FNO(8, 1, 1, 16, 2)
        res = fit(model, nn.MSELoss(), (x, y), steps=60, batch_size=8, lr=3e-3, precision=prec)
        losses[prec] = res.final_loss
        assert all(p.dtype == torch.float32 for p in model.parameters())
    assert losses[precision] < 0.1 * float(y.pow(2).mean())  # well below the loss of predicting zero
    assert losses[precision] == pytest.approx(losses["fp32"], rel=0.5, abs=5e-3)


def test_bad_arguments_give_clear_errors():
    data = _data()
    with pytest.raises(ValueError, match="precision"):
        fit(_model(), nn.MSELoss(), data, steps=1, precision="fp8")
    with pytest.raises(ValueError, match="LBFGS cannot train with precision='bf16'"):
        fit(_model(), nn.MSELoss(), data, steps=1, optimizer="lbfgs", precision="bf16")
    with pytest.raises(ValueError, match="accumulate=2 needs mini-batches"):
        fit(_model(), nn.MSELoss(), data, steps=1, accumulate=2)
    with pytest.raises(TypeError, match=r"callbacks\[0\]"):
        fit(_model(), nn.MSELoss(), data, steps=1, callbacks=[lambda s: None])
    with pytest.raises(UsageError, match="not 'val'"):
        fit(_model(), nn.MSELoss(), data, steps=2, eval_fn=lambda m: {"err": 1.0}, eval_every=1,
            callbacks=[EarlyStopping("val")])
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping("val", mode="lowest")
    with pytest.raises(UsageError, match="no evaluation has run"):
        BestCheckpoint("val").restore(_model())
    with pytest.raises(UsageError, match="callable"):
        StepHook(3)
    assert isinstance(StepHook(lambda s: None), Callback)
