r"""Structure-preserving operator networks (SPON) on finite-element spaces.

Bouziani & Boullé 2024, "Structure-preserving operator learning": an encode-process-decode operator
:math:`\mathcal G_\theta = \mathcal D \circ \mathcal P_\theta \circ \mathcal E` whose encoder and decoder come from
finite-element discretisations of the input and output spaces.

* Encoder :math:`\mathcal E`: the Galerkin projection of the input function onto :math:`V_h` (P1 or P2), its
  degrees of freedom (:meth:`FESpace.project`).
* Processor :math:`\mathcal P_\theta`: layers defined on the function space, not on one mesh's numbering, so one
  trained model applies on every refinement of the mesh. Here each layer is
  :math:`h \mapsto \sigma(W h(x) + \int_\Omega \kappa(x, y) h(y)\,dy)` with a learned low-rank kernel
  :math:`\kappa(x, y) = \sum_{r} \psi_r(x) A_r \varphi_r(y)^T` (:math:`\psi, \varphi`: small networks of the
  coordinates, :math:`A_r`: channel mixings); the integral is the FE inner product
  :math:`\int \varphi_r h = \varphi_r^T M h` with the mass matrix :math:`M`, which converges to the continuous
  integral under refinement (the paper's other choice, message passing on the mesh graph, depends on the hop
  count and therefore on the mesh size).
* Decoder :math:`\mathcal D`: the FE basis expansion :math:`u_h = \sum_j c_j\phi_j` (:meth:`FESpace.evaluate`).
* Dirichlet conditions exactly, by lifting: :math:`u_h = u_{g,h} + u_{0,h}` with :math:`u_{0,h} \in V_{h,0}` (the
  network's interior degrees of freedom) and :math:`u_{g,h}` the FE function equal to :math:`g` at the boundary
  degrees of freedom and zero inside; the boundary values of the output are :math:`g`'s, bit for bit.

Tensors are (batch, channels, n_dofs), the FE counterpart of the operators' (batch, channels, *grid).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .._validation import check_int, check_tensor
from ..nn.activations import get_activation
from ._registry import register_operator
from .fem import FESpace


def mass_apply(space: FESpace, values: torch.Tensor) -> torch.Tensor:
    """:math:`M v` for ``values`` (n_dofs, k) -> (n_dofs, k) (sparse product)."""
    return torch.sparse.mm(space.mass.to(values), values)


def kernel_integral(h: torch.Tensor, psi: torch.Tensor, phi: torch.Tensor, mix: torch.Tensor,
                    space: FESpace) -> torch.Tensor:
    r"""Low-rank kernel integral :math:`(K h)_d(x_i) = \sum_r \psi_r(x_i) \sum_c A_{r,d,c} \int \varphi_r h_c`.

    The integrals are FE inner products :math:`\varphi_r^T M h_c = (M\varphi_r)^T h_c` (M is symmetric, so the
    mass matrix meets the ``rank`` kernel functions once, not every channel of every sample).

    Args:
        h: (batch, n_dofs, channels) degrees of freedom of :math:`h` (channels last).
        psi, phi: (n_dofs, rank) the kernel's functions at the degree-of-freedom coordinates.
        mix: (rank, out_channels, channels) :math:`A_r`.
    Returns (batch, n_dofs, out_channels).
    """
    moments = torch.einsum("nr,bnc->brc", mass_apply(space, phi), h)  # int phi_r h_c: (batch, rank, channels)
    return torch.einsum("nr,brd->bnd", psi, torch.einsum("brc,rdc->brd", moments, mix))


class KernelIntegralLayer(nn.Module):
    r"""One processor layer :math:`h \mapsto W h + K h + b` (activation applied by the caller) on channels-last
    degrees of freedom (batch, n_dofs, width); the kernel's functions :math:`\psi_r, \varphi_r` are one small
    coordinate network with ``2 * rank`` outputs."""

    def __init__(self, width: int, rank: int, hidden: int = 32, activation: str = "gelu") -> None:
        super().__init__()
        self.width, self.rank = width, rank
        self.pointwise = nn.Linear(width, width)
        self.kernel_functions = nn.Sequential(nn.Linear(2, hidden), get_activation(activation).module(),
                                              nn.Linear(hidden, 2 * rank))
        self.mix = nn.Parameter(torch.randn(rank, width, width) / (width * math.sqrt(rank)))

    def extra_repr(self) -> str:
        return f"width={self.width}, rank={self.rank}"

    def forward(self, h: torch.Tensor, space: FESpace) -> torch.Tensor:
        psi, phi = self.kernel_functions(space.dof_coords.to(h)).split(self.rank, dim=-1)
        return self.pointwise(h) + kernel_integral(h, psi, phi.contiguous(), self.mix, space)


@register_operator("spon")
class SPON(nn.Module):
    r"""Structure-preserving operator network on a finite-element space (see the module docstring).

    Args:
        in_channels: input functions' channels (their Galerkin coefficients); the coordinates are appended.
        out_channels: output channels.
        width: processor channels; layers: processor layers; rank: the kernel's rank.
        dirichlet: impose the output's boundary degrees of freedom exactly (lifting); False gives the
            unconstrained operator of the same architecture (the paper's baseline kind).
        output_scale: multiplies the network's output before the lifting (the targets' typical size).

    Forward: ``coeffs`` (batch, in_channels, n_dofs) on ``space`` and, when ``dirichlet``, ``boundary_values``
    (n_boundary,), (out_channels, n_boundary) or (batch, out_channels, n_boundary) in ``space.boundary`` order;
    returns (batch, out_channels, n_dofs). The same weights run on any ``FESpace`` (another mesh, a refinement).
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, width: int = 32, layers: int = 4,
                 rank: int = 16, *, dirichlet: bool = True, output_scale: float = 1.0,
                 activation: str = "gelu") -> None:
        super().__init__()
        for arg, value in (("in_channels", in_channels), ("out_channels", out_channels), ("width", width),
                           ("layers", layers), ("rank", rank)):
            check_int(arg, value, min_value=1)
        if not math.isfinite(output_scale) or output_scale <= 0:
            raise ValueError(f"output_scale must be a finite number > 0, got {output_scale!r}")
        self.in_channels, self.out_channels, self.dirichlet = in_channels, out_channels, bool(dirichlet)
        self.lift = nn.Linear(in_channels + 2, width)
        self.layers = nn.ModuleList(KernelIntegralLayer(width, rank, activation=activation) for _ in range(layers))
        self.act = get_activation(activation).fn
        self.project = nn.Sequential(nn.Linear(width, 2 * width), get_activation(activation).module(),
                                     nn.Linear(2 * width, out_channels))
        self.register_buffer("output_scale", torch.tensor(float(output_scale)))

    def extra_repr(self) -> str:
        return f"in_channels={self.in_channels}, out_channels={self.out_channels}, dirichlet={self.dirichlet}"

    def forward(self, coeffs: torch.Tensor, space: FESpace, boundary_values: torch.Tensor | None = None
                ) -> torch.Tensor:
        if not isinstance(space, FESpace):
            raise TypeError(f"space must be a basiskit.operators.FESpace, got {type(space).__name__}")
        check_tensor("coeffs", coeffs, ndim=3)
        if coeffs.shape[1] != self.in_channels or coeffs.shape[2] != space.n_dofs:
            raise ValueError(f"coeffs must have shape (batch, {self.in_channels}, {space.n_dofs}) (in_channels, "
                             f"the space's degrees of freedom), got {tuple(coeffs.shape)}")
        coords = space.dof_coords.to(coeffs).expand(coeffs.shape[0], space.n_dofs, 2)
        h = self.lift(torch.cat([coeffs.transpose(1, 2), coords], dim=2))  # channels last inside
        for i, layer in enumerate(self.layers):
            h = layer(h, space)
            if i < len(self.layers) - 1:
                h = self.act(h)
        out = (self.project(h) * self.output_scale).transpose(1, 2)
        if not self.dirichlet:
            if boundary_values is not None:
                raise ValueError("boundary_values were given to a SPON built with dirichlet=False; build it with "
                                 "dirichlet=True to impose them")
            return out
        if boundary_values is None:
            raise ValueError("boundary_values are required by a SPON built with dirichlet=True (the Dirichlet "
                             f"data at the {len(space.boundary)} boundary degrees of freedom)")
        return impose_dirichlet(out, space, boundary_values)

    def bind(self, space: FESpace, boundary_values: torch.Tensor | None = None) -> BoundSPON:
        """This model on one ``space`` (and Dirichlet data) as a module of ``coeffs`` alone (for ``fit``)."""
        return BoundSPON(self, space, boundary_values)


def impose_dirichlet(out: torch.Tensor, space: FESpace, boundary_values: torch.Tensor) -> torch.Tensor:
    r"""The lifting :math:`u_{g,h} + u_{0,h}`: ``out`` (batch, channels, n_dofs) with its boundary degrees of
    freedom replaced by ``boundary_values`` ((n_boundary,), (channels, n_boundary) or (batch, channels,
    n_boundary)); interior ones unchanged. Exact: the boundary values are copied, not computed."""
    n_b = len(space.boundary)
    g = torch.as_tensor(boundary_values)
    if g.ndim == 0 or g.ndim > 3 or g.shape[-1] != n_b:
        raise ValueError(f"boundary_values must have {n_b} values (one per boundary degree of freedom) in its "
                         f"last dim and at most 3 dims, got shape {tuple(g.shape)}")
    channels_ok = g.ndim < 2 or g.shape[-2] in (1, out.shape[1])
    if not channels_ok or (g.ndim == 3 and g.shape[0] not in (1, out.shape[0])):
        raise ValueError(f"boundary_values of shape {tuple(g.shape)} do not broadcast to the output's (batch, "
                         f"channels) = {tuple(out.shape[:2])}")
    full = out.new_zeros(*g.shape[:-1], space.n_dofs)
    full[..., space.boundary.to(out.device)] = g.to(out)
    return torch.where(space.boundary_mask.to(out.device), full, out)


class BoundSPON(nn.Module):
    """A SPON bound to one ``FESpace`` and its Dirichlet data: ``forward(coeffs)`` (batch, in, n_dofs)."""

    def __init__(self, model: SPON, space: FESpace, boundary_values: torch.Tensor | None = None) -> None:
        super().__init__()
        self.model, self.space = model, space
        self.register_buffer("boundary_values", None if boundary_values is None else
                             torch.as_tensor(boundary_values), persistent=False)

    def forward(self, coeffs: torch.Tensor) -> torch.Tensor:
        return self.model(coeffs, self.space, self.boundary_values)
