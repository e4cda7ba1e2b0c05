"""Physics-informed learning: problems with exact or reference solutions, PINN, PIG, LPINN, GP solvers."""
# [physics-pinn]
# [physics-gp]
