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
from .singular import Corner, CornerFeatures, corner_singular_function, polygon_corners, reentrant_corners

__all__ = ["AutogradDerivatives", "Ball", "Box", "CSG", "Corner", "CornerFeatures", "Derivatives", "Dirichlet",
           "Disk", "GPSolver", "GaussianFeatures", "Geometry", "HardDirichlet", "HardInitial", "Initial", "Interval",
           "JetDerivatives", "LESNet", "LPINN", "LinearPDE", "Neumann", "Observations", "OperatorCondition",
           "OutputTransform", "PIG", "PINN", "PROBLEMS", "Periodic", "PeriodicFeatures", "PhysicsModel",
           "PointCloud", "PointSet", "Polygon", "Problem", "Rectangle", "Robin", "TimeDomain", "Triangle",
           "Unknowns", "approximate_distance", "as_linear_pde", "causal_weights", "channel_gradients", "condition",
           "conditions", "corner_singular_function", "create_problem", "gaussian_feature_jets", "gaussian_features",
           "geometry", "kron_logdet", "kron_matvec", "kron_solve", "lagrangian_to_eulerian", "lesnet_loss",
           "lesnet_residual", "loss_change_at_end", "mixture_kernel", "observe", "on_plane", "partial",
           "polygon_corners", "r_conjunction", "r_disjunction", "reentrant_corners", "residual_scale",
           "snapshot_cs_squared", "snapshot_loss", "spectral_density", "spectral_mixture", "student_t_mixture",
           "train_physics", "training_summary"]
