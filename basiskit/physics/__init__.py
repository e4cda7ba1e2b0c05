"""Physics-informed learning: problems with exact or reference solutions, PINN, PIG, LPINN, GP solvers."""
from __future__ import annotations

from .constraints import (HardDirichlet, HardInitial, OutputTransform, PeriodicFeatures, approximate_distance,
                          r_conjunction, r_disjunction)
from .derivatives import AutogradDerivatives, Derivatives, JetDerivatives, partial
from . import geometry
from .geometry import (CSG, Ball, Box, Disk, Geometry, Interval, PointCloud, Polygon, Rectangle, TimeDomain,
                       Triangle)
from .gp_solver import GPSolver, LinearPDE, as_linear_pde
from .inverse import Observations, Unknowns, observe
from . import conditions
from .conditions import (Dirichlet, Initial, Neumann, OperatorCondition, Periodic, PointSet, Robin, condition,
                         on_plane)
from .derivatives import channel_gradients
from .kernels_sm import mixture_kernel, spectral_density, spectral_mixture, student_t_mixture
from .kronecker import kron_logdet, kron_matvec, kron_solve
from .lpinn import LPINN, lagrangian_to_eulerian
from .lesnet import LESNet, lesnet_loss, lesnet_residual, snapshot_cs_squared, snapshot_loss
from .pig import PIG, GaussianFeatures, gaussian_feature_jets, gaussian_features
from .pinn import (PINN, PhysicsModel, causal_weights, loss_change_at_end, residual_scale, train_physics,
                   training_summary)
from .problems import PROBLEMS, Problem, create as create_problem

__all__ = ["CSG", "Ball", "Box", "Disk", "Geometry", "Interval", "PointCloud", "Polygon", "Rectangle", "TimeDomain",
           "Triangle", "geometry", "HardDirichlet", "HardInitial", "OutputTransform", "PeriodicFeatures",
           "approximate_distance", "r_conjunction", "r_disjunction", "AutogradDerivatives", "Derivatives", "GPSolver", "GaussianFeatures", "JetDerivatives", "LPINN",
           "LinearPDE", "PIG", "PINN", "PROBLEMS", "PhysicsModel", "Problem", "as_linear_pde", "causal_weights",
           "create_problem", "gaussian_feature_jets", "gaussian_features", "kron_logdet", "kron_matvec",
           "kron_solve", "lagrangian_to_eulerian", "loss_change_at_end", "mixture_kernel", "partial", "residual_scale",
           "spectral_density", "spectral_mixture", "student_t_mixture", "train_physics", "training_summary"]
__all__ += ["LESNet", "lesnet_loss", "lesnet_residual", "snapshot_cs_squared", "snapshot_loss"]
__all__ += ["Observations", "Unknowns", "channel_gradients", "observe"]
__all__ += ["Dirichlet", "Initial", "Neumann", "OperatorCondition", "Periodic", "PointSet", "Robin", "condition",
            "conditions", "on_plane"]
