"""Argument checks that several families share: ``check_widths`` (KAN, MLP, SIREN) and ``bases.check_domain``
(every basis and layer with a domain)."""
import pytest

from basiskit._validation import check_widths
from basiskit.bases import check_domain
from basiskit.models import MLP
from basiskit.nn import KAN, SIREN
from basiskit.nn.afkan import ReLUKANLinear


def test_check_widths():
    assert check_widths("widths", (3, 4, 1)) == [3, 4, 1]
    assert check_widths("widths", iter([2, 1])) == [2, 1]
    with pytest.raises(ValueError, match=r"widths needs at least \[in, out\], got \[3\]"):
        check_widths("widths", [3])
    with pytest.raises(ValueError, match="at least one hidden layer"):
        check_widths("widths", [3, 1], min_hidden=1)
    with pytest.raises(ValueError, match="at least 2 hidden layers"):
        check_widths("widths", [3, 4, 1], min_hidden=2)
    with pytest.raises(ValueError, match=r"widths\[1\] must be >= 1, got 0"):
        check_widths("widths", [3, 0, 1])
    with pytest.raises(TypeError, match=r"widths\[0\] must be an int"):
        check_widths("widths", [2.5, 1])
    with pytest.raises(TypeError, match="widths must be a sequence of ints"):
        check_widths("widths", 5)


@pytest.mark.parametrize("build, bad, match", [
    (KAN, [4], r"widths needs at least \[in, out\]"),
    (MLP, [2, -1, 1], r"widths\[1\] must be >= 1"),
    (SIREN, [2, 1], "at least one hidden layer"),
])
def test_stacks_check_their_widths_alike(build, bad, match):
    with pytest.raises(ValueError, match=match):
        build(bad)


def test_check_domain():
    assert check_domain((-1, 2)) == (-1.0, 2.0)
    with pytest.raises(ValueError, match=r"domain must have low < high, got \(1.0, 1.0\)"):
        check_domain((1.0, 1.0))
    with pytest.raises(ValueError, match=r"domain must be a pair \(low, high\)"):
        check_domain((0.0, 1.0, 2.0))
    with pytest.raises(ValueError, match=r"domain\[1\] must be finite"):
        check_domain((0.0, float("inf")))
    with pytest.raises(ValueError, match="low < high"):
        ReLUKANLinear(2, 3, domain=(1.0, 0.0))
