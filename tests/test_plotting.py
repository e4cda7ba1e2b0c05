"""basiskit.plotting: curves' axes, fields' panels and their errors."""
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from basiskit.plotting import curves, fields


def test_log_x_with_few_values_labels_the_values_themselves():
    fig = curves({"a": ([3, 5, 10, 20], [1e-2, 2e-3, 8e-4, 5e-4]), "b": (torch.tensor([3, 5, 10, 20]), [1, 2, 3, 4])},
                 logx=True, markers=True)
    ax = fig.axes[0]
    assert list(ax.get_xticks()) == [3, 5, 10, 20]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["3", "5", "10", "20"]
    assert all(t.get_text() == "" for t in ax.get_xticklabels(minor=True))
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert len(ax.get_legend().get_texts()) == 2
    plt.close(fig)


def test_log_x_with_many_values_keeps_matplotlibs_ticks():
    x = np.geomspace(1, 1e4, 50)
    fig = curves({"a": (x, x ** -1)}, logx=True)
    ax = fig.axes[0]
    assert len(ax.get_xticks()) < 50 and ax.get_legend() is None
    plt.close(fig)


def test_fields_draws_images_and_lines_and_rejects_3d():
    fig = fields({"u": torch.rand(8, 8), "line": np.arange(5.0)}, extent=(0, 1, 0, 1), shared_scale=True)
    assert [a.get_title() for a in fig.axes[:2]] == ["u", "line"]
    plt.close(fig)
    with pytest.raises(ValueError, match="panel 'v' must be 1-D or 2-D"):
        fields({"v": np.zeros((2, 3, 4))})
