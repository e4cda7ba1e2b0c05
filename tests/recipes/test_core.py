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
