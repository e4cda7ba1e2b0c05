import csv
import math

import pytest
import torch
from torch import nn

from basiskit.train import RunContext, TrainingDiverged, fit, latest_checkpoint, load_checkpoint
from basiskit.train import checkpoint as ckpt_mod


def _data(n=128, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, generator=g) * 2 - 1
    y = torch.sin(3 * x[:, :1]) + x[:, 1:2] * x[:, 2:3]
    return x, y


def _model():
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(3, 32), nn.Tanh(), nn.Dropout(0.1), nn.Linear(32, 1))


def _train(ctx, steps=60, fail_at=None, **kw):
    calls = {"n": 0}

    def watch(model):  # an evaluation every 11 steps; "the process dies" at the chosen step
        calls["n"] += 11
        if fail_at is not None and calls["n"] == fail_at:
            raise KeyboardInterrupt("simulated kill")
        return {"w_norm": float(model[0].weight.norm())}

    model = _model()
    res = fit(model, nn.MSELoss(), _data(), steps=steps, batch_size=32, lr=1e-2, scheduler="cosine", ctx=ctx,
              name="net", checkpoint_every=20, log_every=5, eval_fn=watch, eval_every=11, **kw)
    return model, res


def _log_rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_supervised_fit_lowers_loss():
    model, res = _train(RunContext(None, seed=0, progress=False), steps=80)
    steps, losses = res.curve()
    assert steps[-1] == 80 and losses[-1] < 0.5 * losses[0]


def _lbfgs_factory(params):
    """The options ``optimizer="lbfgs"`` uses, built by the caller: fit must recognise LBFGS by its type."""
    return torch.optim.LBFGS(params, lr=1.0, max_iter=1, max_eval=25, history_size=50,
                             line_search_fn="strong_wolfe")


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs", _lbfgs_factory], ids=["adam", "lbfgs", "lbfgs-factory"])
def test_resume_reproduces_uninterrupted_run(tmp_path, optimizer):
    full_model, full = _train(RunContext(tmp_path / "a", seed=3, progress=False), optimizer=optimizer)
    with pytest.raises(KeyboardInterrupt):
        _train(RunContext(tmp_path / "b", seed=3, progress=False), fail_at=33, optimizer=optimizer)
    assert latest_checkpoint(tmp_path / "b" / "checkpoint" / "net").name == "step_000000020"
    model, res = _train(RunContext(tmp_path / "b", seed=3, resume=True, progress=False), optimizer=optimizer)
    assert res.resumed_from == 20
    for p, q in zip(model.parameters(), full_model.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6)
    assert res.curve("loss")[0] == full.curve("loss")[0]
    assert res.curve("loss")[1] == pytest.approx(full.curve("loss")[1], abs=1e-6)
    assert res.curve("w_norm")[1] == pytest.approx(full.curve("w_norm")[1], abs=1e-6)
    rows_a, rows_b = _log_rows(tmp_path / "a" / "log.csv"), _log_rows(tmp_path / "b" / "log.csv")
    assert [r["step"] for r in rows_b] == [r["step"] for r in rows_a]
    for key in ("loss", "w_norm"):
        a = [float(r[key]) for r in rows_a if r[key]]
        b = [float(r[key]) for r in rows_b if r[key]]
        assert b == pytest.approx(a, abs=1e-6)


def test_resume_of_finished_training_is_a_no_op(tmp_path):
    m1, r1 = _train(RunContext(tmp_path, seed=0, progress=False), steps=20)
    m2, r2 = _train(RunContext(tmp_path, seed=0, resume=True, progress=False), steps=20)
    assert r2.resumed_from == 20 and r2.final_loss == pytest.approx(r1.final_loss)
    for p, q in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(p, q)


def test_nan_loss_stops_with_step_and_keeps_checkpoint(tmp_path):
    ctx = RunContext(tmp_path, seed=0, progress=False)
    model = _model()
    calls = {"n": 0}

    def objective(m):
        calls["n"] += 1
        loss = m(torch.ones(4, 3)).pow(2).mean()
        return loss * float("nan") if calls["n"] == 7 else loss

    with pytest.raises(TrainingDiverged, match=r"loss became nan at step 7; last good checkpoint kept at .*step_000000005"):
        fit(model, objective=objective, steps=20, ctx=ctx, name="net", checkpoint_every=5)
    path = latest_checkpoint(tmp_path / "checkpoint" / "net")
    state = load_checkpoint(path, _model())
    assert state["step"] == 5 and math.isfinite(state["last_loss"])


def test_checkpoint_write_killed_midway_keeps_previous(tmp_path, monkeypatch):
    model = _model()
    ckpt_mod.save_checkpoint(tmp_path, 10, model, {"step": 10})
    real_save = ckpt_mod.save_state

    def dying_save(obj, f, *a, **k):
        real_save(obj, f, *a, **k)
        raise SystemExit("killed during checkpoint write")

    with torch.no_grad():
        model[0].weight.add_(1.0)
    monkeypatch.setattr(ckpt_mod, "save_state", dying_save)
    with pytest.raises(SystemExit):
        ckpt_mod.save_checkpoint(tmp_path, 20, model, {"step": 20})
    monkeypatch.setattr(ckpt_mod, "save_state", real_save)
    path = latest_checkpoint(tmp_path)
    assert path.name == "step_000000010"
    fresh = _model()
    assert load_checkpoint(path, fresh)["step"] == 10
    torch.testing.assert_close(fresh[0].weight, model[0].weight - 1.0)


def test_truncated_checkpoint_is_not_offered(tmp_path):
    ckpt_mod.save_checkpoint(tmp_path, 1, _model(), {"step": 1})
    (tmp_path / "step_000000001" / "state.json").unlink()
    assert latest_checkpoint(tmp_path) is None


def test_fit_rejects_bad_arguments():
    model, data = _model(), _data()
    loss = nn.MSELoss()
    with pytest.raises(ValueError, match="exactly one of loss_fn"):
        fit(model, steps=1)
    with pytest.raises(ValueError, match="without data"):
        fit(model, loss, steps=1)
    with pytest.raises(ValueError, match="steps must be >= 0"):
        fit(model, loss, data, steps=-1)
    with pytest.raises(ValueError, match="lr must be > 0"):
        fit(model, loss, data, steps=1, lr=0.0)
    with pytest.raises(ValueError, match=r"optimizer: unknown value 'adamm'; did you mean 'adam'"):
        fit(model, loss, data, steps=1, optimizer="adamm")
    with pytest.raises(ValueError, match=r"data\[1\] has shape \(5, 1\); every tensor needs first dim 128"):
        fit(model, loss, (data[0], data[1][:5]), steps=1)
    with pytest.raises(TypeError, match="data must be a tuple"):
        fit(model, loss, data[0], steps=1)
    with pytest.raises(TypeError, match="scalar tensor"):
        fit(model, objective=lambda m: m(torch.ones(2, 3)), steps=1)


def test_lbfgs_keeps_making_progress():
    torch.manual_seed(0)
    x = torch.randn(200, 4, dtype=torch.float64)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]], dtype=torch.float64) + 0.3
    model = nn.Linear(4, 1).double()
    res = fit(model, nn.MSELoss(), (x, y), steps=30, optimizer="lbfgs", lr=1.0, log_every=1)
    losses = res.curve("loss")[1]
    assert losses[-1] < 1e-10 * losses[0]


def _linear_problem():
    torch.manual_seed(0)
    x = torch.randn(200, 4, dtype=torch.float64)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]], dtype=torch.float64) + 0.3
    return x, y


def test_lbfgs_from_a_callable_is_stepped_with_a_closure():
    x, y = _linear_problem()
    runs = {}
    for key, optimizer in (("name", "lbfgs"), ("factory", _lbfgs_factory)):
        torch.manual_seed(1)
        model = nn.Linear(4, 1).double()
        runs[key] = fit(model, nn.MSELoss(), (x, y), steps=30, optimizer=optimizer, lr=1.0, log_every=1)
    assert runs["factory"].curve("loss") == runs["name"].curve("loss")
    losses = runs["factory"].curve("loss")[1]
    assert losses[-1] < 1e-10 * losses[0]


def test_grad_clip_under_lbfgs_warns_and_is_not_applied():
    x, y = _linear_problem()
    results = []
    for clip in (None, 1e-3):
        torch.manual_seed(1)
        model = nn.Linear(4, 1).double()
        if clip is None:
            results.append(fit(model, nn.MSELoss(), (x, y), steps=10, optimizer="lbfgs", lr=1.0, log_every=1))
        else:
            with pytest.warns(UserWarning, match=r"grad_clip=0.001 is not applied under LBFGS"):
                results.append(fit(model, nn.MSELoss(), (x, y), steps=10, optimizer=_lbfgs_factory,
                                   grad_clip=clip, log_every=1))
    assert results[1].curve("loss") == results[0].curve("loss")


def test_grad_clip_bounds_the_first_sgd_step():
    x, y = _linear_problem()
    torch.manual_seed(1)
    model = nn.Linear(4, 1).double()
    before = torch.cat([p.detach().flatten() for p in model.parameters()])
    fit(model, nn.MSELoss(), (x, y), steps=1, optimizer="sgd", lr=0.1, grad_clip=1e-3)
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    # the first SGD step (empty momentum buffer) moves by lr * clipped gradient, norm lr * grad_clip
    assert float((after - before).norm()) == pytest.approx(0.1 * 1e-3, rel=1e-6)
    with pytest.raises(ValueError, match="grad_clip must be > 0.0, got 0.0"):
        fit(model, nn.MSELoss(), (x, y), steps=1, grad_clip=0.0)


def test_objective_parts_are_logged_from_the_evaluation_the_loss_comes_from():
    x, y = _linear_problem()
    for optimizer in ("adam", "lbfgs"):
        torch.manual_seed(1)
        model = nn.Linear(4, 1).double()

        def objective(m):
            loss = (m(x) - y).pow(2).mean()
            return loss, {"same_loss": loss.detach(), "half": 0.5 * loss.detach()}

        res = fit(model, objective=objective, steps=8, optimizer=optimizer, lr=1e-2 if optimizer == "adam" else 1.0,
                  log_every=1)
        assert res.curve("same_loss")[1] == pytest.approx(res.curve("loss")[1], rel=1e-12)
        assert res.curve("half")[1] == pytest.approx([0.5 * v for v in res.curve("loss")[1]], rel=1e-12)


def _slope_at_zero(m):
    """An evaluation that differentiates the model (a PDE residual would): it needs autograd."""
    x = torch.zeros(1, 3, requires_grad=True)
    (g,) = torch.autograd.grad(m(x).sum(), x)
    return {"slope": float(g.norm())}


def test_eval_needs_grad_keyword_and_deprecated_attribute():
    x, y = _data()
    with pytest.raises(RuntimeError, match="does not require grad"):
        fit(_model(), nn.MSELoss(), (x, y), steps=2, eval_fn=_slope_at_zero)
    res = fit(_model(), nn.MSELoss(), (x, y), steps=2, eval_fn=_slope_at_zero, eval_needs_grad=True)
    assert res.curve("slope")[0] == [2] and res.curve("slope")[1][0] > 0

    def old_style(m):
        return _slope_at_zero(m)

    old_style.needs_grad = True
    with pytest.warns(DeprecationWarning, match=r"eval_fn.needs_grad attribute is deprecated.*eval_needs_grad=True"):
        old = fit(_model(), nn.MSELoss(), (x, y), steps=2, eval_fn=old_style)
    assert old.curve("slope") == res.curve("slope")
