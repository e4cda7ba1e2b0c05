"""Shared recipe helpers: the learning-rate sweep keeps the best validation score, first rate on ties."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from basiskit.recipes._common import best_lr


def test_best_lr_keeps_highest_score_and_every_score():
    trained = []

    def train(lr):
        trained.append(lr)
        model = nn.Linear(1, 1)
        with torch.no_grad():
            model.weight.fill_(lr)
        return model, f"result at {lr}"

    score = {1e-3: 0.5, 1e-2: 0.9, 1e-1: 0.9}
    choice = best_lr([1e-3, 1e-2, 1e-1], train, lambda m: score[round(float(m.weight.detach()), 6)])
    assert trained == [1e-3, 1e-2, 1e-1]
    assert choice.lr == 1e-2 and choice.score == 0.9 and choice.result == "result at 0.01"  # first of the tie
    assert float(choice.model.weight) == pytest.approx(1e-2)
    assert choice.scores == score


def test_best_lr_needs_a_rate():
    with pytest.raises(ValueError, match="lrs must name at least one"):
        best_lr([], lambda lr: (nn.Linear(1, 1), None), lambda m: 0.0)
