r"""NeuRBF: neural fields from adaptive radial bases, multi-frequency sinusoids and a grid.

Chen, Li, Song, Chen, Yu, Yuan & Xu 2023, "NeuRBF: A Neural Fields Representation with Adaptive Radial Basis
Functions" (ICCV). A field :math:`f: [0, 1]^d \to \mathbb{R}^{out}` is decoded by a small MLP from two feature
vectors: an adaptive radial-basis part and a grid part.

*Adaptive radial bases.* Basis :math:`i` has a centre :math:`c_i` and a shape matrix
:math:`A_i = L_i L_i^\top` (anisotropic, positive definite; :math:`L_i` lower triangular with a positive
diagonal), so its activation at :math:`x` is

.. math::  \varphi_i(x) = \kappa(r_i^2), \qquad r_i^2 = (x - c_i)^\top A_i (x - c_i),

with :math:`\kappa(r^2) = e^{-r^2}` (Gaussian) or :math:`\kappa(r^2) = 1 / (1 + r^2)` (inverse quadric). Only the
``top_k`` bases with the largest activation at :math:`x` (the smallest :math:`r_i^2`) take part, and their
activations are normalised to sum to one, :math:`\hat\varphi_i = \varphi_i / \sum_{j \in N_k(x)} \varphi_j`.
(For the Gaussian this is the softmax of :math:`-r^2`, which does not underflow far from every basis.)

*Multi-frequency sinusoid composition.* Each basis carries a feature vector :math:`w_i \in \mathbb{R}^D`. Instead
of the plain :math:`\sum_i w_i \hat\varphi_i(x)`, each channel :math:`c` composes the activation with a sinusoid
of its own frequency :math:`\omega_c` (the ``frequencies`` are spread over the channels in equal groups):

.. math::  h_c(x) = \sum_{i \in N_k(x)} w_{i,c} \, \sin(\omega_c \hat\varphi_i(x) + b_c),

which turns one radial basis into several "Fourier radial bases" of different frequency bands at no extra cost
per basis (the biases :math:`b` are :math:`D` numbers shared by all bases). ``frequencies=None`` gives the plain
linear combination (the paper's ablation without sinusoid composition).

*Sinusoids in the decoder.* The authors' released image configuration (``configs/img.py``, ``pe_lc0_freq =
[10, 100]``) also composes the decoder's first hidden layer with sinusoids: its pre-activations :math:`z` become
:math:`z + \sin(\nu \odot z)` (no other activation), with one frequency per unit, log-spaced between the two
bounds (``decoder_frequencies``; None for a plain first layer).

*Grid.* A bilinear feature grid :math:`g(x)` (``grid_channels`` x ``grid_resolution``\ :sup:`2`) supplies the
smooth part; the decoder sees :math:`[h(x), g(x)]`.

*Initialisation* (:func:`weighted_kmeans`, :func:`cluster_shapes`): the centres are the weighted k-means centroids
of the pixel coordinates with weights :math:`\|\nabla I\|` (so bases gather where the image changes), and each
shape matrix is the inverse of its cluster's weighted covariance (scaled by ``scale``\ :sup:`2`, floored at a
pixel). The authors' image configuration keeps centres and shapes fixed after this initialisation and trains the
features, grid and decoder; :class:`AdaptiveRBF` takes ``trainable_geometry`` for either choice.

*Evaluation cost.* The neighbour search needs all :math:`N \times K` distances; :meth:`AdaptiveRBF.neighbors`
computes them without autograd in chunks of ``chunk_size`` points (memory ``chunk_size * K * d``), and
``forward(x, neighbors=idx)`` accepts indices computed once (fixed points such as the pixels of an image, fixed
geometry), so a training step costs :math:`O(N k D)`, not :math:`O(N K)`. This is the pure-PyTorch replacement of
the paper's CUDA kernels (no cupy, no compiled extension).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._validation import check_choice, check_float, check_int, check_tensor
from .activations import get_activation

KERNELS = ("inverse_quadric", "gaussian")


# ---- pure functions -------------------------------------------------------------------------------------------
def rbf_kernel(r2: Tensor, kind: str = "inverse_quadric") -> Tensor:
    r"""Radial kernel of a squared (Mahalanobis) distance, elementwise, same shape as ``r2``.

    ``"gaussian"``: :math:`e^{-r^2}`; ``"inverse_quadric"``: :math:`1 / (1 + r^2)`.
    """
    check_choice("kernel", kind, KERNELS)
    if kind == "gaussian":
        return torch.exp(-r2)
    return 1.0 / (1.0 + r2)


def mahalanobis_sq(x: Tensor, centers: Tensor, chol: Tensor) -> Tensor:
    r""":math:`r^2 = \|L^\top (x - c)\|^2 = (x - c)^\top L L^\top (x - c)` for aligned points and bases.

    x: (..., d); centers: (..., d); chol: (..., d, d) lower-triangular factors :math:`L`; returns (...,).
    Broadcasts over the leading dims (e.g. x (N, 1, d) against centers (N, k, d)).
    """
    diff = x - centers
    proj = torch.einsum("...d,...de->...e", diff, chol)
    return proj.pow(2).sum(-1)


def sinusoid_composition(act: Tensor, frequencies: Tensor, bias: Tensor) -> Tensor:
    r""":math:`\sin(\omega_c a + b_c)` for every activation :math:`a` and channel :math:`c`.

    act: (...,); frequencies, bias: (D,); returns (..., D).
    """
    return torch.sin(act.unsqueeze(-1) * frequencies + bias)


def sinusoid_residual(z: Tensor, frequencies: Tensor) -> Tensor:
    r""":math:`z + \sin(\nu \odot z)`: z (..., D), frequencies :math:`\nu` (D,); returns (..., D)."""
    return z + torch.sin(z * frequencies)


def log_spaced(low: float, high: float, n: int) -> Tensor:
    """``n`` frequencies from ``low`` to ``high`` with equal ratios (geometric spacing): (n,) float32."""
    low = check_float("low", low, min_value=0.0, strict_min=True)
    high = check_float("high", high, min_value=low)
    check_int("n", n, min_value=1)
    return torch.exp2(torch.linspace(math.log2(low), math.log2(high), n))


def channel_frequencies(frequencies: Sequence[float], channels: int) -> Tensor:
    """Spread ``M`` frequencies over ``channels`` channels in equal consecutive groups: (channels,) float32.

    ``channels`` must be a multiple of ``M``; channel ``c`` gets ``frequencies[c // (channels // M)]``.
    """
    freqs = [check_float("frequencies[]", f, min_value=0.0, strict_min=True) for f in frequencies]
    if not freqs:
        raise ValueError("frequencies must name at least one frequency (or be None for no sinusoid composition)")
    if channels % len(freqs):
        raise ValueError(f"feature_dim ({channels}) must be a multiple of len(frequencies) ({len(freqs)})")
    return torch.tensor(freqs, dtype=torch.float32).repeat_interleave(channels // len(freqs))


def image_gradient_magnitude(image: Tensor) -> Tensor:
    r""":math:`\|\nabla I\|` by central differences (one-sided at the border), in units per pixel: (H, W).

    image: (H, W) or (C, H, W) (channels are combined as the root of the summed squares).
    """
    check_tensor("image", image, ndim=(2, 3), finite=True)
    img = image if image.ndim == 3 else image.unsqueeze(0)
    if img.shape[-1] < 2 or img.shape[-2] < 2:
        raise ValueError(f"image must be at least 2x2, got shape {tuple(image.shape)}")
    gy, gx = torch.gradient(img, dim=(-2, -1))
    return (gy.pow(2) + gx.pow(2)).sum(0).sqrt()


def pixel_coordinates(height: int, width: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """Pixel centres in [0, 1]^2, row-major: (height * width, 2) with columns (row, column).

    Pixel (r, c) sits at ((r + 0.5) / height, (c + 0.5) / width).
    """
    check_int("height", height, min_value=1)
    check_int("width", width, min_value=1)
    rows = (torch.arange(height, dtype=dtype) + 0.5) / height
    cols = (torch.arange(width, dtype=dtype) + 0.5) / width
    return torch.cartesian_prod(rows, cols)


def _nearest(points: Tensor, centers: Tensor, chunk_size: int) -> Tensor:
    out = torch.empty(points.shape[0], dtype=torch.long, device=points.device)
    for s in range(0, points.shape[0], chunk_size):
        out[s:s + chunk_size] = torch.cdist(points[s:s + chunk_size], centers).argmin(1)
    return out


def weighted_kmeans(points: Tensor, weights: Tensor, k: int, *, iters: int = 10,
                    init: Tensor | None = None, generator: torch.Generator | None = None,
                    chunk_size: int = 8192) -> tuple[Tensor, Tensor]:
    r"""Lloyd's k-means where point :math:`p` counts with weight :math:`w_p \ge 0`.

    Each iteration assigns every point to its nearest centre and moves each centre to the weighted centroid
    :math:`c_j = \sum_{p \in S_j} w_p x_p / \sum_{p \in S_j} w_p`; a centre whose cluster has zero weight stays
    where it is.

    points: (N, d); weights: (N,) non-negative, not all zero; ``init`` (k, d) starting centres, else ``k``
    distinct points drawn with probability proportional to weight (``generator``). Returns (centers (k, d),
    labels (N,) the index of each point's nearest final centre).
    """
    check_tensor("points", points, ndim=2, finite=True, nonempty=True)
    check_tensor("weights", weights, ndim=1, finite=True)
    check_int("k", k, min_value=1)
    check_int("iters", iters, min_value=0)
    n = points.shape[0]
    if weights.shape[0] != n:
        raise ValueError(f"weights must have one entry per point ({n}), got shape {tuple(weights.shape)}")
    if bool((weights < 0).any()) or float(weights.sum()) <= 0:
        raise ValueError("weights must be non-negative with a positive sum")
    if init is not None:
        check_tensor("init", init, ndim=2, finite=True)
        if init.shape != (k, points.shape[1]):
            raise ValueError(f"init must have shape ({k}, {points.shape[1]}), got {tuple(init.shape)}")
        centers = init.to(points.dtype).clone()
    else:
        positive = int((weights > 0).sum())
        if k > positive:
            raise ValueError(f"k ({k}) must be <= the number of points with positive weight ({positive})")
        idx = torch.multinomial(weights.double(), k, replacement=False, generator=generator)
        centers = points[idx].clone()
    w = weights.to(points.dtype)
    for _ in range(iters):
        labels = _nearest(points, centers, chunk_size)
        mass = torch.zeros(k, dtype=points.dtype, device=points.device).index_add_(0, labels, w)
        sums = torch.zeros_like(centers).index_add_(0, labels, points * w[:, None])
        moved = mass > 0
        centers[moved] = sums[moved] / mass[moved, None]
    return centers, _nearest(points, centers, chunk_size)


def cluster_shapes(points: Tensor, weights: Tensor, labels: Tensor, centers: Tensor, *, scale: float = 1.0,
                   min_std: float = 1e-3) -> Tensor:
    r"""Shape matrices from the clusters: :math:`A_j = (s^2 \Sigma_j + \sigma_{min}^2 I)^{-1}`, returned as
    their lower Cholesky factors :math:`L_j` (:math:`A_j = L_j L_j^\top`): (k, d, d).

    :math:`\Sigma_j` is the weighted covariance of cluster :math:`j` about its centre (zero for an empty or
    zero-weight cluster, which then gets the isotropic :math:`A_j = \sigma_{min}^{-2} I`); ``scale`` :math:`s`
    sets how far a basis reaches in units of its cluster's standard deviation (:math:`r^2 = 1/s^2` at one
    standard deviation when :math:`\sigma_{min}` is negligible), ``min_std`` the smallest width (e.g. one pixel).

    points: (N, d); weights: (N,); labels: (N,) cluster index; centers: (k, d).
    """
    check_float("scale", scale, min_value=0.0, strict_min=True)
    check_float("min_std", min_std, min_value=0.0, strict_min=True)
    k, d = centers.shape
    w = weights.to(points.dtype)
    diff = points - centers[labels]
    outer = diff[:, :, None] * diff[:, None, :] * w[:, None, None]
    cov = torch.zeros(k, d, d, dtype=points.dtype, device=points.device).index_add_(0, labels, outer)
    mass = torch.zeros(k, dtype=points.dtype, device=points.device).index_add_(0, labels, w)
    cov = torch.where(mass[:, None, None] > 0, cov / mass.clamp_min(1e-30)[:, None, None], torch.zeros_like(cov))
    eye = torch.eye(d, dtype=points.dtype, device=points.device)
    precision = torch.linalg.inv(scale ** 2 * cov + min_std ** 2 * eye)
    precision = 0.5 * (precision + precision.transpose(-1, -2))
    return torch.linalg.cholesky(precision)


def bilinear_grid(grid: Tensor, x: Tensor) -> Tensor:
    """Bilinear interpolation of a feature grid whose corner nodes sit at the corners of [0, 1]^2.

    grid: (C, G_row, G_col); x: (N, 2) with columns (row, column) in [0, 1] (clamped outside); returns (N, C).
    """
    loc = torch.stack((x[:, 1], x[:, 0]), dim=-1) * 2.0 - 1.0  # grid_sample wants (column, row) in [-1, 1]
    out = F.grid_sample(grid.unsqueeze(0), loc.view(1, 1, -1, 2).to(grid.dtype), mode="bilinear",
                        padding_mode="border", align_corners=True)
    return out[0, :, 0, :].T


def neurbf_parameter_count(num_bases: int, feature_dim: int, grid_channels: int, grid_resolution: int,
                           hidden: Sequence[int] = (16, 16), in_dim: int = 2, out_dim: int = 1,
                           sinusoid: bool = True) -> int:
    """Parameters of :class:`NeuRBF` with these sizes, in closed form.

    Per basis: ``in_dim`` centre + ``in_dim (in_dim + 1) / 2`` shape + ``feature_dim`` feature numbers; the
    sinusoid biases (``feature_dim``, when ``sinusoid``); the grid ``grid_channels * grid_resolution ** in_dim``;
    the decoder, dense layers ``[feature_dim + grid_channels, *hidden, out_dim]`` with biases.
    """
    per_basis = in_dim + in_dim * (in_dim + 1) // 2 + feature_dim
    widths = [feature_dim + grid_channels, *hidden, out_dim]
    decoder = sum((a + 1) * b for a, b in pairwise(widths))
    return (num_bases * per_basis + (feature_dim if sinusoid else 0)
            + grid_channels * grid_resolution ** in_dim + decoder)


def _decoder_bounds(frequencies: Sequence[float] | None, hidden: Sequence[int]) -> tuple[float, float] | None:
    if frequencies is None:
        return None
    bounds = tuple(frequencies)
    if len(bounds) != 2:
        raise ValueError(f"decoder_frequencies must be (low, high) or None, got {frequencies!r}")
    if not hidden:
        raise ValueError("decoder_frequencies needs a hidden layer (hidden=() has none); pass None")
    low = check_float("decoder_frequencies[0]", bounds[0], min_value=0.0, strict_min=True)
    high = check_float("decoder_frequencies[1]", bounds[1], min_value=low)
    return low, high


class SinusoidResidual(nn.Module):
    r""":math:`z \mapsto z + \sin(\nu \odot z)` with fixed per-unit frequencies :math:`\nu` (a buffer):
    z (..., D) -> (..., D)."""

    def __init__(self, frequencies: Tensor) -> None:
        super().__init__()
        self.register_buffer("frequencies", frequencies.detach().clone())

    def forward(self, z: Tensor) -> Tensor:
        return sinusoid_residual(z, self.frequencies)

    def extra_repr(self) -> str:
        f = self.frequencies
        return f"units={f.numel()}, frequencies={float(f.min()):g}..{float(f.max()):g}"


def _mlp(widths: Sequence[int], activation: str, first: tuple[float, float] | None = None) -> nn.Sequential:
    """Dense layers ``widths`` with ``activation`` between them; ``first`` = (low, high) replaces the first
    hidden layer's activation by :class:`SinusoidResidual` with log-spaced frequencies."""
    act = get_activation(activation)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(pairwise(widths)):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(SinusoidResidual(log_spaced(*first, b)) if i == 0 and first else act.module())
    return nn.Sequential(*layers)


# ---- modules --------------------------------------------------------------------------------------------------
class AdaptiveRBF(nn.Module):
    r"""Adaptive radial bases with per-basis centre, anisotropic shape and feature vector (see the module
    docstring): ``x (N, in_dim) -> (N, feature_dim)``.

    Args:
        num_bases: K > 0.
        feature_dim: D, channels per basis.
        in_dim: d, the dimension of the points.
        kernel: ``"inverse_quadric"`` or ``"gaussian"``.
        top_k: bases per point (``min(top_k, K)`` are used).
        frequencies: sinusoid frequencies spread over the channels (D a multiple of their number), or None for
            the plain combination :math:`\sum_i w_i \hat\varphi_i`.
        normalize: divide the neighbours' activations by their sum.
        trainable_geometry: train centres and shapes too (else they stay as initialised; they still count
            as parameters, because a stored model needs them).
        init_width: the isotropic width of the default shape (1 / ``init_width``\ :sup:`2` precision).
    """

    def __init__(self, num_bases: int, feature_dim: int, *, in_dim: int = 2, kernel: str = "inverse_quadric",
                 top_k: int = 4, frequencies: Sequence[float] | None = None, normalize: bool = True,
                 trainable_geometry: bool = True, init_width: float = 0.05, chunk_size: int = 8192,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.num_bases = check_int("num_bases", num_bases, min_value=1)
        self.feature_dim = check_int("feature_dim", feature_dim, min_value=1)
        self.in_dim = check_int("in_dim", in_dim, min_value=1)
        self.kernel = check_choice("kernel", kernel, KERNELS)
        self.top_k = check_int("top_k", top_k, min_value=1)
        self.chunk_size = check_int("chunk_size", chunk_size, min_value=1)
        check_float("init_width", init_width, min_value=0.0, strict_min=True)
        self.normalize = bool(normalize)
        d = in_dim
        self.centers = nn.Parameter(torch.rand(num_bases, d, generator=generator))
        self.log_diag = nn.Parameter(torch.full((num_bases, d), -math.log(init_width)))
        self.offdiag = nn.Parameter(torch.zeros(num_bases, d * (d - 1) // 2))
        self.features = nn.Parameter(torch.randn(num_bases, feature_dim, generator=generator) * 0.1)
        if frequencies is None:
            self.register_buffer("frequencies", None)
            self.bias = None
        else:
            self.register_buffer("frequencies", channel_frequencies(frequencies, feature_dim))
            self.bias = nn.Parameter(torch.zeros(feature_dim))
        self.set_trainable_geometry(trainable_geometry)

    def set_trainable_geometry(self, flag: bool) -> None:
        """Train (True) or freeze (False) the centres and shapes."""
        for p in (self.centers, self.log_diag, self.offdiag):
            p.requires_grad_(bool(flag))

    def cholesky(self) -> Tensor:
        """Lower factors :math:`L_i` of the shape matrices :math:`A_i = L_i L_i^\\top`: (K, d, d)."""
        d = self.in_dim
        chol = torch.diag_embed(self.log_diag.exp())
        if d > 1:
            rows, cols = torch.tril_indices(d, d, offset=-1, device=chol.device)
            lower = torch.zeros(self.num_bases, d * d, dtype=chol.dtype, device=chol.device)
            chol = chol + lower.index_copy(1, rows * d + cols, self.offdiag).view(-1, d, d)
        return chol

    @torch.no_grad()
    def set_geometry(self, centers: Tensor, chol: Tensor) -> None:
        """Set centres (K, d) and shapes from lower Cholesky factors (K, d, d) with a positive diagonal."""
        k, d = self.num_bases, self.in_dim
        if centers.shape != (k, d) or chol.shape != (k, d, d):
            raise ValueError(f"centers must be ({k}, {d}) and chol ({k}, {d}, {d}), got {tuple(centers.shape)} "
                             f"and {tuple(chol.shape)}")
        diag = torch.diagonal(chol, dim1=-2, dim2=-1)
        if not bool((diag > 0).all()):
            raise ValueError("chol must have a positive diagonal")
        self.centers.copy_(centers)
        self.log_diag.copy_(diag.log())
        if d > 1:
            rows, cols = torch.tril_indices(d, d, offset=-1)
            self.offdiag.copy_(chol[:, rows, cols])

    def init_from_points(self, points: Tensor, weights: Tensor, *, iters: int = 10, scale: float = 1.0,
                         min_std: float = 1e-3, generator: torch.Generator | None = None) -> Tensor:
        """Centres by :func:`weighted_kmeans` of ``points`` (N, d) with ``weights`` (N,), shapes by
        :func:`cluster_shapes`; returns the cluster label of each point (N,)."""
        centers, labels = weighted_kmeans(points, weights, self.num_bases, iters=iters, generator=generator,
                                          chunk_size=self.chunk_size)
        chol = cluster_shapes(points, weights, labels, centers, scale=scale, min_std=min_std)
        self.set_geometry(centers.to(self.centers.dtype), chol.to(self.centers.dtype))
        return labels

    def _check_points(self, x: Tensor) -> Tensor:
        check_tensor("x", x, ndim=2, last_dim=self.in_dim, finite=True)
        return x

    @torch.no_grad()
    def neighbors(self, x: Tensor) -> Tensor:
        """Indices of the ``top_k`` bases with the smallest :math:`r^2` at each point: (N, k) int64."""
        self._check_points(x)
        k = min(self.top_k, self.num_bases)
        centers, chol = self.centers.to(x.dtype), self.cholesky().to(x.dtype)
        out = torch.empty(x.shape[0], k, dtype=torch.long, device=x.device)
        for s in range(0, x.shape[0], self.chunk_size):
            r2 = mahalanobis_sq(x[s:s + self.chunk_size, None, :], centers, chol)
            out[s:s + self.chunk_size] = r2.topk(k, dim=1, largest=False).indices
        return out

    def activations(self, x: Tensor, neighbors: Tensor) -> Tensor:
        """(Normalised) kernel activations of each point's neighbours: (N, k)."""
        r2 = mahalanobis_sq(x.unsqueeze(1), self.centers[neighbors], self.cholesky()[neighbors])
        if self.normalize and self.kernel == "gaussian":
            return torch.softmax(-r2, dim=1)  # = exp(-r2) / sum exp(-r2), without underflow far from all bases
        act = rbf_kernel(r2, self.kernel)
        if self.normalize:
            act = act / act.sum(1, keepdim=True)  # inverse quadric: every term is > 0
        return act

    def forward(self, x: Tensor, neighbors: Tensor | None = None) -> Tensor:
        """x: (N, d) points; ``neighbors`` (N, k) from :meth:`neighbors` (computed here when None). Returns
        (N, feature_dim)."""
        self._check_points(x)
        if neighbors is None:
            neighbors = self.neighbors(x)
        elif neighbors.ndim != 2 or neighbors.shape[0] != x.shape[0] or neighbors.dtype != torch.long:
            raise ValueError(f"neighbors must be int64 of shape ({x.shape[0]}, k), got {neighbors.dtype} "
                             f"{tuple(neighbors.shape)}")
        act = self.activations(x, neighbors)
        feats = self.features[neighbors]
        if self.frequencies is None:
            return (act.unsqueeze(-1) * feats).sum(1)
        return (sinusoid_composition(act, self.frequencies, self.bias) * feats).sum(1)

    def extra_repr(self) -> str:
        sin = "none" if self.frequencies is None else f"{len(torch.unique(self.frequencies))} frequencies"
        return (f"num_bases={self.num_bases}, feature_dim={self.feature_dim}, in_dim={self.in_dim}, "
                f"kernel={self.kernel!r}, top_k={self.top_k}, sinusoids={sin}")


class BilinearGrid(nn.Module):
    """A learnable feature grid on [0, 1]^2 read by bilinear interpolation: ``x (N, 2) -> (N, channels)``."""

    def __init__(self, channels: int, resolution: int, *, init_std: float = 0.1,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.channels = check_int("channels", channels, min_value=1)
        self.resolution = check_int("resolution", resolution, min_value=2)
        self.grid = nn.Parameter(torch.randn(channels, resolution, resolution, generator=generator) * init_std)

    def forward(self, x: Tensor) -> Tensor:
        check_tensor("x", x, ndim=2, last_dim=2, finite=True)
        return bilinear_grid(self.grid, x)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, resolution={self.resolution}"


class NeuRBF(nn.Module):
    r"""NeuRBF field for 2-D signals: ``decoder([AdaptiveRBF(x), BilinearGrid(x)])``, x (N, 2) in [0, 1]^2 ->
    (N, out_dim). See the module docstring for the equations.

    Args:
        num_bases, feature_dim, kernel, top_k, frequencies, trainable_geometry: of :class:`AdaptiveRBF`.
        grid_channels, grid_resolution: of :class:`BilinearGrid` (``grid_channels=0``: no grid).
        hidden: decoder hidden widths; activation: their activation (the registry's name).
        decoder_frequencies: (low, high) bounds of the first hidden layer's sinusoids (see the module
            docstring; the authors' image setting is (10, 100)), or None (default) for ``activation`` there too.
    """

    def __init__(self, num_bases: int, feature_dim: int = 8, *, grid_channels: int = 4, grid_resolution: int = 32,
                 hidden: Sequence[int] = (16, 16), out_dim: int = 1, kernel: str = "inverse_quadric",
                 top_k: int = 4, frequencies: Sequence[float] | None = (1.0, 4.0, 16.0, 64.0),
                 activation: str = "relu", decoder_frequencies: Sequence[float] | None = None,
                 trainable_geometry: bool = True, generator: torch.Generator | None = None) -> None:
        super().__init__()
        check_int("grid_channels", grid_channels, min_value=0)
        check_int("out_dim", out_dim, min_value=1)
        hidden = [check_int("hidden[]", h, min_value=1) for h in hidden]
        self.rbf = AdaptiveRBF(num_bases, feature_dim, kernel=kernel, top_k=top_k, frequencies=frequencies,
                               trainable_geometry=trainable_geometry, generator=generator)
        self.grid = BilinearGrid(grid_channels, grid_resolution, generator=generator) if grid_channels else None
        self.decoder = _mlp([feature_dim + grid_channels, *hidden, out_dim], activation,
                            _decoder_bounds(decoder_frequencies, hidden))

    def init_from_image(self, image: Tensor, *, iters: int = 10, scale: float = 1.0,
                        generator: torch.Generator | None = None) -> Tensor:
        """Centres and shapes from ``image`` (H, W) or (C, H, W): weighted k-means of the pixel coordinates with
        weights :math:`\\|\\nabla I\\|`, shapes from the cluster covariances (floored at one pixel). Returns the
        cluster label of each pixel (H * W,), row-major."""
        grad = image_gradient_magnitude(image)
        h, w = grad.shape
        points = pixel_coordinates(h, w)
        return self.rbf.init_from_points(points, grad.flatten().float(), iters=iters, scale=scale,
                                         min_std=1.0 / max(h, w), generator=generator)

    def neighbors(self, x: Tensor) -> Tensor:
        """Indices (N, top_k) to pass to ``forward`` for fixed points and fixed geometry."""
        return self.rbf.neighbors(x)

    def forward(self, x: Tensor, neighbors: Tensor | None = None) -> Tensor:
        parts = [self.rbf(x, neighbors)]
        if self.grid is not None:
            parts.append(self.grid(x))
        return self.decoder(torch.cat(parts, dim=-1))


class GridField(nn.Module):
    """The grid baseline: ``BilinearGrid(x)`` read directly (``hidden=()``, channels = ``out_dim``) or through
    an MLP decoder: x (N, 2) -> (N, out_dim). ``decoder_frequencies`` as in :class:`NeuRBF` (None here by
    default: a plain MLP decoder)."""

    def __init__(self, channels: int, resolution: int, *, hidden: Sequence[int] = (), out_dim: int = 1,
                 activation: str = "relu", decoder_frequencies: Sequence[float] | None = None,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        hidden = [check_int("hidden[]", h, min_value=1) for h in hidden]
        if not hidden and channels != out_dim:
            raise ValueError(f"a direct grid (hidden=()) needs channels == out_dim, got {channels} and {out_dim}")
        self.grid = BilinearGrid(channels, resolution, generator=generator)
        bounds = _decoder_bounds(decoder_frequencies, hidden)
        self.decoder = _mlp([channels, *hidden, out_dim], activation, bounds) if hidden else None

    def forward(self, x: Tensor) -> Tensor:
        feats = self.grid(x)
        return feats if self.decoder is None else self.decoder(feats)
