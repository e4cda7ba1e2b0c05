"""Physics-informed learning: problems with exact or reference solutions, PINN, PIG, LPINN, GP solvers."""
# [physics-pinn]
from .derivatives import AutogradDerivatives, Derivatives, JetDerivatives, partial  # noqa: E402,F401
from .problems import PROBLEMS, Problem, create as create_problem  # noqa: E402,F401
from .pinn import (PINN, PhysicsModel, causal_weights, residual_scale, train_physics,  # noqa: E402,F401
                   training_summary)
from .pig import PIG, GaussianFeatures, gaussian_feature_jets, gaussian_features  # noqa: E402,F401
from .lpinn import LPINN, lagrangian_to_eulerian  # noqa: E402,F401
# [physics-gp]
from .gp_solver import GPSolver, LinearPDE, as_linear_pde  # noqa: E402,F401
from .kernels_sm import mixture_kernel, spectral_density, spectral_mixture, student_t_mixture  # noqa: E402,F401
from .kronecker import kron_logdet, kron_matvec, kron_solve  # noqa: E402,F401
