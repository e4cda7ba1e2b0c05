import dataclasses
from typing import Literal, Optional

import pytest

from basiskit.recipes.core import Claim, apply_overrides, parse_value


def test_claim_against_number_and_metric():
    m = {"kan": 0.01, "mlp": 0.05, "acc": 97.0, "vit": 97.2}
    assert Claim("kan", "<", 0.02).check(m)["met"]
    assert not Claim("kan", ">", 0.02).check(m)["met"]
    assert Claim("kan", "<", "mlp").check(m)["met"]
    r = Claim("acc", ">=", "vit", offset=-0.5).check(m)
    assert r["met"] and r["target"] == pytest.approx(96.7)
    r = Claim("kan", "<=", "mlp", scale=0.1).check(m)
    assert not r["met"] and r["target"] == pytest.approx(0.005)
    assert "0.1 x mlp" in r["claim"]


def test_claim_missing_or_nan_is_not_met():
    assert not Claim("x", "<", 1.0).check({})["met"]
    assert not Claim("x", "<", 1.0).check({"x": float("nan")})["met"]
    assert not Claim("x", "<", "y").check({"x": 0.0})["met"]
    with pytest.raises(ValueError, match="op must be one of"):
        Claim("x", "~", 1.0)


def test_claim_carries_the_papers_figure_beside_ours():
    r = Claim("rel_l2", "<", 0.05, paper=0.0108, paper_setting="Table 1, Darcy s=85").check({"rel_l2": 0.04})
    assert r["met"] and r["paper"] == 0.0108 and r["paper_setting"] == "Table 1, Darcy s=85"
    bare = Claim("rel_l2", "<", 0.05).check({"rel_l2": 0.04})
    assert bare["paper"] is None and bare["paper_setting"] == ""
    with pytest.raises(ValueError, match="paper must be a finite number"):
        Claim("x", "<", 1.0, paper=float("nan"))
    with pytest.raises(ValueError, match="paper must be a finite number"):
        Claim("x", "<", 1.0, paper="0.01")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs the paper's figure"):
        Claim("x", "<", 1.0, paper_setting="Table 2")


def test_report_summary_and_tour_show_paper_beside_ours(tmp_path):
    from basiskit.recipes.runner import RunResult, paper_beside_ours, summarize
    from basiskit.report import build_markdown, paper_figure

    claims = [Claim("err", "<", 0.05, paper=0.0108, paper_setting="Table 1").check({"err": 0.04}),
              Claim("acc", ">", 90.0).check({"acc": 95.0})]
    assert paper_figure(claims[0]) == "0.0108 (Table 1)" and paper_figure(claims[1]) == "-"
    result = RunResult("demo", tmp_path, {"err": 0.04, "acc": 95.0}, claims, 1.0)
    assert paper_beside_ours(result) == "err: paper 0.0108 / ours 0.04"
    assert "paper 0.0108 (Table 1)" in summarize(result) and summarize(result).count("paper") == 1
    run = {"dir": tmp_path, "quick": True, "seed": 0, "paper": "P", "summary": "S", "status": "ok", "seconds": 1.0,
           "claims": claims, "metrics": {}, "plots": [], "config_record": {}}
    md = build_markdown(tmp_path, {"demo": [run]})
    assert "| paper" in md and "0.0108 (Table 1)" in md


@dataclasses.dataclass
class Cfg:
    steps: int = 10
    lr: float = 1e-3
    name: str = "a"
    flag: bool = False
    modes: tuple[int, ...] = (4, 4)
    mode: Literal["x", "y"] = "x"
    maybe: Optional[int] = None


def test_overrides_parse_by_type():
    cfg = apply_overrides(Cfg(), {"steps": "20", "lr": "0.5", "flag": "true", "modes": "8,6", "mode": "y",
                                  "maybe": "none", "name": "b"})
    assert (cfg.steps, cfg.lr, cfg.flag, cfg.modes, cfg.mode, cfg.maybe, cfg.name) == (20, 0.5, True, (8, 6),
                                                                                      "y", None, "b")
    assert apply_overrides(Cfg(), {"maybe": "3"}).maybe == 3


def test_override_errors_name_key_and_type():
    with pytest.raises(ValueError, match=r"unknown config key 'stepz'.*did you mean 'steps'.*valid keys"):
        apply_overrides(Cfg(), {"stepz": "3"}, recipe="r")
    with pytest.raises(ValueError, match=r"steps='ten': expected int"):
        apply_overrides(Cfg(), {"steps": "ten"})
    with pytest.raises(ValueError, match=r"expected bool"):
        apply_overrides(Cfg(), {"flag": "maybe"})
    with pytest.raises(ValueError, match=r"expected one of"):
        apply_overrides(Cfg(), {"mode": "z"})
    with pytest.raises(ValueError, match="expected float"):
        parse_value("abc", float, "lr")


@pytest.mark.parametrize("progress,seen", [(False, False), (None, True)])
def test_run_without_progress_silences_the_library_bars_too(monkeypatch, tmp_path, progress, seen):
    """``--no-progress`` reaches bars that read BASISKIT_PROGRESS (data generation), and only for the run."""
    from basiskit import _env
    from basiskit.recipes import runner

    monkeypatch.setenv("BASISKIT_PROGRESS", "1")
    recorded = []

    def fake_run(*args, **kwargs):
        recorded.append(_env.progress_enabled())
        return "done"

    monkeypatch.setattr(runner, "_run_in_folder", fake_run)
    assert runner.run_recipe("mlp-regression", quick=True, out=tmp_path, progress=progress, verbose=False) == "done"
    assert recorded == [seen] and _env.progress_enabled()
