"""Users' own operator data from files: map-style (input, target) datasets, memory-mapped where the format allows.

``load_pairs(path, inputs="x", targets="y")`` opens

* ``.npz`` (``numpy.savez``): members stored uncompressed are memory-mapped straight out of the zip archive
  (nothing is read until a sample is asked for); members of ``numpy.savez_compressed`` files are read into
  memory once (a deflated stream cannot be mapped).
* ``.h5`` / ``.hdf5`` (h5py, the ``io`` extra): datasets are read on demand, one mini-batch at a time.
* ``.zarr`` directories (zarr, the ``io`` extra): chunked arrays read on demand.

Arrays hold samples along the first axis: inputs ``(n, c, *grid)`` and targets ``(n, c_out, *grid)``, or
``(n, *grid)`` with ``channel_axis=None`` (a channel axis of size 1 is added). ``ArrayPairs`` serves float32
tensors ``x: (c, *grid)``, ``y: (c_out, *grid)`` per index and whole batches through ``batch(idx)``, which
``basiskit.train.fit`` uses, so training from a file keeps fit's resumable (seed, step) sampling. ``split``
gives disjoint train/test views of the same storage; ``by_resolution`` and ``evaluate_resolutions`` do the
zero-shot multi-resolution evaluation of neural operators (train at one grid, test at several).
"""
from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .._validation import UsageError, check_float, check_int
from ..losses import relative_lp

_SUFFIXES = (".npz", ".h5", ".hdf5", ".zarr")


class ArrayPairs(torch.utils.data.Dataset):
    """(input, target) pairs backed by arrays with NumPy-style indexing along the first axis.

    inputs: (n, c, *grid) or (n, *grid) with ``channel_axis=None``; targets likewise (their grid may differ,
    e.g. a super-resolved target). Any of np.ndarray, np.memmap, h5py.Dataset, zarr.Array or torch.Tensor.
    ``indices`` selects a subset (a view: nothing is copied).
    """

    def __init__(self, inputs: Any, targets: Any, *, channel_axis: int | None = 1,
                 indices: Sequence[int] | np.ndarray | None = None, source: str = "arrays") -> None:
        if channel_axis not in (1, None):
            raise UsageError(f"channel_axis must be 1 (arrays (n, c, *grid)) or None (arrays (n, *grid)), "
                             f"got {channel_axis!r}")
        for name, arr in (("inputs", inputs), ("targets", targets)):
            if not hasattr(arr, "shape") or len(arr.shape) < (2 if channel_axis is None else 3):
                need = "(n, *grid)" if channel_axis is None else "(n, c, *grid)"
                raise UsageError(f"{name} of {source} must be an array shaped {need}, "
                                 f"got shape {getattr(arr, 'shape', type(arr).__name__)}")
        if inputs.shape[0] != targets.shape[0]:
            raise UsageError(f"inputs and targets of {source} hold different numbers of samples: "
                             f"{inputs.shape[0]} vs {targets.shape[0]}")
        self.inputs, self.targets, self.channel_axis, self.source = inputs, targets, channel_axis, source
        n = int(inputs.shape[0])
        idx = np.arange(n) if indices is None else np.asarray(indices, dtype=np.int64)
        if idx.ndim != 1 or (idx.size and (idx.min() < 0 or idx.max() >= n)):
            raise UsageError(f"indices must be a 1-D list of sample numbers in [0, {n}), got {indices!r}")
        self.indices = idx

    def __len__(self) -> int:
        return int(self.indices.size)

    @property
    def resolution(self) -> tuple[int, ...]:
        """The input grid, e.g. (64, 64)."""
        return tuple(int(s) for s in self.inputs.shape[1 if self.channel_axis is None else 2:])

    @property
    def target_resolution(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.targets.shape[1 if self.channel_axis is None else 2:])

    def _take(self, arr: Any, rows: np.ndarray) -> torch.Tensor:
        # h5py wants increasing, unique indices; read those once and reorder in memory.
        order = np.unique(rows, return_inverse=True)
        uniq, inverse = order[0], order[1]
        if isinstance(arr, torch.Tensor):
            block = arr[torch.from_numpy(uniq)]
        elif hasattr(arr, "oindex"):  # zarr
            block = arr.oindex[uniq]
        else:
            block = arr[uniq]
        t = torch.as_tensor(np.asarray(block) if not isinstance(block, torch.Tensor) else block)
        t = t[torch.from_numpy(inverse)].to(torch.float32)
        return t.unsqueeze(1) if self.channel_axis is None else t

    def batch(self, idx: torch.Tensor | Sequence[int] | np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Samples ``idx`` (positions in this dataset) as ``(x: (b, c, *grid), y: (b, c_out, *grid))``."""
        pos = np.asarray(idx.cpu() if isinstance(idx, torch.Tensor) else idx, dtype=np.int64).reshape(-1)
        if pos.size and (pos.min() < -len(self) or pos.max() >= len(self)):
            raise IndexError(f"sample index out of range for {len(self)} samples: {pos.min()}..{pos.max()}")
        rows = self.indices[pos]
        return self._take(self.inputs, rows), self._take(self.targets, rows)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.batch([int(i)])
        return x[0], y[0]

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Everything in memory: ``(x: (n, c, *grid), y: (n, c_out, *grid))``."""
        return self.batch(np.arange(len(self)))

    def subset(self, positions: Sequence[int] | np.ndarray) -> ArrayPairs:
        """A view of some of this dataset's samples (positions relative to this dataset)."""
        pos = np.asarray(positions, dtype=np.int64)
        return ArrayPairs(self.inputs, self.targets, channel_axis=self.channel_axis, indices=self.indices[pos],
                          source=self.source)

    def split(self, test_fraction: float = 0.2, seed: int = 0) -> tuple[ArrayPairs, ArrayPairs]:
        """Disjoint random (train, test) views; the same seed gives the same split."""
        check_float("test_fraction", test_fraction, min_value=0.0, max_value=1.0, strict_min=True)
        n_test = int(round(test_fraction * len(self)))
        if n_test < 1 or n_test >= len(self):
            raise UsageError(f"test_fraction={test_fraction} of {len(self)} samples leaves an empty train or "
                             "test set; use a fraction that keeps at least one sample on each side")
        perm = np.random.default_rng(seed).permutation(len(self))
        return self.subset(np.sort(perm[n_test:])), self.subset(np.sort(perm[:n_test]))

    def __repr__(self) -> str:
        return (f"ArrayPairs({len(self)} samples from {self.source}, input {tuple(self.inputs.shape[1:])}, "
                f"target {tuple(self.targets.shape[1:])})")


def _npz_member(path: Path, key: str, mmap: bool) -> np.ndarray:
    """Member ``key`` of an .npz archive, memory-mapped if it is stored uncompressed (``numpy.savez``)."""
    with zipfile.ZipFile(path) as zf:
        names = {n[:-4] if n.endswith(".npy") else n: n for n in zf.namelist()}
        if key not in names:
            raise UsageError(f"{path} has no array {key!r}; it holds {sorted(names)} (choose them with "
                             "inputs=... and targets=...)")
        info = zf.getinfo(names[key])
    if not mmap or info.compress_type != zipfile.ZIP_STORED:
        with np.load(path, allow_pickle=False) as z:
            return np.asarray(z[key])
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        local = f.read(30)
        if local[:4] != b"PK\x03\x04":
            raise UsageError(f"{path}: member {key!r} has a corrupt zip header")
        name_len = int.from_bytes(local[26:28], "little")
        extra_len = int.from_bytes(local[28:30], "little")
        start = info.header_offset + 30 + name_len + extra_len
        f.seek(start)
        version = np.lib.format.read_magic(f)
        if version not in ((1, 0), (2, 0)):  # format 3.0 has no public header reader: read it whole
            return _npz_member(path, key, mmap=False)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = read_header(f)
        offset = f.tell()
    if dtype.hasobject:
        raise UsageError(f"{path}: array {key!r} holds Python objects; store numeric arrays")
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C")


def _require(module: str) -> Any:
    try:
        return __import__(module)
    except ImportError as err:
        raise UsageError(f"reading this file needs {module}: pip install 'basiskit[io]'") from err


def load_pairs(path: str | Path, inputs: str = "x", targets: str = "y", *, channel_axis: int | None = 1,
               mmap: bool = True) -> ArrayPairs:
    """(input, target) pairs from ``path`` (.npz, .h5/.hdf5, .zarr); ``inputs``/``targets`` name the arrays.

    ``mmap=False`` reads .npz arrays into memory instead of mapping them (HDF5 and Zarr always read lazily).
    """
    p = Path(path)
    if not p.exists():
        raise UsageError(f"no such data file: {p}")
    suffix = p.suffix.lower()
    if suffix == ".npz":
        x, y = _npz_member(p, inputs, mmap), _npz_member(p, targets, mmap)
    elif suffix in (".h5", ".hdf5"):
        h5py = _require("h5py")
        f = h5py.File(p, "r")
        for key in (inputs, targets):
            if key not in f:
                raise UsageError(f"{p} has no dataset {key!r}; it holds {sorted(f.keys())}")
        x, y = f[inputs], f[targets]
    elif suffix == ".zarr":
        zarr = _require("zarr")
        group = zarr.open_group(str(p), mode="r")
        keys = sorted(group.array_keys())
        for key in (inputs, targets):
            if key not in keys:
                raise UsageError(f"{p} has no array {key!r}; it holds {keys}")
        x, y = group[inputs], group[targets]
    else:
        raise UsageError(f"cannot read {p.name!r}: the suffix must be one of {', '.join(_SUFFIXES)}")
    return ArrayPairs(x, y, channel_axis=channel_axis, source=str(p))


class MultiResolutionPairs(torch.utils.data.Dataset):
    """The same (input, target) samples on several grids; every mini-batch comes on one of them.

    ``pairs``: one ``(inputs (n, c, *grid), targets (n, c_out, *grid))`` pair of tensors per resolution, all
    with the same n samples (sample i is one function, discretised on each grid). ``batch(idx)`` returns the
    samples ``idx`` on the grid ``pairs[idx[0] % len(pairs)]``: ``train.fit`` draws ``idx`` as a pure function of
    (seed, step), so the grid of every step is too and a resumed run repeats the same sequence. Over an epoch
    each grid gets about ``1 / len(pairs)`` of the batches. Training a discretisation-agnostic operator on more
    than one grid keeps it from using features that only one grid has (docs/operators.md, ``nn-to-no``).
    """

    def __init__(self, pairs: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> None:
        pairs = [tuple(p) for p in pairs]
        if not pairs:
            raise UsageError("pairs must hold at least one (inputs, targets) pair, got none")
        n = None
        for k, p in enumerate(pairs):
            if len(p) != 2 or not all(isinstance(t, torch.Tensor) and t.ndim >= 3 for t in p):
                raise UsageError(f"pairs[{k}] must be (inputs (n, c, *grid), targets (n, c_out, *grid)) tensors")
            if p[0].shape[0] != p[1].shape[0] or (n is not None and p[0].shape[0] != n):
                raise UsageError(f"every pair must hold the same number of samples in inputs and targets; "
                                 f"pairs[{k}] has {p[0].shape[0]} and {p[1].shape[0]}, pairs[0] {n}")
            n = int(p[0].shape[0])
        self.pairs = pairs

    def __len__(self) -> int:
        return int(self.pairs[0][0].shape[0])

    @property
    def resolutions(self) -> list[tuple[int, ...]]:
        return [tuple(int(s) for s in p[0].shape[2:]) for p in self.pairs]

    def batch(self, idx: torch.Tensor | Sequence[int] | np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        pos = torch.as_tensor(np.asarray(idx.cpu() if isinstance(idx, torch.Tensor) else idx, dtype=np.int64)
                              ).reshape(-1)
        if pos.numel() == 0:
            raise IndexError("an empty batch has no grid")
        if int(pos.min()) < 0 or int(pos.max()) >= len(self):
            raise IndexError(f"sample index out of range for {len(self)} samples: {int(pos.min())}..{int(pos.max())}")
        x, y = self.pairs[int(pos[0]) % len(self.pairs)]
        return x[pos], y[pos]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.pairs[0]
        return x[i], y[i]


def by_resolution(datasets: Iterable[ArrayPairs]) -> dict[tuple[int, ...], ArrayPairs]:
    """Test sets keyed by their input grid; two sets at one resolution are an error."""
    out: dict[tuple[int, ...], ArrayPairs] = {}
    for ds in datasets:
        if ds.resolution in out:
            raise UsageError(f"two test sets at resolution {ds.resolution}: {out[ds.resolution]!r} and {ds!r}")
        out[ds.resolution] = ds
    return out


def _as_pairs(data: Any, key: Any) -> ArrayPairs:
    if isinstance(data, ArrayPairs):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return ArrayPairs(data[0], data[1], source=f"test set {key!r}")
    raise UsageError(f"test set {key!r} must be an ArrayPairs dataset or a pair (x, y), got {type(data).__name__}")


def evaluate_resolutions(model: nn.Module, datasets: Mapping[Any, Any] | Iterable[ArrayPairs], *,
                         metric: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
                         batch_size: int = 32, device: str | torch.device | None = None) -> dict[Any, float]:
    """The model's error on each test set, e.g. one per resolution (zero-shot super-resolution).

    datasets: ``{key: ArrayPairs or (x, y)}`` or a list of ``ArrayPairs`` (keyed by input resolution).
    metric: ``(pred, target) -> per-sample errors (b,)``; default the relative L2 error per sample. Returns
    ``{key: mean error}``, computed in evaluation mode without autograd, ``batch_size`` samples at a time.
    """
    check_int("batch_size", batch_size, min_value=1)
    sets = dict(datasets) if isinstance(datasets, Mapping) else by_resolution(datasets)
    if not sets:
        raise UsageError("evaluate_resolutions needs at least one test set")
    err_fn = metric or (lambda p, t: relative_lp(p, t, reduction="none"))
    dev = torch.device(device) if device is not None else next(
        (q.device for q in model.parameters()), torch.device("cpu"))
    was = model.training
    model.train(False)
    out: dict[Any, float] = {}
    try:
        with torch.no_grad():
            for key, data in sets.items():
                ds = _as_pairs(data, key)
                total, count = 0.0, 0
                for start in range(0, len(ds), batch_size):
                    x, y = ds.batch(np.arange(start, min(start + batch_size, len(ds))))
                    errs = err_fn(model(x.to(dev)).cpu(), y)
                    if errs.ndim != 1 or errs.shape[0] != x.shape[0]:
                        raise UsageError(f"metric must return one error per sample, shape ({x.shape[0]},); "
                                         f"got {tuple(errs.shape)}")
                    total, count = total + float(errs.sum()), count + x.shape[0]
                out[key] = total / count
    finally:
        model.train(was)
    return out
