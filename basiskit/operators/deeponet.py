r"""Deep operator network (Lu, Jin, Pang, Zhang & Karniadakis 2021, "Learning nonlinear operators via DeepONet
based on the universal approximation theorem of operators", Nature Machine Intelligence 3).

.. math::
    G(u)(y) \approx \sum_{k=1}^{p} b_k\big(u(x_1), \dots, u(x_m)\big)\, t_k(y) + b_0,

a *branch* net :math:`b` reads the input function at ``m`` fixed sensors, a *trunk* net :math:`t` reads the query
point :math:`y`. For ``out_channels`` outputs both nets give ``out_channels * p`` features, split per channel.

Unlike the other operators of :mod:`basiskit.operators` (grid in, same grid out), a DeepONet is evaluated at any
query points, so its call is ``forward(branch, trunk)``:

* **Cartesian product** (data on a fixed grid; Lu et al. 2022, "A comprehensive and fair comparison of two
  neural operators"): ``trunk`` is ``(n, coord_dim)``, shared by the whole batch; the trunk runs once, and the
  output ``(batch, out_channels, n)`` is one contraction.
* **Aligned**: ``trunk`` is ``(batch, n, coord_dim)``, each function with its own points.

Physics-informed training (Wang, Wang & Perdikaris 2021, "Learning the solution operator of parametric partial
differential equations with physics-informed DeepONets") needs derivatives of :math:`G(u)(y)` in :math:`y`.
Only the trunk depends on :math:`y`, so :meth:`DeepONet.derivative` differentiates the trunk features once per
point with ``torch.func`` (forward mode, vectorised over points) and contracts them with the branch: the cost is
independent of the batch of functions, not one backward pass per function and channel.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from .._validation import check_int
from ..models.mlp import MLP
from ..nn.activations import get_activation

__all__ = ["DeepONet", "DeepONetOnGrid"]


class DeepONet(nn.Module):
    r"""DeepONet :math:`G(u)(y) = \sum_k b_k(u) t_k(y) + b_0` (see the module docstring).

    Args:
        n_sensors: m, the number of points the input function is read at (the branch input).
        coord_dim: dimension of a query point y (the trunk input), e.g. 1 for x, 2 for (x, t).
        width: p, the number of basis functions per output channel.
        branch_hidden, trunk_hidden: hidden widths of the two MLPs (ignored for a net given as ``branch``/``trunk``).
        out_channels: outputs per query point.
        activation: activation of both MLPs (a name of :mod:`basiskit.nn.activations`); the trunk's last layer
            is activated too (its outputs are basis functions), the branch's is linear (coefficients).
        branch, trunk: own networks instead of the MLPs: ``branch`` maps (batch, n_sensors) to
            (batch, out_channels * width), ``trunk`` maps (n, coord_dim) to (n, out_channels * width).
    """

    def __init__(self, n_sensors: int, coord_dim: int, width: int = 64, *, branch_hidden: Sequence[int] = (128, 128),
                 trunk_hidden: Sequence[int] = (128, 128), out_channels: int = 1, activation: str = "tanh",
                 branch: nn.Module | None = None, trunk: nn.Module | None = None, device=None, dtype=None) -> None:
        super().__init__()
        self.n_sensors = check_int("n_sensors", n_sensors, min_value=1)
        self.coord_dim = check_int("coord_dim", coord_dim, min_value=1)
        self.width = check_int("width", width, min_value=1)
        self.out_channels = check_int("out_channels", out_channels, min_value=1)
        features = self.out_channels * self.width
        self.branch = branch if branch is not None else MLP(
            [self.n_sensors, *branch_hidden, features], activation, device=device,
            dtype=dtype)
        if trunk is None:
            trunk = nn.Sequential(MLP([self.coord_dim, *trunk_hidden, features], activation,
                                      device=device, dtype=dtype), get_activation(activation).module())
        self.trunk = trunk
        self.bias = nn.Parameter(torch.zeros(self.out_channels, device=device, dtype=dtype))

    # ---- the two halves -------------------------------------------------------------------------------------
    def branch_features(self, branch: torch.Tensor) -> torch.Tensor:
        """branch: (batch, n_sensors) (or (batch, 1, n_sensors) grid data) -> (batch, out_channels, width)."""
        if not isinstance(branch, torch.Tensor):
            raise TypeError(f"branch must be a tensor (batch, n_sensors), got {type(branch).__name__}")
        if branch.ndim == 3 and branch.shape[1] == 1:
            branch = branch[:, 0]
        if branch.ndim != 2 or branch.shape[1] != self.n_sensors:
            raise ValueError(f"branch must be (batch, n_sensors={self.n_sensors}) (or (batch, 1, {self.n_sensors}) "
                             f"grid data), got shape {tuple(branch.shape)}")
        return self._split(self.branch(branch), "branch")

    def trunk_features(self, points: torch.Tensor) -> torch.Tensor:
        """points: (..., coord_dim) -> (..., out_channels, width)."""
        return self._split(self.trunk(points), "trunk")

    def _split(self, f: torch.Tensor, which: str) -> torch.Tensor:
        if f.shape[-1] != self.out_channels * self.width:
            raise ValueError(f"the {which} net must give out_channels * width = {self.out_channels * self.width} "
                             f"features, got {f.shape[-1]}")
        return f.unflatten(-1, (self.out_channels, self.width))

    def _check_trunk(self, trunk: torch.Tensor, batch: int) -> None:
        if not isinstance(trunk, torch.Tensor):
            raise TypeError(f"trunk must be a tensor of query points, got {type(trunk).__name__}")
        if trunk.ndim not in (2, 3) or trunk.shape[-1] != self.coord_dim:
            raise ValueError(f"trunk must be (n, coord_dim={self.coord_dim}) points shared by the batch (Cartesian "
                             f"product) or (batch, n, {self.coord_dim}) points per function, got shape "
                             f"{tuple(trunk.shape)}")
        if trunk.ndim == 3 and trunk.shape[0] != batch:
            raise ValueError(f"trunk: per-function points (batch, n, coord_dim) need batch = {batch} (the branch's), "
                             f"got {trunk.shape[0]}")

    # ---- evaluation -----------------------------------------------------------------------------------------
    def forward(self, branch: torch.Tensor, trunk: torch.Tensor) -> torch.Tensor:
        """branch: (batch, n_sensors); trunk: (n, coord_dim) or (batch, n, coord_dim) -> (batch, out_channels, n)."""
        b = self.branch_features(branch)
        self._check_trunk(trunk, b.shape[0])
        t = self.trunk_features(trunk)
        if trunk.ndim == 2:
            out = torch.einsum("bcp,ncp->bcn", b, t)
        else:
            out = torch.einsum("bcp,bncp->bcn", b, t)
        return out + self.bias[:, None]

    def derivative(self, branch: torch.Tensor, trunk: torch.Tensor, *dims: int) -> torch.Tensor:
        r""":math:`\partial^k G(u)(y) / \partial y_{d_1} \cdots \partial y_{d_k}` on a Cartesian product.

        branch: (batch, n_sensors); trunk: (n, coord_dim); dims: the coordinates to differentiate along, in
        order (``derivative(u, y, 0, 0)`` is the second derivative in y_0) -> (batch, out_channels, n). With no
        dims it is ``forward``. The trunk features' derivatives are nested forward-mode directional derivatives
        (``torch.func.jvp`` along the unit vectors, one tangent per order, ``vmap`` over points); gradients flow
        to the parameters for training.
        """
        if not dims:
            return self(branch, trunk)
        for d in dims:
            check_int("dims", d, min_value=0, max_value=self.coord_dim - 1)
        b = self.branch_features(branch)
        self._check_trunk(trunk, b.shape[0])
        if trunk.ndim != 2:
            raise ValueError("derivative needs trunk points shared by the batch, (n, coord_dim) (the Cartesian "
                             f"product), got shape {tuple(trunk.shape)}")
        eye = torch.eye(self.coord_dim, dtype=trunk.dtype, device=trunk.device)
        dt = torch.func.vmap(_nested_partial(self.trunk, [eye[d] for d in dims]))(trunk)  # (n, c * width)
        return torch.einsum("bcp,ncp->bcn", b, self._split(dt, "trunk"))

    def extra_repr(self) -> str:
        return (f"n_sensors={self.n_sensors}, coord_dim={self.coord_dim}, width={self.width}, "
                f"out_channels={self.out_channels}")


class DeepONetOnGrid(nn.Module):
    """A DeepONet on fixed query points, with the grid-in, grid-out call of the other operators.

    ``forward(u)``: u (batch, 1, n_sensors) (or (batch, n_sensors)) -> (batch, out_channels, *shape), the
    DeepONet evaluated at ``points`` (prod(shape), coord_dim) in 'ij' order. So a DeepONet trains and is compared
    with the grid operators by the same code (normalisers, ``basiskit.train.fit``, relative L2).
    """

    def __init__(self, deeponet: DeepONet, points: torch.Tensor, shape: Sequence[int] | None = None) -> None:
        super().__init__()
        if not isinstance(deeponet, DeepONet):
            raise TypeError(f"deeponet must be a basiskit.operators.DeepONet, got {type(deeponet).__name__}")
        if not isinstance(points, torch.Tensor) or points.ndim != 2 or points.shape[1] != deeponet.coord_dim:
            got = tuple(points.shape) if isinstance(points, torch.Tensor) else type(points).__name__
            raise ValueError(f"points must be (n, coord_dim={deeponet.coord_dim}), got {got}")
        self.shape = tuple(shape) if shape is not None else (points.shape[0],)
        if math.prod(self.shape) != points.shape[0]:
            raise ValueError(f"shape {self.shape} holds {math.prod(self.shape)} points, but points has "
                             f"{points.shape[0]}")
        self.deeponet = deeponet
        self.register_buffer("points", points.clone())

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        out = self.deeponet(u, self.points.to(u.dtype))
        return out.reshape(out.shape[0], out.shape[1], *self.shape)


def _nested_partial(fn: Callable[[torch.Tensor], torch.Tensor], directions: Sequence[torch.Tensor]
                    ) -> Callable[[torch.Tensor], torch.Tensor]:
    """y: (coord_dim,) -> the directional derivative of fn along each direction in turn (forward mode)."""
    g = fn
    for e in directions:
        g = _directional(g, e)
    return g


def _directional(fn: Callable[[torch.Tensor], torch.Tensor], e: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda y: torch.func.jvp(fn, (y,), (e,))[1]
