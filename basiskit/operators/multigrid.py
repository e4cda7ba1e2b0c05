r"""Multi-grid domain decomposition for neural operators (MG-TFNO, Kossaifi et al. 2023).

The grid is cut into ``n_patches`` equal patches per dim. Each patch is processed independently, and sees its
surroundings through ``levels`` extra groups of channels: level :math:`l` is the window :math:`2^l` times the
patch size centred on the patch, average-pooled by :math:`2^l` back to the patch size (coarser and wider with
each level). Beyond the domain the window is filled by ``padding_mode`` (periodic wrap, reflection or zeros).

With ``pad`` > 0 cells every patch overlaps its neighbours by ``pad`` cells on each side (a fine-resolution halo,
as neuraloperator's ``MultigridPatching2D(padding_fraction=...)``); every context level then covers
:math:`2^l` times the padded patch. The model's output on the halo is cropped before stitching, so each output
cell comes from the one patch that owns it but was computed with its neighbourhood in view.

``multigrid_patch`` : (b, c, *grid) -> (b * P, c * (levels + 1), *(patch + 2 pad)) with P = prod(n_patches),
patches in row-major order within each sample; the first ``c`` channels are the (padded) patch itself.
``multigrid_unpatch`` : (b * P, c * (levels + 1), *(patch + 2 pad)) -> (b, c, *grid) from the first ``c``
channels with the halo cropped, so ``multigrid_unpatch(multigrid_patch(x, n, L, pad=p), n, L, pad=p) == x``.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import check_choice, check_float, check_int, check_tensor
from ._registry import register_operator
from .common import append_grid, as_tuple, check_field, padding_amounts
from .tfno import TFNO

PADDING_MODES = {"periodic": "circular", "reflect": "reflect", "zeros": "constant"}


def _check(x: torch.Tensor, n_patches: Sequence[int], levels: int) -> tuple[int, ...]:
    check_tensor("x", x, min_ndim=3)
    d = x.ndim - 2
    if d > 3:
        raise ValueError(f"x must have 1 to 3 grid dims, got shape {tuple(x.shape)}")
    if len(n_patches) != d:
        raise ValueError(f"n_patches={tuple(n_patches)} needs one entry per grid dim of x {tuple(x.shape[2:])}")
    check_int("levels", levels, min_value=0)
    sizes = []
    for j, (n, p) in enumerate(zip(x.shape[2:], n_patches)):
        if n % p:
            raise ValueError(f"n_patches[{j}]={p} must divide the grid size {n}")
        h = n // p
        if levels and h % (2 ** levels):
            raise ValueError(f"patch size {h} along grid dim {j} must be divisible by 2**levels={2 ** levels}")
        sizes.append(h)
    return tuple(sizes)


def _pool(x: torch.Tensor, factor: int) -> torch.Tensor:
    if factor == 1:
        return x
    return {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[x.ndim - 2](x, factor)


def _pad(x: torch.Tensor, pads: Sequence[int], mode: str) -> torch.Tensor:
    """Pad both ends of every grid dim by ``pads``; periodic wrap by index (any width, even several periods)."""
    if not any(pads):
        return x
    if mode == "circular":
        for j, p in enumerate(pads):
            n = x.shape[2 + j]
            x = x.index_select(2 + j, torch.arange(-p, n + p, device=x.device) % n)
        return x
    spec: list[int] = []
    for p in reversed(pads):
        spec += [p, p]
    return F.pad(x, spec, mode=mode)


def is_smooth(n: int, primes: Sequence[int] = (2, 3, 5)) -> bool:
    """Whether ``n`` >= 1 has no prime factor outside ``primes`` (a fast FFT length: pocketfft / cuFFT are
    several times slower on lengths with a large prime factor, e.g. 47)."""
    check_int("n", n, min_value=1)
    for q in primes:
        while n % q == 0:
            n //= q
    return n == 1


def fft_friendly_halo(patch: int, halo: int, domain_padding: float | int = 0) -> int:
    """The smallest halo >= ``halo`` cells for which the FFT length of a padded patch is 5-smooth.

    The length is ``patch + 2 * halo`` plus the inner operator's own ``domain_padding`` (a fraction of that
    size or a count, as ``FNO(padding=...)``). E.g. a 32-cell patch with a 5-cell halo and padding 0.125 is 47
    cells (prime); the 6-cell halo gives 44 + 6 = 50 = 2 * 5^2.
    """
    check_int("patch", patch, min_value=1)
    check_int("halo", halo, min_value=0)
    h = halo
    while True:
        size = patch + 2 * h
        if is_smooth(size + padding_amounts([size], domain_padding)[0]):
            return h
        h += 1


def _halo(pad: int | Sequence[int], d: int) -> tuple[int, ...]:
    return as_tuple("pad", pad, d, min_value=0)


def multigrid_patch(x: torch.Tensor, n_patches: int | Sequence[int], levels: int = 1,
                    padding_mode: str = "periodic", pad: int | Sequence[int] = 0) -> torch.Tensor:
    """Patches (with a halo of ``pad`` cells per side) and coarser context levels as extra channels; see the
    module docstring.

    x: (b, c, *grid) -> (b * P, c * (levels + 1), *(patch + 2 pad)).
    """
    n_patches = as_tuple("n_patches", n_patches, x.ndim - 2 if isinstance(n_patches, int) else None)
    sizes = _check(x, n_patches, levels)
    halo = _halo(pad, len(sizes))
    mode = PADDING_MODES[check_choice("padding_mode", padding_mode, list(PADDING_MODES))]
    b, c = x.shape[:2]
    d = len(sizes)
    groups = []
    for level in range(levels + 1):
        scale = 2 ** level
        pads = [(scale - 1) * h // 2 + scale * p for h, p in zip(sizes, halo)]
        if mode == "reflect" and any(p >= n for p, n in zip(pads, x.shape[2:])):
            raise ValueError(f"levels={levels} needs a context wider than the grid; reflect padding cannot "
                             f"provide it (use fewer levels or padding_mode='periodic')")
        padded = _pad(x, pads, mode)
        windows = padded
        for j, (h, p) in enumerate(zip(sizes, halo)):  # (b, c, p_1, .., p_d, w_1, .., w_d) after unfolding
            windows = windows.unfold(2 + j, scale * (h + 2 * p), h)
        perm = [0] + list(range(2, 2 + d)) + [1] + list(range(2 + d, 2 + 2 * d))
        windows = windows.permute(perm).reshape(-1, c, *[scale * (h + 2 * p) for h, p in zip(sizes, halo)])
        groups.append(_pool(windows, scale))
    return torch.cat(groups, 1)


def multigrid_unpatch(patches: torch.Tensor, n_patches: int | Sequence[int], levels: int = 0,
                      pad: int | Sequence[int] = 0) -> torch.Tensor:
    """Crop the ``pad``-cell halo and stitch: (b * P, c * (levels + 1), *(patch + 2 pad)) -> (b, c, *grid) from
    the first c channels."""
    check_tensor("patches", patches, min_ndim=3)
    d = patches.ndim - 2
    halo = _halo(pad, d)
    for j, p in enumerate(halo):
        if 2 * p >= patches.shape[2 + j]:
            raise ValueError(f"pad[{j}]={p} leaves nothing of patches of size {patches.shape[2 + j]}")
    patches = patches[(slice(None), slice(None), *[slice(p, patches.shape[2 + j] - p) for j, p in enumerate(halo)])]
    n_patches = as_tuple("n_patches", n_patches, d if isinstance(n_patches, int) else None)
    if len(n_patches) != d:
        raise ValueError(f"n_patches={n_patches} needs one entry per grid dim of patches {tuple(patches.shape[2:])}")
    total = 1
    for p in n_patches:
        total *= p
    if patches.shape[0] % total:
        raise ValueError(f"patches has {patches.shape[0]} entries, not a multiple of prod(n_patches)={total}")
    check_int("levels", levels, min_value=0)
    if patches.shape[1] % (levels + 1):
        raise ValueError(f"patches has {patches.shape[1]} channels, not a multiple of levels + 1 = {levels + 1}")
    c = patches.shape[1] // (levels + 1)
    b = patches.shape[0] // total
    sizes = patches.shape[2:]
    y = patches[:, :c].reshape(b, *n_patches, c, *sizes)
    perm = [0, 1 + d] + [k for j in range(d) for k in (1 + j, 2 + d + j)]
    y = y.permute(perm)
    return y.reshape(b, c, *[p * h for p, h in zip(n_patches, sizes)])


@register_operator("mg_tfno")
class MGTFNO(nn.Module):
    """Multi-grid tensorised FNO: patch (with ``levels`` context levels), apply one TFNO to every patch, stitch.

    Global grid coordinates are appended before patching (so each patch knows where it lies); the inner TFNO
    takes ``(in_channels + d) * (levels + 1)`` channels. ``patch_padding`` is the halo each patch gets from its
    neighbours, as a fraction of the grid size per side (neuraloperator's ``padding_fraction``; rounded to
    cells). With ``fft_friendly=True`` (default) a non-zero halo is then rounded up to the nearest number of
    cells that makes the inner TFNO's FFT length (patch + 2 halo + its own ``padding``) 5-smooth
    (``fft_friendly_halo``): at 64x64 in 2x2 patches, halo 0.078125 and padding 0.125 the length would be 47,
    a prime, whose FFTs are several times slower than at 48 or 50. Other keywords go to ``TFNO``.
    x: (batch, in_channels, *grid) -> (batch, out_channels, *grid), grid divisible by ``n_patches``.
    """

    def __init__(self, n_modes: int | Sequence[int], in_channels: int = 1, out_channels: int = 1,
                 hidden_channels: int = 32, n_layers: int = 4, *, n_patches: int | Sequence[int] = 2,
                 levels: int = 1, padding_mode: str = "periodic", patch_padding: float = 0.0,
                 positional: bool | str = True, fft_friendly: bool = True, device=None, dtype=None,
                 **tfno_options) -> None:
        super().__init__()
        modes = as_tuple("n_modes", n_modes, 1 if isinstance(n_modes, int) else None)
        self.n_dims = len(modes)
        self.n_patches = as_tuple("n_patches", n_patches, self.n_dims)
        self.levels = check_int("levels", levels, min_value=0)
        self.padding_mode = check_choice("padding_mode", padding_mode, list(PADDING_MODES))
        self.patch_padding = check_float("patch_padding", patch_padding, min_value=0.0, max_value=0.45)
        if not isinstance(fft_friendly, bool):
            raise TypeError(f"fft_friendly must be a bool, got {fft_friendly!r}")
        self.fft_friendly = fft_friendly
        self.in_channels = check_int("in_channels", in_channels, min_value=1)
        if positional not in (True, False, "closed", "periodic"):
            raise ValueError(f"positional must be True/'closed', 'periodic' or False, got {positional!r}")
        self.positional = "closed" if positional is True else positional
        inner_in = (in_channels + (self.n_dims if positional else 0)) * (levels + 1)
        self.tfno = TFNO(modes, inner_in, out_channels, hidden_channels, n_layers, positional=False,
                         device=device, dtype=dtype, **tfno_options)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_field("x", x, self.n_dims, self.in_channels)
        if self.positional:
            x = append_grid(x, periodic=self.positional == "periodic")
        pad = self.halo(x.shape[2:])
        patches = multigrid_patch(x, self.n_patches, self.levels, self.padding_mode, pad)
        return multigrid_unpatch(self.tfno(patches), self.n_patches, pad=pad)

    def halo(self, grid: Sequence[int]) -> tuple[int, ...]:
        """Halo cells per side along each grid dim for an input grid ``grid`` (see the class docstring)."""
        pads = []
        for j, n in enumerate(grid):
            h = int(round(n * self.patch_padding))
            if self.fft_friendly and h:
                padding = self.tfno.padding
                h = fft_friendly_halo(n // self.n_patches[j], h,
                                      padding[j] if isinstance(padding, Sequence) else padding)
            pads.append(h)
        return tuple(pads)

    def extra_repr(self) -> str:
        return (f"n_patches={self.n_patches}, levels={self.levels}, padding_mode={self.padding_mode!r}, "
                f"patch_padding={self.patch_padding}, fft_friendly={self.fft_friendly}")
